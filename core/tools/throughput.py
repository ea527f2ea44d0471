"""Backbone training throughput against sequence length, per cell: measured once, saved as JSON.

``rnnsuite diagnose --throughput`` and ``rnnsuite compare`` (after training its grid) write
``throughput.json``; the compare report only reads that file, it never times anything itself.

Example:
    >>> result = measure_throughput(["gru"], lengths=(5,), batch=2, features=3, hidden=4, repeats=1)
    >>> sorted(result), list(result["cells"]["gru"]["lengths"])
    (['batch', 'cells', 'features', 'hidden', 'threads', 'torch'], [5])
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Sequence

import torch

from core.errors import ConfigError
from core.nn.backbone import CELLS, build_backbone

LENGTHS = (25, 50, 100, 200)


def sequences_per_second(
    backbone: torch.nn.Module, steps: int, *, batch: int, features: int, repeats: int = 3
) -> float:
    """Median forward+backward rate over ``repeats`` timed calls after one warm-up call."""
    x = torch.randn(batch, steps, features)  # (B, T, F)
    lengths = torch.full((batch,), steps, dtype=torch.long)
    timings = []
    for _ in range(repeats + 1):  # the first call warms up allocators and kernels
        started = time.perf_counter()
        outputs, _, _ = backbone(x, lengths)
        outputs.sum().backward()
        timings.append(time.perf_counter() - started)
    measured = sorted(timings[1:])
    return batch / measured[len(measured) // 2]


def measure_throughput(
    cells: Sequence[str],
    *,
    lengths: Sequence[int] = LENGTHS,
    batch: int = 32,
    features: int = 32,
    hidden: int = 64,
    repeats: int = 3,
) -> dict:
    """``{"cells": {cell: {"lengths": [T...], "sequences_per_s": [...]}}, batch, features, hidden, ...}``."""
    unknown = [c for c in cells if c not in CELLS]
    if unknown:
        raise ConfigError(f"cells: unknown cell {unknown[0]!r} (choose from {', '.join(CELLS)})")
    result = {
        "batch": batch,
        "features": features,
        "hidden": hidden,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cells": {},
    }
    for cell in cells:
        torch.manual_seed(0)
        backbone = build_backbone(cell, features, hidden)
        rates = [
            sequences_per_second(backbone, steps, batch=batch, features=features, repeats=repeats)
            for steps in lengths
        ]
        result["cells"][cell] = {"lengths": list(lengths), "sequences_per_s": rates}
    return result


def write_throughput(path: Path, cells: Sequence[str], **options) -> Path:
    path = Path(path)
    path.write_text(json.dumps(measure_throughput(cells, **options), indent=1) + "\n")
    return path
