"""The adaptation losses and methods against their reference implementations.

Each loss is compared, value and gradients, with an independent float64 computation written here from the
reference's code (named in a comment above each check, with the commit read): NumPy with hand-derived gradients
where short, otherwise a plain-torch transcription that computes the way the original does (Sigmoid + BCELoss,
`register_hook` for the gradient reversal, `torch.svd`, ...), never through the project's functions. The
hyper-parameters, forward schemes (joint or separate, BatchNorm statistics) and source sampling are checked
against a table of the references' values. docs/video_stage.md has the same table with the sources.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from ego2exo_hf.data.samplers import PairedBatchSampler
from ego2exo_hf.models import FeatureClassifier, FeatureClassifierConfig
from ego2exo_hf.video import adaptation
from ego2exo_hf.video.config import VideoTrainingArguments
from ego2exo_hf.video.loop import build_optimizer, inv_schedule
from ego2exo_hf.video.methods import DomainOutputs, get_method

B, HIDDEN, CLASSES = 64, 256, 24  # rows per domain, hidden layer, Ego-Exo4D keystep classes
ITERATION = 2500  # a point of the reversal schedules where the coefficient is neither 0 nor its maximum


def make_args(method, **overrides):
    values = {"data_dir": "d", "output_dir": "o", "method": method, "hidden_dim": HIDDEN}
    if method == "lagtran":
        values["pseudo_labels"] = "pl.txt"
    return VideoTrainingArguments(**{**values, **overrides})


def close(actual, expected, rel=1e-4):
    """`actual` (the project's float32) equals `expected` (the float64 reference) to `rel` of its scale."""
    actual, expected = torch.as_tensor(actual).double(), torch.as_tensor(expected).double()
    assert actual.shape == expected.shape
    scale = expected.abs().max().item()
    assert scale > 0, "a check against an all-zero reference checks nothing"
    gap = (actual - expected).abs().max().item()
    assert gap <= rel * scale, f"largest gap {gap:.3g} against a scale of {scale:.3g}"


def leaf(x, dtype=torch.float32):
    return x.detach().to(dtype).clone().requires_grad_(True)


@pytest.fixture
def rows():
    """64 source + 64 target rows: hidden-layer features (post-ReLU, as the classifier's) and logits."""
    generator = torch.Generator().manual_seed(2024)
    return {
        "fs": torch.randn(B, HIDDEN, generator=generator).relu(),
        "ft": (torch.randn(B, HIDDEN, generator=generator) + 0.3).relu(),
        "ls": 2.0 * torch.randn(B, CLASSES, generator=generator),
        "lt": 2.0 * torch.randn(B, CLASSES, generator=generator),
    }


# ---- reference transcriptions (float64) -------------------------------------------------------------------------


def thuml_calc_coeff(iter_num, high=1.0, low=0.0, alpha=10.0, max_iter=10000.0):
    """thuml/CDAN pytorch/network.py `calc_coeff` (e1f56623); `AdversarialNetwork.forward` adds 1 to `iter_num`
    before it, so training iteration k (1, 2, ...) reverses with calc_coeff(k)."""
    return 2.0 * (high - low) / (1.0 + np.exp(-alpha * iter_num / max_iter)) - (high - low) + low


def reversal_hook(coefficient):
    """thuml/CDAN pytorch/network.py and loss.py `grl_hook`: the gradient times -coefficient."""
    return lambda grad: -coefficient * grad.clone()


class ThumlAdversarialNetwork(nn.Module):
    """thuml/CDAN pytorch/network.py `AdversarialNetwork` (e1f56623): the reversal as a hook on its input, three
    Linear layers with ReLU and Dropout(0.5), a Sigmoid output; float64 copies of a project discriminator's
    weights, in eval mode (dropout off) as the project's module is in these checks."""

    def __init__(self, project: nn.Sequential, coefficient: float):
        super().__init__()
        linears = [layer for layer in project if isinstance(layer, nn.Linear)]
        assert [(lin.in_features, lin.out_features) for lin in linears[1:]] == [(1024, 1024), (1024, 1)]
        self.layers = nn.ModuleList(nn.Linear(lin.in_features, lin.out_features).double() for lin in linears)
        with torch.no_grad():
            for mine, theirs in zip(self.layers, linears):
                mine.weight.copy_(theirs.weight)
                mine.bias.copy_(theirs.bias)
        self.dropout, self.coefficient = nn.Dropout(0.5), coefficient
        self.eval()

    def forward(self, x):
        x = x * 1.0
        x.register_hook(reversal_hook(self.coefficient))
        x = self.dropout(torch.relu(self.layers[0](x)))
        x = self.dropout(torch.relu(self.layers[1](x)))
        return torch.sigmoid(self.layers[2](x))


def domain_targets(n_source, n_target):
    return torch.cat([torch.ones(n_source, 1), torch.zeros(n_target, 1)]).double()


def thuml_cdan(features, logits, ad_net, coefficient, entropy_conditioning, random_matrices=None):
    """thuml/CDAN pytorch/train_image.py (d2c3dc94: softmax_out = Softmax(outputs), entropy = Entropy(softmax_out))
    and pytorch/loss.py `CDAN` (3f879d11) with network.py `RandomLayer`, transcribed."""
    softmax_out = torch.softmax(logits, dim=1)
    g = softmax_out.detach()
    if random_matrices is None:  # the full multilinear map, row i = vec(g_i f_i^T)
        joint = torch.einsum("bc,bf->bcf", g, features).reshape(len(g), -1)
    else:  # RandomLayer([f, g], d): (f R_f) / d ** (1 / 2) * (g R_g)
        r_f, r_g = random_matrices
        joint = (features @ r_f) / math.pow(r_f.shape[1], 1.0 / 2) * (g @ r_g)
    ad_out = ad_net(joint)
    half = len(g) // 2
    targets = domain_targets(half, half)
    if not entropy_conditioning:
        return nn.BCELoss()(ad_out, targets)
    entropy = torch.sum(-softmax_out * torch.log(softmax_out + 1e-5), dim=1)  # loss.Entropy, epsilon 1e-5
    entropy.register_hook(reversal_hook(coefficient))
    entropy = 1.0 + torch.exp(-entropy)
    is_source = torch.arange(len(g)) < half
    source_weight, target_weight = entropy * is_source, entropy * ~is_source
    weight = source_weight / source_weight.sum().item() + target_weight / target_weight.sum().item()
    return torch.sum(weight.view(-1, 1) * nn.BCELoss(reduction="none")(ad_out, targets)) / weight.sum().item()


def copy_linear(project: nn.Linear) -> nn.Linear:
    copy = nn.Linear(project.in_features, project.out_features).double()
    with torch.no_grad():
        copy.weight.copy_(project.weight)
        copy.bias.copy_(project.bias)
    return copy


def linears(module):
    return [layer for layer in module.modules() if isinstance(layer, nn.Linear)]


# ---- losses: value and gradients -----------------------------------------------------------------------------


def test_dann_loss_and_gradients_match_thuml_cdan(rows):
    # Against thuml/CDAN pytorch/loss.py `DANN` (3f879d11) on torch.cat((features_source, features_target)) and
    # network.py `AdversarialNetwork` / `calc_coeff` (e1f56623), through the method (schedule and width included).
    method = get_method("dann", make_args("dann"))
    torch.manual_seed(0)
    discriminator = method.modules()[0].eval()
    fs, ft = leaf(rows["fs"]), leaf(rows["ft"])
    ours = method.adaptation_loss(None, DomainOutputs(rows["ls"], fs), DomainOutputs(rows["lt"], ft), None, ITERATION)
    ours.backward()

    coefficient = thuml_calc_coeff(ITERATION)
    ad_net = ThumlAdversarialNetwork(discriminator, coefficient)
    fs64, ft64 = leaf(rows["fs"], torch.float64), leaf(rows["ft"], torch.float64)
    theirs = nn.BCELoss()(ad_net(torch.cat((fs64, ft64))), domain_targets(B, B))
    theirs.backward()

    close(ours.detach(), theirs.detach(), rel=1e-6)
    close(fs.grad, fs64.grad)  # the reversed gradient arriving at the features: sign and coefficient
    close(ft.grad, ft64.grad)
    for mine, ref in zip(linears(discriminator), ad_net.layers):
        close(mine.weight.grad, ref.weight.grad)
        close(mine.bias.grad, ref.bias.grad)


@pytest.mark.parametrize(
    "features_dim, entropy_conditioning",
    [(16, False), (16, True), (HIDDEN, False), (HIDDEN, True)],
    ids=["full-map", "full-map-entropy", "randomized", "randomized-entropy"],
)
def test_cdan_loss_and_gradients_match_thuml_cdan(rows, features_dim, entropy_conditioning):
    # Against thuml/CDAN pytorch/loss.py `CDAN` (3f879d11), train_image.py (d2c3dc94) and network.py `RandomLayer`
    # (e1f56623): 16 x 24 = 384 <= 4096 takes the full map, 256 x 24 = 6144 the randomized one (1024-d).
    method = get_method("cdan", make_args("cdan", hidden_dim=features_dim, cdan_entropy=entropy_conditioning))
    torch.manual_seed(0)
    conditional = method.modules()[0].eval()
    assert conditional.randomized == (features_dim * CLASSES > 4096)
    fs, ft = leaf(rows["fs"][:, :features_dim]), leaf(rows["ft"][:, :features_dim])
    ls, lt = leaf(rows["ls"]), leaf(rows["lt"])
    ours = method.adaptation_loss(None, DomainOutputs(ls, fs), DomainOutputs(lt, ft), None, ITERATION)
    ours.backward()

    coefficient = thuml_calc_coeff(ITERATION)
    ad_net = ThumlAdversarialNetwork(conditional.discriminator, coefficient)
    features = leaf(torch.cat([rows["fs"], rows["ft"]])[:, :features_dim], torch.float64)
    logits = leaf(torch.cat([rows["ls"], rows["lt"]]), torch.float64)
    matrices = None
    if conditional.randomized:
        matrices = (conditional.random_features.double(), conditional.random_predictions.double())
        assert matrices[0].shape == (features_dim, 1024) and matrices[1].shape == (CLASSES, 1024)
    # train_image.py reverses the entropy by calc_coeff(i), i the 0-based loop index; the discriminator's own
    # iter_num is already i + 1 when it runs.
    theirs = thuml_cdan(features, logits, ad_net, thuml_calc_coeff(ITERATION - 1), entropy_conditioning, matrices)
    theirs.backward()

    close(ours.detach(), theirs.detach(), rel=1e-6)
    close(torch.cat([fs.grad, ft.grad]), features.grad)
    if entropy_conditioning:  # the predictions are detached in the map; only the entropy weights reach the logits
        close(torch.cat([ls.grad, lt.grad]), logits.grad)
        assert (torch.cat([ls.grad, lt.grad]) * logits.grad).sum() > 0  # the same (reversed) sign
    else:
        assert ls.grad is None and logits.grad is None
    for mine, ref in zip(linears(conditional.discriminator), ad_net.layers):
        close(mine.weight.grad, ref.weight.grad)
        close(mine.bias.grad, ref.bias.grad)


def test_mcc_loss_and_gradient_match_tllib_and_lagtran(rows):
    # Against thuml/Transfer-Learning-Library tllib/self_training/mcc.py `MinimumClassConfusionLoss` (2b1f58c8)
    # and LaGTran_ICML2024 losses/loss.py `MCCLoss` (66847844; entropy with 1e-5 as its `EntropyLoss`).
    lt = leaf(rows["lt"])
    ours = adaptation.mcc_loss(lt, temperature=2.5)
    ours.backward()

    z = leaf(rows["lt"], torch.float64)
    p = torch.softmax(z / 2.5, dim=1)
    h = (-p * torch.log(p + 1e-5)).sum(1).detach()
    w = 1.0 + torch.exp(-h)
    w = len(p) * w / w.sum()
    confusion = torch.einsum("b,bi,bj->ij", w, p, p)
    row_sums = confusion.sum(dim=1)
    normalised = confusion / row_sums[None, :]  # the originals' broadcast: entry (i, j) over the sum of row j
    theirs = (normalised.sum() - normalised.diagonal().sum()) / CLASSES
    theirs.backward()
    close(ours.detach(), theirs.detach(), rel=1e-6)
    close(lt.grad, z.grad)


def test_bnm_loss_and_gradient_match_the_authors_code(rows):
    # Value: cuishuhao/BNM DA/BNM/train_image.py (ba8de720): _, s_tgt, _ = torch.svd(softmax_tgt);
    # transfer_loss = -torch.mean(s_tgt). Gradient by hand: d(-mean s)/dA = -U V^T / k (thin SVD, k = 24),
    # then through the softmax: dL/dz = p * (G - sum(G * p, axis=1)).
    lt = leaf(rows["lt"])
    ours = adaptation.bnm_loss(lt)
    ours.backward()

    softmax_tgt = torch.softmax(rows["lt"].double(), dim=1)
    _, s_tgt, _ = torch.svd(softmax_tgt)
    close(ours.detach(), -torch.mean(s_tgt), rel=1e-6)

    a = softmax_tgt.numpy()
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    assert len(s) == min(B, CLASSES) and s.min() > 1e-6  # distinct, non-zero singular values: differentiable
    g = -(u @ vt) / len(s)
    close(lt.grad, a * (g - (g * a).sum(axis=1, keepdims=True)))


def test_mdd_loss_and_gradients_match_tllib_and_lagtran(rows):
    # Against thuml/Transfer-Learning-Library tllib/alignment/mdd.py (9fcd99cb): ClassificationMarginDisparity-
    # Discrepancy (margin 4, shift_log offset 1e-6), GeneralModule's WarmStartGradientReverseLayer (alpha 1, lo 0,
    # hi 0.1, max_iters 1000, stepped after each forward: iteration k reverses with iter_num = k - 1), and
    # examples/.../mdd.py (72d4799e): transfer_loss = -mdd(y_s, y_s_adv, y_t, y_t_adv), trade-off 1.
    method = get_method("mdd", make_args("mdd"))
    torch.manual_seed(0)
    head = method.modules()[0]
    with torch.no_grad():  # a head that has trained a little: predictions away from uniform
        head.weight.normal_(0.0, 0.1)
        head.bias.normal_(0.0, 0.1)
    fs, ft, ls, lt = (leaf(rows[key]) for key in ("fs", "ft", "ls", "lt"))
    ours = method.adaptation_loss(None, DomainOutputs(ls, fs), DomainOutputs(lt, ft), None, ITERATION)
    ours.backward()

    iter_num = ITERATION - 1
    coefficient = 2.0 * 0.1 / (1.0 + np.exp(-1.0 * iter_num / 1000)) - 0.1
    adv_head = copy_linear(head)
    features = leaf(torch.cat([rows["fs"], rows["ft"]]), torch.float64)
    features_adv = features * 1.0
    features_adv.register_hook(reversal_hook(coefficient))
    y_s_adv, y_t_adv = adv_head(features_adv).chunk(2)
    _, h_s = rows["ls"].double().max(dim=1)
    _, h_t = rows["lt"].double().max(dim=1)
    source_disparity = F.cross_entropy(y_s_adv, h_s, reduction="none")
    shifted = torch.log(torch.clamp(1.0 - torch.softmax(y_t_adv, dim=1) + 1e-6, max=1.0))  # shift_log
    target_disparity = shifted.gather(1, h_t[:, None]).squeeze(1)  # -nll_loss(shift_log(...), prediction)
    mdd = (-4.0 * source_disparity + target_disparity).mean()
    theirs = -mdd
    theirs.backward()

    close(ours.detach(), theirs.detach(), rel=1e-6)
    close(torch.cat([fs.grad, ft.grad]), features.grad)  # reversed through the warm-start layer
    close(head.weight.grad, adv_head.weight.grad)
    close(head.bias.grad, adv_head.bias.grad)
    assert ls.grad is None and lt.grad is None  # the main classifier enters only through argmax

    # LaGTran_ICML2024 losses/loss.py `MDDLoss` (66847844): coeff x CE(src_adv, argmax src) + nll(log(1 - softmax
    # (tgt_adv) + 1e-6), argmax tgt), with configs/mdd.yml `coeff: 2`: the coefficient is the margin (--mdd_margin).
    with torch.no_grad():
        s_adv, t_adv = head(torch.cat([rows["fs"], rows["ft"]]).double().float()).double().chunk(2)
        lagtran = 2.0 * F.cross_entropy(s_adv, h_s) + F.nll_loss(torch.log(1 - torch.softmax(t_adv, 1) + 1e-6), h_t)
        project = adaptation.mdd_loss(rows["ls"], s_adv.float(), rows["lt"], t_adv.float(), margin=2.0)
    close(project, lagtran, rel=1e-5)

    # tllib's shift_log clamps log(1 - p + 1e-6) at log(1) = 0: a target row whose adversarial probability of the
    # predicted class is below 1e-6 adds nothing and sends no gradient (LaGTran's MDDLoss has no clamp: ~1e-6).
    t_adv = leaf(torch.zeros(1, CLASSES))
    with torch.no_grad():
        t_adv[0, 3] = -30.0  # p = e^-30 / (23 + e^-30) < 1e-6 for the predicted class 3
    predicted = torch.zeros(1, CLASSES)
    predicted[0, 3] = 1.0
    far = adaptation.mdd_loss(predicted, torch.zeros(1, CLASSES), predicted, t_adv, margin=0.0)
    far.backward()
    assert far.item() == 0.0 and torch.count_nonzero(t_adv.grad) == 0


def test_fixmatch_loss_and_gradient_match_google_research(rows):
    # google-research/fixmatch fixmatch.py (3ae68002): pseudo_labels = stop_gradient(softmax(logits_weak));
    # loss_xeu = mean(CE(argmax pseudo_labels, logits_strong) * (max pseudo_labels >= confidence)).
    # Gradient by hand: (softmax(strong) - onehot) * mask / N for the strong rows, none for the weak ones.
    generator = torch.Generator().manual_seed(7)
    weak = rows["lt"].clone()
    confident = torch.arange(B) % 2 == 0
    weak[confident, torch.randint(0, CLASSES, (int(confident.sum()),), generator=generator)] += 8.0
    weak, strong = leaf(weak), leaf(rows["lt"] + 0.5 * torch.randn(B, CLASSES, generator=generator))
    ours = adaptation.fixmatch_loss(weak, strong, threshold=0.9)
    ours.backward()

    def softmax(x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    pseudo = softmax(weak.detach().double().numpy())
    labels, mask = pseudo.argmax(axis=1), (pseudo.max(axis=1) >= 0.9).astype(np.float64)
    assert 0 < mask.sum() < B  # both confident and unconfident rows
    q = softmax(strong.detach().double().numpy())
    rows_ce = -np.log(q[np.arange(B), labels])
    close(ours.detach(), (rows_ce * mask).mean(), rel=1e-6)
    onehot = np.eye(CLASSES)[labels]
    close(strong.grad, (q - onehot) * mask[:, None] / B)
    assert weak.grad is None  # the weak view is the pseudo-label: stop-gradient


# ---- the two sides of the adversarial game --------------------------------------------------------------------


def _adversarial_setup(name, rows):
    """(loss of the current inputs, extra module, feature leaves, un-reversed loss as a function of features)."""
    method = get_method(name, make_args(name))
    torch.manual_seed(0)
    module = method.modules()[0].eval()
    ls, lt = rows["ls"], rows["lt"]

    def loss_at(fs, ft, iteration=ITERATION):
        return method.adaptation_loss(None, DomainOutputs(ls, fs), DomainOutputs(lt, ft), None, iteration)

    def plain_loss(fs, ft):  # the same loss with no reversal: what the extra module minimises
        if name == "dann":
            logits = module(torch.cat([fs, ft])).squeeze(1)
            return F.binary_cross_entropy_with_logits(logits, torch.cat([torch.ones(B), torch.zeros(B)]))
        if name == "cdan":
            return adaptation.cdan_loss(module, (fs, ls), (ft, lt), -1.0)  # reversal by -1: the identity
        s_adv, t_adv = module(torch.cat([fs, ft])).chunk(2)
        return adaptation.mdd_loss(ls, s_adv, lt, t_adv, margin=4.0)

    coefficient = {
        "dann": adaptation.grl_coefficient(ITERATION, **method.grl),
        "cdan": adaptation.grl_coefficient(ITERATION, **method.grl),
        "mdd": adaptation.grl_coefficient(ITERATION - 1, **method.grl),
    }[name]
    return method, module, loss_at, plain_loss, coefficient


@pytest.mark.parametrize("name", ["dann", "cdan", "mdd"])
def test_extra_module_and_features_receive_opposite_gradients(rows, name):
    method, module, loss_at, plain_loss, coefficient = _adversarial_setup(name, rows)
    assert coefficient > 0
    fs, ft = leaf(rows["fs"]), leaf(rows["ft"])
    loss = loss_at(fs, ft)
    loss.backward()
    with torch.no_grad():
        plain = plain_loss(rows["fs"], rows["ft"])
        torch.testing.assert_close(loss, plain)  # the reversal is the identity forward

    # The features' gradient is minus the coefficient times the gradient of the un-reversed loss.
    fs0, ft0 = leaf(rows["fs"]), leaf(rows["ft"])
    plain_grads = torch.autograd.grad(plain_loss(fs0, ft0), (fs0, ft0))
    close(fs.grad, -coefficient * plain_grads[0])
    close(ft.grad, -coefficient * plain_grads[1])

    # One SGD step of the extra module along its gradient lowers the loss; one of the features raises it.
    step = 0.05 if name == "mdd" else 0.01
    with torch.no_grad():
        for parameter in module.parameters():
            parameter -= step * parameter.grad
        assert loss_at(rows["fs"], rows["ft"]) < loss
        for parameter in module.parameters():
            parameter += step * parameter.grad  # back to where it was
        torch.testing.assert_close(loss_at(rows["fs"], rows["ft"]), loss)
        moved = loss_at(rows["fs"] - 1.0 * fs.grad, rows["ft"] - 1.0 * ft.grad)
        assert moved > loss


# ---- hyper-parameters against the references ------------------------------------------------------------------

# For every value, where it comes from (docs/video_stage.md, "References", has the same table with the commits).
# forward: "joint" = one model call on [source rows | target rows]; "separate" = one call per domain.
REFERENCE = {
    # LaGTran_ICML2024 src/trainer/feat_lagtran.py (torch.cat), src/args.py (lr 0.003, --cbs_source 1, batch 64)
    "lagtran": {"forward": "joint", "learning_rate": 0.003},
    # LaGTran src/trainer/feat_plain.py: a forward of the source rows only
    "source_only": {"forward": "joint", "learning_rate": 0.003},
    # LaGTran src/trainer/feat_plain.py with --use_target 1: model_cls(feat_src), then model_cls(feat_tgt)
    "target_supervised": {"forward": "separate", "learning_rate": 0.003},
    # thuml/CDAN network.py AdversarialNetwork (calc_coeff high 1, alpha 10, max_iter 10000; in -> 1024 -> 1024
    # -> 1; get_parameters lr_mult 10), train_image.py trade_off 1; joint as LaGTran UDA_trainer/dann.py and
    # tllib's examples/.../dann.py (thuml's train_image.py itself forwards each domain separately)
    "dann": {
        "forward": "joint",
        "trade_off": 1.0,
        "grl": {"high": 1.0, "alpha": 10.0, "max_iterations": 10000},
        "discriminator_width": 1024,
        "learning_rate": 0.003,
        "extra_lr_multiplier": 10.0,
    },
    # as dann, plus thuml/CDAN RandomLayer (random_dim 1024) used above 4096 (the CDAN paper; LaGTran's
    # configs/cdan.yml comment "use random layer when d > 4096"); entropy conditioning off unless --cdan_entropy
    "cdan": {
        "forward": "joint",
        "trade_off": 1.0,
        "grl": {"high": 1.0, "alpha": 10.0, "max_iterations": 10000},
        "discriminator_width": 1024,
        "learning_rate": 0.003,
        "extra_lr_multiplier": 10.0,
        "randomized_above": 4096,
        "randomized_dim": 1024,
        "entropy_conditioning": False,
    },
    # tllib examples/.../mcc.py: temperature 2.5, trade-off 1, torch.cat((x_s, x_t))
    "mcc": {"forward": "joint", "trade_off": 1.0, "temperature": 2.5, "learning_rate": 0.003},
    # cuishuhao/BNM DA/BNM/train_image.py: trade_off 1, base_network(inputs_source) and (inputs_target) apart
    "bnm": {"forward": "separate", "trade_off": 1.0, "learning_rate": 0.003},
    # tllib alignment/mdd.py + examples/.../mdd.py: margin 4, trade-off 1, WarmStartGradientReverseLayer(alpha 1,
    # hi 0.1, max_iters 1000), heads at the lr 0.004 = LaGTran configs/mdd.yml init_lr 0.0004 x 10; joint forward
    "mdd": {
        "forward": "joint",
        "trade_off": 1.0,
        "margin": 4.0,
        "grl": {"high": 0.1, "alpha": 1.0, "max_iterations": 1000},
        "learning_rate": 0.0004,
        "extra_lr_multiplier": 10.0,
    },
    # google-research/fixmatch fixmatch.py (one forward of labelled, weak, strong; wu 1), tllib examples/.../
    # fixmatch.py threshold 0.9 (the paper's 0.95 is google-research's --confidence default)
    "fixmatch": {"forward": "joint", "trade_off": 1.0, "threshold": 0.9, "learning_rate": 0.003},
}
SHARED = {"classifier_lr_multiplier": 10.0, "momentum": 0.9, "weight_decay": 5e-4, "lr_gamma": 0.001,
          "lr_power": 0.75, "batch_size": 64, "source_sampling": "balanced"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_hyper_parameters_match_the_reference_table(name):
    expected = REFERENCE[name]
    method = get_method(name, make_args(name))
    args = method.args  # the method's defaults filled in
    settings = method.settings()
    assert settings["joint_forward"] == (expected["forward"] == "joint") == method.joint_forward
    for key in ("trade_off", "grl", "discriminator_width", "margin", "temperature", "threshold", "randomized_above",
                "randomized_dim", "entropy_conditioning"):  # fmt: skip
        assert settings.get(key) == expected.get(key), key
    if "trade_off" in expected:
        assert method.weight == expected["trade_off"]
    for key in ("grl", "discriminator_width", "temperature", "threshold"):
        if key in expected:
            assert getattr(method, key) == expected[key]  # the class attribute the loss reads
    assert args.learning_rate == expected["learning_rate"]
    assert {key: getattr(args, key) for key in SHARED} == SHARED

    # The optimiser: the classifier at 10 x the base lr, each extra module in its own group at the same 10 x.
    model = FeatureClassifier(FeatureClassifierConfig(hidden_dim=HIDDEN))
    torch.manual_seed(0)
    modules = method.modules()
    optimizer = build_optimizer(model, modules, args)
    groups = optimizer.param_groups
    assert len(groups) == 1 + len(modules)
    assert groups[0]["params"] == list(model.parameters())
    assert groups[0]["lr"] == pytest.approx(args.learning_rate * 10.0)
    for group, module in zip(groups[1:], modules):
        assert group["params"] == list(module.parameters())
        assert group["lr"] == pytest.approx(args.learning_rate * expected["extra_lr_multiplier"])
    for group in groups:
        assert (group["momentum"], group["weight_decay"], group["nesterov"]) == (0.9, 5e-4, True)
    factor = inv_schedule(optimizer, args.lr_gamma, args.lr_power).lr_lambdas[0]
    assert factor(1000) == pytest.approx((1 + 0.001 * 1000) ** -0.75)  # lr = base (1 + 0.001 it) ** -0.75

    # The extra modules' shapes: thuml's AdversarialNetwork widths (dropout 0.5), MDD's head of the classifier's shape.
    if name in ("dann", "cdan"):
        discriminator = modules[0] if name == "dann" else modules[0].discriminator
        widths = [(layer.in_features, layer.out_features) for layer in linears(discriminator)]
        in_features = HIDDEN if name == "dann" else 1024  # 256 x 24 > 4096: the randomized map's 1024
        assert widths == [(in_features, 1024), (1024, 1024), (1024, 1)]
        assert [layer.p for layer in discriminator if isinstance(layer, nn.Dropout)] == [0.5, 0.5]
    if name == "mdd":
        assert (modules[0].in_features, modules[0].out_features) == (HIDDEN, CLASSES)


def test_options_that_switch_reference_settings():
    # LaGTran configs/mdd.yml `coeff: 2` (the margin, by losses/loss.py MDDLoss) -> --mdd_margin 2.
    assert get_method("mdd", make_args("mdd", mdd_margin=2.0)).settings()["margin"] == 2.0
    # thuml/CDAN train_image.py "CDAN+E" -> --cdan_entropy.
    assert get_method("cdan", make_args("cdan", cdan_entropy=True)).settings()["entropy_conditioning"] is True
    # LaGTran src/args.py --cbs_source 0 -> --source_sampling natural.
    assert make_args("lagtran", source_sampling="natural").source_sampling == "natural"


# ---- forward schemes and BatchNorm statistics -----------------------------------------------------------------


@pytest.fixture
def paired():
    """A model in training mode and the process's paired batch [64 source rows | 64 target rows]."""
    torch.manual_seed(0)
    model = FeatureClassifier(FeatureClassifierConfig(feature_dim=48, hidden_dim=HIDDEN)).train()
    generator = torch.Generator().manual_seed(3)
    features = torch.cat([torch.randn(B, 48, generator=generator), 1.5 + 2 * torch.randn(B, 48, generator=generator)])
    labels = torch.randint(0, CLASSES, (2 * B,), generator=generator)
    return model, {"features": features, "labels": labels}


def _expected(method, model, batch, outputs_of, iteration):
    """The method's loss on outputs the test computed itself (one forward or two)."""
    source, target = batch["features"][:B], batch["features"][B:]
    s, t = outputs_of(source, target)
    loss = F.cross_entropy(s.logits, batch["labels"][:B])
    if method.target_labels in ("pseudo", "true"):
        loss = loss + F.cross_entropy(t.logits, batch["labels"][B:])
    extra = method.adaptation_loss(model, s, t, None, iteration)
    return loss if extra is None else loss + extra


SEPARATE = ("target_supervised", "bnm")  # feat_plain.py (use_target) and cuishuhao/BNM forward per domain


@pytest.mark.parametrize("name", ["lagtran", "target_supervised", "dann", "cdan", "mdd", "mcc", "bnm"])
def test_forward_scheme_and_batchnorm_statistics(paired, name):
    model, batch = paired
    method = get_method(name, make_args(name, hidden_dim=HIDDEN))
    torch.manual_seed(1)
    for module in method.modules():
        module.eval()  # dropout off: the loss is a function of the batch

    def joint(source, target):
        out = model(torch.cat([source, target]), output_hidden_states=True)
        return [DomainOutputs(lg, h) for lg, h in zip(out.logits.chunk(2), out.hidden_states[-1].chunk(2))]

    def separate(source, target):
        outs = [model(x, output_hidden_states=True) for x in (source, target)]
        return [DomainOutputs(out.logits, out.hidden_states[-1]) for out in outs]

    got = method.loss(model, batch, ITERATION)
    as_joint = _expected(method, model, batch, joint, ITERATION)
    as_separate = _expected(method, model, batch, separate, ITERATION)
    assert (as_joint - as_separate).abs() > 1e-3  # BatchNorm in training mode tells the schemes apart
    torch.testing.assert_close(got, as_separate if name in SEPARATE else as_joint)

    # The running statistics after one training call (momentum 0.1, from zeros).
    model.norm.reset_running_stats()
    method.loss(model, batch, ITERATION)
    with torch.no_grad():
        pre = model.hidden(batch["features"])  # the BatchNorm's input
        if name in SEPARATE:  # two updates: source, then target
            expected, updates = 0.1 * pre[B:].mean(0) + 0.9 * 0.1 * pre[:B].mean(0), 2
        else:  # one update with the mean over the joint 128 rows
            expected, updates = 0.1 * pre.mean(0), 1
    torch.testing.assert_close(model.norm.running_mean, expected)
    assert model.norm.num_batches_tracked.item() == updates


def test_fixmatch_forwards_source_weak_and_strong_rows_once(paired):
    # google-research/fixmatch fixmatch.py: one forward of tf.concat([labelled, weak, strong]) in training mode.
    model, batch = paired
    batch["labels"][B:] = -100  # unlabelled target rows
    method = get_method("fixmatch", make_args("fixmatch"))
    source, target = batch["features"][:B], batch["features"][B:]

    def strong_view():
        torch.manual_seed(5)  # the perturbation's draws, as inside method.loss
        return adaptation.perturb_features(target)

    model.norm.reset_running_stats()
    torch.manual_seed(5)
    got = method.loss(model, batch)
    strong = strong_view()
    assert not torch.allclose(strong, target)
    with torch.no_grad():
        rows = torch.cat([source, target, strong])
        expected_mean = 0.1 * model.hidden(rows).mean(0)
    torch.testing.assert_close(model.norm.running_mean, expected_mean)
    assert model.norm.num_batches_tracked.item() == 1

    s, w, st = model(rows).logits.split([B, B, B])
    as_joint = F.cross_entropy(s, batch["labels"][:B]) + adaptation.fixmatch_loss(w, st, 0.9)
    s, w, st = (model(x).logits for x in (source, target, strong))
    as_separate = F.cross_entropy(s, batch["labels"][:B]) + adaptation.fixmatch_loss(w, st, 0.9)
    assert (as_joint - as_separate).abs() > 1e-3
    torch.testing.assert_close(got, as_joint)


# ---- source sampling ------------------------------------------------------------------------------------------


def test_source_sampling_natural_and_balanced():
    # LaGTran src/args.py --cbs_source 1 (default): src/loader/sampler.py BalancedSampler, multinomial with
    # weights 1 / class count and replacement; --cbs_source 0: the DataLoader's shuffled epochs.
    counts = np.arange(1, CLASSES + 1) * 10  # class c has 10 (c + 1) rows: 3000 in all, imbalanced 24:1
    labels = torch.from_numpy(np.repeat(np.arange(CLASSES), counts))
    labels = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))]
    n = len(labels)
    epoch = n // 60  # 50 iterations of 60 rows = one pass over the 3000 source rows

    natural = PairedBatchSampler(labels, 100, batch_size=60, num_iterations=epoch, seed=1, class_balanced=False)
    drawn = torch.cat([natural.batch(i)[:60] for i in range(epoch)])
    assert sorted(drawn.tolist()) == list(range(n))  # each source row once per epoch
    assert not torch.equal(drawn, torch.arange(n))  # shuffled
    assert all(((natural.batch(i)[60:] >= n) & (natural.batch(i)[60:] < n + 100)).all() for i in range(3))

    balanced = PairedBatchSampler(labels, 100, batch_size=60, num_iterations=200, seed=1, class_balanced=True)
    drawn = torch.cat([balanced.batch(i)[:60] for i in range(200)])
    per_class = torch.bincount(labels[drawn], minlength=CLASSES).double()
    assert per_class.min() > 0.75 * per_class.mean() and per_class.max() < 1.25 * per_class.mean()
    natural_per_class = torch.bincount(labels[torch.cat([natural.batch(i)[:60] for i in range(epoch)])])
    assert natural_per_class.tolist() == counts.tolist()  # the data's own 24:1 imbalance
