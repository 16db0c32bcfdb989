"""Video-stage methods: each turns a source batch and a target batch into the loss of one optimisation step.

A method is a small object. `target_labels` says which labels the target rows carry ("pseudo": the text stage's,
"true": the ground truth, "unlabelled": none, None: no target rows are drawn). `modules()` returns its extra
trainable modules (a domain discriminator, an adversarial head): the script gives them their own optimiser group,
passes them through `accelerator.prepare` and hands the prepared ones back with `attach`. Register a new method
in `METHODS`. The losses themselves are in `adaptation.py`.
"""

import torch
from torch import nn

from ..constants import NUM_CLASSES
from . import adaptation


class VideoMethod:
    """Base class: cross-entropy on the labelled source rows, and on the target rows when they carry labels."""

    name = "base"
    target_labels: str | None = None
    needs_features = False  # whether `adaptation_loss` reads the hidden layer

    def __init__(self, args=None):
        self.args = args
        self._modules: list[nn.Module] | None = None

    def build_modules(self) -> list[nn.Module]:
        """The extra trainable modules, built on the first `modules()` call (after the model, under the seed)."""
        return []

    def modules(self) -> list[nn.Module]:
        if self._modules is None:
            self._modules = self.build_modules()
        return self._modules

    def attach(self, prepared: list[nn.Module]) -> None:
        """Use the modules as `accelerator.prepare` returned them (wrapped for several processes)."""
        self._modules = list(prepared)

    @property
    def uses_target(self) -> bool:
        return self.target_labels is not None

    def split(self, batch: dict) -> tuple[dict, dict | None]:
        """The process's share of a paired batch, `[source rows | target rows]`, as (source, target)."""
        if not self.uses_target:
            return batch, None
        halves = {key: value.chunk(2) for key, value in batch.items()}  # features, labels (and a window mask)
        return {k: v[0] for k, v in halves.items()}, {k: v[1] for k, v in halves.items()}

    def loss(self, model, source: dict, target: dict | None, iteration: int = 0) -> torch.Tensor:
        hidden = self.needs_features
        source_out = model(source["features"], labels=source["labels"], mask=source.get("mask"),
                           output_hidden_states=hidden)  # fmt: skip
        if target is None:
            return source_out.loss
        labelled = self.target_labels in ("pseudo", "true")
        target_labels = target["labels"] if labelled else None
        target_out = model(target["features"], labels=target_labels, mask=target.get("mask"),
                           output_hidden_states=hidden)  # fmt: skip
        loss = source_out.loss + target_out.loss if labelled else source_out.loss
        extra = self.adaptation_loss(model, source_out, target_out, target, iteration)
        return loss if extra is None else loss + extra

    def adaptation_loss(self, model, source_out, target_out, target: dict, iteration: int) -> torch.Tensor | None:
        """The method's own term on top of the cross-entropies (None: nothing)."""
        return None


class SourceOnly(VideoMethod):
    """Source cross-entropy alone: the no-adaptation baseline."""

    name = "source_only"


class LaGTran(VideoMethod):
    """LaGTran (Kalluri et al., ICML 2024, Eq. 2): source cross-entropy plus cross-entropy on the target rows'
    text-stage pseudo-labels. Source and target go through the model separately (per-domain BatchNorm statistics,
    as in the original)."""

    name = "lagtran"
    target_labels = "pseudo"


class TargetSupervised(LaGTran):
    """LaGTran's loss with the *true* target labels: the upper bound, not domain adaptation."""

    name = "target_supervised"
    target_labels = "true"


class UnsupervisedAdaptation(VideoMethod):
    """Base of the classic methods: unlabelled target rows, or, with `--pseudo_labels`, LaGTran's pseudo-label
    cross-entropy added. `weight` is the published trade-off of the adaptation term."""

    weight = 1.0

    def __init__(self, args=None):
        super().__init__(args)
        self.target_labels = "pseudo" if args is not None and args.pseudo_labels else "unlabelled"

    def adaptation_loss(self, model, source_out, target_out, target, iteration):
        return self.weight * self.term(model, source_out, target_out, target, iteration)


