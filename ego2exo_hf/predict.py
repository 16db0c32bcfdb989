"""Keystep predictions of a trained feature classifier, and the accuracy of a pseudo-label file.

```python
from ego2exo_hf.predict import evaluate_pseudo_labels, load_feature_classifier, predict_split

model = load_feature_classifier("runs/demo/exo_ego/lagtran")  # a folder or a Hub repo id
predictions, metrics = predict_split(model, "path/to/data_dir", "ego_val")
report = evaluate_pseudo_labels("pseudo_labels/ego2exo_exo_ego.txt", "path/to/data_dir", "ego_train")
```
The same from the shell: `ego2exo predict ...` and `ego2exo evaluate-pseudo-labels ...`.
"""

from pathlib import Path

import datasets
import numpy as np
import torch
from transformers import AutoConfig

from .constants import CLASS_NAMES, NUM_CLASSES, SPLITS
from .data.builder import load_ego2exo
from .data.pseudo_labels import read_pseudo_labels
from .errors import Ego2ExoError, where
from .metrics import compute_accuracy, load_accuracy_metric
from .models import FeatureClassifier, FeatureClassifierConfig
from .utils import atomic_path

TOP_K = 5
PREDICTION_FEATURES = datasets.Features(
    {
        "segment_id": datasets.Value("int64"),
        "take_uid": datasets.Value("string"),
        "prediction": datasets.ClassLabel(names=CLASS_NAMES),
        "prediction_name": datasets.Value("string"),
        "confidence": datasets.Value("float32"),
        "top5_ids": datasets.List(datasets.Value("int32"), length=TOP_K),
        "top5_names": datasets.List(datasets.Value("string"), length=TOP_K),
        "label": datasets.ClassLabel(names=CLASS_NAMES),
    }
)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise Ego2ExoError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")


