"""Inference latency of each domain's model: PyTorch against onnxruntime, side by side.

Each domain's model is built at its training defaults (``NlpConfig()``, ``VisionConfig()``,
``SpeechConfig()``: LSTM, hidden 128), saved as a checkpoint, exported with ``rnnsuite
export`` and timed on a typical input: one review of 60 tokens and a batch of 32 such reviews
(mixed lengths), one 28x28 digit read row by row, one 5 s utterance (500 log-mel frames).
Weights are untrained (latency does not depend on their values). Both backends run on one
thread (the server's workers each run one request); the contenders alternate call by call and
the figures are the median and 95th percentile of each one's calls.

    flock /work/heavy.lock nice -n 10 env OMP_NUM_THREADS=1 python -m benchmarks.onnx [--repeats 200]

Writes benchmarks/results/onnx.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from core.engine.checkpoint import load_for_inference, save_checkpoint
from core.engine.config import config_to_dict
from core.tools.cli import find_domain
from core.tools.export import export_onnx

RESULTS = Path(__file__).parent / "results"
VOCAB = 20_000


def domain_setups() -> dict[str, tuple]:
    """domain -> (config, meta, {case: (inputs, lengths)})."""
    from nlp.train import NlpConfig
    from speech.train import SpeechConfig
    from vision.train import VisionConfig

    gen = torch.Generator().manual_seed(0)
    speech_cfg = SpeechConfig()
    review_lengths = torch.randint(20, 61, (32,), generator=gen)
    review_lengths[0] = 60
    return {
        "nlp": (
            NlpConfig(),
            {"vocab": {"itos": [f"w{i}" for i in range(VOCAB)]}, "classes": ["neg", "pos"]},
            {
                "one review, 60 tokens": (
                    torch.randint(2, VOCAB, (1, 60), generator=gen),
                    torch.tensor([60]),
                ),
                "32 reviews, 20-60 tokens": (
                    torch.randint(2, VOCAB, (32, 60), generator=gen),
                    review_lengths,
                ),
            },
        ),
        "vision": (
            VisionConfig(),
            {"input_size": 28, "num_classes": 10},
            {"one 28x28 digit, rows": (torch.rand(1, 28, 28, generator=gen), torch.tensor([28]))},
        ),
        "speech": (
            speech_cfg,
            {"features": {"n_mels": speech_cfg.n_mels}, "vocab": {"tokens": list("_ abcdefghij")}},
            {
                "one 5 s utterance, 500 frames": (
                    torch.randn(1, 500, speech_cfg.n_mels, generator=gen),
                    torch.tensor([500]),
                )
            },
        ),
    }


def time_pair(model, session, inputs, lengths, repeats: int) -> dict[str, dict[str, float]]:
    """Alternate the two backends call by call; milliseconds per call (median, p95)."""
    feed = {"inputs": inputs.numpy(), "lengths": lengths.numpy()}
    runs = {"torch": lambda: model(inputs, lengths), "onnxruntime": lambda: session.run(None, feed)}
    times: dict[str, list[float]] = {name: [] for name in runs}
    with torch.inference_mode():
        for i in range(repeats + 5):
            for name, run in runs.items():
                start = time.perf_counter()
                run()
                if i >= 5:  # warm-up calls are not counted
                    times[name].append(1000 * (time.perf_counter() - start))
    return {
        name: {"median_ms": round(statistics.median(t), 3), "p95_ms": round(float(np.percentile(t, 95)), 3)}
        for name, t in times.items()
    }


def bench_domain(name: str, cfg, meta: dict, cases: dict, folder: Path, repeats: int) -> dict:
    import onnxruntime

    domain = find_domain(name)
    checkpoint = folder / name / "checkpoints" / "best.pt"
    torch.manual_seed(0)
    save_checkpoint(
        checkpoint,
        {
            "domain": name,
            "config": config_to_dict(cfg),
            "meta": meta,
            "model": domain.build_model(cfg, meta).state_dict(),
            "epoch": 0,
            "step": 0,
        },
    )
    onnx_path, max_diff = export_onnx(checkpoint)
    model, _, _ = load_for_inference(checkpoint, domain)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    rows = {}
    for case, (inputs, lengths) in cases.items():
        timing = time_pair(model, session, inputs, lengths, repeats)
        ratio = timing["torch"]["median_ms"] / timing["onnxruntime"]["median_ms"]
        rows[case] = {**timing, "onnxruntime_speedup": round(ratio, 2)}
        print(
            f"{name:7s} {case:32s} torch {timing['torch']['median_ms']:8.3f} ms  "
            f"onnxruntime {timing['onnxruntime']['median_ms']:8.3f} ms  x{ratio:.2f}"
        )
    return {
        "model": {
            "cell": cfg.cell,
            "hidden": cfg.hidden,
            "layers": cfg.layers,
            "bidirectional": cfg.bidirectional,
            "params": sum(p.numel() for p in model.parameters()),
        },
        "export_max_abs_diff": max_diff,
        "onnx_kib": round(onnx_path.stat().st_size / 1024),
        "cases": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--out", type=Path, default=RESULTS / "onnx.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    import onnxruntime

    with tempfile.TemporaryDirectory() as folder:
        results = {
            name: bench_domain(name, *setup, Path(folder), args.repeats)
            for name, setup in domain_setups().items()
        }
    report = {
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "threads": 1,
        "repeats": args.repeats,
        "command": "python -m benchmarks.onnx --repeats " + str(args.repeats),
        "domains": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
