"""Vision's task is plain classification: core's ClassificationTask over the class names
in the data meta (accuracy, macro-F1, confusion matrix)."""
from __future__ import annotations

from core.engine.classification import ClassificationTask


def build_task(cfg, meta: dict) -> ClassificationTask:
    return ClassificationTask(meta["classes"], label_smoothing=cfg.label_smoothing)
