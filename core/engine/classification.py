"""The classifier model, loss and metrics shared by every classifying domain (vision, nlp, yours).

A classifier model is called as ``model(inputs, lengths) -> logits (B, C)``;
``SequenceClassifier`` is that model for any input a backbone reads: an optional front
(nlp: token embedding), the backbone, then ``ClassificationHead`` (pooling over time,
dropout, linear). Baselines score their predictions with ``classification_metrics``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.nn.pooling import Pooling
from core.nn.sequence import SequenceBatch


class ClassificationHead(nn.Module):
    """``forward(outputs (B,T,D), lengths (B,)) -> logits (B,C)``: pool over valid steps, dropout, linear."""

    def __init__(
        self,
        *,
        input_size: int,
        num_classes: int,
        pooling: str,
        num_directions: int = 1,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.pooling = Pooling(pooling, input_size, num_directions=num_directions)
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(input_size, num_classes)

    def forward(self, outputs: Tensor, lengths: Tensor) -> Tensor:
        pooled = self.pooling(outputs, lengths)  # (B, D)
        return self.linear(self.dropout(pooled))  # (B, C)


class SequenceClassifier(nn.Module):
    """``model(inputs, lengths) -> logits (B, C)``: ``front`` (optional) -> ``backbone`` -> ``head``.

    ``front`` maps the raw batch inputs to (B, T, F) features (nlp: token ids -> embeddings);
    without one the inputs already are (B, T, F) (vision). The recurrent part is the attribute
    ``backbone`` so ``--init-backbone`` and the diagnostics find it by name.

    Example:
        >>> from core.nn.backbone import build_backbone
        >>> model = SequenceClassifier(backbone=build_backbone("gru", 3, 8), num_classes=4, pooling="last")
        >>> model(torch.zeros(2, 5, 3), torch.tensor([5, 2])).shape
        torch.Size([2, 4])
    """

    def __init__(
        self,
        *,
        backbone: nn.Module,
        num_classes: int,
        pooling: str,
        dropout: float = 0.0,
        front: nn.Module | None = None,
    ):
        super().__init__()
        self.front = front
        self.backbone = backbone
        self.head = ClassificationHead(
            input_size=backbone.output_size,
            num_classes=num_classes,
            pooling=pooling,
            num_directions=backbone.num_directions,
            dropout=dropout,
        )

    @staticmethod
    def upgrade_state_dict(weights: dict) -> dict:
        """Weights saved before the head was shared, under today's names (checkpoint loading calls it)."""
        return {_current_name(key): value for key, value in weights.items()}

    def forward(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        x = inputs if self.front is None else self.front(inputs)  # (B, T, F)
        outputs, lengths, _ = self.backbone(x, lengths)  # (B, T, D), padded steps are 0
        return self.head(outputs, lengths)  # (B, C)


# Checkpoints written before the head was shared name its parts after the old per-domain models.
_LEGACY_PREFIXES = (
    ("embedding.", "front.embedding."),
    ("static_embedding.", "front.static_embedding."),
    ("pooling.", "head.pooling."),
    ("classifier.", "head.linear."),
    ("head.weight", "head.linear.weight"),
    ("head.bias", "head.linear.bias"),
)


def _current_name(key: str) -> str:
    for old, new in _LEGACY_PREFIXES:
        if key.startswith(old):
            return new + key[len(old) :]
    return key


def classification_metrics(predicted, expected, num_classes: int) -> dict:
    """Accuracy, macro-F1 and the confusion matrix (``_confusion``) of class indices (N,) against (N,)."""
    from sklearn.metrics import (  # here: predictors import this module, and start fast
        confusion_matrix,
        f1_score,
    )

    predicted, expected = np.asarray(predicted), np.asarray(expected)
    if predicted.size == 0:
        return {"accuracy": 0.0, "macro_f1": 0.0}
    labels = list(range(num_classes))
    return {
        "accuracy": float((predicted == expected).mean()),
        "macro_f1": float(f1_score(expected, predicted, labels=labels, average="macro", zero_division=0)),
        "_confusion": confusion_matrix(expected, predicted, labels=labels).tolist(),
    }


class ClassificationTask:
    """Cross-entropy loss; accuracy, macro-F1 and the confusion matrix.

    Example:
        >>> task = ClassificationTask(["neg", "pos"])
        >>> model = lambda x, lengths: x[:, 0, :2]
        >>> batch = SequenceBatch(torch.tensor([[[2.0, 0.0]], [[0.0, 1.0]]]), torch.tensor([1, 1]), torch.tensor([0, 0]))
        >>> task.reset_metrics(); task.update_metrics(model, batch); task.compute_metrics()["accuracy"]
        0.5
    """

    monitor = "accuracy"
    mode = "max"

    def __init__(self, classes: list[str], *, label_smoothing: float = 0.0):
        self.classes = list(classes)
        self.label_smoothing = label_smoothing
        self.reset_metrics()

    def loss(self, model: nn.Module, batch: SequenceBatch) -> tuple[Tensor, int]:
        logits = model(batch.inputs, batch.lengths)  # (B, C)
        loss = F.cross_entropy(logits.float(), batch.targets, label_smoothing=self.label_smoothing)
        return loss, len(batch)

    def reset_metrics(self) -> None:
        self._predicted: list[Tensor] = []
        self._expected: list[Tensor] = []

    @torch.no_grad()
    def update_metrics(self, model: nn.Module, batch: SequenceBatch) -> None:
        logits = model(batch.inputs, batch.lengths)  # (B, C)
        self._predicted.append(logits.argmax(dim=-1).cpu())
        self._expected.append(batch.targets.cpu())

    def compute_metrics(self) -> dict:
        if not self._predicted:
            return classification_metrics([], [], len(self.classes))
        return classification_metrics(
            torch.cat(self._predicted).numpy(), torch.cat(self._expected).numpy(), len(self.classes)
        )


def build_task(cfg, meta: dict) -> ClassificationTask:
    """The task of a classifying domain: the data's ``classes``, ``cfg.label_smoothing`` (0 when absent)."""
    return ClassificationTask(list(meta["classes"]), label_smoothing=getattr(cfg, "label_smoothing", 0.0))
