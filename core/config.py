"""Typed run configuration shared by every domain.

Each domain subclasses ``RunConfig`` (a flat dataclass, so flags stay flat:
``--cell``, ``--hidden``, ``--epochs``) and adds its own fields with defaults
beside the code that owns them. ``config.yaml`` in a run directory is this
dataclass written out in full; loading it back gives the same config.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional


@dataclass
class RunConfig:
    """Flags every ``python -m <domain>.train`` accepts."""

    config: Optional[str] = None
    """YAML file of defaults; flags given on the command line override it."""
    data: str = ""
    """Dataset name (resolved under $RNNSUITE_DATA) or a path; each domain sets its default."""
    cell: str = "lstm"
    """Backbone cell, one of core.CELLS."""
    hidden: int = 128
    layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    """Dropout between recurrent layers (and in domain heads)."""
    layer_norm: bool = False
    residual: bool = False
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-2
    clip_norm: float = 1.0
    """Gradient-norm clipping threshold (0 disables)."""
    schedule: Literal["cosine", "onecycle", "constant"] = "cosine"
    warmup_steps: int = 100
    patience: int = 0
    """Early stopping: epochs without validation improvement (0 disables)."""
    max_bad_steps: int = 5
    """Stop after this many consecutive non-finite losses or gradients."""
    seed: int = 0
    device: str = "auto"
    """auto | cpu | cuda | cuda:N."""
    bf16: bool = False
    """bf16 autocast on CUDA (ignored on CPU)."""
    num_workers: int = 0
    out: str = "runs/latest"
    resume: bool = False
    """Continue from OUT/checkpoints/last.pt."""
    max_minutes: float = 0.0
    """Wall-clock training budget; 0 = unlimited. Training ends cleanly after the step that crosses it."""
    limit_train: int = 0
    """Use only the first N training examples (0 = all); for smoke tests and quick grids."""
    limit_eval: int = 0
    """Use only the first N validation/test examples (0 = all)."""
    baseline: Optional[str] = None
    """Train the domain's classical baseline instead of the RNN (vision: logreg, nlp: tfidf)."""
    init_backbone: Optional[str] = None
    """Start the backbone from another run's checkpoint where shapes agree."""
    download: bool = False
    progress: bool = True
    """Show a tqdm progress bar."""
