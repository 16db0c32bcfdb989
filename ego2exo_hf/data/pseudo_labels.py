"""Pseudo-label files in the official format (one `<segment_id> <category_id>` line per target segment): read, write,
align to a split, and score against its true labels (`ego2exo evaluate-pseudo-labels`)."""

from pathlib import Path

from ..constants import NUM_CLASSES
from ..errors import Ego2ExoError, where
from ..utils import atomic_write_text


def pseudo_label_file_name(source: str, target: str) -> str:
    """The original release's name: `ego2exo_<source>_<target>.txt`."""
    return f"ego2exo_{source}_{target}.txt"


def read_pseudo_labels(path) -> dict[int, int]:
    """Read an official pseudo-label file (this project's or the original release's) into {segment_id: label}."""
    path = Path(path)
    if not path.is_file():
        raise Ego2ExoError(f"{path}: pseudo-label file not found (train_text.py writes one under pseudo_labels/)")
    labels: dict[int, int] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise Ego2ExoError(f"{path}: not UTF-8 text, so not a pseudo-label file ('<segment_id> <category_id>' lines)")
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            sid, label = int(fields[0]), int(fields[1])
            if len(fields) != 2:
                raise ValueError
        except (ValueError, IndexError):
            raise Ego2ExoError(f"{path}, line {lineno}: expected '<segment_id> <category_id>', got {line.strip()!r}")
        if not 0 <= label < NUM_CLASSES:
            raise Ego2ExoError(f"{where(file=path, segment_id=sid)}: label {label} outside 0..{NUM_CLASSES - 1}")
        if sid in labels:
            raise Ego2ExoError(f"{where(file=path, segment_id=sid)}: segment listed twice")
        labels[sid] = label
    return labels


def write_pseudo_labels(path, segment_ids, labels) -> Path:
    """Write {segment_id: label} pairs atomically in the official format."""
    lines = [f"{int(sid)} {int(label)}\n" for sid, label in zip(segment_ids, labels)]
    return atomic_write_text(path, "".join(lines))


def align_pseudo_labels(pseudo: dict[int, int], segment_ids, *, path, split) -> list[int]:
    """Pseudo-labels in the order of `segment_ids`; every target segment must have one, no unknown ids."""
    wanted = [int(s) for s in segment_ids]
    missing = [s for s in wanted if s not in pseudo]
    if pseudo and len(missing) == len(wanted):
        target = split.split("_")[0]
        source = "exo" if target == "ego" else "ego"
        raise Ego2ExoError(
            f"{where(file=path, split=split)}: none of the file's {len(pseudo)} segment ids is in {split}: is it the "
            f"file of the other direction? (target {split} needs {pseudo_label_file_name(source, target)})"
        )
    if missing:
        raise Ego2ExoError(
            f"{where(file=path, split=split, segment_id=missing[0])}: no pseudo-label for this target segment "
            f"({len(missing)} of {len(wanted)} missing)"
        )
    unknown = sorted(set(pseudo) - set(wanted))
    if unknown:
        raise Ego2ExoError(
            f"{where(file=path, split=split, segment_id=unknown[0])}: pseudo-label for a segment not in the split "
            f"({len(unknown)} unknown ids); is the file for the right direction?"
        )
    return [pseudo[s] for s in wanted]


def evaluate_pseudo_labels(pseudo_labels, data_dir, split: str, *, cache_dir=None) -> dict:
    """Accuracy of an official-format pseudo-label file against the true labels of `split`.

    The file may leave segments out (e.g. a confidence threshold): accuracies are over the segments it
    labels, and `coverage` says how many of the split's segments that is. An id that is not in the split
    is an error (wrong split or direction).
    """
    import numpy as np

    from ..constants import CLASS_NAMES
    from ..metrics import compute_accuracy
    from .builder import load_split

    pseudo = read_pseudo_labels(pseudo_labels)
    dataset = load_split(data_dir, "text", split, cache_dir=cache_dir)
    ids, labels = dataset["segment_id"][:], dataset["label"][:]
    known = set(ids)
    unknown = sorted(set(pseudo) - known)
    if unknown:
        raise Ego2ExoError(
            f"{where(file=pseudo_labels, split=split, segment_id=unknown[0])}: pseudo-label for a segment not in "
            f"the split ({len(unknown)} unknown ids); is the file for this split and direction?"
        )
    if not pseudo:
        raise Ego2ExoError(f"{where(file=pseudo_labels, split=split)}: the file has no pseudo-labels")
    covered = [(pseudo[sid], label) for sid, label in zip(ids, labels) if sid in pseudo]
    predicted, truth = (np.asarray(column, dtype=np.int64) for column in zip(*covered))
    accuracy = compute_accuracy(np.eye(NUM_CLASSES, dtype=np.float32)[predicted], truth, num_classes=NUM_CLASSES)
    return {
        "file": str(pseudo_labels),
        "split": split,
        "num_segments": len(ids),
        "num_pseudo_labels": len(covered),
        "coverage": 100.0 * len(covered) / len(ids),
        "top1": accuracy["top1"],
        "mean_class": accuracy["mean_class"],
        "per_class": dict(zip(CLASS_NAMES, accuracy["per_class"])),
        "class_counts": dict(zip(CLASS_NAMES, np.bincount(truth, minlength=NUM_CLASSES).tolist())),
    }


def split_from_file_name(path) -> str:
    """`ego2exo_<source>_<target>.txt` (the official name) -> `<target>_train`, or a one-line error."""
    parts = Path(path).stem.split("_")
    if len(parts) == 3 and parts[0] == "ego2exo" and parts[2] in ("ego", "exo") and parts[1] != parts[2]:
        return f"{parts[2]}_train"
    raise Ego2ExoError(f"{path}: give --split (the name is not ego2exo_<source>_<target>.txt, which names the split)")
