"""`ego2exo benchmark`: video-stage methods x directions x seeds, one table with mean ± sd over seeds."""

from ..constants import DIRECTIONS, SOURCE_SAMPLINGS
from .options import add_command, add_overwrite_option, positive_int


def add_parser(subparsers):
    parser = add_command(subparsers, "benchmark", run,
                         "video-stage methods x directions x seeds: results.md/json/png with mean ± sd")  # fmt: skip
    parser.add_argument("--data_dir", required=True, help="folder with ego2exo.json and features/ (real or synthetic)")
    parser.add_argument("--output_dir", "--out", required=True, help="output folder (runs/, results.*)")
    parser.add_argument("--methods", nargs="+", default=["source_only", "lagtran"],
                        help="video methods; mcc+pl etc. add the pseudo-label loss (default source_only lagtran)")
    parser.add_argument("--directions", nargs="+", default=list(DIRECTIONS), help="e.g. exo->ego ego->exo")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="seeds (default 0 1 2)")
    parser.add_argument("--pseudo_labels_dir", help="where the text stage wrote ego2exo_<source>_<target>.txt")
    parser.add_argument("--num_iterations", type=positive_int, default=45001, help="iterations per run (45001)")
    parser.add_argument("--val_every", type=positive_int, default=500, help="validate every N iterations (500)")
    parser.add_argument("--selection", default="last", help="--selection of every run (default last)")
    parser.add_argument("--source_sampling", choices=SOURCE_SAMPLINGS, default="balanced",
                        help="--source_sampling of every run: class-balanced (default) or natural source batches")
    parser.add_argument("--jobs", type=positive_int, default=1, help="runs at a time, one thread each (default 1)")
    parser.add_argument("--cache_dir", default=None, help="datasets cache (default: HF_DATASETS_CACHE)")
    add_overwrite_option(parser)
    return parser


def settings_from_args(args):
    """The `BenchmarkSettings` of parsed options (checked: a bad value fails before any run)."""
    from dataclasses import fields

    from ..benchmark import BenchmarkSettings

    return BenchmarkSettings(**{f.name: getattr(args, f.name) for f in fields(BenchmarkSettings)})


def run(args) -> int:
    from ..benchmark import run_benchmark

    run_benchmark(settings_from_args(args), jobs=args.jobs, overwrite=args.overwrite)
    return 0
