"""``python -m nlp.pretrain``: the text classifier's embedding + backbone trained as a language model.

    python -m nlp.pretrain --data imdb-unsup --hidden 150 --max-minutes 60 --out runs/lm-imdb
    python -m nlp.train --data sst2-phrases --init-backbone runs/lm-imdb/checkpoints/lm.pt --hidden 150

``--data``: ``imdb-unsup`` (the 50,000 unlabelled IMDB reviews, ``nlp.imdb``), a text file (one
document a line) or a folder of ``*.txt`` files (one document each). Documents are shuffled with
``--seed``; the last ``--heldout-fraction`` of them are held out and their perplexity is reported
(``exp`` of the mean next-token NLL, and previous-token NLL for a bidirectional model).

The vocabulary is the ``--vocab-size`` most frequent training tokens (the classifier's own
tokeniser); ``--vectors`` starts the embedding from pretrained word vectors as ``nlp.train`` does.
The checkpoint ``OUT/checkpoints/lm.pt`` (domain ``nlp-lm``) holds ``embedding.weight``, ``backbone.*``
and the vocabulary in its meta: ``nlp.train --init-backbone`` takes all three (the task then uses
this vocabulary), so the backbone flags (cell, hidden, layers, bidirectional) must match.
"""

from __future__ import annotations

import dataclasses
import math
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import torch
from tqdm import tqdm

from core.engine.checkpoint import save_checkpoint
from core.engine.config import RunConfig, config_to_dict, parse_config, save_config
from core.engine.domain import data_root
from core.engine.runlog import write_json
from core.engine.seeding import seed_everything
from core.errors import ConfigError, DataError, RnnsuiteError
from core.nn.backbone import backbone_from_config
from nlp import lm, vectors
from nlp.imdb import unpacked_archive, unsup_files
from nlp.sources import read_lines
from nlp.vocab import Vocab, decode_bytes, tokenize


@dataclass
class PretrainConfig(RunConfig):
    """Flags of ``python -m nlp.pretrain`` (language-model pretraining of embedding + backbone)."""

    data: str = "imdb-unsup"
    """imdb-unsup, a text file (one document a line) or a folder of .txt files."""
    bidirectional: bool = True
    """Both directions (forward: next token, backward: previous token); needs --layers 1."""
    embed_dim: int = 128
    """Embedding width (with --vectors: the vectors' dimension)."""
    vectors: Optional[str] = None
    """Start the embedding from word vectors: glove-6b-50d or a GloVe/word2vec text file."""
    vocab_size: int = 30000
    """Vocabulary cap including <pad> and <unk>."""
    bptt: int = 70
    """Tokens per truncated back-propagation window."""
    heldout_fraction: float = 0.05
    """Share of documents held out for perplexity."""
    max_documents: int = 0
    """Use only the first N documents after shuffling (0 = all)."""
    dropout: float = 0.2
    lr: float = 3e-3
    epochs: int = 1
    batch_size: int = 32
    weight_decay: float = 0.0
    out: str = "runs/pretrain"

    def validate(self) -> None:
        super().validate()
        self.require_positive("embed_dim", "bptt")
        self.require_fraction("heldout_fraction")
        self.require_non_negative("max_documents")
        if self.vocab_size < 3:
            raise ConfigError(
                f"--vocab-size must leave room for <pad>, <unk> and a word, got {self.vocab_size}"
            )
        if self.bidirectional and self.layers > 1:
            raise ConfigError("--bidirectional language model needs --layers 1 (or pass --no-bidirectional)")
        if self.vectors:
            vectors.check_spec(self.vectors)


def read_documents(name: str) -> list[str]:
    """The pretraining documents of ``--data``."""
    if name == "imdb-unsup":
        folder = data_root() / "sentiment" / "imdb" / "aclImdb"
        folder = folder if (folder / "train" / "unsup").is_dir() else unpacked_archive()
        if folder is None:
            raise DataError(
                f"imdb-unsup: no aclImdb folder or archive under {data_root() / 'sentiment' / 'imdb'}"
            )
        files = unsup_files(folder)
    else:
        path = Path(name).expanduser()
        if path.is_file():
            return [text for _, text in read_lines(path)]
        if not path.is_dir():
            raise DataError(f"--data: no such file or directory: {path}")
        files = sorted(path.rglob("*.txt"))
    documents = [decode_bytes(f.read_bytes(), where=str(f)).replace("<br />", " ") for f in files]
    if not documents:
        raise DataError(f"--data {name}: no documents")
    return documents


