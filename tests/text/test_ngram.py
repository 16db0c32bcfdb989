"""`ego2exo_hf/text/ngram.py`: the n-gram caption classifier, its caption context, saving without pickle."""

import numpy as np
import pytest

from ego2exo_hf.constants import NUM_CLASSES
from ego2exo_hf.errors import Ego2ExoError
from ego2exo_hf.text.ngram import CaptionContext, NgramCaptionClassifier, fit_ngram


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
