"""What a Trainer saves and restores, and how a validation result becomes the best one.

Kept apart from the loop (``core.engine.trainer``): the checkpoint holds everything an exact
resume needs (weights, optimizer, schedule, counters, the RNG streams and the partial epoch), and
the best record decides which weights ``best.pt`` holds (monitor first, then the task's tiebreak).
"""

from __future__ import annotations

from typing import Any, Optional

from core.engine import distributed
from core.engine.checkpoint import load_model_state
from core.engine.config import config_to_dict
from core.engine.seeding import rng_state
from core.engine.task import improves


def new_best(task: Any) -> dict[str, Any]:
    """The best record before any validation: nothing to beat yet."""
    return {"metric": task.monitor, "mode": task.mode, "value": None, "epoch": 0, "stale": 0, "metrics": {}}


def beats_best(task: Any, val: dict, best: dict) -> Optional[tuple[float, Optional[float]]]:
    """(monitored value, tiebreak value) of ``val`` when it improves on ``best``, else None."""
    value = float(val[task.monitor])
    tiebreak = getattr(task, "tiebreak", None)
    tie = float(val[tiebreak]) if tiebreak else None
    if improves(task.mode, value, best["value"], new_tie=tie, best_tie=best.get("tie")):
        return value, tie
    return None


def trainer_state(trainer: Any) -> dict[str, Any]:
    """Everything ``restore_trainer`` needs to continue exactly (end-of-epoch or mid-epoch)."""
    return {
        "domain": trainer.domain,
        "config": config_to_dict(trainer.cfg),
        "meta": trainer.meta,
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "scheduler": trainer.schedule.state_dict(),
        "epoch": trainer.epoch,
        "batch": trainer.batch,
        "mid_epoch": trainer.batch > 0,
        "step": trainer.step,
        "rng": rng_state(),
        "history": trainer.history,
        "best": trainer.best,
        "skipped_steps": trainer.skipped_steps,
        "bad_in_row": trainer.bad_in_row,
        "partial": dict(trainer.partial),
        "train_seconds": trainer.train_seconds,
    }


def restore_trainer(trainer: Any, state: dict[str, Any]) -> None:
    """Load a ``trainer_state`` dict into ``trainer``."""
    load_model_state(trainer.model, state["model"], source="resume checkpoint")
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.schedule.load_state_dict(state["scheduler"])
    trainer.epoch, trainer.batch = int(state["epoch"]), int(state.get("batch", 0))
    trainer.step = int(state["step"])
    trainer.history, trainer.best = list(state["history"]), dict(state["best"])
    trainer.skipped_steps, trainer.bad_in_row = int(state["skipped_steps"]), int(state["bad_in_row"])
    trainer.partial, trainer.train_seconds = dict(state["partial"]), float(state["train_seconds"])
    # the mid-epoch RNG stream is rank 0's: other ranks reseed from (seed, epoch, rank)
    trainer._resume_rng = state["rng"] if trainer.batch and distributed.is_main() else None