class DANN(UnsupervisedAdaptation):
    """Domain-adversarial training (Ganin et al., JMLR 2016) on the hidden layer."""

    name = "dann"
    needs_features = True

    def build_modules(self):
        return [adaptation.DomainDiscriminator(self.args.hidden_dim if self.args else 256)]

    def term(self, model, source_out, target_out, target, iteration):
        coefficient = adaptation.grl_coefficient(iteration)
        return adaptation.dann_loss(self.modules()[0], source_out.hidden_states[-1], target_out.hidden_states[-1],
                                    coefficient)  # fmt: skip


class CDAN(DANN):
    """Conditional adversarial adaptation (Long et al., NeurIPS 2018); `--cdan_entropy` gives CDAN+E."""

    name = "cdan"

    def build_modules(self):
        return [adaptation.DomainDiscriminator((self.args.hidden_dim if self.args else 256) * NUM_CLASSES)]

    def term(self, model, source_out, target_out, target, iteration):
        return adaptation.cdan_loss(
            self.modules()[0], (source_out.hidden_states[-1], source_out.logits),
            (target_out.hidden_states[-1], target_out.logits), adaptation.grl_coefficient(iteration),
            entropy_conditioning=bool(self.args and self.args.cdan_entropy),
        )  # fmt: skip


class MCC(UnsupervisedAdaptation):
    """Minimum Class Confusion (Jin et al., ECCV 2020), temperature 2.5, trade-off 1."""

    name = "mcc"
    temperature = 2.5

    def term(self, model, source_out, target_out, target, iteration):
        return adaptation.mcc_loss(target_out.logits, self.temperature)


class BNM(UnsupervisedAdaptation):
    """Batch Nuclear-norm Maximisation (Cui et al., CVPR 2020), trade-off 1."""

    name = "bnm"

    def term(self, model, source_out, target_out, target, iteration):
        return adaptation.bnm_loss(target_out.logits)


class MDD(UnsupervisedAdaptation):
    """Margin Disparity Discrepancy (Zhang et al., ICML 2019): margin 4, trade-off 2 (learning rate 0.0004, see
    config.py), an adversarial head of the classifier's shape behind a warm-start gradient reversal (0 -> 0.1)."""

    name = "mdd"
    needs_features = True
    weight, margin = 2.0, 4.0

    def build_modules(self):
        return [nn.Linear(self.args.hidden_dim if self.args else 256, NUM_CLASSES)]

    def term(self, model, source_out, target_out, target, iteration):
        coefficient = adaptation.grl_coefficient(iteration, high=0.1, alpha=1.0, max_iterations=1000)
        features = torch.cat([source_out.hidden_states[-1], target_out.hidden_states[-1]])
        adversarial = self.modules()[0](adaptation.reverse_gradient(features, coefficient))
        source_adversarial, target_adversarial = adversarial.split([len(source_out.logits), len(target_out.logits)])
        return adaptation.mdd_loss(source_out.logits, source_adversarial, target_out.logits, target_adversarial,
                                   self.margin)  # fmt: skip


class FixMatch(UnsupervisedAdaptation):
    """FixMatch-style self-training (Sohn et al., NeurIPS 2020) on features: the model's confident (>= 0.9)
    predictions on the target rows supervise a perturbed copy of them (feature dropout and noise)."""

    name = "fixmatch"
    threshold = 0.9

    def term(self, model, source_out, target_out, target, iteration):
        strong = model(adaptation.perturb_features(target["features"]), mask=target.get("mask")).logits
        return adaptation.fixmatch_loss(target_out.logits, strong, self.threshold)


METHODS = {
    method.name: method for method in (LaGTran, SourceOnly, TargetSupervised, DANN, CDAN, MCC, BNM, MDD, FixMatch)
}


def get_method(name: str, args=None) -> VideoMethod:
    """A new instance of the method registered under `name`, configured from the stage's arguments."""
    return METHODS[name](args)
