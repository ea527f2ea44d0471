"""``rnnsuite export --checkpoint CKPT --format onnx [--out FILE]``: a checkpoint as an ONNX graph.

The graph has dynamic batch and time axes and takes ``(inputs, lengths)`` like the PyTorch
model (token ids (B, T) int64 for text, features (B, T, F) float32 otherwise); it returns
``logits`` (and ``out_lengths`` for CTC models). Variable lengths are exact: every export
is checked against the PyTorch model with onnxruntime on padded batches of mixed lengths,
and refused when the largest difference exceeds ``TOLERANCE``.

The graph is traced with torch's TorchScript-based exporter: its dynamo-based one
decomposes ``aten::lstm`` step by step, which pins the time axis to the example's length.
torch's fused LSTM/GRU/RNN kernels become ONNX's LSTM/GRU/RNN operators
(core.tools.onnx_graph); a cell without a loop-free form is refused in one line.

Serving with onnxruntime (``rnnsuite serve --backend onnxruntime``) goes through
``load_onnx_predictor`` (core.tools.onnx_backend).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.engine.checkpoint import load_checkpoint, load_for_inference
from core.errors import CheckpointError, ConfigError
from core.nn.backbone import Backbone
from core.tools.onnx_graph import graph_twin

TOLERANCE = 1e-4
"""Largest absolute difference from the PyTorch model an export may show (logits)."""
OPSET = 17


def input_spec(model: nn.Module) -> tuple[str, int]:
    """What the model reads first: ``("ids", vocab size)`` or ``("features", F)``."""
    for module in model.modules():
        if isinstance(module, nn.Embedding):
            return "ids", module.num_embeddings
        if isinstance(module, (nn.Conv1d, Backbone)):
            return "features", module.in_channels if isinstance(module, nn.Conv1d) else module.input_size
    raise ConfigError(f"{type(model).__name__}: found neither an embedding, a conv nor a backbone to feed")


def example_batch(
    spec: tuple[str, int], lengths: list[int], *, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random inputs padded to the longest of ``lengths``; padding is 0 (the pad id for text)."""
    kind, size = spec
    generator = torch.Generator().manual_seed(seed)
    steps, lengths_t = max(lengths), torch.tensor(lengths, dtype=torch.long)
    if kind == "ids":
        inputs = torch.randint(1, max(size, 2), (len(lengths), steps), generator=generator)  # (B, T)
    else:
        inputs = torch.randn(len(lengths), steps, size, generator=generator)  # (B, T, F)
    valid = torch.arange(steps).unsqueeze(0) < lengths_t.unsqueeze(1)  # (B, T)
    inputs = inputs * valid.view(*valid.shape, *([1] * (inputs.dim() - 2))).to(inputs.dtype)
    return inputs, lengths_t


PARITY_BATCHES = ([9, 1, 5, 3], [23], [2, 40, 17, 40, 8, 11])
"""Lengths of the padded batches an export is checked on (mixed, equal-to-max, single)."""


def parity(model: nn.Module, onnx_path: Path) -> float:
    """Largest |torch - onnxruntime| over PARITY_BATCHES; CheckpointError when output lengths differ."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    spec, worst = input_spec(model), 0.0
    for seed, lengths in enumerate(PARITY_BATCHES):
        inputs, lengths_t = example_batch(spec, lengths, seed=seed)
        with torch.inference_mode():
            expected = as_tuple(model(inputs, lengths_t))
        got = session.run(None, {"inputs": inputs.numpy(), "lengths": lengths_t.numpy()})
        worst = max(worst, float(np.abs(expected[0].numpy() - got[0]).max()))
        if len(expected) > 1 and not np.array_equal(expected[1].numpy(), got[1]):
            raise CheckpointError(f"{onnx_path}: output lengths differ from the PyTorch model's")
    return worst


def as_tuple(outputs) -> tuple[torch.Tensor, ...]:
    return tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_out(checkpoint: str | Path) -> Path:
    return Path(checkpoint).with_suffix(".onnx")


def export_onnx(checkpoint: str | Path, out: str | Path | None = None) -> tuple[Path, float]:
    """Write the checkpoint's model as ONNX (atomically) and check it: ``(path, max abs diff)``."""
    from core.tools.cli import find_domain

    checkpoint = Path(checkpoint).expanduser()
    domain = find_domain(str(load_checkpoint(checkpoint)["domain"]))
    model, _, _ = load_for_inference(checkpoint, domain)
    out = default_out(checkpoint) if out is None else Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        write_graph(
            model,
            Path(tmp),
            metadata={
                "rnnsuite.domain": domain.name,
                "rnnsuite.checkpoint": str(checkpoint.resolve()),
                "rnnsuite.checkpoint_sha256": file_sha256(checkpoint),
            },
        )
        worst = parity(model, Path(tmp))
        if not worst <= TOLERANCE:
            raise CheckpointError(
                f"{checkpoint}: the ONNX graph differs from the PyTorch model by {worst:.2e} "
                f"(> {TOLERANCE:.0e}); not written"
            )
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return out, worst


def write_graph(model: nn.Module, path: Path, *, metadata: dict[str, str]) -> None:
    """Trace ``model``'s graph twin with dynamic batch/time axes to ``path``, with string metadata."""
    import onnx

    twin = graph_twin(model)
    spec = input_spec(model)
    inputs, lengths = example_batch(spec, [7, 3, 5])
    with torch.inference_mode():
        names = ["logits", "out_lengths"][: len(as_tuple(twin(inputs, lengths)))]
    axes = {"inputs": {0: "batch", 1: "time"}, "lengths": {0: "batch"}, "logits": {0: "batch"}}
    if len(names) > 1:  # per-frame outputs: time axis too
        axes.update(logits={0: "batch", 1: "frames"}, out_lengths={0: "batch"})
    with warnings.catch_warnings():  # tracer notes about shapes read as Python values
        warnings.simplefilter("ignore")
        torch.onnx.export(
            twin,
            (inputs, lengths),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=["inputs", "lengths"],
            output_names=names,
            dynamic_axes=axes,
        )
    graph = onnx.load(str(path))
    for key, value in metadata.items():
        graph.metadata_props.add(key=key, value=value)
    onnx.save(graph, str(path))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rnnsuite export", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--checkpoint", required=True, help="an rnnsuite checkpoint (RUN/checkpoints/best.pt)"
    )
    parser.add_argument("--format", default="onnx", choices=["onnx"])
    parser.add_argument("--out", default=None, help="output file (default: the checkpoint with .onnx)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    path, worst = export_onnx(args.checkpoint, args.out)  # RnnsuiteError: one line from the CLI
    size_kb = path.stat().st_size / 1024
    print(
        f"wrote {path} ({size_kb:.0f} KiB); onnxruntime vs torch on padded batches of mixed lengths: "
        f"max abs diff {worst:.1e}"
    )
    return 0


def load_onnx_predictor(checkpoint_or_onnx: str | Path, **options):
    """The domain's Predictor running its network in onnxruntime (see core.tools.onnx_backend)."""
    from core.tools.onnx_backend import load_onnx_predictor as load

    return load(checkpoint_or_onnx, **options)


if __name__ == "__main__":
    from core.tools.cli import main as cli_main

    raise SystemExit(cli_main(["export", *__import__("sys").argv[1:]]))
