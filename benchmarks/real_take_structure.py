#!/usr/bin/env python
"""The keystep structure of the real train takes, and how close a synthetic copy comes to it.

    python benchmarks/real_take_structure.py --captions_dir ../shared/data/ego2exo_captions [--data_dir DATA]

Reads the real labels of every train segment (`{ego,exo}_train.txt`) and the take list (`take_ids.txt` next to
`--captions_dir`, or `--take_ids`), orders each take's segments by `segment_index` (both views together), and
prints the counts that `ego2exo_hf/data/synthetic_recipe.py` holds as REAL_FIRST_KEYSTEPS and REAL_TRANSITIONS (and
whether they still equal them). With `--data_dir` (a synthetic or real copy) it measures the same statistics on
that copy's train splits. Prints one JSON object on the last line.
"""

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

import numpy as np
from text_real_captions import read_captions, read_take_ids

from ego2exo_hf.constants import NUM_CLASSES
from ego2exo_hf.data import synthetic_recipe
from ego2exo_hf.data.official import locate_segments


def take_sequences(rows) -> list[list[int]]:
    """The keysteps of each take in `segment_index` order, from `(take_uid, segment_index, label)` rows."""
    takes = defaultdict(list)
    for take, index, label in rows:
        takes[take].append((index, label))
    return [[label for _, label in sorted(segments)] for segments in takes.values()]


def structure(sequences) -> dict:
    """First-keystep and transition counts, and the summary figures compared in BENCHMARKS.md."""
    first, transitions = np.zeros(NUM_CLASSES, dtype=int), np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=int)
    for labels in sequences:
        first[labels[0]] += 1
        for a, b in zip(labels, labels[1:]):
            transitions[a, b] += 1
    counts = np.bincount(np.concatenate(sequences), minlength=NUM_CLASSES)
    return {
        "first": first,
        "transitions": transitions,
        "summary": {
            "takes": len(sequences),
            "segments": int(counts.sum()),
            "same_keystep_next": round(float(np.trace(transitions) / transitions.sum()), 3),
            "median_keysteps_per_take": statistics.median(len(set(labels)) for labels in sequences),
            "largest_class_share": round(float(counts.max() / counts.sum()), 3),
            "classes_under_1_percent": int((counts < 0.01 * counts.sum()).sum()),
        },
    }


def real_rows(captions_dir, take_ids) -> list[tuple]:
    records = [r for view in ("ego", "exo") for r in read_captions(Path(captions_dir) / f"{view}_train.txt")]
    positions = locate_segments([r["segment_id"] for r in records], read_take_ids(take_ids))
    return [(*positions[r["segment_id"]], r["category"]) for r in records]


def copy_rows(data_dir) -> list[tuple]:
    from ego2exo_hf.data import load_ego2exo

    splits = load_ego2exo(data_dir, "text")
    return [
        row
        for name in ("ego_train", "exo_train")
        for row in zip(splits[name]["take_uid"], splits[name]["segment_index"], splits[name]["label"])
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--captions_dir", required=True, help="folder with ego_train.txt and exo_train.txt")
    parser.add_argument("--take_ids", default=None, help="the take list (default: take_ids.txt beside it)")
    parser.add_argument("--data_dir", default=None, help="also measure this copy's train splits")
    args = parser.parse_args()
    take_ids = args.take_ids or Path(args.captions_dir).parent / "take_ids.txt"

    real = structure(take_sequences(real_rows(args.captions_dir, take_ids)))
    print("REAL_FIRST_KEYSTEPS =", real["first"].tolist())
    print("REAL_TRANSITIONS =", json.dumps(real["transitions"].tolist()))
    result = {
        "real": real["summary"],
        "constants_match": real["first"].tolist() == synthetic_recipe.REAL_FIRST_KEYSTEPS
        and real["transitions"].tolist() == synthetic_recipe.REAL_TRANSITIONS,
    }
    if args.data_dir:
        result["copy"] = structure(take_sequences(copy_rows(args.data_dir)))["summary"]
        result["copy_dir"] = str(args.data_dir)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
