"""The contract between core and a domain package, discovered through entry points.

A domain package exposes one ``Domain`` object (``vision.train:DOMAIN``) and
registers it under the ``rnnsuite.domains`` entry-point group. ``core`` never
imports a domain module by name: the umbrella CLI and ``compare`` load them via
``load_domains()``, so a user's own fourth domain plugs in the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable, Optional

import torch
from torch import nn
from torch.utils.data import DataLoader

from core.engine.config import RunConfig
from core.errors import ConfigError


@dataclass
class DataBundle:
    """What a domain's ``build_data`` returns.

    ``meta`` is everything a model and a predictor need to rebuild the pipeline
    (input size, classes, vocabulary, normalisation, permutation...). It is saved
    inside every checkpoint, so it must hold only plain Python types and tensors
    (weights_only-safe): str, int, float, bool, None, list, dict, torch.Tensor.
    """

    train: DataLoader
    val: DataLoader
    test: DataLoader
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Domain:
    """One application of the backbone.

    - ``build_data(cfg) -> DataBundle``; a builder that declares a ``resumed_meta`` parameter
      gets, on ``--resume``, the meta saved with the run being continued (to check the data
      against it)
    - ``build_model(cfg, meta) -> nn.Module`` whose forward takes a SequenceBatch's
      ``inputs, lengths`` (see the domain's Task for how it is called)
    - ``build_task(cfg, meta) -> Task``
    - ``run_baseline(cfg, data) -> dict`` test metrics of the classical baseline
      (optional); core writes the run directory around it.
    - ``load_predictor(checkpoint, device) -> Predictor`` (optional): raw inputs -> results,
      the one inference path of the CLIs, benchmarks and server (``core.engine.predictor``).
    """

    name: str
    config_cls: type[RunConfig]
    build_data: Callable[[RunConfig], DataBundle]
    build_model: Callable[[RunConfig, dict], nn.Module]
    build_task: Callable[[RunConfig, dict], Any]
    run_baseline: Optional[Callable[[RunConfig, DataBundle], dict]] = None
    description: str = ""
    baseline_name: Optional[str] = None
    """The value of ``--baseline`` that runs ``run_baseline`` (vision: "logreg", nlp: "tfidf")."""
    extra_baselines: tuple[str, ...] = ()
    """Further ``--baseline`` values ``run_baseline`` understands (it reads ``cfg.baseline``); compare runs only the first."""
    cross_validation: bool = False
    """Whether ``build_data`` honours ``--cv K --fold k`` (test split from ``core.engine.splits.held_out_test``)."""
    quick_args: list[str] = field(default_factory=list)
    """Flags for the ``quick`` compare preset (embedded data, small budget)."""
    full_args: list[str] = field(default_factory=list)
    """Flags for the ``full`` compare preset (real data under $RNNSUITE_DATA)."""
    build_eval_task: Optional[Callable[..., Any]] = None
    """``build_eval_task(cfg, meta, *, beam, lexicon, lm) -> Task``: the task ``rnnsuite eval`` scores with
    when decoding options are given (speech: beam search, lexicon, language model); None = none offered."""
    load_predictor: Optional[Callable[[Path, torch.device], Any]] = None
    """Checkpoint -> ``core.engine.predictor.Predictor`` (models loaded once, eval mode)."""
    init_prefixes: Optional[Callable[[dict, str, dict], tuple[str, ...]]] = None
    """``init_prefixes(meta, source_domain, source_meta)``: the parameter-name prefixes ``--init-backbone``
    copies from a checkpoint (this run's data meta, then the checkpoint's domain and meta); None =
    ``("backbone.",)`` only."""


ENTRY_POINT_GROUP = "rnnsuite.domains"


def load_domains() -> dict[str, Domain]:
    """All installed domains by name (entry-point group ``rnnsuite.domains``)."""
    found: dict[str, Domain] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        domain = ep.load()
        if not isinstance(domain, Domain):
            raise ConfigError(f"entry point {ep.name} = {ep.value} is not a core.engine.domain.Domain")
        found[ep.name] = domain
    return found


def get_domain(name: str) -> Domain:
    domains = load_domains()
    if name not in domains:
        known = ", ".join(sorted(domains)) or "none installed"
        raise ConfigError(f"unknown domain {name!r} (installed: {known})")
    return domains[name]


def data_root() -> Path:
    """Where named datasets live: $RNNSUITE_DATA, else ./data."""
    import os

    return Path(os.environ.get("RNNSUITE_DATA", "data")).expanduser()


def cache_root() -> Path:
    """Where derived files (feature caches, generated audio) go: never inside RNNSUITE_DATA."""
    import os

    return Path(os.environ.get("RNNSUITE_CACHE", Path.home() / ".cache" / "rnnsuite")).expanduser()
