"""From (text, label) rows to length-bucketed ``SequenceBatch`` loaders.

``build_data(cfg)`` reads the source (``nlp.sources``), splits it (official split, or a
seeded stratified train/val/test split, or fold ``cfg.fold`` of ``cfg.cv``), builds the
vocabulary from the **training split only**, encodes every split and wraps each
in a DataLoader whose batches come from core's ``BucketBatchSampler``.

Example:
    >>> from nlp.train import NlpConfig
    >>> bundle = build_data(NlpConfig(data="toy", batch_size=4, progress=False))
    >>> batch = next(iter(bundle.train)); batch.inputs.dtype, batch.inputs.shape[0]
    (torch.int64, 4)
"""

from __future__ import annotations

import logging
import sys
from collections import Counter

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from core.engine import splits
from core.engine.domain import DataBundle
from core.engine.seeding import loader_kwargs
from core.errors import ConfigError, DataError
from core.nn.sampler import BucketBatchSampler
from core.nn.sequence import SequenceBatch, pad_sequences
from nlp import vectors
from nlp.sources import Rows, read_source
from nlp.vocab import PAD_ID, Vocab, tokenize

log = logging.getLogger("rnnsuite.nlp")


class TextDataset(Dataset):
    """Encoded texts: ``ids[i]`` (T_i,) int64, ``labels[i]`` class index, ``texts[i]`` the raw text."""

    def __init__(self, *, ids: list[Tensor], labels: list[int], texts: list[str]):
        self.ids, self.labels, self.texts = ids, labels, texts

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self.ids[index], self.labels[index]

    @property
    def lengths(self) -> list[int]:
        return [int(t.shape[0]) for t in self.ids]


def collate(items: list[tuple[Tensor, int]]) -> SequenceBatch:
    """[(ids (T_i,), label)] -> inputs (B, T_max) padded with <pad>, lengths (B,), targets (B,)."""
    ids, labels = zip(*items)
    inputs, lengths = pad_sequences(list(ids), padding_value=PAD_ID)  # (B, T), (B,)
    return SequenceBatch(inputs, lengths, torch.tensor(labels, dtype=torch.long))


def truncate(tokens: list[str], max_tokens: int, how: str = "head") -> list[str]:
    """At most ``max_tokens`` tokens (0 = all): the first ones ("head"), or the first quarter and the
    last three quarters ("head+tail", Sun et al. 2019: a review's verdict often comes at its end)."""
    if max_tokens <= 0 or len(tokens) <= max_tokens:
        return tokens
    if how == "head+tail":
        head = max_tokens // 4
        return tokens[:head] + tokens[len(tokens) - (max_tokens - head) :]
    return tokens[:max_tokens]


def encode_text(text: str, vocab: Vocab, max_tokens: int, truncation: str = "head") -> list[int]:
    """Token ids of one text, cut to ``max_tokens`` tokens (0 = no limit) as ``truncate`` says."""
    return vocab.encode(truncate(tokenize(text, vocab.level), max_tokens, truncation))


def encode_rows(
    rows: Rows, vocab: Vocab, classes: list[str], *, max_tokens: int, split: str, truncation: str = "head"
) -> TextDataset:
    """Encode a split; texts with no tokens or a label unseen in training are reported and skipped."""
    index = {name: i for i, name in enumerate(classes)}
    ids, labels, texts = [], [], []
    empty, unknown = 0, 0
    for text, label in rows:
        encoded = encode_text(text, vocab, max_tokens, truncation)
        if not encoded:
            empty += 1
        elif label not in index:
            unknown += 1
        else:
            ids.append(torch.tensor(encoded, dtype=torch.long))
            labels.append(index[label])
            texts.append(text)
    if empty or unknown:
        log.warning(
            "%s split: skipped %d empty texts and %d with labels absent from training", split, empty, unknown
        )
    if not ids:
        raise DataError(f"{split} split: no usable examples")
    return TextDataset(ids=ids, labels=labels, texts=texts)


def _labels(rows: Rows) -> list[str]:
    return [label for _, label in rows]


def split_rows(source: dict[str, Rows], cfg) -> dict[str, Rows]:
    """train/val/test rows: official splits where the source has them, else seeded stratified
    cuts (or CV fold ``cfg.fold`` of ``cfg.cv``) from ``core.engine.splits``.

    The cuts depend only on the labels and ``cfg.split_seed``, so every fold of a CV run and
    every model seed see the same partition.
    """
    if "all" not in source:
        splits.no_cross_validation(cfg, cfg.data)
    if set(source) >= {"train", "val", "test"}:
        return {name: source[name] for name in ("train", "val", "test")}
    if "all" in source:
        rows = list(source["all"])
        rest_index, test_index = splits.held_out_test(_labels(rows), cfg)
        rest, test = [rows[i] for i in rest_index], [rows[i] for i in test_index]
    else:  # train + test only (imdb): validation comes out of train
        rest, test = list(source["train"]), list(source["test"])
    train_index, val_index = splits.holdout(_labels(rest), cfg.val_fraction, cfg.split_seed)
    return {"train": [rest[i] for i in train_index], "val": [rest[i] for i in val_index], "test": test}


