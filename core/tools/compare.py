"""``rnnsuite compare``: one backbone grid across every installed domain, then a report.

Each run is its own domain's ``train`` in a subprocess (``python -m core.tools.cli train
DOMAIN ...``), so a broken run is reported in the table while the others finish, and
the grid is resumable: a run with ``final.json`` is skipped, a run with
``checkpoints/last.pt`` resumes. Domains come from entry points, never by import name.

Example:
    rnnsuite compare --preset quick --out runs/compare-quick
    rnnsuite compare --grid my_grid.yaml --out runs/mine
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, Optional

from core.engine.domain import Domain, load_domains
from core.engine.flags import parse_flags
from core.engine.rundir import check_out_path
from core.errors import ConfigError, RnnsuiteError
from core.tools.grid_file import check_plan, read_grid_file

PRESETS: dict[str, dict] = {
    # about 5 minutes on 2 CPU cores: embedded data, tiny models, a per-run time budget
    # (epochs 0 = each recipe's own epochs; the minutes budget is the same for all). One seed:
    # two would double the grid past the few-minute budget of `make run`.
    "quick": {
        "cells": ["rnn", "lstm", "gru", "mingru"],
        "hidden": [64],
        "epochs": 0,
        "seeds": 1,
        "max_minutes": 0.25,
        "args": "quick_args",
        "recipes": {
            "vision": "vision/digits-quick",
            "nlp": "nlp/toy-quick",
            "speech": "speech/tts-digits-quick",
        },
    },
    # real data under $RNNSUITE_DATA; hours on CPU
    "full": {
        "cells": ["rnn", "lstm", "gru", "indrnn", "mingru"],
        "hidden": [128],
        "epochs": 15,
        "seeds": 3,
        "max_minutes": 30.0,
        "args": "full_args",
        "recipes": {"vision": "vision/mnist", "nlp": "nlp/sst2", "speech": "speech/fsdd-strings"},
    },
}
"""A domain's runs start from its preset recipe when recipes/ holds it, else from Domain.quick_args/full_args."""


@dataclass
class CompareConfig:
    """A grid of backbone configurations, trained under one budget in every domain."""

    preset: Literal["quick", "full"] = "quick"
    grid: Optional[str] = None
    """YAML file with any of: domains, cells, hidden, epochs, max_minutes, extra, domain_args."""
    domains: list[str] = field(default_factory=list)
    """Domains to run (default: every installed one)."""
    cells: list[str] = field(default_factory=list)
    hidden: list[int] = field(default_factory=list)
    epochs: int = 0
    max_minutes: float = 0.0
    """Training budget per run (0 = the preset's)."""
    seed: int = 0
    """First seed; a grid point's seeds are SEED .. SEED+SEEDS-1."""
    seeds: int = 0
    """Seeds per grid point (0 = the preset's: 1 quick, 3 full); the report shows mean ± std and 95% CI."""
    out: str = "runs/compare"
    baselines: bool = True
    """Also run each domain's classical baseline (logreg, tfidf...)."""
    report_only: bool = False
    """Skip training; rebuild the report from the runs already in OUT."""
    extra: str = ""
    """Flags appended to every run, one string: --extra="--limit-train 200 --batch-size 32"."""


@dataclass
class RunSpec:
    domain: str
    name: str
    args: list[str]
    out: Path
    cell: Optional[str] = None
    hidden: Optional[int] = None
    baseline: Optional[str] = None
    seed: int = 0

    @property
    def dataset(self) -> str:
        """The ``--data`` value this run trains on (known before the run exists)."""
        flags = self.args
        return next((flags[i + 1] for i, a in enumerate(flags[:-1]) if a == "--data"), "")


def resolve_grid(cfg: CompareConfig, installed: dict[str, Domain]) -> tuple[dict, list[RunSpec]]:
    """Preset, then the YAML grid, then flags: the later wins."""
    plan = dict(PRESETS[cfg.preset])
    plan.setdefault("domain_args", {})
    if cfg.grid:
        plan.update(read_grid_file(cfg.grid))
    if cfg.extra:
        plan["extra"] = shlex.split(cfg.extra)
    for key in ("domains", "cells", "hidden"):
        if getattr(cfg, key):
            plan[key] = list(getattr(cfg, key))
    for key in ("epochs", "max_minutes", "seeds"):
        if getattr(cfg, key):
            plan[key] = getattr(cfg, key)
    check_plan(plan, installed, source=f"grid file {cfg.grid}" if cfg.grid else "flags")
    names = plan.get("domains") or sorted(installed)
    out = Path(cfg.out)
    runs = []
    for name in names:
        runs.extend(_domain_runs(name, installed[name], plan, cfg, out))
    escaped = [str(r.out) for r in runs if not r.out.resolve().is_relative_to(out.resolve())]
    if escaped:  # names come from the registries, so this cannot happen; never write outside OUT
        raise ConfigError(f"compare: run folder {escaped[0]} is outside --out {out}")
    return plan, runs


def _base_args(name: str, domain: Domain, plan: dict) -> list[str]:
    """A grid file's domain_args, else the preset's recipe for the domain, else its preset flag list."""
    from core.engine.recipes import list_recipes

    if name in plan["domain_args"]:
        return [str(a) for a in plan["domain_args"][name]]
    recipe = plan.get("recipes", {}).get(name)
    if recipe and recipe in list_recipes():
        return ["--recipe", recipe]
    return list(getattr(domain, plan["args"]))


