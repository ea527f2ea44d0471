"""Padded sequence batches and the length arithmetic every module shares.

Lengths are absolute integer counts (never fractions). Masks are derived from
lengths at the point of use; nothing stores a mask beside the lengths.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import Tensor


@dataclass
class SequenceBatch:
    """A padded batch: ``inputs`` (B, T, F) or token ids (B, T), ``lengths`` (B,).

    ``targets`` is (B,) for classification or (B, S) padded labels with
    ``target_lengths`` (B,) for sequence targets (CTC). Those four fields are all a batch
    holds; anything else about an item (its text, utterance id) stays with the dataset.

    Example:
        >>> b = SequenceBatch(torch.zeros(2, 5, 3), torch.tensor([5, 2]), torch.tensor([0, 1]))
        >>> b.mask().sum().item()
        7
    """

    inputs: Tensor
    lengths: Tensor
    targets: Tensor | None = None
    target_lengths: Tensor | None = None

    def to(self, device: torch.device | str) -> "SequenceBatch":
        moved = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, value in moved.items():
            if isinstance(value, Tensor):
                # lengths stay int64; non_blocking only helps with pinned memory
                moved[name] = value.to(device, non_blocking=True)
        return SequenceBatch(**moved)

    def mask(self) -> Tensor:
        return lengths_to_mask(self.lengths, self.inputs.shape[1])

    def __len__(self) -> int:
        return int(self.lengths.shape[0])


def lengths_to_mask(lengths: Tensor, max_len: int | None = None) -> Tensor:
    """(B,) lengths -> (B, T) bool mask, True at valid steps.

    A given ``max_len`` is used as is (no ``int()``), so a traced graph keeps T symbolic (ONNX export).
    """
    max_len = int(lengths.max()) if max_len is None else max_len
    steps = torch.arange(max_len, device=lengths.device)  # (T,)
    return steps.unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)


def reverse_within_lengths(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each sequence inside its own length; padding stays at the end.

    x: (B, T, ...) -> (B, T, ...). Applying it twice gives x back (valid steps).
    """
    batch, max_len = x.shape[0], x.shape[1]
    steps = torch.arange(max_len, device=x.device).unsqueeze(0)  # (1, T)
    lens = lengths.to(x.device).unsqueeze(1)  # (B, 1)
    # valid step t reads from length-1-t; padded steps read from themselves
    index = torch.where(steps < lens, lens - 1 - steps, steps)  # (B, T)
    index = index.view(batch, max_len, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


def gather_last(x: Tensor, lengths: Tensor) -> Tensor:
    """Each sequence's output at its last valid step: (B, T, D) -> (B, D)."""
    index = (lengths.to(x.device) - 1).clamp(min=0)  # (B,)
    index = index.view(-1, 1, 1).expand(-1, 1, x.shape[2])  # (B, 1, D)
    return x.gather(1, index).squeeze(1)


def pad_sequences(items: list[Tensor], padding_value: float = 0.0) -> tuple[Tensor, Tensor]:
    """List of (T_i, ...) tensors -> padded (B, T_max, ...) and lengths (B,)."""
    if not items:
        raise ValueError("pad_sequences: empty list of sequences")
    lengths = torch.tensor([int(t.shape[0]) for t in items], dtype=torch.long)
    padded = torch.nn.utils.rnn.pad_sequence(items, batch_first=True, padding_value=padding_value)
    return padded, lengths
