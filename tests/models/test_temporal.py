"""`ego2exo_hf/models/temporal.py`: masked pooling heads ignore padding, start as the mean, are built by name."""

import pytest
import torch

from ego2exo_hf.errors import Ego2ExoError
from ego2exo_hf.models.temporal import POOLING, AttentionPooling, MeanPooling, build_pooling, masked_mean

DIM = 16


def padded_batch(lengths, length, dim=DIM, seed=0):
    """Random features (B, length, dim) with zeros after each row's `lengths[i]` windows, and their mask."""
    generator = torch.Generator().manual_seed(seed)
    mask = torch.arange(length)[None, :] < torch.tensor(lengths)[:, None]
    features = torch.randn(len(lengths), length, dim, generator=generator) * mask.unsqueeze(-1)
    return features, mask


def trained_head(name):
    """Head `name` in eval mode, its parameters moved off their init (the learned heads start as mean pooling)."""
    torch.manual_seed(0)  # the same head whatever ran before in this worker
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
    generator = torch.Generator().manual_seed(2)
    close = {"atol": 1e-5, "rtol": 1e-5}  # float32 rounding: batch size changes the matmul kernel, not the maths
    with torch.no_grad():
        pooled = head(features, mask)
        noisy = features + 1e6 * torch.randn(features.shape, generator=generator) * ~mask.unsqueeze(-1)
        huge = 1e6 * torch.randn(3, 4, DIM, generator=generator)
        longer = torch.cat([features, huge], 1)  # four more padded windows, huge values
        longer_mask = torch.cat([mask, torch.zeros(3, 4, dtype=torch.bool)], 1)
        assert pooled.shape == (3, head.out_features) == (3, DIM)
        torch.testing.assert_close(head(noisy, mask), pooled, **close)
        torch.testing.assert_close(head(longer, longer_mask), pooled, **close)
        alone = torch.cat([head(features[i : i + 1, :n], mask[i : i + 1, :n]) for i, n in enumerate(lengths)])
        torch.testing.assert_close(alone, pooled, **close)  # a row's result does not depend on others
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
