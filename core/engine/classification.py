"""Classification loss and metrics shared by every classifying domain (vision, nlp, yours).

A classifier model is called as ``model(inputs, lengths) -> logits (B, C)``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.metrics import confusion_matrix, f1_score
from torch import Tensor, nn

from core.nn.sequence import SequenceBatch


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
            return {"accuracy": 0.0, "macro_f1": 0.0}
        predicted = torch.cat(self._predicted).numpy()
        expected = torch.cat(self._expected).numpy()
        labels = list(range(len(self.classes)))
        return {
            "accuracy": float((predicted == expected).mean()),
            "macro_f1": float(f1_score(expected, predicted, labels=labels, average="macro", zero_division=0)),
            "_confusion": confusion_matrix(expected, predicted, labels=labels).tolist(),
        }
