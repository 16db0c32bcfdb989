"""A synthetic stand-in for Ego2Exo, written in exactly the official layout (`ego2exo.json` + `.pt` files).

Deterministic from the seed. Takes follow a recipe order: each take's keysteps are drawn from a chain fitted to
the real train takes (first keystep, keystep-to-keystep transitions, hence the real class frequencies).
Captions are atomic action descriptions built from class-specific and shared kitchen vocabulary (informative,
not trivial). Each train segment goes to one view with its class's real exo share. Features carry a class signal
in a low-dimensional subspace, a strong ego/exo shift (by default the same class structure seen through a view
transform; `view_shift="swap"`: the exo view of a keystep resembles the ego view of another one), a per
take-and-camera nuisance and per-window noise, so a classifier trained on one view transfers badly to the other
while captions transfer well: the situation LaGTran is made for.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..constants import CLASS_NAMES, FEATURE_DIM, FEATURE_SUBDIR, FPS, METADATA_FILE, NUM_CLASSES
from ..constants import SYNTHETIC_VIEW_SHIFTS as VIEW_SHIFTS
from ..utils import new_output_directory
from .official import feature_windows, overlapping_windows, segment_id
from .synthetic_recipe import (
    CLASS_VOCAB,
    CONFUSABLE,
    EGO_CAMERAS,
    EXO_CAMERAS,
    HANDS,
    PLACES,
    REAL_CLASS_COUNTS,
    REAL_EXO_TRAIN_COUNTS,
    REAL_FIRST_KEYSTEPS,
    REAL_TRANSITIONS,
    SHARED_OBJECTS,
    SHARED_VERBS,
)


@dataclass(frozen=True)
class Scale:
    train_segments: int
    val_segments: int
    train_takes: int
    val_takes: int
    take_minutes: tuple[float, float]
    class_weight_power: float  # < 1 flattens the real class imbalance (small scales keep every class)

    def keystep_chain(self) -> tuple[np.ndarray, np.ndarray]:
        """(first, transitions): the probabilities of a take's first keystep and of each next keystep given the
        current one, from the real counts (+ 0.5 each, so every keystep stays reachable). Transitions into keystep j
        are weighted by count_j ** (class_weight_power - 1): 1 keeps the real frequencies, less flattens them."""
        weight = np.asarray(REAL_CLASS_COUNTS, dtype=float) ** (self.class_weight_power - 1)
        first = (np.asarray(REAL_FIRST_KEYSTEPS) + 0.5) * weight
        transitions = (np.asarray(REAL_TRANSITIONS) + 0.5) * weight
        return first / first.sum(), transitions / transitions.sum(axis=1, keepdims=True)


SCALES = {
    "tiny": Scale(200, 72, 20, 8, (0.5, 1.0), 0.6),
    "demo": Scale(1180, 410, 40, 14, (2.0, 4.0), 0.8),
    "full": Scale(9086, 3168, 249, 88, (5.0, 20.0), 1.0),
}
EXO_TRAIN_SHARE = 4986 / 9086  # official share of exo among train segments (4986 exo / 4100 ego)


def _confusable_with(label: int) -> list[int]:
    for group in CONFUSABLE:
        if label in group:
            return [c for c in group if c != label]
    return []


class _CaptionWriter:
    """Atomic descriptions in the style of the real captions: one short sentence per atomic action."""

    def __init__(self, rng: np.random.Generator, p_class=0.4, p_confusable=0.12):
        self.rng, self.p_class, self.p_confusable = rng, p_class, p_confusable

    def sentence(self, label: int) -> str:
        rng = self.rng
        roll = rng.random()
        confusable = _confusable_with(label)
        if roll < self.p_class:
            verbs, objects = CLASS_VOCAB[label]
        elif roll < self.p_class + self.p_confusable and confusable:
            verbs, objects = CLASS_VOCAB[int(rng.choice(confusable))]
        else:
            verbs, objects = SHARED_VERBS, SHARED_OBJECTS
        verb, obj = rng.choice(verbs), rng.choice(objects)
        if rng.random() < 0.3:  # half-specific sentence: shared verb on a class object or vice versa
            obj = rng.choice(CLASS_VOCAB[label][1] if rng.random() < 0.5 else SHARED_OBJECTS)
        parts = [verb, obj]
        if rng.random() < 0.7:
            parts.append(rng.choice(PLACES))
        if rng.random() < 0.8:
            parts.append(rng.choice(HANDS))
        return " ".join(parts) + "."

    def caption(self, label: int) -> tuple[str, dict]:
        """A segment caption and its per-annotator texts (median ~5 sentences, long tail)."""
        n = int(np.clip(self.rng.lognormal(mean=1.5, sigma=0.9), 1, 200))
        sentences = [self.sentence(label) for _ in range(n)]
        split = int(self.rng.integers(1, n + 1))
        texts = {"annotator_1": " ".join(sentences[:split])}
        if split < n:
            texts["annotator_2"] = " ".join(sentences[split:])
        return " ".join(sentences), texts


def _turn(rng: np.random.Generator, dim: int, degrees: float) -> np.ndarray:
    """A random rotation of R^dim that turns every vector by exactly `degrees`: a rotation by that angle in each of
    dim / 2 orthogonal planes drawn at random (QR of a Gaussian matrix). 0 is the identity, 90 makes every vector
    orthogonal to its image."""
    planes = np.linalg.qr(rng.standard_normal((dim, dim)))[0]
    cos, sin = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    turn = np.zeros((dim, dim))
    for i in range(0, dim - 1, 2):
        turn[i : i + 2, i : i + 2] = [[cos, -sin], [sin, cos]]
    return planes @ turn @ planes.T


class _FeatureModel:
    """Generative model of Omnivore-like window features for both views.

    A window's latent vector is its keystep's class signal in the window's view (the background's between
    keysteps), plus a per take-and-camera nuisance and per-window jitter; features are its image under a fixed
    random basis of a 64-d subspace, plus a per-view offset and per-window noise in all 1536 dimensions.

    `view_shift` sets how the two views' class signals relate:
    - "transform" (default): the exo view sees the same class structure through a view transform: the ego class
      signal turned by `exo_turn_degrees` (`_turn`), scaled by `exo_scale` and shifted by a random offset of
      `exo_offset` per latent dimension. Classes keep their relative arrangement; no class is mistaken for another.
    - "swap": class c's signal is a shared part plus a view-specific part, and the exo view of c takes the
      view-specific part of class swap[c] (a random permutation), so it resembles the ego view of another keystep.
    """

    def __init__(self, rng: np.random.Generator, view_shift="transform", latent_dim=64, exo_turn_degrees=60.0,
                 exo_scale=0.8, exo_offset=1.0):  # fmt: skip
        d = FEATURE_DIM
        self.rng = rng
        self.basis = np.linalg.qr(rng.standard_normal((d, latent_dim)))[0].T.astype(np.float32) * np.sqrt(
            d / latent_dim
        )
        if view_shift == "swap":
            shared = rng.standard_normal((NUM_CLASSES, latent_dim))
            view_specific = rng.standard_normal((NUM_CLASSES, latent_dim))
            swap = rng.permutation(NUM_CLASSES)  # exo view of class c resembles ego view of class swap[c]
            self.class_latent = {
                "ego": 1.0 * shared + 1.0 * view_specific,
                "exo": 1.0 * shared + 1.0 * view_specific[swap],
            }
        else:  # the class structure has the swap model's energy: 2 per latent dimension
            classes = np.sqrt(2) * rng.standard_normal((NUM_CLASSES + 1, latent_dim))  # + the background
            turn = _turn(rng, latent_dim, exo_turn_degrees)
            exo = exo_scale * classes @ turn.T + exo_offset * rng.standard_normal(latent_dim)
            self.class_latent = {"ego": classes[:-1], "exo": exo[:-1]}
            self.view_background = {"ego": classes[-1], "exo": exo[-1]}
        self.view_offset = {v: 1.5 * rng.standard_normal(d).astype(np.float32) for v in ("ego", "exo")}
        if view_shift == "swap":
            background = rng.standard_normal(latent_dim)
            self.view_background = {"ego": background, "exo": background}
        self.take_scale, self.window_noise = 2.5, 4.0

    def file_features(self, view: str, window_labels: np.ndarray) -> np.ndarray:
        """Features of one take-camera file, shape (N, 1, 1536) float32; label -1 = between keysteps."""
        rng = self.rng
        latent = np.where(
            window_labels[:, None] >= 0, self.class_latent[view][window_labels], self.view_background[view]
        )
        latent = latent + self.take_scale * rng.standard_normal(latent.shape[1])  # take/camera nuisance
        latent = latent + 1.5 * rng.standard_normal(latent.shape)  # window-level latent jitter
        rows = latent.astype(np.float32) @ self.basis * 0.1 + self.view_offset[view] * 0.1
        rows += self.window_noise * 0.1 * rng.standard_normal(rows.shape, dtype=np.float32)
        return rows.astype(np.float32)[:, None, :]


def exo_train_counts(class_counts) -> np.ndarray:
    """How many of each class's train segments go to the exo view: the real per-class exo shares
    (`REAL_EXO_TRAIN_COUNTS / REAL_CLASS_COUNTS`), rescaled so that the total is the official exo share of all
    train segments, rounded by largest remainder. The real class counts give exactly the real exo counts."""
    class_counts = np.asarray(class_counts, dtype=int)
    quota = class_counts * np.asarray(REAL_EXO_TRAIN_COUNTS) / np.asarray(REAL_CLASS_COUNTS)
    total = round(EXO_TRAIN_SHARE * class_counts.sum())
    if quota.sum() > 0:
        quota = np.minimum(quota * total / quota.sum(), class_counts)
    counts = np.floor(quota + 1e-9).astype(int)
    for c in np.argsort(-(quota - counts), kind="stable"):
        if counts.sum() >= total:
            break
        counts[c] += counts[c] < class_counts[c]
    return counts


def assign_views(labels, rng: np.random.Generator) -> np.ndarray:
    """Which train segments (by label, in order) go to the exo view (True) rather than the ego view: within each
    class, `exo_train_counts` of them at random. Each train segment is in exactly one view."""
    labels = np.asarray(labels, dtype=int)
    exo = np.zeros(len(labels), bool)
    for c, n_exo in enumerate(exo_train_counts(np.bincount(labels, minlength=NUM_CLASSES))):
        members = np.flatnonzero(labels == c)
        exo[rng.permutation(members)[:n_exo]] = True
    return exo


def _split_counts(total: int, parts: int, rng) -> np.ndarray:
    """`total` split into `parts` positive integers with some spread."""
    weights = rng.uniform(0.6, 1.4, parts)
    counts = np.maximum(1, np.floor(weights / weights.sum() * total)).astype(int)
    while counts.sum() < total:
        counts[rng.integers(parts)] += 1
    while counts.sum() > total:
        i = int(np.argmax(counts))
        counts[i] -= 1
    return counts


def _make_take(rng, n_segments: int, minutes: tuple[float, float], chain) -> dict:
    """One take: `n_segments` keysteps in a recipe order drawn from `chain` (`Scale.keystep_chain`), with times."""
    duration = float(rng.uniform(*minutes)) * 60
    lengths = rng.lognormal(0.0, 0.5, n_segments)
    gaps = rng.uniform(0.2, 1.0, n_segments + 1)
    scale = duration / (lengths.sum() + gaps.sum())
    first, transitions = chain
    t, segments, label = gaps[0] * scale, [], int(rng.choice(NUM_CLASSES, p=first))
    for i in range(n_segments):
        if i:
            label = int(rng.choice(NUM_CLASSES, p=transitions[label]))
        start, end = t, t + lengths[i] * scale
        segments.append({"index": i, "start": round(start, 3), "end": round(end, 3), "label": label})
        t = end + gaps[i + 1] * scale
    uid = "".join(rng.choice(list("0123456789abcdef"), 32))
    take_uid = f"{uid[:8]}-{uid[8:12]}-{uid[12:16]}-{uid[16:20]}-{uid[20:]}"
    best = (
        None
        if rng.random() < 0.05
        else {"cam_id": str(rng.choice(EXO_CAMERAS)), "score": round(float(rng.random()), 3)}
    )
    return {
        "uid": take_uid,
        "frames": int(duration * FPS),
        "segments": segments,
        "best_exo": best,
        "ego_cam": str(rng.choice(EGO_CAMERAS, p=[0.8, 0.2])),
    }


def _feature_file(take: dict, view: str) -> str:
    if view == "ego":
        cam = take["ego_cam"]
    else:
        cam = (take["best_exo"] or {"cam_id": "cam01"})["cam_id"] + "_0"
    return f"{FEATURE_SUBDIR}/{take['uid']}_{cam}.pt"


def _empty_split() -> dict:
    return {"clips": [], "annotations": [], "metadata": [], "descriptions": []}


def _add_segment(split: dict, take: dict, seg: dict, view: str, windows, caption=None):
    sid = segment_id(take["uid"], seg["index"])
    idx = overlapping_windows(windows, int(seg["start"] * FPS), int(np.ceil(seg["end"] * FPS)))
    cam_file = _feature_file(take, view)
    split["clips"].append(
        {
            "id": sid,
            "video_file_name": f"takes/{take['uid']}/{Path(cam_file).stem.removeprefix(take['uid'] + '_')}.mp4",
            "feature_file_name": cam_file,
            "feature_indices": idx,
            "frame_indices": [list(windows[i]) for i in idx],
        }
    )
    split["annotations"].append({"segment_id": sid, "category": seg["label"], "class_name": CLASS_NAMES[seg["label"]]})
    split["metadata"].append(
        {
            "segment_id": sid,
            "start_time": seg["start"],
            "end_time": seg["end"],
            "take_uid": take["uid"],
            "segment_index": seg["index"],
            "best_exo": take["best_exo"],
        }
    )
    text, texts = caption if caption else ("", {})
    split["descriptions"].append({"segment_id": sid, "text_caption": text, "annotator_texts": texts})


def write_synthetic(
    out_dir, scale: str = "tiny", seed: int = 0, overwrite: bool = False, view_shift: str = "transform"
) -> Path:
    """Write a synthetic Ego2Exo copy (official layout) to `out_dir`; the folder appears only when complete.

    `view_shift` ("transform" or "swap", `_FeatureModel`) changes the features only: the same seed gives the same
    takes, views and captions. An existing `out_dir` is replaced only if it is empty, an earlier `synth` output, or
    `overwrite` is set.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: choose one of {', '.join(SCALES)}")
    if view_shift not in VIEW_SHIFTS:
        raise ValueError(f"unknown view_shift {view_shift!r}: choose one of {', '.join(VIEW_SHIFTS)}")
    cfg = SCALES[scale]
    rng = np.random.default_rng(seed)
    chain = cfg.keystep_chain()
    captions = _CaptionWriter(np.random.default_rng([seed, 1]))
    features = _FeatureModel(np.random.default_rng([seed, 2]), view_shift)
    splits = {name: _empty_split() for name in ("exo_train", "exo_val", "ego_train", "ego_val")}
    train_takes = [
        _make_take(rng, n, cfg.take_minutes, chain) for n in _split_counts(cfg.train_segments, cfg.train_takes, rng)
    ]
    val_takes = [
        _make_take(rng, n, cfg.take_minutes, chain) for n in _split_counts(cfg.val_segments, cfg.val_takes, rng)
    ]

    # Train segments go to exactly one view (each class with its real exo share, official totals), val to both.
    train_segments = [(t, s) for t in train_takes for s in t["segments"]]
    exo_mask = assign_views([s["label"] for _, s in train_segments], rng)
    view_of = {(t["uid"], s["index"]): "exo" if exo_mask[i] else "ego" for i, (t, s) in enumerate(train_segments)}

    with new_output_directory(out_dir, "synth", overwrite=overwrite) as tmp:
        (tmp / FEATURE_SUBDIR).mkdir(parents=True)
        takes = [(t, "train") for t in train_takes] + [(t, "val") for t in val_takes]
        for take, part in tqdm(takes, desc=f"synth {scale}", unit="take", leave=False):
            windows = feature_windows(take["frames"])
            for view in ("ego", "exo"):
                segs = [s for s in take["segments"] if part == "val" or view_of[(take["uid"], s["index"])] == view]
                for seg in segs:
                    caption = captions.caption(seg["label"]) if part == "train" else None
                    _add_segment(splits[f"{view}_{part}"], take, seg, view, windows, caption)
                window_labels = np.full(len(windows), -1)
                centres = np.array([(s + e) / 2 / FPS for s, e in windows])
                for seg in take["segments"]:
                    window_labels[(centres >= seg["start"]) & (centres < seg["end"])] = seg["label"]
                rows = features.file_features(view, window_labels)
                torch.save(torch.from_numpy(rows), tmp / _feature_file(take, view))
        for split in splits.values():  # the official lists are not guaranteed to share an order
            for name in ("annotations", "descriptions"):
                rng.shuffle(split[name])
        meta = {"categories": [{"category_name": n, "category_id": i} for i, n in enumerate(CLASS_NAMES)], **splits}
        with open(tmp / METADATA_FILE, "w", encoding="utf-8") as f:
            json.dump(meta, f)
    return Path(out_dir).resolve()
