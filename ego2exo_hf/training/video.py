"""Video stage of LaGTran: a `FeatureClassifier` on pooled Omnivore features, trained with an `accelerate` loop.

Per iteration: `batch_size` class-balanced source segments (true labels) plus `batch_size` target segments
(text-stage pseudo-labels for `lagtran`, true labels for the `target_supervised` upper bound, none for
`source_only`); SGD with Nesterov momentum and the "inv" schedule; validation on source val and target val.
All features sit in memory as tensors and batches are gathered by tensor indexing.
"""

import dataclasses
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from accelerate import Accelerator, PartialState
from accelerate.logging import get_logger
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm
from transformers import HfArgumentParser

from ..constants import FEATURE_DIM, HUB_DATASET_REPO, PUBLISHED_RESULTS, split_name
from ..data.pseudo_labels import align_pseudo_labels, read_pseudo_labels
from ..data.samplers import PairedBatchSampler
from ..errors import Ego2ExoError, exit_on_user_error
from ..hub import push_folder, write_metrics, write_model_card
from ..metrics import load_accuracy_metric
from ..models import FeatureClassifier, FeatureClassifierConfig
from ..utils import atomic_write_text, ensure_writable_dir, sha256_file

logger = get_logger(__name__)

METHODS = ("lagtran", "source_only", "target_supervised")
SELECTIONS = ("last", "source_val", "target_val_oracle")
CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")
STATE_FILE = "training_state.json"  # written last: a checkpoint folder without it is incomplete
BEST_MODEL_FILE = "best_model.safetensors"
LOG_FILE = "training_log.jsonl"
# Settings a checkpoint must share with the run that resumes it (num_iterations may grow, paths may move).
RESUME_KEYS = (
    "source", "target", "method", "batch_size", "learning_rate", "classifier_lr_multiplier", "momentum",
    "weight_decay", "lr_gamma", "lr_power", "seed", "selection", "feature_dim", "hidden_dim",
)  # fmt: skip


@dataclass
class VideoTrainingArguments:
    """Arguments of `train_video.py` (also accepted as a single YAML or JSON file)."""

    data_dir: str = field(metadata={"help": "Folder with ego2exo.json and features/ (real or synthetic copy)."})
    output_dir: str = field(metadata={"help": "Where the model, metrics.json, card, logs and checkpoints go."})
    source: Literal["ego", "exo"] = field(default="exo", metadata={"help": "Labelled source domain."})
    target: Literal["ego", "exo"] = field(default="ego", metadata={"help": "Unlabelled target domain."})
    method: Literal["lagtran", "source_only", "target_supervised"] = field(
        default="lagtran",
        metadata={
            "help": "lagtran: source CE + target pseudo-label CE; source_only; target_supervised: true "
            "target labels instead of pseudo-labels (upper bound)."
        },
    )
    pseudo_labels: str | None = field(
        default=None, metadata={"help": "Official-format pseudo-label file for the target train split (lagtran)."}
    )
    num_iterations: int = field(default=45001, metadata={"help": "Training iterations (paired batches)."})
    batch_size: int = field(default=64, metadata={"help": "Examples per domain per iteration, over all processes."})
    learning_rate: float = field(default=0.003, metadata={"help": "Base learning rate of the 'inv' schedule."})
    classifier_lr_multiplier: float = field(default=10.0, metadata={"help": "Learning-rate factor of the classifier."})
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_gamma: float = field(default=0.001, metadata={"help": "inv schedule: lr = base * (1 + gamma * it) ** -power."})
    lr_power: float = 0.75
    val_every: int = field(default=500, metadata={"help": "Validate on source val and target val every N iterations."})
    eval_batch_size: int = 1024
    checkpoint_every: int = field(default=5000, metadata={"help": "Save a resumable checkpoint every N iterations."})
    save_total_limit: int = field(default=2, metadata={"help": "Number of checkpoints kept (oldest deleted)."})
    selection: Literal["last", "source_val", "target_val_oracle"] = field(
        default="last",
        metadata={
            "help": "Saved model: the last iterate, the best on source val, or the best on target val "
            "(an oracle: it uses target labels, so it is not a valid domain-adaptation result)."
        },
    )
    seed: int = 0
    resume_from_checkpoint: str | None = field(
        default=None, metadata={"help": "A checkpoint folder, or 'latest' for the newest under output_dir/checkpoints."}
    )
    logging_steps: int = field(default=50, metadata={"help": "Log the training loss every N iterations."})
    report_to: str = field(default="tensorboard", metadata={"help": "Trackers, comma-separated, or 'none'."})
    feature_dim: int = field(default=FEATURE_DIM, metadata={"help": "Feature width of the model (Omnivore: 1536)."})
    hidden_dim: int = 256
    cache_dir: str | None = field(default=None, metadata={"help": "datasets cache for the Arrow tables."})
    push_to_hub: bool = False
    hub_model_id: str | None = None


