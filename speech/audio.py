"""Audio file reading with soundfile (no FFmpeg), mono mix-down and resampling.

Every failure is a one-line ``DataError`` naming the file, so a loader can report
a bad file and carry on with the rest.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.transforms as T
from torch import Tensor

from core.errors import DataError

_TRUNCATED = re.compile(r"data\s*:\s*(\d+)\s*\(should be (\d+)\)")
MIN_SAMPLES = 160  # 10 ms at 16 kHz: anything shorter carries no speech


def to_mono(data: np.ndarray) -> np.ndarray:
    """(N,) or (N, C) -> (N,) float32 by averaging channels."""
    return (data.mean(axis=1) if data.ndim == 2 else data).astype(np.float32, copy=False)


def resample(wave: Tensor, orig_rate: int, new_rate: int) -> Tensor:
    """(N,) -> (N * new / orig,) with torchaudio's band-limited sinc resampler."""
    if orig_rate == new_rate:
        return wave
    return _resampler(int(orig_rate), int(new_rate))(wave)


@lru_cache(maxsize=8)
def _resampler(orig_rate: int, new_rate: int) -> T.Resample:
    # the sinc kernel is built once per rate pair, not once per file
    return T.Resample(orig_rate, new_rate)


def load_audio(path: str | Path, *, sample_rate: int, max_seconds: float = 0.0) -> Tensor:
    """Read a file as mono float32 in [-1, 1] at ``sample_rate``: (N,).

    Raises DataError (one line, names the file) for a missing, unreadable, empty,
    truncated or over-long (``max_seconds`` > 0) file.

    Example:
        >>> import tempfile, soundfile
        >>> f = tempfile.NamedTemporaryFile(suffix=".wav"); soundfile.write(f.name, np.zeros((800, 2)), 8000)
        >>> load_audio(f.name, sample_rate=16000).shape
        torch.Size([1600])
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such audio file")
    try:
        info = sf.info(str(path))
        if max_seconds and info.duration > max_seconds:
            raise DataError(f"{path}: {info.duration:.1f} s is longer than max_seconds={max_seconds:g}")
        data, rate = sf.read(str(path), dtype="float32", always_2d=False)
    except DataError:
        raise
    except Exception as exc:  # soundfile raises several types (LibsndfileError, RuntimeError...)
        raise DataError(f"{path}: unreadable audio ({str(exc).splitlines()[0][:120]})") from None
    short = _TRUNCATED.search(info.extra_info or "")
    if short:  # libsndfile reads what is there and only notes the header's claim
        raise DataError(f"{path}: truncated (header claims {short[1]} data bytes, file holds {short[2]})")
    wave = torch.from_numpy(to_mono(np.asarray(data)))
    if wave.numel() * 16000 < MIN_SAMPLES * rate:
        raise DataError(f"{path}: empty or shorter than 10 ms ({wave.numel()} samples)")
    if not torch.isfinite(wave).all():
        raise DataError(f"{path}: contains NaN or infinite samples")
    return resample(wave, int(rate), sample_rate)
