"""Backbone speed against the raw torch modules, measured side by side.

For each shape (row-MNIST, text, speech, pixel-MNIST) and cell: forward+backward time,
sequences/s and achieved GFLOP/s (matmul FLOPs of the valid steps only, forward x 3),
beside raw ``nn.LSTM``/``nn.GRU``/``nn.RNN`` run padded and packed. Contenders run
alternately, round after round, and ratios are medians of per-round ratios (the
2-core machine is shared and noisy). Peak fp32 ``torch.mm`` (1024²) is the ceiling.

    flock /tmp/rnnsuite-heavy.lock .venv/bin/python -m benchmarks.backbone [--quick]

Writes benchmarks/results/backbone.json (or backbone_quick.json).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from tqdm import tqdm

from core import CELLS, build_backbone

SHAPES = {  # lengths: None = all equal to T, else uniform in (low, T)
    "row_mnist": dict(batch=64, steps=28, features=28, hidden=128, layers=1, bidirectional=False, low=None),
    "text": dict(batch=64, steps=100, features=128, hidden=256, layers=1, bidirectional=False, low=20),
    "speech": dict(batch=32, steps=200, features=80, hidden=256, layers=3, bidirectional=True, low=60),
    "pixel_mnist": dict(batch=64, steps=784, features=1, hidden=128, layers=1, bidirectional=False, low=None),
}
RAW = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
GATES = {"rnn": 1, "lstm": 4, "gru": 3, "elman_ref": 1, "indrnn": 1, "mingru": 2, "minlstm": 3}
RECURRENT_MATMUL = {"rnn", "lstm", "gru", "elman_ref"}  # the others have elementwise recurrences
RESULTS = Path(__file__).parent / "results"


def matmul_flops(cell: str, shape: dict, tokens: int) -> float:
    """Forward+backward matmul FLOPs over ``tokens`` valid steps (backward ~ 2x forward)."""
    dirs, hidden, gates = 2 if shape["bidirectional"] else 1, shape["hidden"], GATES[cell]
    total = 0.0
    for layer in range(shape["layers"]):
        size_in = shape["features"] if layer == 0 else hidden * dirs
        recurrent = hidden if cell in RECURRENT_MATMUL else 0
        total += dirs * 2 * gates * hidden * (size_in + recurrent) * tokens
    return 3 * total


def peak_mm_gflops(repeats: int = 5) -> float:
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * 1024**3 / statistics.median(times[1:]) / 1e9


def make_batch(shape: dict, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape["batch"], shape["steps"], shape["features"], generator=g)  # (B, T, F)
    if shape["low"] is None:
        return x, torch.full((shape["batch"],), shape["steps"])
    lengths = torch.randint(shape["low"], shape["steps"] + 1, (shape["batch"],), generator=g)
    lengths[0] = shape["steps"]  # the padded length is the longest sequence
    return x, lengths


def raw_module(cell: str, shape: dict, backbone=None) -> nn.Module:
    """nn.LSTM/GRU/RNN of the shape; with ``backbone``, carrying the same weights."""
    module = RAW[cell](
        shape["features"],
        shape["hidden"],
        num_layers=shape["layers"],
        bidirectional=shape["bidirectional"],
        batch_first=True,
    )
    if backbone is not None:
        ours = [w for pair in backbone.layers for layer in pair for w in layer.flat_weights()]
        with torch.no_grad():
            for theirs, mine in zip(module._flat_weights, ours, strict=True):
                theirs.copy_(mine)
    return module


def contenders(shape: dict, cells: list[str], x, lengths) -> tuple[dict[str, Callable], dict[str, float]]:
    """name -> one forward+backward call; and, for variable lengths, max |ours - packed|."""
    calls, exactness = {}, {}
    variable = shape["low"] is not None
    for cell in cells:
        torch.manual_seed(0)
        backbone = build_backbone(
            cell,
            shape["features"],
            shape["hidden"],
            num_layers=shape["layers"],
            bidirectional=shape["bidirectional"],
        )
        calls[cell] = lambda m=backbone: m(x, lengths)[0].sum().backward()
        if cell == "gru":  # the same GRU on torch's kernels, to show the hand-fused gain
            torch_gru = build_backbone(
                cell,
                shape["features"],
                shape["hidden"],
                num_layers=shape["layers"],
                bidirectional=shape["bidirectional"],
                impl="torch",
            )
            torch_gru.load_state_dict(backbone.state_dict())
            calls["gru:impl=torch"] = lambda m=torch_gru: m(x, lengths)[0].sum().backward()
        if cell not in RAW:
            continue
        raw = raw_module(cell, shape, backbone)
        calls[f"nn.{cell}:padded"] = lambda m=raw: m(x)[0].sum().backward()
        if not variable:  # an identical second module: the ratio between the two is the noise floor
            twin = raw_module(cell, shape, backbone)
            calls[f"nn.{cell}:twin"] = lambda m=twin: m(x)[0].sum().backward()
        if variable:
            calls[f"nn.{cell}:packed"] = lambda m=raw: _packed(m, x, lengths).sum().backward()
            with torch.no_grad():
                exactness[cell] = float((backbone(x, lengths)[0] - _packed(raw, x, lengths)).abs().max())
    return calls, exactness


def _packed(module: nn.Module, x, lengths) -> torch.Tensor:
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, _ = pad_packed_sequence(module(packed)[0], batch_first=True, total_length=x.shape[1])
    return out


def alternate(
    calls: dict[str, Callable], rounds: int, *, min_seconds: float = 0.05
) -> dict[str, list[float]]:
    """Every contender once per round, in a fresh random order each round; returns seconds
    per call. A measurement repeats a fast call until ``min_seconds`` so that cold caches
    after the previous contender weigh little."""
    names = list(calls)
    times = {name: [] for name in names}
    reps = {}
    for name, fn in calls.items():  # warm-up (allocator, thread pool, first-call paths)
        start = time.perf_counter()
        fn()
        reps[name] = max(1, min(10, round(min_seconds / max(time.perf_counter() - start, 1e-6))))
    order = random.Random(0)
    for _ in tqdm(range(rounds), desc="rounds", leave=False):
        order.shuffle(names)
        for name in names:
            start = time.perf_counter()
            for _ in range(reps[name]):
                calls[name]()
            times[name].append((time.perf_counter() - start) / reps[name])
    return times


def ratio(times: dict[str, list[float]], num: str, den: str) -> float | None:
    if num not in times or den not in times:
        return None
    return statistics.median(a / b for a, b in zip(times[num], times[den]))


def run_shape(name: str, shape: dict, cells: list[str], rounds: int) -> dict:
    x, lengths = make_batch(shape)
    calls, exactness = contenders(shape, cells, x, lengths)
    times = alternate(calls, rounds)
    tokens = int(lengths.sum())
    rows = {}
    for contender, seconds in times.items():
        cell = contender.split(":")[0].removeprefix("nn.")
        median = statistics.median(seconds)
        rows[contender] = {
            "ms": 1e3 * median,
            "seq_per_s": shape["batch"] / median,
            "gflops": matmul_flops(cell, shape, tokens) / median / 1e9,
        }
    ratios = {}
    for cell in RAW:
        ratios[f"{cell}/nn.{cell}:padded"] = ratio(times, cell, f"nn.{cell}:padded")
        ratios[f"{cell}/nn.{cell}:packed"] = ratio(times, cell, f"nn.{cell}:packed")
        ratios[f"nn.{cell}:twin/nn.{cell}:padded (noise)"] = ratio(
            times, f"nn.{cell}:twin", f"nn.{cell}:padded"
        )
    ratios["gru/gru:impl=torch"] = ratio(times, "gru", "gru:impl=torch")
    ratios["mingru/nn.gru:padded"] = ratio(times, "mingru", "nn.gru:padded")
    ratios["nn.gru:padded/nn.lstm:padded"] = ratio(times, "nn.gru:padded", "nn.lstm:padded")
    return {
        "shape": shape,
        "tokens": tokens,
        "rounds": rounds,
        "rows": rows,
        "ratios": {k: v for k, v in ratios.items() if v is not None},
        "max_abs_diff_vs_packed": exactness,
    }


def check_targets(results: dict) -> dict[str, dict]:
    """The speed targets this benchmark is held to, each with the measured median ratio and pass/fail."""
    targets = {}
    for shape in ("row_mnist", "pixel_mnist"):
        for cell in RAW:
            ratios = results.get(shape, {}).get("ratios", {})
            r = ratios.get(f"{cell}/nn.{cell}:padded")
            if r is not None:  # noise: the same ratio between two identical torch modules
                targets[f"{shape}: {cell} within 5% of nn.{cell}"] = {
                    "ratio": r,
                    "target": "<= 1.05",
                    "ok": r <= 1.05,
                    "noise": ratios.get(f"nn.{cell}:twin/nn.{cell}:padded (noise)"),
                }
    speech = results.get("speech", {})
    for cell in RAW:
        r = speech.get("ratios", {}).get(f"{cell}/nn.{cell}:packed")
        if r is not None:
            diff = speech["max_abs_diff_vs_packed"][cell]
            targets[f"speech (bi, variable): {cell} >= 2x faster than packed, exact"] = {
                "ratio": r,
                "max_abs_diff": diff,
                "target": "<= 0.5, diff < 1e-4",
                "ok": r <= 0.5 and diff < 1e-4,
            }
    r = results.get("pixel_mnist", {}).get("ratios", {}).get("mingru/nn.gru:padded")
    if r is not None:
        targets["pixel_mnist: mingru >= 2x faster than nn.GRU"] = {
            "ratio": r,
            "target": "<= 0.5",
            "ok": r <= 0.5,
        }
    return targets


def print_table(name: str, result: dict) -> None:
    print(f"\n== {name}: {result['shape']} ({result['tokens']} valid steps)")
    print(f"{'contender':<18} {'ms':>9} {'seq/s':>9} {'GFLOP/s':>8}")
    for contender, row in result["rows"].items():
        print(f"{contender:<18} {row['ms']:>9.1f} {row['seq_per_s']:>9.0f} {row['gflops']:>8.1f}")
    for key, value in result["ratios"].items():
        print(f"  median ratio {key:<36} {value:.2f}")
    for cell, diff in result["max_abs_diff_vs_packed"].items():
        print(f"  max |{cell} - packed nn.{cell}| = {diff:.1e}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.backbone", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="2 rounds instead of 5 (a smoke run)")
    p.add_argument("--shapes", default=",".join(SHAPES))
    p.add_argument("--cells", default=",".join(CELLS))
    p.add_argument("--rounds", type=int, default=0, help="override the number of rounds")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rounds = args.rounds or (2 if args.quick else 5)
    cells = [c for c in args.cells.split(",") if c]
    torch.manual_seed(0)
    report = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "peak_mm_gflops": [],
        "results": {},
    }
    for name in [s for s in args.shapes.split(",") if s]:
        report["peak_mm_gflops"].append(peak_mm_gflops())
        report["results"][name] = run_shape(name, SHAPES[name], cells, rounds)
        print_table(name, report["results"][name])
        print(f"  (peak torch.mm just before: {report['peak_mm_gflops'][-1]:.0f} GFLOP/s)", flush=True)
    report["peak_mm_gflops"] = statistics.median(report["peak_mm_gflops"])
    report["targets"] = check_targets(report["results"])
    print(
        f"\npeak torch.mm (1024², fp32, {report['threads']} threads): {report['peak_mm_gflops']:.0f} GFLOP/s"
    )
    for target, value in report["targets"].items():
        noise = f", identical-module ratio {value['noise']:.2f}" if value.get("noise") else ""
        print(
            f"{'PASS' if value['ok'] else 'MISS'}  {target}: {value['ratio']:.2f} (target {value['target']}{noise})"
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("backbone_quick.json" if args.quick else "backbone.json")
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