def parse_args(argv=None) -> VideoTrainingArguments:
    """Parse the command line, or a single `.yaml`/`.yml`/`.json` file holding the arguments."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = HfArgumentParser(VideoTrainingArguments)
    if len(argv) == 1 and argv[0].endswith((".yaml", ".yml", ".json")):
        path = Path(argv[0])
        if not path.is_file():
            raise Ego2ExoError(f"{path}: argument file not found")
        loader = parser.parse_json_file if path.suffix == ".json" else parser.parse_yaml_file
        (args,) = loader(str(path))
    else:
        (args,) = parser.parse_args_into_dataclasses(args=argv)
    return args


def check_args(args: VideoTrainingArguments) -> None:
    """Reject inconsistent arguments with a one-line `Ego2ExoError`."""
    if args.source == args.target:
        raise Ego2ExoError(f"--source and --target are both {args.source!r}: choose two different domains")
    if args.method == "lagtran" and not args.pseudo_labels:
        raise Ego2ExoError("--method lagtran needs --pseudo_labels (the text stage writes them)")
    if args.method == "lagtran" and not Path(args.pseudo_labels).is_file():
        read_pseudo_labels(args.pseudo_labels)  # raises the reader's one-line "not found" error
    if args.push_to_hub and not args.hub_model_id:
        raise Ego2ExoError("--push_to_hub needs --hub_model_id <user>/<name>")
    counts = ("num_iterations", "batch_size", "val_every", "checkpoint_every", "logging_steps", "eval_batch_size")
    for name in counts:
        if getattr(args, name) <= 0:
            raise Ego2ExoError(f"--{name} must be positive, got {getattr(args, name)}")


class FeaturePool(Dataset):
    """Rows of in-memory tensors; `__getitems__` fetches a whole batch with one indexing op (no per-row work)."""

    def __init__(self, features: torch.Tensor, labels: torch.Tensor):
        self.features, self.labels = features, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitems__(self, indices) -> dict:
        indices = torch.as_tensor(indices, dtype=torch.long)
        return {"features": self.features[indices], "labels": self.labels[indices]}

    def __getitem__(self, index):
        return self.__getitems__([index])


def _whole_batch(batch):
    return batch  # `FeaturePool.__getitems__` already returns a collated batch


@dataclass
class VideoData:
    """The four splits of one direction as tensors, plus the provenance of the target labels."""

    source_train: FeaturePool
    target_train: FeaturePool
    source_val: FeaturePool
    target_val: FeaturePool
    target_label_source: str


def _split_tensors(dataset, split: str, feature_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    table = dataset.with_format("torch", columns=["features", "label"])[:]
    features, labels = table["features"].float(), table["label"].long()
    if features.ndim != 2 or features.shape[1] != feature_dim:
        raise Ego2ExoError(
            f"split={split}: features are {features.shape[-1]}-d but the model expects {feature_dim} "
            "(--feature_dim); are these pooled Omnivore features?"
        )
    return features, labels


def load_video_data(args: VideoTrainingArguments) -> VideoData:
    """Load the `pooled` splits of the direction into memory and attach the target training labels."""
    from ..data import load_ego2exo  # imported here: building the dataset pulls in the whole data layer

    splits = load_ego2exo(args.data_dir, "pooled", cache_dir=args.cache_dir)
    pools = {}
    for role, domain in (("source", args.source), ("target", args.target)):
        for part in ("train", "val"):
            name = split_name(domain, part)
            pools[f"{role}_{part}"] = FeaturePool(*_split_tensors(splits[name], name, args.feature_dim))
    target_name = split_name(args.target, "train")
    if args.method == "lagtran":
        path = Path(args.pseudo_labels)
        labels = align_pseudo_labels(
            read_pseudo_labels(path), splits[target_name]["segment_id"], path=path, split=target_name
        )
        pools["target_train"].labels = torch.tensor(labels, dtype=torch.long)
        digest = sha256_file(path)[:12]
        provenance = f"pseudo-labels from {path.name} (sha256 {digest}, {len(labels)} segments)"
    elif args.method == "target_supervised":
        provenance = "true target labels (upper bound, not domain adaptation)"
    else:
        provenance = "none (source only)"
    return VideoData(**pools, target_label_source=provenance)


def build_optimizer(model: FeatureClassifier, args: VideoTrainingArguments) -> torch.optim.SGD:
    """SGD (Nesterov, momentum 0.9, weight decay 5e-4), the classifier at `classifier_lr_multiplier` x base lr.

    In the original the backbone group trains at 1x and the classifier head at 10x; here the backbone is
    the frozen Omnivore trunk (features are precomputed), so every parameter of this model is in the
    classifier group, exactly as the original's linear-probing runs.
    """
    groups = [{"params": list(model.parameters()), "lr": args.learning_rate * args.classifier_lr_multiplier}]
    return torch.optim.SGD(groups, momentum=args.momentum, weight_decay=args.weight_decay, nesterov=True)


def inv_schedule(optimizer, gamma: float = 0.001, power: float = 0.75) -> torch.optim.lr_scheduler.LambdaLR:
    """The "inv" schedule of the original: lr_group(it) = lr_group(0) * (1 + gamma * it) ** -power."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda it: (1 + gamma * it) ** -power)


