"""Tiny models trained in seconds and a live server, shared by the serve tests and the browser test.

Fixtures (session-scoped, reusable from any test folder through ``pytest_plugins`` or this file):

- ``tiny_checkpoints``: {"nlp", "vision", "speech"} -> ``RUN/checkpoints/best.pt`` trained through
  the real CLIs on embedded data (toy reviews, scikit-learn digits, eSpeak digit strings); the
  speech model is a unidirectional GRU, so it streams with carried state.
- ``tiny_bidirectional_speech``: a bidirectional speech checkpoint (windowed streaming).
- ``live_server``: ``rnnsuite serve`` with the three tiny models in a subprocess on 127.0.0.1 at
  a free port; yields a ``LiveServer`` (``url``, ``ws_url``, ``process``, ``names``).

``serve_helpers`` (importable: tests/serve is on pytest's pythonpath) holds ``start_server`` and the
input makers (WAV, PNG, PCM bytes) for tests that need their own server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from serve_helpers import LiveServer, start_server  # noqa: F401  (LiveServer: the fixture's type)

ROOT = Path(__file__).resolve().parents[2]
TRAIN = {
    "nlp": [
        "nlp.train",
        "--data",
        "toy",
        "--epochs",
        "3",
        "--limit-train",
        "2000",
        "--limit-eval",
        "200",
        "--hidden",
        "24",
        "--embed-dim",
        "24",
        "--cell",
        "gru",
        "--batch-size",
        "32",
        "--lr",
        "1e-2",
        "--warmup-steps",
        "10",
    ],  # about 90% test accuracy
    "vision": [
        "vision.train",
        "--data",
        "digits",
        "--epochs",
        "3",
        "--hidden",
        "24",
        "--batch-size",
        "32",
        "--lr",
        "1e-2",
    ],
    "speech": [
        "speech.train",
        "--data",
        "tts-digits",
        "--num-utts",
        "40",
        "--limit-eval",
        "8",
        "--epochs",
        "1",
        "--hidden",
        "16",
        "--conv-channels",
        "16",
        "--cell",
        "gru",
        "--no-bidirectional",
    ],
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
    return {
        domain: train_tiny(args, root / f"{domain}-tiny", root / "cache") for domain, args in TRAIN.items()
    }


@pytest.fixture(scope="session")
def tiny_bidirectional_speech(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny-bi")
    args = [a for a in TRAIN["speech"] if a != "--no-bidirectional"]
    return train_tiny(args, root / "speech-bi", root / "cache")


@pytest.fixture(scope="session")
def live_server(tiny_checkpoints, tmp_path_factory):
    log = tmp_path_factory.mktemp("server") / "server.log"
    server = start_server(list(tiny_checkpoints.values()), log=log)
    yield server
    server.stop()
