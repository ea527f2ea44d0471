"""Token ids -> embedding -> shared backbone -> pooling -> class logits.

Regularisers, all active in training only:

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
    >>> from core.nn.backbone import build_backbone
    >>> model = TextClassifier(vocab_size=10, embed_dim=8, num_classes=3,
    ...                        backbone=build_backbone("gru", 8, 16), pooling="max")
    >>> model(torch.tensor([[2, 3, 4], [5, 6, 0]]), torch.tensor([3, 2])).shape
    torch.Size([2, 3])
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from core.errors import CheckpointError
from core.nn.backbone import Backbone, backbone_from_config
from core.nn.pooling import Pooling
from nlp import vectors
from nlp.vocab import PAD_ID, UNK_ID


class TextClassifier(nn.Module):
    """``forward(ids (B,T) int64, lengths (B,)) -> logits (B,C)``; padded ids never matter."""

    def __init__(self, *, vocab_size: int, embed_dim: int, num_classes: int, backbone: Backbone,
                 pooling: str = "max", embed_dropout: float = 0.0, word_dropout: float = 0.0, dropout: float = 0.0,
                 vectors_mode: str = "finetune"):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        self.embedding.weight.requires_grad_(vectors_mode != "frozen")
        # "both": a second, frozen copy of the pretrained rows (the static channel)
        self.static_embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID).requires_grad_(False) \
            if vectors_mode == "both" else None
        self.backbone = backbone  # the name core's --init-backbone relies on
        self.pooling = Pooling(pooling, backbone.output_size, num_directions=backbone.num_directions)
        self.embed_dropout = nn.Dropout(embed_dropout)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(backbone.output_size, num_classes)
        self.word_dropout = word_dropout

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        if self.training and self.word_dropout > 0:
            drop = torch.rand(ids.shape, device=ids.device) < self.word_dropout  # (B, T)
            ids = ids.masked_fill(drop & (ids != PAD_ID), UNK_ID)
        x = self.embedding(ids)  # (B, T, E)
        if self.static_embedding is not None:
            x = torch.cat([self.static_embedding(ids), x], dim=-1)  # (B, T, 2E)
        x = self.embed_dropout(x)
        outputs, lengths, _ = self.backbone(x, lengths)  # (B, T, D), padded steps are 0
        pooled = self.pooling(outputs, lengths)  # (B, D)
        return self.classifier(self.dropout(pooled))  # (B, C)


def build_model(cfg, meta: dict) -> TextClassifier:
    """The model for ``cfg`` and the data's ``meta`` (vocabulary size and classes come from meta)."""
    try:
        vocab_size, num_classes = len(meta["vocab"]["itos"]), len(meta["classes"])
    except (KeyError, TypeError):
        raise CheckpointError("nlp meta lacks 'vocab' or 'classes' (not an nlp run?)") from None
    pretrained = meta.get("vectors")
    embed_dim = int(pretrained["dim"]) if pretrained else cfg.embed_dim  # the vectors fix the width
    mode = cfg.vectors_mode if pretrained else "finetune"
    model = TextClassifier(
        vocab_size=vocab_size, embed_dim=embed_dim, num_classes=num_classes,
        backbone=backbone_from_config(cfg, embed_dim * (2 if mode == "both" else 1)), pooling=cfg.pooling,
        embed_dropout=cfg.embed_dropout, word_dropout=cfg.word_dropout, dropout=cfg.dropout, vectors_mode=mode,
    )
    spec = f"checkpoint:{cfg.init_backbone}" if pretrained and str(pretrained["name"]).startswith("checkpoint:") \
        else cfg.vectors
    matrix = vectors.take(meta["vocab"].get("fingerprint", ""), spec) if pretrained else None
    if matrix is not None:  # a fresh model; one rebuilt from a checkpoint gets its rows from there
        with torch.no_grad():
            for table in (model.embedding, model.static_embedding):
                if table is not None:
                    table.weight.copy_(torch.from_numpy(matrix))
    return model
