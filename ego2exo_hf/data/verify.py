"""`ego2exo verify`: is a local copy complete and readable?

Checks the metadata (`official.read_metadata`, plus the checksum recorded by `ego2exo download` if any), then
every feature file it references: present, loadable, 1536 wide, and long enough for every segment's
`feature_indices`. Each file is read once, whatever the number of segments and splits that use it.
"""

from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from ..constants import SPLITS
from ..errors import Ego2ExoError
from .metadata import check_metadata_checksum
from .official import group_by_feature_file, load_feature_file, nonfinite_rows, read_metadata

MISSING, UNREADABLE, WRONG_SHAPE, WRONG_DTYPE = "missing file", "unreadable", "wrong width", "wrong dtype"
INDEX_PAST_END, NON_FINITE = "index past end", "non-finite values"


@dataclass
class Problem:
    kind: str  # one of the kinds above
    file: str  # relative to the data directory
    split: str
    segment_ids: list[int]
    detail: str = ""


@dataclass
class VerifyReport:
    totals: dict[str, int] = field(default_factory=dict)  # segments per split
    complete: dict[str, int] = field(default_factory=dict)  # segments whose features are all fine
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _file_problem(path: Path) -> tuple[str, str, int, set[int]]:
    """Load one feature file: `(kind, detail, num_rows, non-finite rows)`, kind "" when it is readable."""
    if not path.is_file():
        return MISSING, "", 0, set()
    try:
        table = load_feature_file(path).numpy()
    except Ego2ExoError as err:
        detail = str(err).split(": ", 1)[-1]
        kind = WRONG_SHAPE if "has shape" in detail else WRONG_DTYPE if "has dtype" in detail else UNREADABLE
        return kind, detail, 0, set()
    return "", "", len(table), nonfinite_rows(table)


def verify_data_dir(data_dir, splits=SPLITS, progress: bool = True) -> VerifyReport:
    """Check every segment of `splits` in `data_dir`; metadata errors are raised as `Ego2ExoError`."""
    data_dir = Path(data_dir)
    check_metadata_checksum(data_dir)
    meta = read_metadata(data_dir, splits)
    sizes = {split: len(split_records) for split, split_records in meta.items()}
    report = VerifyReport(totals=sizes, complete=dict(sizes))
    records = [{**record, "split": split} for split, split_records in meta.items() for record in split_records]
    for file_name, group in tqdm(group_by_feature_file(records), desc="verify", unit="file", disable=not progress):
        kind, detail, rows, bad_rows = _file_problem(data_dir / file_name)
        bad: dict[tuple[str, str], list[dict]] = {}
        for record in group:
            if kind:
                bad.setdefault((kind, detail), []).append(record)
            elif max(record["feature_indices"]) >= rows:
                bad.setdefault((INDEX_PAST_END, f"the file has {rows} rows"), []).append(record)
            elif bad_rows.intersection(record["feature_indices"]):
                bad.setdefault((NON_FINITE, "NaN or Inf in the rows it uses"), []).append(record)
        for (problem_kind, problem_detail), failed in bad.items():
            for split in sorted({r["split"] for r in failed}):
                ids = [r["segment_id"] for r in failed if r["split"] == split]
                report.complete[split] -= len(ids)
                report.problems.append(Problem(problem_kind, file_name, split, ids, problem_detail))
    return report


def format_report(report: VerifyReport, max_ids: int = 5) -> str:
    lines = [f"{'split':<10} {'complete':>9} {'total':>7}"]
    lines += [f"{s:<10} {report.complete[s]:>9} {report.totals[s]:>7}" for s in report.totals]
    if report.problems:
        lines.append(f"{len(report.problems)} problems:")
    for p in report.problems:
        ids = ", ".join(map(str, p.segment_ids[:max_ids]))
        more = f" and {len(p.segment_ids) - max_ids} more" if len(p.segment_ids) > max_ids else ""
        detail = f" ({p.detail})" if p.detail else ""
        lines.append(f"  {p.kind}: file={p.file}, split={p.split}, segment_id={ids}{more}{detail}")
    return "\n".join(lines)
