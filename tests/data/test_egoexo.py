"""`ego2exo_hf/data/egoexo.py`: `ego2exo download`'s features step against a stand-in for Meta's `egoexo`."""

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
import torch

from ego2exo_hf.cli import main as cli_main
from ego2exo_hf.constants import METADATA_FILE
from ego2exo_hf.data import metadata
from ego2exo_hf.data.official import read_metadata
from ego2exo_hf.data.verify import verify_data_dir


def cli(*argv):
    return cli_main(["download", *map(str, argv)])


FAKE_EGOEXO = """\
#!{python}
# Stand-in for Meta's `egoexo`: same options; copies `<take_uid>_*.pt` from $FAKE_REMOTE to the manifest's
# relative path under -o; logs its arguments; fails like ego4d 1.7.3 does (exit 2 on a failed file, exit 1
# with a traceback without a `default` AWS profile or without a connection).
import argparse, json, os, shutil, sys
from pathlib import Path

p = argparse.ArgumentParser()
p.add_argument("-o", "--out_dir", required=True)
p.add_argument("--parts", nargs="+", default=["default"])
p.add_argument("--uids", nargs="+")
p.add_argument("-y", "--yes", action="store_true")
args = p.parse_args()
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
print("Obtaining part metadata ...")
if os.environ.get("FAKE_NO_CREDENTIALS"):
    sys.exit("botocore.exceptions.ProfileNotFound: The config profile (default) could not be found")
if os.environ.get("FAKE_NO_NETWORK"):
    sys.exit('botocore.exceptions.EndpointConnectionError: Could not connect to the endpoint URL: "https://..."')
remote = Path(os.environ["FAKE_REMOTE"]) / "features" / "omnivore_video"
subdir = "features" if os.environ.get("FAKE_LEGACY") else "features/omnivore_video"
fail = set(os.environ.get("FAKE_FAIL", "").split())
failed = 0
for uid in args.uids:
    for src in sorted(remote.glob(uid + "_*.pt")):
        if uid in fail:
            failed += 1
            continue
        dst = Path(args.out_dir) / subdir / src.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not (dst.exists() and dst.stat().st_size == src.stat().st_size):
            shutil.copyfile(src, dst)
if failed:
    print(f"WARN: failed to fetch {{failed}} files [integrity=0, exceptions={{failed}}]")
    print("Please retry the download (... returning with error code 2)")
    sys.exit(2)
"""


