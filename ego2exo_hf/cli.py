"""The `ego2exo` command: one module per sub-command under `commands/`, each adding its own parser."""

import importlib
import sys

from .commands import COMMANDS
from .commands.options import ArgumentParser
from .commands.train import STAGE_SCRIPTS
from .errors import exit_on_user_error


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="ego2exo", description="The Ego2Exo benchmark and LaGTran.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f".commands.{name}", __package__).add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in STAGE_SCRIPTS:  # the training scripts parse their own options
        from .commands import train

        return exit_on_user_error(train.run)(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    return exit_on_user_error(args.run)(args) or 0


if __name__ == "__main__":
    sys.exit(main())
