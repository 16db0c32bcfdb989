"""Arguments of the video stage (`train_video.py`, `ego2exo train-video`): plain dataclass, checked on creation.

Each option says, next to its definition, how it enters the resume fingerprint (`video/checkpoints.py`): by
value (the default), by content (`fingerprint: "file"`, `"data"`), or not at all (`fingerprint: None`, for options
that change neither the model, the data nor the optimisation). A new option is in the fingerprint unless it says
otherwise. The methods' own options and defaults are checked by the method classes (`video/methods.py`).
"""

from dataclasses import MISSING, dataclass, field
from typing import Literal

from ..arguments import check_choice, check_positive
from ..constants import DOMAINS, FEATURE_DIM, HEADS, METHOD_NAMES, SELECTIONS, SOURCE_SAMPLINGS
from ..errors import Ego2ExoError


def bookkeeping(default=MISSING, *, help: str):
    """An option that changes neither the model, the data nor the optimisation: left out of the resume fingerprint
    (output, logging, checkpointing, the Hub)."""
    return field(default=default, metadata={"help": help, "fingerprint": None})


def input_path(default=MISSING, *, help: str, fingerprint: str = "file"):
    """A path whose content, not its name, enters the resume fingerprint ("file": its sha256; "data": the data
    folder's cache key)."""
    return field(default=default, metadata={"help": help, "fingerprint": fingerprint})


@dataclass
class VideoTrainingArguments:
    """Every option of the video stage; the defaults are the paper's recipe."""

    data_dir: str = input_path(
        help="Folder with ego2exo.json and features/ (real or synthetic copy).", fingerprint="data"
    )
    output_dir: str = bookkeeping(help="Where the model, metrics.json, card, logs and checkpoints go.")
    overwrite: bool = bookkeeping(
        default=False, help="Write into a non-empty folder this stage did not make (default: refuse)."
    )
    source: Literal["ego", "exo"] = field(default="exo", metadata={"help": "Labelled source domain."})
    target: Literal["ego", "exo"] = field(default="ego", metadata={"help": "Unlabelled target domain."})
    method: Literal[METHOD_NAMES] = field(
        default="lagtran", metadata={"help": "Training objective (docs/video_stage.md; target_supervised: oracle)."}
    )
    pseudo_labels: str | None = input_path(
        default=None, help="Target train pseudo-labels (lagtran; added to dann ... fixmatch)."
    )
    cdan_entropy: bool = field(default=False, metadata={"help": "With --method cdan: entropy conditioning (CDAN+E)."})
    mdd_margin: float = field(default=4.0, metadata={"help": "With --method mdd: the margin (tllib 4, LaGTran 2)."})
    source_sampling: Literal[SOURCE_SAMPLINGS] = field(
        default="balanced", metadata={"help": "Source rows: class-balanced (LaGTran's --cbs_source 1) or natural."}
    )
    num_iterations: int = bookkeeping(default=45001, help="Training iterations (paired batches).")
    batch_size: int = field(default=64, metadata={"help": "Rows per domain per iteration, over all processes."})
    learning_rate: float | None = field(
        default=None,
        metadata={"help": "Base learning rate of the inv schedule (default: the method's, 0.003; mdd 0.0004)."},
    )
    classifier_lr_multiplier: float = field(default=10.0, metadata={"help": "Learning-rate factor of the classifier."})
    momentum: float = field(default=0.9, metadata={"help": "SGD (Nesterov) momentum."})
    weight_decay: float = field(default=5e-4, metadata={"help": "SGD weight decay."})
    lr_gamma: float = field(default=0.001, metadata={"help": "inv schedule: lr = base * (1 + gamma * it) ** -power."})
    lr_power: float = field(default=0.75, metadata={"help": "inv schedule power."})
    val_every: int = field(default=500, metadata={"help": "Validate on source val and target val every N iterations."})
    eval_batch_size: int = bookkeeping(default=1024, help="Rows per validation batch.")
    checkpoint_every: int = bookkeeping(default=5000, help="Save a resumable checkpoint every N iterations.")
    save_total_limit: int = bookkeeping(default=2, help="Checkpoints kept (the oldest are deleted).")
    selection: Literal[SELECTIONS] = field(
        default="last",
        metadata={"help": "Saved model: last, best source val, label-free (entropy, snd, dev), or target_val_oracle."},
    )
    seed: int = field(default=42, metadata={"help": "Random seed (sampling and initialisation)."})
    resume_from_checkpoint: str | None = bookkeeping(
        default=None, help="A checkpoint folder, or 'latest' under output_dir/checkpoints."
    )
    logging_steps: int = bookkeeping(default=50, help="Log the training loss every N iterations.")
    report_to: str = bookkeeping(default="tensorboard", help="Trackers, comma-separated, or 'none'.")
    feature_dim: int = field(default=FEATURE_DIM, metadata={"help": "Input feature width (Omnivore: 1536)."})
    hidden_dim: int = field(default=256, metadata={"help": "Width of the hidden layer."})
    config: Literal["pooled", "frames"] = field(
        default="pooled", metadata={"help": "Input: pooled segment features, or the sequence of window features."}
    )
    head: Literal[HEADS] = field(default="mean", metadata={"help": "With --config frames: pooling over the windows."})
    max_windows: int | None = field(
        default=None, metadata={"help": "With --config frames: keep at most N evenly spaced windows per segment."}
    )
    context_window: int = field(
        default=0, metadata={"help": "Also see the mean of the K previous and next segments of the take, same view."}
    )
    cache_dir: str | None = bookkeeping(default=None, help="datasets cache for the Arrow tables.")
    push_to_hub: bool = bookkeeping(default=False, help="Upload the output folder to the Hub when done.")
    hub_model_id: str | None = bookkeeping(default=None, help="Hub repo id <user>/<name> for --push_to_hub.")

    def __post_init__(self):
        """The same checks whatever the source of the values: command line, YAML/JSON file or Python."""
        check_choice("source", self.source, DOMAINS)
        check_choice("target", self.target, DOMAINS)
        check_choice("method", self.method, METHOD_NAMES)
        check_choice("selection", self.selection, SELECTIONS)
        check_choice("config", self.config, ("pooled", "frames"))
        check_choice("head", self.head, HEADS)
        check_choice("source_sampling", self.source_sampling, SOURCE_SAMPLINGS)
        if self.source == self.target:
            raise Ego2ExoError(f"--source and --target are both {self.source!r}: choose two different domains")
        check_positive(
            self, "num_iterations", "batch_size", "val_every", "checkpoint_every", "logging_steps", "eval_batch_size",
            "save_total_limit", "feature_dim", "hidden_dim", "max_windows",
        )  # fmt: skip
        for name in ("learning_rate", "classifier_lr_multiplier", "mdd_margin"):
            check_positive(self, name, minimum=1e-12)
        for name in ("momentum", "weight_decay", "lr_gamma", "lr_power", "context_window"):
            check_positive(self, name, minimum=0)
        if self.config == "pooled" and (self.head != "mean" or self.max_windows is not None):
            raise Ego2ExoError("--head and --max_windows apply to --config frames (the window sequence)")
        if self.config == "frames" and self.context_window:
            raise Ego2ExoError("--context_window applies to --config pooled (segment features), not frames")
        if self.push_to_hub and not self.hub_model_id:
            raise Ego2ExoError("--push_to_hub needs --hub_model_id <user>/<name>")

    @property
    def direction(self) -> str:
        return f"{self.source}->{self.target}"
