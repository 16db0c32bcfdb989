"""The video methods' plug-in point: registry, batch split, losses against a hand computation, extra modules."""

import pytest
import torch
from torch import nn

from ego2exo_hf.constants import METHOD_NAMES
from ego2exo_hf.models import FeatureClassifier, FeatureClassifierConfig
from ego2exo_hf.video.loop import build_optimizer
from ego2exo_hf.video.methods import METHODS, LaGTran, VideoMethod, get_method


def test_every_method_name_has_a_class():
    assert set(METHOD_NAMES) == set(METHODS)
    assert [get_method(name).target_labels for name in ("lagtran", "source_only", "target_supervised")] == [
        "pseudo", None, "true"
    ]  # fmt: skip


def test_losses_equal_a_hand_computation():
    torch.manual_seed(0)
    model = FeatureClassifier(FeatureClassifierConfig(feature_dim=8, hidden_dim=4)).train()
    batch = {"features": torch.randn(8, 8), "labels": torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])}
    source, target = LaGTran().split(batch)
    assert torch.equal(source["features"], batch["features"][:4]) and torch.equal(target["labels"], batch["labels"][4:])

    def cross_entropy(rows):
        logits = model(batch["features"][rows]).logits  # BatchNorm statistics of these rows only
        return nn.functional.cross_entropy(logits, batch["labels"][rows])

    def joint_cross_entropies():
        logits = model(batch["features"]).logits  # one call: BatchNorm statistics of all 8 rows
        return sum(nn.functional.cross_entropy(logits[rows], batch["labels"][rows]) for rows in halves)

    halves = (slice(0, 4), slice(4, 8))
    source_only, lagtran = get_method("source_only"), get_method("lagtran")
    alone, none = source_only.split(batch)
    assert none is None and alone is batch
    torch.testing.assert_close(source_only.loss(model, batch), cross_entropy(slice(0, 8)))
    torch.testing.assert_close(lagtran.loss(model, batch), joint_cross_entropies())  # feat_lagtran.py: one forward
    separate = cross_entropy(halves[0]) + cross_entropy(halves[1])  # feat_plain.py: one forward per domain
    torch.testing.assert_close(get_method("target_supervised").loss(model, batch), separate)
    assert not torch.allclose(separate, joint_cross_entropies())  # the two schemes differ measurably


def test_extra_modules_get_their_own_optimiser_group():
    class WithDiscriminator(VideoMethod):
        def __init__(self):
            self.discriminator = nn.Linear(4, 1)

        def modules(self):
            return [self.discriminator]

    args = type("Args", (), {"learning_rate": 0.003, "classifier_lr_multiplier": 10.0, "momentum": 0.9,
                             "weight_decay": 5e-4})()  # fmt: skip
    method = WithDiscriminator()
    optimizer = build_optimizer(FeatureClassifier(FeatureClassifierConfig()), method.modules(), args)
    assert len(optimizer.param_groups) == 2
    assert optimizer.param_groups[1]["params"] == list(method.discriminator.parameters())
    assert optimizer.param_groups[1]["lr"] == pytest.approx(0.03)
