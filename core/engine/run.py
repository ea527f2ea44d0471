"""``train_main``: the whole life of one training run, shared by every domain's train.py.

flags -> config -> seed -> data -> model/task -> Trainer.fit -> test best checkpoint
-> run directory (config.yaml, metrics.jsonl, final.json, checkpoints/, tb/, curves.png,
confusion.json/png). Bad input (RnnsuiteError) prints one line and exits 2.
"""
from __future__ import annotations

import contextlib
import dataclasses
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence, Union

import torch

from core.engine import distributed
from core.engine.checkpoint import init_backbone_from, load_checkpoint
from core.engine.config import RunConfig, parse_config, save_config
from core.engine.domain import DataBundle, Domain, get_domain
from core.errors import ConfigError, RnnsuiteError
from core.engine.runlog import plot_curves, scalars, write_confusion, write_json
from core.engine.seeding import seed_everything
from core.engine.trainer import NonFiniteError, Trainer


def train_main(domain: Union[Domain, str], argv: Optional[Sequence[str]] = None) -> int:
    """Run ``python -m <domain>.train [flags]``; returns the process exit status.

    0 done; 2 bad input (one line on stderr); 3 training diverged (non-finite steps);
    128+signal when interrupted by SIGINT/SIGTERM after writing ``checkpoints/last.pt``.
    """
    try:
        return _train(domain, list(sys.argv[1:] if argv is None else argv))
    except NonFiniteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    except distributed.DistributedError as err:  # torchrun: a rank died; 4 so scripts can tell it apart
        print(f"error: {err}", file=sys.stderr)
        return 4
    except RnnsuiteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        distributed.teardown()


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda when present else cpu; an unavailable cuda is a ConfigError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: CUDA is not available on this machine")
    return torch.device(name)


def parse_run_config(domain: Domain, argv: Sequence[str]) -> tuple[RunConfig, Optional[dict]]:
    """The run's config and, with ``--resume`` and an existing last.pt, the checkpoint to continue.

    On resume the checkpoint's config is the base; ``--config`` and flags still override it.
    """
    prog = f"python -m {domain.name}.train"
    cfg = parse_config(domain.config_cls, argv, prog=prog)
    last = Path(cfg.out) / "checkpoints" / "last.pt"
    if not cfg.resume:
        return cfg, None
    if not last.is_file():
        print(f"note: --resume: no checkpoint at {last}; starting a new run", file=sys.stderr)
        return cfg, None
    state = load_checkpoint(last, domain=domain.name)
    return parse_config(domain.config_cls, argv, prog=prog, base=state["config"]), state


def environment(device: torch.device) -> dict[str, Any]:
    return {"torch": torch.__version__, "threads": torch.get_num_threads(), "device": str(device)}


def _train(domain: Union[Domain, str], argv: list[str]) -> int:
    domain = get_domain(domain) if isinstance(domain, str) else domain
    cfg, resume_state = parse_run_config(domain, argv)
    device = distributed.setup(resolve_device(cfg.device))  # torchrun: join the group, cuda:LOCAL_RANK
    if cfg.baseline:
        _check_baseline(domain, cfg.baseline)
        if distributed.active():
            raise ConfigError("--baseline runs in one process; start it without torchrun")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if resume_state is None and distributed.is_main():  # a new run in an old folder must never test a stale best.pt
        for stale in ("checkpoints/best.pt", "final.json"):
            (out / stale).unlink(missing_ok=True)
    if distributed.is_main():
        save_config(cfg, out / "config.yaml")
    seed_everything(cfg.seed)
    with distributed.main_first():  # torchrun: rank 0 fills download/feature caches before the others read them
        data = domain.build_data(cfg)
    # torchrun: each rank takes its slice of every global batch (same batches on every rank)
    data = dataclasses.replace(data, train=distributed.shard_loader(data.train))
    if cfg.baseline:
        return _baseline(domain, cfg, data, out, device)
    seed_everything(cfg.seed)  # the model's init does not depend on what build_data drew
    model = domain.build_model(cfg, data.meta)
    if cfg.init_backbone and resume_state is None:
        loaded = init_backbone_from(model, cfg.init_backbone)
        print(f"init-backbone: {len(loaded)} tensors from {cfg.init_backbone}", file=sys.stderr)
    trainer = Trainer(model=model, task=domain.build_task(cfg, data.meta), cfg=cfg, train_loader=data.train,
                      val_loader=data.val, device=device, out_dir=out, domain=domain.name, meta=data.meta)
    if resume_state is not None:
        trainer.load_state_dict(resume_state)
    with _stop_on_signals(trainer), distributed.failure_guard(out / "checkpoints" / "last.pt"):
        reason = trainer.fit()
    if reason == "interrupted":
        name = signal.Signals(trainer.stop_signal).name
        distributed.note(f"interrupted by {name}: checkpoint at {out / 'checkpoints' / 'last.pt'} "
                         "(continue with --resume)")
        return 128 + int(trainer.stop_signal)
    if distributed.is_main():  # the other ranks wait: test metrics are computed once, on the full split
        _finish(domain, trainer, data, out, reason)
    distributed.barrier()
    return 0


