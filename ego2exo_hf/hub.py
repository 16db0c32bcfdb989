"""Model cards, dataset cards and uploads through `huggingface_hub`."""

import json
from pathlib import Path

from huggingface_hub import ModelCard, ModelCardData

from .constants import CITATION, HUB_DATASET_REPO
from .errors import Ego2ExoError
from .utils import atomic_write_text, sha256_file

PAPER_URL = "https://arxiv.org/abs/2403.05535"


def _metrics_table(metrics: dict) -> str:
    rows = ["| split | top-1 | top-5 | mean-class |", "|---|---|---|---|"]
    for split, values in metrics.items():
        if isinstance(values, dict) and "top1" in values:
            rows.append(
                f"| {split} | {values['top1']:.2f} | {values.get('top5', float('nan')):.2f} | "
                f"{values.get('mean_class', float('nan')):.2f} |"
            )
    return "\n".join(rows)


def write_model_card(
    output_dir,
    *,
    title: str,
    summary: str,
    metrics: dict,
    details: dict,
    pipeline_tag: str | None = None,
    base_model: str | None = None,
    tags=(),
    limitations: str = "",
) -> Path:
    """Write `<output_dir>/README.md`: a `huggingface_hub.ModelCard` with metrics, provenance and citation.

    `details` (direction, method, data, pseudo-label provenance, selection, ...) is listed as is.
    """
    card_data = ModelCardData(
        license="mit",
        library_name="transformers",
        pipeline_tag=pipeline_tag,
        base_model=base_model,
        datasets=[HUB_DATASET_REPO],
        tags=["ego2exo", "lagtran", "video-domain-adaptation", *tags],
    )
    detail_lines = "\n".join(f"- **{key}**: {value}" for key, value in details.items())
    content = f"""---
{card_data.to_yaml()}
---

# {title}

{summary}

Trained with [ego2exo-hf](https://github.com/ego2exo-hf/ego2exo-hf), the Hugging Face implementation of
LaGTran ([Tell, Don't Show!]({PAPER_URL}), ICML 2024) on the Ego2Exo benchmark.

## Details
{detail_lines}

## Results (accuracy, %)
{_metrics_table(metrics)}

Full metrics: `metrics.json`.

## Intended use
Research on video domain adaptation between egocentric and exocentric views (keystep recognition,
24 cooking keystep classes of Ego-Exo4D). Not for decisions about people.

## Limitations
{limitations or "Trained on Ego-Exo4D cooking takes only; accuracy on other activities or cameras is unknown."}
Ego-Exo4D data are under Meta's licence: check it before using models trained on them.

## Citation
```bibtex
{CITATION}
```
"""
    card = ModelCard(content)
    path = Path(output_dir) / "README.md"
    atomic_write_text(path, str(card))
    return path


def write_metrics(output_dir, metrics: dict) -> Path:
    """Write `metrics.json` atomically."""
    return atomic_write_text(Path(output_dir) / "metrics.json", json.dumps(metrics, indent=2) + "\n")


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
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
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
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
        raise Ego2ExoError(f"push to {repo_id} failed ({reason}): {_push_later(folder, repo_id, repo_type)}")


def populate_hub_cache(folder, repo_id: str, cache_dir, *, repo_type: str = "model", revision: str = "main") -> Path:
    """Lay out a local `folder` in a Hub cache as `huggingface_hub` does after a download, for offline use.

    Writes `<cache_dir>/<repo_type>s--<org>--<name>/`: `blobs/<sha256>` (file contents),
    `snapshots/<commit>/<path>` (symlinks to the blobs) and `refs/<revision>` (the commit hash), so that
    `from_pretrained(repo_id)` with `HF_HUB_OFFLINE=1` and `HF_HUB_CACHE=cache_dir` finds every file.
    Returns the snapshot folder.
    """
    import hashlib
    import os
    import shutil

    from huggingface_hub.file_download import repo_folder_name

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
