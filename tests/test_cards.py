"""`ego2exo_hf/cards.py`: model and dataset cards rendered from the templates, reloaded with `huggingface_hub`."""

import subprocess
import sys

import datasets
import pytest
import yaml
from huggingface_hub import DatasetCard, ModelCard

from ego2exo_hf.cards import write_dataset_card, write_text_model_card, write_video_model_card
from ego2exo_hf.constants import NUM_CLASSES, PUBLISHED_RESULTS


def accuracy(top1: float) -> dict:
    per_class = [top1] * (NUM_CLASSES - 1) + [None]
    return {"top1": top1, "top5": top1 + 10, "mean_class": top1 - 5, "per_class": per_class}


TEXT_SETTINGS = {
    "source": "exo",
    "target": "ego",
    "model_name_or_path": "sentence-transformers/all-MiniLM-L6-v2",
    "max_length": 128,
    "learning_rate": 5e-5,
    "num_train_epochs": 3,
    "max_steps": -1,
    "per_device_train_batch_size": 32,
    "balanced_sampling": True,
    "balancing_power": 0.5,
    "linear_probe": True,
    "freeze_word_embeddings": False,
    "bf16": False,
    "metric_for_best_model": "top1",
    "heldout_fraction": 0.1,
    "confidence_threshold": 0.0,
    "ngram_ensemble": True,
    "ngram_context_weight": 0.3,
    "ngram_position_weight": 0.3,
    "pseudo_label_file": "pseudo_labels/ego2exo_exo_ego.txt",
}
TEXT_METRICS = {
    "source_heldout": accuracy(80.123),
    "target_train_analysis": accuracy(78.9),
    "combination": {"ngram_weight": 0.4, "ngram_context_weight": 0.3, "ngram_position_weight": 0.3},
}
VIDEO_SETTINGS = {
    "data_dir": "/data/ego2exo",
    "source": "exo",
    "target": "ego",
    "method": "lagtran",
    "num_iterations": 1000,
    "batch_size": 64,
    "learning_rate": 0.01,
    "classifier_lr_multiplier": 10.0,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "lr_gamma": 0.001,
    "lr_power": 0.75,
    "seed": 42,
    "selection": "source_val",
    "hidden_dim": 256,
    "feature_dim": 1536,
    "push_to_hub": False,  # vars(args) carries more than the card reads
}
VIDEO_METRICS = {"source_val": accuracy(40.0), "target_val": accuracy(30.5), "selected_iteration": 800}
PROVENANCE = "pseudo-labels from `pseudo_labels/ego2exo_exo_ego.txt` (text stage)"


def results(card) -> dict:
    return {(r.dataset_split, r.metric_name): r for r in card.data.eval_results}


def header(path) -> dict:
    return yaml.safe_load(path.read_text().split("---\n")[1])


def test_text_card_has_model_index_and_pseudo_labeller(tmp_path):
    path = write_text_model_card(tmp_path, settings=TEXT_SETTINGS, metrics=TEXT_METRICS)
    card = ModelCard.load(path)
    found = results(card)
    assert found[("exo_train", "source held-out top-1")].metric_value == 80.12
    assert found[("exo_train", "source held-out mean-class")].metric_value == 75.12
    analysis = found[("ego_train", "target train pseudo-label top-1 (analysis, uses target labels)")]
    assert analysis.metric_value == 78.9
    for result in found.values():
        kind = (result.task_type, result.dataset_type, result.dataset_name, result.metric_type)
        assert kind == ("text-classification", "Tarun23/Ego2Exo", "Ego2Exo exo->ego", "accuracy")
    assert header(path)["model-index"][0]["name"] == "ego2exo-text-exo-ego"
    assert card.data.base_model == "sentence-transformers/all-MiniLM-L6-v2"
    text = card.text
    assert "ego2exo pseudo-label --model <this repo or folder> --data_dir DATA --split ego_train --out FILE" in text
    assert "`ngram_classifier/`" in text and "`pseudo_labeller.json`" in text
    assert "n-gram weight 0.4" in text and "weight 0.3" in text
    assert "`pseudo_labels/ego2exo_exo_ego.txt`" in text and "ego2exo_exo_ego.parquet" in text
    assert "| source held-out | 80.12 | 90.12 | 75.12 |" in text
    assert "top-1\n77.46, mean-class 56.10" in text  # the original text stage's published figure
    assert "kalluri2024lagtran" in text and "## Intended use" in text and "## Limitations" in text
    assert "ORACLE" not in text


def test_text_card_without_heldout_slice_or_target_labels(tmp_path):
    settings = {**TEXT_SETTINGS, "heldout_fraction": 0.0, "ngram_ensemble": False}
    card = ModelCard.load(write_text_model_card(tmp_path, settings=settings, metrics={"combination": {}}))
    assert not card.data.eval_results
    assert "No evaluation was run" in card.text and "n-gram pooling off" in card.text


