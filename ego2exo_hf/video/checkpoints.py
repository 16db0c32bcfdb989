"""Resumable checkpoints of the video stage: `accelerator.save_state` folders, written atomically, checked on resume."""

import json
import os
import pickle
import re
import shutil
from dataclasses import dataclass, fields
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..errors import Ego2ExoError, first_line
from ..models.weights import check_weights
from ..utils import sha256_file

CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")
STATE_FILE = "training_state.json"  # written last: a checkpoint folder without it is incomplete
BEST_MODEL_FILE = "best_model.safetensors"
EARLIER = "resume an earlier one (--resume_from_checkpoint <output_dir>/checkpoints/checkpoint-N) or start afresh"


@dataclass
class Checkpoint:
    path: Path
    iteration: int
    best_score: float | None
    best_iteration: int | None

    def best_state(self):
        """The best model's weights saved with the checkpoint (selection by a val split), or None."""
        file = self.path / BEST_MODEL_FILE
        return load_file(str(file)) if file.is_file() else None


def run_fingerprint(args) -> dict:
    """What a resumed run must share with its checkpoint: every option that changes the model, the data or the
    optimisation (each option says how, `video/config.py`), input files by their content, the data by its cache
    key (num_iterations may grow, output and logging options may change, the data folder may move)."""
    from ..data.builder import data_fingerprint

    fingerprint = {}
    for option in fields(args):
        kind, value = option.metadata.get("fingerprint", "value"), getattr(args, option.name)
        if kind == "file":
            fingerprint[f"{option.name}_sha256"] = sha256_file(value) if value else None
        elif kind == "data":
            fingerprint[f"{option.name}_content"] = data_fingerprint(value, args.config)
        elif kind == "value":
            fingerprint[option.name] = value
    return fingerprint


def list_checkpoints(output_dir) -> list[Path]:
    """Complete checkpoints under `output_dir/checkpoints`, oldest first."""
    root = Path(output_dir) / CHECKPOINT_DIR
    found = []
    if root.is_dir():
        for entry in root.iterdir():
            match = CHECKPOINT_PATTERN.match(entry.name)
            if match and (entry / STATE_FILE).is_file():
                found.append((int(match.group(1)), entry))
    return [path for _, path in sorted(found)]


def find_checkpoint(args) -> Checkpoint:
    """The checkpoint to resume (`latest` or a path), checked to fit this run."""
    if args.resume_from_checkpoint == "latest":
        checkpoints = list_checkpoints(args.output_dir)
        if not checkpoints:
            root = Path(args.output_dir) / CHECKPOINT_DIR
            raise Ego2ExoError(f"--resume_from_checkpoint latest: no checkpoint under {root}")
        path = checkpoints[-1]
    else:
        path = Path(args.resume_from_checkpoint)
    state_file = path / STATE_FILE
    if not state_file.is_file():
        raise Ego2ExoError(f"{path}: not a complete checkpoint of train_video.py ({STATE_FILE} missing)")
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        saved, iteration = state["fingerprint"], int(state["iteration"])
        best_score, best_iteration = state["best_score"], state["best_iteration"]
    except (ValueError, KeyError, TypeError) as err:  # a hand-edited or damaged file
        raise Ego2ExoError(f"{state_file}: damaged checkpoint state ({first_line(err)}); {EARLIER}") from None
    diff = [f"{k}={saved.get(k)!r} (now {v!r})" for k, v in run_fingerprint(args).items() if saved.get(k) != v]
    if diff:
        raise Ego2ExoError(
            f"{path}: checkpoint of a different configuration: {', '.join(diff)}; to resume, give the checkpoint's "
            "values; to start this configuration afresh, drop --resume_from_checkpoint or choose another --output_dir"
        )
    if iteration > args.num_iterations:
        raise Ego2ExoError(
            f"{path}: checkpoint at iteration {iteration} is past --num_iterations {args.num_iterations}"
        )
    return Checkpoint(path, iteration, best_score, best_iteration)


def load_checkpoint(accelerator, checkpoint: Checkpoint) -> None:
    """`accelerator.load_state`, after checking every model's weights (and the best model's) against the model:
    a truncated, swapped or otherwise damaged file ends in one line naming it."""
    models = [accelerator.unwrap_model(model) for model in accelerator._models]
    for i, model in enumerate(models):  # accelerate's names: model.safetensors, model_1.safetensors, ...
        check_weights(checkpoint.path / f"model{f'_{i}' if i else ''}.safetensors", model, EARLIER)
    if (checkpoint.path / BEST_MODEL_FILE).is_file():
        check_weights(checkpoint.path / BEST_MODEL_FILE, models[0], EARLIER)
    random_states = checkpoint.path / f"random_states_{accelerator.process_index}.pkl"  # absent: another process count
    try:
        if random_states.is_file():  # accelerate skips one it cannot read, and the resume would draw other numbers
            torch.load(random_states, weights_only=False)
        accelerator.load_state(str(checkpoint.path))
    except (RuntimeError, OSError, EOFError, ValueError, KeyError, pickle.UnpicklingError) as err:
        raise Ego2ExoError(f"{checkpoint.path}: damaged checkpoint ({first_line(err)}); {EARLIER}") from None


def save_checkpoint(accelerator, args, iteration: int, fingerprint: dict, best) -> Path:
    """`accelerator.save_state` into a temporary folder, renamed into place once complete (a crash while saving
    leaves only a `.checkpoint-N.tmp` folder, which `latest` ignores); keeps the newest `save_total_limit`."""
    root = Path(args.output_dir) / CHECKPOINT_DIR
    final, tmp = root / f"checkpoint-{iteration}", root / f".checkpoint-{iteration}.tmp"
    if accelerator.is_main_process and tmp.exists():
        shutil.rmtree(tmp)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()  # every rank has written its random states before the folder moves
    if accelerator.is_main_process:
        if best.state is not None:
            save_file(best.state, str(tmp / BEST_MODEL_FILE))
        state = {"iteration": iteration, "fingerprint": fingerprint, **best.summary()}
        (tmp / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        for old in list_checkpoints(args.output_dir)[: -args.save_total_limit]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final
