"""Reader and validator of the official Ego2Exo layout: `ego2exo.json` plus Omnivore `.pt` feature files.

The four lists of a split (`clips`, `annotations`, `metadata`, `descriptions`) are joined on segment id;
every problem is an `Ego2ExoError` naming the file, the split and the segment id.
"""

import hashlib
import json
import math
import pickle
import warnings
from pathlib import Path, PurePosixPath

import numpy as np
import torch

from ..constants import (
    CLASS_NAMES,
    FEATURE_DIM,
    METADATA_FILE,
    NUM_CLASSES,
    SPLIT_LISTS,
    SPLITS,
    STRIDE_FRAMES,
    WINDOW_FRAMES,
)
from ..errors import Ego2ExoError, first_line, where


def segment_id(take_uid: str, segment_index: int) -> int:
    """The official segment id: the first 8 hex digits of md5(take_uid + str(segment_index)) as an int."""
    return int(hashlib.md5((take_uid + str(segment_index)).encode()).hexdigest()[:8], 16)


def locate_segments(segment_ids, take_uids, stop_after: int = 50) -> dict[int, tuple[str, int]]:
    """Invert `segment_id`: `{segment_id: (take_uid, segment_index)}` for the given ids, searching the given takes.

    A take's indices are tried from 0 and the search stops `stop_after` indices past the last one found, so pass
    the ids of *all* of a take's segments (both views) for a complete answer. Raises when an id is missing or
    matches two positions (a 32-bit hash collision)."""
    wanted, found = set(segment_ids), {}
    for take in take_uids:
        index, last_hit = 0, -1
        while index - last_hit <= stop_after:
            sid = segment_id(take, index)
            if sid in wanted:
                if sid in found:
                    raise Ego2ExoError(f"segment_id={sid} is both {found[sid]} and {(take, index)}: ambiguous")
                found[sid], last_hit = (take, index), index
            index += 1
    missing = wanted - found.keys()
    if missing:
        raise Ego2ExoError(
            f"segment_id={min(missing)} (and {len(missing) - 1} more) is not md5(take_uid + segment_index) of any "
            f"of the {len(take_uids)} takes given: pass the take list these segments come from"
        )
    return found


def feature_windows(num_frames: int) -> list[tuple[int, int]]:
    """The (start, end) frames (end exclusive) of the Omnivore windows of a video of `num_frames` frames.

    Windows of 32 frames every 16 frames; when the length is not covered exactly, a last window ends
    at the last frame.
    """
    if num_frames <= WINDOW_FRAMES:
        return [(0, num_frames)]
    starts = list(range(0, num_frames - WINDOW_FRAMES + 1, STRIDE_FRAMES))
    if starts[-1] + WINDOW_FRAMES < num_frames:
        starts.append(num_frames - WINDOW_FRAMES)
    return [(s, s + WINDOW_FRAMES) for s in starts]


def overlapping_windows(windows, start_frame: int, end_frame: int) -> list[int]:
    """Indices of the windows that overlap the frame interval [start_frame, end_frame)."""
    return [i for i, (s, e) in enumerate(windows) if s < end_frame and e > start_frame]


def metadata_path(data_dir) -> Path:
    return Path(data_dir) / METADATA_FILE


def load_json(path) -> dict:
    """Read the metadata JSON, or raise an error that says what is wrong with the file."""
    path = Path(path)
    if not path.is_file():
        raise Ego2ExoError(
            f"{path} not found: point --data_dir at a folder holding {METADATA_FILE} "
            "(`ego2exo download` or `ego2exo synth` writes one)"
        )
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise Ego2ExoError(f"{path} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})")
    except (OSError, UnicodeDecodeError) as err:
        raise Ego2ExoError(f"{path} cannot be read ({err})")


_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", list: "a list", dict: "an object"}


def _field(entry: dict, key: str, kind: type, loc: str, *, optional: bool = False):
    """`entry[key]`, which must have the JSON type `kind` (no casting: "12" is not an int, 1.0 not a category)."""
    if not isinstance(entry, dict):
        raise Ego2ExoError(f"{loc}: entry must be a JSON object, got {type(entry).__name__}")
    value = entry.get(key)
    if value is None:
        if optional:
            return None
        raise Ego2ExoError(f"{loc}: '{key}' missing")
    if not _is_type(value, kind):
        raise Ego2ExoError(f"{loc}: '{key}' must be {_TYPE_NAMES[kind]}, got {value!r}"[:300])
    return value


