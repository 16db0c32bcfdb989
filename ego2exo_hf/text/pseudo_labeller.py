"""The pseudo-labeller as one artefact: the fine-tuned transformer and its tokenizer, the n-gram model, and the pooling
and context weights, saved in (and loaded from) one folder or Hub repo.

```python
from ego2exo_hf import CaptionPseudoLabeller, load_ego2exo

labeller = CaptionPseudoLabeller.from_pretrained("runs/text_exo_ego")     # or a Hub repo id
split = load_ego2exo("DATA", "text")["ego_train"]
probabilities = labeller.predict_split(split)                              # (segments x 24), rows in split order
labeller.write(probabilities, split["segment_id"], "ego2exo_exo_ego.txt")  # official .txt + .parquet table
```
The same from the shell: `ego2exo pseudo-label --model ... --data_dir ... --split ego_train --output_file FILE`.
"""

import json
import logging
from pathlib import Path

import numpy as np

from ..constants import ID2LABEL, NGRAM_DIR, NUM_CLASSES, PSEUDO_LABELLER_FILE
from ..errors import Ego2ExoError, first_line
from ..hub import looks_local
from ..utils import atomic_path, atomic_write_text
from .data import CAPTION_COLUMN, caption_context
from .ngram import NgramCaptionClassifier, fit_ngram
from .pooling import DEFAULT_NGRAM_WEIGHT, choose_ngram_weight, combine_probabilities

logger = logging.getLogger(__name__)


