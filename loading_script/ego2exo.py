"""Ego2Exo as a classic `datasets` loading script, for a Hub dataset repo and `datasets` 2.x / 3.x users.

    datasets.load_dataset("ego2exo.py", "text", data_dir="path/to/data")    # ego2exo.json only
    datasets.load_dataset("ego2exo.py", "pooled", data_dir="path/to/data")  # + features/omnivore_video/*.pt

Self-contained: it needs `datasets` and the standard library, plus `torch` to read the feature files of the
`pooled` and `frames` configs. `datasets` 4 and later no longer run loading scripts; there, use the Parquet
export (`ego2exo export`) or the `ego2exo_hf` package, which build the same rows.
"""

import json
import os

import datasets
import numpy as np

_CITATION = """@article{kalluri2024lagtran,
  author  = {Kalluri, Tarun and Majumder, Bodhisattwa and Chandraker, Manmohan},
  title   = {Tell, Don't Show! Language Guidance Eases Transfer Across Domains in Images and Videos},
  journal = {ICML},
  year    = {2024},
}"""
_DESCRIPTION = (
    "Ego2Exo: keystep segments of Ego-Exo4D cooking takes seen from the wearer's camera (ego) and a static "
    "camera (exo), 24 keystep classes, captions for train segments, Omnivore features (1536-d per window)."
)
_HOMEPAGE = "https://github.com/ViLab-UCSD/LaGTran_ICML2024"
_LICENSE = "Metadata: MIT (LaGTran release). Features and videos: Ego-Exo4D licence (Meta), see ego-exo4d-data.org."
_CLASS_NAMES = [
    "Clean up",
    "Prepare milk (boiled)",
    "Prepare ingredients",
    "Construct undressed salad",
    "Make dough",
    "Brew coffee (instant coffee)",
    "Prepare a skillet",
    "Make chai tea",
    "Make pasta",
    "Cook noodles in a skillet",
    "Get kitchenware & utensils",
    "Turn off the stove",
    "Check paper recipe",
    "Boil noodles in boiling water",
    "Brew coffee (manual pour-over)",
    "Make milk tea",
    "Mix noodles with sauce in a bowl",
    "Make salad",
    "Serve",
    "Cook",
    "Add spring onions",
    "Get Ingredients",
    "Add water",
    "Prepare dressing",
]
_SPLITS = ("ego_train", "ego_val", "exo_train", "exo_val")
_FEATURE_DIM = 1536


def _read_metadata(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} not found: pass data_dir=<folder holding ego2exo.json>")
    with open(path, encoding="utf-8") as f:
        meta = json.load(f)
    names = [c["category_name"] for c in sorted(meta["categories"], key=lambda c: c["category_id"])]
    if names != _CLASS_NAMES:
        raise ValueError(f"{path}: its categories are not the 24 Ego2Exo keystep classes")
    return meta


def _segments(meta, split):
    """Join the four lists of a split on segment id, in `clips` order."""
    lists = meta[split]
    by_id = {
        name: {entry[key]: entry for entry in lists[name]}
        for name, key in (("annotations", "segment_id"), ("metadata", "segment_id"), ("descriptions", "segment_id"))
    }
    for clip in lists["clips"]:
        sid = clip["id"]
        ann, info, desc = (by_id[name][sid] for name in ("annotations", "metadata", "descriptions"))
        best_exo = info.get("best_exo")
        yield {
            "segment_id": sid,
            "take_uid": info["take_uid"],
            "segment_index": info["segment_index"],
            "start_time": info["start_time"],
            "end_time": info["end_time"],
            "label": ann["category"],
            "text_caption": desc.get("text_caption") or "",
            "annotator_texts": [{"annotator_id": k, "text": v} for k, v in (desc.get("annotator_texts") or {}).items()],
            "video_file_name": clip.get("video_file_name", ""),
            "feature_file_name": clip["feature_file_name"],
            "feature_indices": clip["feature_indices"],
            "frame_indices": clip.get("frame_indices", []),
            "best_exo_cam": best_exo.get("cam_id") if isinstance(best_exo, dict) else None,
        }


def _load_features(path):
    """One Omnivore feature file as a float32 array of shape (num_windows, 1536)."""
    import torch

    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} not found: data_dir must hold the feature files for this config")
    return torch.load(path, map_location="cpu", weights_only=True).float().reshape(-1, _FEATURE_DIM).numpy()


class Ego2Exo(datasets.GeneratorBasedBuilder):
    """Ego2Exo with configs `text` (metadata and captions), `pooled` (plus mean features), `frames` (per window)."""

    VERSION = datasets.Version("1.0.0")
    BUILDER_CONFIGS = [
        datasets.BuilderConfig(name="text", version=VERSION, description="Segments, labels and captions."),
        datasets.BuilderConfig(name="pooled", version=VERSION, description="Plus the mean feature of each segment."),
        datasets.BuilderConfig(name="frames", version=VERSION, description="Plus the per-window features."),
    ]
    DEFAULT_CONFIG_NAME = "pooled"

    def _info(self):
        features = {
            "segment_id": datasets.Value("int64"),
            "take_uid": datasets.Value("string"),
            "segment_index": datasets.Value("int32"),
            "start_time": datasets.Value("float32"),
            "end_time": datasets.Value("float32"),
            "label": datasets.ClassLabel(names=_CLASS_NAMES),
            "text_caption": datasets.Value("string"),
            "annotator_texts": [{"annotator_id": datasets.Value("string"), "text": datasets.Value("string")}],
            "video_file_name": datasets.Value("string"),
            "feature_file_name": datasets.Value("string"),
            "feature_indices": datasets.Sequence(datasets.Value("int32")),
            "frame_indices": datasets.Sequence(datasets.Sequence(datasets.Value("int32"), length=2)),
            "best_exo_cam": datasets.Value("string"),
        }
        if self.config.name == "pooled":
            features["features"] = datasets.Sequence(datasets.Value("float32"), length=_FEATURE_DIM)
        elif self.config.name == "frames":
            features["frame_features"] = datasets.Array2D(shape=(None, _FEATURE_DIM), dtype="float32")
        return datasets.DatasetInfo(
            description=_DESCRIPTION,
            features=datasets.Features(features),
            homepage=_HOMEPAGE,
            license=_LICENSE,
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager):
        if self.config.data_dir:
            metadata_file = os.path.join(self.config.data_dir, "ego2exo.json")
        elif self.config.name == "text":
            metadata_file = dl_manager.download("ego2exo.json")  # next to this script in its Hub repo
        else:
            raise ValueError(f"config {self.config.name!r} reads feature files: pass data_dir=<local data folder>")
        meta = _read_metadata(metadata_file)
        return [datasets.SplitGenerator(name=split, gen_kwargs={"meta": meta, "split": split}) for split in _SPLITS]

    def _generate_examples(self, meta, split):
        # Grouped by feature file (files sorted, `clips` order within), so that each file is read once.
        groups = {}
        for segment in _segments(meta, split):
            groups.setdefault(segment["feature_file_name"], []).append(segment)
        for file_name in sorted(groups):
            table = (
                None if self.config.name == "text" else _load_features(os.path.join(self.config.data_dir, file_name))
            )
            for segment in groups[file_name]:
                if self.config.name == "pooled":
                    segment["features"] = table[segment["feature_indices"]].mean(axis=0, dtype=np.float32)
                elif self.config.name == "frames":
                    segment["frame_features"] = table[segment["feature_indices"]]
                yield segment["segment_id"], segment