@torch.no_grad()
def evaluate_split(model, loader, accelerator: Accelerator, metric) -> dict:
    """Top-1/top-5/mean-class/per-class (%) over the whole split, gathered across processes exactly once."""
    was_training = model.training
    model.eval()
    scores, references = [], []
    for batch in loader:
        logits = model(batch["features"]).logits
        logits, labels = accelerator.gather_for_metrics((logits, batch["labels"]))
        scores.append(logits.float().cpu())
        references.append(labels.cpu())
    model.train(was_training)
    scores, references = torch.cat(scores), torch.cat(references)
    result = metric.compute(predictions=scores.numpy(), references=references.numpy())
    result["num_examples"] = len(references)
    return result


# ---------------------------------------------------------------- checkpoints


def run_fingerprint(args: VideoTrainingArguments) -> dict:
    """The settings a resumed run must share with the checkpoint, pseudo-label file content included."""
    fingerprint = {key: getattr(args, key) for key in RESUME_KEYS}
    if args.method == "lagtran":
        fingerprint["pseudo_labels_sha256"] = sha256_file(args.pseudo_labels)
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


def resolve_checkpoint(args: VideoTrainingArguments) -> tuple[Path, dict]:
    """Find the checkpoint to resume (`latest` or a path), read its state and check it fits this run."""
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
    state = json.loads(state_file.read_text())
    expected = run_fingerprint(args)
    saved = state["fingerprint"]
    diff = [f"{k}={saved.get(k)!r} (now {v!r})" for k, v in expected.items() if saved.get(k) != v]
    if diff:
        raise Ego2ExoError(f"{path}: checkpoint of a different configuration: {', '.join(diff)}")
    if state["iteration"] > args.num_iterations:
        raise Ego2ExoError(
            f"{path}: checkpoint at iteration {state['iteration']} is past --num_iterations {args.num_iterations}"
        )
    return path, state


