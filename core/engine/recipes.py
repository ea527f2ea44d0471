"""Recipes: one YAML file per dataset holding every setting of a run that reaches a published figure.

``recipes/<domain>/<dataset>[-<variant>].yaml`` is a flat mapping of config field names (the
keys a ``--config`` file takes) to values, plus an optional reserved ``meta:`` mapping
(description, reference figure, expected figure, seeds...) that is not a config field.
A recipe is named ``<domain>/<file stem>`` (``speech/yesno``); ``--data X`` with no
``--recipe`` uses ``recipes/<domain>/X.yaml`` when it exists.

Layers, later wins: built-in defaults < recipe < ``--config`` file < command-line flags.

Example:
    >>> recipe_name_for("speech", "yesno") is None or recipe_name_for("speech", "yesno") == "speech/yesno"
    True
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from core.engine.config import C, config_from_dict, flag_value, looks_like_path, read_yaml
from core.errors import ConfigError

META_KEY = "meta"
"""The reserved top-level key of a recipe that is not a config field."""
NO_RECIPE = "none"
"""``--recipe none``: built-in defaults only, even when --data has a recipe."""


def recipes_root() -> Path:
    """$RNNSUITE_RECIPES, else the checkout's ``recipes/`` folder (beside ``core/``)."""
    env = os.environ.get("RNNSUITE_RECIPES")
    return Path(env).expanduser() if env else Path(__file__).resolve().parents[2] / "recipes"


@dataclass(frozen=True)
class Recipe:
    """A parsed recipe: its config values (checked against the domain's config class) and meta."""

    name: str
    """``domain/stem`` for a file under recipes_root(), else the file's path."""
    path: Path
    values: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)


def list_recipes(root: Optional[Path] = None) -> list[str]:
    """Every recipe name under ``root`` (default recipes_root()), sorted: ``["speech/yesno", ...]``."""
    root = root or recipes_root()
    if not root.is_dir():
        return []
    return sorted(f"{p.parent.name}/{p.stem}" for p in root.glob("*/*.yaml"))


def recipe_path(name: str, domain: str) -> Path:
    """The file behind ``name``: a path to a .yaml file, ``domain/stem`` or a bare ``stem`` of ``domain``."""
    if name.endswith((".yaml", ".yml")) and Path(name).expanduser().is_file():
        return Path(name).expanduser()
    parts = name.split("/")
    if len(parts) == 1:
        parts = [domain, name]
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"--recipe: expected DOMAIN/NAME or a .yaml file, got {name!r}")
    if parts[0] != domain:
        raise ConfigError(f"--recipe {name}: a {parts[0]} recipe cannot configure a {domain} run")
    path = recipes_root() / parts[0] / f"{parts[1]}.yaml"
    if not path.is_file():
        known = [n for n in list_recipes() if n.startswith(f"{domain}/")]
        raise ConfigError(f"--recipe: no recipe {name!r} at {path} (available: {', '.join(known) or 'none'})")
    return path


def recipe_name_for(domain: str, data: str) -> Optional[str]:
    """``domain/data`` when ``data`` is a dataset name with its own default recipe, else None."""
    if not data or looks_like_path(data):
        return None
    return f"{domain}/{data}" if (recipes_root() / domain / f"{data}.yaml").is_file() else None


def load_recipe(name: str, *, domain: str, config_cls: type[C]) -> Recipe:
    """Read and type-check a recipe; ConfigError names the file and the bad field."""
    path = recipe_path(name, domain)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"recipe {path}: expected a mapping of field: value, got {type(raw).__name__}")
    values = dict(raw)
    meta = values.pop(META_KEY, None) or {}
    if not isinstance(meta, dict):
        raise ConfigError(f"recipe {path}: '{META_KEY}' must be a mapping, got {type(meta).__name__}")
    for reserved in ("recipe", "config", "out", "resume"):
        if reserved in values:
            raise ConfigError(f"recipe {path}: field {reserved!r} belongs to the run, not to a recipe")
    config_from_dict(config_cls, values, source=f"recipe {path}")  # type-checks every field
    resolved = name if "/" in name and not name.endswith((".yaml", ".yml")) else _name_of(path, domain)
    return Recipe(name=resolved, path=path, values=values, meta=meta)


