"""The classic adaptation methods: each loss against a hand computation on a fixed batch, gradient reversal,
and every method training on tiny data (one process, two CPU processes, resume with a discriminator)."""

import json
import math
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from video_fixture import REPO, TWO_CPU_PROCESSES, subprocess_env

from ego2exo_hf.models import FeatureClassifier, FeatureClassifierConfig
from ego2exo_hf.video import adaptation
from ego2exo_hf.video.config import VideoTrainingArguments
from ego2exo_hf.video.methods import METHODS, get_method
from train_video import main as train_video

UNSUPERVISED_METHODS = [name for name, cls in METHODS.items() if cls.pseudo_labels == "optional"]


@pytest.fixture
def batch():
    generator = torch.Generator().manual_seed(0)
    return {
        "source_features": torch.randn(6, 4, generator=generator),
        "target_features": torch.randn(6, 4, generator=generator),
        "source_logits": torch.randn(6, 3, generator=generator),
        "target_logits": torch.randn(6, 3, generator=generator),
    }


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_gradient_reversal_flips_and_scales_the_gradient():
    x = torch.randn(5, 3, requires_grad=True)
    y = adaptation.reverse_gradient(x, 0.3)
    assert torch.equal(y, x)
    y.sum().backward()
    assert torch.equal(x.grad, torch.full_like(x, -0.3))
    assert adaptation.grl_coefficient(0) == 0.0
    assert adaptation.grl_coefficient(10**6) == pytest.approx(1.0)
    assert adaptation.grl_coefficient(1000, high=0.1, alpha=1.0, max_iterations=1000) == pytest.approx(
        2 * 0.1 / (1 + math.exp(-1.0)) - 0.1
    )


def test_dann_and_cdan_losses_by_hand(batch):
    torch.manual_seed(0)
    discriminator = adaptation.DomainDiscriminator(4, hidden=8).eval()  # no dropout: a deterministic check
    fs, ft = batch["source_features"], batch["target_features"]

    def bce(logits, label):
        p = 1 / (1 + np.exp(-logits))
        return -(label * np.log(p) + (1 - label) * np.log(1 - p))

    with torch.no_grad():
        d_s, d_t = discriminator(fs).squeeze(1).numpy(), discriminator(ft).squeeze(1).numpy()
    expected = np.concatenate([bce(d_s, 1), bce(d_t, 0)]).mean()
    assert adaptation.dann_loss(discriminator, fs, ft, 1.0).item() == pytest.approx(expected, rel=1e-5)

    cdan_disc = adaptation.ConditionalDiscriminator(4, 3, hidden=8).eval()
    assert not cdan_disc.randomized
    ls, lt = batch["source_logits"], batch["target_logits"]
    p = softmax(torch.cat([ls, lt]).numpy())
    f = torch.cat([fs, ft]).numpy()
    joint = np.stack([np.outer(p[i], f[i]).ravel() for i in range(12)])  # row i: p_i (x) f_i, class-major
    with torch.no_grad():
        d = cdan_disc.discriminator(torch.from_numpy(joint).float()).squeeze(1).numpy()
    losses = np.concatenate([bce(d[:6], 1), bce(d[6:], 0)])
    got = adaptation.cdan_loss(cdan_disc, (fs, ls), (ft, lt), 1.0).item()
    assert got == pytest.approx(losses.mean(), rel=1e-5)
    h = -(p * np.log(p + 1e-5)).sum(axis=1)
    w = 1 + np.exp(-h)
    w = np.concatenate([w[:6] / w[:6].sum(), w[6:] / w[6:].sum()])  # thuml/CDAN loss.py: normalised per domain
    got = adaptation.cdan_loss(cdan_disc, (fs, ls), (ft, lt), 1.0, entropy_conditioning=True).item()
    assert got == pytest.approx((w * losses).sum() / w.sum(), rel=1e-5)


