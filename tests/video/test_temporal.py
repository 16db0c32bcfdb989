"""Temporal heads and window sequences: masked pooling ignores padding; `frames` splits become padded pools."""

import datasets
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from ego2exo_hf.constants import FEATURE_DIM
from ego2exo_hf.data import load_ego2exo
from ego2exo_hf.errors import Ego2ExoError
from ego2exo_hf.models.temporal import POOLING, AttentionPooling, MeanPooling, build_pooling, masked_mean
from ego2exo_hf.video.pools import whole_batch
from ego2exo_hf.video.sequences import SequencePool, kept_windows, sequence_tensors

DIM = 16


def padded_batch(lengths, length, dim=DIM, seed=0):
    """Random features (B, length, dim) with zeros after each row's `lengths[i]` windows, and their mask."""
    generator = torch.Generator().manual_seed(seed)
    mask = torch.arange(length)[None, :] < torch.tensor(lengths)[:, None]
    features = torch.randn(len(lengths), length, dim, generator=generator) * mask.unsqueeze(-1)
    return features, mask


def trained_head(name):
    """Head `name` in eval mode, its parameters moved off their init (the learned heads start as mean pooling)."""
    head = build_pooling(name, DIM).eval()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in head.parameters():
            parameter.add_(0.3 * torch.randn(parameter.shape, generator=generator))
    return head


def test_masked_mean_by_hand():
    features = torch.tensor([[[1.0, 2.0], [3.0, 6.0], [50.0, 50.0]], [[4.0, -4.0], [9.0, 9.0], [9.0, 9.0]]])
    mask = torch.tensor([[True, True, False], [True, False, False]])
    expected = torch.tensor([[2.0, 4.0], [4.0, -4.0]])
    assert torch.equal(masked_mean(features, mask), expected)
    assert torch.equal(MeanPooling(2)(features, mask), expected)
    assert torch.equal(masked_mean(features, torch.zeros_like(mask)), torch.zeros(2, 2))  # no window: zeros


def test_full_mask_mean_pooling_is_the_mean():
    features = torch.randn(4, 7, DIM)
    head = MeanPooling(DIM)
    torch.testing.assert_close(head(features, torch.ones(4, 7, dtype=torch.bool)), features.mean(1))
    torch.testing.assert_close(head(features), features.mean(1))


@pytest.mark.parametrize("name", list(POOLING))
def test_heads_ignore_padding(name):
    head = trained_head(name)
    lengths = [6, 3, 1]
    features, mask = padded_batch(lengths, 6)
    with torch.no_grad():
        pooled = head(features, mask)
        noisy = features + 1e6 * torch.randn(features.shape) * ~mask.unsqueeze(-1)
        longer = torch.cat([features, 1e6 * torch.randn(3, 4, DIM)], 1)  # four more padded windows, huge values
        longer_mask = torch.cat([mask, torch.zeros(3, 4, dtype=torch.bool)], 1)
        assert pooled.shape == (3, head.out_features) == (3, DIM)
        torch.testing.assert_close(head(noisy, mask), pooled, atol=1e-5, rtol=0)
        torch.testing.assert_close(head(longer, longer_mask), pooled, atol=1e-5, rtol=0)
        alone = torch.cat([head(features[i : i + 1, :n], mask[i : i + 1, :n]) for i, n in enumerate(lengths)])
        torch.testing.assert_close(alone, pooled, atol=1e-5, rtol=0)  # a row's result does not depend on others
    if name != "mean":
        assert not torch.allclose(pooled, masked_mean(features, mask), atol=1e-3)  # it does learn something


