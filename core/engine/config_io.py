"""Run configurations to and from plain values and YAML, every field type-checked on the way in.

``config.yaml`` in a run directory is a ``RunConfig`` subclass written out in full by ``save_config``;
``load_config`` gives the same config back, and a mistyped field is one ConfigError naming it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import yaml

from core.errors import ConfigError

if TYPE_CHECKING:
    from core.engine.config import RunConfig

C = TypeVar("C", bound="RunConfig")


def config_to_dict(cfg: RunConfig) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def config_from_dict(cls: type[C], data: dict[str, Any], *, source: str = "config") -> C:
    """Build ``cls`` from plain values, checking every field's type; ConfigError names the field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of field: value, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(f"{source}: unknown field {key!r} for {cls.__name__}")
        values[key] = _coerce(hints[key], value, f"{source}: field {key!r}")
    return cls(**values)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, getattr(types, "UnionType", None)):
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: {value!r} does not match {hint}")
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_coerce(args[0] if args else Any, item, where) for item in value]
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, args))}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str and not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value


def read_yaml(path: str | Path) -> Any:
    path = Path(path).expanduser()
    try:
        return yaml.safe_load(path.read_text()) or {}
    except OSError as err:
        raise ConfigError(f"--config: cannot read {path}: {err.strerror or err}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"--config: {path} is not valid YAML ({str(err).splitlines()[0]})") from None


def load_config(path: str | Path, cls: type[C]) -> C:
    """Read a YAML file written by ``save_config`` (or by hand; missing fields keep defaults)."""
    return config_from_dict(cls, read_yaml(path), source=str(path))


def save_config(cfg: RunConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
