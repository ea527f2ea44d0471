"""The shared recurrent backbone: registry lookup, stacking, directions, dropout, LN, residual.

Variable lengths are exact without packing: the forward direction runs padded (valid
outputs never see padding) and takes each sequence's state after its own last step; the
reverse direction runs the same forward-direction layer on every sequence reversed
within its own length, and reverses the outputs back. Outputs at padded steps are 0.

Example:
    >>> import torch
    >>> from core import build_backbone
    >>> rnn = build_backbone("gru", 8, 16, num_layers=2, bidirectional=True)
    >>> out, lengths, state = rnn(torch.randn(3, 5, 8), torch.tensor([5, 2, 4]))
    >>> tuple(out.shape), tuple(state.shape), float(out[1, 2:].detach().abs().sum())
    ((3, 5, 32), (4, 3, 16), 0.0)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from core.errors import ConfigError
from core.nn.cells import CELL_REGISTRY
from core.nn.cells.fused import FusedLayer, fused_stack
from core.nn.sequence import lengths_to_mask, reverse_within_lengths

CELLS: tuple[str, ...] = tuple(CELL_REGISTRY)


def _checked_spec(cell: str, input_size, hidden_size, num_layers, dropout, cell_options: dict):
    """The cell's registry entry once every constructor argument is valid; ConfigError names the bad one."""
    if cell not in CELL_REGISTRY:
        raise ConfigError(f"cell: unknown cell {cell!r} (choose from {', '.join(CELL_REGISTRY)})")
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
        _check_positive_int(name, value)
    if not 0.0 <= float(dropout) < 1.0:
        raise ConfigError(f"dropout: must be in [0, 1), got {dropout!r}")
    spec = CELL_REGISTRY[cell]
    unknown = sorted(set(cell_options) - set(spec.options))
    if unknown:
        raise ConfigError(
            f"{unknown[0]}: not an option of cell {cell!r} (options: {', '.join(spec.options) or 'none'})"
        )
    return spec


def _check_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}: must be a positive integer, got {value!r}")


