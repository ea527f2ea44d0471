"""Checkpoint averaging: the mean of the weights of the last N epochs.

Averaging the end-of-epoch weights of a run's last epochs (Vaswani et al., 2017, sec. 6.1; the
``average_checkpoints`` step of ESPnet and fairseq recipes) smooths the noise of the final
updates and usually scores a little better than any single one of them.
"""

from __future__ import annotations

from collections import deque

import torch
from torch import Tensor


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
