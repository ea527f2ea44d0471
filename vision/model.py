"""The image classifier: the shared backbone, a pooling over time, a linear layer.

The seed's ``y = softmax(W' h + b')``: ``h`` is the pooled backbone output, the softmax
lives in the loss (cross-entropy on logits) and in ``predict``.
"""
from __future__ import annotations

from torch import Tensor, nn

from core.nn.backbone import backbone_from_config
from core.nn.pooling import Pooling


class ImageSequenceClassifier(nn.Module):
    """``model(inputs (B, T, F), lengths (B,)) -> logits (B, C)``.

    The recurrent part is the attribute ``backbone`` so ``--init-backbone`` and the
    diagnostics find it by name.
    """

    def __init__(self, *, backbone: nn.Module, pooling: str, num_classes: int, dropout: float = 0.0):
        super().__init__()
        self.backbone = backbone
        self.pooling = Pooling(pooling, backbone.output_size, num_directions=backbone.num_directions)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(backbone.output_size, num_classes)

    def forward(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        outputs, lengths, _ = self.backbone(inputs, lengths)  # (B, T, D)
        pooled = self.pooling(outputs, lengths)  # (B, D)
        return self.head(self.dropout(pooled))  # (B, C)


def build_model(cfg, meta: dict) -> ImageSequenceClassifier:
    """From the run config and the data meta (``input_size``, ``num_classes``)."""
    return ImageSequenceClassifier(backbone=backbone_from_config(cfg, meta["input_size"]),
                                   pooling=cfg.pooling, num_classes=meta["num_classes"],
                                   dropout=cfg.dropout)
