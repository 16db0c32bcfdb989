"""ego2exo_hf.models.weights: weights that are truncated, swapped or do not fit config.json end in one line."""

import json
import re

import pytest
from safetensors.torch import save_file
from transformers import AutoModel

from ego2exo_hf.cli import main
from ego2exo_hf.errors import Ego2ExoError
from ego2exo_hf.models import FeatureClassifier, FeatureClassifierConfig
from ego2exo_hf.models.weights import check_weights


@pytest.fixture
def folder(tmp_path):
    FeatureClassifier(FeatureClassifierConfig(feature_dim=8, hidden_dim=16)).save_pretrained(tmp_path / "model")
    return tmp_path / "model"


def _edit_config(folder, **values):
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **values}))


DAMAGE = {  # what is done to the folder -> what the one line names
    "config edited": (lambda f: _edit_config(f, hidden_dim=32), "model.safetensors: tensor hidden.weight is "
                      "[16, 8] but the model's configuration makes it [32, 8]"),
    "a head added to the config": (lambda f: _edit_config(f, head="attention"),
                                   "model.safetensors: no tensor pooling.attention.weight (3 of the model's 12"),
    "weights truncated": (lambda f: (f / "model.safetensors").write_bytes((f / "model.safetensors").read_bytes()[:99]),
                          "model.safetensors: unreadable weights, truncated or not a safetensors file"),
    "weights of another model": (lambda f: save_file(FeatureClassifier(FeatureClassifierConfig(
        feature_dim=8, hidden_dim=16, head="mean")).state_dict() | {"extra": __import__("torch").zeros(1)},
        str(f / "model.safetensors")), "model.safetensors: tensor extra is not part of the model (1 extra tensors)"),
}  # fmt: skip


@pytest.mark.parametrize("damage", DAMAGE)
def test_every_loading_path_fails_in_one_line(folder, tmp_path, capsys, damage):
    spoil, message = DAMAGE[damage]
    FeatureClassifier.from_pretrained(folder)  # intact: loads
    spoil(folder)
    capsys.readouterr()
    for load in (FeatureClassifier.from_pretrained, AutoModel.from_pretrained):
        with pytest.raises(Ego2ExoError, match=re.escape(f"{folder}/{message}")) as err:
            load(folder)
        assert "\n" not in str(err.value)
    out = tmp_path / "preds.parquet"
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "--model", str(folder), "--data_dir", str(tmp_path), "--split", "ego_val", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and "\n" not in err and message in err and not out.exists()


def test_check_weights_accepts_the_model_it_was_saved_from(folder):
    check_weights(folder / "model.safetensors", FeatureClassifier.from_pretrained(folder))


def test_a_text_stage_folder_given_to_predict(tmp_path, capsys):
    from text_model_fixture import make_tiny_bert

    text = make_tiny_bert(tmp_path / "text")
    capsys.readouterr()  # its progress bars
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "--model", str(text), "--data_dir", str(tmp_path), "--split", "ego_val"])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and "\n" not in err
    assert "is a 'bert' model, not an Ego2Exo feature classifier" in err and "train_text.py" in err