class CaptionPseudoLabeller:
    """Caption -> keystep probabilities: `transformer ** (1 - w) * ngram ** w`, renormalised (w = `ngram_weight`).

    The transformer runs in float32 on the model's device, captions sorted by length in batches of `batch_size`,
    so that the text stage and a later `from_pretrained` give the same probabilities."""

    def __init__(
        self,
        model,
        tokenizer,
        ngram: NgramCaptionClassifier | None = None,
        ngram_weight: float = 0.0,
        max_length: int = 128,
        batch_size: int = 64,
        info: dict | None = None,
    ):
        self.model, self.tokenizer, self.ngram = model, tokenizer, ngram
        self.ngram_weight = ngram_weight if ngram is not None else 0.0
        self.max_length, self.batch_size = max_length, batch_size
        self.info = dict(info or {})  # e.g. source and target domain, recorded in pseudo_labeller.json

    # ------------------------------------------------------------------------------------------ saving, loading
    def settings(self) -> dict:
        context = (
            {}
            if self.ngram is None
            else {
                "ngram_context_weight": self.ngram.context_weight,
                "ngram_position_weight": self.ngram.position_weight,
            }
        )
        return {
            "ngram_weight": self.ngram_weight,
            **context,
            "max_length": self.max_length,
            "batch_size": self.batch_size,
            **self.info,
        }

    def save_pretrained(self, folder, save_transformer: bool = True) -> Path:
        """Write the n-gram model and `pseudo_labeller.json` (and the transformer and tokenizer, unless the
        Trainer already saved them) into `folder`."""
        folder = Path(folder)
        if save_transformer:
            self.model.save_pretrained(folder)
            self.tokenizer.save_pretrained(folder)
        if self.ngram is not None:
            self.ngram.save(folder / NGRAM_DIR)
        atomic_write_text(folder / PSEUDO_LABELLER_FILE, json.dumps(self.settings(), indent=2) + "\n")
        return folder

    @classmethod
    def from_pretrained(cls, name_or_path, cache_dir=None, revision=None) -> "CaptionPseudoLabeller":
        """Load a text-stage output folder, or a Hub repo pushed from one (through the Hub cache, so it works with
        `HF_HUB_OFFLINE=1` once downloaded)."""
        import torch
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

        from ..models.weights import check_pretrained

        folder = resolve_folder(str(name_or_path), cache_dir, revision)
        settings = json.loads((folder / PSEUDO_LABELLER_FILE).read_text(encoding="utf-8"))
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder)
            config = AutoConfig.from_pretrained(folder)
            check_pretrained(folder, lambda: AutoModelForSequenceClassification.from_config(config))
            model = AutoModelForSequenceClassification.from_pretrained(folder, config=config)
        except (OSError, ValueError) as err:
            raise Ego2ExoError(f"{folder}: the transformer of the pseudo-labeller cannot be loaded ({first_line(err)})")
        if model.config.num_labels != NUM_CLASSES:
            raise Ego2ExoError(f"{folder}: the model has {model.config.num_labels} classes, Ego2Exo has {NUM_CLASSES}")
        model.to("cuda" if torch.cuda.is_available() else "cpu")
        ngram = NgramCaptionClassifier.load(folder / NGRAM_DIR) if (folder / NGRAM_DIR).is_dir() else None
        known = ("ngram_weight", "max_length", "batch_size", "ngram_context_weight", "ngram_position_weight")
        info = {k: v for k, v in settings.items() if k not in known}
        return cls(
            model,
            tokenizer,
            ngram,
            settings.get("ngram_weight", 0.0),
            settings.get("max_length", 128),
            settings.get("batch_size", 64),
            info,
        )

    # ------------------------------------------------------------------------------------------------ predicting
    def transformer_probabilities(self, captions, desc: str = "pseudo-labelling: transformer") -> np.ndarray:
        """Softmax of the transformer's logits for every caption, in the order given."""
        import torch
        from scipy.special import softmax
        from tqdm.auto import tqdm

        captions = list(captions)
        encoded = self.tokenizer(captions, truncation=True, max_length=self.max_length)["input_ids"]
        order = np.argsort([len(ids) for ids in encoded], kind="stable")
        logits = np.zeros((len(captions), self.model.config.num_labels), dtype=np.float32)
        was_training = self.model.training
        self.model.eval()
        with torch.inference_mode():
            for start in tqdm(range(0, len(order), self.batch_size), desc=desc, unit="batch"):
                rows = order[start : start + self.batch_size]
                batch = self.tokenizer.pad({"input_ids": [encoded[r] for r in rows]}, return_tensors="pt")
                batch = {k: v.to(self.model.device) for k, v in batch.items()}
                logits[rows] = self.model(**batch).logits.float().cpu().numpy()
        self.model.train(was_training)
        return softmax(logits.astype(np.float64), axis=1)

    def predict_proba(self, captions, context=None, transformer: np.ndarray | None = None) -> np.ndarray:
        """Pooled probabilities; `context` is the captions' `CaptionContext` when the n-gram model reads it;
        `transformer` reuses already computed transformer probabilities."""
        transformer = self.transformer_probabilities(captions) if transformer is None else transformer
        if self.ngram is None or self.ngram_weight == 0:
            return transformer
        ngram = self.ngram.predict_proba(list(captions), context if self.ngram.uses_context else None)
        return combine_probabilities(transformer, ngram, self.ngram_weight)

    def predict_split(self, dataset, data_dir=None, split: str | None = None) -> np.ndarray:
        """Probabilities for every row of a `text`-config split, each caption with its own view's take context."""
        context = None
        if self.ngram is not None and self.ngram.uses_context:
            context = caption_context(dataset, data_dir, split)
        return self.predict_proba(dataset[CAPTION_COLUMN][:], context)

    @staticmethod
    def write(probabilities: np.ndarray, segment_ids, path, confidence_threshold: float = 0.0) -> dict:
        """The official-format file at `path` (`<segment_id> <category_id>`, rows at or above the threshold) and the
        Parquet table beside it (`.parquet`: pseudo-label, confidence, kept, probabilities). Returns counts."""
        from ..data.pseudo_labels import write_pseudo_labels

        path, segment_ids = Path(path), np.asarray(segment_ids)
        confidence = probabilities.max(axis=1)
        kept = confidence >= confidence_threshold
        write_pseudo_labels(path, segment_ids[kept], probabilities.argmax(axis=1)[kept])
        write_pseudo_label_table(path.with_suffix(".parquet"), segment_ids, probabilities, kept)
        return {
            "count": len(segment_ids),
            "kept": int(kept.sum()),
            "mean_confidence": float(confidence.mean()),
            "confidence_threshold": confidence_threshold,
        }


