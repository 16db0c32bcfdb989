"""A local model folder laid out in a Hub cache as `huggingface_hub` leaves it after a download, for offline tests."""

import hashlib
import os
import shutil
from pathlib import Path

from huggingface_hub.file_download import repo_folder_name

from ego2exo_hf.utils import atomic_write_text, sha256_file


def populate_hub_cache(folder, repo_id: str, cache_dir, *, repo_type: str = "model", revision: str = "main") -> Path:
    """Lay out a local `folder` in a Hub cache as `huggingface_hub` does after a download, for offline use.

    Writes `<cache_dir>/<repo_type>s--<org>--<name>/`: `blobs/<sha256>` (file contents),
    `snapshots/<commit>/<path>` (symlinks to the blobs) and `refs/<revision>` (the commit hash), so that
    `from_pretrained(repo_id)` with `HF_HUB_OFFLINE=1` and `HF_HUB_CACHE=cache_dir` finds every file.
    Returns the snapshot folder.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    digests = {path: sha256_file(path) for path in files}
    commit = hashlib.sha1("".join(f"{p.relative_to(folder).as_posix()}:{d}\n" for p, d in digests.items()).encode())
    commit = commit.hexdigest()
    storage = Path(cache_dir) / repo_folder_name(repo_id=repo_id, repo_type=repo_type)
    snapshot = storage / "snapshots" / commit
    for path, digest in digests.items():
        blob = storage / "blobs" / digest
        blob.parent.mkdir(parents=True, exist_ok=True)
        if not blob.exists():
            shutil.copyfile(path, blob)
        link = snapshot / path.relative_to(folder)
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(blob, link.parent))
    atomic_write_text(storage / "refs" / revision, commit)
    return snapshot
