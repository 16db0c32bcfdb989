"""`ego2exo_hf/data/builder.py`: each config's values by hand, text without feature files, the cache, num_proc."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from metadata_fixture import first_clip, read_meta, save_meta

from ego2exo_hf import CLASS_NAMES, Ego2ExoError, load_ego2exo
from ego2exo_hf.constants import SPLITS
from ego2exo_hf.data import builder as builder_module


def test_builder_values_match_hand_computation(tiny_data_dir):
    pooled = load_ego2exo(tiny_data_dir, "pooled")
    frames = load_ego2exo(tiny_data_dir, "frames")
    text = load_ego2exo(tiny_data_dir, "text")
    meta = read_meta(tiny_data_dir)
    for split in SPLITS:
        clips = {c["id"]: c for c in meta[split]["clips"]}
        labels = {a["segment_id"]: a["category"] for a in meta[split]["annotations"]}
        captions = {d["segment_id"]: d["text_caption"] for d in meta[split]["descriptions"]}
        assert len(pooled[split]) == len(clips) == len(text[split]) == len(frames[split])
        assert pooled[split].features["label"].names == CLASS_NAMES
        for row, frame_row, text_row in list(zip(pooled[split], frames[split], text[split]))[:12]:
            clip = clips[row["segment_id"]]
            rows = torch.load(Path(tiny_data_dir) / clip["feature_file_name"], weights_only=True)[:, 0]
            expected = rows[clip["feature_indices"]].numpy()
            np.testing.assert_allclose(row["features"], expected.mean(0), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(np.asarray(frame_row["frame_features"]), expected, rtol=1e-6)
            assert row["label"] == labels[row["segment_id"]] == text_row["label"]
            assert row["text_caption"] == captions[row["segment_id"]]
            assert text_row["segment_id"] == row["segment_id"]
            assert "features" not in text_row
            assert row["feature_indices"] == clip["feature_indices"]


def test_text_config_needs_no_feature_files(tiny_copy):
    shutil.rmtree(tiny_copy / "features")
    ds = load_ego2exo(tiny_copy, "text")
    assert set(ds) == set(SPLITS) and "features" not in ds["ego_train"].column_names
    with pytest.raises(Ego2ExoError, match="feature file missing"):
        load_ego2exo(tiny_copy, "pooled")


def test_each_feature_file_read_once_and_num_proc(tiny_data_dir, tmp_path, monkeypatch):
    calls = []
    real = builder_module.load_feature_file
    monkeypatch.setattr(builder_module, "load_feature_file", lambda path, **kw: calls.append(path) or real(path, **kw))
    single = load_ego2exo(tiny_data_dir, "pooled", cache_dir=tmp_path / "a")
    meta = read_meta(tiny_data_dir)
    per_split = sum(len({c["feature_file_name"] for c in meta[s]["clips"]}) for s in SPLITS)
    assert len(calls) == per_split and len(set(map(str, calls))) == len({str(Path(c)) for c in calls})
    monkeypatch.undo()
    parallel = load_ego2exo(tiny_data_dir, "pooled", cache_dir=tmp_path / "b", num_proc=2)
    for split in SPLITS:
        assert sorted(single[split]["segment_id"][:]) == sorted(parallel[split]["segment_id"][:])


def test_same_size_rewrite_with_restored_mtime_refreshes_the_cache(tiny_copy, tmp_path):
    first = load_ego2exo(tiny_copy, "pooled", cache_dir=tmp_path)
    clip = first_clip(read_meta(tiny_copy), "ego_val")
    path = tiny_copy / clip["feature_file_name"]
    stat = path.stat()
    table = torch.load(path, weights_only=True)
    table[clip["feature_indices"]] += 1.0
    torch.save(table, path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    again = load_ego2exo(tiny_copy, "pooled", cache_dir=tmp_path)
    row = again["ego_val"]["segment_id"][:].index(clip["id"])
    assert again["ego_val"][row]["features"] != first["ego_val"][row]["features"]


def test_cache_is_reused_and_refreshed(tiny_copy, tmp_path):
    first = load_ego2exo(tiny_copy, "text", cache_dir=tmp_path)
    again = load_ego2exo(tiny_copy, "text", cache_dir=tmp_path)
    assert first["ego_train"].cache_files == again["ego_train"].cache_files
    meta = read_meta(tiny_copy)
    meta["ego_train"]["descriptions"][0]["text_caption"] = "a changed caption"
    save_meta(tiny_copy, meta)
    changed = load_ego2exo(tiny_copy, "text", cache_dir=tmp_path)
    assert "a changed caption" in changed["ego_train"]["text_caption"][:]
