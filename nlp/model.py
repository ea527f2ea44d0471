"""Token ids -> embedding -> shared backbone -> core's classification head -> class logits.

The model is core's ``SequenceClassifier`` with a ``TokenEmbedding`` front. Regularisers, all
active in training only:

- ``word_dropout``: each real token is replaced by ``<unk>`` with this probability, so the
  model cannot lean on single rare words (it also trains the ``<unk>`` row it meets at test time);
- ``embed_dropout``: dropout on the embedded vectors;
- ``dropout`` (``cfg.dropout``): between recurrent layers (in the backbone) and before the classifier.

Pretrained vectors (``--vectors``, ``nlp.vectors``) set the embedding's starting rows and its width;
``--vectors-mode`` frozen keeps them fixed, finetune trains them, both feeds the backbone two
channels side by side: a frozen copy and a trained copy (Kim 2014's static + non-static channels,
concatenated per token since a recurrent layer reads one vector a step).

Example:
    >>> import torch
    >>> from nlp.train import NlpConfig
    >>> meta = {"vocab": {"itos": ["<pad>", "<unk>", "a", "b"]}, "classes": ["neg", "pos", "mixed"]}
    >>> model = build_model(NlpConfig(embed_dim=8, hidden=16), meta)
    >>> model(torch.tensor([[2, 3, 2], [3, 2, 0]]), torch.tensor([3, 2])).shape
    torch.Size([2, 3])
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from core.engine.classification import SequenceClassifier
from core.errors import CheckpointError
from core.nn.backbone import backbone_from_config
from nlp import vectors
from nlp.vocab import PAD_ID, UNK_ID


class TokenEmbedding(nn.Module):
    """``forward(ids (B,T) int64) -> (B,T,E)`` (``(B,T,2E)`` with a static channel), with word dropout
    and embedding dropout in training."""

    def __init__(
        self,
        *,
        vocab_size: int,
        embed_dim: int,
        embed_dropout: float = 0.0,
        word_dropout: float = 0.0,
        vectors_mode: str = "finetune",
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        self.embedding.weight.requires_grad_(vectors_mode != "frozen")
        # "both": a second, frozen copy of the pretrained rows (the static channel)
        self.static_embedding = (
            nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID).requires_grad_(False)
            if vectors_mode == "both"
            else None
        )
        self.embed_dropout = nn.Dropout(embed_dropout)
        self.word_dropout = word_dropout

    def forward(self, ids: Tensor) -> Tensor:
        if self.training and self.word_dropout > 0:
            drop = torch.rand(ids.shape, device=ids.device) < self.word_dropout  # (B, T)
            ids = ids.masked_fill(drop & (ids != PAD_ID), UNK_ID)
        x = self.embedding(ids)  # (B, T, E)
        if self.static_embedding is not None:
            x = torch.cat([self.static_embedding(ids), x], dim=-1)  # (B, T, 2E)
        return self.embed_dropout(x)


def build_model(cfg, meta: dict) -> SequenceClassifier:
    """The model for ``cfg`` and the data's ``meta`` (vocabulary size and classes come from meta)."""
    try:
        vocab_size, num_classes = len(meta["vocab"]["itos"]), len(meta["classes"])
    except (KeyError, TypeError):
        raise CheckpointError("nlp meta lacks 'vocab' or 'classes' (not an nlp run?)") from None
    pretrained = meta.get("vectors")
    embed_dim = int(pretrained["dim"]) if pretrained else cfg.embed_dim  # the vectors fix the width
    mode = cfg.vectors_mode if pretrained else "finetune"
    # built first: its initial weights keep their seed draws
    backbone = backbone_from_config(cfg, embed_dim * (2 if mode == "both" else 1))
    front = TokenEmbedding(
        vocab_size=vocab_size,
        embed_dim=embed_dim,
        embed_dropout=cfg.embed_dropout,
        word_dropout=cfg.word_dropout,
        vectors_mode=mode,
    )
    model = SequenceClassifier(
        front=front, backbone=backbone, num_classes=num_classes, pooling=cfg.pooling, dropout=cfg.dropout
    )
    spec = (
        f"checkpoint:{cfg.init_backbone}"
        if pretrained and str(pretrained["name"]).startswith("checkpoint:")
        else cfg.vectors
    )
    matrix = vectors.take(meta["vocab"].get("fingerprint", ""), spec) if pretrained else None
    if matrix is not None:  # a fresh model; one rebuilt from a checkpoint gets its rows from there
        with torch.no_grad():
            for table in (front.embedding, front.static_embedding):
                if table is not None:
                    table.weight.copy_(torch.from_numpy(matrix))
    return model
