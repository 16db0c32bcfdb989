"""Parts of the video stage's loop: optimiser and schedule, validation, model selection, loss meter, JSONL log."""

import json
from pathlib import Path

import torch

from ..constants import TRAINING_LOG_FILE
from ..utils import atomic_write_text


def build_optimizer(model, extra_modules, args) -> torch.optim.SGD:
    """SGD (Nesterov), the classifier at `classifier_lr_multiplier` x the base lr, extra modules in their own group.

    In the original the backbone trains at 1x and the head at 10x; here the backbone is the frozen Omnivore trunk
    (features are precomputed), so the whole model is the classifier group, as in the original's linear probing.
    """
    lr = args.learning_rate * args.classifier_lr_multiplier
    groups = [{"params": list(model.parameters()), "lr": lr}]
    groups += [{"params": list(module.parameters()), "lr": lr} for module in extra_modules]
    # fused: one kernel per step instead of one per tensor (CDAN's 1024-wide discriminator: 35 -> 24 ms, BENCHMARKS.md)
    return torch.optim.SGD(groups, momentum=args.momentum, weight_decay=args.weight_decay, nesterov=True, fused=True)


def inv_schedule(optimizer, gamma: float = 0.001, power: float = 0.75) -> torch.optim.lr_scheduler.LambdaLR:
    """The original's "inv" schedule: lr_group(it) = lr_group(0) * (1 + gamma * it) ** -power."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda it: (1 + gamma * it) ** -power)


@torch.no_grad()
def evaluate_split(model, loader, accelerator, metric) -> dict:
    """Top-1/top-5/mean-class/per-class (%) over a whole split, each row gathered across processes exactly once."""
    was_training = model.training
    model.eval()
    scores, references = [], []
    for batch in loader:
        logits = model(batch["features"], mask=batch.get("mask")).logits
        logits, labels = accelerator.gather_for_metrics((logits, batch["labels"]))
        scores.append(logits.float().cpu())
        references.append(labels.cpu())
    model.train(was_training)
    references = torch.cat(references)
    result = metric.compute(predictions=torch.cat(scores).numpy(), references=references.numpy())
    return {**result, "num_examples": len(references)}


def headline(results: dict) -> dict:
    """`{"<split>_top1": ..., "<split>_top5": ..., "<split>_mean_class": ...}` of validation results."""
    return {f"{split}_{k}": v[k] for split, v in results.items() for k in ("top1", "top5", "mean_class")}


class BestModel:
    """The best iterate by the `--selection` criterion (`selection.CRITERIA`), its weights kept on the CPU."""

    def __init__(self, selection: str):
        from .selection import CRITERIA

        self.key, self.sign = CRITERIA.get(selection, (None, 1))  # "last": no key
        self.score = self.iteration = self.state = None

    def update(self, model, record: dict, iteration: int) -> None:
        """`record`: the validation point's training-log record (it holds every criterion's value)."""
        if self.key and (self.score is None or self.sign * record[self.key] > self.sign * self.score):
            self.score, self.iteration = record[self.key], iteration
            self.state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}

    def restore(self, checkpoint) -> None:
        self.score, self.iteration, self.state = (
            checkpoint.best_score,
            checkpoint.best_iteration,
            checkpoint.best_state(),
        )

    def summary(self) -> dict:
        return {"best_score": self.score, "best_iteration": self.iteration}


class LossMeter:
    """Sums since the last log point, reduced across processes only when read (no per-step synchronisation)."""

    def __init__(self, device):
        self.loss = torch.zeros((), device=device)
        self.examples = torch.zeros(2, dtype=torch.long, device=device)  # source, target
        self.steps = 0

    def add(self, loss, source: dict, target: dict | None) -> None:
        self.loss += loss
        self.examples[0] += len(source["labels"])
        self.examples[1] += 0 if target is None else len(target["labels"])
        self.steps += 1

    def read(self, accelerator) -> dict:
        loss = (accelerator.reduce(self.loss, "mean") / self.steps).item()
        source, target = (accelerator.reduce(self.examples, "sum") / self.steps).tolist()
        self.loss.zero_()
        self.examples.zero_()
        self.steps = 0
        return {"loss": loss, "source_examples_per_iteration": source, "target_examples_per_iteration": target}


def trackers(report_to: str) -> list[str] | None:
    """Tracker names for `Accelerator(log_with=...)`; tensorboard is dropped when it is not installed."""
    names = [name.strip() for name in report_to.split(",") if name.strip() and name.strip() != "none"]
    if "tensorboard" in names:
        from accelerate.utils import is_tensorboard_available

        if not is_tensorboard_available():
            names.remove("tensorboard")
    return names or None


class TrainingLog:
    """`training_log.jsonl`: one JSON object per logging or validation point. On resume, what an interrupted run
    logged after the checkpoint is dropped, a cut-off last line included."""

    def __init__(self, output_dir, enabled: bool, resume_iteration: int = 0):
        self.path = Path(output_dir) / TRAINING_LOG_FILE
        self.enabled = enabled
        self.records = []  # what the log holds, for the selection summary
        if enabled:
            kept = []
            if resume_iteration and self.path.is_file():
                for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        break  # cut off by the interruption: nothing after it counts
                    if record["iteration"] <= resume_iteration:
                        kept.append(line)
                        self.records.append(record)
            atomic_write_text(self.path, "".join(line + "\n" for line in kept))

    def append(self, record: dict) -> None:
        if self.enabled:
            self.records.append(record)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
