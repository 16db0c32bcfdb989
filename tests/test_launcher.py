"""`ego2exo_hf/launcher.py`: a forked run behaves as its own process (output, exit code, environment, folder, held
descriptors, kill), runs awaited from many threads never mix their exit codes, and the preload list covers what the
video stage imports. (That a forked train_video gives the same results as a fresh one is tested by the local
executor's table, which the Ray and SLURM tables, made by fresh processes, must equal: tests/test_executors.py.)"""

import fcntl
import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from ego2exo_hf.launcher import StageLauncher

TOY_STAGE = """
import os, sys, time
from ego2exo_hf.errors import Ego2ExoError, exit_on_user_error

def main():
    how, *rest = sys.argv[1:]
    print(f"argv {sys.argv[1:]} cwd {os.getcwd()} toy {os.environ.get('TOY')}", flush=True)
    if how == "sleep":
        time.sleep(float(rest[0]))
    elif how == "exit":
        sys.exit(int(rest[0]))
    elif how == "user_error":
        raise Ego2ExoError("bad input, named")
    elif how == "crash":
        raise RuntimeError("a bug")
    elif how == "fresh":
        print(f"fresh {'torch' not in sys.modules} pid {os.getpid()}")

if __name__ == "__main__":
    exit_on_user_error(main)()
"""
POISONED_CUDA = """
import torch
torch.cuda._is_in_bad_fork = lambda: True  # what a fork sees once its parent asked CUDA for its devices
"""


@pytest.fixture(scope="module")
def stage_env(tmp_path_factory):
    stage_dir = tmp_path_factory.mktemp("toy")
    (stage_dir / "toy_stage.py").write_text(TOY_STAGE)
    (stage_dir / "poisoned_cuda.py").write_text(POISONED_CUDA)
    return dict(os.environ, PYTHONPATH=str(stage_dir), TOY="server")


@pytest.fixture(scope="module")
def launcher(stage_env):
    with StageLauncher(("toy_stage",), env=stage_env) as launcher:
        yield launcher


def _run(launcher, tmp_path, *argv, **kwargs):
    with open(tmp_path / "out.log", "w") as out, open(tmp_path / "err.log", "w") as err:
        process = launcher.start("toy_stage", list(argv), stdout=out.fileno(), stderr=err.fileno(), **kwargs)
    return process.wait(), (tmp_path / "out.log").read_text(), (tmp_path / "err.log").read_text()


def test_a_run_has_its_own_argv_folder_environment_and_output(launcher, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _run(launcher, tmp_path, "exit", "0") == (0, f"argv ['exit', '0'] cwd {tmp_path} toy server\n", "")
    code, out, _ = _run(launcher, tmp_path, "exit", "0", env={"TOY": "run"})
    assert code == 0 and out.endswith("toy run\n")
    assert _run(launcher, tmp_path, "exit", "0")[1].endswith("toy server\n")  # the last run's env did not stay


@pytest.mark.parametrize("how, code, stderr", [
    (["exit", "3"], 3, ""),
    (["user_error"], 2, "error: bad input, named\n"),
    (["crash"], 1, "RuntimeError: a bug\n"),
])  # fmt: skip
def test_exit_codes_are_the_stages(launcher, tmp_path, how, code, stderr):
    got, _, err = _run(launcher, tmp_path, *how)
    assert got == code and err.endswith(stderr)


def test_runs_awaited_from_many_threads_keep_their_own_exit_codes(launcher, tmp_path):
    codes = {}

    def one(code):
        (tmp_path / str(code)).mkdir()
        codes[code] = _run(launcher, tmp_path / str(code), "exit", str(code))[0]

    threads = [threading.Thread(target=one, args=(code,)) for code in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == {code: code for code in range(8)}


def _assert_a_killed_run_held_the_lock(launcher, tmp_path):
    with open(tmp_path / "lock", "a") as lock, open(os.devnull, "w") as devnull:
        fcntl.flock(lock, fcntl.LOCK_EX)
        process = launcher.start("toy_stage", ["sleep", "60"], stdout=devnull.fileno(), pass_fds=(lock.fileno(),))
    deadline = time.time() + 30
    while process.pid is None and time.time() < deadline:
        process.poll()
        time.sleep(0.05)
    assert process.poll() is None
    with open(tmp_path / "lock", "a") as other:  # the run holds the lock now that we let go of ours
        with pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        process.kill()
        assert process.wait() == -9
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the lock went with the run


def test_kill_stops_a_run_and_a_held_lock_is_the_runs(launcher, tmp_path):
    _assert_a_killed_run_held_the_lock(launcher, tmp_path)


def test_a_server_that_touched_cuda_runs_the_stage_in_a_fresh_interpreter(stage_env, tmp_path):
    """A fork cannot use CUDA once its parent has asked CUDA for its devices: the run execs a fresh interpreter
    (same process, output, exit code and held descriptors)."""
    with StageLauncher(("poisoned_cuda",), env=stage_env) as launcher:
        with open(tmp_path / "out.log", "w") as out:
            process = launcher.start("toy_stage", ["fresh"], stdout=out.fileno())
        assert process.wait() == 0
        assert (tmp_path / "out.log").read_text().splitlines()[-1] == f"fresh True pid {process.pid}"
        assert _run(launcher, tmp_path, "exit", "5")[0] == 5
        _assert_a_killed_run_held_the_lock(launcher, tmp_path)
        assert launcher.alive()
    assert not launcher.alive()  # closed: a worker keeping it (`cells.run_cell_in_worker`) starts another


def test_preload_covers_what_the_video_stage_imports(tiny_data_dir, tmp_path):
    """After the server's imports, a train_video run imports no heavy library itself (else each run pays for it)."""
    script = textwrap.dedent(f"""
        import json, sys
        from ego2exo_hf.launcher import _preload
        _preload("train_video")
        before = set(sys.modules)
        import train_video
        train_video.main(["--data_dir", {str(tiny_data_dir)!r}, "--output_dir", {str(tmp_path / "run")!r}, "--method",
                          "source_only", "--num_iterations", "2", "--val_every", "2", "--report_to", "none"])
        print(json.dumps(sorted(set(sys.modules) - before)))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    heavy = {"torch", "transformers", "accelerate", "datasets", "evaluate", "skada", "sklearn", "scipy", "pyarrow"}
    imported = set(json.loads(done.stdout.splitlines()[-1])) - {"torch.profiler._cupti_monitor"}  # 2 ms, lazy in torch
    assert not [name for name in imported if name.split(".")[0] in heavy]
