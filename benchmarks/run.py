"""Benchmarks as "recipe x seeds": train a recipe once per seed, score each best checkpoint through
``rnnsuite eval``'s path, run the recipe's baseline on the same split, and store one result row.

    python -m benchmarks.run --recipe speech/yesno --seeds 3
    python -m benchmarks.run --recipe vision/mnist --seeds 1 --first-seed 0

Each seed is ``python -m core.tools.cli train DOMAIN --recipe NAME --seed S`` in a subprocess
(so its CPU minutes are measured), under ``--runs`` (default runs/bench/NAME/seed-S). The row
(merged into ``benchmarks/results/recipes.json`` by recipe name) holds the resolved config, the
recipe name, the git commit, the seeds, per-seed figures, their mean and sample std, CPU minutes
and threads; ``python -m benchmarks.results_md`` turns the file into docs/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import yaml

from core.engine.domain import load_domains
from core.engine.recipes import load_recipe
from core.tools.eval import evaluate

RESULTS = Path(__file__).parent / "results" / "recipes.json"
REPO = Path(__file__).resolve().parents[1]


def git_commit() -> str:
    """The checkout's commit, with ``+dirty`` when tracked files differ from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train_seed(domain: str, recipe: str, seed: int, out: Path, extra: Sequence[str], threads: int) -> dict:
    """One seed's training run in a subprocess: exit status, wall and CPU minutes."""
    command = [
        sys.executable,
        "-m",
        "core.tools.cli",
        "train",
        domain,
        "--recipe",
        recipe,
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--no-progress",
        "--overwrite",  # a rerun replaces the row; the old run folder moves to previous/, nothing is lost
        *extra,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    wall, cpu = time.perf_counter(), children_cpu_seconds()
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "bench.log", "w") as log:
        code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    return {
        "exit": code,
        "wall_minutes": round((time.perf_counter() - wall) / 60, 3),
        "cpu_minutes": round((children_cpu_seconds() - cpu) / 60, 3),
    }


def summarise(per_seed: list[dict]) -> dict:
    """Mean and sample std (ddof=1; 0 for one seed) of every metric all seeds report."""
    keys = sorted(set.intersection(*(set(s["metrics"]) for s in per_seed))) if per_seed else []
    summary = {}
    for key in keys:
        values = [float(s["metrics"][key]) for s in per_seed]
        summary[key] = {
            "mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "n": len(values),
        }
    return summary


def run_baseline(domain: str, recipe: str, name: str, out: Path, threads: int) -> Optional[dict]:
    """The recipe's classical baseline (meta.baseline) on the same split: its test metrics."""
    timing = train_seed(domain, recipe, 0, out, ["--baseline", name], threads)
    final = out / "final.json"
    if timing["exit"] != 0 or not final.is_file():
        return {"name": name, "exit": timing["exit"]}
    return {"name": name, "metrics": json.loads(final.read_text())["test"], **timing}


def bench_recipe(
    recipe_name: str,
    *,
    seeds: Sequence[int],
    runs: Path,
    extra: Sequence[str] = (),
    threads: int = 2,
    eval_options: Optional[dict] = None,
) -> dict:
    """Train and score ``recipe_name`` once per seed; the result row."""
    domain_name = recipe_name.split("/")[0]
    domains = load_domains()
    recipe = load_recipe(recipe_name, domain=domain_name, config_cls=domains[domain_name].config_cls)
    options = dict(recipe.meta.get("eval") or {}, **(eval_options or {}))
    per_seed, config = [], None
    for seed in seeds:
        out = runs / recipe_name.replace("/", "-") / f"seed-{seed}"
        timing = train_seed(domain_name, recipe_name, seed, out, extra, threads)
        if timing["exit"] != 0:
            per_seed.append({"seed": seed, **timing, "metrics": {}})
            continue
        scored = evaluate([str(out / "checkpoints" / "best.pt")], split="test", **options)
        final = json.loads((out / "final.json").read_text())  # why training stopped: a cut run is visible
        per_seed.append(
            {
                "seed": seed,
                **timing,
                "metrics": scored["metrics"],
                "items": scored["items"],
                "stopped": final.get("stopped"),
                "epochs": final.get("epochs"),
            }
        )
        config = config or yaml.safe_load((out / "config.yaml").read_text())
    finished = [s for s in per_seed if s["exit"] == 0]
    baseline = recipe.meta.get("baseline")
    return {
        "recipe": recipe_name,
        "domain": domain_name,
        "meta": recipe.meta,
        "recipe_values": recipe.values,
        "config": {k: v for k, v in (config or {}).items() if k not in ("seed", "out", "progress")},
        "command": f"python -m {domain_name}.train --recipe {recipe_name} --seed {seeds[0]}",
        "extra_flags": list(extra),
        "eval": options,
        "commit": git_commit(),
        "seeds": list(seeds),
        "per_seed": per_seed,
        "summary": summarise(finished),
        "threads": threads,
        "cpu_minutes": round(sum(s["cpu_minutes"] for s in per_seed), 3),
        "baseline": run_baseline(
            domain_name,
            recipe_name,
            baseline,
            runs / recipe_name.replace("/", "-") / f"baseline-{baseline}",
            threads,
        )
        if baseline
        else None,
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }


def merge_row(path: Path, row: dict) -> None:
    """Replace the row of the same recipe (and eval options) in the results file, keep the others."""
    rows = json.loads(path.read_text())["rows"] if path.is_file() else []
    rows = [r for r in rows if (r["recipe"], r.get("eval")) != (row["recipe"], row.get("eval"))] + [row]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"rows": sorted(rows, key=lambda r: r["recipe"])}, indent=2) + "\n")
    os.replace(tmp, path)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", required=True, action="append", help="DOMAIN/NAME; repeat for several")
    parser.add_argument("--seeds", type=int, default=3, help="how many seeds")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="OMP threads of each training run")
    parser.add_argument("--runs", default="runs/bench", help="folder of the run directories")
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--extra", default="", help="flags appended to every training run (smoke tests only)")
    args = parser.parse_args(argv)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    failed = 0
    for name in args.recipe:
        row = bench_recipe(
            name, seeds=seeds, runs=Path(args.runs), extra=args.extra.split(), threads=args.threads
        )
        broken = [s["seed"] for s in row["per_seed"] if s["exit"] != 0]
        if broken:  # a row with a failed seed would replace a good one with a partial one: keep the old
            print(f"{name}: seed(s) {broken} failed (see their bench.log); {args.results} not changed")
            failed += 1
            continue
        merge_row(Path(args.results), row)
        means = ", ".join(f"{k} {v['mean']:.4f} ± {v['std']:.4f}" for k, v in row["summary"].items())
        print(
            f"{name}: seeds {seeds}: {means or 'no finished seed'}; {row['cpu_minutes']:.1f} CPU min",
            flush=True,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
