"""A bag-of-n-grams caption classifier (TF-IDF + logistic regression) that complements the fine-tuned transformer.

Captions are concatenated atomic action descriptions ("picks the knife ... cuts the onion ..."): word and
word-pair counts carry much of the keystep, and a linear model on them errs on different captions than a
truncated transformer does, so mixing the two probability vectors helps (BENCHMARKS.md, text stage).
It is saved without pickle: vocabulary and idf weights as JSON, the linear layer as safetensors.
"""

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file
from scipy.special import softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from ..utils import atomic_directory

VOCABULARY_FILE = "vocabulary.json"
WEIGHTS_FILE = "model.safetensors"


class NgramCaptionClassifier:
    """TF-IDF of word 1- to 3-grams (sublinear term frequency, terms seen at least twice), then a multinomial
    logistic regression; `predict_proba` returns one column per class id `0 .. num_classes-1`. The n-gram range
    and `inverse_regularization` were chosen on the held-out source slices of the real captions (BENCHMARKS.md)."""

    def __init__(self, num_classes: int, inverse_regularization: float = 30.0, seed: int = 0):
        self.num_classes = num_classes
        self.vectorizer = TfidfVectorizer(ngram_range=(1, 3), sublinear_tf=True, min_df=2, dtype=np.float32)
        self.regression = LogisticRegression(C=inverse_regularization, max_iter=3000, random_state=seed)
        self.weight = self.bias = None

    def fit(self, texts, labels, sample_weight=None) -> "NgramCaptionClassifier":
        features = self.vectorizer.fit_transform(texts)
        self.regression.fit(features, np.asarray(labels), sample_weight=sample_weight)
        self.weight = np.zeros((self.num_classes, features.shape[1]), np.float32)
        self.bias = np.full(self.num_classes, -1e4, np.float32)  # classes absent from training: never predicted
        self.weight[self.regression.classes_] = self.regression.coef_
        self.bias[self.regression.classes_] = self.regression.intercept_
        return self

    def predict_proba(self, texts) -> np.ndarray:
        logits = self.vectorizer.transform(texts) @ self.weight.T + self.bias
        return softmax(np.asarray(logits, dtype=np.float64), axis=1)

    def save(self, directory) -> Path:
        """Write `vocabulary.json` and `model.safetensors` into `directory` (all or nothing)."""
        vocabulary = {term: int(index) for term, index in self.vectorizer.vocabulary_.items()}
        with atomic_directory(directory) as tmp:
            (tmp / VOCABULARY_FILE).write_text(
                json.dumps({"vocabulary": vocabulary, "num_classes": self.num_classes}), encoding="utf-8"
            )
            tensors = {"weight": self.weight, "bias": self.bias, "idf": self.vectorizer.idf_.astype(np.float32)}
            save_file(tensors, str(tmp / WEIGHTS_FILE))
        return Path(directory)

    @classmethod
    def load(cls, directory) -> "NgramCaptionClassifier":
        directory = Path(directory)
        meta = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
        tensors = load_file(str(directory / WEIGHTS_FILE))
        model = cls(meta["num_classes"])
        model.vectorizer.vocabulary_ = meta["vocabulary"]
        model.vectorizer.idf_ = tensors["idf"]
        model.weight, model.bias = tensors["weight"], tensors["bias"]
        return model
