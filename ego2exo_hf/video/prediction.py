"""Keystep predictions of a trained feature classifier, from the same tensors the video stage trains on.

```python
from ego2exo_hf.video.prediction import load_feature_classifier, predict_split

model = load_feature_classifier("runs/demo/exo_ego/lagtran")  # a folder or a Hub repo id
predictions, metrics = predict_split(model, "path/to/data_dir", "ego_val")
```
The same from the shell: `ego2exo predict ...`.
"""

from pathlib import Path

import datasets
import numpy as np
import torch
from torch.utils.data import DataLoader
from transformers import AutoConfig

from ..constants import CLASS_NAMES, NUM_CLASSES
from ..data.builder import load_split
from ..errors import Ego2ExoError, first_line, where
from ..hub import looks_local
from ..metrics import load_accuracy_metric
from ..models import FeatureClassifier, FeatureClassifierConfig
from ..utils import atomic_path
from .data import split_tensors
from .pools import whole_batch
from .sequences import sequence_tensors

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


def load_feature_classifier(model_name_or_path) -> FeatureClassifier:
    """`FeatureClassifier.from_pretrained` of a local folder or a Hub repo id (through the Hub cache), in eval mode."""
    name = str(model_name_or_path)
    if looks_local(name) and not Path(name).expanduser().exists():
        raise Ego2ExoError(f"model folder {name} not found (train one with train_video.py, or pass a Hub repo id)")
    try:
        config = AutoConfig.from_pretrained(name)
    except (OSError, ValueError) as err:
        raise Ego2ExoError(
            f"cannot load model {name!r}: not a model folder, and not a Hub repo id available online or in the "
            f"Hub cache ({first_line(err)})"
        ) from None
    if not isinstance(config, FeatureClassifierConfig):
        raise Ego2ExoError(
            f"{name} is a {config.model_type!r} model, not an Ego2Exo feature classifier "
            "(train one with train_video.py; the text model classifies captions, see train_text.py)"
        )
    try:
        return FeatureClassifier.from_pretrained(name, config=config).eval()
    except OSError as err:
        raise Ego2ExoError(f"model {name} has no readable weights (model.safetensors): {first_line(err)}") from None


@torch.inference_mode()
def predict_features(model: FeatureClassifier, dataset: datasets.Dataset, batch_size=1024, *, split=None, file=None):
    """Logits (N x num_labels, float32 numpy) of one split, batch by batch, from the tensors the video stage trains
    on: its pooled features (`split_tensors`, with the take context when the model was trained with
    `--context_window`), or with a temporal head its padded window sequences (`sequence_tensors`, `frames` split)."""
    config = model.config
    if config.head:
        pool = sequence_tensors(dataset, split, file, config.feature_dim, config.max_windows)
    else:
        pool = split_tensors(dataset, split, file, config.feature_dim, config.context_window)
    batches = DataLoader(pool, batch_size=batch_size, collate_fn=whole_batch)
    return np.concatenate(
        [model(batch["features"], mask=batch.get("mask")).logits.float().numpy() for batch in batches]
    )


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
    if model.config.num_labels != NUM_CLASSES:
        raise Ego2ExoError(f"the model has {model.config.num_labels} classes, Ego2Exo has {NUM_CLASSES}")
    dataset = load_split(data_dir, "frames" if model.config.head else "pooled", split, cache_dir=cache_dir)
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


__all__ = ["load_feature_classifier", "predict_features", "predict_split", "predictions_table", "write_predictions"]
