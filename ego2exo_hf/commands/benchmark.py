"""`ego2exo benchmark`: video-stage methods x directions x seeds, one table with mean ± sd over seeds, run by a local
pool, Ray or SLURM (`--executor`); `--preset paper` is the paper's protocol in one command."""

from ..constants import DIRECTIONS, SOURCE_SAMPLINGS
from .options import add_command, add_overwrite_option, positive_int

EVERY_METHOD = ["source_only", "lagtran", "dann", "cdan", "mcc", "bnm", "mdd", "fixmatch", "target_supervised"]
PAPER = dict(methods=EVERY_METHOD, directions=list(DIRECTIONS), seeds=[0, 1, 2], num_iterations=45001, val_every=500,
             selection="last")  # fmt: skip
PRESETS = {"paper": PAPER, "quick": {**PAPER, "num_iterations": 1000}}  # quick: the README's synthetic `full` table


def add_parser(subparsers):
    parser = add_command(subparsers, "benchmark", run,
                         "video-stage methods x directions x seeds: results.md/json/png with mean ± sd")  # fmt: skip
    parser.add_argument("--data_dir", required=True, help="folder with ego2exo.json and features/ (real or synthetic)")
    parser.add_argument("--output_dir", "--out", required=True, help="output folder (runs/, results.*)")
    parser.add_argument("--preset", choices=sorted(PRESETS),
                        help="paper: 9 methods x 2 directions x 3 seeds, 45001 iterations; quick: the same at 1000")
    parser.add_argument("--methods", nargs="+",
                        help="video methods; mcc+pl etc. add the pseudo-label loss (default source_only lagtran)")
    parser.add_argument("--directions", nargs="+", help="e.g. exo->ego ego->exo (default both)")
    parser.add_argument("--seeds", nargs="+", type=int, help="seeds (default 0 1 2)")
    parser.add_argument("--pseudo_labels_dir", help="where the text stage wrote ego2exo_<source>_<target>.txt")
    parser.add_argument("--num_iterations", type=positive_int, help="iterations per run (default 45001)")
    parser.add_argument("--val_every", type=positive_int, help="validate every N iterations (default 500)")
    parser.add_argument("--selection", help="--selection of every run (default last)")
    parser.add_argument("--source_sampling", choices=SOURCE_SAMPLINGS, default="balanced",
                        help="--source_sampling of every run: class-balanced (default) or natural source batches")
    parser.add_argument("--cache_dir", default=None, help="datasets cache (default: HF_DATASETS_CACHE)")
    add_overwrite_option(parser)
    engines = parser.add_argument_group("where the runs go (ray, slurm: pip install -e \".[cluster]\")")
    engines.add_argument("--executor", choices=("local", "ray", "slurm"), default="local",
                         help="local processes (default), Ray tasks, or SLURM jobs through submitit")
    engines.add_argument("--jobs", type=positive_int, default=1,
                         help="runs at a time (local, SLURM array); CPUs of a local Ray (default 1)")
    engines.add_argument("--cpus_per_run", type=positive_int, default=1, help="CPU threads of each run (default 1)")
    engines.add_argument("--gpus_per_run", type=float, default=0.0, help="ray: GPUs per run, fractions share one")
    engines.add_argument("--ray_address", help="ray: address of a running cluster (default: start a local Ray)")
    engines.add_argument("--slurm_partition", help="slurm: partition")
    engines.add_argument("--slurm_time", type=positive_int, default=60, help="slurm: minutes per run (default 60)")
    engines.add_argument("--slurm_gpus_per_run", type=int, default=0, help="slurm: GPUs per run (default 0)")
    engines.add_argument("--slurm_folder", help="slurm: submitit's logs (default <output_dir>/slurm)")
    engines.add_argument("--slurm_cluster", choices=("local",), help="slurm: `local` runs the jobs on this machine")
    return parser


def settings_from_args(args):
    """The `BenchmarkSettings` of parsed options, a preset filling what was not given (checked before any run)."""
    from dataclasses import fields

    from ..benchmark import BenchmarkSettings

    given = {f.name: getattr(args, f.name) for f in fields(BenchmarkSettings) if getattr(args, f.name) is not None}
    return BenchmarkSettings(**{**PRESETS.get(args.preset, {}), **given})  # unset and not in the preset: the default


def executor_from_args(args):
    """The `ExecutorSettings` of parsed options."""
    from dataclasses import fields

    from ..executors import ExecutorSettings

    return ExecutorSettings(**{f.name: getattr(args, f.name) for f in fields(ExecutorSettings)})


def run(args) -> int:
    from ..benchmark import run_benchmark

    run_benchmark(settings_from_args(args), executor_from_args(args), overwrite=args.overwrite)
    return 0