def _finish(domain: Domain, trainer: Trainer, data: DataBundle, out: Path, reason: str) -> None:
    """Test the best checkpoint; write final.json, confusion and curves; print one summary line."""
    test = trainer.test(data.test)
    params = sum(p.numel() for p in trainer.model.parameters())
    _write_results(out, test, data.meta, {
        "params": params, "train_seconds": round(trainer.train_seconds, 3), "env": environment(trainer.device),
        "val_best": trainer.best["metrics"], "best_epoch": trainer.best["epoch"], "epochs": trainer.epoch,
        "steps": trainer.step, "skipped_steps": trainer.skipped_steps, "stopped": reason,
        "monitor": trainer.task.monitor, "mode": trainer.task.mode,
    })
    if trainer.history:
        plot_curves(trainer.history, out / "curves.png", monitor=trainer.task.monitor)
    summary = ", ".join(f"{k}={v:.4f}" for k, v in scalars(test).items())
    print(f"{domain.name}: {reason} after {trainer.epoch} epochs; test {summary}; run dir {out}")


def _baseline(domain: Domain, cfg: RunConfig, data: DataBundle, out: Path, device: torch.device) -> int:
    """``--baseline NAME``: the domain's classical model; the same final.json, no checkpoints."""
    started = time.perf_counter()
    result = dict(domain.run_baseline(cfg, data))
    params = result.pop("params", None)
    settings = result.pop("settings", {})  # chosen hyper-parameters: recorded, not metrics
    _write_results(out, result, data.meta, {
        "params": params, "baseline_settings": settings, "train_seconds": round(time.perf_counter() - started, 3),
        "env": environment(device), "baseline": cfg.baseline,
    })
    summary = ", ".join(f"{k}={v:.4f}" for k, v in scalars(result).items())
    print(f"{domain.name} baseline {cfg.baseline}: test {summary}; run dir {out}")
    return 0


def _check_baseline(domain: Domain, name: str) -> None:
    if domain.run_baseline is None:
        raise ConfigError(f"--baseline: domain {domain.name!r} has no classical baseline")
    known = [n for n in (getattr(domain, "baseline_name", None), *getattr(domain, "extra_baselines", ())) if n]
    if known and name not in known:
        raise ConfigError(f"--baseline: unknown baseline {name!r} for {domain.name} (available: {', '.join(known)})")


def _write_results(out: Path, test: dict, meta: dict, extra: dict) -> None:
    record = meta.get("record")  # a domain's small JSON-able facts about the data (e.g. vectors coverage)
    write_json(out / "final.json", {"test": scalars(test), **extra, **({"data": record} if record else {})})
    if "_confusion" in test:
        write_confusion(test["_confusion"], meta.get("classes"), out)


@contextlib.contextmanager
def _stop_on_signals(trainer: Trainer) -> Iterator[None]:
    """SIGINT/SIGTERM ask the trainer to stop after the current step; a second one acts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signums = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.getsignal(s) for s in signums}

    def handler(signum: int, frame: Any) -> None:
        trainer.request_stop(signum)
        signal.signal(signum, previous[signum] if previous[signum] is not None else signal.SIG_DFL)

    for s in signums:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old if old is not None else signal.SIG_DFL)
