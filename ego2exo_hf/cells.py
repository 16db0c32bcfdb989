"""The benchmark grid's unit of work, the same under every executor: one cell's video stage, and its result."""

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

from .constants import METRICS_FILE
from .errors import Ego2ExoError, first_line
from .launcher import option_words, shell_command

RESULTS_KEYS = (("target_val", "top1"), ("target_val", "mean_class"), ("source_val", "top1"))


def cell_result(run: dict) -> dict | None:
    """The cell's `metrics.json`, None while it has none, or a one-line error when it cannot be what the run wrote."""
    path = Path(run["output_dir"]) / METRICS_FILE
    if not path.is_file():
        return None
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
        for split, key in RESULTS_KEYS:
            float(metrics[split][key])
        for pick in metrics.get("selection_picks", {}).values():
            float(pick["target_val_top1"])
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as err:
        raise Ego2ExoError(f"{path}: damaged run result ({first_line(err, 80)}); delete {run['output_dir']} to run "
                           "this cell again") from None  # fmt: skip
    return metrics


STAGE = "train_video"
STAGE_ENV = {"HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}  # every run's environment, added to the caller's
_LIVE: set = set()  # the training processes this interpreter started and that still run


def cell_launcher():
    """A `StageLauncher` for `run_cell`: its runs fork from one server that imported the video stage once."""
    from .launcher import StageLauncher

    return StageLauncher((STAGE,), env=dict(os.environ, **STAGE_ENV))


def run_cell(run: dict, launcher=None) -> dict:
    """The grid's unit of work, the same under every executor: the video stage of one cell in its own process, a
    fork of `launcher` (see `cell_launcher`) or, without one, a fresh `python -m train_video`.

    The process holds the cell's lock while it lives (an inherited `flock`), so a second benchmark into the same
    folder, or a rerun while an orphaned run still trains, waits for it instead of training the cell twice. The
    stage writes `metrics.json` last and atomically: a cell counts only once that file exists. Returns the cell's
    key, its exit code (0 when it was done already) and its log, which starts with the equivalent command."""
    outcome = {"key": run["key"], "returncode": 0, "log": run["log"]}
    Path(run["log"]).parent.mkdir(parents=True, exist_ok=True)
    with open(run["lock"], "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # waits while another process trains this cell
        if cell_result(run) is not None:
            return outcome
        argv = option_words(run["options"])
        env = dict(os.environ, **STAGE_ENV, OMP_NUM_THREADS=str(run["threads"]))  # this one's now (Ray sets GPUs)
        with open(run["log"], "w") as log:
            print(f"# {shell_command(STAGE, argv)}", file=log, flush=True)
            if launcher is None:
                process = subprocess.Popen([sys.executable, "-m", STAGE, *argv], stdout=log, stderr=subprocess.STDOUT,
                                           env=env, pass_fds=(lock.fileno(),))  # fmt: skip
            else:
                process = launcher.start(STAGE, argv, stdout=log.fileno(), stderr=log.fileno(), env=env,
                                         pass_fds=(lock.fileno(),))  # fmt: skip
        _LIVE.add(process)
        try:
            outcome["returncode"] = process.wait()
        finally:
            if process.poll() is None:  # interrupted: the run stops with us
                process.kill()
                process.wait()
            _LIVE.discard(process)
    return outcome


_WORKER_LAUNCHER = None  # a long-lived worker's own launcher (`run_cell_in_worker`)


def run_cell_in_worker(run: dict) -> dict:
    """`run_cell` in an engine's long-lived worker (a Ray worker runs many cells): the worker's first cell starts a
    `cell_launcher` that the worker keeps, so its later cells fork instead of importing the stage again. The server
    goes with the worker; a run still training then goes on alone, holding its lock."""
    global _WORKER_LAUNCHER
    if _WORKER_LAUNCHER is None or not _WORKER_LAUNCHER.alive():
        _WORKER_LAUNCHER = cell_launcher()
    return run_cell(run, _WORKER_LAUNCHER)


def stop_live_runs() -> None:
    """Kill the training processes of this interpreter (Ctrl-C or SIGTERM of the benchmark)."""
    for process in list(_LIVE):
        process.kill()
