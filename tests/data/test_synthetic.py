"""`ego2exo_hf/data/synthetic.py`: the stand-in has the official layout, is deterministic, and its views differ."""

from pathlib import Path

import numpy as np
import pytest
import torch
from metadata_fixture import read_meta

from ego2exo_hf import CLASS_NAMES, load_ego2exo, segment_id
from ego2exo_hf.constants import FEATURE_DIM, REAL_SPLIT_SIZES, SPLIT_LISTS, SPLITS, STRIDE_FRAMES
from ego2exo_hf.data.synthetic import SCALES, write_synthetic


def test_synthetic_has_official_layout(tiny_data_dir):
    meta = read_meta(tiny_data_dir)
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
    meta = read_meta(tiny_data_dir)
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
