"""`train_text.py` end to end with a tiny BERT: model, metrics, pseudo-labels; each bad input is one line."""

import json
import subprocess
import sys
from pathlib import Path

import datasets
import numpy as np
import pytest
from text_model_fixture import TEXT_SCRIPT as SCRIPT
from text_model_fixture import make_tiny_bert, stage_args

import train_text
from ego2exo_hf.constants import ID2LABEL, NUM_CLASSES
from ego2exo_hf.data import read_pseudo_labels
from ego2exo_hf.data.pseudo_labels import align_pseudo_labels
from ego2exo_hf.errors import exit_on_user_error
from ego2exo_hf.text.backbone import bundled_minilm_path
from ego2exo_hf.text.pooling import NGRAM_WEIGHTS


@pytest.fixture(scope="module")
def text_splits(tiny_data_dir):
    """The tiny data in the `text` config."""
    from ego2exo_hf.data import load_ego2exo

    return load_ego2exo(tiny_data_dir, config="text")


def test_checkpoint_reloads_with_auto_classes(text_run):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    output_dir, _ = text_run
    assert (output_dir / "model.safetensors").is_file()
    model = AutoModelForSequenceClassification.from_pretrained(output_dir)
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    assert model.config.num_labels == NUM_CLASSES
    assert model.config.id2label == ID2LABEL
    logits = model(**tokenizer(["picks the knife with his right hand."], return_tensors="pt")).logits
    assert logits.shape == (1, NUM_CLASSES)
    card = (output_dir / "README.md").read_text()
    assert "exo->ego" in card and "text-classification" in card


def test_metrics_file(text_run, text_splits):
    output_dir, result = text_run
    metrics = json.loads((output_dir / "metrics.json").read_text())
    for key in ("top1", "top5", "mean_class"):
        assert 0.0 <= metrics["source_heldout"][key] <= 100.0
    assert metrics["source_heldout"]["top1"] <= metrics["source_heldout"]["top5"]
    assert metrics["source"]["num_train"] + metrics["source"]["num_heldout"] == len(text_splits["exo_train"])
    assert metrics["target_train_analysis"]["uses_target_labels"] is True
    assert 0.0 <= metrics["train"]["linear_probe_train_top1"] <= 100.0
    combination = metrics["combination"]
    assert combination["ngram_weight"] in NGRAM_WEIGHTS
    assert (combination["ngram_context_weight"], combination["ngram_position_weight"]) == (0.3, 0.3)
    assert {"source_heldout_transformer", "source_heldout_ngram"} <= set(metrics)
    assert (output_dir / "ngram_classifier" / "model.safetensors").is_file()
    assert metrics["pseudo_labels"]["count"] == metrics["pseudo_labels"]["kept"] == len(text_splits["ego_train"])
    assert result.stdout.strip().splitlines()[-1].startswith(f"wrote {output_dir}")


def test_pseudo_labels_cover_every_target_segment(text_run, text_splits):
    output_dir, _ = text_run
    txt = output_dir / "pseudo_labels" / "ego2exo_exo_ego.txt"
    target_ids = text_splits["ego_train"]["segment_id"]
    assert len(txt.read_text().splitlines()) == len(target_ids)
    pseudo = read_pseudo_labels(txt)
    assert set(pseudo) == set(target_ids)
    labels = align_pseudo_labels(pseudo, target_ids, path=txt, split="ego_train")

    table = datasets.Dataset.from_parquet(str(txt.with_suffix(".parquet")))
    assert table["segment_id"] == target_ids
    assert table["pseudo_label"] == labels
    probabilities = np.asarray(table["probabilities"])
    assert probabilities.shape == (len(target_ids), NUM_CLASSES)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    np.testing.assert_array_equal(probabilities.argmax(axis=1), labels)
    np.testing.assert_allclose(table["confidence"], probabilities.max(axis=1), atol=1e-6)


def test_in_process_threshold_and_push(tiny_data_dir, tiny_bert, tmp_path, monkeypatch):
    """`train_text.main(words)` in process: confidence threshold, Hub push of the finished folder."""
    pushed = []
    monkeypatch.setattr(
        "ego2exo_hf.hub.push_folder", lambda folder, repo_id, **kw: pushed.append((Path(folder), repo_id))
    )
    monkeypatch.setattr("ego2exo_hf.hub.check_hub_access", lambda repo_id, **kw: None)
    output_dir = tmp_path / "text_ego_exo"
    metrics = train_text.main(stage_args(
        tiny_data_dir, tiny_bert, output_dir, "--source", "ego", "--target", "exo", "--max_steps", "3",
        "--heldout_fraction", "0", "--confidence_threshold", "0.06", "--push_to_hub", "true",
        "--hub_model_id", "someone/ego2exo-text",
    ))  # fmt: skip
    assert pushed == [(output_dir, "someone/ego2exo-text")]
    assert "source_heldout" not in metrics and metrics["source"]["num_heldout"] == 0
    counts = metrics["pseudo_labels"]
    kept_lines = (output_dir / "pseudo_labels" / "ego2exo_ego_exo.txt").read_text().splitlines()
    assert len(kept_lines) == counts["kept"] <= counts["count"]
    table = datasets.Dataset.from_parquet(str(output_dir / "pseudo_labels" / "ego2exo_ego_exo.parquet"))
    assert len(table) == counts["count"] and sum(table["kept"]) == counts["kept"]
    assert all((c >= 0.06) == k for c, k in zip(table["confidence"], table["kept"]))


