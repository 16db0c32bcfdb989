"""The caption `Trainer`: class-balanced sampling (its only override), the linear-probe warm start, metrics."""

import contextlib

import numpy as np
import torch
from torch.utils.data import Sampler
from transformers import ProgressCallback, Trainer
from transformers.trainer_pt_utils import get_length_grouped_indices

from ..data.samplers import class_balanced_weights
from ..errors import Ego2ExoError
from ..metrics import load_accuracy_metric


class ClassBalancedSampler(Sampler[int]):
    """Draws `len(labels)` examples per epoch with replacement, with class probabilities `count ** (1 - power)`
    (power 1: every class equally likely; 0: the natural distribution). With `lengths`, each draw is arranged like
    the Trainer's `group_by_length` (mega-batches sorted by length), so dynamic padding wastes little compute."""

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


class NamedProgressCallback(ProgressCallback):
    """The Trainer's progress bars with names: "fine-tuning" for training, `phase` for prediction passes."""

    phase = "validation"

    def on_train_begin(self, args, state, control, **kwargs):
        super().on_train_begin(args, state, control, **kwargs)
        if self.training_bar is not None:
            self.training_bar.set_description("fine-tuning")

    def on_prediction_step(self, args, state, control, eval_dataloader=None, **kwargs):
        new = self.prediction_bar is None
        super().on_prediction_step(args, state, control, eval_dataloader=eval_dataloader, **kwargs)
        if new and self.prediction_bar is not None:
            self.prediction_bar.set_description(self.phase)


@contextlib.contextmanager
def progress_phase(trainer: Trainer, name: str):
    """Name the prediction bars of `trainer` `name` while the block runs."""
    bars = [c for c in trainer.callback_handler.callbacks if isinstance(c, NamedProgressCallback)]
    for bar in bars:
        bar.phase = name
    try:
        yield
    finally:
        for bar in bars:
            bar.phase = NamedProgressCallback.phase


class CaptionTrainer(Trainer):
    """`Trainer` whose training sampler is class-balanced (`balanced_sampling`; the original samples every keystep
    class equally often, and the data are very imbalanced). Every process builds the same sampler from the same
    seed, so `accelerate`'s batch sharding stays consistent."""

    def __init__(self, *args, balanced_sampling=True, balancing_power=1.0, group_by_length=True, **kwargs):
        super().__init__(*args, **kwargs)
        if self.pop_callback(ProgressCallback):
            self.add_callback(NamedProgressCallback)
        self.balanced_sampling, self.balancing_power, self.group_by_length = (
            balanced_sampling, balancing_power, group_by_length,
        )  # fmt: skip

    def _get_train_sampler(self, train_dataset=None):
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        if not self.balanced_sampling or dataset is None:
            return super()._get_train_sampler(train_dataset)
        lengths = [len(ids) for ids in dataset["input_ids"]] if self.group_by_length else None
        batch_size = self.args.train_batch_size * self.args.gradient_accumulation_steps
        return ClassBalancedSampler(
            dataset["label"], lengths, batch_size, seed=self.args.seed, power=self.balancing_power
        )


def output_layer(model) -> torch.nn.Linear:
    """The classification head's last `Linear` (to `num_labels` outputs), whatever the architecture."""
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == model.num_labels]
    if not layers:
        raise Ego2ExoError(f"{type(model).__name__}: no Linear output layer with {model.num_labels} outputs found")
    return layers[-1]


def fit_linear_probe(trainer: Trainer, dataset, power: float, steps: int = 200) -> dict:
    """LP-FT warm start (Kumar et al., ICLR 2022): the features entering the output layer, collected in one
    `Trainer.predict` pass, fit a class-weighted, L2-regularised softmax regression (full-batch L-BFGS) that
    replaces the random head. Returns the probe's training accuracy (%)."""
    layer = output_layer(trainer.model)
    captured = []
    hook = layer.register_forward_hook(lambda module, inputs, output: captured.append(inputs[0].detach().cpu()))
    try:
        order = np.argsort([len(ids) for ids in dataset["input_ids"]], kind="stable")  # less padding
        with progress_phase(trainer, "linear probe: features"):
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
    """`compute_metrics` for the Trainer: top-1, top-5 and mean-class accuracy (%) through the `evaluate` module."""
    metric = load_accuracy_metric()

    def compute_metrics(eval_pred):
        result = metric.compute(predictions=eval_pred.predictions, references=eval_pred.label_ids)
        return {key: result[key] for key in ("top1", "top5", "mean_class")}

    return compute_metrics
