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


class SkadaEstimator:
    """The classifier as skada's scorers see an estimator: `predict_proba` of raw features (and `predict_features`,
    its hidden layer)."""

    def __init__(self, model, batch_size: int = 4096):
        self.model, self.batch_size = model, batch_size

    @torch.no_grad()
    def _outputs(self, X):
        device = next(self.model.parameters()).device
        X = torch.as_tensor(np.asarray(X, dtype=np.float32))
        return [self.model(chunk.to(device), output_hidden_states=True) for chunk in X.split(self.batch_size)]

    def predict_proba(self, X, **params):
        return torch.cat([out.logits.softmax(dim=1) for out in self._outputs(X)]).float().cpu().numpy()

    def predict_features(self, X):
        return torch.cat([out.hidden_states[-1] for out in self._outputs(X)]).float().cpu().numpy()


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
    estimator = SkadaEstimator(model)
    target = target_train.features.numpy()
    source, labels = source_val.features.numpy(), source_val.labels.numpy()
    no_labels, target_domain = np.full(len(target), -1), np.full(len(target), -2)  # skada: target < 0
    scores = {
        # skada's scorers return "higher is better": the entropy comes back negated
        "target_train_entropy": -PredictionEntropyScorer()(estimator, target, no_labels, sample_domain=target_domain),
        "target_train_snd": SoftNeighborhoodDensity()(estimator, target, no_labels, sample_domain=target_domain),
        "source_val_dev_risk": dev_risk(estimator.predict_features(source), labels, estimator.predict_proba(source),
                                        estimator.predict_features(target), seed),
    }  # fmt: skip
    model.train(was_training)
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
