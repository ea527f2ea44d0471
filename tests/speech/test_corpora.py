"""Dataset listings: LibriSpeech layout, manifests, and the FSDD-derived splits."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.errors import DataError
from speech.corpora import list_corpus

OPTIONS = {"sample_rate": 8000, "max_seconds": 10.0, "num_utts": 60, "seed": 0}


def _wav(path, seconds=0.3, rate=8000):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(
        path,
        0.1 * np.random.randn(int(seconds * rate)),
        rate,
        format="FLAC" if path.suffix == ".flac" else None,
    )


def test_librispeech_layout(tmp_path):
    for part, split_utts in (
        ("train-clean-5", ["19-198-0000", "19-198-0001"]),
        ("dev-clean", ["84-121-0000"]),
        ("test-clean", ["61-70-0000"]),
    ):
        speaker, chapter = split_utts[0].split("-")[:2]
        folder = tmp_path / part / speaker / chapter
        for utt in split_utts:
            _wav(folder / f"{utt}.flac")
        (folder / f"{speaker}-{chapter}.trans.txt").write_text(
            "\n".join(f"{utt} HELLO WORLD {i}" for i, utt in enumerate(split_utts)) + "\n"
        )
    splits = list_corpus(str(tmp_path), **OPTIONS)
    assert {k: len(v) for k, v in splits.items()} == {"train": 2, "val": 1, "test": 1}
    assert splits["train"][1].text == "HELLO WORLD 1"
    assert splits["test"][0].make().shape == (2400,)


def test_librispeech_without_train_is_an_error(tmp_path):
    (tmp_path / "random").mkdir()
    with pytest.raises(DataError, match="LibriSpeech layout"):
        list_corpus(str(tmp_path), **OPTIONS)


@pytest.mark.parametrize("fmt", ["tsv", "jsonl"])
def test_manifest_with_split_and_durations(tmp_path, fmt, capsys):
    rows = [
        {"path": f"a{i}.wav", "transcript": f"word {i}", "split": s, "duration": 0.3}
        for i, s in enumerate(["train", "train", "val", "test"])
    ]
    rows.append({"path": "long.wav", "transcript": "too long", "split": "train", "duration": 99.0})
    for row in rows[:4]:
        _wav(tmp_path / row["path"])
    manifest = tmp_path / f"m.{fmt}"
    if fmt == "jsonl":
        manifest.write_text("\n".join(json.dumps(r) for r in rows))
    else:
        manifest.write_text(
            "path\ttranscript\tsplit\tduration\n"
            + "\n".join(f"{r['path']}\t{r['transcript']}\t{r['split']}\t{r['duration']}" for r in rows)
        )
    splits = list_corpus(str(manifest), **OPTIONS)
    assert {k: len(v) for k, v in splits.items()} == {"train": 2, "val": 1, "test": 1}
    assert "long.wav: 99.0 s is longer than max_seconds=10" in capsys.readouterr().out
    assert splits["val"][0].make().numel() == 2400


def test_manifest_without_transcript_column(tmp_path):
    manifest = tmp_path / "m.tsv"
    manifest.write_text("path\tsomething\na.wav\tx\n")
    with pytest.raises(DataError, match="'path' and 'transcript'"):
        list_corpus(str(manifest), **OPTIONS)


def test_unknown_data_name_is_an_error():
    with pytest.raises(DataError, match="not one of"):
        list_corpus("no-such-corpus", **OPTIONS)


def _takes(clip_key: str) -> set[int]:
    return {int(t) for t in re.findall(r"_(\d+)\.wav", clip_key)}


def test_fsdd_strings_keep_splits_apart(data_dir, monkeypatch):
    monkeypatch.setenv("RNNSUITE_DATA", str(data_dir))
    splits = list_corpus("fsdd-strings", **{**OPTIONS, "num_utts": 300})
    assert all(_takes(c.key) <= set(range(10, 50)) for c in splits["train"])
    assert all(_takes(c.key) <= set(range(5)) for c in splits["test"])
    assert all(_takes(c.key) <= set(range(5, 10)) for c in splits["val"])
    lengths = [len(c.text.split()) for c in splits["train"]]
    assert min(lengths) == 1 and max(lengths) == 7
    again = list_corpus("fsdd-strings", **{**OPTIONS, "num_utts": 300})
    assert [c.key for c in again["test"]] == [c.key for c in splits["test"]]  # seeded
    clip = splits["test"][0]
    speakers = set(re.findall(r"\d_([a-z]+)_\d+\.wav", clip.key))
    assert len(speakers) == 1  # one speaker per string
    assert clip.make().numel() > 0.2 * 8000 * len(clip.text.split())


def test_yesno_halves(data_dir, monkeypatch):
    monkeypatch.setenv("RNNSUITE_DATA", str(data_dir))
    splits = list_corpus("yesno", **OPTIONS)
    train, test = {c.key for c in splits["train"]}, {c.key for c in splits["test"]}
    assert len(train) == len(test) == 30 and not train & test
    assert all(len(c.text.split()) == 8 for c in splits["test"])
    names = sorted(Path(key.split(":")[0]).name for key in train | test)
    assert {Path(k.split(":")[0]).name for k in train} == set(names[:30])  # Kaldi's split: first half by name
