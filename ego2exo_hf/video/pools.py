"""In-memory rows of the video stage: a `FeaturePool` hands a whole batch to the `DataLoader` in one indexing op."""

import torch
from torch.utils.data import Dataset


class FeaturePool(Dataset):
    """Rows of in-memory tensors; `__getitems__` fetches a whole batch with one indexing op (no per-row work)."""

    def __init__(self, features: torch.Tensor, labels: torch.Tensor):
        self.features, self.labels = features, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitems__(self, indices) -> dict:
        indices = torch.as_tensor(indices, dtype=torch.long)
        return {"features": self.features[indices], "labels": self.labels[indices]}

    def __getitem__(self, index):
        return self.__getitems__([index])

    @classmethod
    def concatenate(cls, pools) -> "FeaturePool":
        return cls(torch.cat([p.features for p in pools]), torch.cat([p.labels for p in pools]))


def whole_batch(batch):
    """`collate_fn` for a `FeaturePool`: its `__getitems__` already returns a collated batch."""
    return batch
