"""Atomic checkpoint files, safe loading, and rebuilding a model for inference.

A checkpoint is a dict with the keys ``domain``, ``config`` (dict), ``meta``,
``model``, ``optimizer``, ``scheduler``, ``epoch``, ``step``, ``rng``,
``history``, ``best`` (plus engine bookkeeping such as ``batch`` for a
mid-epoch checkpoint). Everything in it is weights_only-safe.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable, Optional, Union

import torch
from torch import nn

from core.errors import CheckpointError, ConfigError, RnnsuiteError

REQUIRED_KEYS = ("domain", "config", "meta", "model", "epoch", "step")


def save_checkpoint(path: Union[str, Path], state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically (temp file in the same folder, then rename).

    A crash at any moment leaves either the previous file or the new one, never a torn one.
    Refuses to write non-finite model weights.
    """
    path = Path(path)
    model_state = state.get("model") or {}
    bad = [
        k
        for k, v in model_state.items()
        if torch.is_tensor(v) and v.is_floating_point() and not torch.isfinite(v).all()
    ]
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


def load_checkpoint(
    path: Union[str, Path], *, domain: Optional[str] = None, map_location: Union[str, torch.device] = "cpu"
) -> dict[str, Any]:
    """Load with ``weights_only=True``; CheckpointError (one line) for a missing, corrupt,
    foreign or other-domain file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(f"cannot read checkpoint {path}: {_load_failure(err)}") from None
    if not isinstance(state, dict) or any(key not in state for key in REQUIRED_KEYS):
        raise CheckpointError(f"{path} is not an rnnsuite checkpoint (missing keys)")
    _check_types(state, path)
    if domain is not None and state["domain"] != domain:
        raise CheckpointError(f"{path} is a {state['domain']!r} checkpoint, not {domain!r}")
    return state


def _load_failure(err: BaseException) -> str:
    """Why torch.load failed, on one line, keeping the words that say why."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    refused = next((line for line in lines if "GLOBAL" in line or "Unsupported" in line), None)
    if refused is not None:  # weights_only refused a pickled object: say which, and why that matters
        return (
            f"the safe loader (weights_only=True) refused it: {refused} Loading it unrestricted "
            "could run arbitrary code; only do that for a file from a trusted source"
        )
    if isinstance(err, (EOFError, OSError, zipfile.BadZipFile)) or "central directory" in str(err):
        return f"truncated or not a checkpoint ({lines[0] if lines else type(err).__name__})"
    return lines[0] if lines else type(err).__name__


def _check_types(state: dict, path: Path) -> None:
    """The fields every loader reads, with the types they are read as (a crafted file can hold anything)."""
    expected = {"domain": str, "config": dict, "meta": dict, "model": dict, "epoch": int, "step": int}
    for key, kind in expected.items():
        if not isinstance(state[key], kind) or isinstance(state[key], bool):
            raise CheckpointError(
                f"{path}: field {key!r} must be a {kind.__name__}, got {type(state[key]).__name__}"
            )
    bad = [k for k, v in state["model"].items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if bad:
        raise CheckpointError(f"{path}: model weights must map names to tensors (bad entry {bad[0]!r})")


def checked_config(domain: Any, state: dict, path: Path) -> Any:
    """The checkpoint's config as ``domain.config_cls``, type-checked and validated by the rules the
    CLI applies (file paths in it are not required to exist here); CheckpointError otherwise."""
    from core.engine.config import config_from_dict

    try:
        cfg = config_from_dict(domain.config_cls, state["config"], source=f"{path} config")
        dataclasses.replace(cfg, data="", config=None, init_backbone=None, resume=False).validate()
    except ConfigError as err:
        raise CheckpointError(f"{path}: {err}") from None
    return cfg


def check_buildable(domain: Any, cfg: Any, state: dict, path: Path) -> None:
    """Build the model on the meta device (no memory) and compare its tensors with the weights, so
    a config or meta that asks for another (or an absurd) size is refused before anything is built."""
    try:
        with torch.device("meta"):
            skeleton = domain.build_model(cfg, state["meta"])
    except RnnsuiteError as err:
        raise CheckpointError(f"{path}: {err}") from None
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RuntimeError) as err:
        reason = (str(err).splitlines() or [""])[0]
        raise CheckpointError(
            f"{path}: its config/meta do not describe a {domain.name} model ({type(err).__name__}: {reason})"
        ) from None
    load_model_state(skeleton, state["model"], source=str(path), check_only=True)