@pytest.mark.parametrize("name", list(POOLING))
def test_padding_gets_no_gradient(name):
    head = trained_head(name).train()
    features, mask = padded_batch([5, 2], 5)
    features.requires_grad_(True)
    head(features, mask).square().sum().backward()
    assert torch.isfinite(features.grad).all() and features.grad[mask].abs().sum() > 0
    assert torch.equal(features.grad[~mask], torch.zeros_like(features.grad[~mask]))
    assert all(torch.isfinite(p.grad).all() for p in head.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", ["attention", "transformer"])
def test_learned_heads_start_as_mean_pooling(name):
    features, mask = padded_batch([4, 2], 4)
    with torch.no_grad():
        torch.testing.assert_close(build_pooling(name, DIM).eval()(features, mask), masked_mean(features, mask))


def test_attention_weights_are_zero_on_padding_and_sum_to_one():
    head = trained_head("attention")
    assert isinstance(head, AttentionPooling)
    features, mask = padded_batch([5, 3, 1], 5)
    with torch.no_grad():
        weights = head.weights(features, mask)
        pooled = head(features, mask)
    assert torch.equal(weights[~mask], torch.zeros_like(weights[~mask]))
    torch.testing.assert_close(weights.sum(1), torch.ones(3))
    assert weights[0].std() > 1e-3  # not uniform once trained
    torch.testing.assert_close(pooled, (weights.unsqueeze(-1) * features).sum(1))


def test_build_pooling():
    for name, cls in POOLING.items():
        head = build_pooling(name, DIM)
        assert type(head) is cls and head.out_features == head.in_features == DIM
    assert build_pooling("transformer", DIM, num_layers=2).encoder.num_layers == 2
    with pytest.raises(Ego2ExoError, match="unknown temporal pooling 'max'"):
        build_pooling("max", DIM)
    with pytest.raises(ValueError, match="expected"):
        MeanPooling(DIM)(torch.randn(2, 3, DIM + 1))


def small_pool(lengths, dim=3, first_label=0):
    """A `SequencePool` whose window t of row i holds (i, t, 1) in its first three columns."""
    features, mask = padded_batch(lengths, max(lengths), dim)
    rows, windows = torch.meshgrid(torch.arange(len(lengths)), torch.arange(max(lengths)), indexing="ij")
    features[..., 0], features[..., 1], features[..., 2] = rows, windows, 1.0
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


@pytest.mark.parametrize("head", ["mean", "attention", "transformer"])
def test_training_and_prediction_with_a_head(head, make_args, tiny_data_dir):
    from ego2exo_hf.models import FeatureClassifier
    from ego2exo_hf.video.prediction import predict_split
    from train_video import main as train_video

    args = make_args(f"head-{head}", method="lagtran", num_iterations=30, val_every=15, config="frames", head=head,
                     max_windows=6)  # fmt: skip
    metrics = train_video(args)
    model = FeatureClassifier.from_pretrained(args.output_dir).eval()
    assert (model.config.head, model.config.max_windows) == (head, 6)
    assert isinstance(model.pooling, POOLING[head])
    if head != "mean":  # the learned head moved off its mean-pooling start
        assert any(p.abs().sum() > 0 for p in model.pooling.parameters() if p.ndim == 2 and p.shape[0] in (1, 1536))
    table, predicted = predict_split(model, tiny_data_dir, "ego_val", batch_size=7)
    assert predicted["top1"] == metrics["target_val"]["top1"]
    assert len(table) == len(load_ego2exo(tiny_data_dir, "pooled")["ego_val"])


def test_frames_mean_head_equals_pooled_input(tiny_data_dir):
    """`--config frames --head mean` is the paper's pooled input: the same logits for the same weights."""
    from ego2exo_hf.models import FeatureClassifier, FeatureClassifierConfig

    pooled_model = FeatureClassifier(FeatureClassifierConfig()).eval()
    frames_model = FeatureClassifier(FeatureClassifierConfig(head="mean")).eval()
    frames_model.load_state_dict(pooled_model.state_dict())
    pool = sequence_tensors(load_ego2exo(tiny_data_dir, "frames")["ego_val"], "ego_val", "f", FEATURE_DIM)
    pooled = load_ego2exo(tiny_data_dir, "pooled")["ego_val"].with_format("torch", columns=["features"])[:]
    with torch.no_grad():
        expected = pooled_model(pooled["features"]).logits
        torch.testing.assert_close(frames_model(pool.features, mask=pool.mask).logits, expected, atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match=r"this model takes \(batch, windows, features\)"):
        frames_model(pooled["features"])
    with pytest.raises(ValueError, match=r"this model takes \(batch, features\)"):
        pooled_model(pool.features)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(head="attention"), "--head and --max_windows apply to --config frames"),
        (dict(max_windows=4), "--head and --max_windows apply to --config frames"),
        (dict(config="frames", context_window=1), "--context_window applies to --config pooled"),
        (dict(config="frames", max_windows=0), "--max_windows must be at least 1"),
        (dict(config="frames", head="lstm"), "head"),
    ],
)
def test_head_arguments_are_checked(overrides, message, make_args):
    with pytest.raises(Ego2ExoError, match=message):
        make_args("bad-head", **overrides)
