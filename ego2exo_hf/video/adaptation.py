"""Domain-adaptation losses on features and logits, and the modules they train (written here: each is a few lines).

Shapes: `features` (batch x hidden) are the classifier's hidden layer, `logits` (batch x classes). Every loss is a
scalar to *add* to the source cross-entropy. The adversarial ones (DANN, CDAN, MDD) reach their extra module
through a gradient-reversal layer, so one optimiser step trains both sides of the min-max game. Each follows a
reference implementation, named in its docstring; docs/video_stage.md has the table of references and settings.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

RANDOMIZED_ABOVE = 4096  # CDAN: the multilinear map is randomized when features x classes exceeds this
RANDOMIZED_DIM = 1024


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
    (Ganin et al., JMLR 2016, Sec. 5.2.2; `calc_coeff` of thuml/CDAN, tllib's `WarmStartGradientReverseLayer`)."""
    return 2.0 * high / (1.0 + math.exp(-alpha * iteration / max_iterations)) - high


class DomainDiscriminator(nn.Sequential):
    """The DANN/CDAN discriminator of thuml/CDAN (`AdversarialNetwork`): in -> 1024 -> 1024 -> 1 logit
    (source = 1), ReLU and dropout 0.5 between, Xavier-normal weights and zero biases."""

    def __init__(self, in_features: int, hidden: int = 1024):
        super().__init__(
            nn.Linear(in_features, hidden), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(hidden, 1),
        )  # fmt: skip
        for layer in self:
            if isinstance(layer, nn.Linear):
                nn.init.xavier_normal_(layer.weight)
                nn.init.zeros_(layer.bias)


class ConditionalDiscriminator(nn.Module):
    """CDAN's discriminator on the multilinear map of features and predictions (Long et al., NeurIPS 2018, Eq. 4):
    the outer product p (x) f, or, when `features x classes > randomized_above`, the randomized map
    (R_f f) * (R_g p) / sqrt(d) with fixed N(0, 1) matrices R_f, R_g (Eq. 5; thuml/CDAN `RandomLayer`, d = 1024)."""

    def __init__(self, features: int, classes: int, randomized_above: int = RANDOMIZED_ABOVE,
                 randomized_dim: int = RANDOMIZED_DIM, hidden: int = 1024):  # fmt: skip
        super().__init__()
        self.randomized = features * classes > randomized_above
        if self.randomized:
            self.register_buffer("random_features", torch.randn(features, randomized_dim))
            self.register_buffer("random_predictions", torch.randn(classes, randomized_dim))
        self.discriminator = DomainDiscriminator(randomized_dim if self.randomized else features * classes, hidden)

    def multilinear_map(self, features: torch.Tensor, probabilities: torch.Tensor) -> torch.Tensor:
        if self.randomized:
            dim = self.random_features.shape[1]
            return (features @ self.random_features) * (probabilities @ self.random_predictions) / math.sqrt(dim)
        return torch.bmm(probabilities.unsqueeze(2), features.unsqueeze(1)).flatten(1)  # row i: p_i (x) f_i

    def forward(self, features: torch.Tensor, probabilities: torch.Tensor) -> torch.Tensor:
        return self.discriminator(self.multilinear_map(features, probabilities))


