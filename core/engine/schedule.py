"""AdamW with decoupled weight decay on matrices only, and a per-step LR schedule."""

from __future__ import annotations

import math
import time
from typing import Any, Optional

import torch
from torch import nn


def build_optimizer(
    model: nn.Module, *, lr: float, weight_decay: float, lr_scales: Optional[dict[str, float]] = None
) -> torch.optim.AdamW:
    """AdamW; biases, norms and other 1-D parameters are not decayed (decay would only shrink them).

    ``lr_scales`` maps a parameter-name prefix to an LR multiplier (``{"backbone.": 0.3}``); each
    (decay, multiplier) pair is one group, in a fixed order so a resumed optimizer lines up.
    """
    scales = {prefix: s for prefix, s in (lr_scales or {}).items() if s != 1.0}
    groups: dict[tuple[bool, float], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        scale = next((s for prefix, s in scales.items() if name.startswith(prefix)), 1.0)
        groups.setdefault((param.dim() >= 2, scale), []).append(param)
    order = sorted(groups, key=lambda key: (not key[0], key[1] != 1.0, key[1]))
    return torch.optim.AdamW(
        [
            {"params": groups[key], "weight_decay": weight_decay if key[0] else 0.0, "lr": lr * key[1]}
            for key in order
        ],
        lr=lr,
    )


class LRSchedule:
    """Multiplies each group's base LR by ``factor(step)``; stepped once per training batch.

    ``cosine``: linear warmup, then cosine decay to 0 at ``total_steps``.
    ``onecycle``: cosine rise from lr/25 to lr over the first 30%, cosine fall to lr/25e4.
    ``constant``: linear warmup, then flat. Warmup is ``warmup_fraction`` of the run's steps when
    that is > 0, else ``warmup_steps``; either way it is capped at a quarter of the run so a
    fixed count never swallows a tiny run, and ``warmup_steps`` holds the count actually used
    (the caller records it). Its state is plain ints/floats (weights_only-safe).

    Example:
        >>> opt = torch.optim.AdamW(nn.Linear(2, 2).parameters(), lr=1.0)
        >>> s = LRSchedule(opt, kind="cosine", total_steps=100, warmup_steps=10)
        >>> round(s.factor(0), 2), round(s.factor(9), 2), round(s.factor(100), 2)
        (0.1, 1.0, 0.0)
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        kind: str,
        total_steps: int,
        warmup_steps: int,
        warmup_fraction: float = 0.0,
    ):
        self.optimizer = optimizer
        self.kind = kind
        self.total_steps = max(int(total_steps), 0)
        self.requested_warmup = (
            round(warmup_fraction * self.total_steps) if warmup_fraction > 0 else int(warmup_steps)
        )
        self.warmup_steps = resolve_warmup(
            self.total_steps, warmup_steps=warmup_steps, warmup_fraction=warmup_fraction
        )
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.step_count = 0
        self.budget_used = 0.0  # share of a time budget spent (Trainer with --lr-by-time); 0 = steps only
        self._apply()

    def factor(self, step: int) -> float:
        if self.kind == "onecycle" and self.total_steps:
            overall = max(step / self.total_steps, self.budget_used)
            if overall < 0.3:
                return _cos_between(1 / 25, 1.0, overall / 0.3)
            return _cos_between(1.0, 1 / 25e4, min(1.0, (overall - 0.3) / 0.7))
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.kind == "cosine" and self.total_steps:
            by_steps = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
            progress = min(1.0, max(by_steps, self.budget_used))
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        return 1.0

    def step(self, *, budget_used: float = 0.0) -> None:
        """One batch done; ``budget_used`` (0-1) moves the decay on when time runs out before the steps do."""
        self.step_count += 1
        self.budget_used = min(1.0, max(self.budget_used, budget_used))
        self._apply()

    def _apply(self) -> None:
        factor = self.factor(self.step_count)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = base * factor

    def get_last_lr(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "base_lrs": list(self.base_lrs),
            "step_count": self.step_count,
            "budget_used": self.budget_used,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.base_lrs = list(state["base_lrs"])
        self.step_count = int(state["step_count"])
        self.budget_used = float(state.get("budget_used", 0.0))
        self._apply()


def resolve_warmup(total_steps: int, *, warmup_steps: int, warmup_fraction: float = 0.0) -> int:
    """Warmup steps a run of ``total_steps`` uses: the fraction or the count, at most a quarter of the run.

    Example:
        >>> resolve_warmup(40, warmup_steps=100), resolve_warmup(1000, warmup_steps=100, warmup_fraction=0.05)
        (10, 50)
    """
    wanted = round(warmup_fraction * total_steps) if warmup_fraction > 0 else int(warmup_steps)
    return min(wanted, total_steps // 4) if total_steps else wanted


def _cos_between(start: float, end: float, progress: float) -> float:
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * progress))


def budget_share(cfg: Any, deadline: float) -> float:
    """Share of --max-minutes spent by now (``deadline`` a ``time.monotonic()`` value), when
    --lr-by-time lets the LR schedule follow the clock; else 0."""
    if not (getattr(cfg, "lr_by_time", False) and cfg.max_minutes and math.isfinite(deadline)):
        return 0.0
    return 1.0 - (deadline - time.monotonic()) / (60 * cfg.max_minutes)
