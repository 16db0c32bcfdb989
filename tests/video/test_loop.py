"""`ego2exo_hf/video/loop.py`: the optimizer and the inverse learning-rate schedule."""

import pytest
import torch

from ego2exo_hf.models import FeatureClassifier, FeatureClassifierConfig
from ego2exo_hf.video.loop import build_optimizer, inv_schedule
from ego2exo_hf.video.methods import get_method


def test_inv_schedule_and_optimizer(make_args):
    args = get_method("lagtran", make_args("opt")).args  # the method's learning rate filled in
    model = FeatureClassifier(FeatureClassifierConfig())
    optimizer = build_optimizer(model, [], args)
    group = optimizer.param_groups[0]
    assert group["nesterov"] and group["momentum"] == 0.9 and group["weight_decay"] == 5e-4
    assert group["lr"] == pytest.approx(0.003 * 10)
    scheduler = inv_schedule(optimizer)
    assert isinstance(scheduler, torch.optim.lr_scheduler.LambdaLR)
    for _ in range(1000):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.03 * (1 + 0.001 * 1000) ** -0.75)
