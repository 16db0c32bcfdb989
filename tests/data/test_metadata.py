"""`ego2exo_hf/data/metadata.py`: `ego2exo download`'s metadata step against a pre-populated Hub cache, offline."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import constants as hub_constants

from ego2exo_hf.cli import main as cli_main
from ego2exo_hf.constants import HUB_DATASET_REPO, METADATA_FILE
from ego2exo_hf.data import metadata
from ego2exo_hf.data.metadata import CHECKSUM_FILE, official_train_takes
from ego2exo_hf.errors import Ego2ExoError

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def cli(*argv):
    return cli_main(["download", *map(str, argv)])


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty Hub cache, offline mode on (both read by huggingface_hub at call time)."""
    cache = tmp_path / "hf_cache"
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    return cache


def populate_cache(cache: Path, source: Path, commit=COMMIT, ref="main") -> Path:
    """Lay `source` out as huggingface_hub caches a dataset file: blob, snapshot symlink, ref."""
    repo = cache / f"datasets--{HUB_DATASET_REPO.replace('/', '--')}"
    data = source.read_bytes()
    blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    snapshot = repo / "snapshots" / commit / METADATA_FILE
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    snapshot.symlink_to(os.path.relpath(blob, snapshot.parent))
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / ref).write_text(commit)
    return snapshot


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_metadata_from_offline_cache(remote, hub_cache, tmp_path, capsys):
    populate_cache(hub_cache, remote / METADATA_FILE)
    data = tmp_path / "data"
    assert cli("--data_dir", data, "--skip_features") == 0
    assert (data / METADATA_FILE).read_bytes() == (remote / METADATA_FILE).read_bytes()
    assert not (data / METADATA_FILE).is_symlink()
    record = json.loads((data / CHECKSUM_FILE).read_text())[METADATA_FILE]
    assert record["sha256"] == sha256(remote / METADATA_FILE)
    assert HUB_DATASET_REPO in record["source"]

    assert cli("--data_dir", data, "--skip_features") == 0  # second run: checked, left alone
    assert "up to date" in capsys.readouterr().out


def test_metadata_revision_from_cache(remote, hub_cache, tmp_path):
    other = tmp_path / "other.json"
    other.write_text((remote / METADATA_FILE).read_text() + "\n")  # another revision: other bytes
    populate_cache(hub_cache, remote / METADATA_FILE)
    populate_cache(hub_cache, other, commit="f" * 40, ref="v2")
    assert cli("--data_dir", tmp_path / "data", "--revision", "v2", "--skip_features") == 0
    assert (tmp_path / "data" / METADATA_FILE).read_bytes() == other.read_bytes()
    with pytest.raises(SystemExit) as exit_info:
        cli("--data_dir", tmp_path / "data", "--revision", "v3", "--skip_features")
    assert exit_info.value.code == 2


def test_offline_from_the_environment(remote, tmp_path):
    """The documented route: HF_HUB_OFFLINE=1 and HF_HUB_CACHE in the environment of a fresh process."""
    cache = tmp_path / "env_cache"
    populate_cache(cache, remote / METADATA_FILE)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache)}
    code = "import sys; from ego2exo_hf.data.metadata import download_metadata; download_metadata(sys.argv[1])"
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "data")], env=env, check=True, capture_output=True)
    assert sha256(tmp_path / "data" / METADATA_FILE) == sha256(remote / METADATA_FILE)


def test_offline_without_cache_says_so(hub_cache, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli("--data_dir", tmp_path / "data", "--skip_features")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: HF_HUB_OFFLINE is set") and "not in the Hugging Face cache" in err
    assert "--metadata PATH" in err and "Traceback" not in err


def test_offline_without_cache_keeps_a_verified_copy(remote, hub_cache, tmp_path, capsys):
    data = tmp_path / "data"
    cli("--data_dir", data, "--metadata", remote / METADATA_FILE, "--skip_features")
    assert cli("--data_dir", data, "--skip_features") == 0
    assert "keeping the verified copy" in capsys.readouterr().err


def test_checksum_mismatch_is_reported(remote, hub_cache, tmp_path, capsys):
    populate_cache(hub_cache, remote / METADATA_FILE)
    data = tmp_path / "data"
    cli("--data_dir", data, "--skip_features")
    with open(data / METADATA_FILE, "a") as f:
        f.write(" ")
    with pytest.raises(SystemExit):
        cli("--data_dir", data, "--skip_features")
    err = capsys.readouterr().err
    assert "changed since it was downloaded" in err and "Delete it and run `ego2exo download" in err
    (data / METADATA_FILE).unlink()  # what the message says to do
    assert cli("--data_dir", data, "--skip_features") == 0


def test_local_metadata_copy(remote, hub_cache, tmp_path):
    data = tmp_path / "data"
    assert cli("--data_dir", data, "--metadata", remote / METADATA_FILE, "--skip_features") == 0
    assert sha256(data / METADATA_FILE) == sha256(remote / METADATA_FILE)
    with pytest.raises(Ego2ExoError, match="no such file"):
        metadata.download_metadata(data, metadata=tmp_path / "nope.json")


def test_official_train_takes_ship_with_the_package(capsys):
    takes = official_train_takes()
    assert len(takes) == len(set(takes)) == 249
    assert takes[0] == "fce858fe-d30b-4a72-822d-79c92d29971e"

    records = [{"take_uid": t} for t in takes]
    meta = {"ego_train": records[::2], "exo_train": records[1::2]}
    metadata.check_train_takes(meta, "ego2exo.json")
    assert capsys.readouterr().err == ""
    meta["exo_train"].pop()
    metadata.check_train_takes(meta, "ego2exo.json")
    assert "1 missing" in capsys.readouterr().err
