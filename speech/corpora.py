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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from core.engine.domain import data_root
from core.errors import DataError
from speech.audio import load_audio

NAMED = ("arctic", "fsdd", "fsdd-strings", "yesno", "librispeech", "tts-digits", "tts-sentences")
Splits = dict[str, list["Clip"]]


@dataclass
class Clip:
    key: str
    text: str
    make: Callable[[], Tensor]  # () -> (N,) float32 at the dataset's rate


def file_clip(path: Path, text: str, *, sample_rate: int, max_seconds: float) -> Clip:
    stat = path.stat() if path.exists() else None
    key = f"{path}:{stat.st_size}:{stat.st_mtime_ns}" if stat else str(path)
    return Clip(key, text, lambda: load_audio(path, sample_rate=sample_rate, max_seconds=max_seconds))


def _read_table(path: Path) -> list[dict]:
    """TSV with a header row, or JSONL; one dict per row."""
    try:
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        with path.open(newline="") as handle:
            return list(csv.DictReader(handle, delimiter="\t"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read manifest ({exc})") from None


def _speech_dir(name: str) -> Path:
    folder = data_root() / "speech" / name
    if not folder.is_dir():
        raise DataError(f"dataset folder {folder} not found (set RNNSUITE_DATA to the data root)")
    return folder


def fsdd(*, sample_rate: int, max_seconds: float, **_) -> Splits:
    """Single digits, official split: takes 0-4 test, 5-9 validation, 10-49 train."""
    root = _speech_dir("fsdd")
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
    root = _speech_dir("fsdd")
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
    root = _speech_dir("yesno")
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
    root = Path(path) if path else _speech_dir("librispeech")
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


def tts_digits(*, sample_rate: int, num_utts: int, seed: int, **_) -> Splits:
    """Digit strings synthesised by eSpeak NG; each split drawn from its own seed."""
    from speech.tts import digit_string_specs, synthesize

    counts = {"train": num_utts, "val": max(num_utts // 10, 50), "test": max(num_utts // 6, 100)}
    splits: Splits = {}
    for i, (split, count) in enumerate(counts.items()):
        specs = digit_string_specs(count, seed=seed * 1000 + 7 + i)
        splits[split] = [
            Clip(f"tts:{s}:{sample_rate}", s.text, lambda s=s: synthesize(s, sample_rate=sample_rate))
            for s in specs
        ]
    return splits


def tts_sentences(*, sample_rate: int, num_utts: int, seed: int, **_) -> Splits:
    """Sentences of unlabelled IMDB reviews read by eSpeak NG: many voices of general English text for
    pretraining an acoustic model (then ``--init-backbone`` on real speech). Sentences of 4-20 words,
    normalised as every transcript is; any equal to an arctic-cathy validation or test transcript
    is left out. Each split gets its own sentences (val and test 1/20 of train, at least 50)."""
    from speech.lm import arctic_texts, review_sentences
    from speech.tts import sentence_specs, synthesize

    counts = {"train": num_utts, "val": max(num_utts // 20, 50), "test": max(num_utts // 20, 50)}
    held_out = arctic_texts(_speech_dir("arctic-cathy") / "manifest.tsv")[1]
    sentences = _distinct_sentences(
        review_sentences(data_root() / "sentiment/imdb/aclImdb.tar.xz", limit=10**6),
        sum(counts.values()),
        excluded=held_out,
    )
    if len(sentences) < sum(counts.values()):
        raise DataError(
            f"tts-sentences: only {len(sentences)} usable review sentences for --num-utts {num_utts}"
        )
    random.Random(seed).shuffle(sentences)
    splits: Splits = {}
    start = 0
    for i, (split, count) in enumerate(counts.items()):
        specs = sentence_specs(sentences[start : start + count], seed=seed * 1000 + 11 + i)
        start += count
        splits[split] = [
            Clip(f"tts:{s}:{sample_rate}", s.text, lambda s=s: synthesize(s, sample_rate=sample_rate))
            for s in specs
        ]
    return splits


def _distinct_sentences(sentences, count: int, *, excluded: set[str]) -> list[str]:
    """The first ``count`` distinct sentences of 4-20 words not in ``excluded``."""
    kept: dict[str, None] = {}
    for sentence in sentences:
        if 4 <= len(sentence.split()) <= 20 and sentence not in excluded:
            kept[sentence] = None
            if len(kept) >= count:
                break
    return list(kept)


def arctic(**options) -> Splits:
    """CMU ARCTIC prompts read by one speaker (arctic-cathy): its manifest, split by prompt."""
    return manifest(path=_speech_dir("arctic-cathy") / "manifest.tsv", **options)


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
