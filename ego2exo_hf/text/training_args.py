"""`CaptionTrainingArguments`: `transformers.TrainingArguments` with the text stage's options and defaults, the args
of its `CaptionTrainer` (trl's `SFTConfig` pattern). Imports torch: `train_text.py` loads it only once the torch-free
`TextTrainingArguments` have passed their checks (`--help` returns before that).
"""

from dataclasses import dataclass, field

import torch
from transformers import TrainingArguments
from transformers.trainer_utils import IntervalStrategy, SaveStrategy

from ..errors import Ego2ExoError, first_line
from .config import TextTrainingArguments, cpu_bf16_applies


@dataclass
class CaptionTrainingArguments(TextTrainingArguments, TrainingArguments):
    """Every `TrainingArguments` option, the defaults of `TextTrainingArguments` first, and the stage's selection:
    evaluate and save every `eval_steps`, keep the best top-1 on the held-out source slice."""

    eval_strategy: IntervalStrategy | str = field(default="steps", metadata={"help": "When to evaluate."})
    save_strategy: SaveStrategy | str = field(default="steps", metadata={"help": "When to save a checkpoint."})
    load_best_model_at_end: bool = field(default=True, metadata={"help": "Keep the best checkpoint at the end."})
    metric_for_best_model: str | None = field(default="top1", metadata={"help": "Held-out metric of the best one."})
    dataloader_pin_memory: bool | None = field(
        default=None, metadata={"help": "Pin DataLoader memory (default: only with a GPU, where copies gain)."}
    )

    def __post_init__(self):
        TextTrainingArguments.__post_init__(self)  # the stage's one-line checks
        if self.dataloader_pin_memory is None:
            self.dataloader_pin_memory = torch.cuda.is_available()
        if self.cpu_bf16 and not (self.fp16 or self.bf16) and cpu_bf16_applies():
            self.bf16 = self.use_cpu = True  # the Trainer needs use_cpu to accept bf16 without a GPU
        try:
            TrainingArguments.__post_init__(self)
        except (TypeError, ValueError) as err:
            raise Ego2ExoError(f"training options: {first_line(err, limit=300)}") from None

    @property
    def cpu_bf16_autocast(self) -> bool:
        """Whether training runs under bf16 autocast on the CPU."""
        return bool(self.bf16 and self.use_cpu)
