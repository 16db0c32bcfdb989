"""Small file-system helpers: everything the package writes goes through a temporary name first."""

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from .errors import Ego2ExoError


def ensure_writable_dir(path) -> Path:
    """Create `path` if needed and check we can write into it, or raise a one-line `Ego2ExoError`."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as err:
        raise Ego2ExoError(f"output directory {path} is not writable ({err.strerror or err}); choose another one")
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
    """Build a directory under a temporary name and swap it in place of `path` only when complete."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.mkdir(parents=True)
        yield tmp
        if path.exists():
            shutil.rmtree(path)


def sha256_file(path) -> str:
    """Hex SHA-256 of a file's content, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
