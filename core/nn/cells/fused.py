"""``rnn``, ``lstm`` and ``gru`` on torch's fused recurrent kernels (torch.lstm/gru/rnn_*).

Each layer owns nn.LSTM-style weights (weight_ih, weight_hh, bias_ih, bias_hh), so the
backbone can hand every layer's weights to one multi-layer fused call when all lengths are
equal (exactly what ``nn.LSTM`` does), and run layer by layer when they are not.

Variable lengths, exactly and without packing's per-step cost:
- rnn/gru: the state *is* the output, so one padded pass plus a gather at length-1 is
  exact (valid outputs never see padding).
- lstm: the cell state c is not among the outputs, so the batch is sorted by length and
  advanced from one distinct length to the next, dropping finished sequences; each
  segment is one fused kernel call (like packing, but per segment instead of per step).
  Measured (benchmarks/backbone.py, speech shape): segments cost about one padded pass;
  for rnn/gru they were slower than the padded pass, hence the split.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.errors import ConfigError
from core.nn.cells import CellSpec, register_cell
from core.nn.cells.common import check_init, chrono_bias, init_gate_weights, last_state, zeros_state
from core.nn.cells.gru_cpu import HandFusedGRU

GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}
FUSED_OPS = {"lstm": torch.lstm, "gru": torch.gru, "rnn_tanh": torch.rnn_tanh, "rnn_relu": torch.rnn_relu}


class FusedLayer(nn.Module):
    """One layer, one direction, of a torch-fused cell (``kind`` in lstm/gru/rnn_tanh/rnn_relu)."""

    def __init__(
        self,
        *,
        kind: str,
        input_size: int,
        hidden_size: int,
        init: str = "auto",
        horizon: int = 100,
        impl: str = "auto",
    ):
        super().__init__()
        if impl not in ("auto", "torch", "handfused") or (impl == "handfused" and kind != "gru"):
            raise ConfigError(f"impl: must be 'auto', 'torch' or (gru only) 'handfused', got {impl!r}")
        self.kind, self.hidden_size, self.horizon, self.impl = kind, hidden_size, horizon, impl
        rows = GATES[kind] * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))  # (G*H, F)
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size))  # (G*H, H)
        self.bias_ih = nn.Parameter(torch.empty(rows))
        self.bias_hh = nn.Parameter(torch.empty(rows))
        self.reset_parameters(check_init(init, gated=kind in ("lstm", "gru")))

    def reset_parameters(self, init: str) -> None:
        bound = self.hidden_size**-0.5
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)  # torch's default, kept for init="torch"
        if init == "torch":
            return
        recurrent = (
            "identity" if init == "identity" or (init == "auto" and self.kind == "rnn_relu") else "orthogonal"
        )
        init_gate_weights(self.weight_ih, self.weight_hh, GATES[self.kind], recurrent)  # IRNN: Le et al. 2015
        hid = self.hidden_size
        with torch.no_grad():
            self.bias_ih.zero_()
            self.bias_hh.zero_()
            if init == "chrono":  # lstm gates i,f,g,o: b_f = -b_i; gru gates r,z,n: z retains
                retain = chrono_bias(hid, self.horizon)
                self.bias_ih[hid : 2 * hid].copy_(retain)
                if self.kind == "lstm":
                    self.bias_ih[:hid].copy_(-retain)
            elif self.kind == "lstm":  # forget bias 1 (Jozefowicz et al. 2015)
                self.bias_ih[hid : 2 * hid].fill_(1.0)

    def flat_weights(self) -> list[Tensor]:
        return [self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh]

    def torch_kernel(self, x: Tensor) -> bool:
        """False where the hand-fused GRU runs instead (CPU, measured faster: core/nn/cells/gru_cpu.py)."""
        if self.kind != "gru" or self.impl == "torch":
            return True
        return self.impl == "auto" and x.is_cuda

    def forward(self, x: Tensor, lengths: Tensor | None, state=None):
        zeros = zeros_state(x, self.hidden_size)  # (B, H)
        if state is None:
            state = (zeros, zeros) if self.kind == "lstm" else zeros
        parts = tuple(s.unsqueeze(0) for s in (state if self.kind == "lstm" else (state,)))  # (1, B, H) each
        if lengths is None:
            out, parts = self._call(x, parts)
        elif self.kind == "lstm":  # c is not among the outputs: advance segment by segment
            out, parts = self._segments(x, lengths, parts)
        else:  # the state is h: one padded pass, state read at length-1
            out, _ = self._call(x, parts)
            parts = (last_state(out, lengths, state).unsqueeze(0),)
        return out, (parts[0][0], parts[1][0]) if self.kind == "lstm" else parts[0][0]

    def _call(self, x: Tensor, parts: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One kernel call over all of x's steps: (B, T, F), ((1, B, H),...) -> (B, T, H), state."""
        if not self.torch_kernel(x):
            out = HandFusedGRU.apply(x, parts[0][0], *self.flat_weights())  # (B, T, H)
            return out, (out[:, -1].unsqueeze(0),)
        hx = parts if self.kind == "lstm" else parts[0]
        out, *final = FUSED_OPS[self.kind](
            x, hx, self.flat_weights(), True, 1, 0.0, self.training, False, True
        )
        return out, tuple(final)

    def _segments(self, x: Tensor, lengths: Tensor, parts: tuple[Tensor, ...]):
        """Sort by length, advance between distinct lengths, dropping finished sequences:
        exact states (LSTM's c too) and no work on padding, one kernel call per segment."""
        batch, steps, _ = x.shape
        order = torch.argsort(lengths.cpu(), descending=True, stable=True)
        sorted_lens = lengths.cpu()[order].tolist()
        order = order.to(x.device)
        xs = x.index_select(0, order)  # (B, T, F), longest first
        parts = tuple(p.index_select(1, order) for p in parts)  # (1, B, H) each
        pieces, start = [], 0
        for end in sorted({n for n in sorted_lens if n > 0}):
            active = sum(1 for n in sorted_lens if n >= end)  # a prefix, since sorted
            seg, new = self._call(xs[:active, start:end], tuple(p[:, :active] for p in parts))
            pieces.append(F.pad(seg, (0, 0, 0, 0, 0, batch - active)))  # (B, end-start, H)
            # finished sequences keep their state
            parts = tuple(torch.cat([n, p[:, active:]], dim=1) for n, p in zip(new, parts))
            start = end
        if start < steps:
            pieces.append(x.new_zeros(batch, steps - start, self.hidden_size))
        inverse = torch.argsort(order)
        out = torch.cat(pieces, dim=1).index_select(0, inverse)  # (B, T, H)
        return out, tuple(p.index_select(1, inverse) for p in parts)


