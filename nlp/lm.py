"""A language model of the text classifier's own parts: embedding + shared backbone + adaptive softmax.

Unidirectional backbone: every position predicts the next token, and the state is carried from
one BPTT window to the next (truncated back-propagation, Merity et al. 2017). Bidirectional
backbone (one layer only, so no direction ever sees what it must predict): the forward half
predicts the next token and the backward half the previous one (Peters et al. 2018's biLM),
both through one shared softmax; windows start from a zero state. The output layer is
``nn.AdaptiveLogSoftmaxWithLoss`` (Grave et al. 2017): frequent words get a full-size head,
rarer ones smaller clusters, so a 30k vocabulary trains on a CPU.

Example:
    >>> from core.nn.backbone import build_backbone
    >>> lm = LanguageModel(vocab_size=50, embed_dim=8, backbone=build_backbone("lstm", 8, 16))
    >>> window = torch.randint(2, 50, (3, 12))
    >>> losses, state = lm(window, None)
    >>> sorted(losses), tuple(state[0].shape)
    (['forward'], (1, 3, 16))
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from core.engine.checkpoint import load_checkpoint
from core.errors import CheckpointError, ConfigError
from core.nn.backbone import Backbone
from nlp.vocab import PAD_ID, Vocab

DOMAIN = "nlp-lm"
"""Checkpoint domain of a pretrained language model (not a classifier: nlp.predict refuses it)."""


def cutoffs_for(vocab_size: int) -> list[int]:
    """Adaptive-softmax cluster edges: the 2k most frequent ids, the next 8k, the rest (all < vocab_size)."""
    return [c for c in (2000, 10000) if c < vocab_size - 1] or [max(1, vocab_size // 2)]


class LanguageModel(nn.Module):
    """``forward(window (B, L+2), state) -> ({direction: mean NLL}, state)``; window ids are contiguous text."""

    def __init__(self, *, vocab_size: int, embed_dim: int, backbone: Backbone, dropout: float = 0.0):
        super().__init__()
        if backbone.num_directions == 2 and backbone.num_layers > 1:
            raise ConfigError(
                "pretrain: a bidirectional language model needs --layers 1 "
                "(a second layer would let the forward direction see the next token)"
            )
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        self.backbone = backbone  # the classifier's attribute names, so its tensors load there by name
        self.dropout = nn.Dropout(dropout)
        self.head = nn.AdaptiveLogSoftmaxWithLoss(
            backbone.hidden_size, vocab_size, cutoffs_for(vocab_size), div_value=4.0
        )

    @property
    def bidirectional(self) -> bool:
        return self.backbone.num_directions == 2

    def forward(self, window: Tensor, state=None) -> tuple[dict[str, Tensor], object]:
        inputs = window[:, 1:-1]  # (B, L): predicts window[:, 2:] forward, window[:, :-2] backward
        lengths = torch.full((inputs.shape[0],), inputs.shape[1], dtype=torch.long, device=inputs.device)
        outputs, _, state = self.backbone(
            self.dropout(self.embedding(inputs)), lengths, None if self.bidirectional else state
        )  # (B, L, D)
        outputs = self.dropout(outputs)
        hidden = self.backbone.hidden_size
        losses = {"forward": self._nll(outputs[..., :hidden], window[:, 2:])}
        if self.bidirectional:
            losses["backward"] = self._nll(outputs[..., hidden:], window[:, :-2])
        return losses, state

    def _nll(self, features: Tensor, targets: Tensor) -> Tensor:
        return self.head(features.reshape(-1, features.shape[-1]), targets.reshape(-1)).loss


def detach_state(state):
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def batchify(ids: Tensor, batch_size: int) -> Tensor:
    """A token stream (N,) -> (B, N // B): row b is the b-th contiguous slice (the usual LM layout)."""
    columns = ids.shape[0] // batch_size
    return ids[: columns * batch_size].view(batch_size, columns)


def windows(stream: Tensor, bptt: int):
    """Windows (B, bptt+2) overlapping by 2 so that their inputs (``[:, 1:-1]``) tile the stream."""
    for start in range(0, stream.shape[1] - 2, bptt):
        window = stream[:, start : start + bptt + 2]
        if window.shape[1] >= 3:
            yield window


def text_parts(path: str | Path) -> tuple[Vocab, Tensor] | None:
    """(vocabulary, embedding (V, E)) a text task can start from, or None when the checkpoint has neither."""
    state = load_checkpoint(path)
    vocab_meta, weight = (
        state["meta"].get("vocab"),
        state["model"].get("embedding.weight", state["model"].get("front.embedding.weight")),
    )
    if not vocab_meta or weight is None:
        return None
    vocab = Vocab.from_meta(vocab_meta)
    if weight.shape[0] != len(vocab):
        raise CheckpointError(
            f"{path}: vocabulary has {len(vocab)} tokens but the embedding {weight.shape[0]} rows"
        )
    return vocab, weight
