"""Checkpoint averaging: the mean of the weights of the last N epochs.

Averaging the end-of-epoch weights of a run's last epochs (Vaswani et al., 2017, sec. 6.1; the
``average_checkpoints`` step of ESPnet and fairseq recipes) smooths the noise of the final
updates and usually scores a little better than any single one of them.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Optional

import torch
from torch import Tensor

from core.engine.runlog import scalars
from core.engine.trainer_state import beats_best


class RecentWeights:
    """CPU copies of the last ``count`` state dicts given to ``add``.

    Example:
        >>> recent = RecentWeights(count=2)
        >>> for value in (1.0, 2.0, 4.0):
        ...     recent.add({"w": torch.tensor([value])})
        >>> recent.average()["w"].tolist(), len(recent)
        ([3.0], 2)
    """

    def __init__(self, *, count: int):
        self.states: deque[dict[str, Tensor]] = deque(maxlen=max(1, count))

    def __len__(self) -> int:
        return len(self.states)

    def add(self, state: dict[str, Tensor]) -> None:
        self.states.append({k: v.detach().to("cpu", copy=True) for k, v in state.items()})

    def average(self) -> dict[str, Tensor]:
        """Floating tensors averaged in float64 (cast back); integer buffers taken from the newest."""
        newest = self.states[-1]
        averaged = {}
        for name, value in newest.items():
            if value.is_floating_point():
                total = torch.stack([s[name].double() for s in self.states]).mean(0)
                averaged[name] = total.to(value.dtype)
            else:
                averaged[name] = value.clone()
        return averaged


def validate_average(trainer: Any) -> Optional[dict]:
    """Validate the mean of ``trainer.recent``; it becomes the best checkpoint when it validates
    better (monitor, then tiebreak). None when fewer than two epochs were kept."""
    recent = trainer.recent
    if recent is None or len(recent) < 2:
        return None
    trainer.model.load_state_dict(recent.average())
    val = trainer.evaluate(trainer.val_loader, desc="val averaged")
    better = beats_best(trainer.task, val, trainer.best)
    if better:
        trainer.best.update(value=better[0], metrics=scalars(val), averaged=len(recent))
        trainer._best_weights = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
        trainer.save("best.pt")
    return {"epochs": len(recent), "used": better is not None, "val": scalars(val)}
