"""The compare report: per-domain tables, a cross-modality ranking, plots; Markdown + HTML.

Everything is read back from the run directories (``final.json``, ``metrics.jsonl``,
``config.yaml``), so a report can be rebuilt at any time from finished runs.
"""

from __future__ import annotations

import base64
import html
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml

from core.tools import report_plots
from core.tools.seed_stats import SeedSummary, within_noise


@dataclass
class RunRecord:
    domain: str
    name: str
    status: str
    note: str
    out: Path
    cell: str | None = None
    hidden: int | None = None
    baseline: str | None = None
    dataset: str = ""
    seed: int | None = None
    test: dict = field(default_factory=dict)
    params: int | None = None
    train_seconds: float | None = None
    samples_per_s: float | None = None
    history: list[dict] = field(default_factory=list)


def primary_metric(test: dict, final: dict | None = None) -> tuple[str, str]:
    """(metric name, "max"|"min"): the run's own monitor when final.json names it."""
    final = final or {}
    if final.get("monitor"):
        return final["monitor"], final.get("mode", "max")
    return ("wer", "min") if "wer" in test else ("accuracy", "max")


def load_record(run, result: dict) -> RunRecord:
    record = RunRecord(
        run.domain,
        run.name,
        result.get("status", "missing"),
        result.get("note", ""),
        run.out,
        run.cell,
        run.hidden,
        run.baseline,
        dataset=run.dataset,
        seed=getattr(run, "seed", None),
    )
    final_path = run.out / "final.json"
    if final_path.exists():
        final = json.loads(final_path.read_text())
        record.test = {k: v for k, v in final.get("test", {}).items() if isinstance(v, (int, float))}
        record.params, record.train_seconds = final.get("params"), final.get("train_seconds")
        record.test["_monitor"], record.test["_mode"] = primary_metric(record.test, final)
    config_path = run.out / "config.yaml"
    if config_path.exists():
        record.dataset = str((yaml.safe_load(config_path.read_text()) or {}).get("data", ""))
    metrics_path = run.out / "metrics.jsonl"
    if metrics_path.exists():
        lines = metrics_path.read_text().splitlines()
        record.history = [json.loads(line) for line in lines if line.strip()]
        speeds = [h.get("samples_per_s") for h in record.history if h.get("samples_per_s")]
        record.samples_per_s = sum(speeds) / len(speeds) if speeds else None
    return record


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def domain_table(records: list[RunRecord]) -> tuple[list[str], list[list[str]]]:
    """One row per run of one domain, the classical baseline beside the RNNs."""
    baseline = next((r for r in records if r.baseline and r.test), None)
    head = [
        "dataset",
        "run",
        "cell",
        "params",
        "train s",
        "samples/s",
        "test metric",
        "value",
        "baseline",
        "status",
    ]
    rows = []
    for r in records:
        metric = r.test.get("_monitor", "-")
        base_value = baseline.test.get(metric) if baseline else None
        rows.append(
            [
                r.dataset,
                r.name,
                r.cell or (r.baseline or "-"),
                _fmt(r.params),
                _fmt(r.train_seconds, 1),
                _fmt(r.samples_per_s, 0),
                metric,
                _fmt(r.test.get(metric)),
                _fmt(base_value) if baseline else "-",
                r.status + (f": {r.note}" if r.status == "failed" else ""),
            ]
        )
    return head, rows


def _grouped(records: list[RunRecord]) -> dict[tuple[str, int | None], list[RunRecord]]:
    """A domain's scored RNN runs by grid point (cell, hidden): one record per seed."""
    groups: dict[tuple[str, int | None], list[RunRecord]] = {}
    for r in records:
        if r.cell and r.test.get("_monitor") in r.test:
            groups.setdefault((r.cell, r.hidden), []).append(r)
    return groups


def _summary(group: list[RunRecord]) -> SeedSummary:
    return SeedSummary(tuple(float(r.test[r.test["_monitor"]]) for r in group))


