"""Seeded, stratified splits shared by every domain: held-out shares, CV folds, --limit-train subsets.

Every function takes the examples' labels (any hashable values; ``None`` where the domain has
no class labels, e.g. transcripts) and returns sorted index arrays, so a split keeps the
source's order and depends only on (labels, sizes, seed). Stratification needs at least two
examples of every class (and of each fold's share); where the data cannot give that the split
is an ordinary seeded random one.

Example:
    >>> rest, carved = holdout(["a", "b"] * 5, 0.2, seed=0)
    >>> len(rest), len(carved), sorted(["a", "b"] * 5)[0]
    (8, 2, 'a')
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from core.errors import ConfigError, DataError


def _stratify(labels: Optional[Sequence], share: int) -> Optional[np.ndarray]:
    """``labels`` as an array when each class can appear in a share of ``share`` items, else None."""
    if labels is None:
        return None
    values = np.asarray(labels)
    _, counts = np.unique(values, return_counts=True)
    return values if counts.min() >= 2 and len(counts) <= share <= len(values) - len(counts) else None


def holdout(labels: Sequence, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(rest, carved): ``fraction`` of the items in ``carved``, stratified by label, seeded."""
    from sklearn.model_selection import train_test_split  # lazy: keeps `import core.engine` light

    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"val_fraction/test_fraction: {fraction} must be between 0 and 1")
    count = len(labels)
    carved_size = int(np.ceil(fraction * count))  # sklearn's own rounding of test_size
    if carved_size < 1 or carved_size >= count:
        raise DataError(f"split: {count} examples are too few to hold out a share of {fraction}")
    rest, carved = train_test_split(
        np.arange(count), test_size=fraction, random_state=seed, stratify=_stratify(labels, carved_size)
    )
    return np.sort(rest), np.sort(carved)


def kfold(labels: Sequence, folds: int, fold: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(rest, test) of fold ``fold`` of ``folds``: stratified, shuffled with ``seed``; folds partition the data."""
    from sklearn.model_selection import KFold, StratifiedKFold

    count = len(labels)
    if not 0 <= fold < folds or folds > count:
        raise ConfigError(f"--fold: {fold} is not a fold of {folds} over {count} examples")
    values = np.asarray(labels) if labels is not None else None
    counts = np.unique(values, return_counts=True)[1] if values is not None else None
    if counts is not None and counts.min() >= folds:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    rest, test = list(splitter.split(np.zeros(count), values))[fold]
    return np.sort(rest), np.sort(test)


def held_out_test(labels: Sequence, cfg) -> tuple[np.ndarray, np.ndarray]:
    """(rest, test) for data without an official test split: fold ``cfg.fold`` of ``cfg.cv``,
    or a ``cfg.test_fraction`` holdout; both seeded by ``cfg.split_seed``."""
    if cfg.cv:
        if cfg.fold < 0:
            raise ConfigError("--cv: pick a fold with --fold K, or leave --fold out to run every fold")
        return kfold(labels, cfg.cv, cfg.fold, cfg.split_seed)
    return holdout(labels, cfg.test_fraction, cfg.split_seed)


def no_cross_validation(cfg, data: str) -> None:
    """ConfigError when ``--cv`` is asked of data that comes with its own test split."""
    if cfg.cv:
        raise ConfigError(
            f"--cv: {data} has an official test split; cross-validation is for data without one"
        )


def limit(labels: Sequence, n: int, seed: int) -> np.ndarray:
    """Indices of ``--limit-train n``: a seeded sample of ``n`` items, stratified by label
    (every class keeps its share); all items when ``n`` is 0 or not smaller than the data."""
    count = len(labels)
    if n <= 0 or n >= count:
        return np.arange(count)
    from sklearn.model_selection import train_test_split

    kept, _ = train_test_split(
        np.arange(count),
        train_size=n,
        random_state=seed,
        stratify=_stratify(labels, count - n) if n >= 2 else None,
    )
    return np.sort(kept)
