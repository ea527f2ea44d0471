"""Plots for the compare report: learning curves, metric per cell, gradient norm over
time per cell per domain, and backbone throughput against sequence length. Every plot reads
files: the runs' own, ``RUN/gradient_norms.json`` and ``throughput.json`` (written by compare,
or ``rnnsuite diagnose --throughput``); the report never loads a model."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def val_series(history: list[dict], metric: str) -> list[float]:
    """Validation ``metric`` per epoch, whichever way the log line nests it."""
    series = []
    for line in history:
        val = line.get("val")
        value = (
            val.get(metric) if isinstance(val, dict) else line.get(f"val_{metric}", line.get(f"val/{metric}"))
        )
        if isinstance(value, (int, float)):
            series.append(float(value))
    return series


def _grid(count: int, title: str):
    fig, axes = plt.subplots(1, max(count, 1), figsize=(5 * max(count, 1), 3.8), squeeze=False)
    fig.suptitle(title)
    return fig, axes[0]


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def learning_curves(out: Path, by_domain: dict) -> Path:
    fig, axes = _grid(len(by_domain), "Validation metric per epoch")
    for ax, (domain, records) in zip(axes, by_domain.items()):
        for r in records:
            metric = r.test.get("_monitor")
            series = val_series(r.history, metric) if metric else []
            if series:
                ax.plot(range(1, len(series) + 1), series, marker="o", label=r.name)
        ax.set_title(domain)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    return _save(fig, out / "plot_learning_curves.png")


def metric_per_cell(out: Path, by_domain: dict) -> Path:
    fig, axes = _grid(len(by_domain), "Test metric per run (baseline in grey)")
    for ax, (domain, records) in zip(axes, by_domain.items()):
        scored = [r for r in records if r.test.get("_monitor") in r.test]
        names = [r.name for r in scored]
        values = [r.test[r.test["_monitor"]] for r in scored]
        colours = ["grey" if r.baseline else "tab:blue" for r in scored]
        ax.bar(names, values, color=colours)
        ax.set_title(f"{domain}: {scored[0].test['_monitor'] if scored else ''}")
        ax.tick_params(axis="x", rotation=45, labelsize=7)
    return _save(fig, out / "plot_metric_per_cell.png")


def gradient_norms(out: Path, by_domain: dict) -> Path:
    """||dL/dh_t|| over t for each trained run, read from the ``gradient_norms.json`` compare wrote."""
    from core.tools.run_gradients import read

    fig, axes = _grid(len(by_domain), "Gradient norm ||dL/dh_t|| over time (log scale)")
    for ax, (domain, records) in zip(axes, by_domain.items()):
        for r in records:
            norms = None if r.baseline else read(r.out)
            if norms:
                ax.semilogy(range(len(norms)), [max(n, 1e-12) for n in norms], label=r.name)
        ax.set_title(domain)
        ax.set_xlabel("time step t")
        ax.legend(fontsize=7)
    return _save(fig, out / "plot_gradient_norms.png")


def throughput_vs_length(out: Path, by_domain: dict) -> Path:
    """Backbone fwd+bwd sequences/s per cell against T, read from ``out/throughput.json``."""
    source = out / "throughput.json"
    if not source.is_file():
        raise FileNotFoundError(
            f"no {source} (written by compare, or `rnnsuite diagnose --throughput --out {out}`)"
        )
    measured = json.loads(source.read_text())
    fig, axes = _grid(
        1,
        "Backbone training throughput vs sequence length "
        f"(B={measured['batch']}, F={measured['features']}, H={measured['hidden']})",
    )
    for cell, curve in measured["cells"].items():
        axes[0].plot(curve["lengths"], curve["sequences_per_s"], marker="o", label=cell)
    axes[0].set_xlabel("sequence length T")
    axes[0].set_ylabel("sequences / s")
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=7)
    return _save(fig, out / "plot_throughput.png")


def make_all(out: Path, by_domain: dict) -> list[tuple[str, Path]]:
    plots = [
        ("Learning curves", learning_curves),
        ("Metric per cell", metric_per_cell),
        ("Gradient norm over time", gradient_norms),
        ("Throughput against sequence length", throughput_vs_length),
    ]
    made = []
    for title, make in plots:
        try:
            made.append((title, make(out, by_domain)))
        except Exception as err:  # report what failed, keep the rest of the report
            print(f"plot '{title}' skipped: {err}")
    return made
