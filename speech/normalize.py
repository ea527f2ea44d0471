"""The one text normaliser of the speech domain: references and hypotheses pass through it alike.

Rules, in order (``NORMALIZER_VERSION`` changes whenever one does and is recorded in final.json; feature
caches hold raw transcripts and normalise after loading, so a new rule never meets stale text):

1. Unicode: curly quotes become ``'``/``"``, accents are folded (``café`` -> ``cafe``).
2. Case: lower-cased.
3. Numbers as words: ``1908`` -> ``nineteen oh eight`` (years 1100-1999 and 2010-2099 are read in
   pairs, as people say them), other integers as cardinals (``42`` -> ``forty two``), ordinals
   (``3rd`` -> ``third``), decimals (``2.5`` -> ``two point five``), thousands separators dropped.
4. Hyphens and dashes split words (``rifle-shot`` -> ``rifle shot``, ``Typhoid -- did`` -> ``typhoid did``).
5. Apostrophes are kept inside a word (``don't``, ``selden's``) and dropped at a word's edges, where
   they are quotation marks or elisions (``'em`` -> ``em``, ``boys'`` -> ``boys``).
6. ``&`` -> ``and``; every other character that is not a letter, an apostrophe or a space
   (punctuation, symbols) becomes a space; whitespace collapses.

Hand-written rather than a dependency: num2words would add a package for rule 3 alone, and the
rest is a dozen lines of regular expressions that must stay identical for training and scoring.

Example:
    >>> normalize("There's Fort Churchill, a rifle-shot beyond the ridge, asleep.")
    "there's fort churchill a rifle shot beyond the ridge asleep"
"""

from __future__ import annotations

import re
import unicodedata

NORMALIZER_VERSION = 1

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_ENDINGS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?(?:st|nd|rd|th)?")
_HYPHENS = re.compile(r"-+")
_NOT_KEPT = re.compile(r"[^a-z' ]+")
_EDGE_APOSTROPHES = re.compile(r"(?<![a-z])'+|'+(?![a-z])")


def cardinal(n: int) -> str:
    """Non-negative integer in words.

    Example:
        >>> cardinal(1042)
        'one thousand forty two'
    """
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + cardinal(n % 100))
    for scale, name in _SCALES:
        if n >= scale:
            rest = n % scale
            return f"{cardinal(n // scale)} {name}" + ("" if rest == 0 else " " + cardinal(rest))
    raise AssertionError("unreachable")


def year(n: int) -> str:
    """Four-digit year read in pairs: 1908 -> 'nineteen oh eight', 1900 -> 'nineteen hundred'."""
    high, low = divmod(n, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    return f"{cardinal(high)} {'oh ' + _ONES[low] if low < 10 else cardinal(low)}"


def ordinal(n: int) -> str:
    """3 -> 'third', 21 -> 'twenty first', 40 -> 'fortieth'."""
    words = cardinal(n).split()
    last = words[-1]
    if last in _ORDINAL_ENDINGS:
        words[-1] = _ORDINAL_ENDINGS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def _number_words(match: re.Match) -> str:
    grouped = "," in match.group(0)  # "1,500" is a quantity, never a year
    token = match.group(0).replace(",", "")
    suffix = token[-2:] if token[-2:] in ("st", "nd", "rd", "th") else ""
    digits = token[: len(token) - len(suffix)]
    if suffix:
        return f" {ordinal(int(digits))} "
    whole, _, fraction = digits.partition(".")
    value = int(whole)
    is_year = not grouped and len(whole) == 4 and (1100 <= value <= 1999 or 2010 <= value <= 2099)
    spoken = year(value) if is_year else cardinal(value)
    if fraction:
        spoken += " point " + " ".join(_ONES[int(d)] for d in fraction)
    return f" {spoken} "


def fold_accents(text: str) -> str:
    """'café' -> 'cafe': decompose, drop combining marks."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalize(text: str) -> str:
    """Apply rules 1-6 above; the result holds only a-z, apostrophes inside words and single spaces.

    Example:
        >>> normalize("God bless 'em, I hope I'll go on - the 3rd of 1,500 cafés!")
        "god bless em i hope i'll go on the third of one thousand five hundred cafes"
    """
    text = fold_accents(text.translate(_QUOTES)).lower()
    text = _NUMBER.sub(_number_words, text)
    text = _HYPHENS.sub(" ", text.replace("&", " and "))
    text = _NOT_KEPT.sub(" ", text)
    text = _EDGE_APOSTROPHES.sub(" ", text)
    return " ".join(text.split())


def changed_beyond_case(text: str) -> bool:
    """True when normalising did more than lower-case and collapse spaces (the references reported)."""
    return normalize(text) != " ".join(text.lower().split())


def normalizer_report(references: list[str]) -> dict:
    """What the normaliser did to a split's references, for final.json."""
    return {
        "version": NORMALIZER_VERSION,
        "references": len(references),
        "changed": sum(changed_beyond_case(text) for text in references),
        "with_digits": sum(any(c.isdigit() for c in text) for text in references),
        "with_hyphens": sum("-" in text for text in references),
        "with_non_ascii": sum(not text.isascii() for text in references),
    }
