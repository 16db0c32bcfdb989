"""Take-level context within one view: each segment also sees the pooled features of its neighbours.

`--context_window K`: the K previous and K next segments of the same take, ordered by `segment_index`, among the
rows of the *same split* only. Never across views: ego and exo train segments interleave within the same takes,
so a neighbour from the other view's split would carry that view's (source) labels into the target's context.
The rule holds by construction: the neighbour index is built from one split's columns and points into that split.
"""

from collections import defaultdict

import torch


def neighbour_index(take_uids, segment_indices, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`(index, mask)` of shape (N, 2 * window): for each row, the rows of the K previous then K next segments of
    its take in this split (by `segment_index`); `mask` is False where the take has no such neighbour."""
    rows_of_take = defaultdict(list)
    for row, take in enumerate(take_uids):
        rows_of_take[take].append(row)
    index = torch.zeros(len(take_uids), 2 * window, dtype=torch.long)
    mask = torch.zeros(len(take_uids), 2 * window, dtype=torch.bool)
    offsets = [*range(-window, 0), *range(1, window + 1)]
    for rows in rows_of_take.values():
        ordered = sorted(rows, key=lambda r: segment_indices[r])
        for position, row in enumerate(ordered):
            for slot, offset in enumerate(offsets):
                if 0 <= position + offset < len(ordered):
                    index[row, slot], mask[row, slot] = ordered[position + offset], True
    return index, mask


def with_context(features: torch.Tensor, take_uids, segment_indices, window: int) -> torch.Tensor:
    """(N, 2D): each row's features, then the mean of its in-split neighbours' features (zeros when it has none)."""
    index, mask = neighbour_index(take_uids, segment_indices, window)
    weights = mask.float()
    summed = (features[index] * weights.unsqueeze(-1)).sum(dim=1)
    mean = summed / weights.sum(dim=1, keepdim=True).clamp(min=1.0)
    return torch.cat([features, mean], dim=1)
