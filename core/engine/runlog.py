"""Run-directory logging: metrics.jsonl, TensorBoard, curves.png, confusion artefacts.

Named ``runlog`` rather than ``logging`` so it never shadows the standard library.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def scalars(metrics: dict[str, Any]) -> dict[str, float]:
    """Drop artefact keys (``_confusion``...) and non-numbers: what goes into a log line."""
    return {k: v for k, v in metrics.items() if not k.startswith("_") and isinstance(v, (int, float))}


def write_json(path: Path, data: Any) -> None:
    Path(path).write_text(json.dumps(data, indent=2) + "\n")


class RunLog:
    """One JSON line per epoch in ``metrics.jsonl`` plus TensorBoard scalars under ``tb/``.

    On resume the file is rewritten from the checkpoint's history, so it never holds
    epochs the resumed run is about to repeat.
    """

    def __init__(self, out_dir: Path, *, history: Sequence[dict] = (), purge_step: Optional[int] = None):
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / "metrics.jsonl"
        self.path.write_text("".join(json.dumps(r) + "\n" for r in history))
        self._tb = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.out_dir / "tb"), purge_step=purge_step)
        except ImportError:  # tensorboard is a declared dependency; keep logging if absent
            self._tb = None

    def epoch(self, record: dict[str, Any]) -> None:
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        if self._tb is not None:
            for key, value in record.items():
                if key not in ("epoch", "step") and isinstance(value, (int, float)):
                    self._tb.add_scalar(
                        key.replace("val_", "val/").replace("train_", "train/"), value, record["step"]
                    )
            self._tb.flush()

    def step(self, step: int, loss: float, lr: float) -> None:
        if self._tb is not None:
            self._tb.add_scalar("train/step_loss", loss, step)
            self._tb.add_scalar("lr", lr, step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def plot_curves(history: Sequence[dict], path: Path, *, monitor: str) -> None:
    """Loss and the monitored validation metric per epoch."""
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = [r["epoch"] for r in history]
    ax_loss.plot(epochs, [r.get("train_loss", math.nan) for r in history], marker="o", label="train")
    if any("val_loss" in r for r in history):
        ax_loss.plot(epochs, [r.get("val_loss", math.nan) for r in history], marker="o", label="val")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_loss.legend()
    ax_metric.plot(epochs, [r.get(f"val_{monitor}", math.nan) for r in history], marker="o", color="C2")
    ax_metric.set(xlabel="epoch", ylabel=monitor, title=f"validation {monitor}")
    for ax in (ax_loss, ax_metric):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_confusion(matrix: list[list[int]], classes: Optional[Sequence[str]], out_dir: Path) -> None:
    """``confusion.json`` (rows = true class) and ``confusion.png``."""
    names = list(classes) if classes and len(classes) == len(matrix) else [str(i) for i in range(len(matrix))]
    write_json(out_dir / "confusion.json", {"classes": names, "matrix": matrix})
    size = max(4.0, 0.45 * len(names) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ticks = range(len(names))
    ax.set_xticks(ticks, names, rotation=90 if len(names) > 6 else 0)
    ax.set_yticks(ticks, names)
    ax.set(xlabel="predicted", ylabel="true", title="test confusion")
    if len(names) <= 20:
        peak = max((max(row) for row in matrix), default=0) or 1
        for i, row in enumerate(matrix):
            for j, count in enumerate(row):
                ax.text(
                    j,
                    i,
                    str(count),
                    ha="center",
                    va="center",
                    color="white" if count > peak / 2 else "black",
                    fontsize=8,
                )
    fig.tight_layout()
    fig.savefig(out_dir / "confusion.png", dpi=100)
    plt.close(fig)
