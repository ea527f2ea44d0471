"""Sentiment is plain classification: core's ClassificationTask over the data's classes.

Accuracy, macro-F1 and the confusion matrix (``_confusion``, written by core as
confusion.json / confusion.png) all come from ``core.engine.classification``.
"""
from __future__ import annotations

from core.engine.classification import ClassificationTask


def build_task(cfg, meta: dict) -> ClassificationTask:
    return ClassificationTask(list(meta["classes"]), label_smoothing=cfg.label_smoothing)