def _is_type(value, kind: type) -> bool:
    if isinstance(value, bool):  # JSON true/false are not numbers
        return False
    if kind is float:
        return isinstance(value, (int, float)) and math.isfinite(value)
    return isinstance(value, kind)


def _int_list(entry, key, loc, *, optional=False) -> list | None:
    values = _field(entry, key, list, loc, optional=optional)
    if values is not None and not all(_is_type(v, int) for v in values):
        raise Ego2ExoError(f"{loc}: '{key}' must be a list of integers, got {values!r}"[:300])
    return values


def _check_categories(meta: dict, path) -> None:
    loc = where(file=path)
    categories = _field(meta, "categories", list, loc)
    names = {_field(c, "category_id", int, loc): _field(c, "category_name", str, loc) for c in categories}
    expected = dict(enumerate(CLASS_NAMES))
    if names != expected:
        bad = sorted(set(names.items()) ^ set(expected.items()))[:1]
        raise Ego2ExoError(f"{loc}: categories differ from the 24 official classes (e.g. {bad})")


def _index_list(entries, key, *, path, split, list_name) -> dict:
    if not isinstance(entries, list):
        raise Ego2ExoError(f"{where(file=path, split=split)}: '{list_name}' must be a list")
    indexed = {}
    for entry in entries:
        sid = _field(entry, key, int, f"{where(file=path, split=split)}, an entry of '{list_name}'")
        if sid in indexed:
            raise Ego2ExoError(f"{where(file=path, split=split, segment_id=sid)}: duplicate id in '{list_name}'")
        indexed[sid] = entry
    return indexed


def _relative_file(entry, key, loc, *, optional=False) -> str | None:
    """A file name relative to the data folder, which must stay inside it."""
    name = _field(entry, key, str, loc, optional=optional)
    if name is not None and (PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts or "\\" in name):
        raise Ego2ExoError(f"{loc}: '{key}' {name!r} must be a path inside the data folder")
    return name


def _segment_record(sid, clip, ann, meta, desc, *, path, split) -> dict:
    loc = where(file=path, split=split, segment_id=sid)
    category = _field(ann, "category", int, loc)
    if not 0 <= category < NUM_CLASSES:
        raise Ego2ExoError(f"{loc}: category {category} outside 0..{NUM_CLASSES - 1}")
    class_name = _field(ann, "class_name", str, loc, optional=True)
    if class_name is not None and class_name != CLASS_NAMES[category]:
        raise Ego2ExoError(
            f"{loc}: class_name {class_name!r} disagrees with category {category} ({CLASS_NAMES[category]!r})"
        )
    feature_indices = _int_list(clip, "feature_indices", loc)
    if not feature_indices:
        raise Ego2ExoError(f"{loc}: empty feature_indices")
    if min(feature_indices) < 0:
        raise Ego2ExoError(f"{loc}: negative feature index")
    frame_indices = _field(clip, "frame_indices", list, loc, optional=True) or []
    for pair in frame_indices:
        if not (isinstance(pair, list) and len(pair) == 2 and all(_is_type(v, int) for v in pair)):
            raise Ego2ExoError(f"{loc}: 'frame_indices' must be [start, end] integer pairs, got {pair!r}"[:300])
    annotator_texts = _field(desc, "annotator_texts", dict, loc, optional=True) or {}
    if not all(isinstance(text, str) for text in annotator_texts.values()):
        raise Ego2ExoError(f"{loc}: 'annotator_texts' must map annotator ids to strings")
    best_exo = _field(meta, "best_exo", dict, loc, optional=True)
    return {
        "segment_id": sid,
        "take_uid": _field(meta, "take_uid", str, loc),
        "segment_index": _field(meta, "segment_index", int, loc),
        "start_time": _field(meta, "start_time", float, loc),
        "end_time": _field(meta, "end_time", float, loc),
        "label": category,
        "text_caption": _field(desc, "text_caption", str, loc, optional=True) or "",
        "annotator_texts": [{"annotator_id": k, "text": v} for k, v in annotator_texts.items()],
        "video_file_name": _relative_file(clip, "video_file_name", loc, optional=True) or "",
        "feature_file_name": _relative_file(clip, "feature_file_name", loc),
        "feature_indices": feature_indices,
        "frame_indices": frame_indices,
        "best_exo_cam": _field(best_exo, "cam_id", str, loc, optional=True) if best_exo else None,
    }


