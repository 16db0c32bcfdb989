"""`ego2exo verify`: is every feature file the metadata references present and readable?"""

from ..constants import SPLITS
from .options import add_command


def add_parser(subparsers):
    parser = add_command(subparsers, "verify", run,
                         "check every feature file the metadata references; exit 1 on any problem")  # fmt: skip
    parser.add_argument("--data_dir", required=True, help="folder holding ego2exo.json and features/")
    parser.add_argument("--splits", nargs="+", choices=SPLITS, default=list(SPLITS), help="splits to check")
    parser.add_argument("--report", metavar="PATH", help="also write every problem as JSON to PATH")
    return parser


def run(args) -> int:
    """Print the per-split counts and the problems; exit 1 when there is any."""
    import json
    from dataclasses import asdict

    from ..data.verify import format_report, verify_data_dir
    from ..utils import atomic_write_text, check_output_file

    if args.report:
        check_output_file(args.report, args.data_dir)  # before the work, not after
    report = verify_data_dir(args.data_dir, args.splits)
    print(format_report(report))
    if args.report:
        atomic_write_text(args.report, json.dumps(asdict(report), indent=2) + "\n")
    if not report.ok:
        raise SystemExit(1)
    print("all segments complete")
    return 0
