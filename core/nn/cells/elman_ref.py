"""``elman_ref``: the Elman RNN written out step by step, as teaching code.

    h_t = σ(W x_t + U h_{t-1} + b)        σ = tanh (or relu), h_0 = 0

It is the same function as ``nn.RNN`` (tests check 1e-6 agreement with copied weights);
use ``rnn`` for speed, read this one to see what ``rnn`` computes.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from core.errors import ConfigError
from core.nn.cells import CellSpec, register_cell
from core.nn.cells.common import check_init, init_gate_weights, last_state, zeros_state


class ElmanRef(nn.Module):
    """One layer, one direction. Weight names match ``nn.RNN`` (b = bias_ih + bias_hh)."""

    def __init__(self, *, input_size: int, hidden_size: int, nonlinearity: str = "tanh", init: str = "auto"):
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ConfigError(f"nonlinearity: must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.hidden_size = hidden_size
        self.activation = torch.tanh if nonlinearity == "tanh" else torch.relu
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))  # W (H, F)
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))  # U (H, H)
        self.bias_ih = nn.Parameter(torch.zeros(hidden_size))
        self.bias_hh = nn.Parameter(torch.zeros(hidden_size))
        init = check_init(init, gated=False)
        bound = hidden_size**-0.5
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)
        if init != "torch":
            scheme = init if init != "auto" else ("identity" if nonlinearity == "relu" else "orthogonal")
            init_gate_weights(self.weight_ih, self.weight_hh, 1, scheme)
            nn.init.zeros_(self.bias_ih)
            nn.init.zeros_(self.bias_hh)

    def forward(self, x: Tensor, lengths: Tensor | None, state: Tensor | None = None):
        h0 = zeros_state(x, self.hidden_size) if state is None else state  # (B, H)
        # W x_t + b does not depend on h, so it is computed for all steps in one matmul.
        wx = x @ self.weight_ih.T + self.bias_ih + self.bias_hh  # (B, T, H)
        h, outputs = h0, []
        for t in range(x.shape[1]):
            h = self.activation(wx[:, t] + h @ self.weight_hh.T)  # (B, H)
            outputs.append(h)
        # Past a sequence's length h keeps running on padding; those outputs are zeroed by the
        # backbone and the state is read at length-1, so padding never leaks into results.
        out = torch.stack(outputs, dim=1)  # (B, T, H)
        return out, last_state(out, lengths, h0)


register_cell(
    CellSpec(
        "elman_ref",
        ElmanRef,
        ("nonlinearity", "init"),
        description="Elman RNN as a readable Python loop (matches rnn)",
    )
)
