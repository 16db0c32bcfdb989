"""The `frames` splits as padded window sequences in memory, for the temporal heads (`ego2exo_hf.models.temporal`)."""

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import Ego2ExoError, where
from .pools import FeaturePool


class SequencePool(FeaturePool):
    """Segments as window sequences padded to one length: `features` (N, T, D) with zeros after each segment's
    windows, `mask` (N, T) True on real windows, `labels` (N,). `__getitems__` gathers a whole batch by indexing."""

    def __init__(self, features: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor):
        if features.ndim != 3 or mask.shape != features.shape[:2] or labels.shape != features.shape[:1]:
            raise ValueError(
                f"features {tuple(features.shape)}, mask {tuple(mask.shape)} and labels {tuple(labels.shape)} "
                "do not fit: expected (N, T, D), (N, T) and (N,)"
            )
        super().__init__(features, labels)
        self.mask = mask.to(torch.bool)

    @property
    def lengths(self) -> torch.Tensor:
        """The number of real windows of each segment, (N,)."""
        return self.mask.sum(1)

    def __getitems__(self, indices) -> dict:
        indices = torch.as_tensor(indices, dtype=torch.long)
        return {"features": self.features[indices], "mask": self.mask[indices], "labels": self.labels[indices]}

    def pad_to(self, length: int) -> "SequencePool":
        """This pool padded to `length` windows (itself if it has that many already)."""
        extra = length - self.features.shape[1]
        if extra < 0:
            raise ValueError(f"cannot pad {self.features.shape[1]} windows to {length}")
        if extra == 0:
            return self
        return type(self)(F.pad(self.features, (0, 0, 0, extra)), F.pad(self.mask, (0, extra)), self.labels)

    @classmethod
    def concatenate(cls, pools) -> "SequencePool":
        """The rows of `pools` in order, padded to the longest sequence."""
        length = max(pool.features.shape[1] for pool in pools)
        pools = [pool.pad_to(length) for pool in pools]
        return cls(*(torch.cat([getattr(p, name) for p in pools]) for name in ("features", "mask", "labels")))


def kept_windows(lengths: np.ndarray, max_windows: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Which windows each segment keeps: (N, T) window indices and the (N, T) mask of real ones, T the longest kept.

    A segment of L > `max_windows` = M windows keeps M evenly spaced ones, the first and the last included:
    window round(j (L - 1) / (M - 1)) for j = 0 .. M - 1, halves rounded up (M = 1 keeps the first window).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    kept = lengths if max_windows is None else np.minimum(lengths, max_windows)
    position = np.arange(kept.max(initial=0), dtype=np.int64)[None, :]
    index = np.broadcast_to(position, (len(lengths), position.shape[1]))
    if max_windows is not None:
        span = max(max_windows - 1, 1)
        spaced = (2 * position * (lengths[:, None] - 1) + span) // (2 * span)
        index = np.where(lengths[:, None] > max_windows, spaced, position)
    return index, position < kept[:, None]


def sequence_tensors(dataset, split: str, file, feature_dim: int, max_windows: int | None = None) -> SequencePool:
    """A `frames` split as a `SequencePool` (float32 features padded with zeros, int64 labels), its width checked.

    The windows go from Arrow to one padded array without per-row Python work. With `max_windows`, a segment
    with more windows keeps `max_windows` evenly spaced ones, its first and last included (`kept_windows`).
    """
    if len(dataset) == 0:
        raise Ego2ExoError(f"{where(file=file, split=split)}: the split has no segments")
    if "frame_features" not in dataset.column_names:
        raise Ego2ExoError(f"{where(file=file, split=split)}: no frame_features column; load the `frames` config")
    if max_windows is not None and max_windows < 1:
        raise Ego2ExoError(f"max_windows must be at least 1, got {max_windows}")
    table = dataset.with_format("arrow", columns=["frame_features", "label"])[:]
    # Array2D columns are extension arrays over list<list<float>>: one list of windows per segment.
    chunks = [getattr(chunk, "storage", chunk) for chunk in table.column("frame_features").chunks]
    if any(chunk.null_count for chunk in chunks):
        raise Ego2ExoError(f"{where(file=file, split=split)}: some segments have no frame_features")
    widths = np.concatenate([chunk.flatten().value_lengths().to_numpy() for chunk in chunks])
    if (widths != feature_dim).any():
        raise Ego2ExoError(
            f"{where(file=file, split=split)}: frame features are {widths[widths != feature_dim][0]}-d but the model "
            f"expects {feature_dim} (--feature_dim); are these Omnivore frame features?"
        )
    lengths = np.concatenate([chunk.value_lengths().to_numpy() for chunk in chunks])
    if (lengths == 0).any():
        row = int(np.flatnonzero(lengths == 0)[0])
        segment_id = dataset[row]["segment_id"] if "segment_id" in dataset.column_names else None
        raise Ego2ExoError(f"{where(file=file, split=split, segment_id=segment_id)}: the segment has no windows")

    index, mask = kept_windows(lengths, max_windows)
    features = np.zeros((*mask.shape, feature_dim), dtype=np.float32)
    start = 0
    for chunk in chunks:  # one feature file each: gather its kept windows into its rows of the padded array
        rows = slice(start, start + len(chunk))
        values = chunk.flatten().flatten().to_numpy(zero_copy_only=False).reshape(-1, feature_dim)
        offsets = np.cumsum(lengths[rows]) - lengths[rows]
        features[rows][mask[rows]] = values[(offsets[:, None] + index[rows])[mask[rows]]]
        start = rows.stop
    labels = torch.from_numpy(table.column("label").to_numpy().astype(np.int64))
    return SequencePool(torch.from_numpy(features), torch.from_numpy(mask), labels)
