"""`import ego2exo_hf` is light, and still registers FeatureClassifier with the Auto classes when they are used."""

import subprocess
import sys


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return (done.stdout.strip().splitlines() or [""])[-1]


def test_import_pulls_in_no_heavy_library():
    assert (
        run("import sys, ego2exo_hf; print(sorted({'torch', 'transformers', 'datasets'} & set(sys.modules)))") == "[]"
    )


def test_auto_classes_load_a_feature_classifier_after_a_plain_import(tmp_path):
    run(f"from ego2exo_hf.models import FeatureClassifier, FeatureClassifierConfig\n"
        f"FeatureClassifier(FeatureClassifierConfig()).save_pretrained({str(tmp_path)!r})")  # fmt: skip
    code = (f"import ego2exo_hf\nfrom transformers import AutoConfig, AutoModel\n"
            f"print(type(AutoModel.from_pretrained({str(tmp_path)!r})).__name__, "
            f"type(AutoConfig.from_pretrained({str(tmp_path)!r})).__name__)")  # fmt: skip
    assert run(code) == "FeatureClassifier FeatureClassifierConfig"
    assert run("import ego2exo_hf\nprint(ego2exo_hf.FeatureClassifier.__name__)") == "FeatureClassifier"
