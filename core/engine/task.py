"""What a domain gives the Trainer. The Trainer knows nothing else about a domain."""

from __future__ import annotations

import math
from typing import Protocol

from torch import Tensor, nn

from core.nn.sequence import SequenceBatch


class Task(Protocol):
    """Loss and metrics for one domain.

    ``monitor`` names the validation metric that picks the best checkpoint and
    drives early stopping; ``mode`` is "max" (accuracy) or "min" (wer). A task may also
    set ``tiebreak``: a validation metric where lower is better (e.g. "loss") that decides
    between epochs whose monitored value is equal; coarse metrics such as a WER over a
    few hundred words tie often, and the first epoch to reach a value is rarely the best.
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


def improves(
    mode: str, new: float, best: float | None, *, new_tie: float | None = None, best_tie: float | None = None
) -> bool:
    """``better``, or an equal monitored value with a lower tie-break value.

    Example:
        >>> improves("min", 0.0, 0.0, new_tie=0.2, best_tie=0.5), improves("min", 0.0, 0.0)
        (True, False)
    """
    if better(mode, new, best):
        return True
    if new != best or new_tie is None or best_tie is None or math.isnan(new_tie):
        return False
    return math.isnan(best_tie) or new_tie < best_tie  # a NaN tie (nothing alignable) never blocks a real one
