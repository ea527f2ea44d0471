"""``python -m nlp.train``: sentiment classification with the shared backbone.

Examples:
    python -m nlp.train                                   # toy corpus, BiLSTM + max pooling
    python -m nlp.train --data sst2 --epochs 8 --out runs/sst2
    python -m nlp.train --data mr --cv 10 --out runs/mr   # 10-fold CV: runs/mr/fold-K + cv.json
    python -m nlp.train --data sst2 --baseline tfidf      # TF-IDF 1-2 grams + logistic regression
    python -m nlp.train --data reviews.csv --text-column review --label-column stars

Cross-validation (``core.engine.cv``) runs the ordinary single run once per fold (``--fold K``,
its own run directory) and then writes ``cv.json`` with the mean and sample standard deviation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional, Sequence

from core.engine.classification import build_task
from core.engine.config import MAX_HIDDEN, RunConfig
from core.engine.domain import Domain
from core.engine.run import train_main
from core.errors import ConfigError
from nlp.baselines import run_baseline
from nlp.data import build_data
from nlp.model import build_model
from nlp.predictor import load_predictor
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
        self.require_at_most(MAX_HIDDEN, "embed_dim")
        if self.text_column == self.label_column:
            raise ConfigError(f"--text-column and --label-column must differ, both are {self.text_column!r}")
        self.require_non_negative("max_vocab", "max_tokens", "vectors_vocab")
        if 0 < self.max_vocab < 3:
            raise ConfigError(
                f"--max-vocab must leave room for <pad>, <unk> and a word, got {self.max_vocab}"
            )
        self.require_fraction("val_fraction", "test_fraction")
        for name in ("embed_dropout", "word_dropout", "label_smoothing"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"--{name.replace('_', '-')} must be in [0, 1), got {getattr(self, name)}")
        if self.vectors:
            check_spec(self.vectors)
            if self.level != "word":
                raise ConfigError("--vectors: word vectors need --level word")


DOMAIN = Domain(
    load_predictor=load_predictor,
    name="nlp",
    config_cls=NlpConfig,
    build_data=build_data,
    build_model=build_model,
    build_task=build_task,
    run_baseline=run_baseline,
    cross_validation=True,
    baseline_name="tfidf",
    extra_baselines=("nbsvm",),
    description="Sentiment classification of text (toy, SST-2, MR, IMDB, csv/tsv/jsonl).",
)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return train_main(DOMAIN, argv)


if __name__ == "__main__":
    raise SystemExit(main())