def load_model_state(
    model: nn.Module, weights: dict[str, Any], *, source: str = "checkpoint", check_only: bool = False
) -> None:
    """``model.load_state_dict`` that reports missing, unexpected and mis-shaped tensors in one line
    (``check_only``: the report without loading).

    A model whose parameter names changed may offer ``upgrade_state_dict(weights) -> weights``
    to rename an older checkpoint's tensors first.
    """
    upgrade = getattr(model, "upgrade_state_dict", None)
    weights = upgrade(weights) if callable(upgrade) else weights
    own = model.state_dict()
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    shapes = [
        f"{k} {tuple(weights[k].shape)} vs model {tuple(v.shape)}"
        for k, v in own.items()
        if k in weights and torch.is_tensor(weights[k]) and weights[k].shape != v.shape
    ]
    problems = (
        ([f"missing {', '.join(missing[:4])}"] if missing else [])
        + ([f"unexpected {', '.join(unexpected[:4])}"] if unexpected else [])
        + ([f"shape {'; '.join(shapes[:4])}"] if shapes else [])
    )
    if problems:
        raise CheckpointError(f"{source} does not match the model: {' | '.join(problems)}")
    if not check_only:
        model.load_state_dict(weights)


def load_for_inference(
    checkpoint_path: Union[str, Path], domain: Any, *, device: Union[str, torch.device] = "cpu"
) -> tuple[nn.Module, Any, dict]:
    """Rebuild ``domain``'s model from a checkpoint: ``(model in eval mode, cfg, meta)``.

    ``domain`` is a ``core.engine.domain.Domain`` or its registered name.

    Example:
        >>> model, cfg, meta = load_for_inference("runs/x/checkpoints/best.pt", DOMAIN)  # doctest: +SKIP
    """
    from core.engine.domain import get_domain

    domain = get_domain(domain) if isinstance(domain, str) else domain
    state = load_checkpoint(checkpoint_path, domain=domain.name)
    cfg = checked_config(domain, state, Path(checkpoint_path))
    check_buildable(domain, cfg, state, Path(checkpoint_path))
    model = domain.build_model(cfg, state["meta"])
    load_model_state(model, state["model"], source=str(checkpoint_path))
    return model.to(device).eval(), cfg, state["meta"]


def init_backbone_from(
    model: nn.Module,
    checkpoint_path: Union[str, Path],
    *,
    prefixes: Union[tuple[str, ...], Callable[[str, dict], tuple[str, ...]]] = ("backbone.",),
) -> list[str]:
    """Copy parameters named ``prefix*`` from another run's checkpoint; returns the names loaded.

    ``prefixes`` may be a callable of the checkpoint's (domain, meta), so a domain copies more than the
    backbone from a run of its own kind (speech: the front-end, and the output layer when the units
    match). Every ``prefix*`` tensor must exist in both with the same shape, else CheckpointError lists
    the mismatches (the convention: domain models hold the backbone as attribute ``backbone``).
    """
    state = load_checkpoint(checkpoint_path)
    if callable(prefixes):
        prefixes = prefixes(state["domain"], state.get("meta") or {})
    source, own = state["model"], model.state_dict()
    theirs = {k: v for k, v in source.items() if k.startswith(prefixes)}
    mine = {k: v for k, v in own.items() if k.startswith(prefixes)}
    for prefix in prefixes:
        if not any(k.startswith(prefix) for k in theirs) or not any(k.startswith(prefix) for k in mine):
            where = "model" if any(k.startswith(prefix) for k in theirs) else "checkpoint"
            raise CheckpointError(
                f"--init-backbone {checkpoint_path}: the {where} has no parameters named {prefix}*"
            )
    bad = [
        f"{k} {tuple(theirs[k].shape)} vs {tuple(v.shape)}"
        for k, v in mine.items()
        if k in theirs and theirs[k].shape != v.shape
    ]
    bad += [f"{k} missing in checkpoint" for k in mine if k not in theirs]
    bad += [f"{k} not in model" for k in theirs if k not in mine]
    if bad:
        raise CheckpointError(
            f"--init-backbone {checkpoint_path}: backbone does not match: {'; '.join(bad[:6])}"
        )
    model.load_state_dict({**own, **theirs})
    return sorted(theirs)
