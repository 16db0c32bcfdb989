"""Video-stage methods: each turns the process's share of a paired batch into the loss of one optimisation step.

A method is a small object that knows its own settings: `pseudo_labels` says whether it needs ("required"),
accepts ("optional": `--pseudo_labels`, `+pl` in the benchmark) or ignores ("unused") the text stage's labels,
`default_learning_rate` is its published learning rate, and `options` are the stage options only it reads, with
their defaults (a value given to another method is an error). `target_labels` says which labels the target rows
carry ("pseudo": the text stage's, "true": the ground truth, "unlabelled": none, None: no target rows are drawn).
`joint_forward` says whether source and target rows go through the model in one call, as the method's reference
trainer does (one BatchNorm statistic over both domains), or in two. `modules()` returns its extra trainable
modules (a domain discriminator, an adversarial head): the script gives them their own optimiser group, passes
them through `accelerator.prepare` and hands the prepared ones back with `attach`. Register a new method in
`METHODS` (and its name in `constants.METHOD_NAMES`). The losses themselves are in `adaptation.py`;
docs/video_stage.md names each method's reference and settings.
"""

from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.nn import functional as F

from ..constants import NUM_CLASSES
from ..errors import Ego2ExoError
from . import adaptation

PSEUDO_LABEL_SUFFIX = "pl"  # `ego2exo benchmark --methods mcc+pl`: an unsupervised method with the pseudo-label loss


@dataclass
class DomainOutputs:
    """One domain's rows of a forward pass: logits and, when the method reads it, the hidden layer."""

    logits: torch.Tensor
    features: torch.Tensor | None = None


def _outputs(output, hidden: bool) -> DomainOutputs:
    return DomainOutputs(output.logits, output.hidden_states[-1] if hidden else None)