def save_checkpoint(accelerator: Accelerator, args, iteration: int, fingerprint: dict, best: dict) -> Path:
    """`accelerator.save_state` into a temporary folder, renamed into place once complete.

    A crash while saving leaves only a `.checkpoint-N.tmp` folder, which `latest` ignores.
    """
    root = Path(args.output_dir) / CHECKPOINT_DIR
    final, tmp = root / f"checkpoint-{iteration}", root / f".checkpoint-{iteration}.tmp"
    if accelerator.is_main_process and tmp.exists():
        shutil.rmtree(tmp)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    if accelerator.is_main_process:
        if best.get("state") is not None:
            save_file(best["state"], str(tmp / BEST_MODEL_FILE))
        state = {
            "iteration": iteration,
            "fingerprint": fingerprint,
            "best_score": best.get("score"),
            "best_iteration": best.get("iteration"),
        }
        (tmp / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        for old in list_checkpoints(args.output_dir)[: -args.save_total_limit]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


# ---------------------------------------------------------------- logging


def _trackers(report_to: str):
    names = [name.strip() for name in report_to.split(",") if name.strip() and name.strip() != "none"]
    if "tensorboard" in names:
        from accelerate.utils import is_tensorboard_available

        if not is_tensorboard_available():
            names.remove("tensorboard")
    return names or None


class TrainingLog:
    """`training_log.jsonl` in the output folder: one JSON object per logging or validation point."""

    def __init__(self, output_dir, enabled: bool, resume_iteration: int = 0):
        self.path = Path(output_dir) / LOG_FILE
        self.enabled = enabled
        if enabled:
            kept = []
            if resume_iteration and self.path.is_file():  # drop what an interrupted run logged after the checkpoint
                lines = self.path.read_text().splitlines()
                kept = [line for line in lines if json.loads(line)["iteration"] <= resume_iteration]
            atomic_write_text(self.path, "".join(line + "\n" for line in kept))

    def append(self, record: dict) -> None:
        if self.enabled:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")


def _flat_scalars(prefix: str, metrics: dict) -> dict:
    return {f"{prefix}_{k}": v for k, v in metrics.items() if k in ("top1", "top5", "mean_class")}


# ---------------------------------------------------------------- the stage


def train_video(args: VideoTrainingArguments) -> dict:
    """Train, select, save (model, metrics.json, model card) and optionally push; returns the metrics dict."""
    check_args(args)
    output_dir = ensure_writable_dir(args.output_dir)
    accelerator = Accelerator(
        log_with=_trackers(args.report_to),
        project_config=ProjectConfiguration(project_dir=str(output_dir), logging_dir=str(output_dir / "runs")),
        # One global batch of `batch_size` + `batch_size` per iteration, split across processes: the same
        # examples per iteration (and a single scheduler step) whatever the number of processes.
        dataloader_config=DataLoaderConfiguration(split_batches=True),
    )
    if args.batch_size % accelerator.num_processes or args.batch_size // accelerator.num_processes < 2:
        raise Ego2ExoError(
            f"--batch_size {args.batch_size} must be a multiple of the {accelerator.num_processes} processes "
            "with at least 2 examples per process (BatchNorm)"
        )
    set_seed(args.seed)
    fingerprint = run_fingerprint(args)
    resume_path, resume_state = resolve_checkpoint(args) if args.resume_from_checkpoint else (None, None)
    start = resume_state["iteration"] if resume_state else 0

    with accelerator.main_process_first():
        data = load_video_data(args)

    config = FeatureClassifierConfig(feature_dim=args.feature_dim, hidden_dim=args.hidden_dim)
    model = FeatureClassifier(config)
    optimizer = build_optimizer(model, args)
    scheduler = inv_schedule(optimizer, args.lr_gamma, args.lr_power)

    use_target = args.method != "source_only"
    parts = [data.source_train, data.target_train] if use_target else [data.source_train]
    pool = FeaturePool(torch.cat([p.features for p in parts]), torch.cat([p.labels for p in parts]))
    sampler = PairedBatchSampler(
        data.source_train.labels,
        len(data.target_train) if use_target else 0,
        batch_size=args.batch_size,
        num_iterations=args.num_iterations,
        seed=args.seed,
        start=start,
        num_shards=accelerator.num_processes,
    )
    train_loader = DataLoader(pool, batch_sampler=sampler, collate_fn=_whole_batch)
    eval_batch = max(args.eval_batch_size // accelerator.num_processes, 1) * accelerator.num_processes
    val_loaders = {
        name: DataLoader(getattr(data, name), batch_size=eval_batch, collate_fn=_whole_batch)
        for name in ("source_val", "target_val")
    }
    model, optimizer, scheduler, train_loader, *val_loader_list = accelerator.prepare(
        model, optimizer, scheduler, train_loader, *val_loaders.values()
    )
    val_loaders = dict(zip(val_loaders, val_loader_list))
    metric = load_accuracy_metric(keep_in_memory=True)

    best = {"score": None, "iteration": None, "state": None}
    if resume_path is not None:
        accelerator.load_state(str(resume_path))
        best.update(score=resume_state["best_score"], iteration=resume_state["best_iteration"])
        if (resume_path / BEST_MODEL_FILE).is_file():
            best["state"] = load_file(str(resume_path / BEST_MODEL_FILE))
        logger.info(f"Resumed from {resume_path} at iteration {start}", main_process_only=True)

    accelerator.init_trackers(
        "video_stage",
        config={k: v for k, v in dataclasses.asdict(args).items() if isinstance(v, (int, float, str, bool))},
    )
    log = TrainingLog(output_dir, accelerator.is_main_process, start)
    selection_split = {"source_val": "source_val", "target_val_oracle": "target_val"}.get(args.selection)

    def validate(iteration: int) -> dict:
        results = {name: evaluate_split(model, loader, accelerator, metric) for name, loader in val_loaders.items()}
        if selection_split and (best["score"] is None or results[selection_split]["top1"] > best["score"]):
            state = accelerator.unwrap_model(model).state_dict()
            best.update(
                score=results[selection_split]["top1"],
                iteration=iteration,
                state={k: v.detach().cpu().clone() for k, v in state.items()},
            )
        return results

    logger.info(
        f"{args.method} {args.source}->{args.target}: {len(data.source_train)} source, {len(data.target_train)} "
        f"target train segments; iterations {start}..{args.num_iterations} on {accelerator.num_processes} process(es)",
        main_process_only=True,
    )
    model.train()
    progress = tqdm(
        total=args.num_iterations,
        initial=start,
        desc=f"video {args.method}",
        disable=not accelerator.is_local_main_process,
    )
    # Sums since the last log point, reduced across processes only when logged (no per-step sync).
    running_loss, running_steps = torch.zeros((), device=accelerator.device), 0
    running_examples = torch.zeros(2, dtype=torch.long, device=accelerator.device)  # source, target
    loop_seconds, tick = 0.0, time.perf_counter()
    for iteration, batch in enumerate(train_loader, start=start + 1):
        if use_target:  # each process holds [its source share | its target share] (see PairedBatchSampler)
            source_features, target_features = batch["features"].chunk(2)
            source_labels, target_labels = batch["labels"].chunk(2)
        else:
            source_features, source_labels = batch["features"], batch["labels"]
        # Source and target go through the model separately (per-domain BatchNorm statistics, as originally).
        loss = model(source_features, labels=source_labels).loss
        if use_target:
            loss = loss + model(target_features, labels=target_labels).loss
        accelerator.backward(loss)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        running_loss += loss.detach()
        running_examples[0] += len(source_labels)
        running_examples[1] += len(target_labels) if use_target else 0
        running_steps += 1
        progress.update(1)

        log_now = iteration % args.logging_steps == 0
        val_now = iteration % args.val_every == 0 or iteration == args.num_iterations
        if log_now or val_now:
            loop_seconds += time.perf_counter() - tick
            mean_loss = (accelerator.reduce(running_loss, "mean") / running_steps).item()
            source_seen, target_seen = (accelerator.reduce(running_examples, "sum") / running_steps).tolist()
            record = {
                "iteration": iteration,
                "loss": mean_loss,
                "lr": scheduler.get_last_lr()[0],
                "source_examples_per_iteration": source_seen,  # over all processes
                "target_examples_per_iteration": target_seen,
            }
            running_loss.zero_()
            running_examples.zero_()
            running_steps = 0
            if val_now:
                results = validate(iteration)
                for name, values in results.items():
                    record.update(_flat_scalars(name, values))
            accelerator.log({k: v for k, v in record.items() if k != "iteration"}, step=iteration)
            log.append(record)
            progress.set_postfix(loss=f"{mean_loss:.3f}")
            if iteration % args.checkpoint_every == 0:
                save_checkpoint(accelerator, args, iteration, fingerprint, best)
            tick = time.perf_counter()
        elif iteration % args.checkpoint_every == 0:
            loop_seconds += time.perf_counter() - tick
            save_checkpoint(accelerator, args, iteration, fingerprint, best)
            tick = time.perf_counter()
    progress.close()

    final_model = accelerator.unwrap_model(model)
    selected_iteration = args.num_iterations
    if selection_split and best["state"] is not None:
        final_model.load_state_dict(best["state"])
        selected_iteration = best["iteration"]
    final = {name: evaluate_split(model, loader, accelerator, metric) for name, loader in val_loaders.items()}
    metrics = {
        "source_val": final["source_val"],
        "target_val": final["target_val"],
        "method": args.method,
        "source": args.source,
        "target": args.target,
        "num_iterations": args.num_iterations,
        "selection": args.selection,
        "selected_iteration": selected_iteration,
        "train_ms_per_iteration": 1000 * loop_seconds / max(args.num_iterations - start, 1),
    }
    if args.selection == "target_val_oracle":
        metrics["oracle"] = "selected with target val labels: an upper bound, not a domain-adaptation result"
    if accelerator.is_main_process:
        final_model.save_pretrained(output_dir)
        write_metrics(output_dir, metrics)
        write_video_card(output_dir, args, metrics, data.target_label_source)
        if args.push_to_hub:
            message = f"LaGTran video stage: {args.method} {args.source}->{args.target}"
            push_folder(output_dir, args.hub_model_id, commit_message=message)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return metrics


def write_video_card(output_dir, args: VideoTrainingArguments, metrics: dict, target_labels: str) -> Path:
    """Model card: results, method, direction, pseudo-label provenance, data, selection rule."""
    direction = f"{args.source}->{args.target}"
    selection = {
        "last": f"last iterate (iteration {args.num_iterations})",
        "source_val": f"best top-1 on source val (iteration {metrics['selected_iteration']})",
        "target_val_oracle": f"ORACLE: best top-1 on *target* val (iteration {metrics['selected_iteration']}), "
        "uses target labels, so the target numbers are an upper bound, not a valid domain-adaptation result",
    }[args.selection]
    published = PUBLISHED_RESULTS.get(args.method, {}).get(direction)
    details = {
        "Direction": f"{args.source} (labelled source) -> {args.target} (target)",
        "Method": args.method,
        "Target training labels": target_labels,
        "Data": f"`{Path(args.data_dir).name}`, Ego2Exo layout ({HUB_DATASET_REPO}), pooled Omnivore features",
        "Model selection": selection,
        "Training": f"{args.num_iterations} iterations of {args.batch_size} source (class-balanced)"
        + (f" + {args.batch_size} target" if args.method != "source_only" else "")
        + f" segments; SGD Nesterov momentum {args.momentum}, weight decay {args.weight_decay}, lr "
        f"{args.learning_rate} x {args.classifier_lr_multiplier:g} (classifier), inv schedule "
        f"(gamma {args.lr_gamma}, power {args.lr_power}); seed {args.seed}",
        "Published top-1 (real data, same method and direction)": "n/a" if published is None else f"{published}",
        "Loading": "`import ego2exo_hf` (registers the model type), then `AutoModel.from_pretrained(...)`",
    }
    return write_model_card(
        output_dir,
        title=f"LaGTran video stage, Ego2Exo {direction} ({args.method})"
        + (" [ORACLE selection on target val]" if args.selection == "target_val_oracle" else ""),
        summary="A feature classifier (Linear 1536->256, BatchNorm, ReLU, Linear 256->24) on mean-pooled "
        "Omnivore Swin-L video features of keystep segments, predicting 24 cooking keysteps.",
        metrics={"source_val": metrics["source_val"], "target_val": metrics["target_val"]},
        details=details,
        pipeline_tag="video-classification",
        tags=["feature-classifier", args.method],
    )


def _train_and_report(args: VideoTrainingArguments) -> dict:
    metrics = train_video(args)
    target = metrics["target_val"]
    if PartialState().is_main_process:
        print(f"target val ({metrics['target']}): top-1 {target['top1']:.2f}, mean-class {target['mean_class']:.2f}")
    return metrics


def main(argv=None) -> dict:
    """Entry point of `train_video.py`: parse, train, report."""
    return _train_and_report(parse_args(argv))


def add_train_video_parser(subparsers):
    """`ego2exo train-video ...`: the same arguments as `train_video.py`."""
    parent = HfArgumentParser(VideoTrainingArguments, add_help=False)
    parser = subparsers.add_parser(
        "train-video", parents=[parent], help="video stage: train the feature classifier (train_video.py)"
    )
    parser.set_defaults(func=run_train_video)
    return parser


@exit_on_user_error
def run_train_video(namespace) -> int:
    names = {f.name for f in dataclasses.fields(VideoTrainingArguments)}
    _train_and_report(VideoTrainingArguments(**{k: v for k, v in vars(namespace).items() if k in names}))
    return 0


__all__ = [
    "VideoTrainingArguments", "add_train_video_parser", "build_optimizer", "check_args", "inv_schedule",
    "load_video_data", "main", "parse_args", "run_train_video", "train_video",
]  # fmt: skip
