"""The `Ego2Exo` dataset builder (`datasets.ArrowBasedBuilder`): official `ego2exo.json` + Omnivore features -> Arrow.

Configs: `text` (metadata and captions only), `pooled` (default; plus the mean feature of each segment)
and `frames` (plus the per-window feature sequence). Splits keep the official names.
"""

import hashlib
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
from datasets.builder import DatasetGenerationError
from datasets.features.features import to_pyarrow_listarray

from ..constants import CITATION, CLASS_NAMES, DATASET_CONFIGS, FEATURE_DIM, FEATURE_SUBDIR, SPLITS
from ..errors import Ego2ExoError, where
from ..utils import ensure_writable_dir
from .official import (
    group_by_feature_file,
    load_feature_file,
    metadata_path,
    nonfinite_rows,
    read_metadata,
    segment_rows_problem,
)

_DESCRIPTION = """Ego2Exo: keystep segments of Ego-Exo4D cooking takes seen from the wearer's camera (ego)
and a static camera (exo), 24 keystep classes, natural-language captions for train segments, and
Omnivore video features (1536-d per 32-frame window)."""
_HOMEPAGE = "https://github.com/ViLab-UCSD/LaGTran_ICML2024"
_LICENSE = "Metadata: MIT (LaGTran release). Features and videos: Ego-Exo4D licence (Meta), see ego-exo4d-data.org."


def base_features() -> dict:
    """Columns every config has (all but the feature vectors)."""
    return {
        "segment_id": datasets.Value("int64"),
        "take_uid": datasets.Value("string"),
        "segment_index": datasets.Value("int32"),
        "start_time": datasets.Value("float32"),
        "end_time": datasets.Value("float32"),
        "label": datasets.ClassLabel(names=CLASS_NAMES),
        "text_caption": datasets.Value("string"),
        "annotator_texts": datasets.List({"annotator_id": datasets.Value("string"), "text": datasets.Value("string")}),
        "video_file_name": datasets.Value("string"),
        "feature_file_name": datasets.Value("string"),
        "feature_indices": datasets.List(datasets.Value("int32")),
        "frame_indices": datasets.List(datasets.List(datasets.Value("int32"), length=2)),
        "best_exo_cam": datasets.Value("string"),
    }


def config_features(name: str) -> datasets.Features:
    """The `datasets.Features` of config `name` (`text`, `pooled` or `frames`)."""
    features = base_features()
    if name == "pooled":
        features["features"] = datasets.List(datasets.Value("float32"), length=FEATURE_DIM)
    elif name == "frames":
        features["frame_features"] = datasets.Array2D(shape=(None, FEATURE_DIM), dtype="float32")
    return datasets.Features(features)


@dataclass
class Ego2ExoConfig(datasets.BuilderConfig):
    """A config of the Ego2Exo builder. `fingerprint` ties the Arrow cache to the content of `data_dir`."""

    fingerprint: str | None = None


class Ego2Exo(datasets.ArrowBasedBuilder):
    """Builds the four official splits from a real or synthetic Ego2Exo data folder (`data_dir`).

    One Arrow table per feature file: the feature columns go from numpy to Arrow in one piece instead of
    through `datasets`' per-example encoding (2x faster on the full data).
    """

    VERSION = datasets.Version("1.0.0")
    BUILDER_CONFIG_CLASS = Ego2ExoConfig
    BUILDER_CONFIGS = [
        Ego2ExoConfig(name="text", version=VERSION, description="Segments, labels and captions; no features."),
        Ego2ExoConfig(name="pooled", version=VERSION, description="Plus the mean Omnivore feature of each segment."),
        Ego2ExoConfig(name="frames", version=VERSION, description="Plus the per-window Omnivore features."),
    ]
    DEFAULT_CONFIG_NAME = "pooled"

    def _info(self):
        return datasets.DatasetInfo(
            description=_DESCRIPTION,
            features=config_features(self.config.name),
            homepage=_HOMEPAGE,
            license=_LICENSE,
            citation=CITATION,
        )

    def _split_generators(self, dl_manager):
        if not self.config.data_dir:
            raise Ego2ExoError("no data_dir given: pass the folder holding ego2exo.json (see `ego2exo synth --help`)")
        records = read_metadata(self.config.data_dir)
        return [
            datasets.SplitGenerator(
                name=split, gen_kwargs={"groups": group_by_feature_file(records[split]), "split": split}
            )
            for split in SPLITS
        ]

    def _generate_tables(self, groups, split):
        """Yield one Arrow table per feature file of this shard; each file is read once."""
        data_dir = Path(self.config.data_dir)
        mode = self.config.name
        schema = self.info.features.arrow_schema
        for file_name, records in groups:
            columns = {name: [record[name] for record in records] for name in base_features()}
            if mode != "text":
                path = data_dir / file_name
                # numpy from here on: torch ops in forked build workers (num_proc > 1) can deadlock
                table = load_feature_file(path, split=split, segment_id=records[0]["segment_id"]).numpy()
                rows, bad_rows = [], nonfinite_rows(table)
                for record in records:
                    indices = record["feature_indices"]
                    problem = segment_rows_problem(indices, len(table), bad_rows)
                    if problem:
                        raise Ego2ExoError(
                            f"{where(file=path, split=split, segment_id=record['segment_id'])}: {problem}"
                        )
                    rows.append(table[indices])
                if mode == "pooled":
                    pooled = np.stack([r.mean(axis=0, dtype=np.float32) for r in rows])
                    columns["features"] = pa.FixedSizeListArray.from_arrays(pa.array(pooled.ravel()), FEATURE_DIM)
                else:
                    array_type = schema.field("frame_features").type
                    columns["frame_features"] = pa.ExtensionArray.from_storage(
                        array_type, to_pyarrow_listarray(rows, array_type)
                    )
            yield file_name, pa.Table.from_pydict(columns, schema=schema)


