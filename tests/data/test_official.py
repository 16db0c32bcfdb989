"""`ego2exo_hf/data/official.py`: segment ids, feature windows, the reader's checks of metadata and feature files."""

import os
import pickle
from pathlib import Path

import pytest
import torch
from metadata_fixture import first_clip, read_meta, save_meta

from ego2exo_hf import Ego2ExoError, load_ego2exo, segment_id
from ego2exo_hf.constants import STRIDE_FRAMES, WINDOW_FRAMES
from ego2exo_hf.data.export import export_dataset
from ego2exo_hf.data.official import feature_windows


def test_segment_id_md5_rule():
    # md5("0c7a4b6e-2f3a-4f0e-9d1a-7b2c3d4e5f60" + "0"), first 8 hex digits, computed outside the package
    assert segment_id("0c7a4b6e-2f3a-4f0e-9d1a-7b2c3d4e5f60", 0) == 557936424
    assert segment_id("abc", 12) == segment_id("abc1", 2)  # plain concatenation, exactly as the official rule


def test_feature_windows_stride_and_last_window():
    windows = feature_windows(100)
    assert windows[:3] == [(0, 32), (16, 48), (32, 64)]
    assert windows[-1] == (100 - WINDOW_FRAMES, 100)  # last window ends at the last frame
    assert all(e - s == WINDOW_FRAMES for s, e in windows)
    assert feature_windows(64) == [(0, 32), (16, 48), (32, 64)]
    assert len(feature_windows(16 * STRIDE_FRAMES + 16)) == 16


def test_accepts_null_best_exo_and_2d_tensors(tiny_copy):
    meta = read_meta(tiny_copy)
    for m in meta["exo_train"]["metadata"]:
        m["best_exo"] = None
    save_meta(tiny_copy, meta)
    path = tiny_copy / first_clip(meta)["feature_file_name"]
    torch.save(torch.load(path, weights_only=True)[:, 0].clone(), path)  # (N, 1536)
    ds = load_ego2exo(tiny_copy, "pooled")
    assert ds["exo_train"]["best_exo_cam"][0] is None


def _edit(meta, kind):
    split = meta["exo_train"]
    if kind == "split_missing":
        del meta["exo_val"]
    elif kind == "no_join":
        split["annotations"][0]["segment_id"] = 12345
    elif kind == "duplicate":
        split["clips"].append(dict(split["clips"][0]))
    elif kind == "category_range":
        split["annotations"][0]["category"] = 24
    elif kind == "name_mismatch":
        split["annotations"][0]["class_name"] = "Make pasta" if split["annotations"][0]["category"] != 8 else "Cook"
    elif kind == "empty_indices":
        split["clips"][0]["feature_indices"] = []
    elif kind == "past_end":
        split["clips"][0]["feature_indices"] = [10**6]
    elif kind == "string_indices":  # was read as [1, 2]
        split["clips"][0]["feature_indices"] = "12"
    elif kind == "bool_index":
        split["clips"][0]["feature_indices"] = [True]
    elif kind == "float_category":  # was truncated to 3
        split["annotations"][0]["category"] = 3.7
    elif kind == "string_id":
        split["clips"][0]["id"] = str(split["clips"][0]["id"])
    elif kind == "null_take":  # became the take "None"
        split["metadata"][0]["take_uid"] = None
    elif kind == "numeric_caption":  # became the caption "5"
        split["descriptions"][0]["text_caption"] = 5
    elif kind == "nan_time":
        split["metadata"][0]["start_time"] = float("nan")
    elif kind == "escaping_file":
        split["clips"][0]["feature_file_name"] = "../../outside.pt"
    elif kind == "absolute_file":
        split["clips"][0]["feature_file_name"] = "/etc/passwd"
    return meta


