"""The torch-fused cells give exactly what packed nn.LSTM/GRU/RNN give, and their inits."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from core import RunConfig, backbone_from_config, build_backbone
from core.errors import ConfigError

REFERENCE = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def _reference_with_same_weights(backbone, cell: str, **kwargs) -> nn.Module:
    ref = REFERENCE[cell](
        backbone.input_size,
        backbone.hidden_size,
        num_layers=backbone.num_layers,
        bidirectional=backbone.num_directions == 2,
        batch_first=True,
        **kwargs,
    )
    ours = [w for pair in backbone.layers for layer in pair for w in layer.flat_weights()]
    with torch.no_grad():
        for theirs, mine in zip(ref._flat_weights, ours, strict=True):
            theirs.copy_(mine)
    return ref


@pytest.mark.parametrize("cell", sorted(REFERENCE))
@pytest.mark.parametrize("bi", (False, True), ids=("uni", "bi"))
@pytest.mark.parametrize("lengths", ([9, 2, 6, 1, 8], [9, 9, 8, 9, 7]), ids=("spread", "nearly-full"))
def test_matches_packed_torch_module(cell, bi, lengths):
    backbone = build_backbone(cell, 4, 6, num_layers=2, bidirectional=bi).eval()
    ref = _reference_with_same_weights(backbone, cell).eval()
    x, lengths = torch.randn(5, 9, 4), torch.tensor(lengths)
    out, _, state = backbone(x, lengths)
    packed_out, packed_state = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    packed_out, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=9)
    torch.testing.assert_close(out, packed_out, atol=1e-6, rtol=1e-5)
    ours = state if isinstance(state, tuple) else (state,)
    theirs = packed_state if isinstance(packed_state, tuple) else (packed_state,)
    for got, want in zip(ours, theirs, strict=True):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)


def test_relu_rnn_uses_identity_recurrence_and_lstm_forget_bias_one():
    irnn = build_backbone("rnn", 3, 4, nonlinearity="relu")
    torch.testing.assert_close(irnn.layers[0][0].weight_hh.detach(), torch.eye(4))
    lstm = build_backbone("lstm", 3, 4).layers[0][0]
    forget = (lstm.bias_ih + lstm.bias_hh).detach()[4:8]
    assert torch.all(forget == 1.0) and torch.all(lstm.bias_ih.detach()[:4] == 0)
    w = lstm.weight_hh.detach()[:4]  # input-gate block: orthogonal
    torch.testing.assert_close(w @ w.T, torch.eye(4), atol=1e-5, rtol=0)


def test_relu_nonlinearity_is_used():
    backbone = build_backbone("rnn", 3, 4, nonlinearity="relu").eval()
    out, _, _ = backbone(torch.randn(2, 6, 3), torch.tensor([6, 4]))
    assert out.min() >= 0


def test_backbone_from_config_reads_the_fields():
    cfg = RunConfig(
        cell="gru", hidden=12, layers=2, bidirectional=True, dropout=0.1, layer_norm=True, residual=True
    )
    backbone = backbone_from_config(cfg, 7)
    assert (backbone.cell, backbone.input_size, backbone.hidden_size) == ("gru", 7, 12)
    assert (backbone.num_layers, backbone.num_directions, backbone.output_size) == (2, 2, 24)
    assert backbone.dropout == 0.1 and backbone.layer_norm and backbone.residual


def test_hand_fused_gru_equals_torch_gru_in_outputs_states_and_gradients():
    torch.manual_seed(3)
    hand = build_backbone("gru", 4, 6, num_layers=2, bidirectional=True, impl="handfused")
    ref = build_backbone("gru", 4, 6, num_layers=2, bidirectional=True, impl="torch")
    ref.load_state_dict(hand.state_dict())
    assert not hand.layers[0][0].torch_kernel(torch.zeros(1)) and ref.layers[0][0].torch_kernel(
        torch.zeros(1)
    )
    x, lengths = torch.randn(5, 9, 4, requires_grad=True), torch.tensor([9, 2, 6, 1, 8])
    results = []
    for model in (hand, ref):
        out, _, state = model(x, lengths, torch.randn(4, 5, 6, generator=torch.Generator().manual_seed(0)))
        grads = torch.autograd.grad((out.pow(2).sum() + state.sum()), [x, *model.parameters()])
        results.append((out, state, grads))
    (out_h, state_h, grads_h), (out_r, state_r, grads_r) = results
    torch.testing.assert_close(out_h, out_r, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(state_h, state_r, atol=1e-6, rtol=1e-5)
    for g_h, g_r in zip(grads_h, grads_r, strict=True):
        torch.testing.assert_close(g_h, g_r, atol=1e-5, rtol=1e-4)


def test_hand_fused_gru_passes_gradcheck_in_double():
    from core.nn.cells.gru_cpu import HandFusedGRU

    shapes = [(2, 5, 3), (2, 4), (12, 3), (12, 4), (12,), (12,)]
    args = [torch.randn(*s, dtype=torch.float64, requires_grad=True) for s in shapes]
    assert torch.autograd.gradcheck(HandFusedGRU.apply, args)


def test_impl_option_is_validated():
    with pytest.raises(ConfigError, match="impl"):
        build_backbone("lstm", 3, 4, impl="handfused")
