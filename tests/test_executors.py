"""ego2exo_hf.executors: the same grid gives the same table under local, Ray and SLURM (submitit's local executor);
failures, interruptions and two benchmarks into one folder lose nothing and count nothing twice."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from video_fixture import subprocess_env

from ego2exo_hf.cli import main as cli_main

GRID = ["--methods", "source_only", "lagtran", "--directions", "exo->ego", "--seeds", "0", "1", "--num_iterations",
        "20", "--val_every", "10"]  # fmt: skip
EXECUTORS = {
    "local": ["--executor", "local", "--jobs", "2"],
    "ray": ["--executor", "ray", "--jobs", "2"],
    "slurm": ["--executor", "slurm", "--slurm_cluster", "local", "--jobs", "2"],
}


@pytest.fixture(scope="module")
def labels(tiny_data_dir, tmp_path_factory):
    """A pseudo-label folder for exo->ego whose file is first broken (ids of the other view), then right."""
    from ego2exo_hf.data import load_ego2exo, write_pseudo_labels

    folder = tmp_path_factory.mktemp("labels")
    splits = load_ego2exo(tiny_data_dir, "text")

    def write(split):
        write_pseudo_labels(folder / "ego2exo_exo_ego.txt", splits[split]["segment_id"], splits[split]["label"])
        return folder

    return write


def _cells(out):
    return sorted(path.parent.relative_to(out) for path in (out / "runs").rglob("metrics.json"))


@pytest.fixture(scope="module")
def local_results(tiny_data_dir, labels, tmp_path_factory):
    """The grid's table rows under the local executor, in one go: what every executor must give."""
    out = tmp_path_factory.mktemp("reference")
    argv = ["benchmark", "--data_dir", str(tiny_data_dir), "--output_dir", str(out), *GRID, *EXECUTORS["local"]]
    assert cli_main([*argv, "--pseudo_labels_dir", str(labels("ego_train"))]) == 0
    return json.loads((out / "results.json").read_text())["results"]


def _fails_alone_resumes_and_gives_the_same_table(executor, tiny_data_dir, labels, out, capsys, local_results):
    argv = ["benchmark", "--data_dir", str(tiny_data_dir), "--output_dir", str(out), *GRID, *EXECUTORS[executor]]
    with pytest.raises(SystemExit) as exit_:  # lagtran's labels are of the wrong view: its two cells fail
        cli_main([*argv, "--pseudo_labels_dir", str(labels("exo_train"))])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert exit_.value.code == 2 and err.startswith("error: 2 run(s) failed, e.g. lagtran exo->ego seed")
    log = err.split("see ")[1].split(" (")[0]
    assert "none of the file's" in open(log).read()  # the log named is the failed run's
    assert open(log).readline().startswith("# python -m train_video --data_dir ")  # and starts with its command
    assert [cell.parts[1] for cell in _cells(out)] == ["source_only", "source_only"]  # the others finished
    finished = {cell: (out / cell / "metrics.json").stat().st_mtime_ns for cell in _cells(out)}

    assert cli_main([*argv, "--pseudo_labels_dir", str(labels("ego_train"))]) == 0  # the same command, labels fixed
    assert len(_cells(out)) == 4
    assert {cell: (out / cell / "metrics.json").stat().st_mtime_ns for cell in finished} == finished  # not rerun
    assert json.loads((out / "results.json").read_text())["results"] == local_results


def test_the_local_executor_fails_alone_resumes_and_gives_the_same_table(tiny_data_dir, labels, tmp_path, capsys,
                                                                          local_results):  # fmt: skip
    _fails_alone_resumes_and_gives_the_same_table("local", tiny_data_dir, labels, tmp_path, capsys, local_results)


@pytest.mark.parametrize("executor, engine", [("ray", "ray"), ("slurm", "submitit")])
def test_without_the_engine_the_executor_names_the_install(executor, engine, tiny_data_dir, tmp_path, monkeypatch,
                                                           capsys):  # fmt: skip
    monkeypatch.setitem(sys.modules, engine, None)  # `import` fails as without the extra
    with pytest.raises(SystemExit):
        cli_main(["benchmark", "--data_dir", str(tiny_data_dir), "--output_dir", str(tmp_path / "b"), *GRID,
                  "--executor", executor])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert err == f'error: --executor {executor} needs the {engine} package: pip install -e ".[cluster]" (or pip ' \
                  f"install {engine})"
    assert not (tmp_path / "b").exists()


def test_a_damaged_cell_result_stops_before_any_run(tiny_data_dir, tmp_path, capsys):
    out = tmp_path / "b"
    argv = ["benchmark", "--data_dir", str(tiny_data_dir), "--output_dir", str(out), *GRID[:2], *GRID[3:]]
    assert cli_main(argv) == 0
    (cell,) = _cells(out)[:1]
    metrics = out / cell / "metrics.json"
    metrics.write_text(metrics.read_text()[:40])
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        cli_main(argv)
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and "\n" not in err
    assert err.startswith(f"error: {metrics}: damaged run result") and f"delete {out / cell} to run" in err
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == before


