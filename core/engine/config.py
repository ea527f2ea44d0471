"""Typed run configuration shared by every domain.

Each domain subclasses ``RunConfig`` (a flat dataclass, so flags stay flat:
``--cell``, ``--hidden``, ``--epochs``) and adds its own fields with defaults
beside the code that owns them. ``config.yaml`` in a run directory is this
dataclass written out in full; loading it back gives the same config.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, Sequence, TypeVar

from core.engine.config_io import (  # noqa: F401  (re-exported for callers of core.engine.config)
    config_from_dict,
    config_to_dict,
    load_config,
    read_yaml,
    save_config,
)
from core.engine.flags import parse_flags
from core.errors import ConfigError

C = TypeVar("C", bound="RunConfig")
MAX_HIDDEN = 16384
"""Widest backbone accepted (16384^2 x 4 LSTM gates is already 4 GiB of float32 per layer)."""
MAX_LAYERS = 64


@dataclass
class RunConfig:
    """Flags every ``python -m <domain>.train`` accepts."""

    config: Optional[str] = None
    """YAML file of defaults; flags given on the command line override it."""
    recipe: Optional[str] = None
    """Recipe (DOMAIN/NAME under recipes/, or a .yaml file) under --config and flags; default: the --data
    dataset's own recipe when recipes/DOMAIN/DATA.yaml exists; 'none' for built-in defaults only."""
    data: str = ""
    """Dataset name (resolved under $RNNSUITE_DATA) or a path; each domain sets its default."""
    cell: str = "lstm"
    """Backbone cell, one of core.CELLS."""
    cell_opt: list[str] = dataclasses.field(default_factory=list)
    """Cell option key=value, repeatable (--cell-opt init=chrono --cell-opt horizon=100); see `rnnsuite cells`."""
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
    backbone_lr_scale: float = 1.0
    """Learning-rate multiplier of the backbone's parameters (``backbone.*``): below 1 a backbone from
    --init-backbone moves slower than the new layers around it (ULMFiT's discriminative fine-tuning,
    Howard & Ruder 2018)."""
    clip_norm: float = 1.0
    """Gradient-norm clipping threshold (0 disables)."""
    schedule: Literal["cosine", "onecycle", "constant"] = "cosine"
    warmup_steps: int = 100
    """Linear LR warmup in optimizer steps (capped at a quarter of the run; config.yaml records the count used)."""
    warmup_fraction: float = 0.0
    """Warmup as a share of the run's total optimizer steps; when > 0 it replaces --warmup-steps."""
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
    overwrite: bool = False
    """Start a new run in an OUT that holds one; the earlier run is moved to OUT/previous/<time>/."""
    max_minutes: float = 0.0
    """Wall-clock training budget; 0 = unlimited. Training ends cleanly after the step that crosses it."""
    limit_train: int = 0
    """Train on a seeded sample of N training examples, stratified by class (0 = all); seed: --split-seed."""
    limit_eval: int = 0
    """Evaluate on N validation/test examples (0 = all): the same N in every run (first N, or spread evenly)."""
    split_seed: int = 0
    """Seed of the held-out splits, CV folds and --limit-train sample, apart from --seed so runs share them."""
    cv: int = 0
    """K-fold cross-validation on data without an official test split; 0 = one seeded split."""
    fold: int = -1
    """With --cv: the fold used as test split (-1 = run every fold, then OUT/cv.json with mean and std)."""
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

    def require_at_most(self, limit: int, *names: str) -> None:
        """Size caps: a typo or a crafted checkpoint must not ask for petabytes."""
        for name in names:
            if getattr(self, name) > limit:
                raise ConfigError(f"--{_flag(name)} must be at most {limit}, got {getattr(self, name)}")

    def require_finite(self) -> None:
        """Every float field is a real number (inf and nan are never meant)."""
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"--{_flag(item.name)} must be a finite number, got {value}")

    def require_fraction(self, *names: str) -> None:
        """Each of ``names`` strictly between 0 and 1 (held-out shares of a dataset)."""
        for name in names:
            if not 0.0 < getattr(self, name) < 1.0:
                raise ConfigError(f"--{_flag(name)} must be between 0 and 1, got {getattr(self, name)}")

    @property
    def cell_options(self) -> dict[str, Any]:
        """``--cell-opt`` as keyword options of the cell: numbers become int or float."""
        return dict(_cell_option(item) for item in self.cell_opt)

    def validate(self) -> None:
        """Raise ConfigError naming the first bad field. Domains extend it (call super first)."""
        _check_cell(self.cell)
        _check_cell_options(self.cell, self.cell_options)
        self.require_positive("hidden", "layers", "batch_size", "max_bad_steps", "backbone_lr_scale")
        self.require_non_negative(
            "epochs",
            "weight_decay",
            "clip_norm",
            "warmup_steps",
            "patience",
            "num_workers",
            "max_minutes",
            "limit_train",
            "limit_eval",
            "average_last",
        )
        if self.cv == 1 or self.cv < 0:
            raise ConfigError(f"--cv must be 0 (off) or at least 2, got {self.cv}")
        if self.cv and not -1 <= self.fold < self.cv:
            raise ConfigError(f"--fold must be in -1..{self.cv - 1}, got {self.fold}")
        self.require_finite()
        self.require_at_most(MAX_HIDDEN, "hidden")
        self.require_at_most(MAX_LAYERS, "layers")
        if self.resume and self.overwrite:
            raise ConfigError("--resume continues the run in --out, --overwrite starts a new one: pick one")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise ConfigError(f"--warmup-fraction must be in [0, 1), got {self.warmup_fraction}")
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


