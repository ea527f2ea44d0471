"""``python -m nlp.train``: sentiment classification with the shared backbone.

Examples:
    python -m nlp.train                                   # toy corpus, BiLSTM + max pooling
    python -m nlp.train --data sst2 --epochs 8 --out runs/sst2
    python -m nlp.train --data mr --cv 10 --out runs/mr   # 10-fold CV: runs/mr/fold-K + cv.json
    python -m nlp.train --data sst2 --baseline tfidf      # TF-IDF 1-2 grams + logistic regression
    python -m nlp.train --data reviews.csv --text-column review --label-column stars

Cross-validation runs the ordinary single run once per fold (``--fold K``, its own run
directory) and then writes ``cv.json`` with the mean and sample standard deviation.
"""
from __future__ import annotations

import json
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional, Sequence

from core.engine.config import RunConfig, parse_config
from core.engine.domain import Domain
from core.errors import ConfigError, RnnsuiteError
from core.engine.run import train_main
from nlp.baselines import run_baseline
from nlp.data import build_data
from nlp.model import build_model
from nlp.task import build_task
from nlp.vectors import check_spec


@dataclass
class NlpConfig(RunConfig):
    """Flags of ``python -m nlp.train`` (sentiment classification)."""

    data: str = "toy"
    """toy | sst2 | sst2-phrases | sst5 | mr | imdb (under $RNNSUITE_DATA/sentiment), or a folder / .csv / .tsv / .jsonl path."""
    format: Literal["auto", "csv", "tsv", "jsonl"] = "auto"
    """Format of a --data file (auto: from its suffix)."""
    text_column: str = "text"
    """Column (csv/tsv header) or key (jsonl) holding the text."""
    label_column: str = "label"
    """Column or key holding the label: any strings; every distinct one is a class."""
    encoding: str = "auto"
    """Text encoding of mr and table files (auto: Latin-1 for mr, UTF-8 otherwise)."""
    encoding_errors: Literal["replace", "strict"] = "replace"
    """Undecodable bytes: replace them by U+FFFD (read as <unk>), or stop with an error naming the line."""
    level: Literal["word", "char"] = "word"
    """Tokens are words (PTB-style) or single characters."""
    min_freq: int = 1
    """Training-split tokens seen fewer times become <unk>."""
    max_vocab: int = 30000
    """Vocabulary size cap including <pad> and <unk> (0 = no cap)."""
    max_tokens: int = 400
    """Keep at most N tokens of each text (0 = all), chosen by --truncation."""
    truncation: Literal["head", "head+tail"] = "head"
    """Longer texts keep their first N tokens, or their first N/4 and last 3N/4 (head+tail, for reviews)."""
    val_fraction: float = 0.1
    """Share of training data held out for validation where the source has no dev split."""
    test_fraction: float = 0.1
    """Share held out for test where the source has no split at all (mr, csv) and --cv is 0."""
    split_seed: int = 0
    """Seed of the train/val/test (or fold) partition, separate from the model seed."""
    cv: int = 0
    """K-fold cross-validation (mr/csv/tsv/jsonl); 0 = one seeded split."""
    fold: int = -1
    """With --cv: the fold used as test split (-1 = run every fold and report mean and std)."""
    embed_dim: int = 128
    """Embedding width (with --vectors: the vectors' dimension instead)."""
    vectors: Optional[str] = None
    """Pretrained word vectors for the embedding: glove-6b-50d, or a GloVe/word2vec text file."""
    vectors_mode: Literal["frozen", "finetune", "both"] = "finetune"
    """With --vectors: keep them fixed, train them, or both (static + trained channels, Kim 2014)."""
    vectors_vocab: int = 0
    """With --vectors: also add the N most frequent words of the vectors to the vocabulary."""
    pooling: Literal["last", "mean", "max", "attention"] = "max"
    """How backbone outputs become one vector per text."""
    embed_dropout: float = 0.25
    """Dropout on embedded tokens."""
    word_dropout: float = 0.0
    """Probability of replacing a training token by <unk>."""
    label_smoothing: float = 0.0
    bidirectional: bool = True
    dropout: float = 0.3

    def validate(self) -> None:
        super().validate()
        self.require_positive("min_freq", "embed_dim")
        self.require_non_negative("max_vocab", "max_tokens", "vectors_vocab")
        if 0 < self.max_vocab < 3:
            raise ConfigError(f"--max-vocab must leave room for <pad>, <unk> and a word, got {self.max_vocab}")
        self.require_fraction("val_fraction", "test_fraction")
        for name in ("embed_dropout", "word_dropout", "label_smoothing"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"--{name.replace('_', '-')} must be in [0, 1), got {getattr(self, name)}")
        if self.cv == 1 or self.cv < 0:
            raise ConfigError(f"--cv must be 0 (off) or at least 2, got {self.cv}")
        if self.vectors:
            check_spec(self.vectors)
            if self.level != "word":
                raise ConfigError("--vectors: word vectors need --level word")
        if self.cv and not -1 <= self.fold < self.cv:
            raise ConfigError(f"--fold must be in -1..{self.cv - 1}, got {self.fold}")


