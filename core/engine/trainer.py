"""The one training loop every domain uses.

A domain gives a model and a Task (loss, metrics, monitor/mode); the Trainer owns
the optimizer, schedule, clipping, non-finite guard, evaluation, early stopping,
checkpoints and logs. Each epoch's randomness is a pure function of (seed, epoch)
(``core.engine.seeding``), so resuming from ``last.pt`` reproduces an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path
from typing import Any, Optional

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from core.engine import distributed
from core.engine.averaging import RecentWeights, validate_average
from core.engine.checkpoint import load_checkpoint, load_model_state, save_checkpoint
from core.engine.config import RunConfig
from core.engine.runlog import RunLog, scalars
from core.engine.schedule import LRSchedule, budget_share, build_optimizer
from core.engine.seeding import epoch_seed, seed_everything, seed_loader_epoch, set_rng_state
from core.engine.trainer_state import beats_best, new_best, restore_trainer, trainer_state
from core.errors import RnnsuiteError


class NonFiniteError(RnnsuiteError):
    """Too many consecutive non-finite losses or gradients."""


class Trainer:
    """Train ``model`` on ``task`` as ``cfg`` says; checkpoints and logs go under ``out_dir``.

    Example:
        >>> trainer = Trainer(model=model, task=task, cfg=cfg, train_loader=train, val_loader=val,
        ...                   out_dir=Path("runs/x"), domain="vision", meta=meta)  # doctest: +SKIP
        >>> reason = trainer.fit(); test_metrics = trainer.test(test_loader)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        model: nn.Module,
        task: Any,
        cfg: RunConfig,
        train_loader: DataLoader,
        val_loader: DataLoader,
        device: torch.device | str = "cpu",
        out_dir: Optional[Path] = None,
        domain: str = "",
        meta: Optional[dict] = None,
    ):
        self.cfg, self.task, self.domain, self.meta = cfg, task, domain, meta or {}
        self.device = torch.device(device)
        self.model = model.to(self.device)
        # under torchrun the step runs through DDP; self.model stays unwrapped (checkpoint keys, .backbone)
        self.train_model = distributed.wrap_model(self.model, self.device)
        self._deadline, self._agreed_signal, self._agreed_late = math.inf, 0, False
        self.train_loader, self.val_loader = train_loader, val_loader
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.optimizer = build_optimizer(
            self.model,
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            lr_scales={"backbone.": getattr(cfg, "backbone_lr_scale", 1.0)},
        )
        self.schedule = LRSchedule(
            self.optimizer,
            kind=cfg.schedule,
            total_steps=cfg.epochs * _safe_len(train_loader),
            warmup_steps=cfg.warmup_steps,
            warmup_fraction=getattr(cfg, "warmup_fraction", 0.0),
        )
        self.epoch = 0  # completed epochs
        self.batch = 0  # batches done inside the current epoch (non-zero only after a mid-epoch stop)
        self.step = 0
        self.history: list[dict] = []
        self.best: dict[str, Any] = new_best(task)
        self.skipped_steps = self.bad_in_row = 0
        self.train_seconds = 0.0
        self.partial = {"loss_sum": 0.0, "items": 0, "skipped": 0, "seconds": 0.0}
        self.stop_signal: Optional[int] = None
        self._resume_rng: Optional[dict] = None
        self._best_weights: Optional[dict] = None
        self.recent = RecentWeights(count=cfg.average_last) if getattr(cfg, "average_last", 0) > 1 else None

    # ------------------------------------------------------------ public
    def request_stop(self, signum: int) -> None:
        """Signal handlers call this: finish the current step, checkpoint, stop."""
        self.stop_signal = signum

    def fit(self) -> str:
        """Train until done; returns why it stopped: completed | early_stopping | time_budget | interrupted."""
        deadline = time.monotonic() + 60 * self.cfg.max_minutes if self.cfg.max_minutes else math.inf
        self._deadline = deadline
        log = (
            RunLog(self.out_dir, history=self.history, purge_step=self.step)
            if self.out_dir and distributed.is_main()
            else None
        )
        try:
            while self.epoch < self.cfg.epochs:
                finished = self._train_epoch(deadline, log)
                if self.stop_signal is not None and not finished:
                    self.save("last.pt")
                    return "interrupted"
                self._end_epoch(log)
                late = self._agree_stop(time.monotonic() > deadline)
                if self.stop_signal is not None:
                    return "interrupted"
                if not finished or late:
                    return "time_budget"
                if self.cfg.patience and self.best["stale"] >= self.cfg.patience:
                    return "early_stopping"
            return "completed"
        finally:
            if log is not None:
                log.close()

    @torch.no_grad()
    def evaluate(self, loader: DataLoader, *, desc: str = "eval") -> dict:
        """The task's metrics over ``loader`` in eval mode (artefact keys included)."""
        self.model.eval()
        self.task.reset_metrics()
        for batch in tqdm(loader, desc=desc, leave=False, disable=not self.cfg.progress):
            with self._autocast():
                self.task.update_metrics(self.model, batch.to(self.device))
        self.model.train()
        return self.task.compute_metrics()

    def test(self, loader: DataLoader) -> dict:
        """Metrics of the best checkpoint (by the monitored validation metric) on ``loader``."""
        self.load_best()
        return self.evaluate(loader, desc="test")

    def average_recent(self) -> Optional[dict]:
        """--average-last: validate the mean of the last epochs' weights (``core.engine.averaging``)."""
        return validate_average(self)

    def load_best(self) -> None:
        if self.out_dir is not None and (self.out_dir / "checkpoints" / "best.pt").is_file():
            state = load_checkpoint(self.out_dir / "checkpoints" / "best.pt", domain=self.domain)
            load_model_state(self.model, state["model"], source="best.pt")
        elif self._best_weights is not None:
            self.model.load_state_dict(self._best_weights)

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return trainer_state(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint written by ``save`` (end-of-epoch or mid-epoch)."""
        restore_trainer(self, state)

    def save(self, name: str) -> Optional[Path]:
        if self.out_dir is None or not distributed.is_main():
            return None
        return save_checkpoint(self.out_dir / "checkpoints" / name, self.state_dict())

    # ------------------------------------------------------------ the loop
    def _train_epoch(self, deadline: float, log: Optional[RunLog]) -> bool:
        """One epoch (or its remainder after a mid-epoch resume). False when stopped early."""
        seed_loader_epoch(self.train_loader, self.cfg.seed, self.epoch)
        seed_everything(distributed.rank_seed(epoch_seed(self.cfg.seed, self.epoch)))  # rank 0: unchanged
        batches = iter(self.train_loader)
        for _ in range(self.batch):  # mid-epoch resume: same order, skip what was done
            next(batches)
        if self._resume_rng is not None:
            set_rng_state(self._resume_rng)
            self._resume_rng = None
        self.model.train()
        bar = tqdm(
            batches,
            total=_safe_len(self.train_loader) or None,
            initial=self.batch,
            desc=f"epoch {self.epoch + 1}/{self.cfg.epochs}",
            leave=False,
            disable=not self.cfg.progress,
        )
        for batch in bar:
            started = time.perf_counter()
            self._train_step(batch)
            self.partial["seconds"] += time.perf_counter() - started
            self.batch += 1
            if self.batch % 10 == 0 or self.batch == 1:
                bar.set_postfix(loss=f"{self._epoch_loss():.4f}", samples_s=f"{self._throughput():.0f}")
                if log is not None:
                    log.step(self.step, self._epoch_loss(), self.schedule.get_last_lr()[0])
            if self._stop_now(deadline):
                bar.close()
                return False
        return True

    def _train_step(self, batch: Any) -> None:
        batch = batch.to(self.device)
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            loss, items = self.task.loss(self.train_model, batch)
        value = float(loss.detach())
        if distributed.active():  # global mean loss/items and agreed stop flags: every rank decides alike
            loss, value, items, self._agreed_signal, self._agreed_late = distributed.sync_step(
                loss, value, items, signum=self.stop_signal or 0, late=time.monotonic() > self._deadline
            )
            self.stop_signal = self.stop_signal or self._agreed_signal or None
        if not math.isfinite(value):
            return self._skip(f"loss={value}")
        loss.backward()
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        norm = torch.nn.utils.clip_grad_norm_(params, self.cfg.clip_norm or math.inf)
        if not torch.isfinite(norm):
            return self._skip(f"gradient norm={float(norm)}")
        self.optimizer.step()
        self.schedule.step(budget_used=budget_share(self.cfg, self._deadline))
        self.step += 1
        self.bad_in_row = 0
        self.partial["loss_sum"] += value * items
        self.partial["items"] += items

    def _skip(self, what: str) -> None:
        """No update for a non-finite step; too many in a row ends the run (weights stay finite)."""
        self.optimizer.zero_grad(set_to_none=True)
        self.schedule.step()
        self.step += 1
        self.skipped_steps += 1
        self.partial["skipped"] += 1
        self.bad_in_row += 1
        if self.bad_in_row >= self.cfg.max_bad_steps:
            raise NonFiniteError(
                f"stopped at step {self.step}: {self.bad_in_row} non-finite steps in a row "
                f"(last {what}); try a lower --lr or --clip-norm"
            )

    def _end_epoch(self, log: Optional[RunLog]) -> None:
        started = time.perf_counter()
        val = distributed.from_main(
            lambda: self.evaluate(self.val_loader, desc="val")
        )  # exact: full set on rank 0
        if self.task.monitor not in val:
            raise RnnsuiteError(
                f"task monitor {self.task.monitor!r} is not in validation metrics {sorted(scalars(val))}"
            )
        record = {
            "epoch": self.epoch + 1,
            "step": self.step,
            "train_loss": self._epoch_loss(),
            **{f"val_{k}": v for k, v in scalars(val).items()},
            "seconds": round(self.partial["seconds"] + time.perf_counter() - started, 3),
            "samples_per_s": round(self._throughput(), 1),
            "lr": self.schedule.get_last_lr()[0],
            "skipped_steps": self.partial["skipped"],
        }
        if self.batch < _safe_len(self.train_loader):
            record["partial_epoch_batches"] = self.batch
        self.train_seconds += self.partial["seconds"]
        self.history.append(record)
        self.epoch, self.batch = self.epoch + 1, 0
        self.partial = {"loss_sum": 0.0, "items": 0, "skipped": 0, "seconds": 0.0}
        self._update_best(val)
        if self.recent is not None:
            self.recent.add(self.model.state_dict())
        if log is not None:
            log.epoch(record)
        self.save("last.pt")

    def _update_best(self, val: dict) -> None:
        better = beats_best(self.task, val, self.best)
        if better:
            value, tie = better
            self.best.update(value=value, tie=tie, epoch=self.epoch, stale=0, metrics=scalars(val))
            if self.out_dir is None:
                self._best_weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.save("best.pt")
        else:
            self.best["stale"] += 1

    def _stop_now(self, deadline: float) -> bool:
        """Leave the epoch now? Under torchrun only values agreed in the step's all-reduce count."""
        if distributed.active():
            return bool(self._agreed_signal) or self._agreed_late  # a signal after the sync waits a step
        return self.stop_signal is not None or time.monotonic() > deadline

    def _agree_stop(self, late: bool) -> bool:
        """After an epoch: the same (signal, past-budget) decision on every rank."""
        signum, late = distributed.agree_stop(self.stop_signal or 0, late)
        self.stop_signal = self.stop_signal or signum or None
        return late

    def _epoch_loss(self) -> float:
        return self.partial["loss_sum"] / self.partial["items"] if self.partial["items"] else math.nan

    def _throughput(self) -> float:
        return self.partial["items"] / self.partial["seconds"] if self.partial["seconds"] else 0.0

    def _autocast(self):
        if self.cfg.bf16 and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()


def _safe_len(loader: DataLoader) -> int:
    try:
        return len(loader)
    except TypeError:  # iterable datasets have no length
        return 0
