"""Streaming transcription equals offline decoding for a unidirectional model, whatever the chunk sizes;
a bidirectional model falls back to windowed decoding and says so; long audio is cut at silences."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from serve_helpers import pcm16, spoken
from websockets.sync.client import connect


@pytest.fixture(scope="module")
def unidirectional(tiny_checkpoints):
    from speech.predictor import load_predictor

    return load_predictor(tiny_checkpoints["speech"])


def two_sentences(rate: int) -> torch.Tensor:
    return torch.from_numpy(
        np.concatenate(
            [spoken("four two", rate), np.zeros(rate // 2, np.float32), spoken("nine one seven", rate)]
        )
    )


@pytest.mark.parametrize("chunk", [1, 37, 160, 1001, 8000, 10**7])
def test_stateful_stream_equals_offline(unidirectional, chunk):
    wave = two_sentences(unidirectional.sample_rate)
    offline = unidirectional.emissions(wave)  # (T', V)
    stream = unidirectional.stream()
    assert stream.mode == "stateful"
    for start in range(0, len(wave), chunk):
        stream.push(wave[start : start + chunk])
    final = stream.finish()
    streamed = torch.cat(stream.emissions)
    assert streamed.shape == offline.shape
    # Chunked and whole-signal STFT/mel matmuls may round differently in the last float32 bit (BLAS
    # blocking depends on the frame count); a feature that sits on a float16 rounding boundary then
    # moves one float16 step (~1e-3 relative), so equality is to that step, not to float32 eps.
    assert (streamed - offline).abs().max() < 2e-3
    assert final == unidirectional.decode(offline)


def stream_over_websocket(ws_url: str, name: str, samples: np.ndarray, chunk: int) -> tuple[list[str], dict]:
    partials = []
    with connect(f"{ws_url}/v1/{name}/stream") as socket:
        data = pcm16(samples)
        for start in range(0, len(data), 2 * chunk):
            socket.send(data[start : start + 2 * chunk])
            partials.append(json.loads(socket.recv())["partial"])
        socket.send("end")
        return partials, json.loads(socket.recv())


def test_websocket_stream_final_equals_offline(live_server, unidirectional):
    samples = two_sentences(unidirectional.sample_rate).numpy()
    quantised = (
        np.frombuffer(pcm16(samples), dtype="<i2").astype(np.float32) / 32768.0
    )  # what the socket carries
    expected = unidirectional.decode(unidirectional.emissions(torch.from_numpy(quantised)))
    for chunk in (800, 3333):
        partials, final = stream_over_websocket(
            live_server.ws_url, live_server.names["speech"], samples, chunk
        )
        assert final["final"] == expected and final["mode"] == "stateful"
        assert final["audio_seconds"] == pytest.approx(len(samples) / unidirectional.sample_rate, abs=1e-3)
        assert all(expected.startswith(p) for p in partials)  # partials only grow towards the final


def test_bidirectional_model_streams_windowed(tiny_bidirectional_speech):
    from starlette.testclient import TestClient

    from core.tools.serve.app import create_app
    from core.tools.serve.registry import load_models

    app = create_app(load_models([str(tiny_bidirectional_speech)]))
    predictor = app.state.models["speech-bi"].predictor
    samples = two_sentences(predictor.sample_rate).numpy()
    quantised = torch.from_numpy(np.frombuffer(pcm16(samples), dtype="<i2").astype(np.float32) / 32768.0)
    with TestClient(app).websocket_connect("/v1/speech-bi/stream") as socket:
        for start in range(0, len(samples), 4000):
            socket.send_bytes(pcm16(samples[start : start + 4000]))
            assert "partial" in socket.receive_json()
        socket.send_text(json.dumps({"event": "end"}))
        final = socket.receive_json()
    assert final["mode"] == "windowed" and final["final"] == predictor.transcribe(quantised)


def test_websocket_refuses_odd_frames_and_text_models(live_server):
    with connect(f"{live_server.ws_url}/v1/{live_server.names['speech']}/stream") as socket:
        socket.send(b"\x00\x01\x02")
        assert "even count" in json.loads(socket.recv())["error"]
    with connect(f"{live_server.ws_url}/v1/{live_server.names['nlp']}/stream") as socket:
        assert "does not stream" in json.loads(socket.recv())["error"]


def test_a_minute_of_speech_is_cut_at_silences(unidirectional, tmp_path):
    from speech.segment import split_on_silence

    rate = unidirectional.sample_rate
    sentences = ["one two three four", "five six seven", "eight nine zero one", "two three four five six"]
    parts, gaps = [], []
    while sum(len(p) for p in parts) < 60 * rate:
        parts.append(spoken(sentences[len(parts) % len(sentences)], rate))
        start = sum(len(p) for p in parts)
        parts.append(np.zeros(rate, np.float32))  # one second between sentences
        gaps.append((start, start + rate))
    wave = torch.from_numpy(np.concatenate(parts))
    pieces = split_on_silence(wave, sample_rate=rate, max_seconds=unidirectional.segment_seconds)
    assert len(pieces) >= 3 and pieces[0][0] == 0 and pieces[-1][1] == len(wave)
    assert all(end - start <= unidirectional.segment_seconds * rate for start, end in pieces)
    for _, cut in pieces[:-1]:  # every cut falls inside a pause, never inside a sentence
        assert any(lo <= cut < hi for lo, hi in gaps), cut
    text = unidirectional.transcribe(wave)
    assert text == " ".join(t for t in (unidirectional.transcribe(wave[s:e]) for s, e in pieces) if t)


def test_transcribe_cli_reads_a_minute_long_file(unidirectional, tiny_checkpoints, tmp_path, capsys):
    import soundfile as sf

    from speech.transcribe import main

    rate = unidirectional.sample_rate
    sentence = np.concatenate([spoken("seven eight nine", rate), np.zeros(rate, np.float32)])
    minute = np.resize(sentence, 60 * rate)  # the sentence and its pause repeated to exactly 60 s
    sf.write(tmp_path / "minute.wav", minute, rate)
    assert main(["--checkpoint", str(tiny_checkpoints["speech"]), str(tmp_path / "minute.wav")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{tmp_path / 'minute.wav'}\t")
