"""The speech feature cache: float16 log-mels of every readable clip, computed once per corpus recipe.

Features are cached under ``core.engine.domain.cache_root()/speech`` (never inside RNNSUITE_DATA),
keyed by everything that determines them (``cache_key``), so later epochs and later runs do no DSP.
A bad file is reported on one line and left out; an unreadable cache entry is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass

import torch
from torch import Tensor
from tqdm.auto import tqdm

from core.engine.domain import cache_root
from core.errors import DataError
from speech.corpora import Clip
from speech.features import LogMel

CACHE_VERSION = 3


@dataclass
class Featurized:
    features: list[Tensor]  # each (T, F) float16
    texts: list[str]
    keys: list[str]


def wave_features(wave: Tensor, logmel: LogMel) -> Tensor:
    """(N,) waveform -> (T, F) float16 log-mels: what the training cache holds and what transcription
    computes (half precision halves the cache; log-mels fit), so both see the same numbers."""
    return logmel(wave).half()


def log(message: str) -> None:
    print(f"speech: {message}", file=sys.stderr)


def featurize(clips: list[Clip], logmel: LogMel, *, name: str, progress: bool = True) -> Featurized:
    """Features of every readable clip, from the cache when this exact recipe was seen before."""
    path = cache_root() / "speech" / f"{name}-{cache_key(clips, logmel)}.pt"
    cached = _load_cache(path, len(clips))
    if cached is not None:
        return cached
    out, errors = Featurized([], [], []), []
    for clip in tqdm(clips, desc=f"features {name}", leave=False, disable=not progress):
        try:
            wave = clip.make()  # (N,)
        except DataError as err:
            errors.append(str(err))
            log(f"skipped: {err}")
            continue
        out.features.append(wave_features(wave, logmel))
        out.texts.append(clip.text)
        out.keys.append(clip.key)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)  # own name per writer
    with os.fdopen(handle, "wb") as stream:
        torch.save({"features": out.features, "texts": out.texts, "keys": out.keys, "errors": errors}, stream)
    os.replace(tmp, path)  # atomic: a crash never leaves a truncated cache behind
    return out


def cache_key(clips: list[Clip], logmel: LogMel) -> str:
    """Digest of everything the cached value depends on: feature settings and, per clip, its recipe
    key (file path, size and mtime, or the synthesis recipe) and its raw transcript. The cache holds
    raw transcripts; normalisation happens after it, so a new normaliser never meets stale text."""
    recipe = [
        CACHE_VERSION,
        logmel.sample_rate,
        logmel.win,
        logmel.hop,
        logmel.mel.n_mels,
        [[c.key, c.text] for c in clips],
    ]
    return hashlib.sha1(json.dumps(recipe).encode()).hexdigest()[:16]


def _load_cache(path, clips: int) -> Featurized | None:
    """The cached features, or None (rebuild) when absent or when the file is not what we wrote."""
    if not path.is_file():
        return None
    try:
        cached = torch.load(path, weights_only=True)
        parts = [cached[k] for k in ("features", "texts", "keys", "errors")]
        lengths = {len(parts[0]), len(parts[1]), len(parts[2])}
        if (
            len(lengths) != 1
            or lengths.pop() + len(parts[3]) != clips
            or not all(isinstance(t, str) for t in parts[1])
            or not all(torch.is_tensor(f) for f in parts[0])
        ):
            raise ValueError("inconsistent contents")
    except Exception as exc:  # a half-written, foreign or tampered file: recompute
        log(f"ignoring unreadable feature cache {path} ({exc.__class__.__name__}); rebuilding it")
        return None
    for message in cached["errors"]:
        log(f"skipped: {message}")
    return Featurized(cached["features"], cached["texts"], cached["keys"])
