"""A data folder's ego2exo.json read and written by tests (importable by every test module)."""

import json
from pathlib import Path


def read_meta(data_dir) -> dict:
    return json.loads((Path(data_dir) / "ego2exo.json").read_text())


def save_meta(data_dir, meta) -> None:
    (Path(data_dir) / "ego2exo.json").write_text(json.dumps(meta))


def first_clip(meta, split="exo_train") -> dict:
    return meta[split]["clips"][0]
