"""Tiny models trained in seconds and a live server, shared by the serve tests and the browser test.

Fixtures (session-scoped, reusable from any test folder through ``pytest_plugins`` or this file):

- ``tiny_checkpoints``: {"nlp", "vision", "speech"} -> ``RUN/checkpoints/best.pt`` trained through
  the real CLIs on embedded data (toy reviews, scikit-learn digits, eSpeak digit strings); the
  speech model is a unidirectional GRU, so it streams with carried state.
- ``tiny_bidirectional_speech``: a bidirectional speech checkpoint (windowed streaming).
- ``live_server``: ``rnnsuite serve`` with the three tiny models in a subprocess on 127.0.0.1 at
  a free port; yields a ``LiveServer`` (``url``, ``ws_url``, ``process``, ``names``).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
TRAIN = {
    "nlp": ["nlp.train", "--data", "toy", "--epochs", "2", "--limit-train", "800", "--limit-eval", "100",
            "--hidden", "16", "--embed-dim", "16", "--cell", "gru", "--batch-size", "32"],
    "vision": ["vision.train", "--data", "digits", "--epochs", "3", "--hidden", "24", "--batch-size", "32",
               "--lr", "1e-2"],
    "speech": ["speech.train", "--data", "tts-digits", "--num-utts", "40", "--limit-eval", "8", "--epochs", "1",
               "--hidden", "16", "--conv-channels", "16", "--cell", "gru", "--no-bidirectional"],
}


def train_tiny(module_args: list[str], out: Path, cache: Path) -> Path:
    """Run one domain's training CLI; the finished run's best checkpoint."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RNNSUITE_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", *module_args, "--out", str(out), "--no-progress"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return out / "checkpoints" / "best.pt"


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-runs")
    return {domain: train_tiny(args, root / f"{domain}-tiny", root / "cache") for domain, args in TRAIN.items()}


@pytest.fixture(scope="session")
def tiny_bidirectional_speech(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny-bi")
    args = [a for a in TRAIN["speech"] if a != "--no-bidirectional"]
    return train_tiny(args, root / "speech-bi", root / "cache")


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


def start_server(checkpoints: list[Path], *, port: int | None = None, extra: list[str] = (),
                 log: Path | None = None) -> LiveServer:
    """``rnnsuite serve`` in a subprocess; returns once /healthz answers (or fails with its log)."""
    port = port or free_port()
    command = [sys.executable, "-m", "core.tools.cli", "serve", "--port", str(port), *extra,
               *[a for c in checkpoints for a in ("--checkpoint", str(c))]]
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


@pytest.fixture(scope="session")
def live_server(tiny_checkpoints, tmp_path_factory):
    log = tmp_path_factory.mktemp("server") / "server.log"
    server = start_server(list(tiny_checkpoints.values()), log=log)
    yield server
    server.stop()
