"""Helpers shared by the cell families: initialisation and length bookkeeping."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from core.errors import ConfigError
from core.nn.sequence import gather_last

INIT_SCHEMES = ("auto", "orthogonal", "identity", "torch", "chrono")


def check_init(init: str, *, gated: bool = True) -> str:
    if init not in INIT_SCHEMES:
        raise ConfigError(f"init: unknown scheme {init!r} (choose from {', '.join(INIT_SCHEMES)})")
    if init == "chrono" and not gated:
        raise ConfigError("init: 'chrono' sets gate biases; this cell has no gates")
    return init


def chrono_bias(hidden: int, horizon: int) -> Tensor:
    """Chrono initialisation (Tallec & Ollivier 2018): log U(1, horizon-1) per unit.

    A gate bias b makes a retain gate σ(b) = τ/(1+τ) with τ ~ U(1, horizon-1), so units
    start with memories spread up to ``horizon`` steps instead of a couple of steps.
    """
    if horizon < 3:
        raise ConfigError(f"horizon: must be at least 3 for init='chrono', got {horizon}")
    return torch.log(torch.empty(hidden).uniform_(1.0, horizon - 1.0))


def init_gate_weights(weight_ih: Tensor, weight_hh: Tensor | None, gates: int, scheme: str) -> None:
    """Xavier input weights; recurrent blocks orthogonal (or identity, IRNN) per gate.

    ``scheme="torch"`` leaves torch's default uniform(-1/sqrt(H), 1/sqrt(H)) in place.
    """
    if scheme == "torch":
        return
    hidden = weight_ih.shape[0] // gates
    with torch.no_grad():
        for g in range(gates):
            block = slice(g * hidden, (g + 1) * hidden)
            nn.init.xavier_uniform_(weight_ih[block])
            if weight_hh is None:
                continue
            if scheme == "identity":
                weight_hh[block].copy_(torch.eye(hidden))
            else:
                nn.init.orthogonal_(weight_hh[block])


def zeros_state(x: Tensor, hidden: int) -> Tensor:
    return x.new_zeros(x.shape[0], hidden)  # (B, H)


def last_state(outputs: Tensor, lengths: Tensor | None, initial: Tensor) -> Tensor:
    """Hidden state after each sequence's last valid step, for cells whose state is h_t.

    outputs (B, T, H), lengths (B,) or None, initial (B, H) -> (B, H).
    A length-0 sequence keeps ``initial``.
    """
    if lengths is None:
        return outputs[:, outputs.shape[1] - 1]
    lengths = lengths.to(outputs.device)
    last = gather_last(outputs, lengths)  # (B, H)
    return torch.where((lengths > 0).unsqueeze(1), last, initial)


def step_mask(lengths: Tensor | None, t: int, like: Tensor) -> Tensor | None:
    """(B, 1) bool: sequences still running at step t (None when all are)."""
    if lengths is None:
        return None
    return (lengths.to(like.device) > t).unsqueeze(1)
