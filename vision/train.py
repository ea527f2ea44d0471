"""Row-sequential image classification: ``python -m vision.train --data mnist --cell lstm``.

Each image row is one time step (``--mode rows``); ``columns``, ``pixels`` (sequential
MNIST, T=784) and ``permuted-pixels`` read the same image in other orders.
``--baseline logreg`` fits scikit-learn logistic regression on the flattened pixels of
the very same splits and writes the same run directory.

Example:
    python -m vision.train --data digits --epochs 30 --out runs/digits
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.engine.classification import build_task, classification_metrics
from core.engine.config import RunConfig
from core.engine.domain import DataBundle, Domain
from core.engine.run import train_main
from core.errors import ConfigError
from vision.data import build_data
from vision.model import build_model
from vision.predictor import load_predictor


@dataclass
class VisionConfig(RunConfig):
    """Flags of ``python -m vision.train`` (the shared ones plus the image pipeline)."""

    data: str = "digits"
    """digits (embedded 8x8) | mnist | fashion-mnist | kmnist | cifar10 | a folder of class subfolders."""
    mode: Literal["rows", "columns", "pixels", "permuted-pixels"] = "rows"
    """How an image becomes a sequence: one step per row, per column, or per pixel."""
    pooling: Literal["last", "mean", "max", "attention"] = "last"
    """How the backbone's outputs over time become one vector for the classifier."""
    size: int = 28
    """Image folders: every image is resized to size x size."""
    channels: int = 0
    """Image folders: 1 (grey), 3 (RGB) or 0 (grey when every image is grey)."""
    val_fraction: float = 0.1
    """Share of the training set held out (seeded, stratified) for validation."""
    test_fraction: float = 0.2
    """Share held out for test when the source has no official test split (digits, folders)."""
    perm_seed: int = 0
    """Seed of the pixel permutation of --mode permuted-pixels."""
    augment: bool = False
    """Light augmentation: random shifts of up to 2 pixels (28x28) on training images."""
    label_smoothing: float = 0.0
    """Cross-entropy label smoothing."""
    baseline_c: float = 1.0
    """Inverse regularisation strength C of the logistic-regression baseline."""

    def validate(self) -> None:
        super().validate()
        if self.channels not in (0, 1, 3):
            raise ConfigError(f"--channels must be 0 (automatic), 1 or 3, got {self.channels}")
        if not 1 <= self.size <= 1024:  # images are decoded to size x size in memory, all at once
            raise ConfigError(f"--size must be between 1 and 1024, got {self.size}")
        self.require_fraction("val_fraction", "test_fraction")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"--label-smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.baseline not in (None, "logreg"):
            raise ConfigError(f"--baseline: {self.baseline!r} is not a vision baseline (use logreg)")


def run_baseline(cfg: VisionConfig, data: DataBundle) -> dict:
    """Logistic regression on flattened normalised pixels of the same train/test splits."""
    from sklearn.linear_model import LogisticRegression

    features, labels = data.train.dataset.features()  # (N, T*F), (N,)
    if len(np.unique(labels)) < 2:
        raise ConfigError("baseline: the training split holds fewer than two classes")
    clf = LogisticRegression(C=cfg.baseline_c, max_iter=300, tol=1e-3, random_state=cfg.seed)
    clf.fit(features, labels)
    test_features, test_labels = data.test.dataset.features()
    # predict returns class indices seen in training: a class absent from training is never predicted
    metrics = classification_metrics(clf.predict(test_features), test_labels, len(data.meta["classes"]))
    return {**metrics, "params": int(clf.coef_.size + clf.intercept_.size)}


DOMAIN = Domain(
    load_predictor=load_predictor,
    name="vision",
    config_cls=VisionConfig,
    build_data=build_data,
    build_model=build_model,
    build_task=build_task,
    run_baseline=run_baseline,
    cross_validation=True,
    baseline_name="logreg",
    description="image classification, one image row (column, pixel) per time step",
    # compare adds --cell/--hidden/--seed and its own --epochs/--max-minutes budget to these
)

if __name__ == "__main__":
    raise SystemExit(train_main(DOMAIN))
