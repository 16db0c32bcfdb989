"""`ego2exo_hf/models/feature_classifier.py`: the head's init, Auto-class reload, a `frames` model's mean head."""

import pytest
import torch

from ego2exo_hf.constants import CLASS_NAMES, FEATURE_DIM, NUM_CLASSES
from ego2exo_hf.data import load_ego2exo
from ego2exo_hf.models import FeatureClassifier, FeatureClassifierConfig
from ego2exo_hf.video.sequences import sequence_tensors


def test_model_head_init_and_auto_reload(tmp_path):
    from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

    model = FeatureClassifier(FeatureClassifierConfig())
    assert [type(m).__name__ for m in (model.hidden, model.norm, model.activation, model.classifier)] == [
        "Linear", "GlobalBatchNorm1d", "ReLU", "Linear"
    ]  # fmt: skip
    assert model.hidden.weight.shape == (256, FEATURE_DIM) and model.classifier.weight.shape == (NUM_CLASSES, 256)
    assert model.hidden.weight.std().item() == pytest.approx(0.005, rel=0.05)
    assert torch.all(model.hidden.bias == 0.1) and torch.all(model.classifier.bias == 0)
    assert model.classifier.weight.std().item() == pytest.approx(0.01, rel=0.1)
    assert model.config.id2label[0] == CLASS_NAMES[0] and model.config.label2id[CLASS_NAMES[23]] == 23

    model.save_pretrained(tmp_path)
    assert {"config.json", "model.safetensors"} <= {p.name for p in tmp_path.iterdir()}
    assert AutoConfig.from_pretrained(tmp_path).model_type == "ego2exo_feature_classifier"
    for auto in (AutoModel, AutoModelForSequenceClassification):
        reloaded = auto.from_pretrained(tmp_path).eval()
        assert isinstance(reloaded, FeatureClassifier)
        features = torch.randn(5, FEATURE_DIM)
        torch.testing.assert_close(reloaded(features).logits, model.eval()(features).logits)

    out = model.train()(torch.randn(4, FEATURE_DIM), labels=torch.tensor([0, 1, 2, 3]))
    assert out.logits.shape == (4, NUM_CLASSES) and out.loss.ndim == 0
    with pytest.raises(ValueError, match="768-d"):
        model(torch.randn(4, 768))


def test_frames_mean_head_equals_pooled_input(tiny_data_dir):
    """`--config frames --head mean` is the paper's pooled input: the same logits for the same weights."""
    from ego2exo_hf.models import FeatureClassifier, FeatureClassifierConfig

    pooled_model = FeatureClassifier(FeatureClassifierConfig()).eval()
    frames_model = FeatureClassifier(FeatureClassifierConfig(head="mean")).eval()
    frames_model.load_state_dict(pooled_model.state_dict())
    pool = sequence_tensors(load_ego2exo(tiny_data_dir, "frames")["ego_val"], "ego_val", "f", FEATURE_DIM)
    pooled = load_ego2exo(tiny_data_dir, "pooled")["ego_val"].with_format("torch", columns=["features"])[:]
    with torch.no_grad():
        expected = pooled_model(pooled["features"]).logits
        torch.testing.assert_close(frames_model(pool.features, mask=pool.mask).logits, expected, atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match=r"this model takes \(batch, windows, features\)"):
        frames_model(pooled["features"])
    with pytest.raises(ValueError, match=r"this model takes \(batch, features\)"):
        pooled_model(pool.features)
