"""One inference contract for every domain: ``Domain.load_predictor(checkpoint, device) -> Predictor``.

A Predictor holds a model loaded once (eval mode) with the pipeline its checkpoint's meta
describes, and turns raw inputs into JSON-able results:

- nlp: ``str`` -> ``{"label", "probabilities": {class: p}}``
- vision: ``PIL.Image.Image`` -> ``{"label", "probabilities"}``
- speech: ``(np.ndarray float32 mono, sample_rate)`` -> ``{"transcript", "audio_seconds", "decode_seconds"}``

The domain CLIs (``nlp.predict``, ``vision.predict``, ``speech.transcribe``), the benchmarks and
``rnnsuite serve`` all go through it. This module also holds what every predictor needs:
loading a model without importing the domain's training code (start-up cost), and the
``info`` dict (name, params, recipe, metrics from ``final.json`` beside the run).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from core.engine.checkpoint import load_checkpoint, load_model_state
from core.errors import CheckpointError, RnnsuiteError


@runtime_checkable
class Predictor(Protocol):
    domain: str
    input_kind: str
    """What ``predict`` takes, so a server can decode requests without knowing domains:
    "text" (str), "image" (PIL image) or "audio" ((samples, sample_rate))."""
    explains: bool
    """Whether ``predict(inputs, explain=True)`` adds a per-step account of the answer."""
    info: dict
    """JSON-able: name, domain, classes (nlp/vision) or vocabulary (speech), params, recipe, metrics."""

    def predict(self, inputs: list) -> list[dict]: ...


def run_dir(checkpoint: str | Path) -> Path:
    """The run folder of ``RUN/checkpoints/best.pt`` (or the checkpoint's folder when it is elsewhere)."""
    parent = Path(checkpoint).resolve().parent
    return parent.parent if parent.name == "checkpoints" else parent


def run_name(checkpoint: str | Path) -> str:
    return run_dir(checkpoint).name


def read_metrics(checkpoint: str | Path) -> dict:
    """Test metrics from ``final.json`` beside the run ({} when absent or unreadable)."""
    path = run_dir(checkpoint) / "final.json"
    try:
        final = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    test = final.get("test") if isinstance(final, dict) else None
    return dict(test) if isinstance(test, dict) else {}


def config_view(config: dict, *, source: str) -> SimpleNamespace:
    """The saved run config as attributes: enough to rebuild the model, without importing the
    domain's config class (and its training stack) at inference time."""
    if not isinstance(config, dict):
        raise CheckpointError(f"{source}: config is not a mapping")
    return SimpleNamespace(**config)


def load_model(
    checkpoint: str | Path,
    *,
    domain: str,
    build_model: Callable[[Any, dict], nn.Module],
    device: str | torch.device = "cpu",
    check_state: Callable[[dict], None] | None = None,
) -> tuple[nn.Module, dict, dict]:
    """(model in eval mode on ``device``, config dict, meta) from a checkpoint of ``domain``.

    CheckpointError (one line) for a missing, corrupt or other-domain file, or weights that do not fit;
    ``check_state(state)`` may raise a clearer one first (e.g. a vocabulary that does not fit the weights).
    """
    state = load_checkpoint(checkpoint, domain=domain)
    if check_state is not None:
        check_state(state)
    config = state["config"]
    _check_shared_fields(config, str(checkpoint))
    _check_sizes(config, str(checkpoint))
    try:  # first on the meta device (allocates nothing): a crafted size is refused before it is built
        view = config_view(config, source=str(checkpoint))
        with torch.device("meta"):
            skeleton = build_model(view, state["meta"])
        load_model_state(skeleton, state["model"], source=str(checkpoint), check_only=True)
        model = build_model(view, state["meta"])
    except RnnsuiteError as err:
        raise CheckpointError(f"{checkpoint}: {err}") from None
    except (AttributeError, KeyError, TypeError, ValueError, IndexError, RuntimeError) as err:
        reason = (str(err).splitlines() or [""])[0]
        raise CheckpointError(f"{checkpoint}: cannot rebuild the {domain} model ({reason})") from None
    load_model_state(model, state["model"], source=str(checkpoint))
    return model.to(device).eval(), config, state["meta"]


def model_device(model: nn.Module) -> torch.device:
    """Where the model's parameters live (cpu for a wrapper without parameters, e.g. an ONNX session)."""
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def base_info(checkpoint: str | Path, *, domain: str, model: nn.Module, config: dict) -> dict:
    """The domain-independent part of ``Predictor.info``."""
    return {
        "name": run_name(checkpoint),
        "domain": domain,
        "checkpoint": str(checkpoint),
        "params": int(sum(p.numel() for p in model.parameters())),
        "recipe": config.get("config"),
        "metrics": read_metrics(checkpoint),
        "cell": config.get("cell"),
        "bidirectional": bool(config.get("bidirectional")),
    }


def _check_shared_fields(config: Any, source: str) -> None:
    """The fields every domain's config shares (core's RunConfig), type-checked as training would:
    a damaged config is refused even where inference does not read the damaged field."""
    import dataclasses

    from core.engine.config import RunConfig, config_from_dict
    from core.errors import ConfigError

    if not isinstance(config, dict):
        raise CheckpointError(f"{source}: field 'config' is not a mapping")
    shared = {f.name for f in dataclasses.fields(RunConfig)}
    try:
        config_from_dict(
            RunConfig, {k: v for k, v in config.items() if k in shared}, source=f"{source} config"
        )
    except ConfigError as err:
        raise CheckpointError(str(err)) from None


def _check_sizes(config: dict, source: str) -> None:
    """The model-size fields a crafted checkpoint could make absurd or wrong-typed, by the CLI's caps."""
    from core.engine.config import MAX_HIDDEN, MAX_LAYERS

    for key, cap in (("hidden", MAX_HIDDEN), ("embed_dim", MAX_HIDDEN), ("layers", MAX_LAYERS)):
        value = config.get(key)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise CheckpointError(f"{source}: config field {key!r} must be a positive integer, got {value!r}")
        if value > cap:
            flag = "--" + key.replace("_", "-")
            raise CheckpointError(f"{source}: config: {flag} must be at most {cap}, got {value}")
