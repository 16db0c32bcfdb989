"""`ego2exo demo`: the whole method on synthetic data, both directions, with a results table and plots."""

from ..constants import DIRECTIONS
from .options import add_command, add_overwrite_option, positive_int


def add_parser(subparsers):
    parser = add_command(subparsers, "demo", run, "the whole method on synthetic data, with a table")
    parser.add_argument("--scale", choices=("tiny", "demo"), default="demo", help="synthetic scale (default demo)")
    parser.add_argument("--directions", nargs="+", default=list(DIRECTIONS), help="e.g. exo->ego ego->exo")
    parser.add_argument("--output_dir", default="runs/demo", help="output folder (default runs/demo)")
    parser.add_argument("--text_model", default=None, help="text backbone, Hub id or folder (default MiniLM)")
    parser.add_argument("--text_steps", type=positive_int, default=None,
                        help="text optimiser steps (default by scale)")  # fmt: skip
    parser.add_argument("--video_iterations", type=positive_int, default=None, help="video iterations (by scale)")
    parser.add_argument("--val_every", type=positive_int, default=None, help="validate every N video iterations")
    parser.add_argument("--seed", type=int, default=42, help="random seed of data and training (default 42)")
    parser.add_argument("--data_dir", default=None, help="use this data folder instead of writing synthetic data")
    add_overwrite_option(parser)
    return parser


def run(args) -> int:
    from ..constants import DEFAULT_TEXT_MODEL
    from ..demo import run_demo

    run_demo(scale=args.scale, directions=args.directions, output_dir=args.output_dir,
             text_model=args.text_model or DEFAULT_TEXT_MODEL, text_steps=args.text_steps,
             video_iterations=args.video_iterations, val_every=args.val_every, seed=args.seed,
             data_dir=args.data_dir, overwrite=args.overwrite)  # fmt: skip
    return 0
