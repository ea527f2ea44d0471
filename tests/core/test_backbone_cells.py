"""Cell-specific behaviour: elman_ref = nn.RNN, IndRNN's bound, min* scan paths, inits, registry."""

from __future__ import annotations

import pytest
import torch
from sequence_checks import check_padding_invariance
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from core import CELLS, build_backbone
from core.errors import ConfigError
from core.nn.cells import CELL_REGISTRY, CellSpec, register_cell
from core.nn.cells.common import last_state


@pytest.mark.parametrize("nonlinearity", ("tanh", "relu"))
def test_elman_ref_matches_nn_rnn_to_1e6(nonlinearity):
    torch.set_default_dtype(torch.float64)  # 1e-6 is a statement about the maths, not float32 noise
    try:
        ours = build_backbone(
            "elman_ref", 4, 6, num_layers=2, bidirectional=True, nonlinearity=nonlinearity
        ).eval()
        ref = nn.RNN(4, 6, num_layers=2, bidirectional=True, nonlinearity=nonlinearity, batch_first=True)
        mine = [
            w
            for pair in ours.layers
            for cell in pair
            for w in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
        ]
        with torch.no_grad():
            for theirs, w in zip(ref._flat_weights, mine, strict=True):
                theirs.copy_(w)
        x, lengths = torch.randn(3, 8, 4), torch.tensor([8, 3, 5])
        out, _, state = ours(x, lengths)
        packed, ref_state = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        ref_out, _ = pad_packed_sequence(packed, batch_first=True, total_length=8)
        assert (out - ref_out).abs().max() < 1e-6 and (state - ref_state).abs().max() < 1e-6
    finally:
        torch.set_default_dtype(torch.float32)


def test_indrnn_bound_keeps_gradient_over_the_horizon_at_max_gradient():
    """With u at (or above) its bound and active relus, dh_T/dh_0 = bound^T = max_gradient."""
    backbone = build_backbone("indrnn", 2, 3, horizon=50, max_gradient=2.0)
    cell = backbone.layers[0][0]
    with torch.no_grad():
        cell.weight_hh.fill_(10.0)  # far above the bound: the forward pass clamps it
        cell.weight_ih.zero_()
        cell.bias.fill_(0.1)  # keeps every pre-activation positive
    h0 = torch.ones(1, 1, 3, requires_grad=True)  # (L*D, B, H)
    out, _, _ = backbone(torch.zeros(1, 50, 2), torch.tensor([50]), h0)
    (grad,) = torch.autograd.grad(out[0, -1].sum(), h0)
    torch.testing.assert_close(grad, torch.full_like(grad, 2.0), rtol=1e-4, atol=0)


def test_indrnn_is_elementwise_recurrence():
    backbone = build_backbone("indrnn", 1, 2, nonlinearity="tanh")
    cell = backbone.layers[0][0]
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor([[1.0], [2.0]]))
        cell.weight_hh.copy_(torch.tensor([0.5, 1.0]))
        cell.bias.zero_()
    out, _, _ = backbone(torch.tensor([[[0.3], [0.1]]]), torch.tensor([2]))
    h1 = torch.tanh(torch.tensor([0.3, 0.6]))
    h2 = torch.tanh(torch.tensor([0.1, 0.2]) + torch.tensor([0.5, 1.0]) * h1)
    torch.testing.assert_close(out[0], torch.stack([h1, h2]))


@pytest.mark.parametrize("relu", (True, False), ids=("relu", "tanh"))
def test_indrnn_written_out_backward_passes_gradcheck(relu):
    from core.nn.cells.indrnn import IndRecurrence

    p = torch.randn(12, 3, 4, dtype=torch.float64, requires_grad=True)
    u = torch.rand(4, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p, u, h0: IndRecurrence.apply(p, u, h0, relu), (p, u, h0))


