"""The project's `evaluate` metric, shared by the text and the video stage, loaded by local path."""

from pathlib import Path

METRIC_PATH = Path(__file__).parent / "ego2exo_accuracy" / "ego2exo_accuracy.py"


def load_accuracy_metric(**kwargs):
    """`evaluate.load` of the bundled Ego2Exo accuracy module (no network needed)."""
    import evaluate

    return evaluate.load(str(METRIC_PATH), **kwargs)


def compute_accuracy(scores, labels, num_classes=None) -> dict:
    """Top-1 / top-5 / mean-class / per-class accuracy (%) of class `scores` against integer `labels`."""
    return load_accuracy_metric().compute(predictions=scores, references=labels, num_classes=num_classes)
