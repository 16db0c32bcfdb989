"""LaGTran's video-stage classifier as a Transformers model: pooled segment feature -> 24 keystep logits."""


import torch
from huggingface_hub.dataclasses import strict
from torch import nn
from transformers import PreTrainedConfig, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import SequenceClassifierOutput

from ..constants import FEATURE_DIM, ID2LABEL
from .temporal import POOLING, build_pooling
from .weights import WEIGHTS_FILE, check_weights


class GlobalBatchNorm1d(nn.BatchNorm1d):
    """`BatchNorm1d` whose training statistics cover the global batch of all processes, so that the result does
    not depend on the process count. With one process it is `BatchNorm1d`. (torch's `SyncBatchNorm` does the same
    but refuses CPU tensors, i.e. the gloo backend.)"""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        from torch.distributed._functional_collectives import all_reduce

        # Sums over the global batch; the functional all_reduce is autograd-aware and sends gradients back through
        # them, as SyncBatchNorm's backward does.
        count = torch.full((1,), x.shape[0], dtype=x.dtype, device=x.device)
        totals = all_reduce(torch.cat([x.sum(0), (x * x).sum(0), count]), "sum", dist.group.WORLD)
        width = x.shape[1]
        n = totals[-1]
        mean = totals[:width] / n
        var = (totals[width : 2 * width] / n - mean * mean).clamp_min(0)
        with torch.no_grad():
            self.num_batches_tracked += 1
            self.running_mean.lerp_(mean.detach(), self.momentum)
            self.running_var.lerp_(var.detach() * n / (n - 1), self.momentum)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias


@strict
class FeatureClassifierConfig(PreTrainedConfig):
    r"""Configuration of [`FeatureClassifier`].

    Args:
        feature_dim: width of the input feature vector (1536 for Omnivore Swin-L).
        hidden_dim: width of the hidden layer (256 in the paper).
        head: None: the input is one pooled feature per segment. `mean`, `attention` or `transformer`: the input
            is the segment's window sequence (batch x windows x feature_dim, with a padding mask), pooled by that
            temporal head (`ego2exo_hf.models.temporal`) before the hidden layer.
        max_windows: with a head, the windows kept per segment (evenly spaced) when the data are loaded.
        context_window: K > 0: the input is each segment's features, then the mean of its K previous and K next
            segments' features in the same take and view (`ego2exo_hf.video.context`), 2 x feature_dim wide.
        hidden_init_std / hidden_init_bias: init of the hidden layer, N(0, 0.005) and 0.1 in the paper.
        classifier_init_std: init std of the output layer, N(0, 0.01) with bias 0 in the paper.
        id2label: class names; defaults to the 24 Ego2Exo keysteps.

    Example:
    ```python
    >>> from ego2exo_hf.models import FeatureClassifier, FeatureClassifierConfig
    >>> model = FeatureClassifier(FeatureClassifierConfig())
    >>> model.config.num_labels
    24
    ```"""

    model_type = "ego2exo_feature_classifier"

    feature_dim: int = FEATURE_DIM
    hidden_dim: int = 256
    head: str | None = None
    max_windows: int | None = None
    context_window: int = 0
    hidden_init_std: float = 0.005
    hidden_init_bias: float = 0.1
    classifier_init_std: float = 0.01

    def __post_init__(self, **kwargs):
        if self.head is not None and self.head not in POOLING:
            raise ValueError(f"unknown head {self.head!r}: choose one of {', '.join(POOLING)} (or None: pooled input)")
        if self.id2label is None and kwargs.get("num_labels") is None:
            self.id2label = dict(ID2LABEL)
            self.label2id = {name: i for i, name in self.id2label.items()}
        super().__post_init__(**kwargs)


class FeatureClassifier(PreTrainedModel):
    """Linear(feature_dim, 256) -> BatchNorm1d -> ReLU -> Linear(256, num_labels), with the paper's init.
    The batch norm's statistics span all processes when several train (`GlobalBatchNorm1d`).

    `forward(features, labels=None, mask=None)` takes pooled segment features (batch x feature_dim), or with
    `config.head` window sequences (batch x windows x feature_dim) and their mask (batch x windows, True on real
    windows), and returns a `SequenceClassifierOutput` with `logits` (and the cross-entropy `loss` with `labels`).
    """

    config_class = FeatureClassifierConfig
    base_model_prefix = "ego2exo_feature_classifier"
    main_input_name = "features"

    def __init__(self, config: FeatureClassifierConfig):
        super().__init__(config)
        self.pooling = build_pooling(config.head, config.feature_dim) if config.head else None
        self.hidden = nn.Linear(config.feature_dim * (2 if config.context_window else 1), config.hidden_dim)
        self.norm = GlobalBatchNorm1d(config.hidden_dim)
        self.activation = nn.ReLU()
        self.classifier = nn.Linear(config.hidden_dim, config.num_labels)
        self.post_init()

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, config=None, **kwargs):
        """`PreTrainedModel.from_pretrained` (a folder or a Hub repo id), after checking the weights against the
        configuration: a file that is truncated, swapped or does not fit `config.json` ends in one `Ego2ExoError`
        line naming the file and the first tensor that differs (`ego2exo_hf.models.weights`)."""
        from transformers.utils import cached_file

        hub = {key: kwargs[key] for key in ("cache_dir", "revision", "local_files_only", "token") if key in kwargs}
        quiet = {"_raise_exceptions_for_missing_entries": False, "_raise_exceptions_for_connection_errors": False}
        file = cached_file(pretrained_model_name_or_path, WEIGHTS_FILE, **hub, **quiet)
        if file is not None:
            if not isinstance(config, PreTrainedConfig):
                config = cls.config_class.from_pretrained(config or pretrained_model_name_or_path, **hub)
            with torch.device("meta"):  # shapes only: no memory, no init
                check_weights(file, cls(config))
        return super().from_pretrained(pretrained_model_name_or_path, *model_args, config=config, **kwargs)

    @torch.no_grad()
    def _init_weights(self, module):
        # `transformers.initialization` skips tensors already loaded by `from_pretrained`.
        if module is self.hidden:
            init.normal_(module.weight, std=self.config.hidden_init_std)
            init.constant_(module.bias, self.config.hidden_init_bias)
        elif module is self.classifier:
            init.normal_(module.weight, std=self.config.classifier_init_std)
            init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm1d):
            init.ones_(module.weight)
            init.zeros_(module.bias)
            if module.running_mean is not None:
                init.zeros_(module.running_mean)
                init.ones_(module.running_var)
                init.zeros_(module.num_batches_tracked)

    def forward(
        self,
        features: torch.Tensor,
        labels: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        output_hidden_states: bool = False,
        **kwargs,
    ) -> SequenceClassifierOutput:
        if (features.ndim == 3) != (self.pooling is not None):
            expected = "(batch, windows, features)" if self.pooling is not None else "(batch, features)"
            raise ValueError(f"features are {tuple(features.shape)}, this model takes {expected}")
        if self.pooling is not None:
            features = self.pooling(features, mask)
        if features.shape[-1] != self.hidden.in_features:
            raise ValueError(f"features are {features.shape[-1]}-d, expected {self.hidden.in_features}")
        hidden = self.activation(self.norm(self.hidden(features)))
        logits = self.classifier(hidden)
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        hidden_states = (hidden,) if output_hidden_states else None  # the hidden layer, for adaptation methods
        return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=hidden_states)
