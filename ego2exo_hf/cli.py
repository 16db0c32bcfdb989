"""The `ego2exo` command. Every sub-command's options are declared here with the standard library alone, and its
code is imported only once it runs, so `--help` and argument errors return at once.

`ego2exo train-text` and `ego2exo train-video` hand over to the parsers and `main` of `train_text.py` and
`train_video.py` (installed as modules): one parser serves the script and the sub-command.
"""

import argparse
import importlib
import sys

from .constants import SPLITS, SYNTHETIC_VIEW_SHIFTS
from .errors import OneLineArgumentErrors, exit_on_user_error

CONFIGS = ("text", "pooled", "frames")
SCALES = ("tiny", "demo", "full")
STAGE_SCRIPTS = {"train-text": "train_text", "train-video": "train_video"}
STAGE_HELP = {
    "train-text": "text stage: source caption classifier -> target pseudo-labels (= python train_text.py)",
    "train-video": "video stage: the feature classifier (= python train_video.py)",
}


class ArgumentParser(OneLineArgumentErrors, argparse.ArgumentParser):
    """`argparse.ArgumentParser` whose errors are one line."""


def positive_int(text: str) -> int:
    """An `argparse` type: an integer of at least 1."""
    value = int(text) if text.lstrip("-").isdigit() else None
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def _data_options(parser, *, split: str | None = None, build: bool = False) -> None:
    parser.add_argument("--data_dir", required=True, help="folder holding ego2exo.json (+ features/omnivore_video)")
    if split:
        parser.add_argument("--split", choices=SPLITS, default=split, help=f"split (default {split})")
    parser.add_argument("--cache_dir", default=None, help="datasets cache (default: HF_DATASETS_CACHE)")
    if build:
        parser.add_argument("--num_proc", type=positive_int, default=None, help="build with N processes (default 1)")


def _overwrite_option(parser) -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an output folder this command did not make (default: refuse)")  # fmt: skip


