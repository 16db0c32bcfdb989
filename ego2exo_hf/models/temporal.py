"""Temporal pooling heads of the video stage: a segment's window features (B, T, D) and mask (B, T) -> (B, D).

Every head takes `features` (batch x windows x feature_dim) and a bool `mask` (batch x windows, True on a real
window, False on padding; None: all windows are real) and returns one vector per segment, `out_features` wide.
Padded windows never change the output or receive gradient: the heads zero them first and mask them out.
The learned heads start as the paper's mean pooling (their last layer is zero-initialised), so training moves
them away from the baseline only as far as the data asks.

Example:
```python
>>> import torch
>>> from ego2exo_hf.models.temporal import build_pooling
>>> head = build_pooling("attention", feature_dim=1536)
>>> features, mask = torch.randn(2, 5, 1536), torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
>>> head(features, mask).shape
torch.Size([2, 1536])
```
"""

import math

import torch
from torch import nn

from ..errors import Ego2ExoError


def masked_mean(features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `features` (B, T, D) over the windows where `mask` (B, T) is True; zeros for a row without any."""
    mask = mask.to(torch.bool)
    total = features.masked_fill(~mask.unsqueeze(-1), 0).sum(1)
    return total / mask.sum(1, keepdim=True).clamp_min(1).to(features.dtype)


def sinusoidal_positions(length: int, dim: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """The sine/cosine position table of Vaswani et al. (2017), (length, dim) with `dim` even."""
    position = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table.to(dtype)


class TemporalPooling(nn.Module):
    """Base of the heads: `forward(features, mask=None)` maps (B, T, in_features) and (B, T) to (B, out_features)."""

    def __init__(self, feature_dim: int):
        super().__init__()
        self.in_features = feature_dim
        self.out_features = feature_dim

    def _inputs(self, features: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Checked inputs: the features with padded windows zeroed, and the mask as bool."""
        if features.ndim != 3 or features.shape[-1] != self.in_features:
            raise ValueError(f"features are {tuple(features.shape)}, expected (batch, windows, {self.in_features})")
        if mask is None:
            return features, torch.ones(features.shape[:2], dtype=torch.bool, device=features.device)
        if mask.shape != features.shape[:2]:
            raise ValueError(f"mask is {tuple(mask.shape)}, expected {tuple(features.shape[:2])}")
        mask = mask.to(torch.bool)
        return features.masked_fill(~mask.unsqueeze(-1), 0), mask


class MeanPooling(TemporalPooling):
    """Masked mean over a segment's windows: the paper's mean pooling (LaGTran, Kalluri et al., ICML 2024).
    No parameters; with a full mask it is `features.mean(1)`."""

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return masked_mean(*self._inputs(features, mask))


class AttentionPooling(TemporalPooling):
    """Attention pooling of Ilse et al., "Attention-based Deep Multiple Instance Learning" (ICML 2018):
    score_t = w^T tanh(V x_t), softmax over the real windows, weighted sum of the windows.

    `w` starts at zero, i.e. with uniform weights: the head starts as mean pooling.
    """

    def __init__(self, feature_dim: int, hidden_dim: int = 128):
        super().__init__(feature_dim)
        self.attention = nn.Linear(feature_dim, hidden_dim)  # V
        self.score = nn.Linear(hidden_dim, 1, bias=False)  # w
        nn.init.zeros_(self.score.weight)

    def _weights(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.score(torch.tanh(self.attention(features))).squeeze(-1)
        # The dtype's lowest value, not -inf: a row without real windows gets all-zero weights instead of NaN.
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        return scores.softmax(-1) * mask

    def weights(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """The attention weights (B, T): zero on padding, summing to one over each segment's windows."""
        return self._weights(*self._inputs(features, mask))

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        features, mask = self._inputs(features, mask)
        return torch.bmm(self._weights(features, mask).unsqueeze(1), features).squeeze(1)


class TransformerPooling(TemporalPooling):
    """A small Transformer encoder over the windows (Vaswani et al., "Attention Is All You Need", NeurIPS 2017),
    then a masked mean: Linear(feature_dim, d_model) + sinusoidal positions -> `num_layers` pre-norm encoder
    layers (padded windows masked as keys) -> masked mean -> Linear(d_model, feature_dim).

    The result is added to the masked mean of the input, so `out_features` is `feature_dim`; the output layer
    starts at zero, so the head starts as mean pooling.
    """

    def __init__(
        self,
        feature_dim: int,
        num_layers: int = 1,
        d_model: int = 256,
        nhead: int = 4,
        dim_feedforward: int = 512,
        dropout: float = 0.1,
    ):
        super().__init__(feature_dim)
        if num_layers < 1 or d_model % 2 or d_model % nhead:
            raise ValueError(
                f"need num_layers >= 1 and an even d_model divisible by nhead, got {num_layers=}, {d_model=}, {nhead=}"
            )
        self.input = nn.Linear(feature_dim, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model, nhead, dim_feedforward, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False)
        self.output = nn.Linear(d_model, feature_dim)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        features, mask = self._inputs(features, mask)
        positions = sinusoidal_positions(features.shape[1], self.input.out_features, features.device, features.dtype)
        hidden = self.input(features) + positions
        padding = ~mask
        padding[:, 0] &= mask.any(1)  # a row without real windows attends to its first slot instead of giving NaN
        hidden = self.encoder(hidden, src_key_padding_mask=padding)
        return masked_mean(features, mask) + self.output(masked_mean(hidden, mask))


POOLING = {"mean": MeanPooling, "attention": AttentionPooling, "transformer": TransformerPooling}


def build_pooling(name: str, feature_dim: int, **kwargs) -> TemporalPooling:
    """The temporal head `name` (a key of `POOLING`) for `feature_dim`-d windows; `kwargs` go to its class."""
    if name not in POOLING:
        raise Ego2ExoError(f"unknown temporal pooling {name!r}: choose one of {', '.join(POOLING)}")
    return POOLING[name](feature_dim, **kwargs)
