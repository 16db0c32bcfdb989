"""Video-stage methods: each turns a source batch and a target batch into the loss of one optimisation step.

A method is a small object. `target_labels` says which labels the target rows carry ("pseudo": the text stage's,
"true": the ground truth, None: no target rows are drawn). `modules()` returns any extra trainable modules (a
domain discriminator, an adversarial head): the script gives them their own optimiser group and passes them
through `accelerator.prepare`. Register a new method in `METHODS`.
"""

import torch
from torch import nn


class VideoMethod:
    """Base class: cross-entropy on the labelled source rows, nothing on the target rows."""

    name = "base"
    target_labels: str | None = None

    def modules(self) -> list[nn.Module]:
        return []

    @property
    def uses_target(self) -> bool:
        return self.target_labels is not None

    def split(self, batch: dict) -> tuple[dict, dict | None]:
        """The process's share of a paired batch, `[source rows | target rows]`, as (source, target)."""
        if not self.uses_target:
            return batch, None
        features, labels = batch["features"].chunk(2), batch["labels"].chunk(2)
        return {"features": features[0], "labels": labels[0]}, {"features": features[1], "labels": labels[1]}

    def loss(self, model, source: dict, target: dict | None) -> torch.Tensor:
        return model(source["features"], labels=source["labels"]).loss


class SourceOnly(VideoMethod):
    """Source cross-entropy alone: the no-adaptation baseline."""

    name = "source_only"


class LaGTran(VideoMethod):
    """LaGTran (Kalluri et al., ICML 2024, Eq. 2): source cross-entropy plus cross-entropy on the target rows'
    text-stage pseudo-labels. Source and target go through the model separately (per-domain BatchNorm statistics,
    as in the original)."""

    name = "lagtran"
    target_labels = "pseudo"

    def loss(self, model, source: dict, target: dict | None) -> torch.Tensor:
        return super().loss(model, source, target) + model(target["features"], labels=target["labels"]).loss


class TargetSupervised(LaGTran):
    """LaGTran's loss with the *true* target labels: the upper bound, not domain adaptation."""

    name = "target_supervised"
    target_labels = "true"


METHODS = {method.name: method for method in (LaGTran, SourceOnly, TargetSupervised)}


def get_method(name: str) -> VideoMethod:
    """A new instance of the method registered under `name`."""
    return METHODS[name]()
