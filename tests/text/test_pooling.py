"""`ego2exo_hf/text/pooling.py`: the n-gram weight is chosen on held-out labels; the two models pool log-linearly."""

import numpy as np
import pytest

from ego2exo_hf.constants import NUM_CLASSES
from ego2exo_hf.text.pooling import choose_ngram_weight, combine_probabilities


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
