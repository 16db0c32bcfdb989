"""`ego2exo_hf/video/sequences.py`: `frames` splits become padded `SequencePool`s of evenly kept windows."""

import datasets
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from ego2exo_hf.constants import FEATURE_DIM
from ego2exo_hf.data import load_ego2exo
from ego2exo_hf.errors import Ego2ExoError
from ego2exo_hf.models.temporal import MeanPooling
from ego2exo_hf.video.pools import whole_batch
from ego2exo_hf.video.sequences import SequencePool, kept_windows, sequence_tensors


def small_pool(lengths, first_label=0):
    """A `SequencePool` whose window t of row i holds (i, t, 1), zeros after each row's `lengths[i]` windows."""
    mask = torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]
    rows, windows = torch.meshgrid(torch.arange(len(lengths)), torch.arange(max(lengths)), indexing="ij")
    features = torch.stack([rows, windows, torch.ones_like(rows)], dim=-1).float()
    labels = torch.arange(first_label, first_label + len(lengths))
    return SequencePool(features * mask.unsqueeze(-1), mask, labels)


def test_sequence_pool():
    pool = small_pool([2, 4, 1])
    assert len(pool) == 3 and pool.features.shape == (3, 4, 3) and pool.lengths.tolist() == [2, 4, 1]
    batch = pool.__getitems__([2, 0])
    assert set(batch) == {"features", "mask", "labels"}
    assert batch["features"].shape == (2, 4, 3) and batch["mask"].shape == (2, 4) and batch["labels"].tolist() == [2, 0]
    assert batch["mask"].tolist() == [[True, False, False, False], [True, True, False, False]]
    assert torch.equal(batch["features"][1, :2], torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0]]))
    assert torch.equal(batch["features"][1, 2:], torch.zeros(2, 3))  # padding is zeros
    assert torch.equal(pool[1]["features"], pool.features[1:2])
    loaded = next(iter(DataLoader(pool, batch_size=3, collate_fn=whole_batch)))
    assert torch.equal(loaded["features"], pool.features) and torch.equal(loaded["mask"], pool.mask)

    joined = SequencePool.concatenate([small_pool([1, 2], first_label=10), pool])
    assert joined.features.shape == (5, 4, 3) and joined.labels.tolist() == [10, 11, 0, 1, 2]
    assert joined.lengths.tolist() == [1, 2, 2, 4, 1]
    assert torch.equal(joined.features[:2, 2:], torch.zeros(2, 2, 3)) and not joined.mask[:2, 2:].any()
    assert torch.equal(joined.features[2:], pool.features) and torch.equal(joined.mask[2:], pool.mask)
    with pytest.raises(ValueError, match="do not fit"):
        SequencePool(pool.features, pool.mask[:, :2], pool.labels)


def test_kept_windows_are_evenly_spaced_with_first_and_last():
    index, mask = kept_windows(np.array([21, 10, 3, 6]), max_windows=5)
    assert mask.sum(1).tolist() == [5, 5, 3, 5]
    assert index[0].tolist() == [0, 5, 10, 15, 20]
    assert index[1].tolist() == [0, 2, 5, 7, 9]  # 0, 2.25, 4.5, 6.75, 9 rounded, halves up
    assert index[2, :3].tolist() == [0, 1, 2]  # short segments keep all their windows
    assert index[3].tolist() == [0, 1, 3, 4, 5]  # 0, 1.25, 2.5, 3.75, 5
    assert kept_windows(np.array([7, 2]), max_windows=1)[0][:, 0].tolist() == [0, 0]
    index, mask = kept_windows(np.array([4, 2]), max_windows=None)
    assert index.tolist() == [[0, 1, 2, 3]] * 2 and mask.sum(1).tolist() == [4, 2]


@pytest.fixture(scope="module")
def frames(tiny_data_dir):
    return load_ego2exo(tiny_data_dir, "frames")


