"""The pseudo-labeller is one artefact: `ego2exo pseudo-label` from the text stage's folder, or from the Hub repo
pushed from it (a populated Hub cache, HF_HUB_OFFLINE=1), writes exactly what the stage wrote."""

import json

import datasets
import pytest

from ego2exo_hf.cli import main as cli_main
from ego2exo_hf.errors import Ego2ExoError
from ego2exo_hf.hub import populate_hub_cache
from ego2exo_hf.text.pseudo_labeller import PSEUDO_LABELLER_FILE, CaptionPseudoLabeller


def assert_same_files(written, reference) -> None:
    assert written.read_text() == reference.read_text()
    ours = datasets.Dataset.from_parquet(str(written.with_suffix(".parquet")))
    stage = datasets.Dataset.from_parquet(str(reference.with_suffix(".parquet")))
    assert ours.to_dict() == stage.to_dict()


def test_folder_holds_the_whole_pseudo_labeller(text_run):
    output_dir, _ = text_run
    settings = json.loads((output_dir / PSEUDO_LABELLER_FILE).read_text())
    metrics = json.loads((output_dir / "metrics.json").read_text())
    assert settings["ngram_weight"] == metrics["combination"]["ngram_weight"]
    assert (settings["ngram_context_weight"], settings["ngram_position_weight"]) == (0.3, 0.3)
    assert (settings["source"], settings["target"]) == ("exo", "ego")
    labeller = CaptionPseudoLabeller.from_pretrained(output_dir)
    assert labeller.ngram is not None and labeller.ngram.uses_context


def test_pseudo_label_command_from_the_folder(text_run, tiny_data_dir, tmp_path, capsys):
    output_dir, _ = text_run
    out = tmp_path / "labels" / "ego2exo_exo_ego.txt"
    argv = ["pseudo-label", "--model", str(output_dir), "--data_dir", str(tiny_data_dir), "--split", "ego_train",
            "--output_file", str(out)]  # fmt: skip
    assert cli_main(argv) == 0
    assert_same_files(out, output_dir / "pseudo_labels" / "ego2exo_exo_ego.txt")
    assert capsys.readouterr().out.strip().startswith(f"wrote {out}")


def test_pseudo_label_command_from_the_hub_cache_offline(text_run, tiny_data_dir, tmp_path, monkeypatch):
    output_dir, _ = text_run
    cache = tmp_path / "hub"
    populate_hub_cache(output_dir, "someone/ego2exo-text-exo-ego", cache)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(cache))
    out = tmp_path / "from_hub.txt"
    argv = ["pseudo-label", "--model", "someone/ego2exo-text-exo-ego", "--data_dir", str(tiny_data_dir),
            "--output_file", str(out)]  # fmt: skip
    assert cli_main(argv) == 0
    assert_same_files(out, output_dir / "pseudo_labels" / "ego2exo_exo_ego.txt")


@pytest.mark.parametrize(
    "model, message",
    [("./no/such/folder", "model folder ./no/such/folder not found"),
     ("someone/not-cached", "cannot get 'someone/not-cached'")],
)  # fmt: skip
def test_missing_pseudo_labeller_is_one_line(model, message):
    with pytest.raises(Ego2ExoError, match=message):
        CaptionPseudoLabeller.from_pretrained(model)


def test_a_folder_without_the_settings_is_refused(text_run, tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(Ego2ExoError, match=f"not a text-stage output \\({PSEUDO_LABELLER_FILE} missing"):
        CaptionPseudoLabeller.from_pretrained(tmp_path)