def test_mcc_bnm_mdd_fixmatch_losses_by_hand(batch):
    lt, ls = batch["target_logits"].numpy(), batch["source_logits"].numpy()
    # MCC: temperature 2.5, certainty weights, row-normalised class confusion, off-diagonal mass / classes
    p = softmax(lt / 2.5)
    h = -(p * np.log(p + 1e-5)).sum(axis=1)
    w = 1 + np.exp(-h)
    w = len(p) * w / w.sum()
    c = (p * w[:, None]).T @ p
    c = c / c.sum(axis=1)  # as in the original: each column j divided by the sum of row j
    assert adaptation.mcc_loss(batch["target_logits"]).item() == pytest.approx((c.sum() - np.trace(c)) / 3, rel=1e-5)
    # BNM: minus the mean singular value of the softmax matrix (min(6, 3) = 3 of them)
    singular = np.linalg.svd(softmax(lt), compute_uv=False)
    assert adaptation.bnm_loss(batch["target_logits"]).item() == pytest.approx(-singular.sum() / 3, rel=1e-5)
    # MDD: margin * CE(adv_s, argmax f_s) - mean log(1 - p_adv_t[argmax f_t])
    adv_s, adv_t = lt[::-1].copy(), ls[::-1].copy()  # any other logits act as the adversarial head's
    ce = -np.log(softmax(adv_s)[np.arange(6), ls.argmax(1)]).mean()
    disagreement = 1 - softmax(adv_t)[np.arange(6), lt.argmax(1)]
    got = adaptation.mdd_loss(*(torch.from_numpy(a) for a in (ls, adv_s, lt, adv_t)), margin=4.0).item()
    assert got == pytest.approx(4.0 * ce - np.log(np.minimum(disagreement + 1e-6, 1)).mean(), rel=1e-5)
    # FixMatch: only rows whose weak prediction reaches the threshold count; mean over all rows
    weak = torch.tensor([[4.0, 0.0, 0.0], [0.1, 0.0, 0.0], [0.0, 0.0, 5.0]])
    strong = torch.tensor([[1.0, 2.0, 0.0], [3.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    confident = softmax(weak.numpy()).max(axis=1) >= 0.9
    assert confident.tolist() == [True, False, True]
    ce_rows = -np.log(softmax(strong.numpy())[np.arange(3), weak.numpy().argmax(1)])
    assert adaptation.fixmatch_loss(weak, strong).item() == pytest.approx((ce_rows * confident).sum() / 3, rel=1e-5)


def test_methods_add_their_term_and_the_pseudo_label_loss():
    torch.manual_seed(0)
    model = FeatureClassifier(FeatureClassifierConfig(feature_dim=8, hidden_dim=4)).train()
    batch = {"features": torch.randn(12, 8), "labels": torch.arange(12)}  # [6 source rows | 6 target rows]
    args = VideoTrainingArguments(data_dir="d", output_dir="o", method="mcc", hidden_dim=4)
    logits = model(batch["features"]).logits  # one forward of the paired batch, as the reference's mcc.py
    source_ce = nn.functional.cross_entropy(logits[:6], batch["labels"][:6])
    target_ce = nn.functional.cross_entropy(logits[6:], batch["labels"][6:])
    plain, with_labels = get_method("mcc", args), get_method("mcc", replace(args, pseudo_labels="pl.txt"))
    assert (plain.target_labels, with_labels.target_labels) == ("unlabelled", "pseudo")
    mcc = adaptation.mcc_loss(logits[6:])
    torch.testing.assert_close(plain.loss(model, batch), source_ce + mcc)
    torch.testing.assert_close(with_labels.loss(model, batch), source_ce + target_ce + mcc)
    dann = get_method("dann", replace(args, method="dann"))
    assert [type(m).__name__ for m in dann.modules()] == ["DomainDiscriminator"] and dann.modules() is dann.modules()
    assert dann.modules()[0][0].in_features == 4
    cdan = get_method("cdan", replace(args, method="cdan")).modules()[0]
    assert not cdan.randomized and cdan.discriminator[0].in_features == 4 * 24
    wide = get_method("cdan", replace(args, method="cdan", hidden_dim=256)).modules()[0]
    assert wide.randomized and wide.discriminator[0].in_features == 1024  # 256 x 24 > 4096: randomized map
    assert get_method("mdd", replace(args, method="mdd")).modules()[0].out_features == 24
    assert get_method("mdd", replace(args, method="mdd", learning_rate=None)).args.learning_rate == 0.0004


@pytest.mark.parametrize("method", UNSUPERVISED_METHODS)
def test_every_method_trains_in_one_process(method, make_args):
    extra = {"cdan_entropy": True} if method == "cdan" else {}
    metrics = train_video(make_args(method, method=method, pseudo_labels=None, num_iterations=60, val_every=30,
                                    **extra))  # fmt: skip
    assert metrics["method"] == method and metrics["target_val"]["num_examples"] == 72
    assert all(math.isfinite(metrics[split]["top1"]) for split in ("source_val", "target_val"))


def test_every_method_trains_with_two_cpu_processes(make_args, tmp_path):
    driver = Path(__file__).with_name("launch_every_method.py")  # the runs share one launch
    command = [*TWO_CPU_PROCESSES(), str(driver), make_args("two").data_dir, str(tmp_path), *UNSUPERVISED_METHODS]
    done = subprocess.run(command, env=subprocess_env(ACCELERATE_USE_CPU="1"), capture_output=True, text=True,
                          timeout=300, cwd=REPO)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Warning" not in done.stderr, done.stderr[-3000:]
    for method in UNSUPERVISED_METHODS:
        metrics = json.loads((tmp_path / method / "metrics.json").read_text())
        assert metrics["method"] == method and metrics["num_processes"] == 2
        assert metrics["target_val"]["num_examples"] == 72


def test_resume_with_a_discriminator_gives_the_same_model(make_args):
    reference_args = make_args("dann_ref", method="dann", pseudo_labels=None, num_iterations=100, checkpoint_every=50)
    reference = train_video(reference_args)
    args = make_args("dann_resumed", method="dann", pseudo_labels=None, num_iterations=50, checkpoint_every=50)
    train_video(args)
    resumed = train_video(replace(args, num_iterations=100, resume_from_checkpoint="latest"))
    drop = ("train_ms_per_iteration",)
    assert {k: v for k, v in resumed.items() if k not in drop} == {
        k: v for k, v in reference.items() if k not in drop
    }
    a = FeatureClassifier.from_pretrained(reference_args.output_dir).state_dict()
    b = FeatureClassifier.from_pretrained(args.output_dir).state_dict()
    assert all(torch.equal(a[name], b[name]) for name in a)
