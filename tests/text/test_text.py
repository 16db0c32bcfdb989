"""Text stage: train_text.py end to end on tiny synthetic data with a tiny BERT, sampler, selection slice,
default-model resolution and every bad input (one-line error, exit != 0, nothing written)."""

import collections
import json
import subprocess
import sys
from pathlib import Path

import datasets
import numpy as np
import pytest
from text_model_fixture import TEXT_SCRIPT as SCRIPT
from text_model_fixture import make_tiny_bert, stage_args
from transformers import TrainingArguments

import train_text
from ego2exo_hf.arguments import parse_args
from ego2exo_hf.constants import DEFAULT_TEXT_MODEL, ID2LABEL, NUM_CLASSES
from ego2exo_hf.data import read_pseudo_labels
from ego2exo_hf.data.pseudo_labels import align_pseudo_labels
from ego2exo_hf.errors import Ego2ExoError, exit_on_user_error
from ego2exo_hf.text.backbone import bundled_minilm_path, load_text_model, resolve_checkpoint
from ego2exo_hf.text.data import stratified_heldout, tokenize
from ego2exo_hf.text.ngram import CaptionContext, NgramCaptionClassifier, fit_ngram
from ego2exo_hf.text.pooling import NGRAM_WEIGHTS, choose_ngram_weight, combine_probabilities
from ego2exo_hf.text.trainer import CaptionTrainer, ClassBalancedSampler

REPO = SCRIPT.parent


# ----------------------------------------------------------------------------------------------- the run
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


def test_metrics_file(text_run, splits):
    output_dir, result = text_run
    metrics = json.loads((output_dir / "metrics.json").read_text())
    for key in ("top1", "top5", "mean_class"):
        assert 0.0 <= metrics["source_heldout"][key] <= 100.0
    assert metrics["source_heldout"]["top1"] <= metrics["source_heldout"]["top5"]
    assert metrics["source"]["num_train"] + metrics["source"]["num_heldout"] == len(splits["exo_train"])
    assert metrics["target_train_analysis"]["uses_target_labels"] is True
    assert 0.0 <= metrics["train"]["linear_probe_train_top1"] <= 100.0
    combination = metrics["combination"]
    assert combination["ngram_weight"] in NGRAM_WEIGHTS
    assert (combination["ngram_context_weight"], combination["ngram_position_weight"]) == (0.3, 0.3)
    assert {"source_heldout_transformer", "source_heldout_ngram"} <= set(metrics)
    assert (output_dir / "ngram_classifier" / "model.safetensors").is_file()
    assert metrics["pseudo_labels"]["count"] == metrics["pseudo_labels"]["kept"] == len(splits["ego_train"])
    assert result.stdout.strip().splitlines()[-1].startswith(f"wrote {output_dir}")


def test_pseudo_labels_cover_every_target_segment(text_run, splits):
    output_dir, _ = text_run
    txt = output_dir / "pseudo_labels" / "ego2exo_exo_ego.txt"
    target_ids = splits["ego_train"]["segment_id"]
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


# ---------------------------------------------------------------------------------------- building blocks
def test_ngram_classifier_saves_and_reloads_without_pickle(tmp_path):
    texts = ["cuts the onion with a knife", "cuts the tomato with a knife", "washes the plate in the sink",
             "washes the pan in the sink", "stirs the pot with a spoon", "stirs the pan with a spoon"]  # fmt: skip
    labels = [3, 3, 7, 7, 1, 1]
    model = NgramCaptionClassifier(NUM_CLASSES).fit(texts, labels)
    queries = ["cuts the carrot with a knife", "washes the pot in the sink", ""]
    probabilities = model.predict_proba(queries)
    assert probabilities.shape == (3, NUM_CLASSES)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    assert probabilities[:2].argmax(axis=1).tolist() == [3, 7]
    assert probabilities[:, [0, 2, 4]].max() < 1e-6  # classes never seen in training are never predicted

    reloaded = NgramCaptionClassifier.load(model.save(tmp_path / "ngram"))
    assert sorted(p.name for p in (tmp_path / "ngram").iterdir()) == ["model.safetensors", "vocabulary.json"]
    np.testing.assert_allclose(reloaded.predict_proba(queries), probabilities, atol=1e-6)


