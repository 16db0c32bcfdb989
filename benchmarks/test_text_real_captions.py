"""benchmarks/text_real_captions.py on a tiny caption folder with a tiny BERT: the caption parser, the several-seeds
summary (mean and sd over per-seed runs), the tie rule and bad arguments."""

import importlib.util
import json
import statistics
import sys
from pathlib import Path

import pytest
from text_model_fixture import make_tiny_bert

from ego2exo_hf.constants import CLASS_NAMES
from ego2exo_hf.data.official import segment_id
from ego2exo_hf.errors import Ego2ExoError

SCRIPT = Path(__file__).resolve().parent / "text_real_captions.py"
FAST = ["--max_steps", "4", "--per_device_train_batch_size", "16", "--eval_steps", "2", "--save_steps", "2",
        "--report_to", "none", "--disable_tqdm", "true"]  # fmt: skip


@pytest.fixture(scope="module")
def benchmark():
    spec = importlib.util.spec_from_file_location("text_real_captions", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TAKES = [f"take-{k}" for k in range(4)]


@pytest.fixture(scope="module")
def captions_dir(tmp_path_factory):
    """The real layout: `ego2exo_captions/{ego,exo}_train.txt` (4 captions per class and view, official segment
    ids of 4 takes, ego and exo taking turns within a take) next to `take_ids.txt`."""
    root = tmp_path_factory.mktemp("real")
    folder = root / "ego2exo_captions"
    folder.mkdir()
    (root / "take_ids.txt").write_text("\n".join(TAKES) + "\n", encoding="utf-8")
    for turn, view in enumerate(("ego", "exo")):
        lines = [
            f"{segment_id(take, 2 * c + turn)};{view} person {CLASS_NAMES[c].lower()} step {k};{CLASS_NAMES[c]};{c}"
            for c in range(len(CLASS_NAMES))
            for k, take in enumerate(TAKES)
        ]
        (folder / f"{view}_train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_the_data_folder_holds_each_segments_take_and_position(benchmark, captions_dir, tmp_path):
    data_dir = benchmark.write_caption_data_dir(captions_dir, tmp_path, captions_dir.parent / "take_ids.txt")
    metadata = json.loads((data_dir / "ego2exo.json").read_text())["exo_train"]["metadata"]
    assert len(metadata) == 4 * len(CLASS_NAMES)
    for record in metadata:
        assert record["take_uid"] in TAKES and record["segment_index"] % 2 == 1  # exo: the odd positions
        assert segment_id(record["take_uid"], record["segment_index"]) == record["segment_id"]


def test_segments_of_another_take_list_are_refused(benchmark, captions_dir, tmp_path):
    other = tmp_path / "take_ids.txt"
    other.write_text("\n".join(TAKES[:3]) + "\n", encoding="utf-8")
    with pytest.raises(Ego2ExoError, match=r"segment_id=\d+ \(and 47 more\) is not md5\(take_uid \+ segment_index\)"):
        benchmark.write_caption_data_dir(captions_dir, tmp_path / "data", other)
    with pytest.raises(Ego2ExoError, match="--take_ids must name the take list"):
        benchmark.write_caption_data_dir(captions_dir, tmp_path / "data", tmp_path / "missing.txt")
    assert not (tmp_path / "data").exists()


def run_main(benchmark, monkeypatch, *argv):
    monkeypatch.setattr(sys, "argv", ["text_real_captions.py", *argv])
    benchmark.main()


def test_several_seeds_report_each_run_and_their_mean(benchmark, captions_dir, tmp_path, monkeypatch, capsys):
    model = make_tiny_bert(tmp_path / "tiny-bert")
    run_main(benchmark, monkeypatch, "--captions_dir", str(captions_dir), "--output_dir", str(tmp_path / "runs"),
             "--directions", "exo->ego", "--seeds", "1", "2",
             "--", "--model_name_or_path", str(model), "--heldout_fraction", "0.25", *FAST)  # fmt: skip
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    result = summary["results"]["exo->ego"]
    assert sorted(result["per_seed"]) == ["1", "2"]
    top1 = [run["target_top1"] for run in result["per_seed"].values()]
    assert result["target_top1_mean"] == round(statistics.mean(top1), 2)
    assert result["target_top1_sd"] == round(statistics.stdev(top1), 2)
    assert summary["settings"].endswith("seeds 1 2")
    assert summary["total_cpu_s"] == round(sum(run["cpu_s"] for run in result["per_seed"].values()), 1)
    for seed in (1, 2):  # one folder per seed, each trained with its own seed
        state = json.loads((tmp_path / "runs" / f"text_exo_ego_seed{seed}" / "trainer_state.json").read_text())
        assert state["global_step"] == 4
    assert (tmp_path / "runs" / "text_exo_ego_seed1" / "pseudo_labels" / "ego2exo_exo_ego.txt").is_file()


def test_a_tie_at_the_published_decimals_is_not_a_win(benchmark):
    assert not benchmark.beats(77.4634, 62.46, (77.46, 56.10))
    assert benchmark.beats(77.4878, 62.46, (77.46, 56.10))
    assert not benchmark.beats(80.0, 56.1, (77.46, 56.10))


def test_over_seeds_means_and_flags(benchmark):
    runs = {"42": {"target_top1": 77.46, "target_mean_class": 62.46}, "43": {"target_top1": 76.56,
            "target_mean_class": 60.01}, "44": {"target_top1": 77.56, "target_mean_class": 61.05}}  # fmt: skip
    summary = benchmark.over_seeds(runs, "exo->ego")
    assert (summary["target_top1_mean"], summary["target_top1_sd"]) == (77.19, 0.55)
    assert summary["mean_beats_original"] is False


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--seeds", "1", "--", "--seed", "3"], "give seeds with --seeds"),
        (["--seeds", "1", "1"], "repeats a seed"),
    ],
)
def test_bad_seed_arguments_fail_in_one_line(benchmark, captions_dir, tmp_path, monkeypatch, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        run_main(benchmark, monkeypatch, "--captions_dir", str(captions_dir), "--output_dir", str(tmp_path), *argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not any(tmp_path.iterdir())  # nothing written


def test_a_bad_caption_line_names_file_and_line(benchmark, tmp_path):
    path = tmp_path / "ego_train.txt"
    path.write_text(f"1;a caption;{CLASS_NAMES[0]};0\n2;another caption;{CLASS_NAMES[0]};5\n", encoding="utf-8")
    with pytest.raises(Ego2ExoError, match=r"ego_train.txt, line 2: class .* does not match category 5"):
        benchmark.read_captions(path)
