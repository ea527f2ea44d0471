"""K-fold cross-validation for any domain: ``--cv K`` runs the single-run path once per fold.

Fold ``k`` is the ordinary run with ``--fold k`` in ``OUT/fold-k``; the data builder takes
its test split from ``core.engine.splits.held_out_test``. ``OUT/cv.json`` then holds, for
every test scalar, the folds' values, their mean and their sample standard deviation.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Callable, Sequence

from core.engine.runlog import write_json


def summarise_folds(finals: list[dict]) -> dict:
    """Mean and sample std (ddof=1) of every test scalar over the folds' final.json."""
    keys = sorted(set.intersection(*(set(f["test"]) for f in finals)))
    summary = {}
    for key in keys:
        values = [float(f["test"][key]) for f in finals]
        summary[key] = {
            "mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "folds": values,
        }
    return summary


def run_folds(domain, cfg, argv: Sequence[str], train_one: Callable[[object, list[str]], int]) -> int:
    """Every fold through ``train_one(domain, argv)`` (the single-run path), then OUT/cv.json.

    A fold whose final.json exists is kept on ``--resume``; the exit status is the first
    failing fold's, or 0.
    """
    finals = []
    for fold in range(cfg.cv):
        out = Path(cfg.out) / f"fold-{fold}"
        final = out / "final.json"
        if not (cfg.resume and final.is_file()):
            code = train_one(domain, [*argv, "--fold", str(fold), "--out", str(out)])
            if code:
                return code
        finals.append(json.loads(final.read_text()))
    summary = {
        "cv": cfg.cv,
        "data": cfg.data,
        "split_seed": cfg.split_seed,
        "baseline": cfg.baseline,
        "test": summarise_folds(finals),
        "train_seconds": sum(float(f.get("train_seconds") or 0.0) for f in finals),
    }
    if not cfg.resume:  # a new CV run (its folds were --overwrite-n): keep the earlier summary too
        from core.engine import rundir

        rundir.move_aside(Path(cfg.out), names=("cv.json",))
    write_json(Path(cfg.out) / "cv.json", summary)
    monitor = finals[0].get("monitor") or next(iter(summary["test"]), None)
    if monitor in summary["test"]:
        score = summary["test"][monitor]
        print(
            f"{domain.name}: {cfg.cv}-fold CV on {cfg.data}: {monitor} {score['mean']:.4f} ± {score['std']:.4f} "
            f"(sample std); {Path(cfg.out, 'cv.json')}"
        )
    return 0
