"""The speech Predictor: waveforms -> transcripts (``core.engine.predictor``).

Features go through the training code (``speech.feature_cache.wave_features`` then ``model_inputs``:
the same log-mels, the same float16 rounding, the same normalisation). Recordings longer
than ``segment_seconds`` are cut at their quietest moments (``speech.segment``) and
transcribed piece by piece, so memory stays bounded on a minute of speech.

Example:
    predictor = load_predictor("runs/tts/checkpoints/best.pt")
    predictor.predict([(samples_float32, 16000)])[0]["transcript"]
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from core.engine.predictor import base_info, load_model, model_device
from speech.audio import resample
from speech.data import check_pipeline_meta, logmel_from, model_inputs, utterance_mean_removed
from speech.decode import BeamDecoder, greedy_decode
from speech.feature_cache import wave_features
from speech.model import build_model
from speech.segment import split_on_silence
from speech.text import Vocab

SEGMENT_SECONDS = 20.0
"""Longest piece transcribed in one pass (or the run's ``max_seconds`` when that is shorter)."""


class SpeechPredictor:
    """A CTC model loaded once, with its checkpoint's feature pipeline and vocabulary."""

    domain = "speech"
    input_kind = "audio"  # the server decodes uploaded WAV/FLAC/OGG files
    explains = False

    def __init__(
        self,
        *,
        model: nn.Module,
        meta: dict,
        info: dict | None = None,
        beam: int = 0,
        lexicon: bool = False,
        lm: str | None = None,
        lm_weight: float = 0.5,
        segment_seconds: float | None = None,
    ):
        check_pipeline_meta(meta)  # a crafted filterbank size is refused before anything is built
        self.model, self.meta = model.eval(), meta
        self.logmel = logmel_from(meta["features"])
        self.mean, self.std = meta["mean"], meta["std"]
        self.cmn = bool(meta["features"].get("cmn"))
        self.vocab = Vocab.from_meta(meta["vocab"])
        self.sample_rate = int(meta["features"]["sample_rate"])
        trained = float(meta.get("max_seconds") or 0.0)
        self.segment_seconds = segment_seconds or (
            min(SEGMENT_SECONDS, trained) if trained else SEGMENT_SECONDS
        )
        self.beam = (
            BeamDecoder(
                self.vocab,
                beam_size=beam,
                lexicon=meta["train_words"] if lexicon else None,
                lm=lm,
                lm_weight=lm_weight,
            )
            if beam or lm or lexicon
            else None
        )
        self.device = model_device(model)
        backbone = getattr(model, "backbone", None)
        self.streamable = getattr(backbone, "num_directions", 2) == 1 and not self.cmn
        self.info = {
            **(info or {}),
            "vocabulary": list(self.vocab.tokens),
            "sample_rate": self.sample_rate,
            "segment_seconds": self.segment_seconds,
            "streaming": True,
            "stream_mode": "stateful" if self.streamable else "windowed",
        }

    def features(self, wave: Tensor) -> Tensor:
        """(N,) float32 at ``sample_rate`` -> normalised model inputs (T, F), exactly as in training."""
        feat = wave_features(wave, self.logmel)  # (T, F) float16
        if self.cmn:
            feat = utterance_mean_removed(feat)
        return model_inputs(feat, self.mean, self.std)

    @torch.inference_mode()
    def emissions(self, wave: Tensor) -> Tensor:
        """Logits (T', V) of one piece of audio (N,) in a single pass."""
        feat = self.features(wave).to(self.device)  # (T, F)
        logits, _ = self.model(feat.unsqueeze(0), torch.tensor([feat.shape[0]]))  # (1, T', V)
        return logits[0].float().cpu()

    def decode(self, logits: Tensor) -> str:
        lengths = torch.tensor([logits.shape[0]])
        if self.beam is not None:
            return self.beam(logits.unsqueeze(0).log_softmax(-1), lengths)[0]
        return greedy_decode(logits.unsqueeze(0), lengths, self.vocab)[0]

    def transcribe(self, wave: Tensor) -> str:
        """(N,) float32 at ``sample_rate`` -> text; long audio piece by piece, cut at silences."""
        pieces = split_on_silence(wave, sample_rate=self.sample_rate, max_seconds=self.segment_seconds)
        texts = [self.decode(self.emissions(wave[start:end])) for start, end in pieces]
        return " ".join(text.strip() for text in texts if text.strip())

    def predict(self, inputs: list) -> list[dict]:
        """[(samples float32 mono (N,), sample_rate)] -> [{"transcript", "audio_seconds", "decode_seconds"}]."""
        results = []
        for samples, rate in inputs:
            started = time.perf_counter()
            wave = resample(
                torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)), int(rate), self.sample_rate
            )
            text = self.transcribe(wave)
            results.append(
                {
                    "transcript": text,
                    "audio_seconds": round(len(samples) / float(rate), 4),
                    "decode_seconds": round(time.perf_counter() - started, 4),
                }
            )
        return results

    def stream(self):
        """A streaming session (``speech.streaming``): stateful for a unidirectional model, else windowed."""
        from speech.streaming import StatefulStream, WindowedStream

        return StatefulStream(self) if self.streamable else WindowedStream(self)


def load_predictor(checkpoint: str | Path, device: str | torch.device = "cpu", **options) -> SpeechPredictor:
    """``options``: beam, lexicon, lm, lm_weight, segment_seconds (see SpeechPredictor)."""
    model, config, meta = load_model(checkpoint, domain="speech", build_model=build_model, device=device)
    info = base_info(checkpoint, domain="speech", model=model, config=config)
    return SpeechPredictor(model=model, meta=meta, info=info, **options)
