"""CTC decoding: greedy (best path) and beam search with torchaudio's ``ctc_decoder``.

The beam decoder (flashlight-text) runs lexicon-free or with a lexicon of the
training words, and takes an n-gram LM in KenLM format (ARPA or binary) when given.
Our space character plays flashlight's word-separator ("silence") token.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from torch import Tensor

from core.errors import ConfigError
from speech.text import Vocab

SIL = "|"


def greedy_ids(emissions: Tensor, lengths: Tensor) -> list[list[int]]:
    """Best path: argmax per frame, merge repeats, drop blanks (id 0). emissions (B, T, V).

    Example:
        >>> e = torch.log(torch.tensor([[[.1, .9], [.1, .9], [.9, .1], [.1, .9]]]))
        >>> greedy_ids(e, torch.tensor([4]))
        [[1, 1]]
    """
    best = emissions.argmax(dim=-1).cpu()  # (B, T)
    out = []
    for row, length in zip(best.tolist(), lengths.tolist()):
        row = row[:length]
        out.append([t for i, t in enumerate(row) if t != 0 and (i == 0 or t != row[i - 1])])
    return out


def greedy_decode(emissions: Tensor, lengths: Tensor, vocab: Vocab) -> list[str]:
    return [vocab.decode(ids) for ids in greedy_ids(emissions, lengths)]


def _close_last_word(emissions: Tensor, lengths: Tensor, sil: int) -> tuple[Tensor, Tensor]:
    """Append one certain separator frame after each utterance, so its last word can end. (B, T+1, V)"""
    batch = emissions.shape[0]
    padded = torch.cat([emissions, torch.full((batch, 1, emissions.shape[2]), -1e4)], dim=1)
    padded[torch.arange(batch), lengths] = -1e4
    padded[torch.arange(batch), lengths, sil] = 0.0
    return padded, lengths + 1


class BeamDecoder:
    """Beam search over log-probabilities (B, T, V) -> one transcript per utterance.

    ``lexicon``: words the output may contain (None = lexicon-free); ``lm``: a KenLM file.
    """

    def __init__(
        self,
        vocab: Vocab,
        *,
        beam_size: int = 16,
        lexicon: list[str] | None = None,
        lm: str | None = None,
        lm_weight: float = 0.5,
        word_score: float = 0.0,
    ):
        from torchaudio.models.decoder import ctc_decoder

        if lm and not Path(lm).is_file():
            raise ConfigError(f"--lm: no such KenLM file: {lm}")
        self.vocab = vocab
        self.tokens = [SIL if t == " " else t for t in vocab.tokens]
        self.extra_sil = SIL not in self.tokens  # flashlight needs a silence token; ours never fires
        if self.extra_sil:
            self.tokens.append(SIL)
        # with word units every token already is a word, and flashlight's lexicon search
        # mishandles CTC repeats of one-token words, so the lexicon only applies to characters
        use_lexicon = bool(lexicon) and vocab.units == "chars"
        self._lexicon_file = self._write_lexicon(lexicon) if use_lexicon else None
        try:
            self.decoder = ctc_decoder(
                lexicon=self._lexicon_file,
                tokens=self.tokens,
                lm=lm,
                beam_size=beam_size,
                beam_size_token=min(len(self.tokens), 32),
                lm_weight=lm_weight if lm else 0.0,
                word_score=word_score,
                sil_score=0.0,
                blank_token=vocab.tokens[0],
                sil_token=SIL,
                unk_word="<unk>",
                log_add=False,
            )
        except RuntimeError as err:  # KenLM reports a bad file as a long C++ message
            reason = next((line for line in str(err).splitlines()[1:] if line.strip()), str(err))
            raise ConfigError(f"--lm {lm}: cannot load ({reason.strip()[:160]})") from None

    def _write_lexicon(self, words: list[str]) -> str:
        """flashlight lexicon: ``word<TAB>spelling tokens``; words it cannot spell are dropped."""
        lines = []
        for word in words:
            spelling = list(word)
            if all(t in self.vocab.index for t in spelling):
                # a word ends only at a separator, so a stray letter cannot close one early
                lines.append(f"{word}\t{' '.join(spelling)} {SIL}")
        if not lines:
            raise ConfigError("lexicon: none of the training words can be spelled with the vocabulary")
        handle = tempfile.NamedTemporaryFile("w", suffix=".lexicon", delete=False)
        handle.write("\n".join(lines) + "\n")
        handle.close()
        return handle.name

    def __call__(self, emissions: Tensor, lengths: Tensor) -> list[str]:
        emissions = emissions.detach().float().cpu()  # (B, T, V): flashlight wants float32 on CPU
        lengths = lengths.cpu()
        if self.extra_sil:
            never = torch.full((*emissions.shape[:2], 1), -1e4)  # log-prob of the unused silence
            emissions = torch.cat([emissions, never], dim=-1)
        if self._lexicon_file is not None:
            emissions, lengths = _close_last_word(emissions, lengths, self.tokens.index(SIL))
        results = self.decoder(emissions.contiguous(), lengths.to(torch.int32))
        return [self._text(hyps[0]) if hyps else "" for hyps in results]

    def _text(self, hyp) -> str:
        if self._lexicon_file is not None:
            return " ".join(w for w in hyp.words if w)
        pieces = [self.tokens[i] for i in hyp.tokens.tolist()]
        pieces = [" " if p == SIL else p for p in pieces if p != self.vocab.tokens[0]]
        return " ".join((self.vocab.words_joiner.join(pieces)).split())

    def __del__(self):
        if getattr(self, "_lexicon_file", None):
            Path(self._lexicon_file).unlink(missing_ok=True)