@pytest.mark.parametrize(
    "kind, message, names_segment",
    [
        ("split_missing", "split missing", False),
        ("no_join", "not in 'clips'", True),
        ("duplicate", "duplicate id", True),
        ("category_range", "outside 0..23", True),
        ("name_mismatch", "disagrees with category", True),
        ("empty_indices", "empty feature_indices", True),
        ("past_end", "past the end", True),
        ("string_indices", "'feature_indices' must be a list, got '12'", True),
        ("bool_index", "'feature_indices' must be a list of integers", True),
        ("float_category", "'category' must be an integer, got 3.7", True),
        ("string_id", "'id' must be an integer", False),
        ("null_take", "'take_uid' missing", True),
        ("numeric_caption", "'text_caption' must be a string, got 5", True),
        ("nan_time", "'start_time' must be a number, got nan", True),
        ("escaping_file", "must be a path inside the data folder", True),
        ("absolute_file", "must be a path inside the data folder", True),
    ],
)
def test_bad_metadata_names_file_split_segment(tiny_copy, tmp_path, kind, message, names_segment):
    meta = _edit(read_meta(tiny_copy), kind)
    save_meta(tiny_copy, meta)
    cache = tmp_path / "cache"
    with pytest.raises(Ego2ExoError, match=message) as err:
        load_ego2exo(tiny_copy, "pooled", cache_dir=cache)
    text = str(err.value)
    assert "ego2exo.json" in text or ".pt" in text
    assert "split=exo_" in text
    if names_segment:
        assert "segment_id=" in text
    assert not list(cache.rglob("*.arrow")), "a failed build must leave no partial dataset"
    with pytest.raises(Ego2ExoError):
        export_dataset(tiny_copy, tmp_path / "export", cache_dir=cache)
    assert not (tmp_path / "export").exists()


def test_missing_and_malformed_json(tmp_path):
    with pytest.raises(Ego2ExoError, match="ego2exo.json not found"):
        load_ego2exo(tmp_path, "text")
    (tmp_path / "ego2exo.json").write_text("{not json")
    with pytest.raises(Ego2ExoError, match="not valid JSON"):
        load_ego2exo(tmp_path, "text")


PWNED = Path("/tmp") / f"ego2exo-test-pwned-{os.getpid()}"


class _RunsCode:
    def __reduce__(self):
        return (os.system, (f"touch {PWNED}",))


@pytest.mark.parametrize(
    "damage, message",
    [
        ("remove", "feature file missing"),
        ("truncate", "unreadable feature file"),
        ("not_tensor", "not a tensor"),
        ("wide", "expected \\(N, 1, 1536\\)"),
        ("nan", "non-finite feature values \\(NaN or Inf\\) in row"),
        ("inf", "non-finite feature values"),
        ("integer_dtype", "has dtype torch.int64, expected a float dtype"),
        ("pickle", "unsafe or corrupt file refused \\(only tensors are loaded\\)"),
    ],
)
def test_bad_feature_files(tiny_copy, tmp_path, damage, message):
    clip = first_clip(read_meta(tiny_copy), "ego_val")
    path = tiny_copy / clip["feature_file_name"]
    if damage == "remove":
        path.unlink()
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "not_tensor":
        torch.save({"features": [1, 2, 3]}, path)
    elif damage == "wide":
        torch.save(torch.zeros(50, 1, 2048), path)
    elif damage in ("nan", "inf"):
        table = torch.load(path, weights_only=True)
        table[clip["feature_indices"][-1], 0, 7] = float(damage)
        torch.save(table, path)
    elif damage == "integer_dtype":
        torch.save(torch.load(path, weights_only=True).long(), path)
    elif damage == "pickle":
        path.write_bytes(pickle.dumps(_RunsCode()))
    cache = tmp_path / "cache"
    with pytest.raises(Ego2ExoError, match=message) as err:
        load_ego2exo(tiny_copy, "pooled", cache_dir=cache)
    assert clip["feature_file_name"].split("/")[-1] in str(err.value)
    assert "split=" in str(err.value) and "segment_id=" in str(err.value)
    assert not list(cache.rglob("*.arrow"))
    assert not PWNED.exists()
