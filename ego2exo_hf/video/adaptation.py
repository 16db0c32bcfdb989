"""Domain-adaptation losses on features and logits, and the modules they train (written here: each is a few lines).

Shapes: `features` (batch x hidden) are the classifier's hidden layer, `logits` (batch x classes). Every loss is a
scalar to *add* to the source cross-entropy. The adversarial ones (DANN, CDAN, MDD) reach their extra module
through a gradient-reversal layer, so one optimiser step trains both sides of the min-max game.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F


class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, coefficient: float):
        ctx.coefficient = coefficient
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.coefficient * grad, None


def reverse_gradient(x: torch.Tensor, coefficient: float = 1.0) -> torch.Tensor:
    """Identity forward; the gradient is multiplied by `-coefficient` (Ganin & Lempitsky, ICML 2015, Eq. 12)."""
    return _GradientReversal.apply(x, coefficient)


def grl_coefficient(iteration: int, high: float = 1.0, alpha: float = 10.0, max_iterations: int = 10000) -> float:
    """The reversal coefficient ramping from 0 to `high`: 2 high / (1 + exp(-alpha p)) - high, p = it / max_it
    (Ganin et al., JMLR 2016, Sec. 5.2.2; the original's `calc_coeff`)."""
    return 2.0 * high / (1.0 + math.exp(-alpha * iteration / max_iterations)) - high


class DomainDiscriminator(nn.Sequential):
    """The DANN/CDAN discriminator: in -> 1024 -> 1024 -> 1 logit (source = 1), ReLU and dropout 0.5 between."""

    def __init__(self, in_features: int, hidden: int = 1024):
        super().__init__(
            nn.Linear(in_features, hidden), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(hidden, 1),
        )  # fmt: skip


def entropy(probabilities: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (nats) of each row."""
    return -(probabilities * torch.log(probabilities + 1e-5)).sum(dim=1)


def _domain_loss(domain_logits: torch.Tensor, num_source: int, weights: torch.Tensor | None = None) -> torch.Tensor:
    labels = torch.zeros_like(domain_logits)
    labels[:num_source] = 1.0
    losses = F.binary_cross_entropy_with_logits(domain_logits, labels, reduction="none")
    return losses.mean() if weights is None else (weights * losses).sum() / weights.sum()


def dann_loss(discriminator, source_features, target_features, coefficient: float) -> torch.Tensor:
    """DANN (Ganin et al., JMLR 2016, Eq. 9): the discriminator's cross-entropy on source vs target features,
    reached through gradient reversal so that the features learn to confuse it."""
    features = reverse_gradient(torch.cat([source_features, target_features]), coefficient)
    return _domain_loss(discriminator(features).squeeze(1), len(source_features))


def cdan_loss(discriminator, source, target, coefficient: float, entropy_conditioning: bool = False) -> torch.Tensor:
    """CDAN (Long et al., NeurIPS 2018, Eq. 7): DANN on the multilinear map features (x) softmax(logits), the
    predictions detached. With `entropy_conditioning` (CDAN+E, Eq. 9) each row is weighted by 1 + exp(-H(p)).
    `source`, `target`: (features, logits)."""
    features = torch.cat([source[0], target[0]])
    probabilities = torch.cat([source[1], target[1]]).softmax(dim=1).detach()
    joint = torch.bmm(probabilities.unsqueeze(2), features.unsqueeze(1)).flatten(1)
    weights = 1.0 + torch.exp(-entropy(probabilities)) if entropy_conditioning else None
    return _domain_loss(discriminator(reverse_gradient(joint, coefficient)).squeeze(1), len(source[0]), weights)


def mcc_loss(target_logits: torch.Tensor, temperature: float = 2.5) -> torch.Tensor:
    """Minimum Class Confusion (Jin et al., ECCV 2020, Eqs. 1-6): the off-diagonal mass of the class-correlation
    matrix of temperature-scaled target predictions, rows weighted by certainty and normalised."""
    batch, classes = target_logits.shape
    probabilities = (target_logits / temperature).softmax(dim=1)
    weights = 1.0 + torch.exp(-entropy(probabilities).detach())
    weights = (batch * weights / weights.sum()).unsqueeze(1)
    confusion = (probabilities * weights).T @ probabilities
    confusion = confusion / confusion.sum(dim=1)
    return (confusion.sum() - confusion.trace()) / classes


def bnm_loss(target_logits: torch.Tensor) -> torch.Tensor:
    """Batch Nuclear-norm Maximisation (Cui et al., CVPR 2020, Eq. 7): minus the nuclear norm of the target
    prediction matrix over the batch size (larger norm: predictions both confident and diverse)."""
    return -torch.linalg.matrix_norm(target_logits.softmax(dim=1), ord="nuc") / len(target_logits)


def mdd_loss(source_logits, source_adversarial, target_logits, target_adversarial, margin: float = 4.0):
    """Margin Disparity Discrepancy (Zhang et al., ICML 2019, Eq. 29), to minimise: margin x CE(f'(x_s), h_f(x_s))
    - log(1 - softmax(f'(x_t))[h_f(x_t)]). The adversarial head f' sees the features through gradient reversal:
    it agrees with the classifier on source and disagrees on target, the features undo the disagreement."""
    source_predictions, target_predictions = source_logits.argmax(dim=1), target_logits.argmax(dim=1)
    source_term = F.cross_entropy(source_adversarial, source_predictions)
    disagreement = 1.0 - target_adversarial.softmax(dim=1).gather(1, target_predictions.unsqueeze(1)).squeeze(1)
    return margin * source_term - torch.log(disagreement.clamp(min=1e-6)).mean()


def perturb_features(features: torch.Tensor, noise: float = 0.1, drop: float = 0.2) -> torch.Tensor:
    """A strong view of pooled features for FixMatch: feature dropout plus Gaussian noise scaled to each
    dimension's spread in the batch."""
    spread = features.std(dim=0, keepdim=True) if len(features) > 1 else features.abs()
    return F.dropout(features, drop) + noise * spread * torch.randn_like(features)


def fixmatch_loss(weak_logits: torch.Tensor, strong_logits: torch.Tensor, threshold: float = 0.9) -> torch.Tensor:
    """FixMatch (Sohn et al., NeurIPS 2020, Eq. 4): cross-entropy of the strong view against the weak view's
    prediction, counted only where that prediction's confidence reaches `threshold` (mean over all rows)."""
    confidence, pseudo_labels = weak_logits.detach().softmax(dim=1).max(dim=1)
    mask = (confidence >= threshold).float()
    return (F.cross_entropy(strong_logits, pseudo_labels, reduction="none") * mask).mean()
