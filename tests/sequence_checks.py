"""Reusable checks for any model that takes padded sequences and lengths.

Use the functions directly, or subclass ``SequenceModelChecks`` in a test class
(like torchaudio's shared Conformer test implementations)::

    from sequence_checks import SequenceModelChecks

    class TestMyModel(SequenceModelChecks):
        def make_model(self):            # -> module called as model(x, lengths)
            return MyModel(...).eval()
        def make_sequences(self):        # -> list of (T_i, F) tensors (or (T_i,) ids)
            return [torch.randn(n, 8) for n in (7, 3, 5)]

``tests/`` is on sys.path for every test (pytest prepends the directory of the root
conftest.py), so ``import sequence_checks`` works from tests/<domain>/ too.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor

from core.nn.sequence import gather_last, lengths_to_mask, pad_sequences

# fn(padded (B, T, ...), lengths (B,)) -> (per_step tensors (B, T, ...), per_sequence tensors (B, ...))
SplitFn = Callable[[Tensor, Tensor], tuple[Sequence[Tensor], Sequence[Tensor]]]


def as_split(model) -> SplitFn:
    """Adapt a model: a (B, T, ...) result is per-step, a (B, ...) one (e.g. logits) per-sequence."""

    def fn(x: Tensor, lengths: Tensor):
        out = model(x, lengths)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        tensors = [o for o in outs if isinstance(o, Tensor) and o.is_floating_point()]
        per_step = [o for o in tensors if o.dim() >= 3 and o.shape[1] == x.shape[1]]
        per_seq = [o for o in tensors if not (o.dim() >= 3 and o.shape[1] == x.shape[1])]
        return per_step, per_seq

    return fn


def check_padding_invariance(
    fn: SplitFn, sequences: list[Tensor], *, atol: float = 1e-5, extra_padding: int = 2
) -> None:
    """Each sequence gives the same valid outputs and summary alone as inside a padded batch.

    The batch is padded with ``extra_padding`` steps beyond the longest sequence and the
    padding is filled with large noise, so a model that reads padding fails loudly.
    """
    padded, lengths = pad_sequences(sequences)
    tail = padded.new_zeros((padded.shape[0], extra_padding, *padded.shape[2:]))
    padded = torch.cat([padded, tail], dim=1)  # (B, T + extra, ...)
    valid = lengths_to_mask(lengths, padded.shape[1]).view(*padded.shape[:2], *([1] * (padded.dim() - 2)))
    # noise for features; token id 1 (a real token, not the padding id) for id inputs
    filler = 50 * torch.randn_like(padded) if padded.is_floating_point() else torch.ones_like(padded)
    padded = torch.where(valid, padded, filler)
    batch_steps, batch_seq = fn(padded, lengths)
    for b, seq in enumerate(sequences):
        alone_steps, alone_seq = fn(seq.unsqueeze(0), lengths[b : b + 1])
        n = int(lengths[b])
        for got, want in zip(batch_steps, alone_steps):
            torch.testing.assert_close(
                got[b, :n],
                want[0, :n],
                atol=atol,
                rtol=1e-4,
                msg=lambda m, b=b: f"sequence {b} per-step output differs when padded: {m}",
            )
        for got, want in zip(batch_seq, alone_seq):
            torch.testing.assert_close(
                got[b],
                want[0],
                atol=atol,
                rtol=1e-4,
                msg=lambda m, b=b: f"sequence {b} summary differs when padded: {m}",
            )


def check_padded_outputs_zero(fn: SplitFn, sequences: list[Tensor]) -> None:
    padded, lengths = pad_sequences(sequences)
    per_step, _ = fn(padded, lengths)
    for out in per_step:
        for b, n in enumerate(lengths.tolist()):
            assert torch.all(out[b, n:] == 0), f"sequence {b}: outputs after its length {n} are not 0"


def check_gradient_reaches_first_step(fn: SplitFn, sequences: list[Tensor]) -> None:
    """d(summary of each sequence)/d(x at t=0) is non-zero for every sequence."""
    padded, lengths = pad_sequences(sequences)
    padded = padded.clone().requires_grad_(True)
    per_step, per_seq = fn(padded, lengths)
    total = sum(o.sum() for o in per_seq) + sum(gather_last(o.flatten(2), lengths).sum() for o in per_step)
    (grad,) = torch.autograd.grad(total, padded)
    first = grad[:, 0].flatten(1).abs().sum(dim=1)  # (B,)
    assert torch.all(first > 0), (
        f"no gradient reaches t=0 for sequences {torch.nonzero(first == 0).flatten().tolist()}"
    )


class SequenceModelChecks:
    """Mixin: subclass in a ``Test*`` class and define make_model() and make_sequences()."""

    atol = 1e-5

    def make_model(self):
        raise NotImplementedError

    def make_sequences(self) -> list[Tensor]:
        raise NotImplementedError

    def test_padding_invariance(self):
        check_padding_invariance(as_split(self.make_model()), self.make_sequences(), atol=self.atol)

    def test_gradient_reaches_first_step(self):
        check_gradient_reaches_first_step(as_split(self.make_model()), self.make_sequences())
