"""Log-linear pooling of the transformer's and the n-gram model's class probabilities, and the choice of its weight.

Final probabilities are proportional to `transformer ** (1 - w) * ngram ** w`: a weighted geometric mean, whose
exponent `1 - w` tempers the over-confident fine-tuned transformer (docs/text_stage.md, BENCHMARKS.md).
"""

import numpy as np
from scipy.special import softmax

NGRAM_WEIGHTS = (0.0, 0.25, 0.5, 0.75)
DEFAULT_NGRAM_WEIGHT = 0.5  # used when nothing is held out
PROBABILITY_FLOOR = 1e-30  # log(0) guard: classes the n-gram model never saw keep a vanishing probability


def combine_probabilities(transformer: np.ndarray, ngram: np.ndarray | None, ngram_weight: float) -> np.ndarray:
    """Probabilities proportional to `transformer ** (1 - w) * ngram ** w` (the transformer alone without n-grams)."""
    if ngram is None or ngram_weight == 0:
        return transformer
    logits = (1 - ngram_weight) * np.log(np.maximum(transformer, PROBABILITY_FLOOR))
    logits += ngram_weight * np.log(np.maximum(ngram, PROBABILITY_FLOOR))
    return softmax(logits, axis=1)


def choose_ngram_weight(transformer: np.ndarray, ngram: np.ndarray, labels, metric) -> dict:
    """The weight in `NGRAM_WEIGHTS` maximising held-out (top-1 + mean-class) / 2, the least n-gram on ties.
    Only source labels are involved."""
    best = None
    for weight in NGRAM_WEIGHTS:
        scores = metric.compute(predictions=combine_probabilities(transformer, ngram, weight), references=labels)
        score = (scores["top1"] + scores["mean_class"]) / 2
        if best is None or score > best["heldout_score"] + 1e-9:
            best = {"ngram_weight": weight, "heldout_score": score}
    return best