class Backbone(nn.Module):
    """Stacked (bi)directional recurrent layers of one registered cell.

    ``forward(x (B,T,F), lengths (B,), state=None) -> (outputs (B,T,D), lengths, state)``
    with D = hidden_size * num_directions. ``state`` uses torch's layout: a (L*D, B, H)
    tensor, or a tuple of two for LSTM (h, c); index = layer * num_directions + direction.
    """

    def __init__(
        self,
        *,
        cell: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        layer_norm: bool = False,
        residual: bool = False,
        **cell_options,
    ):
        super().__init__()
        spec = _checked_spec(cell, input_size, hidden_size, num_layers, dropout, cell_options)
        self.cell, self.input_size, self.hidden_size = cell, input_size, hidden_size
        self.num_layers, self.num_directions = num_layers, 2 if bidirectional else 1
        self.dropout, self.layer_norm, self.residual = float(dropout), layer_norm, residual
        self.state_parts = spec.state_parts
        self.output_size = hidden_size * self.num_directions
        self.layers = nn.ModuleList()
        for i in range(num_layers):
            size_in = input_size if i == 0 else self.output_size
            self.layers.append(
                nn.ModuleList(
                    spec.build(input_size=size_in, hidden_size=hidden_size, **cell_options)
                    for _ in range(self.num_directions)
                )
            )
        self.norms = (
            nn.ModuleList(nn.LayerNorm(self.output_size) for _ in range(num_layers)) if layer_norm else None
        )
        self.drop = nn.Dropout(self.dropout)
        flat = [layer for pair in self.layers for layer in pair]
        self._fusable = not layer_norm and not residual and all(isinstance(m, FusedLayer) for m in flat)
        self.trace: list | None = None  # a list: run step by step, record h_t (core.tools.diagnostics)

    def extra_repr(self) -> str:
        return (
            f"cell={self.cell!r}, input_size={self.input_size}, hidden_size={self.hidden_size}, "
            f"num_layers={self.num_layers}, bidirectional={self.num_directions == 2}"
        )

    def forward(self, x: Tensor, lengths: Tensor, state=None):
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ConfigError(f"backbone input: expected (B, T, {self.input_size}), got {tuple(x.shape)}")
        batch, steps = x.shape[0], x.shape[1]
        lengths = torch.as_tensor(lengths, dtype=torch.long)
        if lengths.shape != (batch,) or (batch and (int(lengths.max()) > steps or int(lengths.min()) < 0)):
            raise ConfigError(f"lengths: expected {batch} integers in 0..{steps}, got {lengths.tolist()}")
        full = batch == 0 or bool((lengths == steps).all())
        if full and self._fusable and self.trace is None and self._torch_kernels(x):
            flat = [layer for pair in self.layers for layer in pair]
            out, state = fused_stack(
                flat,
                x,
                state,
                bidirectional=self.num_directions == 2,
                dropout=self.dropout,
                training=self.training,
            )
            return out, lengths, state
        out, state = self._layer_by_layer(x, None if full else lengths, state)
        if not full:
            mask = lengths_to_mask(lengths.to(out.device), steps).unsqueeze(-1)  # (B, T, 1)
            out = out * mask
        return out, lengths, state

    def _torch_kernels(self, x: Tensor) -> bool:
        return all(layer.torch_kernel(x) for pair in self.layers for layer in pair)

    def _layer_by_layer(self, x: Tensor, lengths: Tensor | None, state):
        finals = []
        h = x  # (B, T, F)
        for i, directions in enumerate(self.layers):
            outs = []
            for d, layer in enumerate(directions):
                given = self._slice_state(state, i * self.num_directions + d)
                if d == 0:
                    y, s = self._run(layer, h, lengths, given, (i, d))
                else:
                    y, s = self._run(layer, self._reverse(h, lengths), lengths, given, (i, d))
                    y = self._reverse(y, lengths)
                outs.append(y)  # (B, T, H)
                finals.append(s)
            y = outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)  # (B, T, D)
            if self.residual and y.shape == h.shape:
                y = y + h
            if self.norms is not None:
                y = self.norms[i](y)
            h = self.drop(y) if i < self.num_layers - 1 else y
        return h, self._stack_states(finals)

    def _run(self, layer: nn.Module, x: Tensor, lengths: Tensor | None, state, where: tuple[int, int]):
        """One layer-direction; with ``self.trace`` set, one step at a time, recording h_t.

        Stepping with the state passed on is exact (tested), and makes every h_t a tensor
        of its own in the graph, so dLoss/dh_t is the *total* gradient through the recurrence.
        """
        if self.trace is None:
            return layer(x, lengths, state)
        outputs, states = [], []
        for t in range(x.shape[1]):
            step_lengths = None if lengths is None else (lengths - t).clamp(0, 1)  # 0 once finished
            _, state = layer(x[:, t : t + 1], step_lengths, state)
            h = state[0] if isinstance(state, tuple) else state  # h_t (B, H)
            # every cell's output at t is h_t; reading it from the state tensor routes the
            # head's gradient and the next step's through the one recorded tensor
            outputs.append(h.unsqueeze(1))  # (B, 1, H)
            states.append(h)
        # the lengths this layer saw: a domain front-end (e.g. speech subsampling) may have
        # shortened the sequences after the batch was made
        seen = torch.full((x.shape[0],), x.shape[1], dtype=torch.long) if lengths is None else lengths
        self.trace.append({"layer": where[0], "direction": where[1], "states": states, "lengths": seen})
        return torch.cat(outputs, dim=1), state

    @staticmethod
    def _reverse(x: Tensor, lengths: Tensor | None) -> Tensor:
        return x.flip(1) if lengths is None else reverse_within_lengths(x, lengths)

    def _slice_state(self, state, index: int):
        if state is None:
            return None
        if self.state_parts == 2:
            return state[0][index], state[1][index]
        return state[index]

    def _stack_states(self, finals: list):
        if self.state_parts == 2:
            return torch.stack([s[0] for s in finals]), torch.stack([s[1] for s in finals])
        return torch.stack(finals)  # (L*D, B, H)


def build_backbone(
    cell: str,
    input_size: int,
    hidden_size: int,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    layer_norm: bool = False,
    residual: bool = False,
    **cell_options,
) -> Backbone:
    """Build a backbone of ``cell`` (one of ``core.CELLS``); bad names/sizes raise ConfigError."""
    return Backbone(
        cell=cell,
        input_size=input_size,
        hidden_size=hidden_size,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dropout=dropout,
        layer_norm=layer_norm,
        residual=residual,
        **cell_options,
    )


def backbone_from_config(cfg, input_size: int) -> Backbone:
    """Backbone from a RunConfig's cell/hidden/layers/bidirectional/dropout/layer_norm/residual."""
    return build_backbone(
        cfg.cell,
        input_size,
        cfg.hidden,
        num_layers=cfg.layers,
        bidirectional=cfg.bidirectional,
        dropout=cfg.dropout,
        layer_norm=cfg.layer_norm,
        residual=cfg.residual,
        **(getattr(cfg, "cell_options", None) or {}),
    )
