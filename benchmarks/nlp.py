"""NLP benchmark: SST-2 test accuracy and MR 10-fold CV, RNN beside TF-IDF + LR, same splits, one run.

    OMP_NUM_THREADS=1 flock /tmp/rnnsuite-heavy.lock python -m benchmarks.nlp   # about 14 minutes

One intra-op thread: on the shared 2-core machine a 2-thread torch step stalls 20-35x as soon as
another process holds a core; ``--only sst2`` / ``--only mr`` update one task of the results file.
    python -m benchmarks.nlp --smoke --out /tmp/nlp-smoke --results /tmp/nlp-smoke.json  # seconds: code path only

Every model goes through ``python -m nlp.train``'s own code path (``nlp.train.main``), so the
figures are what a user gets with the same flags. No pretrained embeddings anywhere.
Writes ``benchmarks/results/nlp.json`` and prints a table with the reference targets.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from core.domain import data_root

TARGETS = {"sst2": 0.850, "mr": 0.795}
REFERENCES = {"sst2": "Kim CNN-rand 83.5 %; TF-IDF+LR measured 78.1 %",
              "mr": "Kim CNN-rand 75.9 %; NBSVM-bi 79.4 %; TF-IDF+LR measured 76.4 %"}
# BiLSTM + max pooling; regularised (dropouts, rare words -> <unk>) because the training sets are
# small (SST-2 6,920 sentences); a high learning rate lets the random embeddings move quickly
MODEL = ["--cell", "lstm", "--bidirectional", "--hidden", "128", "--embed-dim", "128", "--pooling", "max",
         "--dropout", "0.5", "--embed-dropout", "0.25", "--word-dropout", "0.1", "--min-freq", "2",
         "--batch-size", "32", "--lr", "5e-3", "--warmup-steps", "50", "--weight-decay", "1e-2"]
TASK_FLAGS: dict[str, list[str]] = {"sst2": [], "mr": []}
"""Per-task changes to MODEL (flags given later win)."""


EXTRA: list[str] = []
"""Flags appended to every run (``--smoke`` puts tiny limits here)."""


def run(argv: list[str]) -> float:
    """One ``nlp.train`` invocation; its wall-clock seconds (non-zero exit aborts the benchmark)."""
    from nlp.train import main

    argv = [*argv, *EXTRA]
    started = time.perf_counter()
    code = main(argv)
    if code:
        raise SystemExit(f"benchmark: python -m nlp.train {' '.join(argv)} exited {code}")
    return time.perf_counter() - started


def sst2(out: Path, epochs: int, seed: int) -> dict:
    common = ["--data", "sst2", "--seed", str(seed), "--no-progress"]
    rnn_seconds = run([*common, *MODEL, *TASK_FLAGS["sst2"], "--epochs", str(epochs), "--patience", "3", "--max-minutes", "6",
                       "--out", str(out / "sst2-rnn")])
    lr_seconds = run([*common, "--baseline", "tfidf", "--out", str(out / "sst2-tfidf")])
    rnn = json.loads((out / "sst2-rnn" / "final.json").read_text())
    base = json.loads((out / "sst2-tfidf" / "final.json").read_text())
    return {"flags": [*MODEL, *TASK_FLAGS["sst2"]], "epochs": epochs,
            "rnn": {"accuracy": rnn["test"]["accuracy"], "macro_f1": rnn["test"]["macro_f1"],
                    "best_epoch": rnn["best_epoch"], "train_minutes": rnn["train_seconds"] / 60,
                    "wall_minutes": rnn_seconds / 60, "params": rnn["params"]},
            "tfidf": {"accuracy": base["test"]["accuracy"], "macro_f1": base["test"]["macro_f1"],
                      "wall_minutes": lr_seconds / 60}}


def mr(out: Path, epochs: int, folds: int, seed: int) -> dict:
    common = ["--data", "mr", "--cv", str(folds), "--seed", str(seed), "--no-progress"]
    rnn_seconds = run([*common, *MODEL, *TASK_FLAGS["mr"], "--epochs", str(epochs), "--max-minutes", "1.5",
                       "--out", str(out / "mr-rnn")])
    lr_seconds = run([*common, "--baseline", "tfidf", "--out", str(out / "mr-tfidf")])
    rnn = json.loads((out / "mr-rnn" / "cv.json").read_text())
    base = json.loads((out / "mr-tfidf" / "cv.json").read_text())
    return {"folds": folds, "flags": [*MODEL, *TASK_FLAGS["mr"]], "epochs": epochs,
            "rnn": {"accuracy": rnn["test"]["accuracy"]["mean"], "std": rnn["test"]["accuracy"]["std"],
                    "fold_accuracy": rnn["test"]["accuracy"]["folds"], "train_minutes": rnn["train_seconds"] / 60,
                    "wall_minutes": rnn_seconds / 60},
            "tfidf": {"accuracy": base["test"]["accuracy"]["mean"], "std": base["test"]["accuracy"]["std"],
                      "wall_minutes": lr_seconds / 60}}


def table(results: dict) -> str:
    lines = [f"{'task':<8} {'model':<22} {'accuracy':>9} {'± std':>7} {'target':>7} {'minutes':>8}", "-" * 66]
    for task in ("sst2", "mr"):
        if task not in results:
            continue
        for model, label in (("rnn", "BiLSTM+max (rand emb)"), ("tfidf", "TF-IDF 1-2g + LR")):
            row = results[task][model]
            std = f"{100 * row['std']:.2f}" if "std" in row else ""
            target = f"{100 * TARGETS[task]:.1f}" if model == "rnn" else ""
            minutes = row.get("train_minutes", row["wall_minutes"])
            lines.append(f"{task:<8} {label:<22} {100 * row['accuracy']:>8.2f}% {std:>7} {target:>7} {minutes:>8.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.nlp", description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10, help="SST-2 epochs (early stopping, patience 3)")
    parser.add_argument("--mr-epochs", type=int, default=4, help="epochs per MR fold")
    parser.add_argument("--smoke", action="store_true", help="tiny slices, 1 epoch, 2 folds: checks the code path")
    parser.add_argument("--folds", type=int, default=10, help="MR cross-validation folds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["sst2", "mr"], help="run one task")
    parser.add_argument("--out", default="runs/bench-nlp")
    parser.add_argument("--results", default="benchmarks/results/nlp.json")
    args = parser.parse_args(argv)
    if not (data_root() / "sentiment" / "sst2").is_dir():
        print("benchmark needs RNNSUITE_DATA pointing at the shared data folder", file=sys.stderr)
        return 2
    if args.smoke:
        EXTRA.extend(["--limit-train", "300", "--limit-eval", "100"])
        args.epochs, args.mr_epochs, args.folds = 1, 1, 2
    out = Path(args.out)
    results_path = Path(args.results)
    # --only updates that task in an existing results file and keeps the other one
    results: dict = json.loads(results_path.read_text()) if args.only and results_path.is_file() else {}
    results.update({"targets": TARGETS, "references": REFERENCES, "smoke": args.smoke})
    started = time.perf_counter()
    if args.only in (None, "sst2"):
        results["sst2"] = sst2(out, args.epochs, args.seed)
    if args.only in (None, "mr"):
        results["mr"] = mr(out, args.mr_epochs, args.folds, args.seed)
    results[f"minutes_{args.only or 'all'}"] = (time.perf_counter() - started) / 60
    print(table(results))
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
