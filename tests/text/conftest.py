"""Fixtures of the text-stage tests: a tiny BERT, and one real run of train_text.py shared by the modules."""

import subprocess
import sys

import pytest
from text_model_fixture import TEXT_SCRIPT, make_tiny_bert, stage_args


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def text_run(tiny_data_dir, tiny_bert, tmp_path_factory):
    """One real run of the script (exo -> ego) in a fresh process."""
    output_dir = tmp_path_factory.mktemp("run") / "text_exo_ego"
    args = stage_args(tiny_data_dir, tiny_bert, output_dir, "--source", "exo", "--target", "ego")
    result = subprocess.run([sys.executable, str(TEXT_SCRIPT), *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    return output_dir, result


@pytest.fixture(scope="session")
def splits(tiny_data_dir):
    from ego2exo_hf.data import load_ego2exo

    return load_ego2exo(tiny_data_dir, config="text")
