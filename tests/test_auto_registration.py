"""`ego2exo_hf/_auto_registration.py`: `import ego2exo_hf` is light, and still registers FeatureClassifier with the
Auto classes when they are used."""

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
    from ego2exo_hf.models import FeatureClassifier, FeatureClassifierConfig

    FeatureClassifier(FeatureClassifierConfig()).save_pretrained(tmp_path)
    folder = repr(str(tmp_path))
    code = (f"import ego2exo_hf\nfrom transformers import AutoConfig, AutoModel\n"
            f"print(type(AutoModel.from_pretrained({folder})).__name__, "
            f"type(AutoConfig.from_pretrained({folder})).__name__, ego2exo_hf.FeatureClassifier.__name__)")  # fmt: skip
    assert run(code) == "FeatureClassifier FeatureClassifierConfig FeatureClassifier"
