"""The umbrella ``rnnsuite`` command (also ``python -m core.tools.cli``).

    rnnsuite domains                      installed domains (entry points rnnsuite.domains)
    rnnsuite cells                        backbone cells and the options --cell-opt KEY=VALUE sets
    rnnsuite train DOMAIN [flags]         = python -m DOMAIN.train [flags]
    rnnsuite DOMAIN [flags]               the same, shorter
    rnnsuite compare [flags]              backbone grid across domains (core.tools.compare)
    rnnsuite diagnose [flags]             backbone diagnostics (core.tools.diagnostics)
    rnnsuite eval --checkpoint CKPT ...   score checkpoints (or their ensemble) on --split val|test
    rnnsuite serve --checkpoint CKPT ...  HTTP API and demo page (core.tools.serve, docs/SERVING.md)
    rnnsuite export --checkpoint CKPT     the model as ONNX, checked against PyTorch (core.tools.export)

DOMAIN is an installed domain name or ``package.module:ATTR`` for one not registered yet.
Each subcommand parses its own flags (tyro); ``rnnsuite train vision --help`` lists them.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import entry_points
from typing import Callable, Optional, Sequence

from core.engine.domain import ENTRY_POINT_GROUP, Domain
from core.errors import ConfigError, RnnsuiteError

HOOKS = {
    "compare": "core.tools.compare:main",
    "diagnose": "core.tools.diagnostics:main",
    "eval": "core.tools.eval:main",
    "export": "core.tools.export:main",
    "serve": "core.tools.serve.cli:main",
}


def find_domain(name: str) -> Domain:
    """Load only the named domain (a broken sibling domain does not block this one)."""
    if ":" in name:
        return _load_spec(name, name)
    matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not matches:
        known = ", ".join(sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))) or "none installed"
        raise ConfigError(f"unknown domain {name!r} (installed: {known})")
    return _load_spec(matches[0].value, name)


def _load_spec(spec: str, name: str) -> Domain:
    module_name, _, attr = spec.partition(":")
    try:
        domain = getattr(importlib.import_module(module_name), attr or "DOMAIN")
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"domain {name!r}: cannot load {spec} ({err})") from None
    if not isinstance(domain, Domain):
        raise ConfigError(f"domain {name!r}: {spec} is not a core.engine.domain.Domain")
    return domain


def list_domains() -> int:
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            description = find_domain(ep.name).description
        except RnnsuiteError as err:
            description = f"(cannot load: {err})"
        print(f"{ep.name:10s} {description}")
    return 0


def list_cells() -> int:
    """Each cell, what it is, and the options ``--cell-opt KEY=VALUE`` accepts for it."""
    from core.nn.cells import CELL_REGISTRY, OPTION_HELP

    for name, spec in CELL_REGISTRY.items():
        print(f"{name:10s} {spec.description}")
        for option in spec.options:
            print(f"{'':10s}   --cell-opt {option}=...  {OPTION_HELP.get(option, '')}")
    return 0


def _hook(spec: str) -> Callable[[list[str]], int]:
    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    try:
        if command == "domains":
            return list_domains()
        if command == "cells":
            return list_cells()
        if command in HOOKS:
            return int(_hook(HOOKS[command])(rest) or 0)
        if command == "train":
            if not rest or rest[0].startswith("-"):
                raise ConfigError("usage: rnnsuite train DOMAIN [flags]  (see `rnnsuite domains`)")
            command, rest = rest[0], rest[1:]
        from core.engine.run import train_main  # heavy imports only when training

        return train_main(find_domain(command), rest)
    except RnnsuiteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
