"""The benchmark grid's unit of work, the same under every executor: one cell's video stage, and its result."""

import contextlib
import fcntl
import json
import multiprocessing
import os
import shlex
import threading
from multiprocessing.reduction import DupFd
from pathlib import Path

from .constants import METRICS_FILE
from .errors import Ego2ExoError, exit_on_user_error, first_line

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


# What train_video's main imports: a forked run finds them loaded (about 9 s of imports saved per run).
STAGE_MODULES = ("torch", "accelerate", "datasets", "evaluate", "skada.metrics", "ego2exo_hf.models",
                 "ego2exo_hf.metrics", "ego2exo_hf.video.data", "ego2exo_hf.video.loop", "ego2exo_hf.video.methods",
                 "ego2exo_hf.video.selection", "ego2exo_hf.video.checkpoints", "train_video")  # fmt: skip
_LIVE: set = set()  # the training processes this interpreter started and that still run
_STOPPING = threading.Event()  # set on an interruption: a run that starts now stops at once
_FORKSERVER = None


def _forkserver():
    """The `forkserver` context whose server has imported STAGE_MODULES once; every run is a fork of it."""
    global _FORKSERVER
    if _FORKSERVER is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(STAGE_MODULES))
        _FORKSERVER = context
    return _FORKSERVER


class _InheritedFd:
    """A file descriptor handed to the forked run (the same open file, so the same `flock`)."""

    def __init__(self, fd: int):
        self.fd = fd

    def __reduce__(self):
        return _detach, (DupFd(self.fd),)


def _detach(dup_fd) -> int:
    return dup_fd.detach()


def _train(argv: list[str], log_path: str, env: dict, cwd: str, threads: int, lock_fd: int) -> None:
    """The forked run: this cell's environment and folder, output into its log, then the video stage's entry point.
    `lock_fd` stays open while it lives, so the cell stays locked even if the benchmark dies."""
    os.environ.clear()
    os.environ.update(env)  # e.g. the CUDA_VISIBLE_DEVICES a Ray task was given
    os.chdir(cwd)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    import datasets
    import torch

    import train_video

    torch.set_num_threads(threads)
    datasets.disable_progress_bars()
    exit_on_user_error(train_video.main)(argv, prog="train_video.py")


def run_cell(run: dict) -> dict:
    """The grid's unit of work, the same under every executor: the video stage of one cell in its own process.

    The process is forked from a server that has imported the stage's libraries once per interpreter, and holds the
    cell's lock while it lives (an inherited `flock`), so a second benchmark into the same folder, or a rerun while an
    orphaned run still trains, waits for it instead of training the cell twice. The stage writes `metrics.json` last
    and atomically: a cell counts only once that file exists. Returns the cell's key, its exit code (0 when it was
    done already) and its log, which starts with the equivalent command line."""
    outcome = {"key": run["key"], "returncode": 0, "log": run["log"]}
    Path(run["log"]).parent.mkdir(parents=True, exist_ok=True)
    with open(run["lock"], "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # waits while another process trains this cell
        if cell_result(run) is not None or _STOPPING.is_set():
            return outcome
        argv = [w for k, v in run["options"].items() for w in (f"--{k}", str(v))]
        Path(run["log"]).write_text(f"# python -m train_video {shlex.join(argv)}\n")
        env = dict(os.environ, OMP_NUM_THREADS=str(run["threads"]), HF_DATASETS_DISABLE_PROGRESS_BARS="1")
        process = _forkserver().Process(target=_train, args=(argv, run["log"], env, os.getcwd(), run["threads"],
                                                             _InheritedFd(lock.fileno())))  # fmt: skip
        process.start()
        _LIVE.add(process)
        try:
            if _STOPPING.is_set():  # stopped while this run was starting
                process.kill()
            process.join()
            outcome["returncode"] = process.exitcode
        finally:
            if process.is_alive():  # interrupted: the run stops with us
                process.kill()
                process.join()
            _LIVE.discard(process)
    return outcome


@contextlib.contextmanager
def stopping_runs_on_error():
    """Runs started inside may go on; an exception (Ctrl-C, SIGTERM) kills those that live and those that start."""
    _STOPPING.clear()
    try:
        yield
    except BaseException:
        _STOPPING.set()
        for process in list(_LIVE):
            process.kill()
        raise
