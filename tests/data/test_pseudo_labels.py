"""`ego2exo evaluate-pseudo-labels` (ego2exo_hf.data.pseudo_labels) on files whose accuracy is known."""

import json

import numpy as np
import pytest

from ego2exo_hf.cli import main
from ego2exo_hf.constants import CLASS_NAMES, NUM_CLASSES
from ego2exo_hf.data import load_ego2exo, write_pseudo_labels
from ego2exo_hf.data.pseudo_labels import evaluate_pseudo_labels
from ego2exo_hf.errors import Ego2ExoError


@pytest.fixture(scope="module")
def exo_train(tiny_data_dir):
    split = load_ego2exo(tiny_data_dir, "text")["exo_train"]
    return np.asarray(split["segment_id"][:]), np.asarray(split["label"][:])


def _evaluate(path, tiny_data_dir):
    return evaluate_pseudo_labels(path, tiny_data_dir, "exo_train")


def test_true_labels_score_100(exo_train, tiny_data_dir, tmp_path):
    ids, labels = exo_train
    report = _evaluate(write_pseudo_labels(tmp_path / "pl.txt", ids, labels), tiny_data_dir)
    assert report["top1"] == report["mean_class"] == report["coverage"] == 100.0
    assert report["num_pseudo_labels"] == report["num_segments"] == len(ids)
    present = set(CLASS_NAMES[c] for c in labels)
    assert {name for name, acc in report["per_class"].items() if acc is not None} == present
    assert all(report["per_class"][name] == 100.0 for name in present)


def test_known_corruptions_give_exact_accuracy(exo_train, tiny_data_dir, tmp_path):
    ids, labels = exo_train
    corrupted = labels.copy()
    # every segment of the most frequent class is wrong, plus every 4th segment overall
    worst = np.bincount(labels).argmax()
    wrong = (labels == worst) | (np.arange(len(labels)) % 4 == 0)
    corrupted[wrong] = (labels[wrong] + 1) % NUM_CLASSES
    # and a threshold leaves out the last 10 segments
    kept = np.arange(len(ids)) < len(ids) - 10
    report = _evaluate(write_pseudo_labels(tmp_path / "pl.txt", ids[kept], corrupted[kept]), tiny_data_dir)

    right, truth = ~wrong[kept], labels[kept]
    assert report["coverage"] == pytest.approx(100 * kept.sum() / len(ids))
    assert report["num_pseudo_labels"] == kept.sum()
    assert report["top1"] == pytest.approx(100 * right.mean())
    per_class = {c: 100 * right[truth == c].mean() for c in np.unique(truth)}
    assert report["per_class"][CLASS_NAMES[worst]] == 0.0
    assert report["mean_class"] == pytest.approx(np.mean(list(per_class.values())))
    for c, acc in per_class.items():
        assert report["per_class"][CLASS_NAMES[c]] == pytest.approx(acc)
        assert report["class_counts"][CLASS_NAMES[c]] == (truth == c).sum()


def test_cli_json_and_table(exo_train, tiny_data_dir, tmp_path, capsys):
    ids, labels = exo_train
    path = write_pseudo_labels(tmp_path / "ego2exo_ego_exo.txt", ids[::2], labels[::2])
    args = ["evaluate-pseudo-labels", "--pseudo_labels", str(path), "--data_dir", str(tiny_data_dir)]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["split"] == "exo_train" and report["top1"] == 100.0  # the split named by the file: ego->exo
    assert report["num_pseudo_labels"] == len(ids[::2])
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"{len(ids[::2])} of {len(ids)} segments" in printed and "top-1 100.00%" in printed
    assert sum(name in printed for name in CLASS_NAMES) == NUM_CLASSES


@pytest.mark.parametrize(
    "case, message",
    [
        ("unknown_id", "not in the split"),
        ("other_split", "not in the split"),
        ("empty", "has no pseudo-labels"),
        ("bad_label", "outside 0..23"),
        ("bad_line", "expected '<segment_id> <category_id>'"),
        ("missing", "not found"),
        ("split", "unknown split"),
    ],
)
def test_evaluate_bad_inputs(case, message, exo_train, tiny_data_dir, tmp_path):
    ids, labels = exo_train
    path, split = tmp_path / "pl.txt", "exo_train"
    if case == "unknown_id":
        write_pseudo_labels(path, [*ids, 123], [*labels, 0])
    elif case == "other_split":
        ego = load_ego2exo(tiny_data_dir, "text")["ego_train"]
        write_pseudo_labels(path, ego["segment_id"][:], ego["label"][:])
    elif case == "empty":
        path.write_text("")
    elif case == "bad_label":
        path.write_text(f"{ids[0]} 24\n")
    elif case == "bad_line":
        path.write_text(f"{ids[0]},3\n")
    elif case == "split":
        write_pseudo_labels(path, ids, labels)
        split = "exo_test"
    with pytest.raises(Ego2ExoError, match=message):
        evaluate_pseudo_labels(path, tiny_data_dir, split)
