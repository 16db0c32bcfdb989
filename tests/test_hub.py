"""`ego2exo_hf/hub.py`, checkpoints from the Hub offline: models in an HF cache load by repo id (HF_HUB_OFFLINE=1).

`populate_hub_cache` writes a local model folder into a cache directory the way `huggingface_hub` does
after a download; each load runs in a fresh interpreter with `HF_HUB_OFFLINE=1 HF_HUB_CACHE=<cache>`, so
nothing depends on constants already imported in this process.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from hub_cache_fixture import populate_hub_cache
from huggingface_hub import scan_cache_dir

from ego2exo_hf.constants import CLASS_NAMES

TEXT_REPO = "ego2exo-test/tiny-caption-classifier"
FEATURE_REPO = "ego2exo-test/feature-classifier"
SENTENCE = "he picks up the knife and chops the onion on the board"


@pytest.fixture(scope="module")
def text_model(tmp_path_factory):
    """A tiny BERT caption classifier with its tokenizer, as train_text.py saves one, and its logits on SENTENCE."""
    from text_model_fixture import make_tiny_bert
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from ego2exo_hf.constants import ID2LABEL, LABEL2ID

    base = make_tiny_bert(tmp_path_factory.mktemp("bert") / "base")
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(base, id2label=ID2LABEL, label2id=LABEL2ID).eval()
    tokenizer = AutoTokenizer.from_pretrained(base)
    folder = tmp_path_factory.mktemp("text") / "model"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    with torch.no_grad():
        logits = model(**tokenizer(SENTENCE, return_tensors="pt")).logits[0].tolist()
    return folder, logits


@pytest.fixture(scope="module")
def feature_model(tmp_path_factory):
    """A feature classifier (random weights, fixed seed) saved with save_pretrained, and its logits on ones."""
    from ego2exo_hf.models import FeatureClassifier, FeatureClassifierConfig

    torch.manual_seed(0)
    model = FeatureClassifier(FeatureClassifierConfig()).eval()
    folder = tmp_path_factory.mktemp("feature") / "model"
    model.save_pretrained(folder)
    with torch.no_grad():
        logits = model(torch.ones(1, model.config.feature_dim)).logits[0].tolist()
    return folder, logits


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory, text_model, feature_model):
    cache = tmp_path_factory.mktemp("hub_cache")
    populate_hub_cache(text_model[0], TEXT_REPO, cache)
    populate_hub_cache(feature_model[0], FEATURE_REPO, cache)
    return cache


def run_offline(code: str, cache, *args: str) -> subprocess.CompletedProcess:
    """Run Python code (or, with `args`, a module's command line) offline against the given Hub cache."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(cache), OMP_NUM_THREADS="1")
    command = [sys.executable, "-c", textwrap.dedent(code), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def last_json(result: subprocess.CompletedProcess):
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cache_has_the_huggingface_hub_layout(hub_cache, text_model):
    info = {repo.repo_id: repo for repo in scan_cache_dir(hub_cache).repos}
    assert set(info) == {TEXT_REPO, FEATURE_REPO}
    text = info[TEXT_REPO]
    assert text.repo_type == "model" and len(text.revisions) == 1
    revision = next(iter(text.revisions))
    assert revision.refs == frozenset({"main"})
    local_files = {p.relative_to(text_model[0]).as_posix() for p in text_model[0].rglob("*") if p.is_file()}
    assert {f.file_name for f in revision.files} == local_files
    snapshot = revision.snapshot_path
    assert all((snapshot / name).is_symlink() for name in local_files)
    assert (snapshot / "model.safetensors").read_bytes() == (text_model[0] / "model.safetensors").read_bytes()


def test_text_model_loads_by_repo_id_offline(hub_cache, text_model):
    result = run_offline(
        f"""
        import json, torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        model = AutoModelForSequenceClassification.from_pretrained({TEXT_REPO!r}).eval()
        tokenizer = AutoTokenizer.from_pretrained({TEXT_REPO!r})
        with torch.no_grad():
            logits = model(**tokenizer({SENTENCE!r}, return_tensors="pt")).logits[0].tolist()
        print(json.dumps({{"logits": logits, "labels": model.config.id2label[0], "type": model.config.model_type}}))
        """,
        hub_cache,
    )
    out = last_json(result)
    assert out["type"] == "bert" and out["labels"] == CLASS_NAMES[0]
    assert out["logits"] == pytest.approx(text_model[1], abs=1e-5)


def test_feature_model_loads_by_repo_id_offline(hub_cache, feature_model):
    result = run_offline(
        f"""
        import json, torch
        from transformers import AutoModel
        from ego2exo_hf.models import FeatureClassifier
        ones = torch.ones(1, 1536)
        out = {{}}
        for name, cls in (("direct", FeatureClassifier), ("auto", AutoModel)):
            model = cls.from_pretrained({FEATURE_REPO!r}).eval()
            with torch.no_grad():
                out[name] = [type(model).__name__, model(ones).logits[0].tolist()]
        print(json.dumps(out))
        """,
        hub_cache,
    )
    out = last_json(result)
    for name in ("direct", "auto"):
        assert out[name][0] == "FeatureClassifier"
        assert out[name][1] == pytest.approx(feature_model[1], abs=1e-6)


def test_unknown_repo_offline_is_a_one_line_error(hub_cache):
    result = run_offline(
        "from ego2exo_hf.cli import main; main()",
        hub_cache,
        *("predict", "--model", "ego2exo-test/not-cached", "--data_dir", "unused"),
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: cannot load model 'ego2exo-test/not-cached'")


def test_predict_cli_with_a_repo_id(hub_cache, feature_model, tiny_data_dir, tmp_path):
    """`ego2exo predict --model org/name` through the cache gives what the local folder gives."""
    import datasets

    from ego2exo_hf.video.prediction import load_feature_classifier, predict_split

    out = tmp_path / "preds.parquet"
    result = run_offline(
        "from ego2exo_hf.cli import main; main()",
        hub_cache,
        *("predict", "--model", FEATURE_REPO, "--data_dir", str(tiny_data_dir), "--split", "exo_val"),
        *("--out", str(out)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "accuracy: top-1" in result.stdout
    from_hub = datasets.Dataset.from_parquet(str(out))
    local, _ = predict_split(load_feature_classifier(feature_model[0]), tiny_data_dir, "exo_val")
    assert from_hub["prediction"][:] == local["prediction"][:]
    assert from_hub["confidence"][:] == pytest.approx(local["confidence"][:], abs=1e-6)