class VideoMethod:
    """Base class: cross-entropy on the labelled source rows, and on the target rows when they carry labels."""

    name = "base"
    target_labels: str | None = None
    pseudo_labels = "unused"  # "required", "optional" or "unused": what the method does with --pseudo_labels
    default_learning_rate = 0.003  # the paper's; a method with another published value says so
    options: dict = {}  # stage options only this method reads, with their defaults
    joint_forward = True  # one model call on [source rows | target rows]
    needs_features = False  # whether `adaptation_loss` reads the hidden layer
    reference = ""  # the reference trainer the forward scheme and the loss follow (docs/video_stage.md)

    def __init__(self, args=None):
        """`args`: the stage's `VideoTrainingArguments`, checked against the method and completed with its defaults
        (`self.args`); None for a method with every default (tests, benchmarks)."""
        self.args = None if args is None else self.configure(args)
        self._modules: list[nn.Module] | None = None

    @classmethod
    def configure(cls, args):
        """`args` checked against this method (its pseudo-labels, other methods' options) with the method's learning
        rate where none was given."""
        if cls.pseudo_labels == "required" and not args.pseudo_labels:
            raise Ego2ExoError(f"--method {cls.name} needs --pseudo_labels (the text stage writes them)")
        if cls.pseudo_labels == "unused" and args.pseudo_labels:
            users = ", ".join(name for name, method in METHODS.items() if method.pseudo_labels != "unused")
            raise Ego2ExoError(f"--method {cls.name} does not use --pseudo_labels: drop it, or choose one of {users}")
        for option, (owner, default) in METHOD_OPTIONS.items():
            if owner is not cls and getattr(args, option) != default:
                raise Ego2ExoError(f"--{option} applies to --method {owner.name} only")
        return args if args.learning_rate is not None else replace(args, learning_rate=cls.default_learning_rate)

    def build_modules(self) -> list[nn.Module]:
        """The extra trainable modules, built on the first `modules()` call (after the model, under the seed)."""
        return []

    def modules(self) -> list[nn.Module]:
        if self._modules is None:
            self._modules = self.build_modules()
        return self._modules

    def attach(self, prepared: list[nn.Module]) -> None:
        """Use the modules as `accelerate.prepare` returned them (wrapped for several processes)."""
        self._modules = list(prepared)

    @property
    def uses_target(self) -> bool:
        return self.target_labels is not None

    def split(self, batch: dict) -> tuple[dict, dict | None]:
        """The process's share of a paired batch, `[source rows | target rows]`, as (source, target) views."""
        if not self.uses_target:
            return batch, None
        halves = {key: value.chunk(2) for key, value in batch.items()}  # features, labels (and a window mask)
        return {k: v[0] for k, v in halves.items()}, {k: v[1] for k, v in halves.items()}

    def forward(self, model, batch: dict, extra: torch.Tensor | None = None) -> list[DomainOutputs]:
        """The model's outputs on the source rows, the target rows (if any) and `extra` rows (target-shaped rows
        appended to the batch, e.g. FixMatch's strong view): one call with `joint_forward`, else one per domain."""
        hidden = self.needs_features
        features, mask = batch["features"], batch.get("mask")
        if not self.uses_target:
            return [_outputs(model(features, mask=mask, output_hidden_states=hidden), hidden)]
        source, target = self.split(batch)
        parts = [source["features"], target["features"]] + ([] if extra is None else [extra])
        masks = [source.get("mask"), target.get("mask")] + ([] if extra is None else [target.get("mask")])
        if not self.joint_forward:
            return [_outputs(model(x, mask=m, output_hidden_states=hidden), hidden) for x, m in zip(parts, masks)]
        if extra is not None:
            features = torch.cat(parts)
            mask = None if mask is None else torch.cat(masks)
        output = model(features, mask=mask, output_hidden_states=hidden)
        sizes = [len(x) for x in parts]
        logits = output.logits.split(sizes)
        hidden_rows = output.hidden_states[-1].split(sizes) if hidden else [None] * len(sizes)
        return [DomainOutputs(lg, h) for lg, h in zip(logits, hidden_rows)]

    def loss(self, model, batch: dict, iteration: int = 1) -> torch.Tensor:
        """The loss of one iteration (1, 2, ...) on the process's share of a paired batch."""
        source, target = self.split(batch)
        outputs = self.forward(model, batch)
        loss = F.cross_entropy(outputs[0].logits, source["labels"])
        if target is None:
            return loss
        if self.target_labels in ("pseudo", "true"):
            loss = loss + F.cross_entropy(outputs[1].logits, target["labels"])
        extra = self.adaptation_loss(model, outputs[0], outputs[1], target, iteration)
        return loss if extra is None else loss + extra

    def adaptation_loss(self, model, source_out, target_out, target: dict, iteration: int) -> torch.Tensor | None:
        """The method's own term on top of the cross-entropies (None: nothing)."""
        return None

    def settings(self) -> dict:
        """The method's hyper-parameters (documented in docs/video_stage.md, tested against the references)."""
        return {"joint_forward": self.joint_forward}


class SourceOnly(VideoMethod):
    """Source cross-entropy alone: the no-adaptation baseline (no target rows are drawn)."""

    name = "source_only"
    reference = "LaGTran_ICML2024 src/trainer/feat_plain.py"


class LaGTran(VideoMethod):
    """LaGTran (Kalluri et al., ICML 2024, Eq. 2): source cross-entropy plus cross-entropy on the target rows'
    text-stage pseudo-labels, both domains in one forward as the original (`feat_lagtran.py`: `torch.cat`)."""

    name = "lagtran"
    target_labels = "pseudo"
    pseudo_labels = "required"
    reference = "LaGTran_ICML2024 src/trainer/feat_lagtran.py"


class TargetSupervised(VideoMethod):
    """Cross-entropy on source and *true* target labels: the upper bound, not domain adaptation. As the original
    (`feat_plain.py` with `--use_target 1`), source and target go through the model in two calls."""

    name = "target_supervised"
    target_labels = "true"
    joint_forward = False
    reference = "LaGTran_ICML2024 src/trainer/feat_plain.py (use_target)"