def _rnn(*, input_size: int, hidden_size: int, nonlinearity: str = "tanh", init: str = "auto") -> FusedLayer:
    if nonlinearity not in ("tanh", "relu"):
        raise ConfigError(f"nonlinearity: must be 'tanh' or 'relu', got {nonlinearity!r}")
    return FusedLayer(kind=f"rnn_{nonlinearity}", input_size=input_size, hidden_size=hidden_size, init=init)


def _lstm(*, input_size: int, hidden_size: int, init: str = "auto", horizon: int = 100) -> FusedLayer:
    return FusedLayer(kind="lstm", input_size=input_size, hidden_size=hidden_size, init=init, horizon=horizon)


def _gru(**options) -> FusedLayer:
    return FusedLayer(kind="gru", **options)


register_cell(CellSpec("rnn", _rnn, ("nonlinearity", "init"), description="Elman RNN, torch-fused"))
register_cell(CellSpec("lstm", _lstm, ("init", "horizon"), state_parts=2, description="LSTM, torch-fused"))
register_cell(
    CellSpec(
        "gru",
        _gru,
        ("init", "horizon", "impl"),
        description="GRU: torch-fused on CUDA, hand-fused on CPU (impl='torch' forces torch's)",
    )
)


def fused_stack(
    layers: list[FusedLayer], x: Tensor, state, *, bidirectional: bool, dropout: float, training: bool
):
    """All layers in one fused call (equal lengths only). state: torch layout (L*D, B, H)."""
    kind = layers[0].kind
    weights = [w for layer in layers for w in layer.flat_weights()]
    num_layers = len(layers) // (2 if bidirectional else 1)
    if state is None:
        zeros = x.new_zeros(len(layers), x.shape[0], layers[0].hidden_size)  # (L*D, B, H)
        state = (zeros, zeros) if kind == "lstm" else zeros
    if kind == "lstm":
        out, h, c = torch.lstm(x, state, weights, True, num_layers, dropout, training, bidirectional, True)
        return out, (h, c)
    out, h = FUSED_OPS[kind](x, state, weights, True, num_layers, dropout, training, bidirectional, True)
    return out, h
