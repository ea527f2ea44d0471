"""Pooling reads valid steps only; `last` is per direction."""

from __future__ import annotations

import pytest
import torch
from sequence_checks import check_padding_invariance

from core import Pooling, build_backbone
from core.errors import ConfigError

LENGTHS = torch.tensor([4, 1, 3])


def _outputs_with_noisy_padding(dim: int = 6) -> torch.Tensor:
    out = torch.randn(3, 5, dim)
    for b, n in enumerate(LENGTHS.tolist()):
        out[b, n:] = 1e3  # a pooling that reads padding is visibly wrong
    return out


@pytest.mark.parametrize("kind", ["last", "mean", "max", "attention"])
def test_padding_never_contributes(kind):
    pool = Pooling(kind, 6)
    out = _outputs_with_noisy_padding()
    pooled = pool(out, LENGTHS)  # (B, D)
    for b, n in enumerate(LENGTHS.tolist()):
        torch.testing.assert_close(pooled[b : b + 1], pool(out[b : b + 1, :n], LENGTHS[b : b + 1]))
    assert pooled.shape == (3, 6) and pooled.abs().max() < 1e2


def test_mean_and_max_values():
    out = torch.tensor([[[1.0], [3.0], [9.0]], [[-2.0], [-4.0], [9.0]]])  # (2, 3, 1)
    lengths = torch.tensor([2, 2])
    assert Pooling("mean", 1)(out, lengths).flatten().tolist() == [2.0, -3.0]
    assert Pooling("max", 1)(out, lengths).flatten().tolist() == [3.0, -2.0]


def test_last_takes_forward_at_length_minus_one_and_backward_at_zero():
    out = torch.arange(3 * 5 * 4, dtype=torch.float).view(3, 5, 4)
    pooled = Pooling("last", 4, num_directions=2)(out, LENGTHS)
    for b, n in enumerate(LENGTHS.tolist()):
        assert pooled[b, :2].tolist() == out[b, n - 1, :2].tolist()
        assert pooled[b, 2:].tolist() == out[b, 0, 2:].tolist()


def test_bidirectional_last_equals_both_final_states():
    backbone = build_backbone("gru", 3, 4, bidirectional=True).eval()
    out, _, state = backbone(torch.randn(3, 5, 3), LENGTHS)  # state (2, B, 4)
    pooled = Pooling("last", 8, num_directions=2)(out, LENGTHS)
    torch.testing.assert_close(pooled, torch.cat([state[0], state[1]], dim=-1))


def test_attention_weights_learn_and_stay_padding_invariant():
    pool = Pooling("attention", 6)
    check_padding_invariance(lambda x, n: ([], [pool(x, n)]), [torch.randn(n, 6) for n in (4, 1, 3)])
    pool(torch.randn(2, 3, 6), torch.tensor([3, 2])).sum().backward()
    assert pool.score[0].weight.grad.abs().sum() > 0


def test_bad_kind_or_directions_raise_config_error():
    with pytest.raises(ConfigError, match="pooling"):
        Pooling("median", 4)
    with pytest.raises(ConfigError, match="num_directions"):
        Pooling("last", 5, num_directions=2)