def load_feature_classifier(model_name_or_path) -> FeatureClassifier:
    """`FeatureClassifier.from_pretrained` of a local folder or a Hub repo id (through the Hub cache), in eval mode."""
    name = str(model_name_or_path)
    looks_local = Path(name).is_absolute() or name.startswith((".", "~")) or name.count("/") > 1
    if looks_local and not Path(name).expanduser().exists():
        raise Ego2ExoError(f"model folder {name} not found (train one with train_video.py, or pass a Hub repo id)")
    try:
        config = AutoConfig.from_pretrained(name)
    except (OSError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise Ego2ExoError(
            f"cannot load model {name!r}: not a model folder, and not a Hub repo id available online or in the "
            f"Hub cache ({reason})"
        ) from None
    if not isinstance(config, FeatureClassifierConfig):
        raise Ego2ExoError(
            f"{name} is a {config.model_type!r} model, not an Ego2Exo feature classifier "
            "(train one with train_video.py; the text model classifies captions, see train_text.py)"
        )
    try:
        return FeatureClassifier.from_pretrained(name, config=config).eval()
    except OSError as err:
        reason = str(err).strip().splitlines()[0]
        raise Ego2ExoError(f"model {name} has no readable weights (model.safetensors): {reason}") from None


@torch.inference_mode()
def predict_features(model: FeatureClassifier, dataset: datasets.Dataset, batch_size=1024, *, split=None, file=None):
    """Logits (N x num_labels, float32 numpy) of one split, batch by batch: its pooled `features` (with the take
    context of this split when the model was trained with `--context_window`), or with a temporal head
    (`--config frames`) its padded window sequences (a `frames` split)."""
    config = model.config
    if config.head:
        from torch.utils.data import DataLoader

        from .video.data import whole_batch
        from .video.sequences import sequence_tensors

        pool = sequence_tensors(dataset, split, file, config.feature_dim, config.max_windows)
        batches = DataLoader(pool, batch_size=batch_size, collate_fn=whole_batch)
    elif config.context_window:
        from .video.context import with_context

        features = dataset.with_format("torch", columns=["features"])["features"][:].float()
        features = with_context(features, dataset["take_uid"][:], dataset["segment_index"][:], config.context_window)
        batches = ({"features": chunk} for chunk in features.split(batch_size))
    else:
        batches = dataset.with_format("torch", columns=["features"]).iter(batch_size=batch_size)
    logits = [model(batch["features"].float(), mask=batch.get("mask")).logits.float().numpy() for batch in batches]
    return np.concatenate(logits) if logits else np.zeros((0, model.config.num_labels), dtype=np.float32)


def predictions_table(dataset: datasets.Dataset, logits: np.ndarray) -> datasets.Dataset:
    """Per segment: predicted id and name, softmax confidence, the top-5 ids and names, and the true label."""
    probs = torch.from_numpy(logits).softmax(-1)
    top_probs, top_ids = probs.topk(min(TOP_K, probs.shape[-1]), dim=-1)
    top_ids = top_ids.tolist()
    return datasets.Dataset.from_dict(
        {
            "segment_id": dataset["segment_id"][:],
            "take_uid": dataset["take_uid"][:],
            "prediction": [ids[0] for ids in top_ids],
            "prediction_name": [CLASS_NAMES[ids[0]] for ids in top_ids],
            "confidence": top_probs[:, 0].tolist(),
            "top5_ids": top_ids,
            "top5_names": [[CLASS_NAMES[i] for i in ids] for ids in top_ids],
            "label": dataset["label"][:],
        },
        features=PREDICTION_FEATURES,
    )


def predict_split(
    model: FeatureClassifier, data_dir, split: str, *, cache_dir=None, batch_size: int = 1024
) -> tuple[datasets.Dataset, dict | None]:
    """Predict every segment of `split` (the `pooled` config of `data_dir`; `frames` for a temporal-head model).

    Returns the predictions table (see `predictions_table`) and the accuracy metrics (top1, top5,
    mean_class, per_class in %) of the labelled segments, or None when the split has no labels.
    """
    _check_split(split)
    if model.config.num_labels != NUM_CLASSES:
        raise Ego2ExoError(f"the model has {model.config.num_labels} classes, Ego2Exo has {NUM_CLASSES}")
    dataset = load_ego2exo(data_dir, "frames" if model.config.head else "pooled", cache_dir=cache_dir)[split]
    if not model.config.head and dataset.features["features"].length != model.config.feature_dim:
        raise Ego2ExoError(
            f"{where(file=data_dir, split=split)}: features are {dataset.features['features'].length}-d but the "
            f"model expects {model.config.feature_dim}-d inputs; was it trained on other features?"
        )
    logits = predict_features(model, dataset, batch_size, split=split, file=data_dir)
    table = predictions_table(dataset, logits)
    labels = np.asarray(table["label"][:], dtype=np.int64)
    labelled = labels >= 0
    metrics = None
    if labelled.any():
        metric = load_accuracy_metric()
        metric.add_batch(predictions=logits[labelled], references=labels[labelled])
        metrics = metric.compute(num_classes=NUM_CLASSES)
    return table, metrics


def write_predictions(table: datasets.Dataset, path) -> Path:
    """Write the predictions table as one Parquet file, atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        table.to_parquet(str(tmp))
    return path


def evaluate_pseudo_labels(pseudo_labels, data_dir, split: str, *, cache_dir=None) -> dict:
    """Accuracy of an official-format pseudo-label file against the true labels of `split`.

    The file may leave segments out (e.g. a confidence threshold): accuracies are over the segments it
    labels, and `coverage` says how many of the split's segments that is. An id that is not in the split
    is an error (wrong split or direction).
    """
    _check_split(split)
    pseudo = read_pseudo_labels(pseudo_labels)
    dataset = load_ego2exo(data_dir, "text", cache_dir=cache_dir)[split]
    ids, labels = dataset["segment_id"][:], dataset["label"][:]
    known = set(ids)
    unknown = sorted(set(pseudo) - known)
    if unknown:
        raise Ego2ExoError(
            f"{where(file=pseudo_labels, split=split, segment_id=unknown[0])}: pseudo-label for a segment not in "
            f"the split ({len(unknown)} unknown ids); is the file for this split and direction?"
        )
    if not pseudo:
        raise Ego2ExoError(f"{where(file=pseudo_labels, split=split)}: the file has no pseudo-labels")
    covered = [(pseudo[sid], label) for sid, label in zip(ids, labels) if sid in pseudo]
    predicted, truth = (np.asarray(column, dtype=np.int64) for column in zip(*covered))
    accuracy = compute_accuracy(np.eye(NUM_CLASSES, dtype=np.float32)[predicted], truth, num_classes=NUM_CLASSES)
    return {
        "file": str(pseudo_labels),
        "split": split,
        "num_segments": len(ids),
        "num_pseudo_labels": len(covered),
        "coverage": 100.0 * len(covered) / len(ids),
        "top1": accuracy["top1"],
        "mean_class": accuracy["mean_class"],
        "per_class": dict(zip(CLASS_NAMES, accuracy["per_class"])),
        "class_counts": dict(zip(CLASS_NAMES, np.bincount(truth, minlength=NUM_CLASSES).tolist())),
    }


def split_from_file_name(path) -> str:
    """`ego2exo_<source>_<target>.txt` (the official name) -> `<target>_train`, or a one-line error."""
    parts = Path(path).stem.split("_")
    if len(parts) == 3 and parts[0] == "ego2exo" and parts[2] in ("ego", "exo") and parts[1] != parts[2]:
        return f"{parts[2]}_train"
    raise Ego2ExoError(f"{path}: give --split (the name is not ego2exo_<source>_<target>.txt, which names the split)")


__all__ = [
    "evaluate_pseudo_labels", "load_feature_classifier",
    "predict_features", "predict_split", "predictions_table", "split_from_file_name",
    "write_predictions",
]  # fmt: skip
