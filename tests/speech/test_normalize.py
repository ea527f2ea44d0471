"""The text normaliser on real ARCTIC transcripts, and the arctic-cathy split."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from speech.normalize import cardinal, normalize, normalizer_report, ordinal, year

# transcripts copied from arctic-cathy/manifest.tsv
REAL_CASES = {
    "Author of the danger trail, Philip Steels, etc.": "author of the danger trail philip steels etc",
    "Typhoid -- did I tell you.": "typhoid did i tell you",
    "There's Fort Churchill, a rifle-shot beyond the ridge, asleep.": "there's fort churchill a rifle shot beyond the ridge asleep",
    "God bless 'em, I hope I'll go on seeing them forever.": "god bless em i hope i'll go on seeing them forever",
    "Men of Selden's stamp don't stop at women and children.": "men of selden's stamp don't stop at women and children",
}


@pytest.mark.parametrize("raw, expected", REAL_CASES.items())
def test_real_transcripts(raw, expected):
    assert normalize(raw) == expected


def test_digits_read_as_the_speaker_reads_them():
    # val prompt b0391 is read "At sea, Tuesday, March seventeen, nineteen oh eight."
    spoken = "At sea, Tuesday, March seventeen, nineteen oh eight."
    assert normalize("At sea, Tuesday, March 17, 1908.") == normalize(spoken)
    assert (
        normalize("the 3rd of 1,500 men; 2.5 miles & 42nd street")
        == "the third of one thousand five hundred men two point five miles and forty second street"
    )
    assert (cardinal(0), cardinal(1000001), year(1900), year(2024), ordinal(40), ordinal(12)) == (
        "zero",
        "one million one",
        "nineteen hundred",
        "twenty twenty four",
        "fortieth",
        "twelfth",
    )


def test_quotes_accents_and_edges():
    assert (
        normalize("\u201cCaf\u00e9\u201d, he said \u2014 \u2018boys\u2019 toys\u2019 won\u2019t!")
        == "cafe he said boys toys won't"
    )


def _manifest_rows(data_dir: Path) -> list[dict]:
    with (data_dir / "speech/arctic-cathy/manifest.tsv").open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.mark.data
def test_every_arctic_transcript_normalises_to_letters_apostrophes_spaces(data_dir):
    texts = [row["transcript"] for row in _manifest_rows(data_dir)]
    for text in texts:
        words = normalize(text)
        assert re.fullmatch(r"[a-z]+(?:'[a-z]+)*(?: [a-z]+(?:'[a-z]+)*)*", words), (text, words)
        assert normalize(words) == words  # idempotent: hypotheses pass through it unchanged
    report = normalizer_report(texts)
    assert report["references"] == 1620 and report["with_hyphens"] > 0 and report["with_digits"] == 0


@pytest.mark.data
def test_arctic_split_by_prompt(data_dir):
    rows = _manifest_rows(data_dir)
    splits: dict[str, set] = {}
    for row in rows:
        splits.setdefault(row["prompt"], set()).add(row["split"])
    assert all(len(s) == 1 for s in splits.values()), [p for p, s in splits.items() if len(s) > 1]
    by_split = {
        name: {normalize(r["transcript"]) for r in rows if r["split"] == name}
        for name in ("train", "val", "test")
    }
    assert not by_split["train"] & by_split["test"] and not by_split["train"] & by_split["val"]
    assert [sum(r["split"] == s for r in rows) for s in ("train", "val", "test")] == [1416, 73, 131]
