"""Greedy and beam decoding on hand-made emissions (lexicon-free, lexicon, KenLM)."""

from __future__ import annotations

import pytest
import torch

from core.errors import ConfigError
from speech.decode import BeamDecoder, greedy_decode
from speech.text import Vocab

VOCAB = Vocab.build(["one two too three"])


def emissions(frames: list[dict[str, float]], vocab: Vocab = VOCAB) -> torch.Tensor:
    """One utterance: per frame, probabilities of some tokens (the rest share what is left): (1, T, V)."""
    probs = torch.full((len(frames), len(vocab)), 1e-3)
    for t, frame in enumerate(frames):
        for token, p in frame.items():
            probs[t, vocab.index[token]] = p
    probs = probs / probs.sum(-1, keepdim=True)
    return probs.log().unsqueeze(0)


def spell(text: str) -> list[dict[str, float]]:
    """Each character for two frames, then a blank frame."""
    frames = []
    for ch in text:
        frames += [{ch: 0.95}, {ch: 0.95}, {"<blank>": 0.95}]
    return frames


def test_greedy_and_lexicon_free_beam_agree_on_peaked_emissions():
    e = emissions(spell("three one"))
    lengths = torch.tensor([e.shape[1]])
    assert greedy_decode(e, lengths, VOCAB) == ["three one"]
    assert BeamDecoder(VOCAB, beam_size=8)(e, lengths) == ["three one"]


def test_lengths_cut_the_emissions():
    e = emissions(spell("one two"))
    assert greedy_decode(e, torch.tensor([9]), VOCAB) == ["one"]


def test_lexicon_beam_corrects_a_misspelling():
    e = emissions(spell("onw two"))  # the last letter of 'one' is wrong
    lengths = torch.tensor([e.shape[1]])
    assert greedy_decode(e, lengths, VOCAB) == ["onw two"]
    assert BeamDecoder(VOCAB, beam_size=16, lexicon=["one", "two", "three"])(e, lengths) == ["one two"]


def test_kenlm_language_model_breaks_a_tie(tmp_path):
    tie = [{"t": 0.95}, {"<blank>": 0.95}, {"w": 0.48, "o": 0.48}, {"<blank>": 0.95}, {"o": 0.95}]
    e = emissions(tie)
    lengths = torch.tensor([e.shape[1]])
    results = {}
    for favoured, other in (("two", "too"), ("too", "two")):
        arpa = tmp_path / f"{favoured}.arpa"
        arpa.write_text(_arpa({"<s>": -1.0, "</s>": -1.0, "<unk>": -5.0, favoured: -0.05, other: -3.0}))
        decoder = BeamDecoder(VOCAB, beam_size=16, lexicon=["two", "too"], lm=str(arpa), lm_weight=1.0)
        results[favoured] = decoder(e, lengths)[0]
    assert results == {"two": "two", "too": "too"}


def _arpa(unigrams: dict[str, float]) -> str:
    """A bigram ARPA file (KenLM needs order >= 2) whose bigrams are just <s> w."""
    words = [w for w in unigrams if w not in ("<s>", "<unk>")]
    lines = ["\\data\\", f"ngram 1={len(unigrams)}", f"ngram 2={len(words)}", "", "\\1-grams:"]
    lines += [f"{p}\t{w}\t0" for w, p in unigrams.items()]
    lines += ["", "\\2-grams:"] + [f"{unigrams[w]}\t<s> {w}" for w in words] + ["", "\\end\\", ""]
    return "\n".join(lines)


def test_unreadable_lm_is_a_one_line_config_error(tmp_path):
    bad = tmp_path / "bad.arpa"
    bad.write_text("not an arpa file\n")
    with pytest.raises(ConfigError, match="bad.arpa"):
        BeamDecoder(VOCAB, lexicon=["two"], lm=str(bad))


def test_word_units_greedy_and_beam():
    vocab = Vocab.build(["yes no"], units="words")
    e = emissions(
        [{"yes": 0.9}, {"<blank>": 0.9}, {"no": 0.9}, {"no": 0.9}, {"<blank>": 0.9}, {"no": 0.9}], vocab
    )
    lengths = torch.tensor([6])
    assert greedy_decode(e, lengths, vocab) == ["yes no no"]
    assert BeamDecoder(vocab, beam_size=4)(e, lengths) == ["yes no no"]
    assert BeamDecoder(vocab, beam_size=4, lexicon=["yes", "no"])(e, lengths) == ["yes no no"]
