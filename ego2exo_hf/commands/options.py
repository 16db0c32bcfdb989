"""Option helpers shared by the sub-commands' parsers (standard library only)."""

import argparse

from ..constants import SPLITS
from ..errors import OneLineArgumentErrors


class ArgumentParser(OneLineArgumentErrors, argparse.ArgumentParser):
    """`argparse.ArgumentParser` whose errors are one line."""


def positive_int(text: str) -> int:
    """An `argparse` type: an integer of at least 1."""
    value = int(text) if text.lstrip("-").isdigit() else None
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def add_command(subparsers, name: str, run, help: str, **kwargs) -> argparse.ArgumentParser:
    """The parser of sub-command `name`, whose `run(args)` is called with the parsed options."""
    parser = subparsers.add_parser(name, help=help, description=kwargs.pop("description", help), **kwargs)
    parser.set_defaults(run=run)
    return parser


def add_data_options(parser, *, split: str | None = None, build: bool = False) -> None:
    parser.add_argument("--data_dir", required=True, help="folder holding ego2exo.json (+ features/omnivore_video)")
    if split:
        parser.add_argument("--split", choices=SPLITS, default=split, help=f"split (default {split})")
    parser.add_argument("--cache_dir", default=None, help="datasets cache (default: HF_DATASETS_CACHE)")
    if build:
        parser.add_argument("--num_proc", type=positive_int, default=None, help="build with N processes (default 1)")


def add_overwrite_option(parser) -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an output folder this command did not make (default: refuse)")  # fmt: skip