def test_caption_context_reads_neighbours_within_each_take():
    takes, indices = ["b", "a", "a", "b", "a"], [7, 4, 0, 2, 9]  # take a: rows 2, 1, 4; take b: rows 3, 0
    captions = ["b7", "a4", "a0", "b2", "a9"]
    context = CaptionContext.within_takes(takes, indices, captions)
    assert context.previous == ["b2", "a0", "", "", "a4"]
    assert context.following == ["", "a9", "a4", "b7", ""]
    assert context.position.tolist() == [1.0, 0.5, 0.0, 0.0, 1.0]
    selected = context.select([4, 2])
    assert (selected.previous, selected.following, selected.position.tolist()) == (["a4", ""], ["", "a4"], [1, 0])
    with pytest.raises(Ego2ExoError, match=r"split=x, segment_id=11 and 12: both are segment_index 3 of take a"):
        CaptionContext.within_takes(["a", "a"], [3, 3], ["c", "d"], segment_ids=[11, 12], where="split=x")


def test_ngram_classifier_reads_the_neighbouring_captions(tmp_path):
    """The same words mean class 1 after "cracks an egg" and class 2 after "fixes the chain": only the context
    tells them apart, and the saved model keeps reading it."""
    takes, indices, captions, labels = [], [], [], []
    for take in range(20):
        first, label = ("cracks an egg", 1) if take % 2 else ("fixes the chain", 2)
        for index, (caption, y) in enumerate([(first, 0), ("washes the hands", label)]):
            takes.append(f"take-{take}")
            indices.append(index)
            captions.append(caption)
            labels.append(y)
    context = CaptionContext.within_takes(takes, indices, captions)
    alone = NgramCaptionClassifier(NUM_CLASSES).fit(captions, labels)
    assert (alone.predict_proba(captions).argmax(axis=1) == labels).mean() <= 0.75  # a coin flip on "washes"
    model = NgramCaptionClassifier(NUM_CLASSES, context_weight=0.5, position_weight=0.3)
    probabilities = model.fit(captions, labels, context=context).predict_proba(captions, context)
    assert probabilities.argmax(axis=1).tolist() == labels
    reloaded = NgramCaptionClassifier.load(model.save(tmp_path / "ngram"))
    assert (reloaded.context_weight, reloaded.position_weight) == (0.5, 0.3)
    np.testing.assert_allclose(reloaded.predict_proba(captions, context), probabilities, atol=1e-6)
    with pytest.raises(ValueError, match="pass a CaptionContext"):
        reloaded.predict_proba(captions)


def test_ngram_classifier_follows_the_class_balance():
    texts = [f"stirs the pot {i}" for i in range(40)] + ["stirs the pan"] * 2 + ["washes the pan"] * 2
    labels = np.array([0] * 40 + [1] * 2 + [2] * 2)
    natural = fit_ngram(texts, labels, power=0.0, seed=0).predict_proba(["stirs the pan"])
    balanced = fit_ngram(texts, labels, power=1.0, seed=0).predict_proba(["stirs the pan"])
    assert balanced[0, 1] > natural[0, 1]  # the rare class gains weight as it does in the balanced sampler


def test_ngram_weight_is_chosen_on_heldout_labels():
    from ego2exo_hf.metrics import load_accuracy_metric

    rng = np.random.default_rng(0)
    labels = rng.integers(0, NUM_CLASSES, size=400)
    exact = np.eye(NUM_CLASSES)[labels] * 0.9 + 0.1 / NUM_CLASSES
    noise = rng.dirichlet(np.ones(NUM_CLASSES), size=len(labels))
    uniform = np.full_like(exact, 1 / NUM_CLASSES)
    metric = load_accuracy_metric()

    chosen = choose_ngram_weight(noise, exact, labels, metric)  # only the n-gram model knows the answer
    assert chosen["ngram_weight"] > 0.0 and chosen["heldout_score"] == pytest.approx(100.0)
    chosen = choose_ngram_weight(exact, uniform, labels, metric)  # nothing to gain: the least n-gram
    assert chosen["ngram_weight"] == 0.0
    assert combine_probabilities(noise, None, 0.5) is noise


def test_probabilities_are_pooled_log_linearly():
    rng = np.random.default_rng(1)
    transformer, ngram = rng.dirichlet(np.ones(NUM_CLASSES), size=(2, 50))
    ngram[:, 3] = 0.0  # a class the n-gram model never saw
    ngram /= ngram.sum(axis=1, keepdims=True)
    pooled = combine_probabilities(transformer, ngram, 0.25)
    expected = transformer**0.75 * ngram**0.25
    np.testing.assert_allclose(pooled, expected / expected.sum(axis=1, keepdims=True), rtol=1e-6, atol=1e-6)
    assert pooled[:, 3].max() < 1e-6  # the product vetoes what one model rules out


