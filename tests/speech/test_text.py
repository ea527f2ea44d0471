"""Transcript normalisation and the CTC vocabulary."""

from __future__ import annotations

import pytest

from core.errors import DataError
from speech.text import BLANK, UNKNOWN_MARK, Vocab, normalize


def test_normalize_keeps_letters_apostrophe_space_and_reads_digits():
    assert normalize("It's  9 O'Clock,\tnow!") == "it's nine o'clock now"


def test_char_vocab_round_trip_and_blank_first():
    vocab = Vocab.build(["Three one", "four"])
    assert vocab.tokens[0] == BLANK and " " in vocab.tokens
    ids = vocab.encode("four one")
    assert 0 not in ids and vocab.decode(ids) == "four one"
    assert Vocab.from_meta(vocab.to_meta()).tokens == vocab.tokens


def test_word_vocab_and_unknown_token():
    vocab = Vocab.build(["YES NO YES"], units="words")
    assert vocab.tokens == [BLANK, "no", "yes"]
    assert vocab.decode(vocab.encode("no yes")) == "no yes"
    with pytest.raises(DataError, match="'maybe'"):
        vocab.encode("yes maybe")


def test_unknown_tokens_kept_for_scoring_decode_to_a_mark_no_hypothesis_has():
    vocab = Vocab.build(["ab c"])
    ids = vocab.encode("a z", keep_unknown=True)
    assert ids == [vocab.index["a"], vocab.index[" "], vocab.unknown_id] and vocab.unknown_id == len(vocab)
    assert vocab.decode(ids) == "a " + UNKNOWN_MARK
