"""`ego2exo_hf/benchmark.py` (`ego2exo benchmark`), tiny scale: the table equals its JSON, a rerun does no work."""

import json
import re
import subprocess

import numpy as np
import pytest

from ego2exo_hf.cli import main as cli_main
from ego2exo_hf.constants import SELECTIONS


@pytest.fixture(scope="module")
def pseudo_labels_dir(tiny_data_dir, tmp_path_factory):
    """A text-stage-like folder holding ego2exo_exo_ego.txt (the true labels, as a stand-in)."""
    from ego2exo_hf.data import load_ego2exo, write_pseudo_labels

    folder = tmp_path_factory.mktemp("text") / "text_exo_ego" / "pseudo_labels"
    ego = load_ego2exo(tiny_data_dir, "text")["ego_train"]
    write_pseudo_labels(folder / "ego2exo_exo_ego.txt", ego["segment_id"], ego["label"])
    return folder.parent.parent


def test_benchmark_table_equals_its_json_and_a_rerun_does_no_work(tiny_data_dir, pseudo_labels_dir, tmp_path,
                                                                   monkeypatch, capsys):  # fmt: skip
    out = tmp_path / "bench"
    argv = ["benchmark", "--data_dir", str(tiny_data_dir), "--output_dir", str(out), "--methods", "source_only",
            "lagtran", "mcc+pl", "--directions", "exo->ego", "--seeds", "0", "1", "--pseudo_labels_dir",
            str(pseudo_labels_dir), "--num_iterations", "40", "--val_every", "20", "--jobs", "2"]  # fmt: skip
    assert cli_main(argv) == 0
    results = json.loads((out / "results.json").read_text())["results"]
    table = (out / "results.md").read_text()
    assert (out / "results.png").stat().st_size > 0
    for method in ("source_only", "lagtran", "mcc+pl"):
        cell = results[method]["exo->ego"]
        values = cell["target_val_top1"]["values"]
        assert len(values) == 2
        assert cell["target_val_top1"]["mean"] == pytest.approx(np.mean(values))
        assert cell["target_val_top1"]["sd"] == pytest.approx(np.std(values, ddof=1))
        row = next(line for line in table.splitlines() if line.startswith(f"| {method} |"))
        top1, mean_class = re.findall(r"(\d+\.\d\d) ± (\d+\.\d\d)", row)[:2]
        assert top1 == (f"{cell['target_val_top1']['mean']:.2f}", f"{cell['target_val_top1']['sd']:.2f}")
        mean, sd = cell["target_val_mean_class"]["mean"], cell["target_val_mean_class"]["sd"]
        assert mean_class == (f"{mean:.2f}", f"{sd:.2f}")
    assert "30.76 (published)" in table and "TA3N (published only)" in table
    selection_rows = {line.split(" | ")[0][2:]: line for line in table.split("Model selection")[1].splitlines()
                      if line.endswith("|") and "exo->ego" in line}  # fmt: skip
    assert set(selection_rows) == {"source_only", "lagtran", "mcc+pl"}
    for method, row in selection_rows.items():
        picked = results[method]["exo->ego"]["selection_target_val_top1"]
        assert list(picked) == list(SELECTIONS)
        assert picked["last"] == results[method]["exo->ego"]["target_val_top1"]  # --selection last keeps the last
        assert picked["target_val_oracle"]["mean"] >= max(stat["mean"] for stat in picked.values()) - 1e-9
        shown = re.findall(r"(\d+\.\d\d) ± (\d+\.\d\d)", row)
        assert shown == [(f"{picked[c]['mean']:.2f}", f"{picked[c]['sd']:.2f}") for c in SELECTIONS]
    (run_dir,) = (out / "runs" / "mcc+pl" / "exo_ego").glob("seed1-*")
    run = json.loads((run_dir / "metrics.json").read_text())
    assert run["method"] == "mcc"

    def no_new_runs(*args, **kwargs):
        raise AssertionError("a finished run was started again")

    monkeypatch.setattr(subprocess, "Popen", no_new_runs)
    capsys.readouterr()
    assert cli_main(argv) == 0
    assert json.loads((out / "results.json").read_text())["results"] == results


def test_benchmark_bad_method_is_one_line(tiny_data_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["benchmark", "--data_dir", str(tiny_data_dir), "--output_dir", str(tmp_path / "b"), "--methods",
                  "mmc"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and err.startswith("error: --methods: unknown method 'mmc'") and "\n" not in err
    assert not (tmp_path / "b").exists()  # nothing written before the plan is valid


@pytest.mark.parametrize("option, value, message", [
    ("--seeds", "-1", "--seeds must be whole numbers in 0..4294967295, got -1"),
    ("--seeds", str(2**32), "--seeds must be whole numbers in 0..4294967295, got 4294967296"),
    ("--seeds", "3 3", "--seeds: each seed once"),
    ("--methods", "source_only+pl", "--methods: unknown method 'source_only+pl'"),
    ("--methods", "mcc mcc", "--methods: each method once"),
    ("--directions", "exo->exo", "--directions: cannot read 'exo->exo'"),
    ("--directions", "exo->ego exo_ego", "--directions: each direction once"),
    ("--selection", "best", "--selection must be one of last, source_val"),
])  # fmt: skip
def test_benchmark_checks_every_value_before_the_first_run(tiny_data_dir, tmp_path, capsys, option, value, message):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["benchmark", "--data_dir", str(tiny_data_dir), "--output_dir", str(tmp_path / "b"), option,
                  *value.split()])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and err.startswith(f"error: {message}") and "\n" not in err, err
    assert not (tmp_path / "b").exists()


def test_benchmark_passes_source_sampling_to_every_run(tiny_data_dir, tmp_path):
    from ego2exo_hf.benchmark import plan_runs
    from ego2exo_hf.cli import build_parser
    from ego2exo_hf.commands.benchmark import settings_from_args

    argv = ["benchmark", "--data_dir", str(tiny_data_dir), "--output_dir", str(tmp_path), "--methods", "dann",
            "source_only", "--directions", "exo->ego", "--seeds", "0"]  # fmt: skip
    natural = plan_runs(settings_from_args(build_parser().parse_args([*argv, "--source_sampling", "natural"])))
    assert [run["options"]["source_sampling"] for run in natural] == ["natural", "natural"]
    default = plan_runs(settings_from_args(build_parser().parse_args(argv)))
    assert all("source_sampling" not in run["options"] for run in default)
