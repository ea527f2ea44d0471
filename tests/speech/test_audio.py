"""Audio reading: mono mix-down, resampling, and one-line errors for bad files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from core.errors import DataError
from speech.audio import load_audio


def _tone(seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([wave, -wave * 0.5], axis=1)[:, :channels] if channels > 1 else wave


def test_stereo_is_mixed_down_and_resampled(tmp_path):
    path = tmp_path / "stereo.wav"
    sf.write(path, _tone(0.5, 16000, channels=2), 16000)
    wave = load_audio(path, sample_rate=8000)
    assert wave.shape == (4000,) and wave.dtype == torch.float32
    # channels (x, -x/2) average to x/4: peak 0.125 after a 440 Hz tone survives resampling
    assert 0.10 < float(wave.abs().max()) < 0.15


def test_wrong_rate_file_comes_out_at_model_rate(tmp_path):
    path = tmp_path / "r22k.flac"
    sf.write(path, _tone(1.0, 22050), 22050)
    assert load_audio(path, sample_rate=16000).shape == (16000,)


@pytest.mark.parametrize(
    "kind, fragment",
    [
        ("missing", "no such audio file"),
        ("garbage", "unreadable audio"),
        ("empty", "unreadable audio"),
        ("zero", "empty or shorter"),
        ("truncated", "truncated"),
        ("long", "longer than max_seconds"),
    ],
)
def test_bad_files_raise_one_line_error_naming_the_file(tmp_path, kind, fragment):
    path = tmp_path / f"{kind}.wav"
    if kind == "garbage":
        path.write_bytes(b"definitely not audio" * 20)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "zero":
        sf.write(path, np.zeros(0), 8000)
    elif kind == "truncated":
        sf.write(tmp_path / "full.wav", _tone(1.0, 8000), 8000)
        data = (tmp_path / "full.wav").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "long":
        sf.write(path, _tone(3.0, 8000), 8000)
    with pytest.raises(DataError) as info:
        load_audio(path, sample_rate=8000, max_seconds=2.0)
    message = str(info.value)
    assert str(path) in message and fragment in message and "\n" not in message
