"""Ego2Exo accuracy: top-1, top-5, mean-class and per-class accuracy (in %) from class scores.

Loaded by local path (`evaluate.load(<this file>)`), so it works with no network.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """Top-1, top-5, mean-class (average of per-class recalls over the classes present in the
references) and per-class accuracy, all in percent. `predictions` are per-class scores (logits or
probabilities), one row per example; `references` are integer class ids."""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of per-class score vectors (num_examples x num_classes).
    references: list of integer class ids.
    num_classes: number of classes (default: width of the score vectors).
Returns:
    top1, top5, mean_class (floats, %), per_class (list, % or None for classes absent from references).
Examples:
    >>> metric = evaluate.load("ego2exo_hf/metrics/ego2exo_accuracy")
    >>> metric.compute(predictions=[[0.1, 0.9], [0.8, 0.2]], references=[1, 1])["top1"]
    50.0
"""

_CITATION = """@article{kalluri2024lagtran, title={Tell, Don't Show! Language Guidance Eases Transfer Across
Domains in Images and Videos}, author={Kalluri, Tarun and Majumder, Bodhisattwa and Chandraker, Manmohan},
journal={ICML}, year={2024}}"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Ego2ExoAccuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Sequence(datasets.Value("float32")), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references, num_classes=None):
        scores = np.asarray(predictions, dtype=np.float32)
        labels = np.asarray(references, dtype=np.int64)
        if scores.ndim != 2 or len(scores) != len(labels):
            raise ValueError("predictions must be a (num_examples, num_classes) array matching references")
        num_classes = num_classes or scores.shape[1]
        if len(labels) == 0:
            return {"top1": 0.0, "top5": 0.0, "mean_class": 0.0, "per_class": [None] * num_classes}
        k = min(5, scores.shape[1])
        topk = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top1_hit = scores.argmax(axis=1) == labels
        top5_hit = (topk == labels[:, None]).any(axis=1)
        per_class = []
        for c in range(num_classes):
            mask = labels == c
            per_class.append(float(100.0 * top1_hit[mask].mean()) if mask.any() else None)
        present = [acc for acc in per_class if acc is not None]
        return {
            "top1": float(100.0 * top1_hit.mean()),
            "top5": float(100.0 * top5_hit.mean()),
            "mean_class": float(np.mean(present)),
            "per_class": per_class,
        }
