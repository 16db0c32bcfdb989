"""Data layer: official reader, builder configs, synthetic stand-in, export, bad inputs."""

import json
import os
import pickle
import shutil
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch

from ego2exo_hf import CLASS_NAMES, Ego2ExoError, load_ego2exo, segment_id
from ego2exo_hf.cli import main as cli_main
from ego2exo_hf.constants import FEATURE_DIM, REAL_SPLIT_SIZES, SPLIT_LISTS, SPLITS, STRIDE_FRAMES, WINDOW_FRAMES
from ego2exo_hf.data import builder as builder_module
from ego2exo_hf.data.export import export_dataset
from ego2exo_hf.data.official import feature_windows
from ego2exo_hf.data.synthetic import SCALES, write_synthetic


def _meta(data_dir):
    return json.loads((Path(data_dir) / "ego2exo.json").read_text())


def _save_meta(data_dir, meta):
    (Path(data_dir) / "ego2exo.json").write_text(json.dumps(meta))


def _first_clip(meta, split="exo_train"):
    return meta[split]["clips"][0]


# ---------------------------------------------------------------------------------------------- ids, windows
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


# ---------------------------------------------------------------------------------------------- synthetic layout
def test_synthetic_has_official_layout(tiny_data_dir):
    meta = _meta(tiny_data_dir)
    assert [c["category_name"] for c in meta["categories"]] == CLASS_NAMES
    for split in SPLITS:
        assert set(meta[split]) == set(SPLIT_LISTS)
        clip = meta[split]["clips"][0]
        assert set(clip) == {"id", "video_file_name", "feature_file_name", "feature_indices", "frame_indices"}
        assert clip["feature_file_name"].startswith("features/omnivore_video/")
        assert len(clip["frame_indices"]) == len(clip["feature_indices"])
        assert set(meta[split]["metadata"][0]) == {
            "segment_id",
            "start_time",
            "end_time",
            "take_uid",
            "segment_index",
            "best_exo",
        }
        ids = {c["id"] for c in meta[split]["clips"]}
        assert ids == {a["segment_id"] for a in meta[split]["annotations"]}
        for m in meta[split]["metadata"]:
            assert segment_id(m["take_uid"], m["segment_index"]) == m["segment_id"]
    # val: same segments in both views, empty captions
    assert {c["id"] for c in meta["ego_val"]["clips"]} == {c["id"] for c in meta["exo_val"]["clips"]}
    assert all(d["text_caption"] == "" and d["annotator_texts"] == {} for d in meta["ego_val"]["descriptions"])
    assert all(d["text_caption"] for d in meta["exo_train"]["descriptions"])
    # train: ~55 % exo, no overlap between views
    n_ego, n_exo = len(meta["ego_train"]["clips"]), len(meta["exo_train"]["clips"])
    assert not {c["id"] for c in meta["ego_train"]["clips"]} & {c["id"] for c in meta["exo_train"]["clips"]}
    assert abs(n_exo / (n_ego + n_exo) - REAL_SPLIT_SIZES["exo_train"] / 9086) < 0.02
    # the lists are not in the same order (readers must join on id)
    assert [a["segment_id"] for a in meta["exo_train"]["annotations"]] != [c["id"] for c in meta["exo_train"]["clips"]]


def test_synthetic_feature_files_and_indices(tiny_data_dir):
    meta = _meta(tiny_data_dir)
    clip, info = meta["ego_train"]["clips"][0], meta["ego_train"]["metadata"]
    tensor = torch.load(Path(tiny_data_dir) / clip["feature_file_name"], weights_only=True)
    assert tensor.dtype == torch.float32 and tensor.dim() == 3 and tensor.shape[1:] == (1, FEATURE_DIM)
    start = next(m for m in info if m["segment_id"] == clip["id"])["start_time"]
    first_window = clip["frame_indices"][0]
    assert first_window[0] == clip["feature_indices"][0] * STRIDE_FRAMES
    assert first_window[0] <= start * 30 < first_window[1]


def test_synthetic_is_deterministic(tmp_path, tiny_data_dir):
    again = write_synthetic(tmp_path / "again", "tiny", seed=0)
    assert (again / "ego2exo.json").read_text() == (Path(tiny_data_dir) / "ego2exo.json").read_text()
    other = write_synthetic(tmp_path / "other", "tiny", seed=1)
    assert (other / "ego2exo.json").read_text() != (again / "ego2exo.json").read_text()


def test_full_scale_has_official_sizes():
    full = SCALES["full"]
    assert (full.train_segments, full.val_segments, full.train_takes) == (4100 + 4986, 3168, 249)
    assert full.take_minutes == (5.0, 20.0)


def _fit_probe(features, labels, steps=300):
    torch.manual_seed(0)
    model = torch.nn.Linear(FEATURE_DIM, len(CLASS_NAMES))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
    mean, std = features.mean(0), features.std(0) + 1e-6
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model((features - mean) / std), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return lambda x: model((x - mean) / std).argmax(1)


def test_synthetic_views_differ(tiny_data_dir):
    """A feature classifier trained on one view does >= 10 points worse on the other view's val."""
    ds = load_ego2exo(tiny_data_dir, "pooled").with_format("torch")
    tensors = {split: ds[split][:] for split in SPLITS}
    for view, other in (("ego", "exo"), ("exo", "ego")):
        predict = _fit_probe(tensors[f"{view}_train"]["features"], tensors[f"{view}_train"]["label"])
        own_probe = _fit_probe(tensors[f"{other}_train"]["features"], tensors[f"{other}_train"]["label"])
        target = tensors[f"{other}_val"]
        cross = (predict(target["features"]) == target["label"]).float().mean().item()
        own = (own_probe(target["features"]) == target["label"]).float().mean().item()
        assert own - cross >= 0.10, (view, other, own, cross)


