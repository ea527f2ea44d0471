"""Vision benchmark on the real data in $RNNSUITE_DATA: accuracy against published figures,
the logistic-regression baseline on the same splits, and epoch time against plain PyTorch.

    flock /tmp/rnnsuite-heavy.lock python -m benchmarks.vision [--only digits,mnist,fashion,speed,pixel]

Each section trains through ``vision.train``'s own ``train_main`` (run directories under
``runs/bench-vision/``), prints a table and merges its rows into
``benchmarks/results/vision.json`` (a section run alone keeps the others' earlier rows).
CPU minutes are the process's user+system time over the run.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import torch
from torch import nn

from core.engine.classification import build_task
from core.engine.run import train_main
from core.engine.trainer import Trainer
from vision.data import build_data
from vision.model import build_model
from vision.train import DOMAIN, VisionConfig

RESULTS = Path(__file__).parent / "results" / "vision.json"
RUNS = Path("runs/bench-vision")

# name -> (flags, target test accuracy or None); each RNN run is its recipe (recipes/vision/*.yaml),
# whose budgets keep it to a few CPU minutes; the baseline runs on the same recipe's splits
RUNS_BY_SECTION = {
    "digits": {
        "digits-lstm": (["--recipe", "vision/digits"], 0.97),
        "digits-logreg": (["--recipe", "vision/digits", "--baseline", "logreg"], None),
    },
    "mnist": {
        "mnist-rows-lstm128": (["--recipe", "vision/mnist"], 0.988),
        "mnist-logreg": (["--recipe", "vision/mnist", "--baseline", "logreg"], None),
    },
    "fashion": {
        "fashion-rows-bilstm128": (["--recipe", "vision/fashion-mnist"], 0.90),
        "fashion-logreg": (["--recipe", "vision/fashion-mnist", "--baseline", "logreg"], None),
    },
    "pixel": {
        "mnist-pixels-mingru128": (["--recipe", "vision/mnist-pixels"], None),
    },
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def train_row(name: str, flags: list[str], target: float | None) -> dict:
    """One ``python -m vision.train`` run (in-process) and its figures."""
    out = RUNS / name
    wall, cpu = time.perf_counter(), cpu_seconds()
    code = train_main(DOMAIN, [*flags, "--out", str(out), "--no-progress"])
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    final = json.loads((out / "final.json").read_text()) if code == 0 else {}
    accuracy = final.get("test", {}).get("accuracy")
    return {
        "name": name,
        "flags": " ".join(flags),
        "test_accuracy": accuracy,
        "test_macro_f1": final.get("test", {}).get("macro_f1"),
        "target": target,
        "met": None if target is None or accuracy is None else accuracy >= target,
        "epochs": final.get("epochs"),
        "stopped": final.get("stopped"),
        "exit": code,
        "wall_s": round(wall, 1),
        "cpu_min": round(cpu / 60, 2),
    }


class PlainLSTM(nn.Module):
    """The reference: nn.LSTM + linear on the final hidden state, nothing else."""

    def __init__(self, input_size: int, hidden: int, classes: int):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(x)  # h: (1, B, H)
        return self.head(h[-1])


def plain_epoch(model: PlainLSTM, opt, x: torch.Tensor, y: torch.Tensor, val: tuple, batch: int) -> float:
    """One epoch of the minimal loop over pre-normalised tensors, plus the same validation pass."""
    started = time.perf_counter()
    order = torch.randperm(len(y))
    for i in range(0, len(y), batch):
        idx = order[i : i + batch]
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        for i in range(0, len(val[1]), batch):
            model(val[0][i : i + batch]).argmax(-1)
    return time.perf_counter() - started


def speed_rows(repeats: int = 3) -> list[dict]:
    """Epoch time on row-MNIST (lstm 128, batch 128): our Trainer vs the plain loop, alternated."""
    cfg = VisionConfig(data="mnist", cell="lstm", hidden=128, batch_size=128, epochs=1, progress=False)
    data = build_data(cfg)
    train, val = data.train.dataset, data.val.dataset
    x, y = train.encoder(train.images), train.labels  # (N, 28, 28): normalised once, up front
    val_xy = (val.encoder(val.images), val.labels)
    plain = PlainLSTM(28, 128, 10)
    plain_opt = torch.optim.AdamW(plain.parameters(), lr=cfg.lr)
    ours_times, plain_times = [], []
    for _ in range(repeats):
        plain_times.append(plain_epoch(plain, plain_opt, x, y, val_xy, cfg.batch_size))
        trainer = Trainer(
            model=build_model(cfg, data.meta),
            task=build_task(cfg, data.meta),
            cfg=cfg,
            train_loader=data.train,
            val_loader=data.val,
        )
        started = time.perf_counter()
        trainer.fit()
        ours_times.append(time.perf_counter() - started)
    ours, ref = min(ours_times), min(plain_times)
    return [
        {
            "name": "epoch-time-row-mnist",
            "ours_s": round(ours, 2),
            "plain_lstm_s": round(ref, 2),
            "ratio": round(ours / ref, 3),
            "target": "ratio <= 1.10",
            "met": ours / ref <= 1.10,
            "all_ours_s": [round(t, 2) for t in ours_times],
            "all_plain_s": [round(t, 2) for t in plain_times],
            "threads": torch.get_num_threads(),
        }
    ]


def print_table(rows: list[dict]) -> None:
    print(f"{'run':28} {'test acc':>9} {'target':>7} {'met':>5} {'epochs':>6} {'wall s':>7} {'cpu min':>7}")
    for r in rows:
        if "ratio" in r:
            print(
                f"{r['name']:28} ours {r['ours_s']}s / plain nn.LSTM {r['plain_lstm_s']}s per epoch "
                f"= {r['ratio']:.3f} (target <= 1.10, met={r['met']})"
            )
            continue
        acc = f"{100 * r['test_accuracy']:.2f}%" if r["test_accuracy"] is not None else "failed"
        target = f"{100 * r['target']:.1f}%" if r["target"] else "-"
        print(
            f"{r['name']:28} {acc:>9} {target:>7} {str(r['met']):>5} {str(r['epochs']):>6} "
            f"{r['wall_s']:>7} {r['cpu_min']:>7}"
        )


def merge_results(rows: list[dict]) -> dict:
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"rows": []}
    names = {r["name"] for r in rows}
    merged = [r for r in previous["rows"] if r["name"] not in names] + rows
    result = {"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": merged}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.vision", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        default="digits,mnist,fashion,speed",
        help="comma-separated sections: digits, mnist, fashion, speed, pixel (stretch)",
    )
    args = parser.parse_args(argv)
    rows: list[dict] = []
    for section in args.only.split(","):
        if section == "speed":
            rows += speed_rows()
        elif section in RUNS_BY_SECTION:
            rows += [
                train_row(name, flags, target) for name, (flags, target) in RUNS_BY_SECTION[section].items()
            ]
        else:
            parser.error(f"unknown section {section!r}")
        print_table(rows[-len(RUNS_BY_SECTION.get(section, [0])) :])
    print_table(merge_results(rows)["rows"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
