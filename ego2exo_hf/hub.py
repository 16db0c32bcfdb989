"""Metrics files, Hub access checks, uploads and the Hub-cache layout, through `huggingface_hub` (cards: cards.py)."""

import json
from pathlib import Path

from .constants import METRICS_FILE
from .errors import Ego2ExoError, first_line
from .utils import atomic_write_text


def looks_local(name_or_path) -> bool:
    """Whether a `--model` value names a local folder rather than a Hub repo id (`org/name` or `name`)."""
    name = str(name_or_path)
    return Path(name).is_absolute() or name.startswith((".", "~")) or name.count("/") > 1 or Path(name).is_dir()


def write_metrics(output_dir, metrics: dict) -> Path:
    """Write `metrics.json` atomically."""
    return atomic_write_text(Path(output_dir) / METRICS_FILE, json.dumps(metrics, indent=2) + "\n")


def _push_later(folder, repo_id: str, repo_type: str) -> str:
    kind = " --repo-type dataset" if repo_type == "dataset" else ""
    return f"the output is saved in {folder}; push it later with `hf upload {repo_id} {folder}{kind}`"


def check_hub_access(repo_id: str, folder=None, repo_type: str = "model") -> None:
    """Before long work: refuse `--push_to_hub` when the Hub is offline or the token cannot write (one line)."""
    from huggingface_hub import HfApi, constants

    later = f"; {_push_later(folder, repo_id, repo_type)}" if folder else ""
    if constants.HF_HUB_OFFLINE:
        raise Ego2ExoError(f"--push_to_hub: the Hub cannot be reached (HF_HUB_OFFLINE is set){later}")
    try:
        HfApi().whoami()
    except Exception as err:  # no token, a bad token or no network: all mean we cannot push
        reason = first_line(err, 160)
        raise Ego2ExoError(f"--push_to_hub: the Hub cannot be reached or the token cannot write ({reason}){later}")


def push_folder(folder, repo_id: str, *, repo_type: str = "model", commit_message: str = "Upload", private=None):
    """Create the repo if needed and upload a whole folder (weights, config, card, extra files)."""
    from huggingface_hub import HfApi

    api = HfApi()
    try:
        api.create_repo(repo_id, repo_type=repo_type, exist_ok=True, private=private)
        return api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            repo_type=repo_type,
            commit_message=commit_message,
            ignore_patterns=["checkpoints/*", "checkpoint-*/*", "runs/*", "*/checkpoint-*/*", "*/runs/*", ".*"],
        )
    except Exception as err:  # network, auth or Hub errors: the local output stays complete
        reason = first_line(err, 160)
        raise Ego2ExoError(f"push to {repo_id} failed ({reason}): {_push_later(folder, repo_id, repo_type)}")
