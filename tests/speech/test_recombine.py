"""Segment-and-recombine: word segmentation and spliced training utterances."""

from __future__ import annotations

import pytest
import torch

from core.errors import DataError
from speech.corpora import Clip
from speech.recombine import recombine, word_segments

SR = 8000


def spoken(pattern: list[float], *, noise: float = 1e-3, seed: int = 0) -> torch.Tensor:
    """Alternating silence/tone stretches of the given seconds, starting with silence. (N,)"""
    g = torch.Generator().manual_seed(seed)
    parts = []
    for i, seconds in enumerate(pattern):
        n = int(seconds * SR)
        tone = torch.sin(torch.arange(n) * (0.2 + 0.05 * i)) if i % 2 else torch.zeros(n)
        parts.append(tone + noise * torch.randn(n, generator=g))
    return torch.cat(parts)


def clip(text: str, wave: torch.Tensor, key: str) -> Clip:
    return Clip(key, text, lambda: wave)


def test_word_segments_bound_each_stretch_of_speech():
    wave = spoken([0.5, 0.3, 0.2, 0.4, 0.02, 0.3, 0.5])  # the 20 ms dip is inside one word
    segments = word_segments(wave, sample_rate=SR)
    assert len(segments) == 2
    (a0, b0), (a1, b1) = segments
    assert abs(a0 / SR - 0.45) < 0.02 and abs(b0 / SR - 0.85) < 0.02
    assert abs(a1 / SR - 0.95) < 0.02 and abs(b1 / SR - 1.77) < 0.02
    assert word_segments(torch.zeros(0), sample_rate=SR) == []


def test_recombined_clips_splice_words_of_clean_sources():
    good = clip("yes no", spoken([0.4, 0.3, 0.3, 0.3, 0.4]), "good")
    bad = clip("yes no no", spoken([0.4, 0.3, 0.3, 0.3, 0.4], seed=1), "bad")  # 2 stretches for 3 words
    made = recombine([good, bad], count=200, seed=3, sample_rate=SR, max_words=4)
    assert len(made) == 200 and len({c.key for c in made}) == 200
    edges = []
    for c in made:
        words = c.text.split()
        assert 1 <= len(words) <= 4 and set(words) <= {"yes", "no"}
        wave = c.make()
        head, tail = (int(x) for x in c.key.split(":")[-2:])  # untranscribed clipped words at the ends
        edges.append((head, tail))
        assert all(n == 0 or 0.04 * SR <= n <= 0.16 * SR for n in (head, tail))
        if head:
            assert wave[:head].abs().max() > 0.5  # speech from the first sample: a clipped tail
        # each word is a 0.3 s tone plus 50 ms padding per side; pauses 0.1-0.8 s
        assert 0.4 * len(words) + 0.1 * (len(words) - 1) + 0.4 - 0.01 < (len(wave) - head - tail) / SR
        if not head and not tail:
            assert len(segments := word_segments(wave, sample_rate=SR)) == len(words), (c.text, segments)
    share = [sum(bool(e[k]) for e in edges) / len(edges) for k in (0, 1)]
    assert all(0.2 < x < 0.4 for x in share), share  # EDGE_FRAGMENT = 0.3 at each end
    again = recombine([good, bad], count=200, seed=3, sample_rate=SR, max_words=4)
    assert [c.key for c in again] == [c.key for c in made] and torch.equal(again[5].make(), made[5].make())
    assert [c.text for c in recombine([good, bad], count=200, seed=4, sample_rate=SR)] != [
        c.text for c in made
    ]


def test_no_clean_source_is_a_clear_error():
    with pytest.raises(DataError, match="--recombine: no training recording segments"):
        recombine([clip("a b c", spoken([0.4, 0.3, 0.4]), "k")], count=3, seed=0, sample_rate=SR)
