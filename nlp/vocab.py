"""Text normalisation, tokenisation and the vocabulary.

Normaliser (``normalise``), applied to every text before tokenising, in order:

1. Unicode NFKC (full-width letters, ligatures and compatibility forms fold to
   their plain form: "ｆｉｌｍ" -> "film", "ﬁne" -> "fine");
2. lower-casing;
3. control characters (C0/C1, including the NEL U+0085 that Latin-1 files carry)
   become spaces;
4. runs of whitespace collapse to one space, ends are stripped.

Word tokens then follow the Penn-Treebank habit the SST files already use:
"don't" -> "do n't", "film's" -> "film 's"; every punctuation mark is its own
token; letters/digits joined by "-" or "'" stay one token ("re-imagining").
Character level (``level="char"``) keeps every normalised character, spaces
included.

Bytes that are not valid UTF-8 are decoded by ``decode_bytes``: with
``errors="replace"`` (the default) each bad byte becomes U+FFFD (which the
vocabulary then maps to ``<unk>``); with ``errors="strict"`` a ``DataError``
names the file, line and byte offset.

Example:
    >>> tokenize("I didn't like it -- at ALL!")
    ['i', 'did', "n't", 'like', 'it', '-', '-', 'at', 'all', '!']
    >>> vocab = Vocab.build([["good", "film"], ["bad", "film"]])
    >>> vocab.encode(["film", "great"])
    [2, 1]
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from typing import Iterable

from core.errors import CheckpointError, ConfigError, DataError

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
NORMALISER_VERSION = 1
"""Bumped whenever ``normalise``/``tokenize`` change, so old checkpoints are detected."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")
_NEGATION = re.compile(r"(\w)(n't)\b")
_CLITIC = re.compile(r"(\w)('(?:s|re|ve|ll|d|m))\b")
_WORD = re.compile(r"n't|'(?:s|re|ve|ll|d|m)\b|\w+(?:[-']\w+)*|[^\w\s]")
LEVELS = ("word", "char")


def normalise(text: str) -> str:
    """NFKC, lower case, control characters to spaces, collapsed whitespace."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def tokenize(text: str, level: str = "word") -> list[str]:
    """Normalise then split into word tokens (PTB-style clitics) or characters."""
    text = normalise(text)
    if level == "char":
        return list(text)
    if level != "word":
        raise ConfigError(f"level: {level!r} is not one of {', '.join(LEVELS)}")
    text = _CLITIC.sub(r"\1 \2", _NEGATION.sub(r"\1 \2", text))
    return _WORD.findall(text)


def decode_bytes(
    raw: bytes, *, encoding: str = "utf-8", errors: str = "replace", where: str = "input"
) -> str:
    """Decode ``raw``; ``errors`` is "replace" (bad bytes -> U+FFFD) or "strict" (DataError naming ``where``)."""
    if errors not in ("replace", "strict"):
        raise ConfigError(f"encoding_errors: {errors!r} is not 'replace' or 'strict'")
    try:
        return raw.decode(encoding, errors=errors)
    except UnicodeDecodeError as err:
        raise DataError(
            f"{where}: byte {err.start} is not valid {encoding} "
            f"(pass --encoding latin-1 if that is the file's encoding, or --encoding-errors replace)"
        ) from None
    except LookupError:
        raise ConfigError(f"encoding: unknown text encoding {encoding!r}") from None


class Vocab:
    """Token <-> id table: id 0 is ``<pad>``, id 1 is ``<unk>``, then tokens by frequency.

    Built from the training split only, so validation/test words the model
    never saw map to ``<unk>`` exactly as they would at prediction time.
    """

    def __init__(self, *, itos: list[str], level: str = "word"):
        if itos[:2] != [PAD, UNK]:
            raise CheckpointError("vocabulary must start with <pad>, <unk>")
        if level not in LEVELS:
            raise ConfigError(f"level: {level!r} is not one of {', '.join(LEVELS)}")
        self.itos = list(itos)
        self.level = level
        self.stoi = {token: index for index, token in enumerate(self.itos)}

    @classmethod
    def build(
        cls, token_lists: Iterable[list[str]], *, min_freq: int = 1, max_size: int = 0, level: str = "word"
    ) -> "Vocab":
        """Tokens seen at least ``min_freq`` times, the ``max_size`` most frequent (0 = all).

        Ties are broken alphabetically so the same data always gives the same ids.
        """
        if min_freq < 1:
            raise ConfigError(f"min_freq: must be >= 1, got {min_freq}")
        counts = Counter(token for tokens in token_lists for token in tokens)
        ranked = sorted(
            (t for t, c in counts.items() if c >= min_freq and t not in (PAD, UNK)),
            key=lambda t: (-counts[t], t),
        )
        if max_size > 0:
            ranked = ranked[: max(0, max_size - 2)]
        return cls(itos=[PAD, UNK, *ranked], level=level)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: list[str]) -> list[int]:
        return [self.stoi.get(token, UNK_ID) for token in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[i] for i in ids]

    def fingerprint(self) -> str:
        """Short SHA-256 of the id table: equal fingerprints mean ids mean the same tokens."""
        digest = hashlib.sha256("\n".join([self.level, *self.itos]).encode("utf-8"))
        return digest.hexdigest()[:16]

    def to_meta(self) -> dict:
        return {
            "itos": list(self.itos),
            "level": self.level,
            "normaliser": NORMALISER_VERSION,
            "fingerprint": self.fingerprint(),
        }

    @classmethod
    def from_meta(cls, meta: dict) -> "Vocab":
        """Rebuild from ``to_meta``; CheckpointError when the table was altered or is from another normaliser."""
        try:
            vocab = cls(itos=list(meta["itos"]), level=str(meta["level"]))
            version, stored = int(meta["normaliser"]), str(meta["fingerprint"])
        except (KeyError, TypeError, ValueError):
            raise CheckpointError("checkpoint meta has no usable 'vocab' entry") from None
        if version != NORMALISER_VERSION:
            raise CheckpointError(
                f"vocabulary was built by normaliser v{version}, this code has v{NORMALISER_VERSION}"
            )
        if vocab.fingerprint() != stored:
            raise CheckpointError(
                f"vocabulary fingerprint {vocab.fingerprint()} != stored {stored}: table was altered"
            )
        return vocab