def _name_of(path: Path, domain: str) -> str:
    """``domain/stem`` for a file inside recipes_root()/domain, else the path as given."""
    try:
        path.resolve().relative_to((recipes_root() / domain).resolve())
        return f"{domain}/{path.stem}"
    except ValueError:
        return str(path)


def select_recipe(domain: str, *, recipe: Optional[str], data: str) -> Optional[str]:
    """The recipe a run uses: ``--recipe`` when given (``none`` for no recipe), else the data's default."""
    if recipe:
        return None if recipe == NO_RECIPE else recipe
    return recipe_name_for(domain, data)


def describe_layers(recipe: Optional[str], config_file: Optional[str]) -> str:
    """The precedence line every run prints once at start."""
    layers = ["built-in defaults"]
    layers.append(f"recipe {recipe}" if recipe else "no recipe")
    if config_file:
        layers.append(f"--config {config_file}")
    layers.append("command-line flags")
    return "settings: " + " < ".join(layers) + " (later wins)"


def _domain_of(prog: Optional[str]) -> Optional[str]:
    """``python -m nlp.train`` -> ``nlp``: the domain whose recipes apply when none is named."""
    match = re.fullmatch(r"python -m (\w+)\.train", prog or "")
    return match.group(1) if match else None


def layered_default(
    cls: type[C],
    argv: Sequence[str],
    *,
    base: Optional[dict[str, Any]],
    domain: Optional[str],
    prog: Optional[str],
    config_file: Optional[dict],
) -> tuple[C, Optional[str]]:
    """Defaults < recipe (a new run only) < ``base`` (a resumed run's config) and the recipe's name.

    A resumed run's config already holds its recipe's values, so no recipe is applied again.
    """
    domain = domain or _domain_of(prog)
    if base:
        return config_from_dict(cls, dict(base), source="resumed checkpoint config"), base.get("recipe")
    config_file = config_file or {}
    data = flag_value(argv, "--data") or config_file.get("data") or cls().data
    asked = flag_value(argv, "--recipe") or config_file.get("recipe")
    name = select_recipe(domain, recipe=asked, data=str(data)) if domain else None
    if name is None:
        return cls(), None
    recipe = load_recipe(name, domain=domain, config_cls=cls)
    return config_from_dict(cls, recipe.values, source=f"recipe {recipe.path}"), recipe.name


SHORT_RUN_STEPS = 200
"""Fewer optimizer steps than this rarely train a recurrent model from scratch: warn."""


def record_schedule(cfg: Any, trainer: Any, config_path: Path) -> None:
    """Write the warmup the schedule actually uses into the config (and ``config_path``), say so
    when it differs from what was asked, and warn about a run too short to learn (on stdout, beside
    the settings line: stderr carries only errors, one line each)."""
    from core.engine.config import save_config

    schedule = trainer.schedule
    if schedule.warmup_steps != schedule.requested_warmup and cfg.schedule != "onecycle":
        print(
            f"note: warmup {schedule.requested_warmup} steps capped to {schedule.warmup_steps} (a quarter of "
            f"this {schedule.total_steps}-step run); config.yaml records {schedule.warmup_steps}",
            flush=True,
        )
    cfg.warmup_steps = schedule.warmup_steps  # the Trainer holds this cfg: checkpoints record it too
    save_config(cfg, config_path)
    if 0 < schedule.total_steps < SHORT_RUN_STEPS:
        batches = schedule.total_steps // max(cfg.epochs, 1)
        print(
            f"warning: only {schedule.total_steps} optimizer steps ({cfg.epochs} epochs x {batches} "
            f"batches); raise `epochs` (or lower `batch_size`) in the recipe for a run that learns",
            flush=True,
        )