class UnsupervisedAdaptation(VideoMethod):
    """Base of the classic methods: unlabelled target rows, or, with `--pseudo_labels`, LaGTran's pseudo-label
    cross-entropy added. `weight` is the published trade-off of the adaptation term."""

    weight = 1.0
    pseudo_labels = "optional"

    def __init__(self, args=None):
        super().__init__(args)
        self.target_labels = "pseudo" if args is not None and args.pseudo_labels else "unlabelled"

    @property
    def hidden_dim(self) -> int:
        return self.args.hidden_dim if self.args is not None else 256

    def adaptation_loss(self, model, source_out, target_out, target, iteration):
        return self.weight * self.term(model, source_out, target_out, target, iteration)

    def settings(self) -> dict:
        return {**super().settings(), "trade_off": self.weight}


class DANN(UnsupervisedAdaptation):
    """Domain-adversarial training (Ganin et al., JMLR 2016) on the hidden layer: one forward of both domains as
    LaGTran's `UDA_trainer/dann.py`, the discriminator and reversal schedule of thuml/CDAN."""

    name = "dann"
    needs_features = True
    reference = "LaGTran_ICML2024 UDA_trainer/dann.py; thuml/CDAN pytorch/network.py (AdversarialNetwork), loss.py"
    grl = {"high": 1.0, "alpha": 10.0, "max_iterations": 10000}  # thuml/CDAN AdversarialNetwork (calc_coeff)
    discriminator_width = 1024

    def build_modules(self):
        return [adaptation.DomainDiscriminator(self.hidden_dim, self.discriminator_width)]

    def term(self, model, source_out, target_out, target, iteration):
        coefficient = adaptation.grl_coefficient(iteration, **self.grl)
        return adaptation.dann_loss(self.modules()[0], source_out.features, target_out.features, coefficient)

    def settings(self) -> dict:
        return {**super().settings(), "grl": self.grl, "discriminator_width": self.discriminator_width}


class CDAN(DANN):
    """Conditional adversarial adaptation (Long et al., NeurIPS 2018): one forward as LaGTran's
    `UDA_trainer/cdan.py`; the randomized multilinear map (1024-d, thuml/CDAN's `RandomLayer`) when features x
    classes exceeds 4096 (256 x 24 here), as the paper prescribes; `--cdan_entropy` gives CDAN+E (thuml's loss)."""

    name = "cdan"
    options = {"cdan_entropy": False}
    reference = "LaGTran_ICML2024 UDA_trainer/cdan.py; thuml/CDAN pytorch/loss.py (CDAN), network.py (RandomLayer)"

    @property
    def entropy_conditioning(self) -> bool:
        return bool(self.args is not None and self.args.cdan_entropy)

    def build_modules(self):
        return [adaptation.ConditionalDiscriminator(self.hidden_dim, NUM_CLASSES, hidden=self.discriminator_width)]

    def term(self, model, source_out, target_out, target, iteration):
        return adaptation.cdan_loss(
            self.modules()[0], (source_out.features, source_out.logits), (target_out.features, target_out.logits),
            adaptation.grl_coefficient(iteration, **self.grl), entropy_conditioning=self.entropy_conditioning,
            entropy_coefficient=adaptation.grl_coefficient(iteration - 1, **self.grl),  # thuml: calc_coeff(i), 0-based
        )  # fmt: skip

    def settings(self) -> dict:
        randomized = {"randomized_above": adaptation.RANDOMIZED_ABOVE, "randomized_dim": adaptation.RANDOMIZED_DIM}
        return {**super().settings(), **randomized, "entropy_conditioning": self.entropy_conditioning}


class MCC(UnsupervisedAdaptation):
    """Minimum Class Confusion (Jin et al., ECCV 2020), as tllib's example: temperature 2.5, trade-off 1."""

    name = "mcc"
    temperature = 2.5
    reference = "thuml/Transfer-Learning-Library examples/domain_adaptation/image_classification/mcc.py"

    def term(self, model, source_out, target_out, target, iteration):
        return adaptation.mcc_loss(target_out.logits, self.temperature)

    def settings(self) -> dict:
        return {**super().settings(), "temperature": self.temperature}


