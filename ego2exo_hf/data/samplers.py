"""Class-balanced and paired-domain sampling, shared by the text and the video stage.

Batches are drawn from a `torch.Generator` seeded by `(seed, batch number)`: batch `i` is a pure function
of its inputs, so a resumed run draws exactly the batches an uninterrupted run would, with no sampler
state to checkpoint.
"""

import numpy as np
import torch

from ..constants import NUM_CLASSES


def class_balanced_weights(labels, num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """Per-example weights `1 / count(label)`: sampling with them makes every present class equally likely.

    Works with `torch.utils.data.WeightedRandomSampler` and `torch.multinomial`.
    """
    labels = torch.as_tensor(labels, dtype=torch.long)
    counts = torch.bincount(labels, minlength=num_classes).double()
    return 1.0 / counts[labels]


def generator_for(seed: int, step: int, stream: int = 0) -> torch.Generator:
    """A CPU generator whose state depends only on `(seed, stream, step)`."""
    state = np.random.SeedSequence([int(seed), int(stream), int(step)]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


class ShuffledStream:
    """The endless sequence `perm_0 ++ perm_1 ++ ...` of random permutations of `range(n)` (one per epoch).

    `batch(i, size)` returns elements `[i * size, (i + 1) * size)`: shuffled epochs without replacement,
    like `DataLoader(shuffle=True)`, but addressable by batch number.
    """

    def __init__(self, n: int, seed: int, stream: int = 1):
        if n <= 0:
            raise ValueError("cannot sample from an empty split")
        self.n, self.seed, self.stream = n, seed, stream
        self._cache: dict[int, torch.Tensor] = {}

    def _epoch(self, epoch: int) -> torch.Tensor:
        if epoch not in self._cache:
            if len(self._cache) > 4:
                self._cache.clear()
            self._cache[epoch] = torch.randperm(self.n, generator=generator_for(self.seed, epoch, stream=self.stream))
        return self._cache[epoch]

    def batch(self, index: int, size: int) -> torch.Tensor:
        start, stop = index * size, (index + 1) * size
        first, last = start // self.n, (stop - 1) // self.n
        stream = torch.cat([self._epoch(e) for e in range(first, last + 1)])
        offset = start - first * self.n
        return stream[offset : offset + size]


class PairedBatchSampler:
    """Index batches for domain-adaptation training: `batch_size` source examples, class-balanced (drawn with
    weights 1 / class count) or, with `class_balanced=False`, in shuffled epochs, plus `batch_size` target
    examples (shuffled epochs) per iteration, over a pool `[source rows; target rows]`.

    Each global batch is laid out in `num_shards` contiguous blocks, each holding its share of source then
    target rows, so that `accelerate`'s `split_batches=True` gives every process `batch_size / num_shards`
    examples of each domain (the global batch stays 64 + 64 whatever the number of processes).
    Yields `torch.long` tensors; iteration starts at `start` (for resuming).
    """

    def __init__(
        self,
        source_labels,
        num_target: int,
        *,
        batch_size: int,
        num_iterations: int,
        seed: int,
        start: int = 0,
        num_shards: int = 1,
        num_classes: int = NUM_CLASSES,
        class_balanced: bool = True,
    ):
        if batch_size % num_shards:
            raise ValueError(f"batch_size {batch_size} is not divisible by the {num_shards} processes")
        self.source_weights = class_balanced_weights(source_labels, num_classes)
        self.num_source, self.num_target = len(self.source_weights), num_target
        self.per_domain, self.num_shards = batch_size, num_shards
        self.batch_size = batch_size * (2 if num_target else 1)  # read by accelerate's BatchSamplerShard
        self.num_iterations, self.seed, self.start = num_iterations, seed, start
        self.target_stream = ShuffledStream(num_target, seed) if num_target else None
        self.source_stream = None if class_balanced else ShuffledStream(self.num_source, seed, stream=2)

    def __len__(self) -> int:
        return max(self.num_iterations - self.start, 0)

    def batch(self, iteration: int) -> torch.Tensor:
        """The pool indices of one iteration's global batch."""
        gen = generator_for(self.seed, iteration)
        if self.source_stream is None:
            source = torch.multinomial(self.source_weights, self.per_domain, replacement=True, generator=gen)
        else:
            source = self.source_stream.batch(iteration, self.per_domain)
        blocks = [source.view(self.num_shards, -1)]
        if self.target_stream is not None:
            target = self.target_stream.batch(iteration, self.per_domain) + self.num_source
            blocks.append(target.view(self.num_shards, -1))
        return torch.cat(blocks, dim=1).flatten()

    def __iter__(self):
        for iteration in range(self.start, self.num_iterations):
            yield self.batch(iteration)