def test_balanced_sampler_draws_classes_uniformly():
    labels = [0] * 800 + [1] * 150 + [2] * 40 + [3] * 9 + [4]
    lengths = np.random.default_rng(0).integers(3, 128, size=len(labels)).tolist()
    for with_lengths in (None, lengths):
        sampler = ClassBalancedSampler(labels, with_lengths, batch_size=16, seed=0)
        draws = [i for _ in range(10) for i in sampler]
        assert len(draws) == 10 * len(labels)
        freq = collections.Counter(labels[i] for i in draws)
        shares = np.array([freq[c] for c in range(5)]) / len(draws)
        np.testing.assert_allclose(shares, 0.2, atol=0.02)
    first_batch = [lengths[i] for i in list(sampler)[:16]]
    assert max(first_batch) - min(first_batch) <= 20  # batches of similar length
    natural = ClassBalancedSampler(labels, power=0.0, seed=0)
    assert collections.Counter(labels[i] for i in natural)[0] > 0.7 * len(labels)
    sqrt_balanced = collections.Counter(labels[i] for i in ClassBalancedSampler(labels, power=0.5, seed=0))
    assert sqrt_balanced[0] / len(labels) == pytest.approx(np.sqrt(800) / np.sqrt([800, 150, 40, 9, 1]).sum(), abs=0.04)


def test_a_new_head_is_one_log_line_not_a_load_report(tiny_bert, capfd, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="ego2exo_hf"):
        _, model = load_text_model(str(tiny_bert))
    assert model.config.num_labels == NUM_CLASSES
    assert "LOAD REPORT" not in "".join(capfd.readouterr()) + caplog.text
    assert f"a new {NUM_CLASSES}-class head (classifier.bias, classifier.weight)" in caplog.text


def test_trainer_sampler_switch(tiny_bert, tmp_path):
    from torch.utils.data import RandomSampler

    tokenizer, model = load_text_model(str(tiny_bert))
    dataset = datasets.Dataset.from_dict({"text_caption": ["a b", "c"] * 8, "label": [0, 1] * 8})
    dataset = tokenize(dataset, tokenizer, max_length=16)
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none", save_strategy="no")
    for balanced, expected in ((True, ClassBalancedSampler), (False, RandomSampler)):
        trainer = CaptionTrainer(
            model=model, args=args, train_dataset=dataset, processing_class=tokenizer, balanced_sampling=balanced
        )
        assert isinstance(trainer._get_train_sampler(), expected)


def test_every_phase_has_a_named_progress_bar(tiny_bert, tmp_path, capsys):
    from ego2exo_hf.text.trainer import fit_linear_probe

    tokenizer, model = load_text_model(str(tiny_bert))
    dataset = datasets.Dataset.from_dict({"text_caption": ["a b", "c"] * 8, "label": [0, 1] * 8})
    dataset = tokenize(dataset, tokenizer, max_length=16)
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none", save_strategy="no", max_steps=2,
                             per_device_train_batch_size=4, eval_strategy="steps", eval_steps=2,
                             dataloader_pin_memory=False)  # fmt: skip
    trainer = CaptionTrainer(model=model, args=args, train_dataset=dataset, eval_dataset=dataset,
                             processing_class=tokenizer)  # fmt: skip
    fit_linear_probe(trainer, dataset, power=0.5, steps=2)
    trainer.train()
    bars = capsys.readouterr().err
    for name in ("linear probe: features", "fine-tuning", "validation"):
        assert f"{name}: 100%" in bars, bars[-2000:]


def test_training_arguments_keep_the_stage_defaults_and_pass_other_options_through(tmp_path):
    words = ["--data_dir", "d", "--output_dir", str(tmp_path), "--activation_checkpointing", "true", "--max_steps", "5"]
    _, _, training_args = train_text.parse_arguments(words)
    assert training_args.activation_checkpointing is True and training_args.max_steps == 5
    assert (training_args.learning_rate, training_args.per_device_train_batch_size) == (2e-4, 8)
    assert training_args.load_best_model_at_end and training_args.metric_for_best_model == "top1"
    with pytest.raises(
        Ego2ExoError, match="unknown option '--activaton_checkpointing' \\(did you mean '--activation_checkpointing'"
    ):
        train_text.parse_arguments([*words[:4], "--activaton_checkpointing", "true"])
    path = tmp_path / "args.yaml"
    path.write_text(f"data_dir: d\noutput_dir: {tmp_path}\nlearning_rat: 0.1\n")
    with pytest.raises(Ego2ExoError, match="unknown key 'learning_rat' \\(did you mean 'learning_rate'"):
        train_text.parse_arguments([str(path)])