# ---------------------------------------------------------------------------------------------- builder
def test_builder_values_match_hand_computation(tiny_data_dir):
    pooled = load_ego2exo(tiny_data_dir, "pooled")
    frames = load_ego2exo(tiny_data_dir, "frames")
    text = load_ego2exo(tiny_data_dir, "text")
    meta = _meta(tiny_data_dir)
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
    meta = _meta(tiny_data_dir)
    per_split = sum(len({c["feature_file_name"] for c in meta[s]["clips"]}) for s in SPLITS)
    assert len(calls) == per_split and len(set(map(str, calls))) == len({str(Path(c)) for c in calls})
    monkeypatch.undo()
    parallel = load_ego2exo(tiny_data_dir, "pooled", cache_dir=tmp_path / "b", num_proc=2)
    for split in SPLITS:
        assert sorted(single[split]["segment_id"][:]) == sorted(parallel[split]["segment_id"][:])


PWNED = Path("/tmp") / f"ego2exo-test-pwned-{os.getpid()}"


class _RunsCode:
    def __reduce__(self):
        return (os.system, (f"touch {PWNED}",))


def test_same_size_rewrite_with_restored_mtime_refreshes_the_cache(tiny_copy, tmp_path):
    first = load_ego2exo(tiny_copy, "pooled", cache_dir=tmp_path)
    clip = _first_clip(_meta(tiny_copy), "ego_val")
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
    meta = _meta(tiny_copy)
    meta["ego_train"]["descriptions"][0]["text_caption"] = "a changed caption"
    _save_meta(tiny_copy, meta)
    changed = load_ego2exo(tiny_copy, "text", cache_dir=tmp_path)
    assert "a changed caption" in changed["ego_train"]["text_caption"][:]


def test_accepts_null_best_exo_and_2d_tensors(tiny_copy):
    meta = _meta(tiny_copy)
    for m in meta["exo_train"]["metadata"]:
        m["best_exo"] = None
    _save_meta(tiny_copy, meta)
    path = tiny_copy / _first_clip(meta)["feature_file_name"]
    torch.save(torch.load(path, weights_only=True)[:, 0].clone(), path)  # (N, 1536)
    ds = load_ego2exo(tiny_copy, "pooled")
    assert ds["exo_train"]["best_exo_cam"][0] is None


# ---------------------------------------------------------------------------------------------- bad inputs
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
    meta = _edit(_meta(tiny_copy), kind)
    _save_meta(tiny_copy, meta)
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
    clip = _first_clip(_meta(tiny_copy), "ego_val")
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


# ---------------------------------------------------------------------------------------------- export, CLI
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


def _class_distances(latent: np.ndarray) -> np.ndarray:
    """Pairwise distances of the class signals, over their mean (scale-free)."""
    distances = np.linalg.norm(latent[:, None] - latent[None], axis=2)
    return distances / distances.mean()


def test_default_view_shift_keeps_the_classes_and_swap_permutes_them():
    from ego2exo_hf.data.synthetic import _FeatureModel

    for seed in range(3):
        # transform: the exo class signals are the ego ones turned, scaled and shifted, so every pair of classes is
        # as far apart (relative to the rest) in both views, and each class's nearest class is the same one.
        transform = _FeatureModel(np.random.default_rng([seed, 2]), "transform").class_latent
        ego, exo = (_class_distances(transform[view]) for view in ("ego", "exo"))
        np.testing.assert_allclose(exo, ego, atol=1e-6)
        assert not np.allclose(transform["ego"], transform["exo"])  # a real view shift, not the identity
        # swap: the view-specific part comes from another class, which breaks that structure.
        swap = _FeatureModel(np.random.default_rng([seed, 2]), "swap").class_latent
        ego, exo = (_class_distances(swap[view]) for view in ("ego", "exo"))
        assert np.abs(exo - ego).mean() > 0.05  # (transform: below 1e-6)


def test_views_get_the_real_per_class_exo_shares():
    from ego2exo_hf.data.synthetic import assign_views, exo_train_counts
    from ego2exo_hf.data.synthetic_recipe import REAL_CLASS_COUNTS, REAL_EXO_TRAIN_COUNTS

    assert exo_train_counts(REAL_CLASS_COUNTS).tolist() == REAL_EXO_TRAIN_COUNTS  # full: exactly the real counts
    labels = np.repeat(np.arange(24), np.asarray(REAL_CLASS_COUNTS) // 3 + 1)
    exo = assign_views(labels, np.random.default_rng(0))
    for c in range(24):
        share = exo[labels == c].mean()
        assert abs(share - REAL_EXO_TRAIN_COUNTS[c] / REAL_CLASS_COUNTS[c]) < 0.5 / (labels == c).sum() + 0.02


def test_swap_view_shift_changes_the_features_only(tmp_path, tiny_data_dir):
    swap = write_synthetic(tmp_path / "swap", "tiny", seed=0, view_shift="swap")
    assert (swap / "ego2exo.json").read_bytes() == (Path(tiny_data_dir) / "ego2exo.json").read_bytes()
    name = sorted((swap / "features" / "omnivore_video").iterdir())[0].name
    a = torch.load(swap / "features" / "omnivore_video" / name)
    b = torch.load(Path(tiny_data_dir) / "features" / "omnivore_video" / name)
    assert a.shape == b.shape and not torch.allclose(a, b)
    with pytest.raises(ValueError, match="unknown view_shift 'rotate': choose one of transform, swap"):
        write_synthetic(tmp_path / "bad", "tiny", view_shift="rotate")
    assert not (tmp_path / "bad").exists()
