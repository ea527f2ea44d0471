"""Inputs for the serve tests: WAV bytes of synthesised digit strings, PNG bytes of digits."""
from __future__ import annotations

import io

import numpy as np
import soundfile as sf
from PIL import Image


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def spoken(text: str, rate: int) -> np.ndarray:
    from speech.tts import Spec, synthesize

    return synthesize(Spec(text), sample_rate=rate).numpy()


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def digit_png(index: int) -> bytes:
    """The ``index``-th scikit-learn digit as an 8x8 grey PNG (the format the tiny model trained on)."""
    from sklearn.datasets import load_digits

    image = np.rint(load_digits().images[index] * (255.0 / 16.0)).astype(np.uint8)  # as vision.sources
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()
