"""``load_onnx_predictor`` and ``rnnsuite serve --backend onnxruntime`` answer as the PyTorch predictors do.

Uses the tiny trained checkpoints of tests/serve/conftest.py (``tiny_checkpoints``) and real
inputs: review texts, scikit-learn digit PNGs, a synthesised spoken digit string.
"""

from __future__ import annotations

import importlib.util
import io

import numpy as np
import pytest


def predictors_present() -> bool:
    try:
        return importlib.util.find_spec("core.engine.predictor") is not None
    except ModuleNotFoundError:
        return False


if not predictors_present():
    pytest.skip(
        "core.engine.predictor (the domains' predictors) is not in this checkout", allow_module_level=True
    )
pytest.importorskip("onnxruntime")

import httpx  # after the skips: a dependency of the server
import soundfile as sf
import torch
from PIL import Image
from serve_helpers import digit_png, spoken, start_server, wav_bytes

from core.tools.cli import find_domain
from core.tools.export import load_onnx_predictor

TEXTS = ["a gorgeous , moving film", "dull and far too long", "not bad at all , really"]
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def both(tiny_checkpoints):
    """domain -> (PyTorch predictor, onnxruntime predictor)."""
    return {
        domain: (find_domain(domain).load_predictor(path, "cpu"), load_onnx_predictor(path))
        for domain, path in tiny_checkpoints.items()
    }


def assert_close_probabilities(expected: list[dict], got: list[dict]) -> None:
    for want, have in zip(expected, got, strict=True):
        assert have["label"] == want["label"]
        assert want["probabilities"].keys() == have["probabilities"].keys()
        assert (
            max(abs(want["probabilities"][k] - have["probabilities"][k]) for k in want["probabilities"])
            <= TOLERANCE
        )


def test_text_answers_and_explanations_match_torch(both):
    torch_predictor, onnx_predictor = both["nlp"]
    assert onnx_predictor.info["backend"] == "onnxruntime" and onnx_predictor.info["onnx"].endswith(".onnx")
    expected, got = torch_predictor.predict(TEXTS, explain=True), onnx_predictor.predict(TEXTS, explain=True)
    assert_close_probabilities(expected, got)
    for want, have in zip(expected, got):
        assert have["tokens"] == want["tokens"]
        assert (
            np.abs(np.array(have["prefix_probabilities"]) - np.array(want["prefix_probabilities"])).max()
            <= TOLERANCE
        )


def test_image_answers_and_rows_match_torch(both):
    torch_predictor, onnx_predictor = both["vision"]
    images = [Image.open(io.BytesIO(digit_png(i))) for i in range(6)]
    expected, got = (
        torch_predictor.predict(images, explain=True),
        onnx_predictor.predict(images, explain=True),
    )
    assert_close_probabilities(expected, got)
    for want, have in zip(expected, got):
        assert (
            np.abs(np.array(have["row_probabilities"]) - np.array(want["row_probabilities"])).max()
            <= TOLERANCE
        )


def test_transcripts_match_torch(both):
    torch_predictor, onnx_predictor = both["speech"]
    rate = torch_predictor.sample_rate
    clips = [(spoken(text, rate).astype(np.float32), rate) for text in ("one two", "nine four seven")]
    expected, got = torch_predictor.predict(clips), onnx_predictor.predict(clips)
    assert [r["transcript"] for r in got] == [r["transcript"] for r in expected]
    features = torch_predictor.features(torch.from_numpy(clips[1][0]))  # (T, F): same inputs to both models
    lengths = torch.tensor([features.shape[0]])
    with torch.inference_mode():
        want, _ = torch_predictor.model(features.unsqueeze(0), lengths)
    have, _ = onnx_predictor.model(features.unsqueeze(0), lengths)
    assert float((want - have).abs().max()) <= TOLERANCE


def test_export_is_reused_while_the_checkpoint_is_unchanged(tiny_checkpoints, both):
    onnx_path = tiny_checkpoints["nlp"].with_suffix(".onnx")
    stamp = onnx_path.stat().st_mtime_ns
    again = load_onnx_predictor(tiny_checkpoints["nlp"])
    assert onnx_path.stat().st_mtime_ns == stamp
    assert load_onnx_predictor(onnx_path).info["onnx"] == again.info["onnx"] == str(onnx_path)


def test_server_with_the_onnxruntime_backend_answers_like_torch(tiny_checkpoints, both, tmp_path):
    server = start_server(
        list(tiny_checkpoints.values()), extra=["--backend", "onnxruntime"], log=tmp_path / "server.log"
    )
    try:
        response = httpx.post(
            f"{server.url}/v1/{server.names['nlp']}/predict", json={"inputs": TEXTS}, timeout=60
        )
        assert response.status_code == 200, response.text
        assert_close_probabilities(both["nlp"][0].predict(TEXTS), response.json()["results"])
        rate = both["speech"][0].sample_rate
        wav = wav_bytes(spoken("three five", rate), rate)
        response = httpx.post(
            f"{server.url}/v1/{server.names['speech']}/predict",
            files={"files": ("a.wav", wav, "audio/wav")},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        samples, _ = sf.read(io.BytesIO(wav), dtype="float32")  # what the server decodes
        expected = both["speech"][0].predict([(samples, rate)])
        assert response.json()["results"][0]["transcript"] == expected[0]["transcript"]
    finally:
        server.stop()
