"""`ego2exo_hf/utils.py` output folders: no writer deletes or overwrites what the tool did not make (synth, export,
build cache, stages, predict, pseudo-label, demo): each refusal is one line, exit code 2, and leaves every file as it
was."""

import os
from pathlib import Path

import pytest

from ego2exo_hf.cli import main as cli_main
from ego2exo_hf.utils import OUTPUT_MARKER, atomic_directory, new_output_directory


def snapshot(folder) -> dict:
    """`{relative path: bytes}` of every file under `folder`."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2, err
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    assert message in err, err
    return err


@pytest.fixture
def foreign(tmp_path):
    """A folder the tool did not make, with a user's file in it."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("three years of work")
    return folder


def test_synth_refuses_a_foreign_folder_and_replaces_its_own(foreign, tmp_path, capsys):
    before = snapshot(foreign)
    refused(["synth", "--out", foreign], "is not empty and is not made by this tool", capsys)
    assert snapshot(foreign) == before
    own = tmp_path / "data"
    assert cli_main(["synth", "--out", str(own), "--scale", "tiny", "--seed", "1"]) == 0
    assert (own / OUTPUT_MARKER).read_text().strip() == "synth"
    first = snapshot(own)
    assert cli_main(["synth", "--out", str(own), "--scale", "tiny", "--seed", "2"]) == 0  # its own: replaced
    assert snapshot(own) != first and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert cli_main(["synth", "--out", str(foreign), "--scale", "tiny", "--overwrite"]) == 0
    assert not (foreign / "thesis.tex").exists() and (foreign / "ego2exo.json").is_file()


@pytest.mark.parametrize("where", ["same", "inside", "above"])
def test_export_never_overlaps_the_data_folder(tiny_copy, where, capsys):
    out = {"same": tiny_copy, "inside": tiny_copy / "export", "above": tiny_copy.parent}[where]
    before = snapshot(tiny_copy)
    for extra in ([], ["--overwrite"]):
        refused(["export", "--data_dir", tiny_copy, "--out", out, *extra], "would overlap the data folder", capsys)
    assert snapshot(tiny_copy) == before


def test_export_refuses_the_working_directory_and_its_parents(tiny_data_dir, tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("keep me")
    monkeypatch.chdir(work)
    for out in (".", "..", str(tmp_path)):
        refused(["export", "--data_dir", tiny_data_dir, "--out", out, "--overwrite"], "holds the working directory",
                capsys)  # fmt: skip
    assert (work / "notes.txt").read_text() == "keep me"


def test_export_refuses_foreign_folders_and_files_and_reexports_its_own(tiny_data_dir, foreign, tmp_path, capsys):
    before = snapshot(foreign)
    refused(["export", "--data_dir", tiny_data_dir, "--out", foreign, "--configs", "text"], "--overwrite", capsys)
    assert snapshot(foreign) == before
    refused(["export", "--data_dir", tiny_data_dir, "--out", foreign / "thesis.tex"], "is a file", capsys)
    assert snapshot(foreign) == before
    own = tmp_path / "export"
    for _ in range(2):  # the second run replaces its own earlier export
        assert cli_main(["export", "--data_dir", str(tiny_data_dir), "--out", str(own), "--configs", "text"]) == 0
    assert (own / "text").is_dir() and (own / OUTPUT_MARKER).read_text().strip() == "export"


def test_demo_refuses_a_foreign_folder(foreign, capsys):
    before = snapshot(foreign)
    refused(["demo", "--scale", "tiny", "--output_dir", foreign], "pass --overwrite", capsys)
    assert snapshot(foreign) == before


def test_build_cache_that_is_a_file_is_one_line(tiny_data_dir, foreign, capsys):
    refused(["build", "--data_dir", tiny_data_dir, "--cache_dir", foreign / "thesis.tex"], "cannot be written",
            capsys)  # fmt: skip
    assert (foreign / "thesis.tex").read_text() == "three years of work"


@pytest.mark.parametrize("stage", ["train-video", "train-text"])
def test_stages_refuse_a_foreign_folder_and_the_data_folder(stage, tiny_copy, foreign, capsys):
    base = [stage, "--data_dir", tiny_copy, "--source", "exo", "--target", "ego"]
    if stage == "train-video":
        base += ["--method", "source_only"]
    before, data_before = snapshot(foreign), snapshot(tiny_copy)
    refused([*base, "--output_dir", foreign], "is not empty and is not made by this tool", capsys)
    refused([*base, "--output_dir", tiny_copy / "runs"], "would overlap the data folder", capsys)
    assert snapshot(foreign) == before and snapshot(tiny_copy) == data_before


def test_pseudo_label_and_predict_check_the_output_file_before_the_work(tiny_copy, tmp_path, capsys):
    data_before = snapshot(tiny_copy)
    common = ["--model", tmp_path / "no-model", "--data_dir", tiny_copy]
    refused(["pseudo-label", *common, "--split", "ego_train", "--out", tiny_copy / "ego2exo.json"],
            "would replace part of the data", capsys)  # fmt: skip
    refused(["predict", *common, "--split", "ego_val", "--out", tmp_path], "is a folder", capsys)
    assert snapshot(tiny_copy) == data_before


def test_a_failed_build_keeps_the_old_folder_whole(tmp_path):
    target = tmp_path / "out"
    with new_output_directory(target, "synth") as tmp:
        (tmp / "a.txt").write_text("first")
    with pytest.raises(RuntimeError), new_output_directory(target, "synth") as tmp:
        (tmp / "a.txt").write_text("half")
        raise RuntimeError("killed")
    assert (target / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary sibling left behind
    with atomic_directory(target) as tmp:
        (tmp / "b.txt").write_text("second")
    assert sorted(os.listdir(target)) == ["b.txt"]
