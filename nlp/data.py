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

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from core.engine import splits
from core.engine.domain import DataBundle
from core.engine.seeding import loader_kwargs
from core.errors import DataError
from core.nn.sampler import BucketBatchSampler
from core.nn.sequence import SequenceBatch, pad_sequences
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


def encode_text(text: str, vocab: Vocab, max_tokens: int) -> list[int]:
    """Token ids of one text, cut to the first ``max_tokens`` tokens (0 = no limit)."""
    tokens = tokenize(text, vocab.level)
    return vocab.encode(tokens[:max_tokens] if max_tokens > 0 else tokens)


def encode_rows(rows: Rows, vocab: Vocab, classes: list[str], *, max_tokens: int, split: str) -> TextDataset:
    """Encode a split; texts with no tokens or a label unseen in training are reported and skipped."""
    index = {name: i for i, name in enumerate(classes)}
    ids, labels, texts = [], [], []
    empty, unknown = 0, 0
    for text, label in rows:
        encoded = encode_text(text, vocab, max_tokens)
        if not encoded:
            empty += 1
        elif label not in index:
            unknown += 1
        else:
            ids.append(torch.tensor(encoded, dtype=torch.long))
            labels.append(index[label])
            texts.append(text)
    if empty or unknown:
        log.warning("%s split: skipped %d empty texts and %d with labels absent from training", split, empty, unknown)
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
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=cfg.num_workers,
                      **loader_kwargs(cfg.seed))


def build_data(cfg, resumed_meta: dict | None = None) -> DataBundle:
    """DataBundle for ``cfg.data``; ``meta`` holds the vocabulary, classes and tokeniser settings.

    ``resumed_meta`` (given by the engine on --resume) is the meta of the run being continued.
    """
    parts = split_rows(read_source(cfg), cfg)
    if cfg.limit_train:
        parts["train"] = [parts["train"][i] for i in splits.limit(_labels(parts["train"]), cfg.limit_train,
                                                                   cfg.split_seed)]
    if cfg.limit_eval:
        parts["val"], parts["test"] = parts["val"][: cfg.limit_eval], parts["test"][: cfg.limit_eval]
    train_tokens = (tokenize(text, cfg.level) for text, _ in parts["train"])
    vocab = Vocab.build(train_tokens, min_freq=cfg.min_freq, max_size=cfg.max_vocab, level=cfg.level)
    check_resume_vocab(cfg, vocab, resumed_meta)
    classes = sorted({label for _, label in parts["train"]})
    if len(classes) < 2:
        raise DataError(f"{cfg.data}: the training split holds only the label {classes!r}; need two or more classes")
    sets = {name: encode_rows(rows, vocab, classes, max_tokens=cfg.max_tokens, split=name)
            for name, rows in parts.items()}
    meta = {"vocab": vocab.to_meta(), "classes": classes, "max_tokens": cfg.max_tokens, "dataset": cfg.data,
            "sizes": {name: len(ds) for name, ds in sets.items()}}
    return DataBundle(train=make_loader(sets["train"], cfg, train=True), val=make_loader(sets["val"], cfg, train=False),
                      test=make_loader(sets["test"], cfg, train=False), meta=meta)