def test_min_cells_sequential_scan_passes_gradcheck():
    from core.nn.cells.minrnn import scan_sequential

    args = [torch.rand(2, 15, 3, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    h0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(scan_sequential, (*args, h0))


@pytest.mark.parametrize("cell", ("mingru", "minlstm"))
def test_min_cells_sequential_and_log_space_scan_agree(cell):
    x, lengths = torch.randn(3, 200, 4), torch.tensor([200, 57, 130])
    h0 = torch.randn(1, 3, 8)
    seq = build_backbone(cell, 4, 8, mode="sequential")
    par = build_backbone(cell, 4, 8, mode="parallel")
    par.load_state_dict(seq.state_dict())
    out_s, _, state_s = seq(x, lengths, h0)
    out_p, _, state_p = par(x, lengths, h0)
    torch.testing.assert_close(out_p, out_s, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(state_p, state_s, atol=1e-4, rtol=1e-4)
    grads = [torch.autograd.grad(out.pow(2).sum(), m.parameters()) for out, m in ((out_s, seq), (out_p, par))]
    for g_s, g_p in zip(*grads):  # float32 log-space loses ~1e-5 of the largest gradient
        assert (g_p - g_s).abs().max() <= 1e-3 * g_s.abs().max()
    assert (
        seq.layers[0][0]._path(x) == "sequential"
        and build_backbone(cell, 4, 8).layers[0][0]._path(x) == "sequential"
    )


def test_mingru_follows_the_paper_equations():
    backbone = build_backbone("mingru", 3, 2)
    cell = backbone.layers[0][0]
    x = torch.randn(1, 4, 3)
    out, _, _ = backbone(x, torch.tensor([4]))
    k, v = cell.proj(x).chunk(2, dim=-1)
    z, h_tilde = torch.sigmoid(k), torch.where(v >= 0, v + 0.5, torch.sigmoid(v))
    h = torch.zeros(2)
    for t in range(4):
        h = (1 - z[0, t]) * h + z[0, t] * h_tilde[0, t]
        torch.testing.assert_close(out[0, t], h, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
def test_every_cell_accepts_init_and_rejects_unknown_schemes(cell):
    torch.manual_seed(1)
    default = build_backbone(cell, 3, 4, init="torch").state_dict()
    torch.manual_seed(1)
    ours = build_backbone(cell, 3, 4, init="auto").state_dict()
    assert any(not torch.equal(default[k], ours[k]) for k in default)
    with pytest.raises(ConfigError, match="init"):
        build_backbone(cell, 3, 4, init="magic")


class _Decay(nn.Module):
    """A toy cell: h_t = 0.5 h_{t-1} + W x_t, to show a new cell is one registry entry."""

    def __init__(self, *, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size, self.proj = hidden_size, nn.Linear(input_size, hidden_size)

    def forward(self, x, lengths, state=None):
        h0 = x.new_zeros(x.shape[0], self.hidden_size) if state is None else state
        h, outs = h0, []
        for t in range(x.shape[1]):
            h = 0.5 * h + self.proj(x[:, t])
            outs.append(h)
        out = torch.stack(outs, dim=1)
        return out, last_state(out, lengths, h0)


def test_a_new_cell_is_one_registry_entry():
    register_cell(CellSpec("decay_toy", _Decay))
    try:
        backbone = build_backbone("decay_toy", 3, 4, num_layers=2, bidirectional=True, layer_norm=True).eval()

        def fn(x, lengths):
            out, _, state = backbone(x, lengths)
            return [out], [state.transpose(0, 1)]

        check_padding_invariance(fn, [torch.randn(n, 3) for n in (5, 2, 4)])
    finally:
        del CELL_REGISTRY["decay_toy"]


def test_chrono_init_spreads_retain_gates_up_to_the_horizon():
    import math

    top = math.log(49)
    lstm = build_backbone("lstm", 3, 64, init="chrono", horizon=50).layers[0][0]
    forget, inp = lstm.bias_ih.detach()[64:128], lstm.bias_ih.detach()[:64]
    assert 0 <= forget.min() and forget.max() <= top and forget.std() > 0.3
    torch.testing.assert_close(inp, -forget)
    gru_z = build_backbone("gru", 3, 64, init="chrono", horizon=50).layers[0][0].bias_ih.detach()[64:128]
    assert 0 <= gru_z.min() and gru_z.max() <= top  # torch's GRU keeps h_{t-1} with weight z
    mingru_z = build_backbone("mingru", 3, 64, init="chrono", horizon=50).layers[0][0].proj.bias.detach()[:64]
    assert -top <= mingru_z.min() and mingru_z.max() <= 0  # minGRU keeps h_{t-1} with weight 1 - z
    with pytest.raises(ConfigError, match="gates"):
        build_backbone("rnn", 3, 4, init="chrono")
