"""`ego2exo predict` (ego2exo_hf.video.prediction) on inputs whose answers are known."""

import datasets
import numpy as np
import pytest
import torch

from ego2exo_hf.cli import main
from ego2exo_hf.constants import CLASS_NAMES, NUM_CLASSES
from ego2exo_hf.data import load_ego2exo
from ego2exo_hf.models import FeatureClassifier, FeatureClassifierConfig
from ego2exo_hf.video.prediction import load_feature_classifier, predict_split

SPLIT = "ego_val"


@pytest.fixture(scope="module")
def pooled(tiny_data_dir):
    return load_ego2exo(tiny_data_dir, "pooled")


def _hand_set_classifier(features: np.ndarray, labels: np.ndarray, scale: float = 0.1) -> FeatureClassifier:
    """A nearest-class-mean classifier with weights set by hand, so its logits can be computed by hand.

    hidden unit c = scale * (x . mu_c - |mu_c|^2 / 2 + offset) (the offset keeps it positive through the
    ReLU); BatchNorm in eval mode with fresh statistics is x / sqrt(1 + eps); the output layer is the identity.
    """
    model = FeatureClassifier(FeatureClassifierConfig(hidden_dim=NUM_CLASSES)).eval()
    means = np.stack([features[labels == c].mean(0) if (labels == c).any() else np.zeros(features.shape[1])
                      for c in range(NUM_CLASSES)])  # fmt: skip
    offset = 2 * np.abs(features @ means.T).max() + (means**2).sum(1).max()
    with torch.no_grad():
        model.hidden.weight.copy_(torch.from_numpy(scale * means))
        model.hidden.bias.copy_(torch.from_numpy(scale * (offset - (means**2).sum(1) / 2)))
        model.classifier.weight.copy_(torch.eye(NUM_CLASSES))
        model.classifier.bias.zero_()
    return model


def _expected_logits(model: FeatureClassifier, features: np.ndarray) -> np.ndarray:
    weight, bias = model.hidden.weight.detach().double().numpy(), model.hidden.bias.detach().double().numpy()
    return np.maximum((features @ weight.T + bias) / np.sqrt(1 + model.norm.eps), 0)


@pytest.fixture(scope="module")
def trained_model(pooled, tmp_path_factory):
    """Hand-set weights from ego_train class means, saved and reloaded through `from_pretrained`."""
    train = pooled["ego_train"]
    model = _hand_set_classifier(np.asarray(train["features"][:]), np.asarray(train["label"][:]))
    path = tmp_path_factory.mktemp("model") / "classifier"
    model.save_pretrained(path)
    return path


def test_predictions_match_hand_computation(trained_model, pooled, tiny_data_dir):
    model = load_feature_classifier(trained_model)
    table, metrics = predict_split(model, tiny_data_dir, SPLIT, batch_size=7)  # several ragged batches

    split = pooled[SPLIT]
    features, labels = np.asarray(split["features"][:]), np.asarray(split["label"][:])
    logits = _expected_logits(model, features)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    order = np.argsort(-logits, axis=1, kind="stable")[:, :5]

    assert table["segment_id"][:] == split["segment_id"][:]
    assert table["prediction"][:] == order[:, 0].tolist()
    assert table["prediction_name"][:] == [CLASS_NAMES[i] for i in order[:, 0]]
    # top-5 by value: classes without ego_train segments share one logit, so their order among them is free
    top5 = np.asarray(table["top5_ids"][:])
    np.testing.assert_allclose(np.take_along_axis(logits, top5, 1), np.take_along_axis(logits, order, 1), rtol=1e-5)
    assert table["top5_names"][0] == [CLASS_NAMES[i] for i in order[0]]
    np.testing.assert_allclose(table["confidence"][:], probs.max(1), rtol=1e-3)
    assert table["label"][:] == labels.tolist()

    hits = order[:, 0] == labels
    assert metrics["top1"] == pytest.approx(100 * hits.mean())
    assert metrics["top5"] == pytest.approx(100 * (top5 == labels[:, None]).any(1).mean())
    per_class = [100 * hits[labels == c].mean() for c in range(NUM_CLASSES) if (labels == c).any()]
    assert metrics["mean_class"] == pytest.approx(np.mean(per_class))
    # nearest class mean on features with a class signal: far above chance, below perfect
    assert 100 / NUM_CLASSES * 2 < metrics["top1"] <= 100


def test_cli_writes_parquet_and_prints_accuracy(trained_model, tiny_data_dir, tmp_path, capsys):
    out = tmp_path / "preds" / "ego_val.parquet"
    assert main(["predict", "--model", str(trained_model), "--data_dir", str(tiny_data_dir), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    table = datasets.Dataset.from_parquet(str(out))
    assert table.column_names == [
        "segment_id", "take_uid", "prediction", "prediction_name", "confidence", "top5_ids", "top5_names", "label"
    ]  # fmt: skip
    assert table.features["prediction"].names == CLASS_NAMES
    assert len(table) == len(load_ego2exo(tiny_data_dir, "pooled")[SPLIT])
    _, metrics = predict_split(load_feature_classifier(trained_model), tiny_data_dir, SPLIT)
    assert f"top-1 {metrics['top1']:.2f}%" in printed
    assert f"{len(table)} segments" in printed
    assert [p.name for p in out.parent.iterdir()] == ["ego_val.parquet"]  # no temporary left behind


def test_auto_model_gives_the_same_predictions(trained_model, tiny_data_dir):
    from transformers import AutoModel

    auto = AutoModel.from_pretrained(trained_model).eval()
    table, _ = predict_split(auto, tiny_data_dir, "exo_val")
    again, _ = predict_split(load_feature_classifier(trained_model), tiny_data_dir, "exo_val")
    assert table["prediction"][:] == again["prediction"][:]


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing_folder", "model folder"),
        ("missing_repo", "not a Hub repo id available"),
        ("text_model", "not an Ego2Exo feature classifier"),
        ("width", "features are 1536-d but the model expects 8-d"),
        ("split", "argument --split: invalid choice: 'ego_test'"),
    ],
)
def test_predict_bad_inputs_are_one_line_errors(case, message, trained_model, tiny_data_dir, tmp_path, capsys):
    model, split = str(trained_model), SPLIT
    if case == "missing_folder":
        model = str(tmp_path / "no_such_model")
    elif case == "missing_repo":
        model = "someone/not-in-the-cache"
    elif case == "text_model":
        from transformers import BertConfig

        BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8).save_pretrained(
            tmp_path / "bert"
        )
        model = str(tmp_path / "bert")
    elif case == "width":
        FeatureClassifier(FeatureClassifierConfig(feature_dim=8)).save_pretrained(tmp_path / "narrow")
        model = str(tmp_path / "narrow")
    elif case == "split":
        split = "ego_test"
    out = tmp_path / "preds.parquet"
    capsys.readouterr()  # drop the progress bars of the set-up
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--model", model, "--data_dir", str(tiny_data_dir), "--split", split, "--out", str(out)])
    assert exit_info.value.code == 2
    last_line = capsys.readouterr().err.splitlines()[-1]  # after any "Loading weights" progress bar
    assert last_line.startswith("error: ") and message in last_line
    assert not out.exists()
