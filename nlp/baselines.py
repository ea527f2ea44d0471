"""Classical baselines on exactly the RNN's splits: TF-IDF + logistic regression, and NBSVM.

``--baseline tfidf``: TF-IDF over word 1-2 grams, logistic regression, C picked on val.
``--baseline nbsvm``: Wang & Manning (2012) NBSVM-bi: binary 1-2 gram features scaled by
their naive-Bayes log-count ratio, a linear SVM interpolated with its mean weight (beta 0.25),
C picked on val; more than two classes are scored one-vs-rest. On short sentiment snippets it
is the classical model to beat (MR: 79.4 % in the paper).
"""

from __future__ import annotations

import numpy as np

from core.engine.classification import classification_metrics
from core.engine.domain import DataBundle
from nlp.vocab import tokenize

C_GRID = {"tfidf": (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0), "nbsvm": (0.01, 0.03, 0.1, 0.3, 1.0)}


def _texts_labels(loader) -> tuple[list[str], np.ndarray]:
    return list(loader.dataset.texts), np.asarray(loader.dataset.labels)


class NBSVM:
    """Binary or one-vs-rest NBSVM on a sparse count matrix (rows = texts)."""

    def __init__(self, *, c: float, alpha: float = 1.0, beta: float = 0.25, seed: int = 0):
        self.c, self.alpha, self.beta, self.seed = c, alpha, beta, seed

    def _one(self, x, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        from sklearn.svm import LinearSVC

        p = self.alpha + np.asarray(x[positive].sum(0)).ravel()
        q = self.alpha + np.asarray(x[~positive].sum(0)).ravel()
        ratio = np.log((p / p.sum()) / (q / q.sum()))  # (features,) naive-Bayes log-count ratio
        svm = LinearSVC(C=self.c, max_iter=10000, random_state=self.seed).fit(
            x.multiply(ratio).tocsr(), positive
        )
        w = svm.coef_.ravel()
        w = (1 - self.beta) * np.abs(w).mean() + self.beta * w  # the paper's interpolation
        return ratio, w, float(svm.intercept_[0])

    def fit(self, x, labels: np.ndarray, num_classes: int) -> "NBSVM":
        targets = [1] if num_classes == 2 else range(num_classes)
        self.parts = [self._one(x, labels == k) for k in targets]
        return self

    def predict(self, x) -> np.ndarray:
        scores = np.stack([x.multiply(r).tocsr() @ w + b for r, w, b in self.parts], axis=1)  # (N, K)
        return (scores[:, 0] > 0).astype(int) if len(self.parts) == 1 else scores.argmax(1)


def _fit(name: str, c: float, x, labels: np.ndarray, num_classes: int, seed: int):
    if name == "nbsvm":
        return NBSVM(c=c, seed=seed).fit(x, labels, num_classes)
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(x, labels)


def _vectorizer(name: str):
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    common = {"tokenizer": tokenize, "lowercase": False, "token_pattern": None, "ngram_range": (1, 2)}
    return (
        CountVectorizer(binary=True, **common)
        if name == "nbsvm"
        else TfidfVectorizer(sublinear_tf=True, **common)
    )


def run_baseline(cfg, data: DataBundle) -> dict:
    """Test metrics of ``cfg.baseline`` trained on train, C picked on val (same split, same normaliser)."""
    name = cfg.baseline
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = (
        _texts_labels(d) for d in (data.train, data.val, data.test)
    )
    classes = list(data.meta["classes"])
    vectorizer = _vectorizer(name)
    x_train = vectorizer.fit_transform(train_x)
    x_val, x_test = vectorizer.transform(val_x), vectorizer.transform(test_x)
    best = None
    for c in C_GRID[name]:
        model = _fit(name, c, x_train, train_y, len(classes), cfg.seed)
        score = float((model.predict(x_val) == val_y).mean())
        if best is None or score > best[0]:
            best = (score, c, model)
    metrics = classification_metrics(best[2].predict(x_test), test_y, len(classes))
    return {
        **metrics,
        "val_accuracy": best[0],
        "params": _parameter_count(best[2]),
        "settings": {"c": best[1], "features": int(x_train.shape[1])},
    }


def _parameter_count(model) -> int:
    if isinstance(model, NBSVM):
        return int(sum(w.size + 1 for _, w, _ in model.parts))
    return int(model.coef_.size + model.intercept_.size)