def test_sequence_tensors_match_frames_and_pooled(frames, tiny_data_dir):
    split = frames["exo_train"]
    pool = sequence_tensors(split, "exo_train", "ego2exo.json", FEATURE_DIM)
    rows = split.with_format("numpy", columns=["frame_features", "label", "feature_indices"])
    assert len(pool) == len(split) and pool.features.dtype == torch.float32 and pool.labels.dtype == torch.int64
    assert pool.labels.tolist() == split["label"][:]
    assert pool.lengths.tolist() == [len(row["feature_indices"]) for row in rows]
    assert pool.features.shape[1] == max(pool.lengths.tolist()) > min(pool.lengths.tolist())  # padding happened
    for i, row in enumerate(rows):
        n = len(row["frame_features"])
        assert np.array_equal(pool.features[i, :n].numpy(), row["frame_features"])
        assert not pool.features[i, n:].any() and not pool.mask[i, n:].any()

    pooled = load_ego2exo(tiny_data_dir, "pooled")["exo_train"]
    assert pooled["segment_id"][:] == split["segment_id"][:]
    expected = pooled.with_format("torch", columns=["features"])[:]["features"]
    torch.testing.assert_close(MeanPooling(FEATURE_DIM)(pool.features, pool.mask), expected, atol=1e-5, rtol=0)

    picked = sequence_tensors(split.select([5, 2, 7]), "exo_train", "ego2exo.json", FEATURE_DIM)
    assert torch.equal(picked.labels, pool.labels[[5, 2, 7]]) and torch.equal(picked.lengths, pool.lengths[[5, 2, 7]])
    length = picked.features.shape[1]
    assert torch.equal(picked.features, pool.features[[5, 2, 7], :length])


def test_sequence_tensors_max_windows(frames):
    split = frames["ego_val"]
    full = sequence_tensors(split, "ego_val", "ego2exo.json", FEATURE_DIM)
    short = sequence_tensors(split, "ego_val", "ego2exo.json", FEATURE_DIM, max_windows=4)
    assert short.features.shape[1] == 4 and short.lengths.tolist() == full.lengths.clamp_max(4).tolist()
    assert (full.lengths > 4).any()
    for i, n in enumerate(full.lengths.tolist()):
        expected = np.floor(np.linspace(0, n - 1, 4) + 0.5).astype(int) if n > 4 else np.arange(n)
        assert torch.equal(short.features[i, : len(expected)], full.features[i, expected])


def array_split(windows, width):
    """A hand-made `frames`-like split: one segment per entry of `windows`, window t filled with t."""
    rows = [np.arange(n, dtype=np.float32)[:, None].repeat(width, 1) for n in windows]
    features = datasets.Features(
        {"frame_features": datasets.Array2D((None, width), "float32"), "label": datasets.Value("int64")}
    )
    return datasets.Dataset.from_dict({"frame_features": rows, "label": [0] * len(rows)}, features=features)


def test_sequence_tensors_subsampling_keeps_first_and_last():
    pool = sequence_tensors(array_split([21, 3, 10], 2), "exo_val", "x.json", 2, max_windows=5)
    assert pool.features[:, :, 0].tolist() == [[0, 5, 10, 15, 20], [0, 1, 2, 0, 0], [0, 2, 5, 7, 9]]
    assert pool.mask.sum(1).tolist() == [5, 3, 5]


def test_sequence_tensors_errors(frames):
    with pytest.raises(Ego2ExoError, match=r"file=meta.json, split=exo_val: frame features are 1536-d.*768") as err:
        sequence_tensors(frames["exo_val"], "exo_val", "meta.json", 768)
    assert "\n" not in str(err.value)
    with pytest.raises(Ego2ExoError, match="file=meta.json, split=ego_val: the split has no segments"):
        sequence_tensors(frames["ego_val"].select([]), "ego_val", "meta.json", FEATURE_DIM)
    with pytest.raises(Ego2ExoError, match="split=ego_val: no frame_features column"):
        sequence_tensors(frames["ego_val"].remove_columns("frame_features"), "ego_val", "meta.json", FEATURE_DIM)
    with pytest.raises(Ego2ExoError, match="split=s: frame features are 2-d"):
        sequence_tensors(array_split([3, 2], 2), "s", "f", 3)
    with pytest.raises(Ego2ExoError, match="split=s: the segment has no windows"):
        sequence_tensors(array_split([3, 0], 2), "s", "f", 2)