def assert_one_line_error(stderr: str, message: str) -> None:
    """Progress bars may precede it, but the error is one line, the last one, with no traceback."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert lines[-1].startswith("error: ") and message in lines[-1], stderr
    assert sum("error" in line.lower() for line in lines) == 1, stderr


def _empty_source_captions(data_dir, tmp_path):
    meta = json.loads((data_dir / "ego2exo.json").read_text())
    for description in meta["exo_train"]["descriptions"]:
        description["text_caption"] = ""
    (data_dir / "ego2exo.json").write_text(json.dumps(meta))
    return {}


def _two_segments_at_one_position(data_dir, tmp_path):
    meta = json.loads((data_dir / "ego2exo.json").read_text())
    first, second = meta["exo_train"]["metadata"][:2]
    second["take_uid"], second["segment_index"] = first["take_uid"], first["segment_index"]
    (data_dir / "ego2exo.json").write_text(json.dumps(meta))
    return {}


def _five_class_checkpoint(data_dir, tmp_path):
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    bert = make_tiny_bert(tmp_path / "base")
    path = tmp_path / "five-classes"
    config = AutoConfig.from_pretrained(bert, num_labels=5)
    AutoModelForSequenceClassification.from_config(config).save_pretrained(path)
    AutoTokenizer.from_pretrained(bert).save_pretrained(path)
    return {"model": path}


def _output_below_a_file(data_dir, tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    return {"output_dir": tmp_path / "a_file" / "run"}


BAD_INPUTS = {
    "unknown source": (None, ["--source", "top", "--target", "ego"], "--source must be one of"),
    "equal source and target": (None, ["--source", "ego", "--target", "ego"], "must differ"),
    "empty source captions": (_empty_source_captions, [], "every source caption is empty"),
    "num_labels mismatch": (_five_class_checkpoint, [], "classifier with 5 labels"),
    "unwritable output dir": (_output_below_a_file, [], "cannot be written"),
    "unknown attention kernel": (None, ["--attn_implementation", "turbo"], "cannot load model"),
    "two segments at one position": (_two_segments_at_one_position, [], "split=exo_train, segment_id="),
    "negative context weight": (None, ["--ngram_context_weight", "-1"], "--ngram_context_weight must be at least 0"),
    "unknown option": (None, ["--max_stpes", "3"], "unknown option '--max_stpes' (did you mean '--max_steps'?)"),
    "negative epochs": (None, ["--max_steps", "-1", "--num_train_epochs", "-1"], "--num_train_epochs must be positive"),
    "zero max_steps": (None, ["--max_steps", "0"], "--max_steps must be positive"),
    "zero batch size": (
        None,
        ["--per_device_train_batch_size", "0"],
        "--per_device_train_batch_size must be at least 1",
    ),
    "negative save_total_limit": (None, ["--save_total_limit", "-1"], "--save_total_limit must be at least 1"),
    "missing model folder": (lambda d, t: {"model": "./no/such/model"}, [], "model folder ./no/such/model not found"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_one_line_error_nothing_written(case, tiny_copy, tiny_bert, tmp_path, capsys):
    prepare, extra, message = BAD_INPUTS[case]
    paths = {"model": tiny_bert, "output_dir": tmp_path / "out"}
    paths.update(prepare(tiny_copy, tmp_path) if prepare else {})
    args = stage_args(tiny_copy, paths["model"], paths["output_dir"], *extra)
    with pytest.raises(SystemExit) as exit_info:
        exit_on_user_error(train_text.main)(args)
    assert exit_info.value.code not in (0, None)
    assert_one_line_error(capsys.readouterr().err, message)
    assert not Path(paths["output_dir"]).exists()


def test_bad_input_exit_code_from_a_fresh_process(tiny_data_dir, tmp_path):
    args = ["--data_dir", str(tiny_data_dir), "--source", "exo", "--target", "exo", "--output_dir", str(tmp_path / "o")]
    result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "--source and --target must differ (both are 'exo')")
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_bundled_minilm_end_to_end(tiny_data_dir, tmp_path):
    """The default backbone (bundled all-MiniLM-L6-v2, no network) through the whole script."""
    from transformers import AutoModelForSequenceClassification

    output_dir = tmp_path / "minilm"
    args = ["--data_dir", str(tiny_data_dir), "--output_dir", str(output_dir), "--max_steps", "8",
            "--eval_steps", "4", "--save_steps", "4", "--report_to", "none"]  # fmt: skip
    result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    metrics = json.loads((output_dir / "metrics.json").read_text())
    assert metrics["model"]["loaded_from"] == str(bundled_minilm_path())
    model = AutoModelForSequenceClassification.from_pretrained(output_dir)
    assert model.config.hidden_size == 384 and model.config.num_labels == NUM_CLASSES
    assert (
        len(read_pseudo_labels(output_dir / "pseudo_labels" / "ego2exo_exo_ego.txt"))
        == metrics["target"]["num_segments"]
    )
