"""Small file-system helpers: everything the package writes goes through a temporary name first."""

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from .constants import METADATA_FILE
from .errors import Ego2ExoError


def ensure_writable_dir(path) -> Path:
    """Create `path` if needed and check we can write into it, or raise a one-line `Ego2ExoError`."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as err:
        raise Ego2ExoError(f"folder {path} cannot be written ({err.strerror or err}): choose another one")
    return path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary sibling path; on success rename it onto `path`, on failure remove it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def atomic_write_text(path, text: str) -> Path:
    """Write `text` to `path` so that readers never see a half-written file."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


@contextlib.contextmanager
def atomic_directory(path):
    """Build a directory under a temporary name and swap it in place of `path` only when complete.

    Whatever `path` held is replaced: call it on a folder the caller owns (see `claim_output_dir`).
    """
    path = Path(path)
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    with atomic_path(path) as tmp:
        tmp.mkdir(parents=True)
        yield tmp
        if path.exists():
            os.replace(path, old)  # a folder cannot be renamed onto a non-empty one
    shutil.rmtree(old, ignore_errors=True)


OUTPUT_MARKER = ".ego2exo-output"


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output_dir(path, command: str, *, overwrite: bool = False, data_dir=None) -> Path:
    """Raise unless `command` may write into folder `path`; return it resolved. Writes nothing.

    Refused, whatever `overwrite` says: a file; the working directory or a folder above it; `data_dir`, a
    folder inside it or above it. Refused unless `overwrite`: an existing, non-empty folder that is not an
    earlier output of the same command (it carries no marker naming `command`).
    """
    path = Path(path).resolve()
    if path.exists() and not path.is_dir():
        raise Ego2ExoError(f"output folder {path} is a file: choose another --output_dir")
    if _is_within(Path.cwd().resolve(), path):
        raise Ego2ExoError(f"output folder {path} holds the working directory: choose a new folder for --output_dir")
    if data_dir is not None:
        data = Path(data_dir).resolve()
        if _is_within(path, data) or _is_within(data, path):
            raise Ego2ExoError(
                f"output folder {path} would overlap the data folder {data}: choose an --output_dir outside it"
            )
    marker = path / OUTPUT_MARKER
    owner = marker.read_text().strip() if marker.is_file() else None
    if path.is_dir() and owner != command and not overwrite and any(path.iterdir()):
        made_by = f"an output of `ego2exo {owner}`" if owner else "not made by this tool"
        raise Ego2ExoError(
            f"output folder {path} is not empty and is {made_by}: choose another --output_dir, "
            "or pass --overwrite to write into it"
        )
    return path


def claim_output_dir(path, command: str, *, overwrite: bool = False, data_dir=None) -> Path:
    """`check_output_dir`, then create the folder and mark it as `command`'s output (writers filling it in place)."""
    path = ensure_writable_dir(check_output_dir(path, command, overwrite=overwrite, data_dir=data_dir))
    (path / OUTPUT_MARKER).write_text(command + "\n")
    return path


def check_output_file(path, data_dir=None) -> Path:
    """Raise unless file `path` can be written (before the work, not after); it must not be a folder, nor the
    metadata or a feature file of `data_dir`."""
    path = Path(path).resolve()
    if path.is_dir():
        raise Ego2ExoError(f"output file {path} is a folder: give a file name")
    if data_dir is not None:
        data = Path(data_dir).resolve()
        if path == data / METADATA_FILE or _is_within(path, data / "features"):
            raise Ego2ExoError(f"output file {path} would replace part of the data in {data}: write it elsewhere")
    ensure_writable_dir(path.parent)
    return path


@contextlib.contextmanager
def new_output_directory(path, command: str, *, overwrite: bool = False, data_dir=None):
    """`atomic_directory` for a command's whole output folder: checked first, marked, swapped in when complete."""
    path = check_output_dir(path, command, overwrite=overwrite, data_dir=data_dir)
    ensure_writable_dir(path.parent)
    with atomic_directory(path) as tmp:
        yield tmp
        (tmp / OUTPUT_MARKER).write_text(command + "\n")


def sha256_file(path) -> str:
    """Hex SHA-256 of a file's content, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pyplot():
    """`matplotlib.pyplot` on the file-only Agg backend (imported on first use)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, dpi: int = 100) -> Path:
    """Lay out `fig`, write it as a PNG atomically and close it."""
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    pyplot().close(fig)
    return Path(path)
