"""Gradient diagnostics: how much of dLoss reaches each time step, per cell.

``hidden_gradient_norms(model, batch, loss_fn)`` works on any model that contains a
``core.Backbone``: the backbone is run one step at a time with its state passed on
(exact), so each hidden state h_t is its own tensor and dLoss/dh_t is the total
gradient through the recurrence. ``rnnsuite diagnose`` (``main``) runs it per cell on
the adding problem (Hochreiter & Schmidhuber 1997) and writes ``gradients.json`` and
``gradients.png``: a vanilla ``rnn`` shows the gradient at early steps vanishing.

Example:
    >>> import torch
    >>> from core import build_backbone
    >>> from core.nn.sequence import SequenceBatch
    >>> rnn = build_backbone("gru", 2, 8)
    >>> batch = SequenceBatch(torch.randn(4, 30, 2), torch.tensor([30, 30, 20, 25]))
    >>> curve = hidden_gradient_norms(rnn, batch, lambda m, b: m(b.inputs, b.lengths)[2].sum())
    >>> len(curve["norm"]), curve["cell"]
    (30, 'gru')
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import Tensor, nn

from core.errors import ConfigError, RnnsuiteError
from core.nn.backbone import CELLS, Backbone, build_backbone
from core.nn.cells import CELL_REGISTRY
from core.nn.cells.common import INIT_SCHEMES
from core.nn.sequence import SequenceBatch, gather_last, lengths_to_mask, reverse_within_lengths

LossFn = Callable[[nn.Module, SequenceBatch], "Tensor | tuple[Tensor, int]"]


@contextmanager
def trace_hidden_states(model: nn.Module) -> Iterator[list[Backbone]]:
    """Within the block, every Backbone in ``model`` runs step by step and records h_t."""
    backbones = [m for m in model.modules() if isinstance(m, Backbone)]
    if not backbones:
        raise ConfigError("model: contains no core.Backbone to diagnose")
    for b in backbones:
        b.trace = []
    try:
        yield backbones
    finally:
        for b in backbones:
            b.trace = None


def _masked_mean_over_batch(norms: Tensor, lengths: Tensor) -> list[float]:
    """(B, T) per-sequence norms -> (T,) mean over the sequences still running at t."""
    mask = lengths_to_mask(lengths.to(norms.device), norms.shape[1]).to(norms.dtype)  # (B, T)
    return ((norms * mask).sum(0) / mask.sum(0).clamp(min=1)).tolist()


def hidden_gradient_norms(model: nn.Module, batch: SequenceBatch, loss_fn: LossFn) -> dict:
    """Mean over the batch of ||dLoss/dh_t|| for every step t of the first Backbone's top layer.

    ``loss_fn(model, batch)`` returns a scalar or ``(scalar, n)`` — a Task's ``loss`` fits.
    Returns ``{"cell", "steps", "norm": [T floats], "per_layer": {"layer0": [...], ...},
    "first_over_last": norm[0] / norm[last]}``; directions are combined (root sum of squares).
    """
    with trace_hidden_states(model) as backbones:
        loss = loss_fn(model, batch)
        loss = loss[0] if isinstance(loss, tuple) else loss
        records = backbones[0].trace
        lengths = records[0]["lengths"]  # after any front-end subsampling, unlike batch.lengths
        tensors = [h for record in records for h in record["states"]]
        grads = torch.autograd.grad(loss, tensors, allow_unused=True)
    per_layer: dict[int, Tensor] = {}
    offset = 0
    for record in records:
        count = len(record["states"])
        chunk = [
            torch.zeros_like(h) if g is None else g
            for g, h in zip(grads[offset : offset + count], record["states"])
        ]
        offset += count
        g = torch.stack(chunk, dim=1).detach()  # (B, T, H)
        if record["direction"] == 1:  # step s of the reversed stream is time length-1-s
            g = reverse_within_lengths(g, lengths)
        squared = g.pow(2).sum(-1)  # (B, T)
        per_layer[record["layer"]] = per_layer.get(record["layer"], 0) + squared
    curves = {f"layer{i}": _masked_mean_over_batch(sq.sqrt(), lengths) for i, sq in sorted(per_layer.items())}
    top = curves[f"layer{max(per_layer)}"]
    last = int(lengths.min()) - 1
    return {
        "cell": backbones[0].cell,
        "steps": len(top),
        "norm": top,
        "per_layer": curves,
        "first_over_last": top[0] / top[last] if top[last] > 0 else float("inf"),
    }


def adding_problem(batch: int, steps: int, *, generator: torch.Generator) -> SequenceBatch:
    """Inputs (B, T, 2): uniform values and a marker channel with two 1s, one in the first
    tenth and one in the second half; target (B,) = the sum of the two marked values."""
    values = torch.rand(batch, steps, generator=generator)
    marker = torch.zeros(batch, steps)
    rows = torch.arange(batch)
    first = torch.randint(0, max(steps // 10, 1), (batch,), generator=generator)
    second = torch.randint(steps // 2, steps, (batch,), generator=generator)
    marker[rows, first] = 1.0
    marker[rows, second] = 1.0
    target = values[rows, first] + values[rows, second]
    return SequenceBatch(torch.stack([values, marker], dim=-1), torch.full((batch,), steps), target)


class AddingModel(nn.Module):
    """Backbone + linear readout of the last valid step: model(x, lengths) -> (B,)."""

    def __init__(self, *, cell: str, hidden: int, layers: int = 1, **cell_options):
        super().__init__()
        self.backbone = build_backbone(cell, 2, hidden, num_layers=layers, **cell_options)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        out, lengths, _ = self.backbone(x, lengths)  # (B, T, H)
        return self.head(gather_last(out, lengths)).squeeze(-1)


def adding_loss(model: nn.Module, batch: SequenceBatch) -> Tensor:
    return nn.functional.mse_loss(model(batch.inputs, batch.lengths), batch.targets)


def _cell_options(cell: str, init: str, steps: int) -> dict:
    """``init`` where the cell takes it (chrono needs gates; others fall back to auto);
    ``horizon`` = T for cells that have one (IndRNN's bound, chrono's memory range)."""
    options = CELL_REGISTRY[cell].options
    chosen = {"horizon": steps} if "horizon" in options else {}
    try:
        build_backbone(cell, 1, 1, init=init, **chosen)
        chosen["init"] = init
    except ConfigError:
        chosen["init"] = "auto"
    return chosen


def diagnose_cells(
    cells: list[str],
    *,
    steps: int = 200,
    batch: int = 32,
    hidden: int = 64,
    layers: int = 1,
    init: str = "auto",
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """dLoss/dh_t curves at initialisation on the adding problem, one per cell (same batch)."""
    from tqdm import tqdm

    unknown = [c for c in cells if c not in CELLS]
    if unknown:
        raise ConfigError(f"cells: unknown cell {unknown[0]!r} (choose from {', '.join(CELLS)})")
    data = adding_problem(batch, steps, generator=torch.Generator().manual_seed(seed))
    curves = {}
    for cell in tqdm(cells, desc="dLoss/dh_t", disable=not progress):
        options = _cell_options(cell, init, steps)
        torch.manual_seed(seed)
        model = AddingModel(cell=cell, hidden=hidden, layers=layers, **options)
        curves[cell] = hidden_gradient_norms(model, data, adding_loss) | {"options": options}
    return {
        "task": "adding",
        "steps": steps,
        "batch": batch,
        "hidden": hidden,
        "layers": layers,
        "init": init,
        "seed": seed,
        "curves": curves,
    }


def plot_curves(result: dict, path: Path) -> None:
    """Two panels: ||dLoss/dh_t|| on a log scale, and the same relative to the last step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (raw, rel) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for cell, curve in result["curves"].items():
        norms = torch.tensor(curve["norm"]).clamp(min=1e-30)
        raw.semilogy(norms.numpy(), label=cell)
        rel.semilogy((norms / norms[-1]).numpy(), label=cell)
    raw.set(title="||dLoss/dh_t||", xlabel="time step t")
    rel.set(title="relative to the last step", xlabel="time step t")
    for ax in (raw, rel):
        ax.grid(True, which="both", alpha=0.3)
    rel.legend()
    fig.suptitle(
        f"Gradient reaching each step: {result['task']} problem, T={result['steps']}, "
        f"init={result['init']}, at initialisation"
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rnnsuite diagnose", description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", default="rnn,lstm,gru,indrnn,mingru", help="comma-separated, from core.CELLS")
    p.add_argument("--out", default="runs/diagnose", help="directory for gradients.json and gradients.png")
    p.add_argument("--steps", type=int, default=200, help="sequence length T of the adding problem")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument(
        "--init",
        default="auto",
        choices=INIT_SCHEMES,
        help="weight init; 'chrono' gives gated cells memories up to T steps",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "--throughput",
        action="store_true",
        help="instead: time each cell's forward+backward against T, write OUT/throughput.json",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """``rnnsuite diagnose --cells rnn,lstm --out DIR``: write DIR/gradients.{json,png}."""
    args = _parser().parse_args(argv)
    try:
        for name in ("steps", "batch", "hidden", "layers"):
            if getattr(args, name) < 1:
                raise ConfigError(f"--{name}: must be a positive integer, got {getattr(args, name)}")
        cells = [c.strip() for c in args.cells.split(",") if c.strip()]
        if args.throughput:
            return _throughput(cells, Path(args.out), hidden=args.hidden, batch=args.batch)
        result = diagnose_cells(
            cells,
            steps=args.steps,
            batch=args.batch,
            hidden=args.hidden,
            layers=args.layers,
            init=args.init,
            seed=args.seed,
            progress=not args.no_progress,
        )
    except RnnsuiteError as exc:
        print(f"rnnsuite diagnose: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gradients.json").write_text(json.dumps(result, indent=1))
    plot_curves(result, out / "gradients.png")
    print(f"{'cell':<10} {'|g| t=0':>10} {'|g| t=T-1':>10} {'log10 first/last':>17}")
    for cell, curve in result["curves"].items():
        ratio = curve["first_over_last"]
        print(
            f"{cell:<10} {curve['norm'][0]:>10.2e} {curve['norm'][-1]:>10.2e} "
            f"{math.log10(ratio) if ratio > 0 else float('-inf'):>17.1f}"
        )
    print(f"wrote {out / 'gradients.json'} and {out / 'gradients.png'}")
    return 0


def _throughput(cells: list[str], out: Path, *, hidden: int, batch: int) -> int:
    from core.tools.throughput import write_throughput

    out.mkdir(parents=True, exist_ok=True)
    path = write_throughput(out / "throughput.json", cells, hidden=hidden, batch=batch)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