def test_help_imports_no_torch():
    """`train_text.py --help` and `train_video.py --help` parse before any heavy import."""
    for script in ("train_text.py", "train_video.py"):
        code = (f"import runpy, sys; sys.argv = [{script!r}, '--help']\n"
                f"try:\n    runpy.run_path({str(REPO / script)!r}, run_name='__main__')\n"
                "except SystemExit:\n    pass\nprint('torch' in sys.modules, 'datasets' in sys.modules)")  # fmt: skip
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert done.stdout.strip().splitlines()[-1] == "False False", done.stderr[-2000:]


def test_eager_attention_is_selectable_and_matches_the_default(tiny_bert):
    import torch

    tokenizer, sdpa = load_text_model(str(tiny_bert))
    assert sdpa.config._attn_implementation == "sdpa"
    _, eager = load_text_model(str(tiny_bert), attn_implementation="eager")
    assert eager.config._attn_implementation == "eager"
    sdpa.load_state_dict(eager.state_dict())
    batch = tokenizer(["a b c d", "e"], padding=True, return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(eager.eval()(**batch).logits, sdpa.eval()(**batch).logits, rtol=1e-4, atol=1e-5)


def test_stratified_heldout_keeps_every_class_in_train():
    labels = [0] * 50 + [1] * 20 + [2] * 3 + [3]
    train, heldout = stratified_heldout(labels, 0.1, seed=0)
    assert sorted(train + heldout) == list(range(len(labels)))
    held = collections.Counter(labels[i] for i in heldout)
    assert held == {0: 5, 1: 2}
    assert {labels[i] for i in train} == {0, 1, 2, 3}


def test_default_model_resolves_to_bundled_copy():
    bundled = bundled_minilm_path()
    assert bundled is not None and (bundled / "model.safetensors").is_file()
    assert resolve_checkpoint(DEFAULT_TEXT_MODEL) == str(bundled)  # tests run with HF_HUB_OFFLINE=1
    with pytest.raises(Ego2ExoError, match="cannot load model 'distilbert-base-uncased'"):
        resolve_checkpoint("distilbert-base-uncased")  # not cached, offline: one line, no bundled fallback
    with pytest.raises(Ego2ExoError, match="model folder ./nowhere/model not found"):
        resolve_checkpoint("./nowhere/model")


def test_ego2exo_train_text_is_the_script(monkeypatch, tmp_path):
    """`ego2exo train-text ...` hands its words to train_text.main, whose parser is the script's own."""
    from ego2exo_hf.cli import main as cli_main

    seen = []
    monkeypatch.setattr(train_text, "main", lambda argv, prog=None: seen.append((argv, prog)))
    words = ["--data_dir", "d", "--source", "ego", "--target", "exo", "--output_dir", str(tmp_path), "--max_steps", "7",
             "--no_balanced_sampling"]  # fmt: skip
    assert cli_main(["train-text", *words]) == 0
    assert seen == [(words, "ego2exo train-text")]
    model_args, data_args, training_args = parse_args(train_text.make_parser(), words)
    assert (data_args.source, training_args.max_steps, training_args.balanced_sampling) == ("ego", 7, False)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_arguments_from_a_file(tmp_path, suffix):
    values = {"data_dir": "d", "source": "ego", "target": "exo", "output_dir": str(tmp_path / "o"),
              "max_length": 64, "balanced_sampling": False, "learning_rate": 3e-5}  # fmt: skip
    path = tmp_path / f"args{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(values))
    else:
        import yaml

        path.write_text(yaml.safe_dump(values))
    model_args, data_args, training_args = parse_args(train_text.make_parser(), [str(path)])
    assert (data_args.source, data_args.target, data_args.max_length) == ("ego", "exo", 64)
    assert training_args.balanced_sampling is False and training_args.learning_rate == 3e-5
    assert model_args.model_name_or_path == DEFAULT_TEXT_MODEL


# --------------------------------------------------------------------------------------------- bad input
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


# ------------------------------------------------------------------------------------------------- slow
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
