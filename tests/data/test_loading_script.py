"""The self-contained loading script builds the same rows as the package builder (its class run directly:
datasets 5 refuses scripts in `load_dataset`)."""

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

from ego2exo_hf.constants import CLASS_NAMES, SPLITS
from ego2exo_hf.data import load_ego2exo

SCRIPT = Path(__file__).parents[2] / "loading_script" / "ego2exo.py"


def script_module():
    spec = importlib.util.spec_from_file_location("ego2exo_loading_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # datasets hashes the builder's module by name
    spec.loader.exec_module(module)
    return module


def test_script_imports_only_datasets_numpy_torch_and_the_standard_library():
    imported = set()
    for node in ast.walk(ast.parse(SCRIPT.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) == {"datasets", "numpy", "torch"}
    assert script_module()._CLASS_NAMES == CLASS_NAMES


@pytest.mark.parametrize("config", ["text", "pooled", "frames"])
def test_script_builds_the_same_rows_as_the_package(tiny_data_dir, tmp_path, config):
    builder = script_module().Ego2Exo(config_name=config, data_dir=str(tiny_data_dir), cache_dir=str(tmp_path))
    builder.download_and_prepare()
    from_script = builder.as_dataset()
    from_package = load_ego2exo(tiny_data_dir, config)
    for split in SPLITS:
        assert from_script[split].features == from_package[split].features
        assert len(from_package[split]) > 0
        assert from_script[split].to_dict() == from_package[split].to_dict(), split  # exact, floats included


def test_script_feature_configs_need_a_data_dir(tmp_path):
    builder = script_module().Ego2Exo(config_name="pooled", cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="pass data_dir"):
        builder.download_and_prepare()