def _command(subparsers, name: str, run: str, help: str, **kwargs) -> argparse.ArgumentParser:
    """A sub-command whose code, `run` = "module:function" under ego2exo_hf, is imported when it runs."""
    parser = subparsers.add_parser(name, help=help, description=kwargs.pop("description", help), **kwargs)
    parser.set_defaults(run=run)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="ego2exo", description="The Ego2Exo benchmark and LaGTran.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    synth = _command(subparsers, "synth", "commands:run_synth", "write synthetic Ego2Exo in the official layout")
    synth.add_argument("--output_dir", "--out", required=True, help="output folder")
    synth.add_argument("--scale", choices=SCALES, default="tiny", help="tiny | demo | full (default tiny)")
    synth.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    synth.add_argument("--view_shift", choices=SYNTHETIC_VIEW_SHIFTS, default="transform",
                       help="exo view of a keystep: its ego class structure seen through a view transform (transform, "
                       "default) or the ego look of another keystep (swap: misleads label-free alignment)")  # fmt: skip
    _overwrite_option(synth)

    build = _command(subparsers, "build", "commands:run_build", "build the Arrow dataset (cached), print a summary")
    _data_options(build, build=True)
    build.add_argument("--config", choices=CONFIGS, default="pooled", help="dataset config (default pooled)")

    export = _command(subparsers, "export", "commands:run_export", "write Parquet shards + a dataset card")
    _data_options(export, build=True)
    export.add_argument("--output_dir", "--out", required=True, help="output folder, e.g. `ego2exo`")
    export.add_argument("--configs", nargs="+", choices=CONFIGS, default=["text", "pooled"], help="configs to write")
    export.add_argument("--push_to_hub", metavar="REPO_ID", help="also upload the folder as a Hub dataset repo")
    _overwrite_option(export)

    download = _command(subparsers, "download", "data.download:run_download",
                        "download ego2exo.json and the Omnivore features of its takes",
                        description="Fetch ego2exo.json from the Hub, then the Omnivore features of its takes with "
                        "Meta's `egoexo` (Ego-Exo4D licence and AWS credentials needed). Resumable.")  # fmt: skip
    download.add_argument("--data_dir", required=True, help="where the official layout is written")
    download.add_argument("--revision", default=None, help="revision of the Hub dataset (default main)")
    download.add_argument("--metadata", metavar="PATH", help="use this local ego2exo.json instead of the Hub's")
    download.add_argument("--parts", nargs="+", default=["features/omnivore_video"], metavar="PART",
                          choices=["features/omnivore_video", "takes", "downscaled_takes/448"],
                          help="egoexo parts (default: the features; videos: takes, downscaled_takes/448)")  # fmt: skip
    download.add_argument("--batch_size", type=positive_int, default=20, help="take UIDs per egoexo call (default 20)")
    download.add_argument("--skip_features", action="store_true", help="only fetch the metadata")
    download.add_argument("--egoexo", default="egoexo", help="the egoexo executable (default egoexo)")

    verify = _command(subparsers, "verify", "data.verify:run_verify",
                      "check every feature file the metadata references; exit 1 on any problem")  # fmt: skip
    verify.add_argument("--data_dir", required=True, help="folder holding ego2exo.json and features/")
    verify.add_argument("--splits", nargs="+", choices=SPLITS, default=list(SPLITS), help="splits to check")
    verify.add_argument("--report", metavar="PATH", help="also write every problem as JSON to PATH")

    for name, help in STAGE_HELP.items():  # parsed by the script itself (see main)
        subparsers.add_parser(name, help=help, add_help=False)

    label = _command(subparsers, "pseudo-label", "commands:run_pseudo_label",
                     "pseudo-label a caption split with a text-stage folder or Hub repo")  # fmt: skip
    label.add_argument("--model", required=True, help="train_text.py output folder or Hub repo id")
    _data_options(label, split="ego_train")
    label.add_argument("--output_file", "--out", required=True, help="official-format .txt (a .parquet goes beside)")
    label.add_argument("--confidence_threshold", type=float, default=0.0, help="leave out labels below (default 0)")

    predict = _command(subparsers, "predict", "predict:run_predict",
                       "predict the keysteps of a split with a feature classifier (folder or Hub id)")  # fmt: skip
    predict.add_argument("--model", required=True, help="train_video.py output folder or Hub repo id")
    _data_options(predict, split="ego_val")
    predict.add_argument("--output_file", "--out", help="write the predictions as a Parquet file")
    predict.add_argument("--batch_size", type=positive_int, default=1024, help="rows per batch (default 1024)")

    evaluate = _command(subparsers, "evaluate-pseudo-labels", "predict:run_evaluate_pseudo_labels",
                        "accuracy and coverage of an official-format pseudo-label file")  # fmt: skip
    evaluate.add_argument("--pseudo_labels", required=True, help="'<segment_id> <category_id>' lines")
    _data_options(evaluate)
    evaluate.add_argument(
        "--split", choices=SPLITS, help="split (default: the target of ego2exo_<source>_<target>.txt)"
    )
    evaluate.add_argument("--json", action="store_true", help="print the report as one JSON object")

    demo = _command(subparsers, "demo", "demo:run_demo_command", "the whole method on synthetic data, with a table")
    demo.add_argument("--scale", choices=("tiny", "demo"), default="demo", help="synthetic scale (default demo)")
    demo.add_argument("--directions", nargs="+", default=["exo->ego", "ego->exo"], help="e.g. exo->ego ego->exo")
    demo.add_argument("--output_dir", default="runs/demo", help="output folder (default runs/demo)")
    demo.add_argument("--text_model", default=None, help="text backbone, Hub id or folder (default MiniLM)")
    demo.add_argument("--text_steps", type=positive_int, default=None, help="text optimiser steps (default by scale)")
    demo.add_argument("--video_iterations", type=positive_int, default=None, help="video iterations (by scale)")
    demo.add_argument("--val_every", type=positive_int, default=None, help="validate every N video iterations")
    demo.add_argument("--seed", type=int, default=42, help="random seed of data and training (default 42)")
    demo.add_argument("--data_dir", default=None, help="use this data folder instead of writing synthetic data")
    _overwrite_option(demo)

    bench = _command(subparsers, "benchmark", "benchmark:run_benchmark",
                     "video-stage methods x directions x seeds: results.md/json/png with mean ± sd")  # fmt: skip
    bench.add_argument("--data_dir", required=True, help="folder with ego2exo.json and features/ (real or synthetic)")
    bench.add_argument("--output_dir", "--out", required=True, help="output folder (runs/, results.*)")
    bench.add_argument("--methods", nargs="+", default=["source_only", "lagtran"],
                       help="video methods; mcc+pl etc. add the pseudo-label loss (default source_only lagtran)")
    bench.add_argument("--directions", nargs="+", default=["exo->ego", "ego->exo"], help="e.g. exo->ego ego->exo")
    bench.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="seeds (default 0 1 2)")
    bench.add_argument("--pseudo_labels_dir", help="where the text stage wrote ego2exo_<source>_<target>.txt")
    bench.add_argument("--num_iterations", type=positive_int, default=45001, help="iterations per run (45001)")
    bench.add_argument("--val_every", type=positive_int, default=500, help="validate every N iterations (500)")
    bench.add_argument("--selection", default="last", help="--selection of every run (default last)")
    bench.add_argument("--source_sampling", choices=("balanced", "natural"), default="balanced",
                       help="--source_sampling of every run: class-balanced (default) or natural source batches")
    bench.add_argument("--jobs", type=positive_int, default=1, help="runs at a time, one thread each (default 1)")
    bench.add_argument("--cache_dir", default=None, help="datasets cache (default: HF_DATASETS_CACHE)")
    _overwrite_option(bench)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in STAGE_SCRIPTS:  # the training scripts parse their own options
        script = importlib.import_module(STAGE_SCRIPTS[argv[0]])
        exit_on_user_error(script.main)(argv[1:], prog=f"ego2exo {argv[0]}")
        return 0
    args = build_parser().parse_args(argv)
    module, function = args.run.split(":")
    run = getattr(importlib.import_module(f"ego2exo_hf.{module}"), function)
    return exit_on_user_error(run)(args) or 0


if __name__ == "__main__":
    sys.exit(main())
