"""`ego2exo_hf/data/export.py`: the export loads with plain `datasets`; `ego2exo synth/build/export`; the Hub push."""

from pathlib import Path

import datasets
import pytest

from ego2exo_hf import load_ego2exo
from ego2exo_hf.cli import main as cli_main
from ego2exo_hf.constants import SPLITS
from ego2exo_hf.data.export import export_dataset


def test_export_loads_with_plain_datasets(tiny_data_dir, tmp_path, monkeypatch):
    out = export_dataset(tiny_data_dir, tmp_path / "ego2exo")
    built = load_ego2exo(tiny_data_dir, "pooled")
    monkeypatch.chdir(tmp_path)
    loaded = datasets.load_dataset("ego2exo", "pooled")
    assert set(loaded) == set(SPLITS)
    for split in SPLITS:
        assert loaded[split].features == built[split].features
        assert loaded[split][:] == built[split][:]
    text = datasets.load_dataset(str(out), "text")
    assert "features" not in text["exo_train"].column_names
    card = (out / "README.md").read_text()
    assert "configs:" in card and "config_name: pooled" in card and "kalluri2024lagtran" in card


def test_cli_synth_build_export(tmp_path, capsys):
    assert cli_main(["synth", "--out", str(tmp_path / "d"), "--scale", "tiny", "--seed", "3"]) == 0
    assert cli_main(["build", "--data_dir", str(tmp_path / "d"), "--config", "text"]) == 0
    assert "exo_train" in capsys.readouterr().out
    assert cli_main(["export", "--data_dir", str(tmp_path / "d"), "--out", str(tmp_path / "e")]) == 0
    assert (tmp_path / "e" / "pooled").is_dir()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["build", "--data_dir", str(tmp_path / "nowhere")])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "ego2exo.json not found" in err and "\n" not in err


def test_export_push_to_hub_uploads_the_folder(tiny_data_dir, tmp_path, monkeypatch):
    """`--push_to_hub` is tested up to the upload call: the folder uploaded is the complete export."""
    import huggingface_hub

    calls = {}

    def fake_create_repo(self, repo_id, **kwargs):
        calls["create"] = (repo_id, kwargs.get("repo_type"))

    def fake_upload_folder(self, folder_path, repo_id, repo_type=None, **kwargs):
        folder = Path(folder_path)
        calls["upload"] = (repo_id, repo_type, sorted(str(p.relative_to(folder)) for p in folder.rglob("*.*")))

    monkeypatch.setattr("ego2exo_hf.hub.check_hub_access", lambda repo_id, **kwargs: None)
    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", fake_create_repo)
    monkeypatch.setattr(huggingface_hub.HfApi, "upload_folder", fake_upload_folder)
    out = tmp_path / "ego2exo"
    assert cli_main(["export", "--data_dir", str(tiny_data_dir), "--out", str(out), "--push_to_hub", "me/ego2exo"]) == 0
    assert calls["create"] == ("me/ego2exo", "dataset")
    repo_id, repo_type, files = calls["upload"]
    assert (repo_id, repo_type) == ("me/ego2exo", "dataset")
    assert "README.md" in files
    assert {f"{config}/{split}-00000-of-00001.parquet" for config in ("text", "pooled") for split in SPLITS} <= set(
        files
    )