DOMAIN = Domain(
    name="nlp",
    config_cls=NlpConfig,
    build_data=build_data,
    build_model=build_model,
    build_task=build_task,
    run_baseline=run_baseline,
    baseline_name="tfidf",
    extra_baselines=("nbsvm",),
    description="Sentiment classification of text (toy, SST-2, MR, IMDB, csv/tsv/jsonl).",
    quick_args=["--data", "toy", "--embed-dim", "32", "--batch-size", "64", "--lr", "3e-3"],
    full_args=["--data", "sst2", "--embed-dim", "300", "--pooling", "max", "--word-dropout", "0.1",
               "--embed-dropout", "0.4", "--dropout", "0.5", "--batch-size", "32", "--patience", "4"],
)


def summarise_folds(finals: list[dict]) -> dict:
    """Mean and sample std (ddof=1) of every test scalar over the folds' final.json."""
    keys = sorted(set.intersection(*(set(f["test"]) for f in finals)))
    summary = {}
    for key in keys:
        values = [float(f["test"][key]) for f in finals]
        summary[key] = {"mean": statistics.fmean(values),
                        "std": statistics.stdev(values) if len(values) > 1 else 0.0, "folds": values}
    return summary


def run_cv(cfg: NlpConfig, argv: Sequence[str]) -> int:
    """Every fold through the single-run path (``train_main``), then OUT/cv.json."""
    finals = []
    for fold in range(cfg.cv):
        out = Path(cfg.out) / f"fold-{fold}"
        final = out / "final.json"
        if not (cfg.resume and final.is_file()):  # a finished fold is kept on --resume
            code = train_main(DOMAIN, [*argv, "--fold", str(fold), "--out", str(out)])
            if code:
                return code
        finals.append(json.loads(final.read_text()))
    summary = {"cv": cfg.cv, "data": cfg.data, "baseline": cfg.baseline, "test": summarise_folds(finals),
               "train_seconds": sum(float(f.get("train_seconds") or 0.0) for f in finals)}
    Path(cfg.out, "cv.json").write_text(json.dumps(summary, indent=2) + "\n")
    accuracy = summary["test"]["accuracy"]
    print(f"nlp: {cfg.cv}-fold CV on {cfg.data}: accuracy {accuracy['mean']:.4f} ± {accuracy['std']:.4f} "
          f"(sample std); {Path(cfg.out, 'cv.json')}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        cfg = parse_config(NlpConfig, argv, prog="python -m nlp.train")
    except RnnsuiteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if cfg.cv and cfg.fold < 0:
        return run_cv(cfg, argv)
    return train_main(DOMAIN, argv)


if __name__ == "__main__":
    raise SystemExit(main())
