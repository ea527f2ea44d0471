"""Command-line flags of a flat config dataclass: checked here, parsed by tyro.

tyro builds the parser (``--help`` pages, kebab-case flags, ``--flag/--no-flag`` booleans).
Before it runs, ``check_flags`` reads argv against the dataclass's own fields and types,
so a rejected flag becomes one line naming it (exit 2 in every CLI) without depending on
how tyro words or draws its errors. List fields may be given once with several values or
repeated (``--cell-opt init=chrono --cell-opt horizon=100``); both reach tyro as one list.

Example:
    >>> from core.engine.config import RunConfig
    >>> check_flags(RunConfig, ["--hidden", "32", "--no-bidirectional"])
    ['--hidden', '32', '--no-bidirectional']
    >>> check_flags(RunConfig, ["--hiden", "3"])
    Traceback (most recent call last):
    ...
    core.errors.ConfigError: unknown flag --hiden (did you mean --hidden?)
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Literal, Optional, Sequence, TypeVar

from core.errors import ConfigError

T = TypeVar("T")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _is_flag(token: str) -> bool:
    """argparse's rule: a token starting with '-' is a flag (``--flag=value`` always), unless it is a
    number or holds a space (``--extra "--epochs 1"`` passes a string that looks like flags)."""
    if not token.startswith("-") or token == "-":
        return False
    if token.startswith("--") and "=" in token:
        return True
    if " " in token:
        return False
    try:
        float(token)
        return False
    except ValueError:
        return True


def _unwrap(hint: Any) -> Any:
    """``Optional[X]`` -> X (its None is spelled ``None`` on the command line)."""
    if typing.get_origin(hint) in (typing.Union, getattr(types, "UnionType", None)):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return hint


def _check_value(flag: str, hint: Any, value: str, optional: bool) -> None:
    if optional and value == "None":
        return
    if typing.get_origin(hint) is Literal:
        choices = [str(c) for c in typing.get_args(hint)]
        if value not in choices:
            raise ConfigError(f"{flag}: {value!r} is not one of {', '.join(choices)}")
        return
    for kind, noun in ((int, "an integer"), (float, "a number")):
        if hint is kind:
            try:
                kind(value)
            except ValueError:
                raise ConfigError(f"{flag}: expected {noun}, got {value!r}") from None


def _fields(cls: type) -> dict[str, tuple[str, Any]]:
    """Every accepted flag -> (field name, type hint); booleans also as --no-flag."""
    hints = typing.get_type_hints(cls)
    accepted = {}
    for field in dataclasses.fields(cls):
        accepted[_flag(field.name)] = (field.name, hints[field.name])
        if hints[field.name] is bool:
            accepted["--no-" + field.name.replace("_", "-")] = (field.name, bool)
    return accepted


def check_flags(cls: type, argv: Sequence[str]) -> list[str]:
    """argv checked against ``cls``'s fields (ConfigError naming the first bad flag), with the
    values of a repeated list flag gathered behind its first occurrence."""
    accepted = _fields(cls)
    entries: list[tuple[str, list[str]]] = []
    lists: dict[str, list[str]] = {}  # list flag -> the values of its first entry, extended by repeats
    i = 0
    while i < len(argv):
        token = argv[i]
        if not _is_flag(token):
            raise ConfigError(f"unexpected argument {token!r} (flags start with --; see --help)")
        flag, has_inline, inline = token.partition("=")
        if flag not in accepted:
            near = difflib.get_close_matches(flag, list(accepted), n=1, cutoff=0.75)
            raise ConfigError(f"unknown flag {flag}" + (f" (did you mean {near[0]}?)" if near else ""))
        values = [inline] if has_inline else []
        i += 1
        while not has_inline and i < len(argv) and not _is_flag(argv[i]):
            values.append(argv[i])
            i += 1
        hint = accepted[flag][1]
        _check_occurrence(flag, hint, values)
        if typing.get_origin(_unwrap(hint)) is list and flag in lists:
            lists[flag].extend(values)
            continue
        if typing.get_origin(_unwrap(hint)) is list:
            lists[flag] = values
            entries.append((flag, values))
        else:  # as given: tyro reads --flag=value itself, whatever the value looks like
            entries.append((token, []) if has_inline else (flag, values))
    return [token for flag, values in entries for token in (flag, *values)]


def _check_occurrence(flag: str, hint: Any, values: list[str]) -> None:
    base = _unwrap(hint)
    if base is bool:
        if values:
            raise ConfigError(f"{flag} takes no value (use {flag} or --no-{flag[2:].removeprefix('no-')})")
        return
    if typing.get_origin(base) is list:
        (item,) = typing.get_args(base) or (str,)
        for value in values:
            _check_value(flag, item, value, optional=False)
        return
    if len(values) != 1:
        raise ConfigError(
            f"{flag} needs one value, got {len(values)}" + (f": {' '.join(values)}" if values else "")
        )
    _check_value(flag, base, values[0], optional=base is not hint)


def parse_flags(
    cls: type[T], argv: Sequence[str], *, prog: Optional[str] = None, default: Optional[T] = None
) -> T:
    """``cls`` from ``argv`` through tyro after ``check_flags``; ``--help`` prints tyro's page and exits 0."""
    import tyro

    argv = list(argv)
    if "-h" in argv or "--help" in argv:
        return tyro.cli(cls, args=argv, default=default, prog=prog, description=cls.__doc__)
    checked = check_flags(cls, argv)
    try:
        return tyro.cli(
            cls, args=checked, default=default, prog=prog, description=cls.__doc__, console_outputs=False
        )
    except SystemExit:  # check_flags missed a case: still one line, never tyro's box
        raise ConfigError(f"invalid flags: {' '.join(argv)} (see --help)") from None
