"""`ego2exo build`: the Arrow dataset of one config, built (cached) and summarised."""

from ..constants import DATASET_CONFIGS
from .options import add_command, add_data_options


def add_parser(subparsers):
    parser = add_command(subparsers, "build", run, "build the Arrow dataset (cached), print a summary")
    add_data_options(parser, build=True)
    parser.add_argument("--config", choices=DATASET_CONFIGS, default="pooled", help="dataset config (default pooled)")
    return parser


def run(args) -> int:
    from ..data.builder import load_ego2exo, summarize

    dataset = load_ego2exo(args.data_dir, args.config, cache_dir=args.cache_dir, num_proc=args.num_proc)
    print(f"Ego2Exo `{args.config}` built from {args.data_dir}")
    print(summarize(dataset))
    return 0
