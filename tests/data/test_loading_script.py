"""The classic loading script delegates to the package builder (datasets 5.x refuses scripts in load_dataset)."""

import importlib.util
import sys
from pathlib import Path

from ego2exo_hf.constants import SPLITS
from ego2exo_hf.data import load_ego2exo

SCRIPT = Path(__file__).parents[2] / "loading_script" / "ego2exo.py"


def test_script_builder_builds_the_same_dataset(tiny_data_dir, tmp_path):
    spec = importlib.util.spec_from_file_location("ego2exo_loading_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # datasets hashes the builder's module by name
    spec.loader.exec_module(module)
    builder = module.Ego2Exo(config_name="text", data_dir=str(tiny_data_dir), cache_dir=str(tmp_path))
    builder.download_and_prepare()
    from_script = builder.as_dataset()
    from_package = load_ego2exo(tiny_data_dir, "text")
    for split in SPLITS:
        assert from_script[split]["segment_id"][:] == from_package[split]["segment_id"][:]
        assert from_script[split].features == from_package[split].features
