"""Where utterances come from: one listing function per dataset.

Each returns ``{"train": [Clip], "val": [...], "test": [...]}``. A ``Clip`` knows
how to produce its waveform (read a file, join FSDD takes, synthesise speech), and
its ``key`` identifies that recipe so the feature cache can be keyed on it.
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from pathlib import Path

import torch
from torch import Tensor

from core.errors import DataError
from speech.audio import load_audio
from speech.clips import Clip, Splits, file_clip, speech_dir  # noqa: F401  (Clip: re-exported)
from speech.tts_corpora import tts_digits, tts_sentences

NAMED = ("arctic", "fsdd", "fsdd-strings", "yesno", "librispeech", "tts-digits", "tts-sentences")


def _read_table(path: Path) -> list[dict]:
    """TSV with a header row, or JSONL; one dict per row."""
    try:
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        with path.open(newline="") as handle:
            return list(csv.DictReader(handle, delimiter="\t"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read manifest ({exc})") from None


def fsdd(*, sample_rate: int, max_seconds: float, **_) -> Splits:
    """Single digits, official split: takes 0-4 test, 5-9 validation, 10-49 train."""
    root = speech_dir("fsdd")
    splits: Splits = {"train": [], "val": [], "test": []}
    for row in _fsdd_rows(root):
        take = int(row["index"])
        split = "test" if take < 5 else "val" if take < 10 else "train"
        splits[split].append(
            file_clip(root / row["path"], row["transcript"], sample_rate=sample_rate, max_seconds=max_seconds)
        )
    return splits


def _fsdd_rows(root: Path) -> list[dict]:
    rows = _read_table(root / "manifest.tsv")
    missing = {"path", "speaker", "transcript", "index"} - set(rows[0] if rows else {})
    if missing:
        raise DataError(f"{root / 'manifest.tsv'}: missing column(s) {sorted(missing)}")
    return rows


def fsdd_strings(*, sample_rate: int, max_seconds: float, num_utts: int, seed: int, **_) -> Splits:
    """1-7 takes of one speaker joined by 50-300 ms pauses; each split uses only its own takes."""
    root = speech_dir("fsdd")
    pools: dict[str, dict[str, list[dict]]] = {s: defaultdict(list) for s in ("train", "val", "test")}
    for row in _fsdd_rows(root):
        take = int(row["index"])
        split = "test" if take < 5 else "val" if take < 10 else "train"
        pools[split][row["speaker"]].append(row)
    counts = {"train": num_utts, "val": max(num_utts // 10, 50), "test": max(num_utts // 6, 100)}
    return {
        split: _join_takes(
            root,
            pools[split],
            counts[split],
            seed=seed * 1000 + i,
            sample_rate=sample_rate,
            max_seconds=max_seconds,
        )
        for i, split in enumerate(("train", "val", "test"))
    }


def _join_takes(
    root: Path, by_speaker: dict, count: int, *, seed: int, sample_rate: int, max_seconds: float
) -> list[Clip]:
    rng = random.Random(seed)
    speakers = sorted(by_speaker)
    clips = []
    for n in range(count):
        rows = rng.choices(by_speaker[rng.choice(speakers)], k=rng.randint(1, 7))
        pauses = [int(rng.uniform(0.05, 0.3) * sample_rate) for _ in rows]
        paths = [root / r["path"] for r in rows]
        text = " ".join(r["transcript"] for r in rows)
        key = f"fsdd-strings:{seed}:{n}:" + ",".join(f"{p.name}+{q}" for p, q in zip(paths, pauses))

        def make(paths=paths, pauses=pauses) -> Tensor:
            parts = []
            for path, pause in zip(paths, pauses):
                parts += [
                    load_audio(path, sample_rate=sample_rate, max_seconds=max_seconds),
                    torch.zeros(pause),
                ]
            return torch.cat(parts[:-1])  # no pause after the last word

        clips.append(Clip(key, text, make))
    return clips


def yesno(*, sample_rate: int, max_seconds: float, **_) -> Splits:
    """60 files of 8 words, split as Kaldi's ``egs/yesno`` recipe does: sorted by name, first half train.

    That is the split behind the published ~0% WER, so figures compare like with like.
    With only 30 training files there is no separate validation set: val is the train split.
    """
    root = speech_dir("yesno")
    rows = sorted(_read_table_plain(root / "transcripts.tsv"), key=lambda row: Path(row[0]).name)
    clips = [
        file_clip(root / path, words, sample_rate=sample_rate, max_seconds=max_seconds)
        for path, words in rows
    ]
    half = len(clips) // 2
    return {"train": clips[:half], "val": clips[:half], "test": clips[half:]}


def _read_table_plain(path: Path) -> list[tuple[str, str]]:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    return [tuple(line.split("\t", 1)) for line in lines if "\t" in line]


def librispeech(*, sample_rate: int, max_seconds: float, path: Path | None = None, **_) -> Splits:
    """``ROOT/{train-*,dev-*,test-*}/SPEAKER/CHAPTER/*.flac`` with ``*.trans.txt`` transcripts."""
    root = Path(path) if path else speech_dir("librispeech")
    splits: Splits = {"train": [], "val": [], "test": []}
    prefixes = {"train": "train", "dev": "val", "test": "test"}
    for part in sorted(p for p in root.iterdir() if p.is_dir()):
        split = next((s for pre, s in prefixes.items() if part.name.startswith(pre)), None)
        if split is None:
            continue
        for trans in sorted(part.glob("*/*/*.trans.txt")):
            for line in trans.read_text().splitlines():
                utt, _, text = line.partition(" ")
                if utt:
                    splits[split].append(
                        file_clip(
                            trans.parent / f"{utt}.flac",
                            text,
                            sample_rate=sample_rate,
                            max_seconds=max_seconds,
                        )
                    )
    if not splits["train"]:
        raise DataError(f"{root}: no train-*/SPEAKER/CHAPTER/*.trans.txt found (LibriSpeech layout)")
    return splits


def manifest(*, sample_rate: int, max_seconds: float, path: Path, seed: int, **_) -> Splits:
    """TSV (header) or JSONL with ``path`` and ``transcript`` (or ``text``), optional ``split``
    (train/val/test) and ``duration``; without ``split`` a seeded 80/10/10 split is made."""
    rows = [_manifest_row(row, number, path) for number, row in enumerate(_read_table(path), start=1)]
    if not rows:
        raise DataError(f"{path}: the manifest lists no utterances")
    splits: Splits = {"train": [], "val": [], "test": []}
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    rank = {row_index: r for r, row_index in enumerate(order)}
    for i, (audio, text, split, duration) in enumerate(rows):
        if max_seconds and duration is not None and duration > max_seconds:
            print(f"speech: {audio}: {duration:.1f} s is longer than max_seconds={max_seconds:g}, skipped")
            continue
        split = split or (
            "train" if rank[i] < 0.8 * len(rows) else "val" if rank[i] < 0.9 * len(rows) else "test"
        )
        audio = audio if audio.is_absolute() else path.parent / audio
        splits[split].append(file_clip(audio, text, sample_rate=sample_rate, max_seconds=max_seconds))
    return splits


def _manifest_row(row: object, number: int, path: Path) -> tuple[Path, str, str | None, float | None]:
    """(audio path, transcript, split or None, duration or None) of one row; DataError naming the row."""
    where = f"{path}: row {number}"
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected an object with 'path' and 'transcript', got {type(row).__name__}")
    text = row.get("transcript", row.get("text"))
    if not isinstance(row.get("path"), str) or not row["path"].strip():
        raise DataError(f"{where}: no 'path' (a manifest needs 'path' and 'transcript' fields)")
    if not isinstance(text, str):
        raise DataError(
            f"{where}: no 'transcript' (or 'text') string (a manifest needs 'path' and 'transcript')"
        )
    split = row.get("split") or None
    if split is not None and split not in ("train", "val", "test"):
        raise DataError(f"{where}: split must be train/val/test, got {split!r}")
    duration = row.get("duration")
    if duration in (None, ""):
        return Path(row["path"]), text, split, None
    try:
        seconds = float(duration)
    except (TypeError, ValueError):
        raise DataError(f"{where}: duration must be a number of seconds, got {duration!r}") from None
    if not seconds >= 0 or seconds == float("inf"):
        raise DataError(f"{where}: duration must be a finite number of seconds >= 0, got {duration!r}")
    return Path(row["path"]), text, split, seconds


def arctic(**options) -> Splits:
    """CMU ARCTIC prompts read by one speaker (arctic-cathy): its manifest, split by prompt."""
    return manifest(path=speech_dir("arctic-cathy") / "manifest.tsv", **options)


LISTERS = {
    "arctic": arctic,
    "fsdd": fsdd,
    "fsdd-strings": fsdd_strings,
    "yesno": yesno,
    "librispeech": librispeech,
    "tts-digits": tts_digits,
    "tts-sentences": tts_sentences,
}


def list_corpus(data: str, **options) -> Splits:
    """``data`` is a dataset name, a LibriSpeech-layout folder, or a .tsv/.jsonl manifest."""
    if data in LISTERS:
        return LISTERS[data](**options)
    path = Path(data).expanduser()
    if path.suffix in (".tsv", ".jsonl") and path.is_file():
        return manifest(path=path, **options)
    if path.is_dir():
        return librispeech(path=path, **options)
    raise DataError(
        f"--data {data!r}: not one of {', '.join(NAMED)}, a manifest file (.tsv/.jsonl) "
        "or a LibriSpeech-layout folder"
    )
