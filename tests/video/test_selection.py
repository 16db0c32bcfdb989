"""Model selection: the label-free criteria against their formulas, every criterion's pick from the log, and a
run saving the iterate its criterion picks."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from ego2exo_hf.models import FeatureClassifier, FeatureClassifierConfig
from ego2exo_hf.video.loop import BestModel
from ego2exo_hf.video.pools import FeaturePool
from ego2exo_hf.video.selection import CRITERIA, label_free_scores, picks
from train_video import main as train_video


def test_label_free_scores_follow_their_formulas():
    torch.manual_seed(0)
    model = FeatureClassifier(FeatureClassifierConfig(feature_dim=6, hidden_dim=5, num_labels=4)).eval()
    target = FeaturePool(torch.randn(40, 6) + 0.5, torch.full((40,), -100))
    source = FeaturePool(torch.randn(30, 6), torch.randint(0, 4, (30,)))
    scores = label_free_scores(model.train(), target, source, seed=3)
    assert model.training  # the mode is restored
    model.eval()
    with torch.no_grad():
        p = model(target.features).logits.softmax(1).numpy()
        out_s = model(source.features, output_hidden_states=True)
        out_t = model(target.features, output_hidden_states=True)
    assert scores["target_train_entropy"] == pytest.approx(np.mean(-p * np.log(p + 1e-7)), rel=1e-5)
    q = p / np.linalg.norm(p, axis=1, keepdims=True)
    s = q @ q.T / 0.05
    np.fill_diagonal(s, -np.diag(s))
    s = np.exp(s - s.max(axis=1, keepdims=True))
    s /= s.sum(axis=1, keepdims=True)
    assert scores["target_train_snd"] == pytest.approx(np.mean(-(s * np.log(s)).sum(axis=1)), rel=1e-5)
    # DEV (You et al., 2019): importance weights from a domain classifier on features, control variate
    features, labels = out_s.hidden_states[0].numpy(), source.labels.numpy()
    fit, val = train_test_split(np.arange(30), test_size=0.33, random_state=3)
    domain = LogisticRegression(max_iter=1000).fit(np.concatenate([features[fit], out_t.hidden_states[0].numpy()]),
                                                   [1] * len(fit) + [0] * 40)  # fmt: skip
    d = domain.predict_proba(features[val])
    w = (len(fit) / 40) * d[:, 0] / d[:, 1]  # density ratio p_target / p_source
    loss = -np.log(out_s.logits.softmax(1).numpy()[val, labels[val]])
    eta = -np.cov(w * loss, w)[0, 1] / np.var(w, ddof=1)
    assert scores["source_val_dev_risk"] == pytest.approx(np.mean(w * loss) + eta * np.mean(w) - eta, rel=1e-5)


def test_each_criterion_picks_the_iteration_a_hand_computation_picks():
    records = [
        {"iteration": 10, "loss": 1.0},  # a logging-only record
        {"iteration": 50, "source_val_top1": 40, "target_val_top1": 30, "target_val_mean_class": 20,
         "target_train_entropy": 0.9, "target_train_snd": 2.0, "source_val_dev_risk": 1.5},
        {"iteration": 100, "source_val_top1": 60, "target_val_top1": 25, "target_val_mean_class": 22,
         "target_train_entropy": 0.4, "target_train_snd": 1.0, "source_val_dev_risk": 2.5},
        {"iteration": 150, "source_val_top1": 60, "target_val_top1": 50, "target_val_mean_class": 41,
         "target_train_entropy": 0.6, "target_train_snd": 3.0, "source_val_dev_risk": 0.5},
    ]  # fmt: skip
    chosen = picks(records)
    expected = {"source_val": 100, "target_val_oracle": 150, "entropy": 100, "snd": 150, "dev": 150, "last": 150}
    assert {name: pick["iteration"] for name, pick in chosen.items()} == expected  # ties: the earliest
    assert chosen["entropy"]["target_val_top1"] == 25
    model = FeatureClassifier(FeatureClassifierConfig(feature_dim=4, hidden_dim=3))
    for name in CRITERIA:
        best = BestModel(name)
        for record in records[1:]:
            best.update(model, record, record["iteration"])
        assert best.iteration == expected[name], name


@pytest.mark.parametrize("selection", ["entropy", "dev"])
def test_a_run_keeps_the_iterate_its_criterion_picks(selection, make_args):
    args = make_args(f"select_{selection}", method="mcc", pseudo_labels=None, num_iterations=90, val_every=30,
                     selection=selection)  # fmt: skip
    metrics = train_video(args)
    log = [json.loads(line) for line in (Path(args.output_dir) / "training_log.jsonl").read_text().splitlines()]
    key, sign = CRITERIA[selection]
    validated = [r for r in log if key in r]
    assert [r["iteration"] for r in validated] == [30, 60, 90]
    assert metrics["selected_iteration"] == max(validated, key=lambda r: (sign * r[key], -r["iteration"]))["iteration"]
    assert set(metrics["selection_picks"]) == {*CRITERIA, "last"}
    assert metrics["selection_picks"][selection]["iteration"] == metrics["selected_iteration"]