def read_split(meta: dict, split: str, path="ego2exo.json") -> list[dict]:
    """Join and validate the four lists of one split; records come in `clips` order."""
    if split not in meta or not isinstance(meta[split], dict):
        raise Ego2ExoError(f"{where(file=path, split=split)}: split missing from the metadata")
    lists = {}
    for name, key in zip(SPLIT_LISTS, ("id", "segment_id", "segment_id", "segment_id")):
        if name not in meta[split]:
            raise Ego2ExoError(f"{where(file=path, split=split)}: list '{name}' missing")
        lists[name] = _index_list(meta[split][name], key, path=path, split=split, list_name=name)
    clip_ids = list(lists["clips"])
    for name in SPLIT_LISTS[1:]:
        extra = set(lists[name]) - set(clip_ids)
        if extra:
            sid = min(extra)
            raise Ego2ExoError(f"{where(file=path, split=split, segment_id=sid)}: id in '{name}' but not in 'clips'")
    records = []
    for sid in clip_ids:
        parts = []
        for name in SPLIT_LISTS:
            if sid not in lists[name]:
                raise Ego2ExoError(
                    f"{where(file=path, split=split, segment_id=sid)}: id in 'clips' but not in '{name}'"
                )
            parts.append(lists[name][sid])
        records.append(_segment_record(sid, *parts, path=path, split=split))
    return records


def read_metadata(data_dir, splits=SPLITS) -> dict[str, list[dict]]:
    """Read `<data_dir>/ego2exo.json` and return `{split: [segment record, ...]}` for the asked splits."""
    path = metadata_path(data_dir)
    meta = load_json(path)
    if not isinstance(meta, dict):
        raise Ego2ExoError(f"{path}: top level must be a JSON object")
    _check_categories(meta, path)
    return {split: read_split(meta, split, path) for split in splits}


def load_feature_file(path, *, split=None, segment_id=None) -> torch.Tensor:
    """Load one Omnivore feature file as a float32 tensor of shape (num_windows, 1536).

    Accepts (N, 1, 1536) and (N, 1536) of a floating dtype. Uses `weights_only=True`: these files come from
    outside, and anything but tensors is refused.
    """
    loc = where(file=path, split=split, segment_id=segment_id)
    if not Path(path).is_file():
        raise Ego2ExoError(f"{loc}: feature file missing (run `ego2exo download` or `ego2exo verify`)")
    try:
        with warnings.catch_warnings():  # a file pickled by hand warns about its protocol: our error line says enough
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            tensor = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise Ego2ExoError(f"{loc}: unsafe or corrupt file refused (only tensors are loaded)") from None
    except (RuntimeError, EOFError, OSError, ValueError, AttributeError) as err:
        reason = first_line(err, 120)
        raise Ego2ExoError(f"{loc}: unreadable feature file, truncated or not a tensor ({reason})") from None
    if not isinstance(tensor, torch.Tensor):
        raise Ego2ExoError(f"{loc}: feature file holds a {type(tensor).__name__}, not a tensor")
    if not tensor.is_floating_point():
        raise Ego2ExoError(f"{loc}: feature tensor has dtype {tensor.dtype}, expected a float dtype (float32)")
    if tensor.dim() == 3 and tensor.shape[1] == 1:
        tensor = tensor[:, 0]
    if tensor.dim() != 2 or tensor.shape[1] != FEATURE_DIM:
        raise Ego2ExoError(
            f"{loc}: feature tensor has shape {tuple(tensor.shape)}, "
            f"expected (N, 1, {FEATURE_DIM}) or (N, {FEATURE_DIM})"
        )
    return tensor.float()


def nonfinite_rows(table) -> set[int]:
    """Rows of a (num_windows, 1536) numpy table holding a NaN or an infinity."""
    finite = np.isfinite(table)
    return set() if finite.all() else set(np.flatnonzero(~finite.all(axis=1)).tolist())


def segment_rows_problem(indices, num_rows: int, bad_rows: set[int]) -> str:
    """Why a segment's `feature_indices` cannot be read from a file of `num_rows` rows ("" when they can)."""
    if max(indices) >= num_rows:
        return f"feature index {max(indices)} past the end of the file ({num_rows} rows)"
    bad = bad_rows.intersection(indices)
    if bad:
        return f"non-finite feature values (NaN or Inf) in row {min(bad)}"
    return ""


def group_by_feature_file(records: list[dict]) -> list[tuple[str, list[dict]]]:
    """Group segment records by feature file (files sorted), so each file is read once."""
    groups: dict[str, list[dict]] = {}
    for record in records:
        groups.setdefault(record["feature_file_name"], []).append(record)
    return sorted(groups.items())
