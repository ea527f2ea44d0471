"""``train_main``: the whole life of one training run, shared by every domain's train.py.

flags -> config -> seed -> data -> model/task (all validated; --out untouched so far) -> lock
--out (core.engine.rundir) -> Trainer.fit -> test best checkpoint -> run directory (config.yaml, metrics.jsonl, final.json, checkpoints/, tb/, curves.png,
confusion.json/png). Bad input (RnnsuiteError) prints one line and exits 2.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence, Union

import torch

from core.engine import distributed, rundir
from core.engine.checkpoint import init_backbone_from, load_checkpoint
from core.engine.config import RunConfig, parse_config, save_config
from core.engine.cv import run_folds
from core.engine.domain import DataBundle, Domain, get_domain
from core.engine.recipes import describe_layers, record_schedule
from core.engine.runlog import plot_curves, scalars, write_confusion, write_json
from core.engine.seeding import seed_everything
from core.engine.trainer import NonFiniteError, Trainer
from core.errors import CheckpointError, ConfigError, RnnsuiteError


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
    cfg = parse_config(domain.config_cls, argv, prog=prog, domain=domain.name)
    last = Path(cfg.out) / "checkpoints" / "last.pt"
    if not cfg.resume or (cfg.cv and cfg.fold < 0):  # a CV run resumes fold by fold
        return cfg, None
    if not last.is_file():
        print(f"note: --resume: no checkpoint at {last}; starting a new run", file=sys.stderr)
        return cfg, None
    state = load_checkpoint(last, domain=domain.name)
    try:  # the flags passed above: what fails now comes from the checkpoint's own config
        resumed = parse_config(
            domain.config_cls,
            argv,
            prog=prog,
            base={**state["config"], "overwrite": False},
            domain=domain.name,
        )
    except ConfigError as err:
        raise CheckpointError(f"--resume {last}: {err}") from None
    rundir.check_resume_config(state["config"], resumed, source=last)
    return resumed, state


def environment(device: torch.device) -> dict[str, Any]:
    return {"torch": torch.__version__, "threads": torch.get_num_threads(), "device": str(device)}


def _train(domain: Union[Domain, str], argv: list[str]) -> int:
    domain = get_domain(domain) if isinstance(domain, str) else domain
    cfg, resume_state = parse_run_config(domain, argv)
    if cfg.cv and not domain.cross_validation:
        raise ConfigError(f"--cv: domain {domain.name!r} does not support cross-validation")
    if cfg.cv and cfg.fold < 0:
        return run_folds(domain, cfg, argv, train_main)
    if distributed.is_main():
        print(describe_layers(cfg.recipe, cfg.config), flush=True)  # stdout: stderr stays for problems
    if cfg.baseline:
        _check_baseline(domain, cfg.baseline)
    out = Path(cfg.out)
    # every rank checks before the rendezvous in setup, so none sees rank 0's lock as another run's
    rundir.check_before_run(out, resumed=resume_state is not None, overwrite=cfg.overwrite)
    device = distributed.setup(resolve_device(cfg.device))  # torchrun: join the group, cuda:LOCAL_RANK
    seed_everything(cfg.seed)
    with (
        distributed.main_first()
    ):  # torchrun: rank 0 fills download/feature caches before the others read them
        data = _build_data(domain, cfg, resume_state)
    if resume_state is not None:
        rundir.check_resume_meta(resume_state["meta"], data.meta, source=out / "checkpoints" / "last.pt")
    # torchrun: each rank takes its slice of every global batch (same batches on every rank)
    data = dataclasses.replace(data, train=distributed.shard_loader(data.train))
    if cfg.baseline:
        with _claim(out, cfg, resumed=False):
            return _baseline(domain, cfg, data, out, device)
    trainer = _build_trainer(domain, cfg, data, device=device, out=out, resume_state=resume_state)
    with _claim(out, cfg, resumed=resume_state is not None):  # validated: only now is --out touched
        if distributed.is_main():
            record_schedule(cfg, trainer, out / "config.yaml")
        with _stop_on_signals(trainer), distributed.failure_guard(out / "checkpoints" / "last.pt"):
            reason = trainer.fit()
        return _after_fit(domain, trainer, data, out, reason)


def _build_trainer(domain: Domain, cfg: RunConfig, data, *, device, out: Path, resume_state) -> Trainer:
    """The model (seeded, optionally from another run's backbone) in a Trainer, resumed when asked."""
    seed_everything(cfg.seed)  # the model's init does not depend on what build_data drew
    model = domain.build_model(cfg, data.meta)
    if cfg.init_backbone and resume_state is None:
        chosen = (
            {"prefixes": functools.partial(domain.init_prefixes, data.meta)} if domain.init_prefixes else {}
        )
        loaded = init_backbone_from(model, cfg.init_backbone, **chosen)  # default: the backbone only
        print(f"init-backbone: {len(loaded)} tensors from {cfg.init_backbone}", file=sys.stderr)
    trainer = Trainer(
        model=model,
        task=domain.build_task(cfg, data.meta),
        cfg=cfg,
        train_loader=data.train,
        val_loader=data.val,
        device=device,
        out_dir=out,
        domain=domain.name,
        meta=data.meta,
    )
    if resume_state is not None:
        trainer.load_state_dict(resume_state)
    return trainer


@contextlib.contextmanager
def _claim(out: Path, cfg: RunConfig, *, resumed: bool) -> Iterator[None]:
    """Rank 0 locks ``out`` (moving an earlier run aside) and writes config.yaml; other ranks write nothing."""
    if not distributed.is_main():
        yield
        return
    with rundir.claim(out, resume=resumed, overwrite=cfg.overwrite) as moved:
        if moved is not None:
            print(f"note: the earlier run in {out} was moved to {moved}", file=sys.stderr)
        save_config(cfg, out / "config.yaml")
        yield


def _after_fit(domain: Domain, trainer: Trainer, data: DataBundle, out: Path, reason: str) -> int:
    if reason == "interrupted":
        name = signal.Signals(trainer.stop_signal).name
        distributed.note(
            f"interrupted by {name}: checkpoint at {out / 'checkpoints' / 'last.pt'} (continue with --resume)"
        )
        return 128 + int(trainer.stop_signal)
    if distributed.is_main():  # the other ranks wait: test metrics are computed once, on the full split
        _finish(domain, trainer, data, out, reason)
    distributed.barrier()
    return 0


def _build_data(domain: Domain, cfg: RunConfig, resume_state: Optional[dict]) -> DataBundle:
    """``build_data(cfg)``; on --resume a builder with a ``resumed_meta`` parameter also gets the
    checkpoint's meta (nlp checks its vocabulary against it), so data never opens run folders."""
    if resume_state is not None and "resumed_meta" in inspect.signature(domain.build_data).parameters:
        return domain.build_data(cfg, resumed_meta=resume_state.get("meta") or {})
    return domain.build_data(cfg)


def _finish(domain: Domain, trainer: Trainer, data: DataBundle, out: Path, reason: str) -> None:
    """Test the best checkpoint; write final.json, confusion and curves; print one summary line."""
    averaged = trainer.average_recent()  # --average-last: may replace best.pt before the test
    test = trainer.test(data.test)
    params = sum(p.numel() for p in trainer.model.parameters())
    _write_results(
        out,
        test,
        data.meta,
        {
            "params": params,
            "train_seconds": round(trainer.train_seconds, 3),
            "env": environment(trainer.device),
            "val_best": trainer.best["metrics"],
            "best_epoch": trainer.best["epoch"],
            "epochs": trainer.epoch,
            "steps": trainer.step,
            "skipped_steps": trainer.skipped_steps,
            "stopped": reason,
            "monitor": trainer.task.monitor,
            "mode": trainer.task.mode,
            **({"averaged": averaged} if averaged else {}),
        },
    )
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
    _write_results(
        out,
        result,
        data.meta,
        {
            "params": params,
            "baseline_settings": settings,
            "train_seconds": round(time.perf_counter() - started, 3),
            "env": environment(device),
            "baseline": cfg.baseline,
        },
    )
    summary = ", ".join(f"{k}={v:.4f}" for k, v in scalars(result).items())
    print(f"{domain.name} baseline {cfg.baseline}: test {summary}; run dir {out}")
    return 0


def _check_baseline(domain: Domain, name: str) -> None:
    if domain.run_baseline is None:
        raise ConfigError(f"--baseline: domain {domain.name!r} has no classical baseline")
    if distributed.active():
        raise ConfigError("--baseline runs in one process; start it without torchrun")
    known = [
        n for n in (getattr(domain, "baseline_name", None), *getattr(domain, "extra_baselines", ())) if n
    ]
    if known and name not in known:
        raise ConfigError(
            f"--baseline: unknown baseline {name!r} for {domain.name} (available: {', '.join(known)})"
        )


def _write_results(out: Path, test: dict, meta: dict, extra: dict) -> None:
    report = meta.get(
        "report"
    )  # a domain's JSON-able notes on its data (normaliser counts, vectors coverage)
    write_json(out / "final.json", {"test": scalars(test), **extra, **({"data": report} if report else {})})
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
