"""`ego2exo_hf/data/samplers.py`: class-balanced paired batches are deterministic, sharded and resumable."""

import torch

from ego2exo_hf.data.samplers import PairedBatchSampler, ShuffledStream, class_balanced_weights


def test_class_balanced_paired_batches_are_deterministic_and_sharded():
    labels = torch.tensor([0] * 900 + [1] * 90 + [2] * 10)
    weights = class_balanced_weights(labels, 3)
    per_class_mass = torch.stack([weights[labels == c].sum() for c in range(3)])
    assert torch.allclose(per_class_mass, torch.ones(3, dtype=weights.dtype))

    sampler = PairedBatchSampler(labels, 50, batch_size=64, num_iterations=300, seed=1, num_shards=2)
    batches = list(sampler)
    assert len(batches) == 300 and all(len(b) == 128 for b in batches)
    source = torch.cat([b.view(2, 2, 32)[:, 0].flatten() for b in batches])
    target = torch.cat([b.view(2, 2, 32)[:, 1].flatten() for b in batches])
    assert (source < 1000).all() and (target >= 1000).all()  # each shard: its source share, then its target share
    counts = torch.bincount(labels[source], minlength=3).float() / len(source)
    assert torch.allclose(counts, torch.full((3,), 1 / 3), atol=0.03)  # class-balanced despite 90:9:1

    resumed = list(PairedBatchSampler(labels, 50, batch_size=64, num_iterations=300, seed=1, num_shards=2, start=123))
    assert all(torch.equal(a, b) for a, b in zip(batches[123:], resumed))
    stream = ShuffledStream(50, seed=3)
    epochs = torch.cat([stream.batch(i, 64) for i in range(25)]).view(-1, 50)  # 1600 = 32 epochs of 50
    assert all(torch.equal(row.sort().values, torch.arange(50)) for row in epochs)
