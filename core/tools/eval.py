"""``rnnsuite eval``: score checkpoints on a split, the one scoring path for users, benchmarks and reports.

    rnnsuite eval --checkpoint runs/yesno/checkpoints/best.pt --split test
    rnnsuite eval --checkpoint runs/s0/checkpoints/best.pt --checkpoint runs/s1/checkpoints/best.pt
    rnnsuite eval --checkpoint runs/fsdd/checkpoints/best.pt --beam 16 --lexicon [--lm words.arpa]

The data is rebuilt from the (first) checkpoint's saved config, with every item of the split
(``limit_eval`` is lifted), and scored by the domain's own Task, so figures match training's.
Several checkpoints of one domain and label set form an ensemble: their class probabilities
(classifiers) or per-frame token probabilities (CTC, same frame rate) are averaged. Decoding
options (``--beam``, ``--lexicon``, ``--lm``) go to the domain's ``build_eval_task`` (speech).
The result is printed as JSON and written to ``--out`` (default ``RUN/eval-SPLIT.json`` beside
the first checkpoint's run folder).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

import torch
from torch import Tensor, nn

from core.engine.checkpoint import load_checkpoint, load_for_inference
from core.engine.domain import Domain
from core.engine.runlog import scalars, write_json
from core.engine.seeding import seed_everything
from core.errors import CheckpointError, ConfigError, RnnsuiteError


class Ensemble(nn.Module):
    """Members' outputs averaged as probabilities; returns log-probabilities in the members' layout.

    A member returns logits (B, C) or ``(logits (B, T, V), lengths (B,))``; every member must
    give the same shapes and, for sequences, the same output lengths.
    """

    def __init__(self, *, members: Sequence[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, inputs: Tensor, lengths: Tensor) -> Any:
        outputs = [member(inputs, lengths) for member in self.members]
        sequences = isinstance(outputs[0], tuple)
        logits = [o[0] if sequences else o for o in outputs]
        if len({tuple(x.shape) for x in logits}) > 1:
            raise CheckpointError(
                f"ensemble: members' outputs differ in shape {[tuple(x.shape) for x in logits]}"
            )
        stacked = torch.stack([x.float().log_softmax(-1) for x in logits])  # (M, B, [T,] V)
        mean_log_probs = stacked.logsumexp(0) - math.log(len(logits))  # log of the mean probability
        if not sequences:
            return mean_log_probs
        out_lengths = outputs[0][1]
        if any(not torch.equal(o[1], out_lengths) for o in outputs[1:]):
            raise CheckpointError("ensemble: members emit different frame counts (different --subsample?)")
        return mean_log_probs, out_lengths


def _domain_of(paths: Sequence[str]) -> Domain:
    from core.tools.cli import find_domain

    names = {str(load_checkpoint(p)["domain"]) for p in paths}
    if len(names) > 1:
        raise CheckpointError(
            f"--checkpoint: the checkpoints belong to different domains ({', '.join(sorted(names))})"
        )
    return find_domain(names.pop())


def _check_members(paths: Sequence[str], cfgs: list, metas: list[dict]) -> None:
    """Ensemble members must share the dataset and the label set (classes or vocabulary)."""
    for path, cfg, meta in zip(paths[1:], cfgs[1:], metas[1:]):
        if cfg.data != cfgs[0].data:
            raise CheckpointError(
                f"--checkpoint {path}: trained on {cfg.data!r}, the first on {cfgs[0].data!r}"
            )
        for key in ("classes", "vocab"):
            if meta.get(key) != metas[0].get(key):
                raise CheckpointError(f"--checkpoint {path}: its {key} differ from the first checkpoint's")


def evaluate(
    paths: Sequence[str],
    *,
    split: str = "test",
    beam: int = 0,
    lexicon: bool = False,
    lm: Optional[str] = None,
    device: str = "cpu",
) -> dict:
    """Metrics of one checkpoint (or the ensemble of several) on ``split``, with what was scored."""
    if split not in ("val", "test"):
        raise ConfigError(f"--split must be val or test, got {split!r}")
    domain = _domain_of(paths)
    loaded = [load_for_inference(p, domain, device=device) for p in paths]
    models, cfgs, metas = (list(x) for x in zip(*loaded))
    _check_members(paths, cfgs, metas)
    cfg = dataclasses.replace(cfgs[0], limit_eval=0, progress=False)  # every item of the split is scored
    seed_everything(cfg.seed)
    data = domain.build_data(cfg)
    decoding = {"beam": beam, "lexicon": lexicon, "lm": lm}
    if beam or lexicon or lm:
        if domain.build_eval_task is None:
            raise ConfigError(f"--beam/--lexicon/--lm: the {domain.name} domain has no decoder options")
        task = domain.build_eval_task(cfg, metas[0], beam=beam, lexicon=lexicon, lm=lm)
    else:
        task = domain.build_task(cfg, metas[0])
    model = models[0] if len(models) == 1 else Ensemble(members=models)
    task.reset_metrics()
    items = 0
    with torch.no_grad():
        for batch in getattr(data, split):
            batch = batch.to(device)
            task.update_metrics(model, batch)
            items += len(batch)
    return {
        "domain": domain.name,
        "split": split,
        "checkpoints": [str(p) for p in paths],
        "items": items,
        "data": cfg.data,
        "recipe": getattr(cfg, "recipe", None),
        "decoding": decoding,
        "metrics": scalars(task.compute_metrics()),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnsuite eval", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoint", action="append", required=True, help="a checkpoint (best.pt); repeat for an ensemble"
    )
    parser.add_argument("--split", choices=("val", "test"), default="test")
    parser.add_argument(
        "--beam", type=int, default=0, help="beam search with N hypotheses (speech; 0 = greedy)"
    )
    parser.add_argument("--lexicon", action="store_true", help="beam search restricted to the training words")
    parser.add_argument(
        "--lm", default=None, help="a KenLM/ARPA language model file for beam search (speech)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=None, help="JSON file to write (default RUN/eval-SPLIT.json)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        for path in args.checkpoint:
            if not Path(path).is_file():
                raise CheckpointError(f"--checkpoint: no such file: {path}")
        if args.beam < 0:
            raise ConfigError(f"--beam must be >= 0, got {args.beam}")
        result = evaluate(
            args.checkpoint,
            split=args.split,
            beam=args.beam,
            lexicon=args.lexicon,
            lm=args.lm,
            device=args.device,
        )
    except RnnsuiteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = (
        Path(args.out)
        if args.out
        else Path(args.checkpoint[0]).resolve().parent.parent / f"eval-{args.split}.json"
    )
    write_json(out, result)
    print(json.dumps(result, indent=2))
    print(f"written: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
