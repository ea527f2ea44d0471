"""Data-parallel throughput: 1 process vs 2 processes (torchrun, gloo) on row-MNIST.

    flock /tmp/rnnsuite-heavy.lock python -m benchmarks.ddp [--limit-train 4000 --epochs 2 --batch-sizes 128,512]

The three configurations run one after another in this one invocation, with the same flags
and the same global batch (so the same optimisation): 1 process x 1 thread, 1 process x 2
threads (what a 2-core machine gives without DDP) and 2 processes x 1 thread (DDP). It shows
the engine working on a 2-core box, not a cluster's speed. samples/s is the training steps'
global throughput of the last epoch (``metrics.jsonl``); wall s includes start-up and eval.
Writes ``benchmarks/results/ddp.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "ddp.json"
RUNS = Path("runs/bench-ddp")
CONFIGS = {  # name -> (processes, threads per process)
    "1 proc x 1 thread": (1, 1),
    "1 proc x 2 threads": (1, 2),
    "2 procs x 1 thread (DDP)": (2, 1),
}


def run_one(name: str, procs: int, threads: int, flags: list[str]) -> dict:
    out = RUNS / name.replace(" (DDP)", "").replace(" ", "")
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "RNNSUITE_DATA": os.environ.get("RNNSUITE_DATA", "/work/shared/data"),
    }
    launcher = (
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(procs)]
        if procs > 1
        else [sys.executable]
    )
    cmd = [*launcher, "-m", "vision.train", "--out", str(out), *flags]
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{name} failed ({done.returncode}): {done.stderr[-1500:]}")
    history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    final = json.loads((out / "final.json").read_text())
    return {
        "config": name,
        "processes": procs,
        "threads": threads,
        "samples_per_s": history[-1]["samples_per_s"],
        "train_seconds": final["train_seconds"],
        "wall_seconds": round(wall, 1),
        "final_train_loss": round(history[-1]["train_loss"], 5),
        "test_accuracy": round(final["test"]["accuracy"], 4),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit-train", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-sizes", default="128,512", help="global batches (each of 2 ranks gets half)")
    args = parser.parse_args(argv)
    rows = []
    for batch in (int(b) for b in args.batch_sizes.split(",")):
        flags = [
            "--data",
            "mnist",
            "--cell",
            "lstm",
            "--hidden",
            "128",
            "--epochs",
            str(args.epochs),
            "--batch-size",
            str(batch),
            "--lr",
            "3e-3",
            "--limit-train",
            str(args.limit_train),
            "--limit-eval",
            "1000",
            "--no-progress",
            "--device",
            "cpu",
            "--seed",
            "0",
        ]
        group = [
            {"global_batch": batch, **run_one(f"{name} b{batch}", procs, threads, flags)}
            for name, (procs, threads) in CONFIGS.items()
        ]
        for row in group:  # ratios within one batch size, measured side by side
            row["speedup_vs_1x1"] = round(row["samples_per_s"] / group[0]["samples_per_s"], 2)
        rows += group
    print(
        f"{'config':<26} {'batch':>5} {'samples/s':>10} {'speedup':>8} {'train s':>8} {'wall s':>7} "
        f"{'loss':>8} {'test acc':>8}"
    )
    for r in rows:
        print(
            f"{r['config'].rsplit(' b', 1)[0]:<26} {r['global_batch']:>5} {r['samples_per_s']:>10.0f} "
            f"{r['speedup_vs_1x1']:>8.2f} {r['train_seconds']:>8.1f} {r['wall_seconds']:>7.1f} "
            f"{r['final_train_loss']:>8.4f} {r['test_accuracy']:>8.4f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {"task": "row-MNIST lstm-128", "flags": flags, "cpu_count": os.cpu_count(), "rows": rows},
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
