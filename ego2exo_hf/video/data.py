"""The video stage's data: the splits of one direction as in-memory tensors, batches gathered by indexing."""

from dataclasses import dataclass
from pathlib import Path

import torch

from ..constants import split_name
from ..data.pseudo_labels import align_pseudo_labels, read_pseudo_labels
from ..errors import Ego2ExoError, where
from ..utils import sha256_file
from .context import with_context
from .pools import FeaturePool
from .sequences import sequence_tensors


@dataclass
class VideoData:
    """The four splits of one direction, and where the target training labels came from."""

    source_train: FeaturePool
    target_train: FeaturePool
    source_val: FeaturePool
    target_val: FeaturePool
    target_labels: str


def split_tensors(dataset, split: str, file, feature_dim: int, context_window: int = 0) -> FeaturePool:
    """A `pooled` split as a `FeaturePool` (float32 features, int64 labels), its width checked. With
    `context_window` K the features gain the mean of the K previous and next segments of the take in this split."""
    if len(dataset) == 0:
        raise Ego2ExoError(f"{where(file=file, split=split)}: the split has no segments")
    table = dataset.with_format("torch", columns=["features", "label"])[:]
    features, labels = table["features"].float(), table["label"].long()
    if features.shape[1] != feature_dim:
        raise Ego2ExoError(
            f"{where(file=file, split=split)}: features are {features.shape[1]}-d but the model expects {feature_dim} "
            "(--feature_dim); are these pooled Omnivore features?"
        )
    if context_window:
        features = with_context(features, dataset["take_uid"][:], dataset["segment_index"][:], context_window)
    return FeaturePool(features, labels)


def load_video_data(args, target_labels: str | None) -> VideoData:
    """Load the `pooled` (or with `--config frames` the padded window sequence) splits of `args.source ->
    args.target` into memory. `target_labels`: "pseudo" (read from
    `args.pseudo_labels`, aligned on segment ids), "true" (the split's own labels), "unlabelled" (rows without
    labels) or None (no target rows)."""
    from ..data import load_ego2exo  # building the dataset pulls in the whole data layer

    splits = load_ego2exo(args.data_dir, args.config, cache_dir=args.cache_dir)
    metadata = Path(args.data_dir) / "ego2exo.json"
    pools = {}
    for role, domain in (("source", args.source), ("target", args.target)):
        for part in ("train", "val"):
            name = split_name(domain, part)
            if args.config == "frames":
                pool = sequence_tensors(splits[name], name, metadata, args.feature_dim, args.max_windows)
            else:
                pool = split_tensors(splits[name], name, metadata, args.feature_dim, args.context_window)
            pools[f"{role}_{part}"] = pool
    if target_labels == "pseudo":
        path, target_split = Path(args.pseudo_labels), split_name(args.target, "train")
        labels = align_pseudo_labels(
            read_pseudo_labels(path), splits[target_split]["segment_id"], path=path, split=target_split
        )
        pools["target_train"].labels = torch.tensor(labels, dtype=torch.long)
        provenance = f"pseudo-labels from {path.name} (sha256 {sha256_file(path)[:12]}, {len(labels)} segments)"
    elif target_labels == "true":
        provenance = "true target labels (upper bound, not domain adaptation)"
    elif target_labels == "unlabelled":
        pools["target_train"].labels = torch.full_like(pools["target_train"].labels, -100)  # never read
        provenance = "none (unlabelled target rows)"
    else:
        provenance = "none (source only)"
    return VideoData(**pools, target_labels=provenance)
