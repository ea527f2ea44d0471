"""The cell registry: one entry per recurrent cell, picked up by the backbone and every test.

A *cell layer* is one layer in one direction. Its contract (what every entry must build):

    layer = spec.build(input_size=F, hidden_size=H, **options)
    outputs, state = layer(x, lengths, state)
    # x (B, T, F); lengths (B,) int64 or None (= every sequence has length T)
    # state: None, a (B, H) tensor, or a tuple of them (LSTM: (h, c))
    # outputs (B, T, H): exact at valid steps (padded steps are zeroed by the backbone);
    #                   outputs[:, t] is the hidden state h_t (LSTM: the h of (h, c))
    # state: each sequence's state after its own last valid step; a length-0
    #        sequence keeps the state it was given (so chunked streaming works)

The backbone does directions (reverse within lengths), stacking, dropout, layer norm
and residuals, so a new cell is one small file plus one ``register_cell`` call.

Example:
    >>> from core.nn.cells import CELL_REGISTRY
    >>> CELL_REGISTRY["lstm"].state_parts
    2
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn


@dataclass(frozen=True)
class CellSpec:
    """How to build one layer of a cell, and which options it accepts."""

    name: str
    build: Callable[..., nn.Module]
    options: tuple[str, ...] = ()
    """Cell-specific keyword options (e.g. ``nonlinearity``, ``init``, ``mode``)."""
    state_parts: int = 1
    """1 for a single hidden-state tensor, 2 for LSTM's (h, c)."""
    description: str = ""


CELL_REGISTRY: dict[str, CellSpec] = {}

OPTION_HELP = {  # what `--cell-opt KEY=VALUE` takes, for `rnnsuite cells`
    "init": "weight init: auto | orthogonal | identity | torch | chrono",
    "horizon": "int; chrono init: memory span of the gates; IndRNN: T of the bound |u| <= max_gradient^(1/T)",
    "impl": "auto | torch | handfused (gru only; auto = handfused on CUDA)",
    "mode": "auto | sequential | parallel (how the recurrence is evaluated)",
    "nonlinearity": "tanh | relu",
    "max_gradient": "float > 1; IndRNN: gradient growth allowed over horizon steps",
}


def register_cell(spec: CellSpec) -> CellSpec:
    if spec.name in CELL_REGISTRY:
        raise ValueError(f"cell {spec.name!r} is registered twice")
    CELL_REGISTRY[spec.name] = spec
    return spec


# Importing a family registers its cells; order fixes the order of core.CELLS.
# isort: off
from core.nn.cells import fused  # noqa: E402,F401
from core.nn.cells import elman_ref, indrnn, minrnn  # noqa: E402,F401
# isort: on
