"""A trace-friendly twin of the backbone, for ``torch.onnx.export`` with dynamic batch and time.

``Backbone.forward`` picks its path from the lengths (all full -> one fused call; LSTM ->
one kernel call per distinct length), which is data-dependent control flow an exported
graph cannot hold. For inference only the outputs at valid steps matter (the heads pool
over them or read them per frame), and those are exact from one padded pass per layer
and direction:

- forward direction: valid steps never see padding (the recurrence is causal);
- reverse direction: each sequence is reversed within its own length, so its valid steps
  come first, run forward, and are reversed back (the gather is in the graph);
- padded steps are zeroed after the last layer, as the backbone does.

The twin shares the original's parameters, so it exports the trained weights unchanged.
A layer whose recurrence is a Python loop over time (elman_ref, indrnn, and minGRU/minLSTM
in sequential mode) is taken through a graph form when one exists (the log-space scan of
minGRU/minLSTM), else refused with one line naming the cell.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from core.errors import ConfigError
from core.nn.backbone import Backbone
from core.nn.cells.fused import FUSED_OPS, FusedLayer
from core.nn.sequence import lengths_to_mask, reverse_within_lengths

GRAPH_CELLS = ("rnn", "lstm", "gru", "mingru", "minlstm")
"""Cells with a loop-free graph form (torch's fused kernels map to ONNX RNN/LSTM/GRU)."""


def padded_pass(layer: nn.Module, x: Tensor) -> Tensor:
    """One layer-direction over every step of x (B, T, F) from a zero state -> (B, T, H)."""
    if isinstance(layer, FusedLayer):
        zeros = x.new_zeros(1, x.shape[0], layer.hidden_size)  # (1, B, H)
        hx = (zeros, zeros) if layer.kind == "lstm" else zeros
        out, *_ = FUSED_OPS[layer.kind](x, hx, layer.flat_weights(), True, 1, 0.0, False, False, True)
        return out
    from core.nn.cells.minrnn import MinRNN

    if isinstance(layer, MinRNN):
        return log_space_scan(*layer.coefficients(x, log_space=True))
    raise AssertionError(f"no graph form for {type(layer).__name__}")  # check_exportable refuses earlier


def log_space_scan(log_a: Tensor, log_b: Tensor) -> Tensor:
    """minGRU/minLSTM's scan from a zero state (core.nn.cells.minrnn.scan_log_space) without
    ``logcumsumexp``, which ONNX lacks: log Σ exp(z) = m + log Σ exp(z - m) with m the maximum
    over all steps, in float64 so that terms up to ~700 below m do not underflow."""
    log_prefix = torch.cumsum(log_a.double(), dim=1)  # (B, T, H): log A_t
    z = log_b.double() - log_prefix  # (B, T, H)
    peak = z.amax(dim=1, keepdim=True)  # (B, 1, H)
    summed = torch.log(torch.cumsum(torch.exp(z - peak), dim=1)) + peak  # (B, T, H)
    return torch.exp(log_prefix + summed).to(log_b.dtype)


class GraphBackbone(nn.Module):
    """``forward(x (B,T,F), lengths (B,)) -> (outputs (B,T,D), lengths, None)``; inference only."""

    def __init__(self, *, backbone: Backbone):
        super().__init__()
        check_exportable(backbone)
        self.layers, self.norms = backbone.layers, backbone.norms
        self.residual, self.num_layers = backbone.residual, backbone.num_layers
        self.num_directions, self.output_size = backbone.num_directions, backbone.output_size

    def forward(self, x: Tensor, lengths: Tensor, state=None):
        h = x  # (B, T, F)
        for i, directions in enumerate(self.layers):
            outs = [padded_pass(directions[0], h)]
            if self.num_directions == 2:
                backward = padded_pass(directions[1], reverse_within_lengths(h, lengths))
                outs.append(reverse_within_lengths(backward, lengths))
            y = outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)  # (B, T, D)
            if self.residual and y.shape[-1] == h.shape[-1]:
                y = y + h
            h = self.norms[i](y) if self.norms is not None else y
        mask = lengths_to_mask(lengths, h.shape[1]).unsqueeze(-1).to(h.dtype)  # (B, T, 1)
        return h * mask, lengths, None


def check_exportable(backbone: Backbone) -> None:
    """ConfigError (one line) for a cell with no loop-free graph form."""
    if backbone.cell in GRAPH_CELLS:
        return
    raise ConfigError(
        f"cell {backbone.cell!r} cannot be exported to ONNX: its recurrence is a Python loop "
        f"over time with no graph form (exportable cells: {', '.join(GRAPH_CELLS)})"
    )


def graph_twin(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (eval mode) whose ``backbone`` is its GraphBackbone; weights shared."""
    backbone = getattr(model, "backbone", None)
    if not isinstance(backbone, Backbone):
        raise ConfigError(f"{type(model).__name__} has no core backbone attribute 'backbone' to export")
    twin = copy.copy(model)  # shallow: the submodules (and so the weights) are the original's
    twin._modules = dict(model._modules)
    twin._modules["backbone"] = GraphBackbone(backbone=backbone)
    return twin.eval()
