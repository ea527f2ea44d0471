"""Typed run configuration shared by every domain.

Each domain subclasses ``RunConfig`` (a flat dataclass, so flags stay flat:
``--cell``, ``--hidden``, ``--epochs``) and adds its own fields with defaults
beside the code that owns them. ``config.yaml`` in a run directory is this
dataclass written out in full; loading it back gives the same config.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import re
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, Sequence, TypeVar

import yaml

from core.errors import ConfigError

C = TypeVar("C", bound="RunConfig")


@dataclass
class RunConfig:
    """Flags every ``python -m <domain>.train`` accepts."""

    config: Optional[str] = None
    """YAML file of defaults; flags given on the command line override it."""
    data: str = ""
    """Dataset name (resolved under $RNNSUITE_DATA) or a path; each domain sets its default."""
    cell: str = "lstm"
    """Backbone cell, one of core.CELLS."""
    hidden: int = 128
    layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    """Dropout between recurrent layers (and in domain heads)."""
    layer_norm: bool = False
    residual: bool = False
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-2
    clip_norm: float = 1.0
    """Gradient-norm clipping threshold (0 disables)."""
    schedule: Literal["cosine", "onecycle", "constant"] = "cosine"
    warmup_steps: int = 100
    lr_by_time: bool = False
    """With --max-minutes: the cosine/onecycle decay follows whichever is further along, the steps or the
    time budget, so a run the budget cuts short still ends at a low LR (a resumed run restarts the clock)."""
    average_last: int = 0
    """After training, average the weights of the last N epochs; the average becomes the best checkpoint
    when it validates better (0 or 1 = off)."""
    patience: int = 0
    """Early stopping: epochs without validation improvement (0 disables)."""
    max_bad_steps: int = 5
    """Stop after this many consecutive non-finite losses or gradients."""
    seed: int = 0
    device: str = "auto"
    """auto | cpu | cuda | cuda:N."""
    bf16: bool = False
    """bf16 autocast on CUDA (ignored on CPU)."""
    num_workers: int = 0
    out: str = "runs/latest"
    resume: bool = False
    """Continue from OUT/checkpoints/last.pt."""
    max_minutes: float = 0.0
    """Wall-clock training budget; 0 = unlimited. Training ends cleanly after the step that crosses it."""
    limit_train: int = 0
    """Use only the first N training examples (0 = all); for smoke tests and quick grids."""
    limit_eval: int = 0
    """Use only the first N validation/test examples (0 = all)."""
    baseline: Optional[str] = None
    """Train the domain's classical baseline instead of the RNN (vision: logreg, nlp: tfidf)."""
    init_backbone: Optional[str] = None
    """Start the backbone from another run's checkpoint where shapes agree."""
    download: bool = False
    progress: bool = True
    """Show a tqdm progress bar."""

    def require_positive(self, *names: str) -> None:
        """ConfigError naming the first of ``names`` that is not > 0 (domains' validate uses it too)."""
        for name in names:
            if not getattr(self, name) > 0:
                raise ConfigError(f"--{_flag(name)} must be positive, got {getattr(self, name)}")

    def require_non_negative(self, *names: str) -> None:
        for name in names:
            if getattr(self, name) < 0:
                raise ConfigError(f"--{_flag(name)} must be >= 0, got {getattr(self, name)}")

    def require_fraction(self, *names: str) -> None:
        """Each of ``names`` strictly between 0 and 1 (held-out shares of a dataset)."""
        for name in names:
            if not 0.0 < getattr(self, name) < 1.0:
                raise ConfigError(f"--{_flag(name)} must be between 0 and 1, got {getattr(self, name)}")

    def validate(self) -> None:
        """Raise ConfigError naming the first bad field. Domains extend it (call super first)."""
        _check_cell(self.cell)
        self.require_positive("hidden", "layers", "batch_size", "max_bad_steps")
        self.require_non_negative("epochs", "weight_decay", "clip_norm", "warmup_steps", "patience",
                                  "num_workers", "max_minutes", "limit_train", "limit_eval", "average_last")
        if self.lr_by_time and not self.max_minutes:
            raise ConfigError("--lr-by-time needs --max-minutes (the budget the schedule follows)")
        if not self.lr > 0:
            raise ConfigError(f"--lr must be positive, got {self.lr}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"--dropout must be in [0, 1), got {self.dropout}")
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", self.device):
            raise ConfigError(f"--device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        _check_path("--data", self.data)
        for name in ("init_backbone", "config"):
            value = getattr(self, name)
            if value and not Path(value).expanduser().is_file():
                raise ConfigError(f"--{_flag(name)}: no such file: {value}")


def _flag(name: str) -> str:
    return name.replace("_", "-")


def _check_cell(cell: str) -> None:
    """Validate against core.CELLS when the backbone module is installed."""
    try:
        import core

        cells = getattr(core, "CELLS", None)
        if cells is None:
            from core.nn.backbone import CELLS as cells  # noqa: N811
    except ImportError:
        return  # backbone not available yet: the model builder reports it
    if cell not in cells:
        raise ConfigError(f"--cell: unknown cell {cell!r} (choose from {', '.join(cells)})")


def looks_like_path(value: str) -> bool:
    """A --data value meant as a filesystem path rather than a dataset name (mnist, sst2, ...)."""
    has_suffix = re.fullmatch(r"\.[A-Za-z0-9]{1,5}", Path(value).suffix) is not None
    return any(sep in value for sep in ("/", "\\")) or value.startswith((".", "~")) or has_suffix


def _check_path(flag: str, value: str) -> None:
    if value and looks_like_path(value) and not Path(value).expanduser().exists():
        raise ConfigError(f"{flag}: no such file or directory: {value}")


# ---------------------------------------------------------------- YAML and flags

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


def _config_arg(argv: Sequence[str]) -> Optional[str]:
    """The value of ``--config`` in argv (pre-scanned so its values become tyro's defaults)."""
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return None


def parse_config(cls: type[C], argv: Optional[Sequence[str]] = None, *, prog: Optional[str] = None,
                 base: Optional[dict[str, Any]] = None) -> C:
    """Flags (tyro, kebab-case) over ``--config FILE`` over ``base`` (a resumed run's config)
    over the dataclass defaults; validated.

    Example:
        >>> parse_config(RunConfig, ["--hidden", "32", "--no-bidirectional"]).hidden
        32
    """
    import tyro

    argv = list(sys.argv[1:] if argv is None else argv)
    path = _config_arg(argv)
    default = config_from_dict(cls, dict(base or {}), source="resumed checkpoint config")
    if path and path != "None":
        overrides = config_from_dict(cls, read_yaml(path), source=str(path))  # type-checks the file
        default = dataclasses.replace(default, **{k: getattr(overrides, k) for k in read_yaml(path)})
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):  # tyro draws a box; a bad flag gets one line instead
            cfg = tyro.cli(cls, args=argv, default=default, prog=prog, description=cls.__doc__)
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise ConfigError(one_line_parse_error(stderr.getvalue())) from None
        sys.stderr.write(stderr.getvalue())
        raise
    sys.stderr.write(stderr.getvalue())  # tyro's warnings, if any, still reach the user
    cfg.validate()
    return cfg


def one_line_parse_error(boxed: str) -> str:
    r"""tyro's boxed parse error -> its message on one line, plus the flag tyro suggests.

    Example:
        >>> one_line_parse_error("╭─ Value error ─╮\n│ Error parsing --hidden: bad 'abc' │\n│ ─── │\n"
        ...                      "│ Perhaps you meant: │\n│     --hidden INT │\n╰───╯")
        "Error parsing --hidden: bad 'abc' (did you mean --hidden?)"
    """
    boxed = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", boxed)  # colour codes, when stdout is a terminal
    sections, current = [], []
    for raw in boxed.splitlines():  # rich draws with box characters, or ASCII on a non-UTF-8 stream
        line = raw.strip()
        if line[:1] in ("╭", "╰", "+"):
            line = ""  # top/bottom border: only the title, which the message repeats
        line = line.strip("│|").strip()
        if not line or set(line) <= set("─-━="):
            if current:
                sections.append(current)
            current = []
        else:
            current.append(line)
    if current:
        sections.append(current)
    if not sections:
        return boxed.strip() or "invalid command-line arguments"
    if len(sections) > 1 and len(sections[0]) == 1 and not set(sections[0][0]) & set(":'.\""):
        sections = sections[1:]  # without a box (non-tty) the title stands on its own line first
    message = " ".join(sections[0])
    for section in sections[1:]:
        if section[0].startswith("Perhaps you meant") and len(section) > 1:
            message += f" (did you mean {section[1].split()[0]}?)"
    return message
