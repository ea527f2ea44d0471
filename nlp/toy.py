"""``toy``: a generated sentiment corpus in which word order decides the label.

Written by this project (no download). Three sentence families, in equal-ish shares:

- **negation** (30 %): "the plot was not good" (negative), "the acting was not
  bad" (positive), with or without an intensifier ("the score was very dull");
- **intensity** (30 %): "a very good plot and slightly dull acting": two
  noun phrases of opposite polarity joined by "and"; the stronger one wins
  (weights: slightly/somewhat 0.5, none 1, very/really 2, extremely/incredibly 3);
- **contrast** (40 %): "the good acting but a dull plot": the clause after
  "but" decides, whatever the intensifiers.

Why a bag of words fails on part of it: with unigrams, "not good" and "not bad"
hold the same negation word with opposite labels (an XOR no linear model over
counts can fit), "very good ... slightly dull" and "slightly good ... very dull"
are the same bag, and "X but Y" / "Y but X" are the same bag with opposite
labels. Word bigrams recover negation and intensity ("not good", "very good"),
but not contrast: every contrast clause is a noun phrase that starts with a
determiner and ends with the aspect noun, so the only bigrams that touch "but"
are "<aspect> but" and "but <determiner>", which carry no polarity. A TF-IDF
1-2-gram model therefore sits near chance on the contrast family (about 40 %
of the corpus) while a recurrent model can read the order.

Example:
    >>> rows = generate(4, seed=1)
    >>> len(rows), sorted({label for _, label in rows}) <= ["negative", "positive"]
    (4, True)
"""

from __future__ import annotations

import random

CLASSES = ["negative", "positive"]
ASPECTS = [
    "acting",
    "plot",
    "script",
    "soundtrack",
    "cinematography",
    "dialogue",
    "pacing",
    "ending",
    "cast",
    "direction",
    "score",
    "story",
]
POSITIVE = ["good", "great", "brilliant", "charming", "moving", "clever", "superb", "delightful"]
NEGATIVE = ["bad", "dull", "boring", "clumsy", "awful", "weak", "tedious", "bland"]
INTENSIFIERS = {
    "slightly": 0.5,
    "somewhat": 0.5,
    "": 1.0,
    "very": 2.0,
    "really": 2.0,
    "extremely": 3.0,
    "incredibly": 3.0,
}
DETERMINERS = ["the", "a", "some"]
SPLIT_SIZES = {"train": 4000, "val": 500, "test": 1000}
SPLIT_SEEDS = {"train": 101, "val": 202, "test": 303}


def _adjective(rng: random.Random, positive: bool) -> str:
    return rng.choice(POSITIVE if positive else NEGATIVE)


def _noun_phrase(rng: random.Random, positive: bool, intensifier: str) -> str:
    words = [rng.choice(DETERMINERS), intensifier, _adjective(rng, positive), rng.choice(ASPECTS)]
    return " ".join(w for w in words if w)


def _negation(rng: random.Random) -> tuple[str, bool]:
    positive, negated = rng.random() < 0.5, rng.random() < 0.5
    intensifier = "" if negated else rng.choice(list(INTENSIFIERS))
    words = [
        "the",
        rng.choice(ASPECTS),
        rng.choice(["was", "is"]),
        "not" if negated else "",
        intensifier,
        _adjective(rng, positive),
    ]
    return " ".join(w for w in words if w), positive != negated


def _intensity(rng: random.Random) -> tuple[str, bool]:
    first_positive = rng.random() < 0.5
    strong, weak = rng.sample([name for name, w in INTENSIFIERS.items() if w >= 1.0], 1)[0], ""
    while INTENSIFIERS[weak] >= INTENSIFIERS[strong]:
        weak = rng.choice(list(INTENSIFIERS))
    first_strong = rng.random() < 0.5
    first = _noun_phrase(rng, first_positive, strong if first_strong else weak)
    second = _noun_phrase(rng, not first_positive, weak if first_strong else strong)
    return f"{first} and {second}", first_positive == first_strong


def _contrast(rng: random.Random) -> tuple[str, bool]:
    second_positive = rng.random() < 0.5
    first = _noun_phrase(rng, not second_positive, rng.choice(list(INTENSIFIERS)))
    second = _noun_phrase(rng, second_positive, rng.choice(list(INTENSIFIERS)))
    return f"{first} but {second}", second_positive


def family(text: str) -> str:
    """Which family a generated sentence belongs to (for per-family accuracy)."""
    if " but " in text:
        return "contrast"
    return "intensity" if " and " in text else "negation"


def generate(n: int, *, seed: int) -> list[tuple[str, str]]:
    """``n`` (text, label) pairs; the same seed always gives the same corpus."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        draw = rng.random()
        make = _negation if draw < 0.3 else _intensity if draw < 0.6 else _contrast
        text, positive = make(rng)
        rows.append((text, CLASSES[int(positive)]))
    return rows


def splits(scale: float = 1.0) -> dict[str, list[tuple[str, str]]]:
    """The fixed train/val/test corpus (``scale`` shrinks it for quick tests)."""
    return {
        name: generate(max(8, int(size * scale)), seed=SPLIT_SEEDS[name])
        for name, size in SPLIT_SIZES.items()
    }
