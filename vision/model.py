"""The image classifier: core's ``SequenceClassifier`` (backbone, pooling over time, linear).

The seed's ``y = softmax(W' h + b')``: ``h`` is the pooled backbone output, the softmax
lives in the loss (cross-entropy on logits) and in ``predict``.
"""

from __future__ import annotations

from core.engine.classification import SequenceClassifier
from core.nn.backbone import backbone_from_config


def build_model(cfg, meta: dict) -> SequenceClassifier:
    """From the run config and the data meta (``input_size``, ``num_classes``)."""
    return SequenceClassifier(
        backbone=backbone_from_config(cfg, meta["input_size"]),
        pooling=cfg.pooling,
        num_classes=meta["num_classes"],
        dropout=cfg.dropout,
    )
