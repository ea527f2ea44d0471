"""Corpora synthesised by eSpeak NG (``speech.tts``): digit strings and review sentences."""

from __future__ import annotations

import random
from typing import Iterable

from core.engine.domain import data_root
from core.errors import DataError
from speech.clips import Clip, Splits, speech_dir


def tts_digits(*, sample_rate: int, num_utts: int, seed: int, **_) -> Splits:
    """Digit strings synthesised by eSpeak NG; each split drawn from its own seed."""
    from speech.tts import digit_string_specs, synthesize

    counts = {"train": num_utts, "val": max(num_utts // 10, 50), "test": max(num_utts // 6, 100)}
    splits: Splits = {}
    for i, (split, count) in enumerate(counts.items()):
        specs = digit_string_specs(count, seed=seed * 1000 + 7 + i)
        splits[split] = [
            Clip(f"tts:{s}:{sample_rate}", s.text, lambda s=s: synthesize(s, sample_rate=sample_rate))
            for s in specs
        ]
    return splits


def tts_sentences(*, sample_rate: int, num_utts: int, seed: int, **_) -> Splits:
    """Sentences of unlabelled IMDB reviews read by eSpeak NG: many voices of general English text for
    pretraining an acoustic model (then ``--init-backbone`` on real speech). Sentences of 4-20 words,
    normalised as every transcript is; any equal to an arctic-cathy validation or test transcript
    is left out. Each split gets its own sentences (val and test 1/20 of train, at least 50)."""
    from speech.lm import arctic_texts, review_sentences
    from speech.tts import sentence_specs, synthesize

    counts = {"train": num_utts, "val": max(num_utts // 20, 50), "test": max(num_utts // 20, 50)}
    held_out = arctic_texts(speech_dir("arctic-cathy") / "manifest.tsv")[1]
    sentences = _distinct_sentences(
        review_sentences(data_root() / "sentiment/imdb/aclImdb.tar.xz", limit=10**6),
        sum(counts.values()),
        excluded=held_out,
    )
    if len(sentences) < sum(counts.values()):
        raise DataError(
            f"tts-sentences: only {len(sentences)} usable review sentences for --num-utts {num_utts}"
        )
    random.Random(seed).shuffle(sentences)
    splits: Splits = {}
    start = 0
    for i, (split, count) in enumerate(counts.items()):
        specs = sentence_specs(sentences[start : start + count], seed=seed * 1000 + 11 + i)
        start += count
        splits[split] = [
            Clip(f"tts:{s}:{sample_rate}", s.text, lambda s=s: synthesize(s, sample_rate=sample_rate))
            for s in specs
        ]
    return splits


def _distinct_sentences(sentences: Iterable[str], count: int, *, excluded: set[str]) -> list[str]:
    """The first ``count`` distinct sentences of 4-20 words not in ``excluded``."""
    kept: dict[str, None] = {}
    for sentence in sentences:
        if 4 <= len(sentence.split()) <= 20 and sentence not in excluded:
            kept[sentence] = None
            if len(kept) >= count:
                break
    return list(kept)
