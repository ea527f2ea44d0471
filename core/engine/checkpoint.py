"""Atomic checkpoint files, safe loading, and rebuilding a model for inference.

A checkpoint is a dict with the keys ``domain``, ``config`` (dict), ``meta``,
``model``, ``optimizer``, ``scheduler``, ``epoch``, ``step``, ``rng``,
``history``, ``best`` (plus engine bookkeeping such as ``batch`` for a
mid-epoch checkpoint). Everything in it is weights_only-safe.
"""
from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Optional, Union

import torch
from torch import nn

from core.errors import CheckpointError, ConfigError

REQUIRED_KEYS = ("domain", "config", "meta", "model", "epoch", "step")


def save_checkpoint(path: Union[str, Path], state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically (temp file in the same folder, then rename).

    A crash at any moment leaves either the previous file or the new one, never a torn one.
    Refuses to write non-finite model weights.
    """
    path = Path(path)
    model_state = state.get("model") or {}
    bad = [k for k, v in model_state.items() if torch.is_tensor(v) and v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"refusing to write {path}: non-finite weights in {', '.join(bad[:5])}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: Union[str, Path], *, domain: Optional[str] = None,
                    map_location: Union[str, torch.device] = "cpu") -> dict[str, Any]:
    """Load with ``weights_only=True``; CheckpointError (one line) for a missing, corrupt,
    foreign or other-domain file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, OSError, ValueError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise CheckpointError(f"cannot read checkpoint {path}: {first[:200]}") from None
    if not isinstance(state, dict) or any(key not in state for key in REQUIRED_KEYS):
        raise CheckpointError(f"{path} is not an rnnsuite checkpoint (missing keys)")
    if domain is not None and state["domain"] != domain:
        raise CheckpointError(f"{path} is a {state['domain']!r} checkpoint, not {domain!r}")
    return state


def load_model_state(model: nn.Module, weights: dict[str, Any], *, source: str = "checkpoint") -> None:
    """``model.load_state_dict`` that reports missing, unexpected and mis-shaped tensors in one line.

    A model whose parameter names changed may offer ``upgrade_state_dict(weights) -> weights``
    to rename an older checkpoint's tensors first.
    """
    upgrade = getattr(model, "upgrade_state_dict", None)
    weights = upgrade(weights) if callable(upgrade) else weights
    own = model.state_dict()
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    shapes = [f"{k} {tuple(weights[k].shape)} vs model {tuple(v.shape)}" for k, v in own.items()
              if k in weights and torch.is_tensor(weights[k]) and weights[k].shape != v.shape]
    problems = ([f"missing {', '.join(missing[:4])}"] if missing else []) + \
               ([f"unexpected {', '.join(unexpected[:4])}"] if unexpected else []) + \
               ([f"shape {'; '.join(shapes[:4])}"] if shapes else [])
    if problems:
        raise CheckpointError(f"{source} does not match the model: {' | '.join(problems)}")
    model.load_state_dict(weights)


def load_for_inference(checkpoint_path: Union[str, Path], domain: Any, *,
                       device: Union[str, torch.device] = "cpu") -> tuple[nn.Module, Any, dict]:
    """Rebuild ``domain``'s model from a checkpoint: ``(model in eval mode, cfg, meta)``.

    ``domain`` is a ``core.engine.domain.Domain`` or its registered name.

    Example:
        >>> model, cfg, meta = load_for_inference("runs/x/checkpoints/best.pt", DOMAIN)  # doctest: +SKIP
    """
    from core.engine.config import config_from_dict
    from core.engine.domain import get_domain

    domain = get_domain(domain) if isinstance(domain, str) else domain
    state = load_checkpoint(checkpoint_path, domain=domain.name)
    try:
        cfg = config_from_dict(domain.config_cls, state["config"], source=f"{checkpoint_path} config")
    except ConfigError as err:
        raise CheckpointError(str(err)) from None
    model = domain.build_model(cfg, state["meta"])
    load_model_state(model, state["model"], source=str(checkpoint_path))
    return model.to(device).eval(), cfg, state["meta"]


def init_backbone_from(model: nn.Module, checkpoint_path: Union[str, Path], *, prefix: str = "backbone.") -> list[str]:
    """Copy parameters named ``prefix*`` from another run's checkpoint; returns the names loaded.

    Every ``prefix*`` tensor must exist in both with the same shape, else CheckpointError lists
    the mismatches (the convention: domain models hold the backbone as attribute ``backbone``).
    """
    source = load_checkpoint(checkpoint_path)["model"]
    own = model.state_dict()
    theirs = {k: v for k, v in source.items() if k.startswith(prefix)}
    mine = {k: v for k, v in own.items() if k.startswith(prefix)}
    if not theirs or not mine:
        where = "checkpoint" if not theirs else "model"
        raise CheckpointError(f"--init-backbone {checkpoint_path}: the {where} has no parameters named {prefix}*")
    bad = [f"{k} {tuple(theirs[k].shape)} vs {tuple(v.shape)}" for k, v in mine.items()
           if k in theirs and theirs[k].shape != v.shape]
    bad += [f"{k} missing in checkpoint" for k in mine if k not in theirs]
    bad += [f"{k} not in model" for k in theirs if k not in mine]
    if bad:
        raise CheckpointError(f"--init-backbone {checkpoint_path}: backbone does not match: {'; '.join(bad[:6])}")
    model.load_state_dict({**own, **theirs})
    return sorted(theirs)
