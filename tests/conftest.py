"""Shared fixtures: seeded RNG, small thread count, and the real-data skip marker."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seeded():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """$RNNSUITE_DATA as a Path; tests that need real data skip cleanly without it."""
    root = os.environ.get("RNNSUITE_DATA")
    if not root or not Path(root).is_dir():
        pytest.skip("RNNSUITE_DATA is not set: real-data test skipped")
    return Path(root)


@pytest.fixture()
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """Derived files (feature caches, generated audio) go to a per-test folder."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("RNNSUITE_CACHE", str(cache))
    return cache
