"""The `ego2exo` command: synthetic data, build, export, download, verify, demo, predict, evaluation."""

import argparse
import importlib
import sys
from collections import Counter

from .constants import CLASS_NAMES, SPLITS
from .errors import exit_on_user_error

# Sub-commands contributed by other modules: each has `add_<name>_parser(subparsers)`.
_PLUGINS = [
    ("ego2exo_hf.data.download", "add_download_parser"),
    ("ego2exo_hf.data.verify", "add_verify_parser"),
    ("ego2exo_hf.demo", "add_demo_parser"),
    ("ego2exo_hf.predict", "add_predict_parser"),
    ("ego2exo_hf.predict", "add_evaluate_pseudo_labels_parser"),
    ("ego2exo_hf.training.video", "add_train_video_parser"),
    ("ego2exo_hf.training.text", "add_train_text_parser"),
]


@exit_on_user_error
def run_synth(args) -> int:
    from .data.synthetic import write_synthetic

    path = write_synthetic(args.out, scale=args.scale, seed=args.seed)
    print(f"wrote synthetic Ego2Exo ({args.scale}, seed {args.seed}) to {path}")
    return 0


def summarize(dataset) -> str:
    """Split sizes and the most frequent classes of a built DatasetDict."""
    lines = []
    for split in SPLITS:
        part = dataset[split]
        counts = Counter(part["label"][:])
        top = ", ".join(f"{CLASS_NAMES[c]} {n}" for c, n in counts.most_common(3))
        captioned = sum(bool(t) for t in part["text_caption"][:])
        lines.append(
            f"{split:>10}: {len(part):5d} segments, {len(counts):2d} classes, {captioned:5d} captioned; top: {top}"
        )
    return "\n".join(lines)


@exit_on_user_error
def run_build(args) -> int:
    from .data.builder import load_ego2exo

    dataset = load_ego2exo(args.data_dir, args.config, cache_dir=args.cache_dir, num_proc=args.num_proc)
    print(f"Ego2Exo `{args.config}` built from {args.data_dir}")
    print(summarize(dataset))
    return 0


@exit_on_user_error
def run_export(args) -> int:
    from .data.export import export_dataset, push_dataset

    out = export_dataset(
        args.data_dir, args.out, configs=args.configs, cache_dir=args.cache_dir, num_proc=args.num_proc
    )
    print(f"exported {', '.join(args.configs)} to {out}; load it with datasets.load_dataset({str(out)!r}, 'pooled')")
    if args.push_to_hub:
        push_dataset(out, args.push_to_hub)
        print(f"pushed to https://huggingface.co/datasets/{args.push_to_hub}")
    return 0


def _add_build_options(parser) -> None:
    parser.add_argument("--data_dir", required=True, help="folder holding ego2exo.json (+ features/omnivore_video)")
    parser.add_argument("--cache_dir", default=None, help="datasets cache (default: HF_DATASETS_CACHE)")
    parser.add_argument("--num_proc", type=int, default=None, help="build with N processes (sharded by feature file)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ego2exo", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)

    synth = subparsers.add_parser("synth", help="write synthetic Ego2Exo data in the official layout")
    synth.add_argument("--out", required=True, help="output folder (created; replaced if it exists)")
    synth.add_argument("--scale", choices=["tiny", "demo", "full"], default="tiny")
    synth.add_argument("--seed", type=int, default=0)
    synth.set_defaults(func=run_synth)

    build = subparsers.add_parser("build", help="build the Arrow dataset (cached) and print a summary")
    _add_build_options(build)
    build.add_argument("--config", choices=["text", "pooled", "frames"], default="pooled")
    build.set_defaults(func=run_build)

    export = subparsers.add_parser("export", help="write Parquet shards + dataset card for datasets.load_dataset")
    _add_build_options(export)
    export.add_argument("--out", required=True, help="output folder (e.g. `ego2exo`)")
    export.add_argument("--configs", nargs="+", choices=["text", "pooled", "frames"], default=["text", "pooled"])
    export.add_argument("--push_to_hub", metavar="REPO_ID", help="also upload the folder as a Hub dataset repo")
    export.set_defaults(func=run_export)

    for module_name, adder in _PLUGINS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
            continue
        getattr(module, adder)(subparsers)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
