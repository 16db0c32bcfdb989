"""The text stage's data: caption splits of one direction, the held-out source slice, tokenization, take context."""

from pathlib import Path

import numpy as np

from ..constants import METADATA_FILE, split_name
from ..errors import Ego2ExoError, where
from .ngram import CaptionContext

CAPTION_COLUMN = "text_caption"


def load_caption_splits(data_dir, source: str, target: str, cache_dir=None):
    """Source and target train splits of the `text` config; source segments with an empty caption are dropped."""
    from ..data import load_ego2exo

    splits = load_ego2exo(data_dir, config="text", cache_dir=cache_dir)
    file = Path(data_dir) / METADATA_FILE
    source_split, target_split = split_name(source, "train"), split_name(target, "train")
    source_rows = splits[source_split].filter(lambda caption: bool(caption.strip()), input_columns=CAPTION_COLUMN)
    if len(source_rows) == 0:
        raise Ego2ExoError(f"{where(file=file, split=source_split)}: every source caption is empty, nothing to learn")
    if len(splits[target_split]) == 0:
        raise Ego2ExoError(f"{where(file=file, split=target_split)}: no segments")
    return source_rows, splits[target_split]


def stratified_heldout(labels, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Train / held-out row indices with `fraction` of every class held out (rounded; at least one example of each
    class stays in train). `Dataset.train_test_split(stratify_by_column=...)` refuses single-example classes,
    which the real data has."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, heldout = [], []
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        k = min(int(round(fraction * len(rows))), len(rows) - 1)
        heldout.extend(rows[:k].tolist())
        train.extend(rows[k:].tolist())
    return sorted(train), sorted(heldout)


def tokenize(dataset, tokenizer, max_length: int, num_proc=None):
    """Batched, cached tokenization; keeps `label` and drops the other columns."""
    return dataset.map(
        lambda batch: tokenizer(batch[CAPTION_COLUMN], truncation=True, max_length=max_length),
        batched=True,
        num_proc=num_proc,
        remove_columns=[c for c in dataset.column_names if c != "label"],
        desc="Tokenizing captions",
    )


def caption_context(dataset, data_dir=None, split: str | None = None) -> CaptionContext:
    """`CaptionContext` of every row of a caption split, from its own `take_uid` and `segment_index` (one view)."""
    columns = (dataset[name][:] for name in ("take_uid", "segment_index", CAPTION_COLUMN, "segment_id"))
    take_uids, segment_indices, captions, segment_ids = columns
    file = Path(data_dir) / METADATA_FILE if data_dir else None
    return CaptionContext.within_takes(take_uids, segment_indices, captions, segment_ids, where(file=file, split=split))