def _domain_runs(name: str, domain: Domain, plan: dict, cfg: CompareConfig, out: Path) -> list[RunSpec]:
    base = _base_args(name, domain, plan)
    seeds = [cfg.seed + k for k in range(max(int(plan.get("seeds") or 1), 1))]
    budget = ["--no-progress"]
    if plan.get("epochs"):
        budget += ["--epochs", str(plan["epochs"])]
    if plan.get("max_minutes"):
        budget += ["--max-minutes", str(plan["max_minutes"])]
    extra = [str(a) for a in plan.get("extra", [])]
    runs = []
    for cell in plan["cells"]:
        for hidden in plan["hidden"]:
            for seed in seeds:
                label = f"{cell}-h{hidden}" + (f"-s{seed}" if len(seeds) > 1 else "")
                args = base + budget + ["--seed", str(seed), "--cell", cell, "--hidden", str(hidden)] + extra
                runs.append(
                    RunSpec(name, label, args, out / name / label, cell=cell, hidden=int(hidden), seed=seed)
                )
    if cfg.baselines and domain.run_baseline is not None and domain.baseline_name:
        run_out = out / name / f"baseline-{domain.baseline_name}"
        args = base + ["--baseline", domain.baseline_name, "--seed", str(cfg.seed), "--no-progress"] + extra
        runs.append(
            RunSpec(
                name,
                f"baseline-{domain.baseline_name}",
                args,
                run_out,
                baseline=domain.baseline_name,
                seed=cfg.seed,
            )
        )
    return runs


def execute(run: RunSpec) -> dict:
    """Train one run in a subprocess; skip it if finished, resume it if interrupted."""
    if (run.out / "final.json").is_file():
        return {"status": "done", "seconds": 0.0, "note": "finished earlier: skipped"}
    try:
        run.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # e.g. a file where the run folder goes: this run fails, the grid goes on
        return {"status": "failed", "seconds": 0.0, "note": f"cannot create {run.out}: {err.strerror or err}"}
    args = list(run.args) + ["--out", str(run.out)]
    resumed = (run.out / "checkpoints" / "last.pt").exists()
    if resumed:
        args.append("--resume")
    command = [sys.executable, "-m", "core.tools.cli", "train", run.domain, *args]
    started = time.time()
    with open(run.out / "train.log", "a") as log:
        log.write(f"$ {' '.join(command)}\n")
        log.flush()
        code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    seconds = time.time() - started
    if code == 0 and (run.out / "final.json").exists():
        return {"status": "ok", "seconds": seconds, "note": "resumed" if resumed else ""}
    return {
        "status": "failed",
        "seconds": seconds,
        "note": f"exit {code}: {_last_line(run.out / 'train.log')}",
    }


def _last_line(log: Path) -> str:
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "no output"


def run_grid(cfg: CompareConfig) -> Path:
    """Train every run of the grid (unless report_only) and write the report; returns its path."""
    from core.nn.backbone import CELLS
    from core.tools.report import write_report  # plots pull in matplotlib: load only when needed
    from core.tools.throughput import write_throughput

    installed = load_domains()
    plan, runs = resolve_grid(cfg, installed)
    out = Path(cfg.out)
    check_out_path(out)
    out.mkdir(parents=True, exist_ok=True)
    status_path = out / "compare.json"
    results = {}
    for index, run in enumerate(runs, 1):
        label = f"{run.domain}/{run.name}"
        if cfg.report_only:
            done = (run.out / "final.json").exists()
            results[label] = {"status": "done" if done else "missing", "seconds": 0.0, "note": ""}
            continue
        print(f"[{index}/{len(runs)}] {label} ...", flush=True)
        results[label] = execute(run)
        print(
            f"[{index}/{len(runs)}] {label}: {results[label]['status']} "
            f"({results[label]['seconds']:.0f}s) {results[label]['note']}",
            flush=True,
        )
        _write_status(status_path, cfg, plan, runs, results)
    _write_status(status_path, cfg, plan, runs, results)
    if not cfg.report_only:  # the report reads timings and gradients, it never measures
        finished = [r for r in runs if results[f"{r.domain}/{r.name}"]["status"] in ("ok", "done")]
        write_throughput(out / "throughput.json", sorted({r.cell for r in finished} & set(CELLS)))
        measure_gradients([r for r in finished if not r.baseline], installed)
    return write_report(out, runs, results)


def measure_gradients(runs: list[RunSpec], installed: dict) -> None:
    """``RUN/gradient_norms.json`` for each trained run lacking one (a failure is a note, not a stop)."""
    from core.tools import run_gradients

    for run in runs:
        if (run.out / run_gradients.FILE).is_file():
            continue
        try:
            run_gradients.write(installed[run.domain], run.out)
        except Exception as err:  # a missing curve must never sink the grid
            print(f"gradient norms for {run.domain}/{run.name} skipped: {(str(err).splitlines() or [''])[0]}")


def _write_status(path: Path, cfg: CompareConfig, plan: dict, runs: list[RunSpec], results: dict) -> None:
    record = {
        "config": asdict(cfg),
        "plan": plan,
        "runs": [{**asdict(r), "out": str(r.out), **results.get(f"{r.domain}/{r.name}", {})} for r in runs],
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    try:
        cfg = parse_flags(CompareConfig, sys.argv[1:] if argv is None else argv, prog="rnnsuite compare")
        report = run_grid(cfg)
    except RnnsuiteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"report: {report} (and {report.with_suffix('.html')})")
    runs = json.loads((Path(cfg.out) / "compare.json").read_text())["runs"]
    failed = [f"{r['domain']}/{r['name']}" for r in runs if r.get("status") == "failed"]
    if failed:  # the report holds every run; the exit status tells a script that some failed
        print(f"error: {len(failed)} of {len(runs)} runs failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
