"""`ego2exo export`: Parquet shards and a dataset card, optionally pushed to the Hub."""

from ..constants import DATASET_CONFIGS
from .options import add_command, add_data_options, add_overwrite_option


def add_parser(subparsers):
    parser = add_command(subparsers, "export", run, "write Parquet shards + a dataset card")
    add_data_options(parser, build=True)
    parser.add_argument("--output_dir", "--out", required=True, help="output folder, e.g. `ego2exo`")
    parser.add_argument("--configs", nargs="+", choices=DATASET_CONFIGS, default=["text", "pooled"],
                        help="configs to write")  # fmt: skip
    parser.add_argument("--push_to_hub", metavar="REPO_ID", help="also upload the folder as a Hub dataset repo")
    add_overwrite_option(parser)
    return parser


def run(args) -> int:
    from ..data.export import export_dataset, push_dataset
    from ..hub import check_hub_access

    if args.push_to_hub:
        check_hub_access(args.push_to_hub, repo_type="dataset")
    out = export_dataset(args.data_dir, args.output_dir, configs=args.configs, cache_dir=args.cache_dir,
                         num_proc=args.num_proc, overwrite=args.overwrite)  # fmt: skip
    print(f"wrote {', '.join(args.configs)} to {out}; load it with datasets.load_dataset({str(out)!r}, 'pooled')")
    if args.push_to_hub:
        push_dataset(out, args.push_to_hub)
        print(f"pushed to https://huggingface.co/datasets/{args.push_to_hub}")
    return 0
