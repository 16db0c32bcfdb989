"""The package's own error type and the helper that turns it into one line for scripts."""

import functools
import sys


class Ego2ExoError(Exception):
    """A problem the user can fix (bad file, bad argument, bad data). The message says what and where."""


def first_line(err: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (its type name when empty), cut to `limit` characters."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:limit]


def where(file=None, split=None, segment_id=None) -> str:
    """Format the location part of an error message: `file=..., split=..., segment_id=...`."""
    parts = [f"{k}={v}" for k, v in (("file", file), ("split", split), ("segment_id", segment_id)) if v is not None]
    return ", ".join(parts)


def exit_on_user_error(fn):
    """Decorator for entry points: an `Ego2ExoError` becomes `error: <message>` on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Ego2ExoError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)

    return wrapper


class OneLineArgumentErrors:
    """Mix-in for `argparse.ArgumentParser` classes: a bad option ends in one `error: ...` line and exit code 2,
    and abbreviations are not options (`--num_iteration` is a typo, not `--num_iterations`)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        sys.stderr.write(f"error: {message} (see {self.prog} --help)\n")
        sys.exit(2)