def fit_pooling(
    labeller: CaptionPseudoLabeller, captions, labels, heldout_rows, context=None, ngram_options=None, metric=None
) -> tuple[CaptionPseudoLabeller, dict]:
    """LaGTran's pseudo-labeller from a fine-tuned transformer (`labeller`, without n-grams) and the source captions,
    chosen on source labels only.

    An n-gram model fitted on the captions outside `heldout_rows` is scored beside the transformer on the held-out
    ones; the pooling weight in `NGRAM_WEIGHTS` with the best held-out score is kept (`DEFAULT_NGRAM_WEIGHT` when
    nothing is held out), and the n-gram model is refitted on every caption. `context` is the captions'
    `CaptionContext` (when the n-gram model reads it); `ngram_options` go to `fit_ngram` (`power`, `seed`,
    `context_weight`, `position_weight`), `None` keeps the transformer alone. Returns the finished labeller and
    the metrics: held-out scores of the transformer, the n-gram model and the pool (none without a held-out
    slice), and the `combination` settings.
    """
    from ..metrics import load_accuracy_metric

    metric = metric or load_accuracy_metric()
    captions, labels = np.asarray(captions, dtype=object), np.asarray(labels)
    heldout_rows = np.asarray(heldout_rows, dtype=int)
    train_rows = np.setdiff1d(np.arange(len(labels)), heldout_rows)

    def fit_ngram_on(rows):
        rows_context = context.select(rows) if context is not None else None
        return fit_ngram(captions[rows].tolist(), labels[rows], context=rows_context, **ngram_options)

    metrics, ngram_weight = {}, DEFAULT_NGRAM_WEIGHT if ngram_options is not None else 0.0
    if len(heldout_rows):
        heldout_captions, heldout_labels = captions[heldout_rows].tolist(), labels[heldout_rows]
        transformer = labeller.transformer_probabilities(heldout_captions, desc="held-out slice: transformer")
        metrics["source_heldout_transformer"] = metric.compute(predictions=transformer, references=heldout_labels)
        pooled = transformer
        if ngram_options is not None:
            heldout_context = context.select(heldout_rows) if context is not None else None
            ngram = fit_ngram_on(train_rows).predict_proba(heldout_captions, heldout_context)
            metrics["source_heldout_ngram"] = metric.compute(predictions=ngram, references=heldout_labels)
            ngram_weight = choose_ngram_weight(transformer, ngram, heldout_labels, metric)["ngram_weight"]
            pooled = combine_probabilities(transformer, ngram, ngram_weight)
        metrics["source_heldout"] = metric.compute(predictions=pooled, references=heldout_labels)
    ngram = fit_ngram_on(np.arange(len(labels))) if ngram_options is not None else None  # from every caption
    labeller = CaptionPseudoLabeller(
        labeller.model, labeller.tokenizer, ngram, ngram_weight, labeller.max_length, labeller.batch_size, labeller.info
    )
    metrics["combination"] = {k: v for k, v in labeller.settings().items() if k.startswith("ngram_")}
    logger.info("pseudo-labeller: transformer + n-gram model with weight %s", labeller.ngram_weight)
    return labeller, metrics


def resolve_folder(name_or_path: str, cache_dir=None, revision=None) -> Path:
    """A local text-stage folder, or the snapshot of a Hub repo (downloaded, or from the cache when offline)."""
    local = Path(name_or_path).expanduser()
    if not local.exists():
        if looks_local(name_or_path):
            raise Ego2ExoError(f"model folder {name_or_path} not found (train_text.py writes one)")
        from huggingface_hub import snapshot_download

        try:
            local = Path(snapshot_download(name_or_path, cache_dir=cache_dir, revision=revision))
        except Exception as err:  # offline and not cached, unknown repo, no network: one line
            raise Ego2ExoError(
                f"cannot get {name_or_path!r}: not a local folder, and not on the Hub or its cache ({first_line(err)})"
            ) from None
    if not (local / PSEUDO_LABELLER_FILE).is_file():
        raise Ego2ExoError(
            f"{local}: not a text-stage output ({PSEUDO_LABELLER_FILE} missing; train_text.py writes it)"
        )
    return local


def write_pseudo_label_table(path, segment_ids, probabilities, kept) -> Path:
    """Parquet: `segment_id, pseudo_label, confidence, kept, probabilities` (24 floats) per target segment."""
    import datasets

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
