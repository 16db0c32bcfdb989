"""`ego2exo synth`: synthetic Ego2Exo in the official layout."""

from ..constants import SCALES, SYNTHETIC_VIEW_SHIFTS
from .options import add_command, add_overwrite_option


def add_parser(subparsers):
    parser = add_command(subparsers, "synth", run, "write synthetic Ego2Exo in the official layout")
    parser.add_argument("--output_dir", "--out", required=True, help="output folder")
    parser.add_argument("--scale", choices=SCALES, default="tiny", help="tiny | demo | full (default tiny)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--view_shift", choices=SYNTHETIC_VIEW_SHIFTS, default="transform",
                        help="exo view of a keystep: its ego class structure seen through a view transform "
                        "(transform, default) or the ego look of another keystep (swap: misleads label-free "
                        "alignment)")  # fmt: skip
    add_overwrite_option(parser)
    return parser


def run(args) -> int:
    from ..data.synthetic import write_synthetic

    path = write_synthetic(
        args.output_dir, scale=args.scale, seed=args.seed, overwrite=args.overwrite, view_shift=args.view_shift
    )
    print(f"wrote synthetic Ego2Exo ({args.scale}, seed {args.seed}, view shift {args.view_shift}) to {path}")
    return 0
