"""Normaliser, tokeniser, decoding fallbacks and the vocabulary table."""

from __future__ import annotations

import logging

import pytest

from core.errors import CheckpointError, DataError
from nlp.sources import read_lines
from nlp.vocab import PAD_ID, UNK_ID, Vocab, decode_bytes, normalise, tokenize


def test_empty_and_blank_text_give_no_tokens():
    assert tokenize("") == []
    assert tokenize(" \t\n\x85 ") == []
    assert tokenize("", level="char") == []


def test_ptb_clitics_and_punctuation_match_sst_tokenisation():
    assert tokenize("It doesn't WORK, the film's plot...") == [
        "it",
        "does",
        "n't",
        "work",
        ",",
        "the",
        "film",
        "'s",
        "plot",
        ".",
        ".",
        ".",
    ]
    # SST is already tokenised this way: the tokeniser must leave it unchanged
    assert tokenize("it does n't work , the film 's plot") == [
        "it",
        "does",
        "n't",
        "work",
        ",",
        "the",
        "film",
        "'s",
        "plot",
    ]
    assert tokenize("a re-imagining") == ["a", "re-imagining"]


def test_unicode_is_normalised_and_kept_whole():
    assert tokenize("ＧＲＥＡＴ ﬁlm") == ["great", "film"]  # full-width letters and the fi ligature fold
    assert tokenize("crème brûlée, naïve") == ["crème", "brûlée", ",", "naïve"]
    assert tokenize("映画 良い") == ["映画", "良い"]
    assert normalise("a\u0085b\x00c") == "a b c"  # NEL and NUL are spaces, not token characters


def test_char_level_keeps_spaces_between_words():
    assert tokenize("Ab c", level="char") == ["a", "b", " ", "c"]


def test_unknown_words_map_to_unk_and_pad_is_zero():
    vocab = Vocab.build([["good", "film"], ["bad", "film"]])
    assert vocab.itos[:2] == ["<pad>", "<unk>"] and (PAD_ID, UNK_ID) == (0, 1)
    assert vocab.encode(["film", "never-seen", "good"]) == [2, UNK_ID, vocab.stoi["good"]]


def test_min_freq_max_size_and_deterministic_ties():
    lists = [["b", "a", "c", "c", "d"], ["a", "b", "c"]]
    vocab = Vocab.build(lists, min_freq=2)
    assert vocab.itos == [
        "<pad>",
        "<unk>",
        "c",
        "a",
        "b",
    ]  # c thrice; a, b twice tied -> alphabetical; d once dropped
    assert Vocab.build(lists, max_size=3).itos == ["<pad>", "<unk>", "c"]


def test_meta_round_trip_and_tampering_is_detected():
    vocab = Vocab.build([["good", "film"]], level="word")
    again = Vocab.from_meta(vocab.to_meta())
    assert again.itos == vocab.itos and again.fingerprint() == vocab.fingerprint()
    meta = vocab.to_meta()
    meta["itos"] = meta["itos"] + ["extra"]
    with pytest.raises(CheckpointError, match="fingerprint"):
        Vocab.from_meta(meta)


def test_invalid_utf8_replaced_or_rejected_with_location():
    assert decode_bytes(b"caf\xe9 ok") == "caf\ufffd ok"
    with pytest.raises(DataError, match=r"reviews.txt:7: byte 3 is not valid utf-8"):
        decode_bytes(b"caf\xe9", errors="strict", where="reviews.txt:7")


def test_latin1_file_with_nel_byte_is_one_line(tmp_path, caplog):
    path = tmp_path / "rt-polarity.pos"
    # 0x85 is "…" in cp1252 and NEL in Latin-1: str.splitlines() would cut the line there
    path.write_bytes("café au lait".encode("latin-1") + b" then \x85 more\nsecond line\n")
    lines = read_lines(path, encoding="latin-1")
    assert [n for n, _ in lines] == [1, 2]
    assert tokenize(lines[0][1]) == ["café", "au", "lait", "then", "more"]
    with caplog.at_level(logging.WARNING, logger="rnnsuite.nlp"):
        utf8 = read_lines(path, encoding="utf-8")  # wrong encoding: replaced, and said so
    assert "\ufffd" in utf8[0][1] and "not valid utf-8" in caplog.text
