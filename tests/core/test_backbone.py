"""Every registered cell, uni/bi, 1/2 layers: exact variable lengths, state passing, gradients.

New cells in core.nn.cells.CELL_REGISTRY are picked up automatically by the parametrisation.
"""

from __future__ import annotations

import pytest
import torch
from sequence_checks import (
    check_gradient_reaches_first_step,
    check_padded_outputs_zero,
    check_padding_invariance,
)

from core import CELLS, build_backbone
from core.errors import ConfigError

F_IN, HID = 3, 5
LENGTHS = (7, 3, 5, 1)
SHAPES = [(layers, bi) for layers in (1, 2) for bi in (False, True)]
SHAPE_IDS = [f"{'bi' if bi else 'uni'}{layers}" for layers, bi in SHAPES]


def _states(state) -> list[torch.Tensor]:
    """(L*D, B, H) tensor(s) -> list of (B, L*D, H) so batch is dim 0."""
    parts = state if isinstance(state, tuple) else (state,)
    return [p.transpose(0, 1) for p in parts]


def _split(backbone):
    def fn(x, lengths):
        out, _, state = backbone(x, lengths)
        return [out], _states(state)

    return fn


def _sequences():
    return [torch.randn(n, F_IN) for n in LENGTHS]


@pytest.fixture(params=CELLS)
def cell(request):
    return request.param


@pytest.mark.parametrize("layers,bi", SHAPES, ids=SHAPE_IDS)
def test_padding_invariance(cell, layers, bi):
    backbone = build_backbone(cell, F_IN, HID, num_layers=layers, bidirectional=bi).eval()
    check_padding_invariance(_split(backbone), _sequences())


@pytest.mark.parametrize("layers,bi", SHAPES, ids=SHAPE_IDS)
def test_padded_outputs_are_zero_and_shapes(cell, layers, bi):
    backbone = build_backbone(cell, F_IN, HID, num_layers=layers, bidirectional=bi).eval()
    check_padded_outputs_zero(_split(backbone), _sequences())
    out, lengths, _ = backbone(torch.randn(4, 7, F_IN), torch.tensor(LENGTHS))
    assert out.shape == (4, 7, backbone.output_size) and backbone.output_size == HID * (2 if bi else 1)
    assert lengths.tolist() == list(LENGTHS)


@pytest.mark.parametrize("layers,bi", SHAPES, ids=SHAPE_IDS)
def test_gradients_reach_first_step(cell, layers, bi):
    # 32 units: with relu cells (indrnn) a handful of units can all be off at some step
    backbone = build_backbone(cell, F_IN, 32, num_layers=layers, bidirectional=bi)
    check_gradient_reaches_first_step(_split(backbone), _sequences())


@pytest.mark.parametrize("layers", (1, 2))
def test_step_by_step_equals_whole_sequence(cell, layers):
    """Feeding chunks (here: single steps, then the rest) with the state passed on gives the
    same outputs and final state as one call. Bidirectional layers need the whole sequence."""
    backbone = build_backbone(cell, F_IN, HID, num_layers=layers).eval()
    x, lengths = torch.randn(4, 7, F_IN), torch.tensor(LENGTHS)
    whole, _, whole_state = backbone(x, lengths)
    state, outs = None, []
    for start, end in ((0, 1), (1, 2), (2, 4), (4, 7)):
        chunk_lengths = (lengths - start).clamp(0, end - start)  # a finished sequence gets length 0
        out, _, state = backbone(x[:, start:end], chunk_lengths, state)
        outs.append(out)
    torch.testing.assert_close(torch.cat(outs, dim=1), whole, atol=1e-5, rtol=1e-4)
    for got, want in zip(_states(state), _states(whole_state)):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "options",
    [dict(layer_norm=True), dict(residual=True), dict(layer_norm=True, residual=True, dropout=0.3)],
    ids=["ln", "residual", "ln+res+dropout"],
)
def test_layer_options_stay_padding_invariant(cell, options):
    backbone = build_backbone(cell, F_IN, HID, num_layers=2, bidirectional=True, **options).eval()
    check_padding_invariance(_split(backbone), _sequences())
    assert (backbone.norms is not None) == options.get("layer_norm", False)


def test_dropout_only_in_training(cell):
    backbone = build_backbone(cell, F_IN, HID, num_layers=2, dropout=0.5)
    x, lengths = torch.randn(4, 7, F_IN), torch.tensor(LENGTHS)
    train_a, train_b = backbone(x, lengths)[0], backbone(x, lengths)[0]
    assert not torch.allclose(train_a, train_b)
    backbone.eval()
    torch.testing.assert_close(backbone(x, lengths)[0], backbone(x, lengths)[0])


def test_equal_lengths_fast_path_matches_layer_by_layer(cell):
    backbone = build_backbone(cell, F_IN, HID, num_layers=2, bidirectional=True).eval()
    x = torch.randn(3, 6, F_IN)
    fast, _, fast_state = backbone(x, torch.tensor([6, 6, 6]))
    slow, slow_state = backbone._layer_by_layer(x, None, None)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-4)
    for got, want in zip(_states(fast_state), _states(slow_state)):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "bad,field",
    [
        (dict(cell="transformer"), "cell"),
        (dict(hidden_size=0), "hidden_size"),
        (dict(input_size=2.5), "input_size"),
        (dict(num_layers=0), "num_layers"),
        (dict(dropout=1.5), "dropout"),
        (dict(colour="red"), "colour"),
    ],
)
def test_bad_configuration_names_the_field(bad, field):
    args = dict(cell="lstm", input_size=3, hidden_size=4) | bad
    with pytest.raises(ConfigError, match=field):
        build_backbone(args.pop("cell"), args.pop("input_size"), args.pop("hidden_size"), **args)


def test_bad_lengths_and_input_shape_raise_config_error():
    backbone = build_backbone("gru", 3, 4)
    with pytest.raises(ConfigError, match="lengths"):
        backbone(torch.randn(2, 5, 3), torch.tensor([6, 2]))
    with pytest.raises(ConfigError, match="input"):
        backbone(torch.randn(2, 5, 4), torch.tensor([5, 2]))