def data_fingerprint(data_dir, config: str) -> str:
    """A cheap content fingerprint: hash of ego2exo.json and (for feature configs) each feature file's size, mtime,
    ctime and inode. ctime cannot be set back by a user, so a same-size rewrite is caught even with mtime restored."""
    digest = hashlib.sha256()
    meta = metadata_path(data_dir)
    if meta.is_file():
        with open(meta, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    feature_dir = Path(data_dir) / FEATURE_SUBDIR
    if config != "text" and feature_dir.is_dir():
        for entry in sorted(os.scandir(feature_dir), key=lambda e: e.name):
            stat = entry.stat()
            digest.update(f"{entry.name}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino};".encode())
    return digest.hexdigest()[:16]


def ego2exo_builder(data_dir, config: str = "pooled", cache_dir=None) -> Ego2Exo:
    """The builder for `data_dir`, its Arrow cache keyed by the folder's content."""
    if config not in DATASET_CONFIGS:
        raise Ego2ExoError(f"unknown config {config!r}: choose {', '.join(DATASET_CONFIGS)}")
    data_dir = Path(data_dir).resolve()
    if cache_dir is not None:
        ensure_writable_dir(cache_dir)  # a file or a read-only folder: one line now, not a traceback later
    return Ego2Exo(
        config_name=config,
        data_dir=str(data_dir),
        cache_dir=str(cache_dir) if cache_dir else None,
        fingerprint=data_fingerprint(data_dir, config),
    )


def load_ego2exo(data_dir, config: str = "pooled", cache_dir=None, num_proc=None) -> datasets.DatasetDict:
    """Build (or reuse the cache of) Ego2Exo from `data_dir` and return its four splits.

    `num_proc > 1` builds in parallel, sharded by feature file. Errors in the data are `Ego2ExoError`s
    naming the file, split and segment; a failed build leaves nothing in the cache.
    """
    builder = ego2exo_builder(data_dir, config, cache_dir)
    try:
        builder.download_and_prepare(num_proc=num_proc)
    except DatasetGenerationError as err:
        cause = err.__cause__ or err.__context__
        while cause is not None and not isinstance(cause, Ego2ExoError):
            cause = cause.__cause__ or cause.__context__
        if cause is not None:
            raise cause from None
        raise
    # `as_dataset` cannot read a split with no examples (e.g. the empty val splits of a captions-only folder).
    features = builder.info.features
    return datasets.DatasetDict(
        {
            split: builder.as_dataset(split=split)
            if builder.info.splits[split].num_examples
            else datasets.Dataset.from_dict({name: [] for name in features}, features=features)
            for split in builder.info.splits
        }
    )


def load_split(data_dir, config: str, split: str, cache_dir=None) -> datasets.Dataset:
    """One split of `load_ego2exo`, or a one-line error for a split name Ego2Exo does not have."""
    if split not in SPLITS:
        raise Ego2ExoError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    return load_ego2exo(data_dir, config, cache_dir=cache_dir)[split]


def summarize(dataset: datasets.DatasetDict) -> str:
    """Split sizes and the most frequent classes of a built Ego2Exo."""
    lines = []
    for split in SPLITS:
        part = dataset[split]
        counts = Counter(part["label"][:])
        top = ", ".join(f"{CLASS_NAMES[c]} {n}" for c, n in counts.most_common(3))
        captioned = sum(bool(t) for t in part["text_caption"][:])
        lines.append(
            f"{split:>10}: {len(part):5d} segments, {len(counts):2d} classes, {captioned:5d} captioned; top: {top}"
        )
    return "\n".join(lines)