def check_resume_vocab(cfg, vocab: Vocab, resumed_meta: dict | None) -> None:
    """On --resume, the data must give the vocabulary the checkpoint was trained with."""
    if not resumed_meta:
        return
    stored = resumed_meta.get("vocab", {})
    if stored.get("fingerprint") != vocab.fingerprint():
        raise DataError(
            f"--resume: {cfg.data} gives a vocabulary ({len(vocab)} tokens, {vocab.fingerprint()}) that differs from "
            f"the resumed run's ({len(stored.get('itos', []))} tokens, {stored.get('fingerprint')}); "
            "resume with the same data"
        )


def make_loader(dataset: TextDataset, cfg, *, train: bool) -> DataLoader:
    sampler = BucketBatchSampler(dataset.lengths, cfg.batch_size, shuffle=train, seed=cfg.seed)
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=collate,
        num_workers=cfg.num_workers,
        **loader_kwargs(cfg.seed),
    )


def stage_vectors(cfg, vocab: Vocab, counts: Counter) -> dict:
    """Pretrained rows for ``vocab`` staged for ``build_model``; the coverage record (printed too)."""
    matrix, record = vectors.embedding_matrix(vocab.itos, cfg.vectors, counts=counts, seed=cfg.seed)
    vectors.stage(vocab.fingerprint(), cfg.vectors, matrix)
    print(f"nlp: {vectors.describe(record)}", file=sys.stderr)
    return record


def build_vocab(cfg, counts: Counter) -> Vocab:
    """The training split's vocabulary, plus ``--vectors-vocab`` words of the vectors."""
    vocab = Vocab.build(
        ([t] * n for t, n in counts.items()), min_freq=cfg.min_freq, max_size=cfg.max_vocab, level=cfg.level
    )
    if cfg.vectors and cfg.vectors_vocab:
        extra = [w for w in vectors.leading_words(cfg.vectors, cfg.vectors_vocab) if w not in vocab.stoi]
        vocab = Vocab(itos=[*vocab.itos, *extra], level=vocab.level)
    return vocab


def init_spec(cfg) -> str:
    return f"checkpoint:{cfg.init_backbone}"


def pretrained_text_parts(cfg) -> tuple[Vocab, Tensor] | None:
    """(vocabulary, embedding) of ``--init-backbone`` when it carries them (an ``nlp.pretrain`` or nlp run)."""
    if not cfg.init_backbone:
        return None
    from nlp.lm import text_parts

    parts = text_parts(cfg.init_backbone)
    if parts and cfg.vectors:
        raise ConfigError(
            f"--vectors and --init-backbone {cfg.init_backbone}: the checkpoint already brings "
            "an embedding and its vocabulary; drop --vectors"
        )
    if parts and parts[0].level != cfg.level:
        raise ConfigError(
            f"--init-backbone {cfg.init_backbone}: its vocabulary is {parts[0].level}-level, "
            f"not --level {cfg.level}"
        )
    return parts


def limited_parts(parts: dict[str, list], cfg) -> dict[str, list]:
    """--limit-train (a seeded sample stratified by label) and --limit-eval (the first rows)."""
    if cfg.limit_train:
        parts["train"] = [
            parts["train"][i] for i in splits.limit(_labels(parts["train"]), cfg.limit_train, cfg.split_seed)
        ]
    if cfg.limit_eval:
        parts["val"], parts["test"] = parts["val"][: cfg.limit_eval], parts["test"][: cfg.limit_eval]
    return parts


def build_data(cfg, resumed_meta: dict | None = None) -> DataBundle:
    """DataBundle for ``cfg.data``; ``meta`` holds the vocabulary, classes and tokeniser settings.

    ``resumed_meta`` (given by the engine on --resume) is the meta of the run being continued.
    """
    parts = limited_parts(split_rows(read_source(cfg), cfg), cfg)
    counts = Counter(token for text, _ in parts["train"] for token in tokenize(text, cfg.level))
    pretrained = pretrained_text_parts(cfg)
    vocab = pretrained[0] if pretrained else build_vocab(cfg, counts)
    check_resume_vocab(cfg, vocab, resumed_meta)
    classes = sorted({label for _, label in parts["train"]})
    if len(classes) < 2:
        raise DataError(
            f"{cfg.data}: the training split holds only the label {classes!r}; need two or more classes"
        )
    sets = {
        name: encode_rows(
            rows, vocab, classes, max_tokens=cfg.max_tokens, split=name, truncation=cfg.truncation
        )
        for name, rows in parts.items()
    }
    meta = {
        "vocab": vocab.to_meta(),
        "classes": classes,
        "max_tokens": cfg.max_tokens,
        "dataset": cfg.data,
        "truncation": cfg.truncation,
        "sizes": {name: len(ds) for name, ds in sets.items()},
    }
    if cfg.vectors:
        meta["vectors"] = stage_vectors(cfg, vocab, counts)
        meta["report"] = {"vectors": meta["vectors"]}  # core copies it into final.json
    if pretrained:  # the embedding rows come from --init-backbone, staged like vectors (nlp.model)
        meta["vectors"] = {"name": init_spec(cfg), "dim": int(pretrained[1].shape[1]), "rows": len(vocab)}
        vectors.stage(vocab.fingerprint(), init_spec(cfg), pretrained[1].float().numpy())
        meta["report"] = {"init_embedding": meta["vectors"]}
    return DataBundle(
        train=make_loader(sets["train"], cfg, train=True),
        val=make_loader(sets["val"], cfg, train=False),
        test=make_loader(sets["test"], cfg, train=False),
        meta=meta,
    )
