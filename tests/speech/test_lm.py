"""The word n-gram LM: a proper distribution, written as ARPA, loaded and used by the beam decoder."""

from __future__ import annotations

import io
import math
import tarfile

import pytest
import torch

from speech.decode import BeamDecoder
from speech.lm import build_lm, count_ngrams, estimate, review_sentences
from speech.lm_eval import arpa_words
from speech.text import Vocab

SENTENCES = ["the cat sat", "the cat ran", "a hat sat", "the dog sat on the hat", "cat"]


def _prob(tables: list[dict], gram: tuple) -> float:
    """Back-off probability of the last word of ``gram`` given the others."""
    if gram in tables[len(gram) - 1]:
        return 10 ** tables[len(gram) - 1][gram][0]
    backoff = tables[len(gram) - 2].get(gram[:-1], [0.0, None])[1] or 0.0
    return 10**backoff * _prob(tables, gram[1:])


@pytest.mark.parametrize("history", [("<s>", "the"), ("the", "cat"), ("on", "the"), ("a", "zebra"), ("<s>",)])
def test_every_history_gives_a_distribution(history):
    tables = estimate(count_ngrams(SENTENCES, 3), discount=0.7, min_top_count=1)
    words = [w for (w,) in tables[0] if w != "<s>"]
    total = sum(_prob(tables, (*history, w)) for w in words)
    assert math.isclose(total, 1.0, rel_tol=1e-6), total


def test_arpa_written_with_held_out_sentences_excluded(tmp_path):
    summary = build_lm(
        iter(SENTENCES + ["the secret test prompt"]),
        tmp_path / "lm.arpa",
        order=3,
        excluded={"the secret test prompt"},
    )
    text = (tmp_path / "lm.arpa").read_text()
    assert summary["sentences"] == 5 and summary["excluded"] == 1
    assert text.startswith("\\data\\\nngram 1=") and text.rstrip().endswith("\\end\\")
    assert "secret" not in text and "\t<unk>" in text
    assert set(arpa_words(tmp_path / "lm.arpa")) == {"the", "cat", "sat", "ran", "a", "hat", "dog", "on"}


def test_decoder_loads_the_arpa_and_the_lm_decides_an_ambiguous_word(tmp_path):
    lm = tmp_path / "lm.arpa"
    build_lm(iter(["cat"] * 20 + ["hat"]), lm, order=2)
    vocab = Vocab.build(["cat hat"])
    frames = []  # "?at": the first letter leans to h, the LM to cat
    for probs in ({"c": 0.45, "h": 0.55}, {"a": 1.0}, {"t": 1.0}):
        row = torch.full((len(vocab),), 1e-4)
        for char, p in probs.items():
            row[vocab.index[char]] = p
        frames.append(row / row.sum())
    emissions = torch.stack(frames).log().unsqueeze(0)  # (1, 3, V)
    lengths = torch.tensor([3])
    acoustic = BeamDecoder(vocab, beam_size=8, lexicon=["cat", "hat"])
    with_lm = BeamDecoder(vocab, beam_size=8, lexicon=["cat", "hat"], lm=str(lm), lm_weight=2.0)
    assert acoustic(emissions, lengths) == ["hat"]
    assert with_lm(emissions, lengths) == ["cat"]


def test_review_sentences_reads_only_the_unlabelled_reviews_up_to_the_limit(tmp_path):
    archive = tmp_path / "imdb.tar.xz"
    with tarfile.open(archive, "w:xz") as tar:
        for name, text in [
            ("aclImdb/train/pos/0_9.txt", "Labelled. Not read."),
            ("aclImdb/train/unsup/0_0.txt", "A GREAT film!<br /><br />See it in 2010."),
            ("aclImdb/train/unsup/1_0.txt", "Second review."),
            ("aclImdb/train/unsup/2_0.txt", "Third review."),
        ]:
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert list(review_sentences(archive, limit=2)) == [
        "a great film",
        "see it in twenty ten",
        "second review",
    ]
