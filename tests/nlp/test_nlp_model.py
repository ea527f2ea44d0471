"""The nlp classifier (core SequenceClassifier + token embedding): shapes, padding invariance,
pooling kinds, regularisers."""

from __future__ import annotations

import pytest
import torch

from core.errors import ConfigError
from nlp.model import build_model
from nlp.train import NlpConfig

META = {"vocab": {"itos": ["<pad>", "<unk>"] + [f"w{i}" for i in range(20)]}, "classes": ["a", "b", "c"]}


def small(**overrides) -> NlpConfig:
    return NlpConfig(hidden=8, embed_dim=6, **overrides)


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_never_changes_the_logits(pooling, bidirectional):
    model = build_model(small(pooling=pooling, bidirectional=bidirectional, cell="gru"), META).eval()
    ids = torch.tensor([[2, 3, 4, 5], [6, 7, 0, 0]])  # (B, T)
    lengths = torch.tensor([4, 2])
    logits = model(ids, lengths)  # (B, C)
    assert logits.shape == (2, 3)
    longer = torch.cat([ids, torch.zeros(2, 5, dtype=torch.long)], dim=1)  # more padding
    alone = model(ids[1:, :2], lengths[1:])  # the short text in a batch of its own
    torch.testing.assert_close(model(longer, lengths), logits)
    torch.testing.assert_close(alone, logits[1:])


def test_backbone_attribute_and_sizes_come_from_meta():
    model = build_model(small(cell="lstm", layers=2), META)
    assert model.front.embedding.num_embeddings == 22 and model.front.embedding.padding_idx == 0
    assert model.backbone.output_size == 16 and model.head.linear.out_features == 3


def test_word_dropout_only_while_training():
    model = build_model(small(word_dropout=0.5, embed_dropout=0.0, dropout=0.0), META)
    seen = []
    model.front.embedding.register_forward_hook(lambda mod, args, out: seen.append(args[0].clone()))
    ids, lengths = torch.randint(2, 22, (4, 50)), torch.full((4,), 50)
    model.train()(ids, lengths)
    model.eval()(ids, lengths)
    replaced = (seen[0] == 1).float().mean().item()
    assert 0.35 < replaced < 0.65  # about half the tokens became <unk>
    assert torch.equal(seen[1], ids)  # none at evaluation


def test_unknown_pooling_is_a_config_error():
    with pytest.raises(ConfigError, match="pooling"):
        build_model(small(pooling="median"), META)
