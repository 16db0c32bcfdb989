"""`ego2exo_hf/demo.py` (`ego2exo demo`) end to end with the tiny text model: every artefact is well-formed."""

import json

import pytest
from PIL import Image
from text_model_fixture import make_tiny_bert
from transformers import AutoModelForSequenceClassification

from ego2exo_hf import Ego2ExoError
from ego2exo_hf.cli import main as cli_main
from ego2exo_hf.constants import CLASS_NAMES
from ego2exo_hf.demo import METHODS, parse_direction, results_table
from ego2exo_hf.models import FeatureClassifier


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    text_model = make_tiny_bert(root / "tiny-bert")
    out = root / "runs"
    argv = ["demo", "--scale", "tiny", "--output_dir", str(out), "--text_model", str(text_model)]
    assert cli_main(argv + ["--text_steps", "10", "--video_iterations", "60", "--val_every", "30"]) == 0
    return out


def test_results_json_and_table(demo_run):
    results = json.loads((demo_run / "results.json").read_text())
    assert list(results) == ["exo->ego", "ego->exo"]
    for direction in results.values():
        assert set(direction) == {"pseudo_label_acc", *METHODS}
        for cell in direction.values():
            assert set(cell) == {"top1", "mean_class"} and all(0 <= v <= 100 for v in cell.values())
    report = (demo_run / "results.md").read_text()
    assert "| direction | text pseudo-label acc (analysis) | source only | LaGTran | target supervised |" in report
    assert "| exo->ego |" in report and "| ego->exo |" in report
    assert results_table(results) in report
    assert "Published" in report  # the paper's table, labelled as published


def test_plots_open(demo_run):
    for name in ("training_curves.png", "confusion_exo_ego.png", "confusion_ego_exo.png"):
        with Image.open(demo_run / name) as image:
            image.verify()
            assert image.format == "PNG" and image.size[0] > 300


def test_models_and_pseudo_labels_reload(demo_run):
    for source, target in (("exo", "ego"), ("ego", "exo")):
        direction = demo_run / f"{source}_{target}"
        text_model = AutoModelForSequenceClassification.from_pretrained(direction / "text")
        assert text_model.config.id2label[0] == CLASS_NAMES[0]
        lines = (direction / "text" / "pseudo_labels" / f"ego2exo_{source}_{target}.txt").read_text().splitlines()
        assert lines and all(len(line.split()) == 2 for line in lines)
        for method in METHODS:
            model = FeatureClassifier.from_pretrained(direction / method)
            assert model.config.num_labels == len(CLASS_NAMES)
            metrics = json.loads((direction / method / "metrics.json").read_text())
            assert metrics["method"] == method and (direction / method / "README.md").is_file()


def test_directions_are_parsed():
    assert parse_direction("exo->ego") == ("exo", "ego")
    assert parse_direction("ego2exo") == ("ego", "exo")
    with pytest.raises(Ego2ExoError, match="cannot read"):
        parse_direction("ego->ego")