def prepare(cfg: PretrainConfig) -> tuple[Vocab, torch.Tensor, torch.Tensor, Counter]:
    """(vocabulary, training ids (N,), held-out ids (M,), training token counts)."""
    documents = read_documents(cfg.data)
    random.Random(cfg.seed).shuffle(documents)
    if cfg.max_documents:
        documents = documents[: cfg.max_documents]
    cut = max(1, round(len(documents) * cfg.heldout_fraction))
    if cut >= len(documents):
        raise DataError(f"--data {cfg.data}: {len(documents)} documents are too few to hold some out")
    tokenized = [tokenize(text) for text in tqdm(documents, desc="tokenise", disable=not cfg.progress)]
    counts = Counter(token for tokens in tokenized[cut:] for token in tokens)
    vocab = Vocab.build(([t] * n for t, n in counts.items()), max_size=cfg.vocab_size)

    def stream(part: list[list[str]]) -> torch.Tensor:
        return torch.tensor([i for tokens in part for i in vocab.encode(tokens)], dtype=torch.long)

    return vocab, stream(tokenized[cut:]), stream(tokenized[:cut]), counts


def build_lm(cfg: PretrainConfig, vocab: Vocab, counts: Counter) -> tuple[lm.LanguageModel, Optional[dict]]:
    record, matrix = None, None
    if cfg.vectors:
        matrix, record = vectors.embedding_matrix(vocab.itos, cfg.vectors, counts=counts, seed=cfg.seed)
        print(f"pretrain: {vectors.describe(record)}", file=sys.stderr)
    embed_dim = matrix.shape[1] if matrix is not None else cfg.embed_dim
    model = lm.LanguageModel(
        vocab_size=len(vocab),
        embed_dim=embed_dim,
        dropout=cfg.dropout,
        backbone=backbone_from_config(cfg, embed_dim),
    )
    if matrix is not None:
        with torch.no_grad():
            model.embedding.weight.copy_(torch.from_numpy(matrix))
    return model, record


@torch.no_grad()
def perplexity(model: lm.LanguageModel, ids: torch.Tensor, cfg: PretrainConfig) -> dict[str, float]:
    """exp(mean NLL) per direction over the held-out stream."""
    model.eval()
    totals: Counter = Counter()
    count, state = 0, None
    for window in lm.windows(lm.batchify(ids, min(cfg.batch_size, max(1, ids.shape[0] // 4))), cfg.bptt):
        losses, state = model(window, state)
        weight = window[:, 1:-1].numel()
        for name, loss in losses.items():
            totals[name] += float(loss) * weight
        count += weight
    model.train()
    return {name: math.exp(total / max(1, count)) for name, total in totals.items()}


def train(cfg: PretrainConfig, model: lm.LanguageModel, ids: torch.Tensor) -> dict:
    """Epochs over the training stream; stops at --max-minutes. Returns step and time counts."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    stream = lm.batchify(ids, cfg.batch_size)
    total = cfg.epochs * max(1, (stream.shape[1] - 2 + cfg.bptt - 1) // cfg.bptt)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=total, pct_start=0.1)
    started, step, stopped = time.perf_counter(), 0, "completed"
    with tqdm(total=total, desc="pretrain", disable=not cfg.progress) as bar:
        for _ in range(cfg.epochs):
            state = None
            for window in lm.windows(stream, cfg.bptt):
                losses, state = model(window, lm.detach_state(state))
                loss = sum(losses.values()) / len(losses)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm or float("inf"))
                optimizer.step()
                schedule.step()
                step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}")
                if cfg.max_minutes and time.perf_counter() - started > cfg.max_minutes * 60:
                    stopped = "max_minutes"
                    break
            if stopped != "completed" or step >= total:
                break
    return {
        "steps": step,
        "planned_steps": total,
        "stopped": stopped,
        "train_seconds": round(time.perf_counter() - started, 3),
    }


def run(cfg: PretrainConfig) -> dict:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    seed_everything(cfg.seed)
    vocab, train_ids, heldout_ids, counts = prepare(cfg)
    seed_everything(cfg.seed)
    model, record = build_lm(cfg, vocab, counts)
    before = perplexity(model, heldout_ids, cfg)
    progress = train(cfg, model, train_ids)
    after = perplexity(model, heldout_ids, cfg)
    summary = {
        "heldout_perplexity": after,
        "initial_perplexity": before,
        **progress,
        "train_tokens": int(train_ids.numel()),
        "heldout_tokens": int(heldout_ids.numel()),
        "vocab": len(vocab),
        "params": sum(p.numel() for p in model.parameters()),
        **({"vectors": record} if record else {}),
    }
    meta = {"vocab": vocab.to_meta(), "lm": summary, "max_tokens": 0}
    save_checkpoint(
        out / "checkpoints" / "lm.pt",
        {
            "domain": lm.DOMAIN,
            "config": config_to_dict(cfg),
            "meta": meta,
            "model": model.state_dict(),
            "epoch": cfg.epochs,
            "step": progress["steps"],
        },
    )
    write_json(out / "final.json", summary)
    shown = ", ".join(f"{k} {v:.1f}" for k, v in after.items())
    print(
        f"pretrain: held-out perplexity {shown} after {progress['steps']} steps "
        f"({progress['train_seconds'] / 60:.1f} min); checkpoint {out / 'checkpoints' / 'lm.pt'}"
    )
    return summary


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        cfg = parse_config(
            PretrainConfig, list(sys.argv[1:] if argv is None else argv), prog="python -m nlp.pretrain"
        )
        run(dataclasses.replace(cfg))
    except RnnsuiteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
