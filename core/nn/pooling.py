"""Mask-aware pooling of backbone outputs into one vector per sequence (classifier heads).

Example:
    >>> import torch
    >>> pool = Pooling("mean", 2)
    >>> pool(torch.tensor([[[1.0, 2.0], [3.0, 4.0], [0.0, 0.0]]]), torch.tensor([2])).tolist()
    [[2.0, 3.0]]
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from core.errors import ConfigError
from core.nn.sequence import gather_last, lengths_to_mask

POOLING_KINDS = ("last", "mean", "max", "attention")


class Pooling(nn.Module):
    """``forward(outputs (B,T,D), lengths (B,)) -> (B,D)``; padded steps never contribute.

    - ``last``: forward direction at length-1; backward direction at t=0 (where the
      reverse pass has read the whole sequence).
    - ``mean`` / ``max``: over valid steps only (a length-0 sequence pools to 0).
    - ``attention``: softmax over valid steps of a learned score (tanh MLP, Bahdanau-style).
    """

    def __init__(self, kind: str, input_size: int, *, num_directions: int = 1):
        super().__init__()
        if kind not in POOLING_KINDS:
            raise ConfigError(f"pooling: unknown kind {kind!r} (choose from {', '.join(POOLING_KINDS)})")
        if num_directions not in (1, 2) or input_size % num_directions:
            raise ConfigError(
                f"num_directions: must be 1 or 2 and divide input_size {input_size}, got {num_directions}"
            )
        self.kind, self.input_size, self.num_directions = kind, input_size, num_directions
        self.output_size = input_size
        if kind == "attention":
            self.score = nn.Sequential(nn.Linear(input_size, input_size), nn.Tanh(), nn.Linear(input_size, 1))

    def extra_repr(self) -> str:
        return f"{self.kind!r}, input_size={self.input_size}, num_directions={self.num_directions}"

    def forward(self, outputs: Tensor, lengths: Tensor) -> Tensor:
        lengths = lengths.to(outputs.device)
        if self.kind == "last":
            return self._last(outputs, lengths)
        mask = lengths_to_mask(lengths, outputs.shape[1]).unsqueeze(-1)  # (B, T, 1)
        has_steps = (lengths > 0).unsqueeze(-1)  # (B, 1)
        if self.kind == "mean":
            total = (outputs * mask).sum(dim=1)  # (B, D)
            return total / lengths.clamp(min=1).unsqueeze(-1).to(outputs.dtype)
        if self.kind == "max":
            peak = outputs.masked_fill(~mask, float("-inf")).amax(dim=1)  # (B, D)
            return torch.where(has_steps, peak, torch.zeros_like(peak))
        scores = self.score(outputs).masked_fill(~mask, float("-inf"))  # (B, T, 1)
        weights = torch.softmax(scores, dim=1).nan_to_num(0.0)  # all-masked rows -> 0
        return (weights * outputs).sum(dim=1)  # (B, D)

    def _last(self, outputs: Tensor, lengths: Tensor) -> Tensor:
        forward = gather_last(outputs, lengths)  # (B, D)
        if self.num_directions == 1:
            return forward * (lengths > 0).unsqueeze(-1)
        half = outputs.shape[-1] // 2
        backward = outputs[:, 0, half:]  # (B, H): the reverse pass ends at t=0
        return torch.cat([forward[:, :half], backward], dim=-1) * (lengths > 0).unsqueeze(-1)
