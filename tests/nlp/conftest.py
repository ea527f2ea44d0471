"""One small toy run shared by the train and predict tests (trained through the real CLI)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--hidden", "16", "--embed-dim", "16", "--cell", "gru", "--batch-size", "32", "--no-progress"]


@pytest.fixture()
def tiny_args() -> list[str]:
    return list(TINY)


@pytest.fixture(scope="session")
def toy_run(tmp_path_factory) -> Path:
    """``python -m nlp.train`` on the embedded toy corpus: a finished run directory."""
    out = tmp_path_factory.mktemp("nlp") / "toy-run"
    command = [sys.executable, "-m", "nlp.train", "--data", "toy", "--epochs", "2", "--limit-train", "1200",
               "--limit-eval", "300", "--out", str(out), *TINY]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return out
