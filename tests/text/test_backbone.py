"""`ego2exo_hf/text/backbone.py`: loading the text model (new head, eager attention); the default model's copy."""

import pytest

from ego2exo_hf.constants import DEFAULT_TEXT_MODEL, NUM_CLASSES
from ego2exo_hf.errors import Ego2ExoError
from ego2exo_hf.text.backbone import bundled_minilm_path, load_text_model, resolve_checkpoint


def test_a_new_head_is_one_log_line_not_a_load_report(tiny_bert, capfd, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="ego2exo_hf"):
        _, model = load_text_model(str(tiny_bert))
    assert model.config.num_labels == NUM_CLASSES
    assert "LOAD REPORT" not in "".join(capfd.readouterr()) + caplog.text
    assert f"a new {NUM_CLASSES}-class head (classifier.bias, classifier.weight)" in caplog.text


def test_eager_attention_is_selectable_and_matches_the_default(tiny_bert):
    import torch

    tokenizer, sdpa = load_text_model(str(tiny_bert))
    assert sdpa.config._attn_implementation == "sdpa"
    _, eager = load_text_model(str(tiny_bert), attn_implementation="eager")
    assert eager.config._attn_implementation == "eager"
    sdpa.load_state_dict(eager.state_dict())
    batch = tokenizer(["a b c d", "e"], padding=True, return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(eager.eval()(**batch).logits, sdpa.eval()(**batch).logits, rtol=1e-4, atol=1e-5)


def test_default_model_resolves_to_bundled_copy():
    bundled = bundled_minilm_path()
    assert bundled is not None and (bundled / "model.safetensors").is_file()
    assert resolve_checkpoint(DEFAULT_TEXT_MODEL) == str(bundled)  # tests run with HF_HUB_OFFLINE=1
    with pytest.raises(Ego2ExoError, match="cannot load model 'distilbert-base-uncased'"):
        resolve_checkpoint("distilbert-base-uncased")  # not cached, offline: one line, no bundled fallback
    with pytest.raises(Ego2ExoError, match="model folder ./nowhere/model not found"):
        resolve_checkpoint("./nowhere/model")
