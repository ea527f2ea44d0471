"""A clip: one utterance's transcript and how to make its waveform, keyed for the feature cache."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from torch import Tensor

from core.engine.domain import data_root
from core.errors import DataError
from speech.audio import load_audio

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


def speech_dir(name: str) -> Path:
    folder = data_root() / "speech" / name
    if not folder.is_dir():
        raise DataError(f"dataset folder {folder} not found (set RNNSUITE_DATA to the data root)")
    return folder
