"""A bag-of-n-grams caption classifier (TF-IDF + logistic regression) that complements the fine-tuned transformer.

Captions are concatenated atomic action descriptions ("picks the knife ... cuts the onion ..."): word and
word-pair counts carry much of the keystep, and a linear model on them errs on different captions than a
truncated transformer does, so mixing the two probability vectors helps (BENCHMARKS.md, text stage).

Keysteps follow one another in a procedure, so the classifier can also read a segment's *temporal context* in
its own view: the captions of the previous and next segment of the same take, and where the segment sits in
the take. That context needs no label, so target captions have it too (`CaptionContext`).
It is saved without pickle: vocabulary, idf weights and settings as JSON, the linear layer as safetensors.
"""

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from safetensors.numpy import load_file, save_file
from scipy.special import softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from ..constants import NUM_CLASSES
from ..data.samplers import class_balanced_weights
from ..errors import Ego2ExoError
from ..utils import atomic_directory

VOCABULARY_FILE = "vocabulary.json"
WEIGHTS_FILE = "model.safetensors"
POSITION_BINS = 5


@dataclass
class CaptionContext:
    """The temporal context of each caption within its own view: the captions of the previous and the next
    segment of the same take ("" at either end) and the segment's relative position among them (0 first, 1 last)."""

    previous: list[str]
    following: list[str]
    position: np.ndarray

    @classmethod
    def within_takes(
        cls, take_uids, segment_indices, captions, segment_ids=None, where: str = "captions"
    ) -> "CaptionContext":
        """Order each take's segments by `segment_index` and read off neighbours and positions. Raises when two
        segments share a take and an index (the message names `where` and their `segment_ids`)."""
        takes = defaultdict(list)
        for row, (take, index) in enumerate(zip(take_uids, segment_indices, strict=True)):
            takes[take].append((int(index), row))
        previous, following, position = [""] * len(captions), [""] * len(captions), np.zeros(len(captions))
        for take, segments in takes.items():
            segments.sort()
            for (index, row), (next_index, next_row) in zip(segments, segments[1:]):
                if index == next_index:
                    ids = (row, next_row) if segment_ids is None else (segment_ids[row], segment_ids[next_row])
                    raise Ego2ExoError(
                        f"{where}, segment_id={ids[0]} and {ids[1]}: both are segment_index {index} of take {take}, "
                        "so their order is unknown; fix the metadata or pass --ngram_context_weight 0 "
                        "--ngram_position_weight 0"
                    )
            for rank, (_, row) in enumerate(segments):
                previous[row] = captions[segments[rank - 1][1]] if rank else ""
                following[row] = captions[segments[rank + 1][1]] if rank + 1 < len(segments) else ""
                position[row] = rank / max(1, len(segments) - 1)
        return cls(previous, following, position)

    def select(self, rows) -> "CaptionContext":
        """The context of the given rows (neighbours stay those of the whole split)."""
        rows = np.asarray(rows, dtype=int)
        return CaptionContext([self.previous[r] for r in rows], [self.following[r] for r in rows], self.position[rows])