def seeds_table(records: list[RunRecord]) -> tuple[list[str], list[list[str]]]:
    """One row per grid point: the test metric's mean ± std and 95% CI over its seeds."""
    head = ["cell", "hidden", "seeds", "test metric", "mean ± std [95% CI]"]
    rows = []
    for (cell, hidden), group in sorted(_grouped(records).items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        rows.append(
            [
                cell,
                _fmt(hidden),
                ", ".join(_fmt(r.seed) for r in group),
                group[0].test["_monitor"],
                _summary(group).text(),
            ]
        )
    return head, rows


def cross_table(by_domain: dict[str, list[RunRecord]]) -> tuple[list[str], list[list[str]]]:
    """Cells as rows, domains as columns: each cell's mean metric over seeds and its rank in that domain.

    A cell's best grid point (by mean) stands for it. ``~`` marks a rank whose difference from the
    cell ranked just above it is within noise (Welch's t-test p >= 0.05, core.tools.seed_stats).
    """
    cells = sorted({r.cell for recs in by_domain.values() for r in recs if r.cell})
    head = ["cell"] + list(by_domain)
    ranks: dict[tuple[str, str], str] = {}
    for domain, recs in by_domain.items():
        groups = _grouped(recs)
        if not groups:
            continue
        sign = 1 if next(iter(groups.values()))[0].test["_mode"] == "max" else -1
        best: dict[str, SeedSummary] = {}
        for (cell, _), group in groups.items():
            summary = _summary(group)
            if cell not in best or sign * summary.mean > sign * best[cell].mean:
                best[cell] = summary
        order = sorted(best.items(), key=lambda kv: -sign * kv[1].mean)
        metric = next(iter(groups.values()))[0].test["_monitor"]
        means = [summary.mean for _, summary in order]
        for position, (cell, summary) in enumerate(order):
            rank = means.index(summary.mean) + 1  # ties share the better rank
            noise = position > 0 and within_noise(order[position - 1][1].values, summary.values)
            spread = f" ± {summary.std:.4f}" if summary.n > 1 else ""
            ranks[(cell, domain)] = f"{metric} {summary.mean:.4f}{spread} (#{rank}{' ~' if noise else ''})"
    rows = [[cell] + [ranks.get((cell, d), "-") for d in by_domain] for cell in cells]
    return head, rows


NOISE_NOTE = (
    "Ranks order cells by their mean test metric over seeds. `~` marks a rank whose difference from the "
    "cell ranked just above it is within noise: Welch's t-test p >= 0.05 (two-sided, unequal variances). "
    "With one seed per cell no test is possible and no rank is marked."
)


def hardware_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"Hardware: {cpu}; {device}; torch {torch.__version__}; {torch.get_num_threads()} threads"


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def write_report(out: Path, runs: list, results: dict) -> Path:
    """Write report.md and a self-contained report.html (PNG plots inlined) into ``out``."""
    records = [load_record(r, results.get(f"{r.domain}/{r.name}", {})) for r in runs]
    by_domain: dict[str, list[RunRecord]] = {}
    for r in records:
        by_domain.setdefault(r.domain, []).append(r)
    plots = report_plots.make_all(out, by_domain)
    sections: list[tuple[str, tuple[list[str], list[list[str]]]]] = [
        (f"Domain: {d}", domain_table(recs)) for d, recs in by_domain.items()
    ]
    if any(r.seed is not None and r.cell for r in records) and len({r.seed for r in records if r.cell}) > 1:
        sections += [(f"Domain: {d}, over seeds", seeds_table(recs)) for d, recs in by_domain.items()]
    sections.append(("Across modalities (cell rank per domain)", cross_table(by_domain)))
    md = ["# rnnsuite compare report", "", hardware_line(), ""]
    page = [
        "<!doctype html><meta charset='utf-8'><title>rnnsuite compare</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 7px}</style>",
        "<h1>rnnsuite compare report</h1>",
        f"<p>{html.escape(hardware_line())}</p>",
    ]
    for title, (head, rows) in sections:
        note = [NOISE_NOTE, ""] if title.startswith("Across") else []
        md += [f"## {title}", "", *note, _md_table(head, rows), ""]
        page += [
            f"<h2>{html.escape(title)}</h2>",
            *[f"<p>{html.escape(n)}</p>" for n in note if n],
            _html_table(head, rows),
        ]
    for title, png in plots:
        md += [f"## {title}", "", f"![{title}]({png.relative_to(out)})", ""]
        data = base64.b64encode(png.read_bytes()).decode()
        page += [
            f"<h2>{html.escape(title)}</h2>",
            f"<img alt='{html.escape(title)}' src='data:image/png;base64,{data}'>",
        ]
    (out / "report.md").write_text("\n".join(md))
    (out / "report.html").write_text("\n".join(page))
    return out / "report.md"
