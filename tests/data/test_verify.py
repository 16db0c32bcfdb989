"""`ego2exo verify` on a synthetic copy with files removed, truncated, widened and shortened."""

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import torch

from ego2exo_hf.cli import main as cli_main
from ego2exo_hf.constants import FEATURE_DIM, METADATA_FILE, SPLITS
from ego2exo_hf.data import verify
from ego2exo_hf.data.metadata import download_metadata
from ego2exo_hf.data.official import read_metadata
from ego2exo_hf.data.verify import (
    INDEX_PAST_END,
    MISSING,
    NON_FINITE,
    UNREADABLE,
    WRONG_DTYPE,
    WRONG_SHAPE,
    verify_data_dir,
)


def cli(*argv):
    return cli_main(["verify", *map(str, argv)])


@pytest.fixture
def pristine(tiny_data_dir):
    return Path(tiny_data_dir)


@pytest.fixture
def copy(tiny_copy):
    return Path(tiny_copy)


def records_using(data_dir, file_name) -> dict[str, list[dict]]:
    """`{split: [record]}` of the segments whose features live in `file_name`."""
    found = {}
    for split, records in read_metadata(data_dir).items():
        using = [r for r in records if r["feature_file_name"] == file_name]
        if using:
            found[split] = using
    return found


def test_clean_copy_is_complete(copy, capsys):
    report = verify_data_dir(copy, progress=False)
    assert report.ok and report.complete == report.totals
    assert set(report.totals) == set(SPLITS) and all(report.totals.values())
    assert cli("--data_dir", copy) == 0
    assert "all segments complete" in capsys.readouterr().out


def test_damaged_copy(copy, capsys):
    files = sorted({r["feature_file_name"] for rs in read_metadata(copy).values() for r in rs})
    removed, truncated, widened, shortened = files[0], files[5], files[10], files[15]
    (copy / removed).unlink()
    data = (copy / truncated).read_bytes()
    (copy / truncated).write_bytes(data[: len(data) // 2])
    rows = torch.load(copy / widened, weights_only=True).shape[0]
    torch.save(torch.zeros(rows, 1, FEATURE_DIM + 8), copy / widened)
    torch.save(torch.zeros(1, 1, FEATURE_DIM), copy / shortened)  # one row: later indices point past the end

    report = verify_data_dir(copy, progress=False)
    found = {(p.kind, p.file, p.split): sorted(p.segment_ids) for p in report.problems}
    expected = {}
    for kind, name in ((MISSING, removed), (UNREADABLE, truncated), (WRONG_SHAPE, widened)):
        for split, records in records_using(copy, name).items():
            expected[(kind, name, split)] = sorted(r["segment_id"] for r in records)
    for split, records in records_using(copy, shortened).items():
        beyond = sorted(r["segment_id"] for r in records if max(r["feature_indices"]) >= 1)
        if beyond:
            expected[(INDEX_PAST_END, shortened, split)] = beyond
    assert found == expected

    lost = Counter()
    for (_, _, split), ids in found.items():
        lost[split] += len(ids)
    assert report.complete == {s: report.totals[s] - lost[s] for s in SPLITS}

    with pytest.raises(SystemExit) as exit_info:
        cli("--data_dir", copy, "--report", copy / "problems.json")
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    first = report.problems[0]
    assert f"file={first.file}, split={first.split}, segment_id={first.segment_ids[0]}" in out
    for kind in (MISSING, UNREADABLE, WRONG_SHAPE, INDEX_PAST_END):
        assert f"  {kind}: file=" in out
    assert len(json.loads((copy / "problems.json").read_text())["problems"]) == len(report.problems)


def test_non_finite_values_and_integer_dtype(copy):
    files = sorted({r["feature_file_name"] for rs in read_metadata(copy).values() for r in rs})
    with_nan, integer = files[1], files[2]
    table = torch.load(copy / with_nan, weights_only=True)
    users = records_using(copy, with_nan)
    split, records = sorted(users.items())[0]
    table[records[0]["feature_indices"][0], 0, 0] = float("nan")
    torch.save(table, copy / with_nan)
    torch.save(torch.load(copy / integer, weights_only=True).int(), copy / integer)
    found = {(p.kind, p.file): p for p in verify_data_dir(copy, progress=False).problems}
    nan_problem = found[(NON_FINITE, with_nan)]
    assert records[0]["segment_id"] in nan_problem.segment_ids
    assert all(p.kind == WRONG_DTYPE and "torch.int32" in p.detail for (k, f), p in found.items() if f == integer)
    assert {f for _, f in found} == {with_nan, integer}


def test_each_feature_file_is_read_once(copy, monkeypatch):
    reads = Counter()
    load = verify.load_feature_file

    def counting_load(path, **kwargs):
        reads[Path(path).name] += 1
        return load(path, **kwargs)

    monkeypatch.setattr(verify, "load_feature_file", counting_load)
    verify_data_dir(copy, progress=False)
    files = {Path(r["feature_file_name"]).name for rs in read_metadata(copy).values() for r in rs}
    assert set(reads) == files and set(reads.values()) == {1}


def test_bad_metadata_is_reported_cleanly(copy, capsys):
    (copy / METADATA_FILE).write_text('{"categories": [')
    with pytest.raises(SystemExit) as exit_info:
        cli("--data_dir", copy)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not valid JSON" in err and "Traceback" not in err


def test_checksum_recorded_by_download_is_checked(pristine, tmp_path, capsys):
    data = Path(shutil.copytree(pristine / "features", tmp_path / "data" / "features")).parent
    download_metadata(data, metadata=pristine / METADATA_FILE)
    assert cli("--data_dir", data, "--splits", "ego_val") == 0
    meta = json.loads((data / METADATA_FILE).read_text())
    meta["ego_val"]["descriptions"][0]["text_caption"] = "edited"
    (data / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(SystemExit):
        cli("--data_dir", data)
    assert "changed since it was downloaded" in capsys.readouterr().err
