"""The CTC vocabulary (blank at index 0) over transcripts normalised by ``speech.normalize``.

Characters (letters, apostrophe, space) by default; ``units="words"`` makes every
word one token (yesno: two words). The vocabulary is built from the training
transcripts and saved in the checkpoint meta, so transcription rebuilds it exactly.
"""

from __future__ import annotations

from core.errors import DataError
from speech.normalize import normalize

__all__ = [
    "BLANK",
    "UNKNOWN_MARK",
    "Vocab",
    "normalize",
]  # normalize lives in speech.normalize, re-exported here

BLANK = "<blank>"
UNKNOWN_MARK = "\u2047"  # how a reference token outside the vocabulary is written back: no hypothesis has it


class Vocab:
    """Token <-> id mapping; id 0 is the CTC blank.

    Example:
        >>> v = Vocab.build(["yes no", "no"], units="chars")
        >>> v.decode(v.encode("yes no"))
        'yes no'
    """

    def __init__(self, *, tokens: list[str], units: str = "chars"):
        if units not in ("chars", "words"):
            raise DataError(f"units must be 'chars' or 'words', got {units!r}")
        if not tokens or tokens[0] != BLANK:
            raise DataError("vocabulary tokens must start with the CTC blank")
        self.tokens = list(tokens)
        self.units = units
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(cls, transcripts: list[str], *, units: str = "chars") -> "Vocab":
        seen: set[str] = set()
        for text in transcripts:
            seen.update(cls._split(normalize(text), units))
        if not seen:
            raise DataError("no usable characters in the training transcripts")
        return cls(tokens=[BLANK, *sorted(seen)], units=units)

    @staticmethod
    def _split(text: str, units: str) -> list[str]:
        return list(text) if units == "chars" else text.split()

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def words_joiner(self) -> str:
        return "" if self.units == "chars" else " "

    @property
    def unknown_id(self) -> int:
        """Stands for a reference token outside the vocabulary: one past the model's outputs."""
        return len(self.tokens)

    def encode(self, text: str, *, keep_unknown: bool = False) -> list[int]:
        """Normalised transcript -> ids. An unknown token raises DataError naming it, or with
        ``keep_unknown`` becomes ``unknown_id`` (so a scored reference keeps its length)."""
        ids = []
        for token in self._split(normalize(text), self.units):
            if token not in self.index and not keep_unknown:
                raise DataError(f"token {token!r} is not in the vocabulary")
            ids.append(self.index.get(token, self.unknown_id))
        return ids

    def decode(self, ids: list[int]) -> str:
        """Ids (blanks and CTC repeats already removed) -> text; ``unknown_id`` -> UNKNOWN_MARK."""
        pieces = (UNKNOWN_MARK if i == self.unknown_id else self.tokens[i] for i in ids if i != 0)
        return self.words_joiner.join(pieces).strip()

    def to_meta(self) -> dict:
        return {"tokens": self.tokens, "units": self.units}

    @classmethod
    def from_meta(cls, meta: dict) -> "Vocab":
        return cls(tokens=list(meta["tokens"]), units=str(meta["units"]))
