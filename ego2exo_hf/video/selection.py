"""Model selection: which validation point's weights to keep (`--selection`), and what every criterion would pick.

Label-free criteria score the model on data whose labels the method may use (target train rows unlabelled,
source val labelled): `entropy` (mean prediction entropy on target train, Morerio et al., ICLR 2018) and `snd`
(soft neighbourhood density, Saito et al., ICCV 2021) through skada's scorers, and `dev` (deep embedded
validation, You et al., ICML 2019), written here: skada 0.6's `DeepEmbeddedValidation` multiplies its (n, 1)
weights by (n,) losses into an n x n matrix, so its value is not the paper's. `target_val_oracle` uses target
labels: an upper bound, reported as such, never a way to choose.
"""

import numpy as np
import torch

# --selection: (training-log key, +1 when higher is better). "last" keeps the last iterate.
CRITERIA = {
    "source_val": ("source_val_top1", 1),
    "target_val_oracle": ("target_val_top1", 1),
    "entropy": ("target_train_entropy", -1),
    "snd": ("target_train_snd", 1),
    "dev": ("source_val_dev_risk", -1),
}
LABEL_FREE = ("entropy", "snd", "dev")


class _Precomputed:
    """What skada's scorers call an estimator: here its `predict_proba` returns the probabilities it is given."""

    def predict_proba(self, probabilities, **params):
        return probabilities


@torch.no_grad()
def model_outputs(model, pool, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(softmax probabilities, hidden layer) of every row of a pool, as float32 numpy."""
    device = next(model.parameters()).device
    probabilities, hidden = [], []
    for start in range(0, len(pool), batch_size):
        batch = pool.__getitems__(range(start, min(start + batch_size, len(pool))))
        extra = {"mask": batch["mask"].to(device)} if "mask" in batch else {}
        out = model(batch["features"].to(device), output_hidden_states=True, **extra)
        probabilities.append(out.logits.float().softmax(dim=1).cpu())
        hidden.append(out.hidden_states[-1].float().cpu())
    return torch.cat(probabilities).numpy(), torch.cat(hidden).numpy()


def dev_risk(source_features, source_labels, source_probabilities, target_features, seed: int = 0) -> float:
    """Deep Embedded Validation (You et al., ICML 2019, Alg. 1): a logistic domain classifier on the features of
    two thirds of source val and of target train gives density ratios w on the other third; the risk is the
    w-weighted loss there with the control variate: mean(w l) + eta mean(w) - eta, eta = -cov(w l, w) / var(w)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    fit_rows, val_rows = train_test_split(np.arange(len(source_features)), test_size=0.33, random_state=seed)
    domain = LogisticRegression(max_iter=1000).fit(
        np.concatenate([source_features[fit_rows], target_features]),
        np.r_[np.ones(len(fit_rows)), np.zeros(len(target_features))],
    )
    p_target, p_source = domain.predict_proba(source_features[val_rows]).T  # classes 0 (target), 1 (source)
    weights = (len(fit_rows) / len(target_features)) * p_target / p_source
    probabilities = source_probabilities[val_rows, source_labels[val_rows]]
    losses = -np.log(np.clip(probabilities, 1e-15, 1.0))
    weighted = weights * losses
    variance = np.var(weights, ddof=1)
    eta = -np.cov(weighted, weights)[0, 1] / variance if variance > 0 else 0.0
    return float(np.mean(weighted) + eta * np.mean(weights) - eta)


def label_free_scores(model, target_train, source_val, seed: int = 0) -> dict:
    """`{log key: value}` of the label-free criteria for `model` (in eval mode while scoring)."""
    from skada.metrics import PredictionEntropyScorer, SoftNeighborhoodDensity

    was_training = model.training
    model.eval()
    target_probabilities, target_hidden = model_outputs(model, target_train)
    source_probabilities, source_hidden = model_outputs(model, source_val)
    model.train(was_training)
    no_labels, target_domain = np.full(len(target_hidden), -1), np.full(len(target_hidden), -2)  # skada: target < 0
    entropy, snd = (
        scorer(_Precomputed(), target_probabilities, no_labels, sample_domain=target_domain)
        for scorer in (PredictionEntropyScorer(), SoftNeighborhoodDensity())
    )
    scores = {
        "target_train_entropy": -entropy,  # skada's scorers return "higher is better"
        "target_train_snd": snd,
        "source_val_dev_risk": dev_risk(source_hidden, source_val.labels.numpy(), source_probabilities, target_hidden,
                                        seed),
    }  # fmt: skip
    return {key: float(value) for key, value in scores.items()}


def picks(records: list[dict]) -> dict:
    """What each criterion picks among the validation records of the training log, with that pick's target val
    figures (analysis: the gap to the oracle is reported, never used to choose)."""
    validated = [r for r in records if "target_val_top1" in r]
    chosen = {}
    for name, (key, sign) in CRITERIA.items():
        scored = [r for r in validated if key in r]
        if scored:
            best = max(scored, key=lambda r: (sign * r[key], -r["iteration"]))  # ties: the earliest
            chosen[name] = {"iteration": best["iteration"], key: best[key], "target_val_top1": best["target_val_top1"],
                            "target_val_mean_class": best["target_val_mean_class"]}  # fmt: skip
    if validated:
        last = validated[-1]
        chosen["last"] = {"iteration": last["iteration"], "target_val_top1": last["target_val_top1"],
                          "target_val_mean_class": last["target_val_mean_class"]}  # fmt: skip
    return chosen