def entropy(probabilities: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (nats) of each row, with the references' 1e-5 inside the log."""
    return -(probabilities * torch.log(probabilities + 1e-5)).sum(dim=1)


def _domain_labels(domain_logits: torch.Tensor, num_source: int) -> torch.Tensor:
    labels = torch.zeros_like(domain_logits)
    labels[:num_source] = 1.0
    return labels


def dann_loss(discriminator, source_features, target_features, coefficient: float) -> torch.Tensor:
    """DANN (Ganin et al., JMLR 2016, Eq. 9; thuml/CDAN `loss.DANN`): the discriminator's binary cross-entropy on
    source (1) vs target (0) features, reached through gradient reversal so that the features learn to confuse it."""
    features = reverse_gradient(torch.cat([source_features, target_features]), coefficient)
    logits = discriminator(features).squeeze(1)
    return F.binary_cross_entropy_with_logits(logits, _domain_labels(logits, len(source_features)))


def cdan_loss(
    discriminator: ConditionalDiscriminator, source, target, coefficient: float, entropy_conditioning: bool = False,
    entropy_coefficient: float | None = None,
) -> torch.Tensor:
    """CDAN (Long et al., NeurIPS 2018, Eq. 7; thuml/CDAN `loss.CDAN`): DANN on the multilinear map of features
    and detached predictions. CDAN+E (`entropy_conditioning`, Eq. 9) weights row i by w_i = 1 + exp(-H(p_i)),
    normalised within its own domain, and the entropy gets the reversed gradient too, scaled by
    `entropy_coefficient` (default `coefficient`), as in the original code. `source`, `target`: (features, logits)."""
    features = torch.cat([source[0], target[0]])
    probabilities = torch.cat([source[1], target[1]]).softmax(dim=1)
    logits = discriminator(reverse_gradient(features, coefficient), probabilities.detach()).squeeze(1)
    labels = _domain_labels(logits, len(source[0]))
    if not entropy_conditioning:
        return F.binary_cross_entropy_with_logits(logits, labels)
    entropy_coefficient = coefficient if entropy_coefficient is None else entropy_coefficient
    weights = 1.0 + torch.exp(-reverse_gradient(entropy(probabilities), entropy_coefficient))
    is_source = labels.bool()
    totals = torch.where(is_source, weights[is_source].sum(), weights[~is_source].sum()).detach()
    weights = weights / totals  # each domain's weights sum to 1 (the normalisers carry no gradient)
    losses = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    return (weights * losses).sum() / weights.sum().detach()


def mcc_loss(target_logits: torch.Tensor, temperature: float = 2.5) -> torch.Tensor:
    """Minimum Class Confusion (Jin et al., ECCV 2020, Eqs. 1-6; tllib `MinimumClassConfusionLoss`): the
    off-diagonal mass of the class-correlation matrix of temperature-scaled target predictions, rows weighted by
    certainty and normalised."""
    batch, classes = target_logits.shape
    probabilities = (target_logits / temperature).softmax(dim=1)
    weights = 1.0 + torch.exp(-entropy(probabilities).detach())
    weights = (batch * weights / weights.sum()).unsqueeze(1)
    confusion = (probabilities * weights).T @ probabilities
    confusion = confusion / confusion.sum(dim=1)
    return (confusion.sum() - confusion.trace()) / classes


def bnm_loss(target_logits: torch.Tensor) -> torch.Tensor:
    """Batch Nuclear-norm Maximisation (Cui et al., CVPR 2020, Eq. 7; cuishuhao/BNM `train_image.py`): minus the
    mean singular value of the target prediction matrix, i.e. -||A||_* / min(batch, classes)."""
    return -torch.linalg.svdvals(target_logits.softmax(dim=1)).mean()


def mdd_loss(source_logits, source_adversarial, target_logits, target_adversarial, margin: float = 4.0):
    """Margin Disparity Discrepancy (Zhang et al., ICML 2019, Eq. 29; tllib
    `ClassificationMarginDisparityDiscrepancy`, negated as its example adds it), to minimise:
    margin x CE(f'(x_s), h_f(x_s)) - log(min(1 - softmax(f'(x_t))[h_f(x_t)] + 1e-6, 1)). The adversarial head f'
    sees the features through gradient reversal: it agrees with the classifier on source and disagrees on target,
    the features undo the disagreement."""
    source_predictions, target_predictions = source_logits.argmax(dim=1), target_logits.argmax(dim=1)
    source_term = F.cross_entropy(source_adversarial, source_predictions)
    disagreement = 1.0 - target_adversarial.softmax(dim=1).gather(1, target_predictions.unsqueeze(1)).squeeze(1)
    return margin * source_term - torch.log((disagreement + 1e-6).clamp(max=1.0)).mean()


def perturb_features(features: torch.Tensor, noise: float = 0.1, drop: float = 0.2) -> torch.Tensor:
    """A strong view of pooled features for FixMatch: feature dropout plus Gaussian noise scaled to each
    dimension's spread in the batch."""
    spread = features.std(dim=0, keepdim=True) if len(features) > 1 else features.abs()
    return F.dropout(features, drop) + noise * spread * torch.randn_like(features)


def fixmatch_loss(weak_logits: torch.Tensor, strong_logits: torch.Tensor, threshold: float = 0.9) -> torch.Tensor:
    """FixMatch (Sohn et al., NeurIPS 2020, Eq. 4; google-research/fixmatch): cross-entropy of the strong view
    against the weak view's prediction, counted only where that prediction's confidence reaches `threshold`
    (mean over all rows)."""
    confidence, pseudo_labels = weak_logits.detach().softmax(dim=1).max(dim=1)
    mask = (confidence >= threshold).float()
    return (F.cross_entropy(strong_logits, pseudo_labels, reduction="none") * mask).mean()
