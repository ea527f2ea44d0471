"""The grid of ``rnnsuite compare`` (flags or a YAML file), checked before anything runs.

Names become folder names under OUT, so every domain and cell must be in its registry; sizes,
budgets and extra flags must have the types the runs need. Errors are one ConfigError line.
"""

from __future__ import annotations

import math
import shlex
from pathlib import Path

import yaml

from core.engine.config import MAX_HIDDEN
from core.engine.domain import Domain
from core.errors import ConfigError


def check_plan(plan: dict, installed: dict[str, Domain], *, source: str) -> None:
    """ConfigError naming the first bad grid field: every name must be in its registry (domains
    installed, cells in core.CELLS) because names become folder names under OUT."""
    from core.nn.backbone import CELLS

    where = f"compare: {source}:"
    _check_names(plan.get("domains") or [], sorted(installed), f"{where} 'domains'", "installed domain names")
    _check_names(plan.get("cells"), list(CELLS), f"{where} 'cells'", "cell names", required=True)
    hidden = plan.get("hidden")
    if (
        not isinstance(hidden, list)
        or not hidden
        or not all(isinstance(h, int) and not isinstance(h, bool) and 0 < h <= MAX_HIDDEN for h in hidden)
    ):
        raise ConfigError(
            f"{where} 'hidden' must be a list of widths between 1 and {MAX_HIDDEN}, got {hidden!r}"
        )
    epochs, minutes = plan.get("epochs", 0), plan.get("max_minutes", 0)
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise ConfigError(f"{where} 'epochs' must be a whole number >= 0, got {epochs!r}")
    if not isinstance(minutes, (int, float)) or isinstance(minutes, bool) or not 0 <= minutes < math.inf:
        raise ConfigError(f"{where} 'max_minutes' must be a finite number >= 0, got {minutes!r}")
    if isinstance(plan.get("extra"), str):
        plan["extra"] = shlex.split(plan["extra"])
    _check_flags(plan.get("extra", []), f"{where} 'extra'")
    domain_args = plan.get("domain_args") or {}
    if not isinstance(domain_args, dict):
        raise ConfigError(
            f"{where} 'domain_args' must map a domain name to a list of flags, got {domain_args!r}"
        )
    _check_names(list(domain_args), sorted(installed), f"{where} 'domain_args'", "installed domain names")
    plan["domain_args"] = domain_args
    for name, flags in domain_args.items():
        _check_flags(flags, f"{where} 'domain_args.{name}'")


def _check_names(values: object, known: list[str], where: str, what: str, *, required: bool = False) -> None:
    if (
        not isinstance(values, list)
        or (required and not values)
        or not all(isinstance(v, str) for v in values)
    ):
        raise ConfigError(f"{where} must be a list of {what}, got {values!r}")
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ConfigError(f"{where}: unknown {unknown[0]!r} (choose from {', '.join(known)})")


def _check_flags(flags: object, where: str) -> None:
    if not isinstance(flags, list) or not all(
        isinstance(f, (str, int, float)) and not isinstance(f, bool) for f in flags
    ):
        raise ConfigError(f"{where} must be a list of command-line words (or one string), got {flags!r}")


def read_grid_file(path: str) -> dict:
    """The grid YAML's mapping; ConfigError (one line) for an unreadable file, bad YAML or an unknown field."""
    try:
        grid = yaml.safe_load(Path(path).read_text())
    except OSError as err:
        raise ConfigError(f"compare: cannot read grid file {path}: {err.strerror or err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        reason = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(
            f"compare: cannot read grid file {path}: not valid YAML ({where}{reason})"
        ) from None
    if not isinstance(grid, dict):
        raise ConfigError(f"compare: grid file {path} must hold a mapping")
    allowed = {
        "domains",
        "cells",
        "hidden",
        "epochs",
        "max_minutes",
        "extra",
        "domain_args",
        "seeds",
        "recipes",
    }
    unknown = set(grid) - allowed
    if unknown:
        raise ConfigError(f"compare: grid file {path}: unknown field(s) {sorted(unknown)}")
    return grid