def test_text_card_names_the_saved_files_the_pseudo_labeller_reads(tmp_path):
    from ego2exo_hf import constants
    from ego2exo_hf.text import pseudo_labeller as saved

    card = write_text_model_card(tmp_path, settings=TEXT_SETTINGS, metrics=TEXT_METRICS).read_text()
    assert (constants.NGRAM_DIR, constants.PSEUDO_LABELLER_FILE) == (saved.NGRAM_DIR, saved.PSEUDO_LABELLER_FILE)
    assert f"`{saved.NGRAM_DIR}/`" in card and f"`{saved.PSEUDO_LABELLER_FILE}`" in card


def test_video_card_has_model_index_and_published_result(tmp_path):
    path = write_video_model_card(tmp_path, settings=VIDEO_SETTINGS, metrics=VIDEO_METRICS, target_labels=PROVENANCE)
    card = ModelCard.load(path)
    found = results(card)
    assert found[("ego_val", "target val top-1")].metric_value == 30.5
    assert found[("ego_val", "target val mean-class")].metric_value == 25.5
    assert found[("exo_val", "source val top-1")].metric_value == 40.0
    assert found[("exo_val", "source val mean-class")].metric_value == 35.0
    assert {r.task_type for r in found.values()} == {"video-classification"}
    assert "model-index" in header(path)
    assert card.data.pipeline_tag == "video-classification"
    text = card.text
    assert f"Published top-1 (paper, real data, lagtran exo->ego): {PUBLISHED_RESULTS['lagtran']['exo->ego']}" in text
    assert PROVENANCE in text and "best top-1 on source val (iteration 800)" in text
    assert "| target val (ego_val) | 30.50 | 40.50 | 25.50 |" in text and "| Prepare dressing | - | - |" in text
    assert "AutoModel.from_pretrained" in text and "ORACLE" not in text


def test_video_card_oracle_selection_is_flagged(tmp_path):
    settings = {**VIDEO_SETTINGS, "selection": "target_val_oracle", "method": "source_only"}
    path = write_video_model_card(tmp_path, settings=settings, metrics=VIDEO_METRICS, target_labels="none",
                                  uses_target=False)  # fmt: skip
    card = ModelCard.load(path)
    title = next(line for line in card.text.splitlines() if line.startswith("# "))
    assert "ORACLE" in title
    assert "> **Warning:** ORACLE selection" in card.text and "upper bound" in card.text
    assert all("[ORACLE selection]" in r.metric_name for r in card.data.eval_results)
    assert " + 64 target" not in card.text  # source only trains on source batches alone


def test_dataset_card_lists_the_data_files(tmp_path):
    sizes = {"ego_train": 10, "ego_val": 5, "exo_train": 12, "exo_val": 5}
    card = DatasetCard.load(write_dataset_card(tmp_path, configs=["text", "pooled"], split_sizes=sizes))
    configs = {c["config_name"]: c for c in card.data.configs}
    assert configs["pooled"]["default"] is True and "default" not in configs["text"]
    assert {f["split"]: f["path"] for f in configs["text"]["data_files"]} == {
        split: f"text/{split}-*.parquet" for split in sizes
    }
    assert card.data.size_categories == ["n<1K"]
    assert "| exo_train | 12 |" in card.text and "- `pooled`: plus `features`" in card.text
    assert "`frames`" not in card.text and "kalluri2024lagtran" in card.text


def test_exported_folder_loads_with_plain_datasets(tiny_data_dir, tmp_path):
    from ego2exo_hf.data.export import export_dataset

    out = export_dataset(tiny_data_dir, tmp_path / "export", configs=["text"])
    card = DatasetCard.load(out / "README.md")
    assert [c["config_name"] for c in card.data.configs] == ["text"]
    loaded = datasets.load_dataset(str(out), "text", cache_dir=str(tmp_path / "cache"))
    assert set(loaded) == {"ego_train", "ego_val", "exo_train", "exo_val"}
    assert f"| ego_val | {len(loaded['ego_val'])} |" in card.text


@pytest.mark.parametrize("writer", ["write_text_model_card", "write_dataset_card"])
def test_rendering_imports_no_torch(writer, tmp_path):
    calls = {
        "write_text_model_card": f"write_text_model_card({str(tmp_path)!r}, settings={TEXT_SETTINGS!r}, metrics={{}})",
        "write_dataset_card": f"write_dataset_card({str(tmp_path)!r}, configs=['text'], split_sizes={{'ego_val': 1}})",
    }
    code = f"import sys\nfrom ego2exo_hf.cards import {writer}\n{calls[writer]}\nassert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (tmp_path / "README.md").is_file()
