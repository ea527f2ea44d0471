"""A server killed with SIGKILL and started again on the same port serves the same answers."""

from __future__ import annotations

import signal

import httpx
from serve_helpers import digit_png, spoken, start_server, wav_bytes


def answers(server, wav: bytes) -> list:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        text = client.post(
            f"/v1/{server.names['nlp']}/predict", json={"inputs": ["a good film", "dull"]}
        ).json()
        image = client.post(
            f"/v1/{server.names['vision']}/predict", files={"files": ("d.png", digit_png(5), "image/png")}
        ).json()
        audio = client.post(
            f"/v1/{server.names['speech']}/predict", files={"files": ("a.wav", wav, "audio/wav")}
        ).json()
    for result in audio["results"]:
        result.pop("decode_seconds")  # a timing, not an answer
    return [text, image, audio]


def test_sigkill_and_restart_serve_the_same_answers(tiny_checkpoints, tmp_path):
    checkpoints = list(tiny_checkpoints.values())
    wav = wav_bytes(spoken("three", 8000), 8000)  # synthesised once: each synthesis draws new noise
    first = start_server(checkpoints, log=tmp_path / "first.log")
    port = int(first.url.rsplit(":", 1)[1])
    try:
        before = answers(first, wav)
        first.process.send_signal(signal.SIGKILL)
        assert first.process.wait(timeout=10) == -signal.SIGKILL
    finally:
        first.stop()
    second = start_server(checkpoints, port=port, log=tmp_path / "second.log")
    try:
        assert answers(second, wav) == before
    finally:
        second.stop()
