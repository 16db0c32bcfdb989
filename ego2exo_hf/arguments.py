"""Argument parsing shared by the two training scripts: the command line, or one YAML/JSON file, into dataclasses.

Imports only `transformers.HfArgumentParser` (no torch), so `--help` and argument errors return at once.
"""

import copy
import difflib
import sys
from dataclasses import fields
from pathlib import Path
from types import MappingProxyType

from transformers import HfArgumentParser

from .errors import Ego2ExoError, OneLineArgumentErrors, first_line

ARGUMENT_FILE_SUFFIXES = (".yaml", ".yml", ".json")


class ArgumentParser(OneLineArgumentErrors, HfArgumentParser):
    """`HfArgumentParser` whose errors are one line: the parser of both training scripts."""

    @staticmethod
    def _parse_dataclass_field(parser, field):
        # A field's own metadata (the video stage's `fingerprint`) is not an argparse option: pass on the rest.
        if "fingerprint" in field.metadata:
            field = copy.copy(field)
            field.metadata = MappingProxyType({k: v for k, v in field.metadata.items() if k != "fingerprint"})
        HfArgumentParser._parse_dataclass_field(parser, field)


def closest_name(name: str, candidates) -> str:
    """`" (did you mean --x?)"` for the nearest valid option name, or "" when none is near."""
    match = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def read_argument_file(path) -> dict:
    """The mapping in a `.yaml`/`.yml`/`.json` argument file, or a one-line error naming the file."""
    import json

    import yaml

    path = Path(path)
    if not path.is_file():
        raise Ego2ExoError(f"argument file {path} not found")
    try:
        text = path.read_text(encoding="utf-8")
        values = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise Ego2ExoError(f"argument file {path} is not valid YAML/JSON: {first_line(err)}") from None
    if not isinstance(values, dict):
        raise Ego2ExoError(f"argument file {path} must hold a mapping of option names to values")
    return values


def parse_args(parser, argv=None, allow_unknown: bool = False) -> tuple:
    """Parse `argv` (default `sys.argv[1:]`), or a lone `.yaml`/`.json` argument file, into the parser's dataclasses.

    File values go through the same dataclass checks as the command line. Options and keys that no dataclass
    knows are errors naming the closest valid name, or, with `allow_unknown`, left to a later parse (the text stage
    checks its own options torch-free that way before it reads every `TrainingArguments` option).
    """
    argv = sys.argv[1:] if argv is None else [str(word) for word in argv]
    if len(argv) == 1 and argv[0].endswith(ARGUMENT_FILE_SUFFIXES):
        values = read_argument_file(argv[0])
        known = {f.name for dtype in parser.dataclass_types for f in fields(dtype) if f.init}
        unknown = [key for key in values if key not in known]
        if unknown and not allow_unknown:
            raise Ego2ExoError(f"argument file {argv[0]}: unknown key {unknown[0]!r}{closest_name(unknown[0], known)}")
        try:
            return tuple(parser.parse_dict({k: v for k, v in values.items() if k in known}))
        except (TypeError, ValueError) as err:
            raise Ego2ExoError(f"argument file {argv[0]}: {err}") from None
    _, unknown = parser.parse_known_args(argv)  # before any dataclass is built (TrainingArguments' takes seconds)
    if unknown and not allow_unknown:
        flags = [word for word in unknown if word.startswith("-")]
        word = flags[0] if flags else unknown[0]
        hint = closest_name(word.split("=")[0], parser._option_string_actions) if flags else ""
        raise Ego2ExoError(f"unknown {'option' if flags else 'argument'} {word!r}{hint}; see --help")
    return tuple(parser.parse_args_into_dataclasses(args=argv, return_remaining_strings=True)[:-1])


def check_choice(name: str, value, choices) -> None:
    """Raise a one-line error when `value` is not one of `choices` (used by every argument dataclass)."""
    if value not in choices:
        hint = closest_name(str(value), choices)
        raise Ego2ExoError(f"--{name} must be one of {', '.join(map(str, choices))}, got {value!r}{hint}")


def check_positive(owner, *names, minimum=1) -> None:
    """Raise a one-line error for the first of `names` (attributes of `owner`) below `minimum`."""
    for name in names:
        value = getattr(owner, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise Ego2ExoError(f"--{name} must be a number, got {value!r}")
        if value is not None and value < minimum:
            raise Ego2ExoError(f"--{name} must be at least {minimum}, got {value}")
