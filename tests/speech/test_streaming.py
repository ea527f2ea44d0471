"""Stateful streaming equals offline emissions for every unidirectional cell, depth and subsampling."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from core import CELLS
from speech.model import build_model
from speech.predictor import SpeechPredictor
from speech.text import Vocab


def random_predictor(
    cell: str, subsample: int, *, layers: int = 2, bidirectional: bool = False
) -> SpeechPredictor:
    cfg = SimpleNamespace(
        cell=cell,
        hidden=12,
        layers=layers,
        bidirectional=bidirectional,
        dropout=0.0,
        layer_norm=False,
        residual=False,
        cell_options={},
        conv_channels=10,
        subsample=subsample,
    )
    vocab = Vocab.build(["one two three"])
    meta = {
        "features": {"sample_rate": 8000, "n_mels": 16, "win_ms": 25.0, "hop_ms": 10.0, "cmn": False},
        "mean": torch.randn(16),
        "std": torch.rand(16) + 0.5,
        "vocab": vocab.to_meta(),
        "train_words": [],
        "max_seconds": 30.0,
    }
    return SpeechPredictor(model=build_model(cfg, meta), meta=meta)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("subsample", [1, 4])
def test_stream_emissions_equal_offline(cell, subsample):
    predictor = random_predictor(cell, subsample)
    wave = torch.randn(8000) * 0.1  # 1 s
    offline = predictor.emissions(wave)  # (T', V)
    for chunk in (1, 55, 160, 2999):
        stream = predictor.stream()
        assert stream.mode == "stateful"
        for start in range(0, len(wave), chunk):
            stream.push(wave[start : start + chunk])
        final = stream.finish()
        streamed = torch.cat(stream.emissions)
        assert streamed.shape == offline.shape, (cell, subsample, chunk)
        assert torch.allclose(streamed, offline, atol=1e-4), (cell, subsample, chunk)
        assert final == predictor.decode(offline)


def test_bidirectional_streams_windowed():
    predictor = random_predictor("gru", 2, layers=1, bidirectional=True)
    stream = predictor.stream()
    assert stream.mode == "windowed"
    wave = torch.randn(4000) * 0.1
    for start in range(0, len(wave), 1000):
        stream.push(wave[start : start + 1000])
    assert stream.finish() == predictor.transcribe(wave)