def _cell_option(item: str) -> tuple[str, Any]:
    key, sep, text = item.partition("=")
    if not sep or not key.strip() or not text.strip():
        raise ConfigError(f"--cell-opt: expected key=value, got {item!r}")
    for kind in (int, float):
        try:
            return key.strip(), kind(text)
        except ValueError:
            pass
    return key.strip(), text.strip()


def _check_cell_options(cell: str, options: dict[str, Any]) -> None:
    from core.nn.cells import CELL_REGISTRY

    declared = CELL_REGISTRY[cell].options if cell in CELL_REGISTRY else ()
    for key in options:
        if key not in declared:
            raise ConfigError(
                f"--cell-opt: {key!r} is not an option of cell {cell!r} "
                f"(options: {', '.join(declared) or 'none'}; see `rnnsuite cells`)"
            )


def looks_like_path(value: str) -> bool:
    """A --data value meant as a filesystem path rather than a dataset name (mnist, sst2, ...)."""
    has_suffix = re.fullmatch(r"\.[A-Za-z0-9]{1,5}", Path(value).suffix) is not None
    return any(sep in value for sep in ("/", "\\")) or value.startswith((".", "~")) or has_suffix


def _check_path(flag: str, value: str) -> None:
    if value and looks_like_path(value) and not Path(value).expanduser().exists():
        raise ConfigError(f"{flag}: no such file or directory: {value}")


def flag_value(argv: Sequence[str], flag: str) -> Optional[str]:
    """The value of ``flag`` in argv (pre-scanned: --config and --recipe set tyro's defaults)."""
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(f"{flag}="):
            return arg.split("=", 1)[1]
    return None


def _config_arg(argv: Sequence[str]) -> Optional[str]:
    return flag_value(argv, "--config")


def parse_config(
    cls: type[C],
    argv: Optional[Sequence[str]] = None,
    *,
    prog: Optional[str] = None,
    base: Optional[dict[str, Any]] = None,
    domain: Optional[str] = None,
) -> C:
    """Flags (tyro, kebab-case) over ``--config FILE`` over the recipe (``--recipe`` or the
    ``--data`` dataset's default; ``base``, a resumed run's config, in its place) over the
    dataclass defaults; validated. ``domain`` (default: read from ``prog``) selects the recipes.

    Example:
        >>> parse_config(RunConfig, ["--hidden", "32", "--no-bidirectional"]).hidden
        32
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    path = _config_arg(argv)
    file_values = read_yaml(path) if path and path != "None" else None
    from core.engine.recipes import layered_default  # recipes read YAML with this module's helpers

    default, recipe = layered_default(
        cls,
        argv,
        base=base,
        domain=domain,
        prog=prog,
        config_file=file_values if isinstance(file_values, dict) else None,
    )
    if file_values is not None:
        overrides = config_from_dict(cls, file_values, source=str(path))  # type-checks the file
        default = dataclasses.replace(default, **{k: getattr(overrides, k) for k in file_values})
    cfg = parse_flags(cls, argv, prog=prog, default=default)  # one line per rejected flag, exit 2
    cfg.recipe = recipe  # what ran: the resolved name (None for --recipe none)
    cfg.validate()
    return cfg
