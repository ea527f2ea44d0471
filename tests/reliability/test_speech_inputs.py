"""Speech: the feature cache follows the manifest's transcripts; bad manifests are one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from core.engine.run import train_main
from speech.corpora import list_corpus
from speech.data import logmel_from
from speech.feature_cache import featurize
from speech.train import DOMAIN

RATE = 8000
SETTINGS = {"sample_rate": RATE, "n_mels": 20, "win_ms": 25.0, "hop_ms": 10.0}


def write_clips(folder: Path, count: int) -> list[str]:
    """``count`` short tones (different pitches) as WAV files; their names."""
    names = []
    for i in range(count):
        t = np.arange(int(0.3 * RATE)) / RATE
        sf.write(
            folder / f"c{i}.wav", (0.3 * np.sin(2 * np.pi * (200 + 40 * i) * t)).astype(np.float32), RATE
        )
        names.append(f"c{i}.wav")
    return names


def write_manifest(path: Path, names: list[str], texts: list[str]) -> Path:
    rows = [{"path": n, "transcript": t, "split": "train"} for n, t in zip(names, texts)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def train_texts(manifest: Path) -> list[str]:
    clips = list_corpus(str(manifest), sample_rate=RATE, max_seconds=0.0, num_utts=0, seed=0)["train"]
    return featurize(clips, logmel_from(SETTINGS), name="custom-train", progress=False).texts


def test_edited_transcripts_are_not_served_from_the_cache(tmp_path, isolated_cache):
    names = write_clips(tmp_path, 3)
    manifest = write_manifest(tmp_path / "m.jsonl", names, ["one", "two", "three"])
    assert train_texts(manifest) == ["one", "two", "three"]
    write_manifest(manifest, names, ["uno", "dos", "tres"])  # same audio files, new transcripts
    assert train_texts(manifest) == ["uno", "dos", "tres"]


class Evil:
    def __reduce__(self):
        return (print, ("unpickled code ran",))


@pytest.mark.parametrize("damage", ["garbage", "wrong-structure", "wrong-count", "malicious-pickle"])
def test_a_cache_entry_that_fails_to_load_is_rebuilt(tmp_path, isolated_cache, capsys, damage):
    names = write_clips(tmp_path, 2)
    manifest = write_manifest(tmp_path / "m.jsonl", names, ["yes", "no"])
    train_texts(manifest)
    (entry,) = (isolated_cache / "speech").glob("custom-train-*.pt")
    if damage == "garbage":
        entry.write_bytes(b"PK\x03\x04 not a torch file")
    elif damage == "wrong-structure":
        torch.save({"features": "x", "texts": [1], "keys": [], "errors": []}, entry)
    elif damage == "wrong-count":
        torch.save({"features": [torch.zeros(3, 20)], "texts": ["other"], "keys": ["k"], "errors": []}, entry)
    else:
        torch.save({"features": Evil(), "texts": [], "keys": [], "errors": []}, entry)
    assert train_texts(manifest) == ["yes", "no"]
    captured = capsys.readouterr()
    assert "rebuilding it" in captured.err and "unpickled code ran" not in captured.out


BAD_MANIFESTS = {
    "duration-abc": ('{"path": "c0.wav", "transcript": "one", "duration": "abc"}\n', "row 1: duration"),
    "duration-negative": ('{"path": "c0.wav", "transcript": "one", "duration": -1}\n', "row 1: duration"),
    "no-transcript": (
        '{"path": "c0.wav", "transcript": "one"}\n{"path": "c1.wav"}\n',
        "row 2: no 'transcript'",
    ),
    "null-transcript": ('{"path": "c0.wav", "transcript": null}\n', "row 1: no 'transcript'"),
    "row-is-a-list": ('["c0.wav", "one"]\n', "row 1: expected an object"),
    "row-is-a-number": ("7\n", "row 1: expected an object"),
    "no-path": ('{"transcript": "one"}\n', "row 1: no 'path'"),
    "bad-split": ('{"path": "c0.wav", "transcript": "one", "split": "dev"}\n', "row 1: split"),
    "not-json": ('{"path": "c0.wav", \n', "cannot read manifest"),
    "empty": ("\n", "no utterances"),
    "tsv-short-row": ("path\ttranscript\nc0.wav\n", "row 1: no 'transcript'"),
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_bad_manifest_is_one_line_exit_2(tmp_path, isolated_cache, refused, case):
    write_clips(tmp_path, 2)
    content, fragment = BAD_MANIFESTS[case]
    manifest = tmp_path / ("m.tsv" if case.startswith("tsv") else "m.jsonl")
    manifest.write_text(content)
    out = tmp_path / "run"
    refused(
        train_main(DOMAIN, ["--data", str(manifest), "--out", str(out), "--no-progress"]),
        manifest.name,
        fragment,
    )
    assert not out.exists()  # nothing was created for a run that never started
