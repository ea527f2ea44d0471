"""Checkpoints -> named predictors, each loaded once at start-up.

A model's name is its run folder's name (``runs/sst2/checkpoints/best.pt`` -> ``sst2``),
made unique with ``-2``, ``-3`` ... The domain comes from the checkpoint itself and its
predictor from that domain's ``load_predictor`` (core never imports a domain by name).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from core.engine.checkpoint import load_checkpoint
from core.engine.predictor import run_name
from core.errors import CheckpointError, ConfigError

BACKENDS = ("torch", "onnxruntime")


@dataclass
class ServedModel:
    name: str
    predictor: Any  # core.engine.predictor.Predictor

    @property
    def domain(self) -> str:
        return self.predictor.domain

    @property
    def streaming(self) -> bool:
        return hasattr(self.predictor, "stream")

    def describe(self) -> dict:
        info = {key: value for key, value in self.predictor.info.items() if key != "checkpoint"}
        kind = getattr(self.predictor, "input_kind", None)
        return {
            **info,
            "name": self.name,
            "domain": self.domain,
            "input_kind": kind,
            "streaming": self.streaming,
        }


def unique_names(checkpoints: list[str]) -> list[str]:
    names, seen = [], {}
    for checkpoint in checkpoints:
        base = run_name(checkpoint)
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return names


def load_one(checkpoint: str, *, backend: str, device: torch.device):
    if backend == "onnxruntime":
        try:
            from core.tools.export import (
                load_onnx_predictor,  # optional backend: imported only when asked for
            )
        except ImportError as err:
            raise ConfigError(f"--backend onnxruntime: cannot load the ONNX exporter ({err})") from None
        return load_onnx_predictor(checkpoint)
    from core.tools.cli import find_domain

    domain = find_domain(str(load_checkpoint(checkpoint)["domain"]))
    if domain.load_predictor is None:
        raise CheckpointError(f"{checkpoint}: domain {domain.name!r} has no predictor to serve")
    return domain.load_predictor(Path(checkpoint), device)


def load_models(
    checkpoints: list[str], *, backend: str = "torch", device: str = "cpu"
) -> dict[str, ServedModel]:
    if backend not in BACKENDS:
        raise ConfigError(f"--backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    if not checkpoints:
        raise ConfigError("--checkpoint: give at least one checkpoint to serve")
    names = unique_names(checkpoints)
    return {
        name: ServedModel(name, load_one(path, backend=backend, device=torch.device(device)))
        for name, path in zip(names, checkpoints)
    }