def _benchmark(out, data_dir, *extra):
    command = [sys.executable, "-m", "ego2exo_hf.cli", "benchmark", "--data_dir", str(data_dir), "--output_dir",
               str(out), "--methods", "source_only", "--directions", "exo->ego", "--seeds", "0", "1",
               "--num_iterations", "600", "--val_every", "200", *extra]  # fmt: skip
    return subprocess.Popen(command, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_a_run(out, timeout=120):
    """Until a run is training: it has written its first training log line."""
    deadline = time.time() + timeout
    while not [log for log in out.glob("runs/**/training_log.jsonl") if log.stat().st_size] and time.time() < deadline:
        time.sleep(0.2)


def _assert_each_validation_logged_once(out, cells):
    for cell in cells:
        records = [json.loads(line) for line in (out / cell / "training_log.jsonl").read_text().splitlines()]
        iterations = [r["iteration"] for r in records if "target_val_top1" in r]
        assert iterations == sorted(set(iterations))  # no validation written twice


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_an_interrupted_grid_resumes_and_counts_each_cell_once(how, tiny_data_dir, tmp_path):
    out = tmp_path / "b"
    first = _benchmark(out, tiny_data_dir)
    _wait_for_a_run(out)
    first.send_signal(getattr(signal, how))
    first.wait(timeout=60)
    assert first.returncode != 0
    if how == "SIGTERM":  # the benchmark stopped its run: no training process holds a cell
        assert not _cells(out)
    again = _benchmark(out, tiny_data_dir)  # SIGKILL: the orphaned run still trains; the rerun waits for its cell
    assert again.wait(timeout=300) == 0, again.stderr.read()[-2000:]
    cells = _cells(out)
    assert len(cells) == 2
    _assert_each_validation_logged_once(out, cells)


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _training_processes(out) -> list[tuple[int, int]]:
    """(pid, the process that runs its cell) of the train_video runs writing their log under `out`: the run's
    parent, or the parent of the launcher server it was forked from (a Ray worker's own launcher)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            pid = int(proc.name)
            if not os.readlink(proc / "fd" / "1").startswith(f"{out}/logs/"):
                continue
            runner = _parent(pid)
            if b"import serve" in Path(f"/proc/{runner}/cmdline").read_bytes():
                runner = _parent(runner)
            found.append((pid, runner))
        except (OSError, ValueError):
            continue
    return found


def _a_killed_worker_fails_its_cell_alone_and_the_same_command_resumes(executor, tiny_data_dir, tmp_path):
    out = tmp_path / "b"
    first = _benchmark(out, tiny_data_dir, *EXECUTORS[executor])
    _wait_for_a_run(out)
    deadline = time.time() + 60
    while not (running := _training_processes(out)) and time.time() < deadline:
        time.sleep(0.2)
    worker = running[0][1]  # the Ray worker or the SLURM job that runs the cell, not the run itself
    assert {"ray": b"ray::", "slurm": b"submitit"}[executor] in Path(f"/proc/{worker}/cmdline").read_bytes()
    os.kill(worker, signal.SIGKILL)
    assert first.wait(timeout=300) == 2
    assert "1 run(s) failed" in first.stderr.read()  # reported after the other cell finished
    again = _benchmark(out, tiny_data_dir, *EXECUTORS[executor])  # the same command
    assert again.wait(timeout=300) == 0, again.stderr.read()[-2000:]
    assert len(_cells(out)) == 2
    _assert_each_validation_logged_once(out, _cells(out))


class EngineCases:
    """What each engine must do; `TestRay` and `TestSlurm` are two xdist scopes, so they run beside each other."""

    executor = ""

    def test_fails_alone_resumes_and_gives_the_same_table(self, tiny_data_dir, labels, tmp_path, capsys,
                                                          local_results):  # fmt: skip
        _fails_alone_resumes_and_gives_the_same_table(self.executor, tiny_data_dir, labels, tmp_path, capsys,
                                                      local_results)  # fmt: skip

    def test_a_killed_worker_fails_its_cell_alone_and_the_same_command_resumes(self, tiny_data_dir, tmp_path):
        _a_killed_worker_fails_its_cell_alone_and_the_same_command_resumes(self.executor, tiny_data_dir, tmp_path)


class TestRay(EngineCases):
    executor = "ray"


class TestSlurm(EngineCases):
    executor = "slurm"


def test_two_benchmarks_into_one_folder_share_the_cells(tiny_data_dir, tmp_path):
    out = tmp_path / "b"
    both = [_benchmark(out, tiny_data_dir, "--jobs", "2") for _ in range(2)]
    assert [process.wait(timeout=300) for process in both] == [0, 0], [p.stderr.read()[-1500:] for p in both]
    assert len(_cells(out)) == 2
    for cell in _cells(out):
        records = (out / cell / "training_log.jsonl").read_text().splitlines()
        assert len([r for r in records if '"target_val_top1"' in r]) == 3  # validations 200, 400, 600: one run
    assert os.path.getsize(out / "results.json") > 0


@pytest.mark.parametrize("where, message", [
    (lambda t: t / "a_file", "output folder {} is a file: choose another --output_dir"),
    (lambda t: t / "a_file" / "below", "folder {} cannot be written (Not a directory): choose another one"),
])  # fmt: skip
def test_an_output_folder_that_cannot_be_one_is_one_line(tiny_data_dir, tmp_path, capsys, where, message):
    (tmp_path / "a_file").write_text("the user's\n")
    out = where(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        cli_main(["benchmark", "--data_dir", str(tiny_data_dir), "--output_dir", str(out), *GRID[:2], *GRID[3:]])
    assert exit_.value.code == 2 and capsys.readouterr().err.strip() == f"error: {message.format(out)}"
    assert (tmp_path / "a_file").read_text() == "the user's\n"
