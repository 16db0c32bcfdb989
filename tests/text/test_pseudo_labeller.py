"""The pseudo-labeller is one artefact: `ego2exo pseudo-label` from the text stage's folder, or from the Hub repo
pushed from it (a populated Hub cache, HF_HUB_OFFLINE=1), writes exactly what the stage wrote."""

import json

import datasets
import numpy as np
import pytest
from hub_cache_fixture import populate_hub_cache

from ego2exo_hf.cli import main as cli_main
from ego2exo_hf.constants import NUM_CLASSES
from ego2exo_hf.errors import Ego2ExoError
from ego2exo_hf.text.data import stratified_heldout
from ego2exo_hf.text.pooling import DEFAULT_NGRAM_WEIGHT, NGRAM_WEIGHTS
from ego2exo_hf.text.pseudo_labeller import PSEUDO_LABELLER_FILE, CaptionPseudoLabeller, fit_pooling


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


def _edit_config(folder, **values):
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **values}))


def _truncate(file):
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


@pytest.mark.parametrize("damage, message", [
    (lambda f: _truncate(f / "model.safetensors"), "model.safetensors: unreadable weights, truncated"),
    (lambda f: _edit_config(f, intermediate_size=48), "model.safetensors: tensor "
     "bert.encoder.layer.0.intermediate.dense.weight is [64, 32] but the model's configuration makes it [48, 32]"),
    (lambda f: _edit_config(f, num_hidden_layers=3), "model.safetensors: no tensor bert.encoder.layer.2."),
])  # fmt: skip
def test_weights_that_do_not_fit_are_one_line(text_run, tiny_data_dir, tmp_path, capsys, damage, message):
    import re
    import shutil

    folder = shutil.copytree(text_run[0], tmp_path / "text")
    damage(folder)
    out = tmp_path / "labels.txt"
    argv = ["pseudo-label", "--model", str(folder), "--data_dir", str(tiny_data_dir), "--output_file", str(out)]
    with pytest.raises(SystemExit) as exit_:
        cli_main(argv)
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and "\n" not in err and re.search(re.escape(message), err), err
    assert not out.exists()


# ----------------------------------------------------------------------------------------------- pooling
class NoisyTransformer(CaptionPseudoLabeller):
    """A labeller whose transformer knows nothing (random probabilities) and records the captions it scores."""

    def __init__(self):
        super().__init__(None, None, max_length=32, info={"source": "exo"})
        self.scored = []

    def transformer_probabilities(self, captions, desc=""):
        self.scored += list(captions)
        return np.random.default_rng(len(self.scored)).dirichlet(np.ones(NUM_CLASSES), size=len(captions))


class RecordingMetric:
    """The accuracy metric, recording every set of references it is given."""

    def __init__(self):
        from ego2exo_hf.metrics import load_accuracy_metric

        self.metric, self.references = load_accuracy_metric(), []

    def compute(self, predictions, references):
        self.references.append(np.asarray(references).tolist())
        return self.metric.compute(predictions=predictions, references=references)


def _source_captions():
    """Three keysteps told apart by their words; "zebra" only in two held-out captions."""
    phrases = ["cuts the onion", "washes the plate", "stirs the pot"]
    fillers = ["slowly", "quickly", "again", "with care", "twice"]
    labels = np.repeat([0, 1, 2], 20)
    captions = [f"{phrases[y]} {fillers[i % 5]}" for i, y in enumerate(labels)]
    _, heldout = stratified_heldout(labels, 0.2, seed=0)
    for row in heldout[:2]:
        captions[row] += " zebra"
    return captions, labels, heldout


NGRAM_OPTIONS = dict(power=0.5, seed=0, context_weight=0.0, position_weight=0.0)


def test_pooling_is_chosen_on_source_heldout_labels_only():
    captions, labels, heldout = _source_captions()
    transformer, metric = NoisyTransformer(), RecordingMetric()
    labeller, metrics = fit_pooling(transformer, captions, labels, heldout, ngram_options=NGRAM_OPTIONS, metric=metric)
    assert transformer.scored == [captions[row] for row in heldout]  # the transformer scores the held-out slice
    assert metric.references and all(refs == labels[heldout].tolist() for refs in metric.references)
    assert labeller.ngram_weight in NGRAM_WEIGHTS and labeller.ngram_weight > 0  # only the n-grams know the answer
    assert list(metrics) == ["source_heldout_transformer", "source_heldout_ngram", "source_heldout", "combination"]
    assert metrics["source_heldout_ngram"]["top1"] == metrics["source_heldout"]["top1"] == 100.0
    assert metrics["combination"] == {"ngram_weight": labeller.ngram_weight, "ngram_context_weight": 0.0,
                                      "ngram_position_weight": 0.0}  # fmt: skip
    assert "zebra" in labeller.ngram.vectorizer.vocabulary_  # refitted on every source caption, held-out ones too
    assert (labeller.info, labeller.max_length, transformer.ngram) == ({"source": "exo"}, 32, None)


def test_pooling_without_heldout_or_ngrams():
    captions, labels, _ = _source_captions()
    transformer = NoisyTransformer()
    labeller, metrics = fit_pooling(transformer, captions, labels, [], ngram_options=NGRAM_OPTIONS)
    assert labeller.ngram_weight == DEFAULT_NGRAM_WEIGHT and labeller.ngram is not None
    assert list(metrics) == ["combination"] and transformer.scored == []
    labeller, metrics = fit_pooling(NoisyTransformer(), captions, labels, [0, 30], ngram_options=None)
    assert (labeller.ngram, labeller.ngram_weight) == (None, 0.0)
    assert metrics["source_heldout"] == metrics["source_heldout_transformer"] and "source_heldout_ngram" not in metrics
    assert metrics["combination"] == {"ngram_weight": 0.0}
