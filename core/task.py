"""What a domain gives the Trainer. The Trainer knows nothing else about a domain."""
from __future__ import annotations

from typing import Protocol

from torch import Tensor, nn

from core.sequence import SequenceBatch


class Task(Protocol):
    """Loss and metrics for one domain.

    ``monitor`` names the validation metric that picks the best checkpoint and
    drives early stopping; ``mode`` is "max" (accuracy) or "min" (wer).
    """

    monitor: str
    mode: str

    def loss(self, model: nn.Module, batch: SequenceBatch) -> tuple[Tensor, int]:
        """Mean loss over the batch (a scalar) and the number of items it averages."""

    def reset_metrics(self) -> None:
        """Forget accumulated metric state before an evaluation pass."""

    def update_metrics(self, model: nn.Module, batch: SequenceBatch) -> None:
        """Accumulate metric state for one batch (called under torch.no_grad, eval mode)."""

    def compute_metrics(self) -> dict[str, float]:
        """Metrics over everything seen since reset, lowercase names, fractions in 0..1.

        May also hold non-scalar artefacts under keys starting with "_"
        (e.g. "_confusion": a list of lists); these go to JSON, not to the log line.
        """


def better(mode: str, new: float, best: float | None) -> bool:
    if best is None:
        return True
    return new > best if mode == "max" else new < best