class BNM(UnsupervisedAdaptation):
    """Batch Nuclear-norm Maximisation (Cui et al., CVPR 2020), as the authors' code: trade-off 1, source and
    target through the model in two calls."""

    name = "bnm"
    joint_forward = False
    reference = "cuishuhao/BNM DA/BNM/train_image.py"

    def term(self, model, source_out, target_out, target, iteration):
        return adaptation.bnm_loss(target_out.logits)


class MDD(UnsupervisedAdaptation):
    """Margin Disparity Discrepancy (Zhang et al., ICML 2019), as tllib's example: margin 4 (`--mdd_margin`),
    trade-off 1, learning rate 0.004 for the heads (0.0004 x 10), an adversarial head of the
    classifier's shape behind a warm-start gradient reversal (0 -> 0.1 over 1000 iterations)."""

    name = "mdd"
    needs_features = True
    default_learning_rate = 0.0004  # tllib's example: 0.004 for the heads after --classifier_lr_multiplier 10
    options = {"mdd_margin": 4.0}
    reference = "thuml/Transfer-Learning-Library tllib/alignment/mdd.py, examples/.../mdd.py"
    grl = {"high": 0.1, "alpha": 1.0, "max_iterations": 1000}  # tllib WarmStartGradientReverseLayer of MDD

    @property
    def margin(self) -> float:
        return self.args.mdd_margin if self.args is not None else self.options["mdd_margin"]

    def build_modules(self):
        head = nn.Linear(self.hidden_dim, NUM_CLASSES)  # initialised as tllib's adversarial head
        nn.init.normal_(head.weight, std=0.01)
        nn.init.zeros_(head.bias)
        return [head]

    def term(self, model, source_out, target_out, target, iteration):
        # tllib steps its reversal layer after each iteration: iteration 1 uses coefficient(0).
        coefficient = adaptation.grl_coefficient(iteration - 1, **self.grl)
        features = torch.cat([source_out.features, target_out.features])
        adversarial = self.modules()[0](adaptation.reverse_gradient(features, coefficient))
        source_adversarial, target_adversarial = adversarial.split([len(source_out.logits), len(target_out.logits)])
        return adaptation.mdd_loss(source_out.logits, source_adversarial, target_out.logits, target_adversarial,
                                   self.margin)  # fmt: skip

    def settings(self) -> dict:
        return {**super().settings(), "margin": self.margin, "grl": self.grl}


class FixMatch(UnsupervisedAdaptation):
    """FixMatch-style self-training (Sohn et al., NeurIPS 2020) on features: the model's confident (>= 0.9)
    predictions on the target rows supervise a perturbed copy of them (feature dropout and noise). As the
    authors' code, source, weak and strong rows go through the model in one call."""

    name = "fixmatch"
    threshold = 0.9
    reference = "google-research/fixmatch fixmatch.py; tllib examples/.../fixmatch.py (threshold 0.9)"

    def loss(self, model, batch, iteration=1):
        source, target = self.split(batch)
        strong_rows = adaptation.perturb_features(target["features"])
        source_out, weak_out, strong_out = self.forward(model, batch, extra=strong_rows)
        loss = F.cross_entropy(source_out.logits, source["labels"])
        if self.target_labels == "pseudo":
            loss = loss + F.cross_entropy(weak_out.logits, target["labels"])
        return loss + self.weight * adaptation.fixmatch_loss(weak_out.logits, strong_out.logits, self.threshold)

    def settings(self) -> dict:
        return {**super().settings(), "threshold": self.threshold}


METHODS = {
    method.name: method for method in (LaGTran, SourceOnly, TargetSupervised, DANN, CDAN, MCC, BNM, MDD, FixMatch)
}


METHOD_OPTIONS = {option: (cls, default) for cls in METHODS.values() for option, default in cls.options.items()}


def get_method_class(name: str) -> type[VideoMethod]:
    """The method registered under `name` (a one-line error naming the choices otherwise)."""
    if name not in METHODS:
        raise Ego2ExoError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    return METHODS[name]


def get_method(name: str, args=None) -> VideoMethod:
    """A new instance of the method registered under `name`, configured from the stage's arguments."""
    return get_method_class(name)(args)