class NgramCaptionClassifier:
    """TF-IDF of word 1- to 3-grams (sublinear term frequency, terms seen at least twice), then a multinomial
    logistic regression; `predict_proba` returns one column per class id `0 .. num_classes-1`.

    With `context_weight > 0` the n-grams of the previous and next caption (`CaptionContext`) are appended,
    scaled by that weight; with `position_weight > 0`, the position in the take as one of 5 bins. The n-gram
    range, `inverse_regularization` and both weights were chosen on the real source captions (BENCHMARKS.md)."""

    def __init__(
        self,
        num_classes: int,
        inverse_regularization: float = 30.0,
        seed: int = 0,
        context_weight: float = 0.0,
        position_weight: float = 0.0,
    ):
        self.num_classes = num_classes
        self.context_weight, self.position_weight = float(context_weight), float(position_weight)
        self.vectorizer = TfidfVectorizer(ngram_range=(1, 3), sublinear_tf=True, min_df=2, dtype=np.float32)
        self.regression = LogisticRegression(C=inverse_regularization, max_iter=3000, random_state=seed)
        self.weight = self.bias = None

    @property
    def uses_context(self) -> bool:
        return bool(self.context_weight or self.position_weight)

    def features(self, texts, context: CaptionContext | None = None, fit: bool = False) -> sp.csr_matrix:
        """The design matrix: caption n-grams, then (if used) context n-grams and position bins."""
        own = self.vectorizer.fit_transform(texts) if fit else self.vectorizer.transform(texts)
        if not self.uses_context:
            return own
        if context is None:
            raise ValueError("this n-gram classifier reads temporal context: pass a CaptionContext")
        blocks = [own]
        if self.context_weight:
            blocks += [
                self.context_weight * self.vectorizer.transform(c) for c in (context.previous, context.following)
            ]
        if self.position_weight:
            bins = np.minimum((np.asarray(context.position) * POSITION_BINS).astype(int), POSITION_BINS - 1)
            blocks.append(sp.csr_matrix(self.position_weight * np.eye(POSITION_BINS, dtype=np.float32)[bins]))
        return sp.hstack(blocks, format="csr")

    def fit(self, texts, labels, sample_weight=None, context: CaptionContext | None = None) -> "NgramCaptionClassifier":
        features = self.features(texts, context, fit=True)
        self.regression.fit(features, np.asarray(labels), sample_weight=sample_weight)
        self.weight = np.zeros((self.num_classes, features.shape[1]), np.float32)
        self.bias = np.full(self.num_classes, -1e4, np.float32)  # classes absent from training: never predicted
        self.weight[self.regression.classes_] = self.regression.coef_
        self.bias[self.regression.classes_] = self.regression.intercept_
        return self

    def predict_proba(self, texts, context: CaptionContext | None = None) -> np.ndarray:
        logits = self.features(texts, context) @ self.weight.T + self.bias
        return softmax(np.asarray(logits, dtype=np.float64), axis=1)

    def save(self, directory) -> Path:
        """Write `vocabulary.json` and `model.safetensors` into `directory` (all or nothing)."""
        vocabulary = {term: int(index) for term, index in self.vectorizer.vocabulary_.items()}
        settings = {
            "num_classes": self.num_classes,
            "context_weight": self.context_weight,
            "position_weight": self.position_weight,
        }
        with atomic_directory(directory) as tmp:
            (tmp / VOCABULARY_FILE).write_text(json.dumps({"vocabulary": vocabulary, **settings}), encoding="utf-8")
            tensors = {"weight": self.weight, "bias": self.bias, "idf": self.vectorizer.idf_.astype(np.float32)}
            save_file(tensors, str(tmp / WEIGHTS_FILE))
        return Path(directory)

    @classmethod
    def load(cls, directory) -> "NgramCaptionClassifier":
        directory = Path(directory)
        meta = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
        tensors = load_file(str(directory / WEIGHTS_FILE))
        model = cls(
            meta["num_classes"],
            context_weight=meta.get("context_weight", 0.0),
            position_weight=meta.get("position_weight", 0.0),
        )
        model.vectorizer.vocabulary_ = meta["vocabulary"]
        model.vectorizer.idf_ = tensors["idf"]
        model.weight, model.bias = tensors["weight"], tensors["bias"]
        return model


def fit_ngram(texts, labels, power: float, seed: int, context=None, context_weight=0.0, position_weight=0.0):
    """An `NgramCaptionClassifier` fitted with example weights `count(class) ** -power` (the transformer's class
    balance), reading the captions' temporal `context` when a context or position weight is given."""
    weights = class_balanced_weights(labels).numpy() ** power
    model = NgramCaptionClassifier(
        NUM_CLASSES, seed=seed, context_weight=context_weight, position_weight=position_weight
    )
    return model.fit(texts, labels, sample_weight=weights / weights.mean(), context=context)
