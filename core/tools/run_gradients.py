"""||dLoss/dh_t|| over time for a trained run, measured once and saved beside it.

``rnnsuite compare`` writes ``RUN/gradient_norms.json`` for every trained run of its grid (on the
first test batch of the run's own data); the compare report only reads those files, it never
loads a model itself. ``hidden_gradient_norms`` (``core.tools.diagnostics``) does the measuring.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

FILE = "gradient_norms.json"


def measure(domain, checkpoint: Path, *, examples: int = 32) -> list[float]:
    """||dLoss/dh_t|| per step of the best checkpoint, on ``examples`` items of its test split."""
    from core.engine.checkpoint import load_for_inference
    from core.tools.diagnostics import hidden_gradient_norms

    model, cfg, meta = load_for_inference(checkpoint, domain)
    cfg = dataclasses.replace(
        cfg, limit_train=examples, limit_eval=examples, batch_size=examples, progress=False, download=False
    )
    batch = next(iter(domain.build_data(cfg).test))
    return hidden_gradient_norms(model, batch, domain.build_task(cfg, meta).loss)["norm"]


def write(domain, run_dir: Path, *, examples: int = 32) -> Path:
    """Measure the run's best checkpoint and write ``run_dir/gradient_norms.json`` (atomically)."""
    norms = measure(domain, run_dir / "checkpoints" / "best.pt", examples=examples)
    path, tmp = run_dir / FILE, run_dir / (FILE + ".tmp")
    tmp.write_text(json.dumps({"split": "test", "examples": examples, "norm": norms}) + "\n")
    tmp.replace(path)
    return path


def read(run_dir: Path) -> list[float] | None:
    """The saved curve, or None when the run has none (not measured, or unreadable)."""
    try:
        norms = json.loads((run_dir / FILE).read_text())["norm"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return [float(n) for n in norms] if isinstance(norms, list) else None
