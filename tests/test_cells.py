"""`ego2exo_hf/cells.py`: a cell's result counts only when it is what a run writes; anything else is one line."""

import json

import pytest

from ego2exo_hf.cells import cell_result
from ego2exo_hf.errors import Ego2ExoError

GOOD = {"target_val": {"top1": 40.0, "mean_class": 30.0}, "source_val": {"top1": 60.0},
        "selection_picks": {"last": {"iteration": 20, "target_val_top1": 40.0}}}  # fmt: skip


def _run(tmp_path, text=None):
    if text is not None:
        (tmp_path / "metrics.json").write_text(text)
    return {"output_dir": str(tmp_path)}


def test_a_cell_without_metrics_is_not_done_and_a_complete_one_is(tmp_path):
    assert cell_result(_run(tmp_path)) is None
    assert cell_result(_run(tmp_path, json.dumps(GOOD))) == GOOD


@pytest.mark.parametrize("damage", [
    lambda text: text[:40],  # truncated
    lambda text: text.replace('"top1": 40.0', '"top1": "n/a"'),  # an accuracy that is no number
    lambda text: text.replace('"source_val": {"top1": 60.0}', '"source_val": {}'),  # a key missing
    lambda text: text.replace('{"last": {"iteration": 20, "target_val_top1": 40.0}}', '{"last": 3}'),  # bad picks
    lambda text: "\udcff",  # not UTF-8 once written with surrogateescape
])  # fmt: skip
def test_a_damaged_cell_result_is_one_line_naming_file_and_folder(tmp_path, damage):
    path = tmp_path / "metrics.json"
    path.write_bytes(damage(json.dumps(GOOD)).encode("utf-8", "surrogateescape"))
    with pytest.raises(Ego2ExoError) as error:
        cell_result(_run(tmp_path))
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{path}: damaged run result")
    assert f"delete {tmp_path} to run this cell again" in message


def test_a_worker_keeps_its_launcher_and_replaces_one_that_died(monkeypatch):
    from ego2exo_hf import cells

    class Launcher:
        def __init__(self):
            self.up = True

        def alive(self):
            return self.up

    started, used = [], []
    monkeypatch.setattr(cells, "_WORKER_LAUNCHER", None)
    monkeypatch.setattr(cells, "cell_launcher", lambda: started.append(Launcher()) or started[-1])
    monkeypatch.setattr(cells, "run_cell", lambda run, launcher: used.append(launcher) or {"key": run["key"]})
    assert [cells.run_cell_in_worker({"key": k})["key"] for k in "ab"] == ["a", "b"]
    assert len(started) == 1 and used == [started[0]] * 2  # the second cell forks from the first cell's server
    started[0].up = False  # its server died (killed, out of memory): the next cell starts another
    cells.run_cell_in_worker({"key": "c"})
    assert len(started) == 2 and used[-1] is started[1]
