"""One small toy run shared by the train and predict tests (trained through the real CLI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--hidden", "16", "--embed-dim", "16", "--cell", "gru", "--batch-size", "32", "--no-progress"]


@pytest.fixture()
def tiny_args() -> list[str]:
    return list(TINY)


@pytest.fixture(scope="session")
def toy_run(tmp_path_factory) -> Path:
    """``python -m nlp.train`` on the embedded toy corpus: a finished run directory."""
    out = tmp_path_factory.mktemp("nlp") / "toy-run"
    command = [
        sys.executable,
        "-m",
        "nlp.train",
        "--data",
        "toy",
        "--epochs",
        "2",
        "--limit-train",
        "1200",
        "--limit-eval",
        "300",
        "--out",
        str(out),
        *TINY,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # see one_thread
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


@pytest.fixture()
def one_thread():
    """Train on one intra-op thread: on the shared 2-core machine a 2-thread torch step slows down
    20-35x whenever another process holds a core (threads wait for each other), one thread does not."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
