"""Vision tests run torch on one thread: on this shared 2-core machine two intra-op
threads under load measured ~80x slower per small step than one (OpenMP barriers)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
