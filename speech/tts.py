"""Spoken digit strings synthesised locally with eSpeak NG (``tts-digits``, the embedded default).

libespeak-ng comes from the PyPI package ``espeakng-loader`` and is driven through
ctypes in synchronous mode: a synth callback collects the 16-bit samples. Voice
variant, rate and pitch vary per utterance and noise is added, all from one seed.
"""

from __future__ import annotations

import ctypes
import random
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from core.errors import DataError
from speech.audio import resample

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2"]
VOICES = ["en-us", "en"]
_AUDIO_OUTPUT_SYNCHRONOUS, _POS_CHARACTER = 2, 1
_RATE, _PITCH = 1, 3  # espeak_PARAMETER ids
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _Engine:
    """The process-wide libespeak-ng instance (the C library keeps global state)."""

    _instance: "_Engine | None" = None

    def __init__(self):
        try:
            import espeakng_loader

            self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
            data_path = espeakng_loader.get_data_path().encode()
        except (ImportError, OSError) as exc:
            raise DataError(f"tts-digits needs the espeakng-loader package ({exc})") from None
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self.rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, 0)
        if self.rate <= 0:
            raise DataError("eSpeak NG failed to initialise (espeak_Initialize returned an error)")
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: C holds only the pointer
        self.lib.espeak_SetSynthCallback(self._callback)

    @classmethod
    def get(cls) -> "_Engine":
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def _collect(self, wav, num_samples, events) -> int:
        if wav and num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        return 0  # 0 = continue synthesis

    def say(self, text: str, *, voice: str, rate: int, pitch: int) -> np.ndarray:
        """Text -> int16 samples at ``self.rate`` (22050 Hz)."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise DataError(f"eSpeak NG has no voice {voice!r}")
        self.lib.espeak_SetParameter(_RATE, rate, 0)
        self.lib.espeak_SetParameter(_PITCH, pitch, 0)
        self._chunks = []
        raw = text.encode()
        self.lib.espeak_Synth(raw, len(raw) + 1, 0, _POS_CHARACTER, 0, 0, None, None)
        self.lib.espeak_Synchronize()
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)


@dataclass
class Spec:
    """Everything that determines one synthetic utterance (drawn up front, rendered lazily)."""

    text: str
    voice: str = "en-us"
    rate: int = 175
    pitch: int = 50
    snr_db: float | None = None
    noise_seed: int = 0


def synthesize(spec: Spec, *, sample_rate: int) -> Tensor:
    """One utterance as (N,) float32 at ``sample_rate``; white noise at ``spec.snr_db`` if set.

    Example:
        >>> synthesize(Spec("four two"), sample_rate=8000).shape[0] > 4000
        True
    """
    engine = _Engine.get()
    raw = engine.say(spec.text, voice=spec.voice, rate=spec.rate, pitch=spec.pitch)
    wave = resample(torch.from_numpy(raw.astype(np.float32) / 32768.0), engine.rate, sample_rate)
    if spec.snr_db is not None and wave.numel():
        gen = torch.Generator().manual_seed(spec.noise_seed)
        power = wave.pow(2).mean().clamp(min=1e-10)
        wave = wave + torch.randn(wave.shape, generator=gen) * (power / 10 ** (spec.snr_db / 10)).sqrt()
    return wave


def varied_spec(text: str, rng: random.Random, *, rates: tuple[int, int], snrs: tuple[float, float]) -> Spec:
    """``text`` in a voice variant, rate, pitch and noise level drawn from ``rng`` (in that order)."""
    return Spec(
        text,
        voice=f"{rng.choice(VOICES)}+{rng.choice(VARIANTS)}",
        rate=rng.randint(*rates),
        pitch=rng.randint(25, 80),
        snr_db=rng.uniform(*snrs),
        noise_seed=rng.randrange(2**31),
    )


def digit_string_specs(count: int, *, seed: int, max_digits: int = 7) -> list[Spec]:
    """``count`` random digit strings of 1..max_digits words with varied voice, rate, pitch, noise."""
    rng = random.Random(seed)
    specs = []
    for _ in range(count):
        text = " ".join(DIGITS[rng.randrange(10)] for _ in range(rng.randint(1, max_digits)))
        specs.append(varied_spec(text, rng, rates=(130, 240), snrs=(15.0, 40.0)))
    return specs


def sentence_specs(sentences: list[str], *, seed: int) -> list[Spec]:
    """One Spec per sentence, varied as digit strings are but slower and less noisy (whole sentences
    at 240 words a minute blur even for eSpeak)."""
    rng = random.Random(seed)
    return [varied_spec(text, rng, rates=(130, 210), snrs=(20.0, 45.0)) for text in sentences]