@pytest.fixture
def fake_egoexo(remote, tmp_path, monkeypatch):
    """Put the stand-in `egoexo` first on PATH; return a function giving the logged calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "egoexo"
    exe.write_text(FAKE_EGOEXO.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "egoexo_calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.setenv("FAKE_REMOTE", str(remote))
    credentials = tmp_path / "aws_credentials"
    credentials.write_text("[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no_aws_config"))

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return calls


@pytest.fixture
def data(remote, tmp_path):
    """A data directory that already holds the metadata."""
    data = tmp_path / "data"
    metadata.download_metadata(data, metadata=remote / METADATA_FILE)
    return data


def takes_of(data_dir) -> list[str]:
    return sorted({r["take_uid"] for records in read_metadata(data_dir).values() for r in records})


def uids_of(call) -> list[str]:
    return call[call.index("--uids") + 1 : call.index("-y")]


def feature_files(data_dir) -> list[str]:
    return sorted(p.name for p in (Path(data_dir) / "features" / "omnivore_video").glob("*.pt"))


def test_features_in_batches(remote, data, fake_egoexo, capsys):
    takes = takes_of(data)
    assert cli("--data_dir", data, "--batch_size", 4) == 0
    calls = fake_egoexo()
    assert [uids_of(c) for c in calls] == [takes[i : i + 4] for i in range(0, len(takes), 4)]
    assert all(c[:4] == ["-o", str(data), "--parts", "features/omnivore_video"] for c in calls)
    assert all(c[-1] == "-y" for c in calls)
    assert feature_files(data) == feature_files(remote)
    assert verify_data_dir(data, progress=False).ok
    out, err = capsys.readouterr()
    assert "all feature files are present and valid" in out
    assert "warning: the train takes" in err  # synthetic takes are not the benchmark's 249


def test_resume_skips_complete_takes(data, fake_egoexo):
    cli("--data_dir", data, "--batch_size", 4)
    batches = -(-len(takes_of(data)) // 4)
    assert len(fake_egoexo()) == batches
    features = data / "features" / "omnivore_video"
    removed, truncated = sorted(features.glob("*.pt"))[0], sorted(features.glob("*.pt"))[-1]
    removed.unlink()
    truncated.write_bytes(truncated.read_bytes()[:100])
    assert cli("--data_dir", data, "--batch_size", 4) == 0
    resumed = fake_egoexo()[-1]
    assert len(fake_egoexo()) == batches + 1
    assert uids_of(resumed) == sorted({removed.name.split("_")[0], truncated.name.split("_")[0]})
    assert torch.load(truncated, weights_only=True).shape[-1] == 1536

    # Complete: no egoexo call at all, not even a check that it is installed.
    assert cli("--data_dir", data, "--egoexo", "not-installed-egoexo") == 0
    assert len(fake_egoexo()) == batches + 1


def test_failed_batch_exits_nonzero_and_keeps_files(data, fake_egoexo, monkeypatch, capsys):
    takes = takes_of(data)
    monkeypatch.setenv("FAKE_FAIL", takes[5])
    with pytest.raises(SystemExit) as exit_info:
        cli("--data_dir", data, "--batch_size", 4)
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert f"`egoexo` failed for 4 takes: {' '.join(takes[4:8])}" in err and "run `ego2exo download" in err
    assert len(fake_egoexo()) == -(-len(takes) // 4)  # the later batches still ran
    kept = feature_files(data)
    assert kept and not any(name.startswith(takes[5]) for name in kept)

    monkeypatch.delenv("FAKE_FAIL")
    assert cli("--data_dir", data, "--batch_size", 4) == 0
    assert uids_of(fake_egoexo()[-1]) == [takes[5]]
    assert set(kept) < set(feature_files(data))


def test_files_still_missing_are_summarised(remote, data, fake_egoexo, tmp_path, monkeypatch, capsys):
    partial = tmp_path / "partial_remote"
    shutil.copytree(remote, partial)
    gone = sorted((partial / "features" / "omnivore_video").glob("*.pt"))[2]
    gone.unlink()
    monkeypatch.setenv("FAKE_REMOTE", str(partial))
    with pytest.raises(SystemExit) as exit_info:
        cli("--data_dir", data)
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert f"features/omnivore_video/{gone.name}" in out and "1 feature files of 1 takes" in out
    assert "still missing after `egoexo` finished" in err


def test_missing_executable(data, fake_egoexo, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli("--data_dir", data, "--egoexo", "not-installed-egoexo")
    assert exit_info.value.code == 2
    assert "pip install 'ego2exo-hf[download]'" in capsys.readouterr().err
    assert fake_egoexo() == []


def test_missing_credentials(data, fake_egoexo, tmp_path, monkeypatch, capsys):
    for var in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")  # not enough: egoexo asks boto3 for `default`
    with pytest.raises(SystemExit):
        cli("--data_dir", data)
    err = capsys.readouterr().err
    assert "licence from Meta" in err and "aws configure" in err
    assert fake_egoexo() == []


def test_credentials_rejected_by_egoexo(data, fake_egoexo, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_NO_CREDENTIALS", "1")
    with pytest.raises(SystemExit) as exit_info:
        cli("--data_dir", data, "--batch_size", 4)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "ProfileNotFound" in err and "aws configure" in err
    assert len(fake_egoexo()) == 1  # stops at once: every batch would fail the same way


def test_no_connection_to_s3(data, fake_egoexo, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_NO_NETWORK", "1")
    with pytest.raises(SystemExit):
        cli("--data_dir", data, "--batch_size", 4)
    err = capsys.readouterr().err
    assert "cannot reach Ego-Exo4D's S3 storage" in err and "Check the connection" in err
    assert len(fake_egoexo()) == 1


def test_legacy_layout_is_adopted(remote, data, fake_egoexo, monkeypatch):
    monkeypatch.setenv("FAKE_LEGACY", "1")
    assert cli("--data_dir", data, "--batch_size", 100) == 0
    assert feature_files(data) == feature_files(remote)
    name = feature_files(data)[0]
    assert os.path.samefile(data / "features" / name, data / "features" / "omnivore_video" / name)


def test_video_parts_pass_every_take(data, fake_egoexo):
    cli("--data_dir", data, "--batch_size", 100)
    assert cli("--data_dir", data, "--parts", "takes", "downscaled_takes/448", "--batch_size", 100) == 0
    last = fake_egoexo()[-1]
    assert last[last.index("--parts") + 1 : last.index("--uids")] == ["takes", "downscaled_takes/448"]
    assert uids_of(last) == takes_of(data)


def test_bad_parts_are_refused(data):
    with pytest.raises(SystemExit):
        cli("--data_dir", data, "--parts", "features/maws_clip_2b")
