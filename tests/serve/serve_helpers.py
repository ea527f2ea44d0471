"""Helpers of the serve tests: a server subprocess, WAV bytes of synthesised digit strings, PNG digits."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    ws_url: str
    process: subprocess.Popen
    names: dict[str, str]  # domain -> model name

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    checkpoints: list[Path], *, port: int | None = None, extra: list[str] = (), log: Path | None = None
) -> LiveServer:
    """``rnnsuite serve`` in a subprocess; returns once /healthz answers (or fails with its log)."""
    port = port or free_port()
    command = [
        sys.executable,
        "-m",
        "core.tools.cli",
        "serve",
        "--port",
        str(port),
        *extra,
        *[a for c in checkpoints for a in ("--checkpoint", str(c))],
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    handle = open(log, "w") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=handle)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            detail = log.read_text()[-2000:] if log else ""
            raise AssertionError(f"server exited with {process.returncode}: {detail}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                models = httpx.get(f"{url}/v1/models", timeout=5).json()["models"]
                names = {m["domain"]: m["name"] for m in models}
                return LiveServer(url, url.replace("http", "ws", 1), process, names)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError("server did not answer /healthz within 120 s")
