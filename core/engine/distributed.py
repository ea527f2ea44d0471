"""Data-parallel training under ``torchrun``: process group, sharded batches, agreed decisions.

``torchrun --nproc_per_node N -m vision.train ...`` starts N copies of the ordinary entry
point; torchrun sets ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``MASTER_ADDR``/``MASTER_PORT``
and ``setup`` joins the process group from them (gloo on CPU, NCCL on CUDA). Without those
variables everything here is a no-op, so a plain ``python -m vision.train`` is unchanged.

Design (why it is exact): ``--batch-size`` stays the *global* batch. Every rank builds the
same batches from the same seed and keeps only its contiguous slice of each one
(``ShardedBatchSampler``), so length bucketing survives and every rank gets the same number
of batches. Each rank's mean loss is rescaled by ``items_r * world / items_total`` so DDP's
gradient average equals the gradient of the global batch mean. Validation and test run on
rank 0 over the full split and the metrics are broadcast: exact for any metric (WER too).
Only rank 0 writes files; stop decisions (signal, time budget) are all-reduced so every rank
leaves the loop at the same step.

Example:
    >>> world_size(), rank(), is_main()  # outside torchrun
    (1, 0, True)
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader

from core.engine.sharding import ShardedBatchSampler
from core.errors import ConfigError, RnnsuiteError


class DistributedError(RnnsuiteError):
    """Another rank died or the process group broke; the job cannot continue."""


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    """True on rank 0 (and in a plain single-process run): the one process that writes files."""
    return rank() == 0


def active() -> bool:
    return world_size() > 1


# ---------------------------------------------------------------- process group
def setup(device: torch.device) -> torch.device:
    """Join the torchrun process group when ``WORLD_SIZE`` > 1; returns this rank's device.

    CUDA runs use ``cuda:LOCAL_RANK`` with NCCL, CPU runs gloo. The collective timeout is
    ``RNNSUITE_DIST_TIMEOUT_MIN`` minutes (default 60): other ranks wait while rank 0 evaluates.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or dist.is_initialized():
        return device
    if not dist.is_available():
        raise ConfigError("torchrun: this torch build has no torch.distributed")
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if local >= torch.cuda.device_count():
            raise ConfigError(
                f"torchrun: LOCAL_RANK {local} but only {torch.cuda.device_count()} CUDA devices"
            )
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    timeout = datetime.timedelta(minutes=float(os.environ.get("RNNSUITE_DIST_TIMEOUT_MIN", "60")))
    backend = "nccl" if device.type == "cuda" else "gloo"
    try:
        dist.init_process_group(backend=backend, timeout=timeout)
    except (RuntimeError, ValueError) as err:
        raise DistributedError(
            f"torchrun: cannot join the process group ({backend}): {_first_line(err)}"
        ) from None
    return device


def teardown() -> None:
    """Leave the process group (safe to call when none was joined)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if active():
        with _collective("barrier"):
            dist.barrier()


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block first (downloads, feature caches), then the others read what it wrote.

    No two ranks build the same cache file at once. Rank 0 failing inside leaves the others
    to a DistributedError at the barrier; rank 0 prints the real error.
    """
    if active() and not is_main():
        barrier()
    yield
    if active() and is_main():
        barrier()


@contextlib.contextmanager
def failure_guard(checkpoint: Path) -> Iterator[None]:
    """Turn a broken collective (a rank died) into one DistributedError line naming the last checkpoint.

    Checkpoints are written atomically by rank 0 only, so ``checkpoint`` is whole if it exists.
    """
    if not active():
        yield
        return
    try:
        yield
    except (DistributedError, dist.DistError, RuntimeError) as err:
        if isinstance(err, RnnsuiteError) and not isinstance(err, DistributedError):
            raise
        where = (
            f"last complete checkpoint {checkpoint} (continue with --resume)"
            if checkpoint.is_file()
            else "no checkpoint was written yet"
        )
        what = (
            str(err)
            if isinstance(err, DistributedError)
            else f"rank {rank()}/{world_size()}: training failed, another rank is gone? ({_first_line(err)})"
        )
        raise DistributedError(f"{what}; {where}") from None


@contextlib.contextmanager
def _collective(what: str) -> Iterator[None]:
    try:
        yield
    except (dist.DistError, RuntimeError) as err:
        raise DistributedError(
            f"rank {rank()}/{world_size()}: {what} failed, another rank is gone ({_first_line(err)})"
        ) from None


def _first_line(err: BaseException) -> str:
    line = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return re.sub(r"^\[[^\]]*\.(cc|cpp):\d+\]\s*", "", line)[:160]  # drop gloo's "[.../pair.cc:561] "


# ---------------------------------------------------------------- model and data
def wrap_model(model: nn.Module, device: torch.device) -> nn.Module:
    """``DistributedDataParallel(model)`` under torchrun, else ``model`` itself.

    Callers keep the unwrapped module for checkpoints (``model.backbone`` stays reachable and
    state_dict keys have no ``module.`` prefix), so DDP and single-process checkpoints match.
    ``RNNSUITE_DDP_FIND_UNUSED=1`` is for models with parameters a step does not use.
    """
    if not active():
        return model
    find_unused = os.environ.get("RNNSUITE_DDP_FIND_UNUSED", "") == "1"
    ids = [device.index] if device.type == "cuda" else None
    with _collective("wrapping the model in DistributedDataParallel"):
        return nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=find_unused)


def shard_loader(loader: DataLoader) -> DataLoader:
    """The same loader with its batch sampler sharded for this rank (unchanged outside torchrun).

    A sampler already built per replica (``num_replicas`` > 1) is left alone.
    """
    if not active():
        return loader
    base = loader.batch_sampler
    if base is None:
        raise ConfigError(
            "torchrun: the training loader has no batch sampler (iterable dataset); cannot shard it"
        )
    if getattr(base, "num_replicas", 1) > 1:
        return loader
    kwargs = {
        "num_workers": loader.num_workers,
        "collate_fn": loader.collate_fn,
        "pin_memory": loader.pin_memory,
        "timeout": loader.timeout,
        "worker_init_fn": loader.worker_init_fn,
        "generator": loader.generator,
        "multiprocessing_context": loader.multiprocessing_context,
        "persistent_workers": loader.persistent_workers,
    }
    if loader.num_workers > 0:
        kwargs["prefetch_factor"] = loader.prefetch_factor
    sharded = ShardedBatchSampler(base=base, num_replicas=world_size(), rank=rank())
    return DataLoader(loader.dataset, batch_sampler=sharded, **kwargs)


def rank_seed(seed: int) -> int:
    """Per-rank seed for dropout/augmentation: rank 0 keeps ``seed`` (= a single-process run)."""
    return seed + 104_729 * rank()


# ---------------------------------------------------------------- agreed values
def sync_step(
    loss: torch.Tensor, value: float, items: int, *, signum: int, late: bool
) -> tuple[torch.Tensor, float, int, int, bool]:
    """One all-reduce per training step: global items and mean loss, any stop request.

    Returns ``(loss scaled so DDP's mean gives the global-batch gradient, global mean loss
    (nan if any rank's loss is non-finite), global items, agreed signal (0 none), agreed late)``.
    """
    finite = value == value and abs(value) != float("inf")
    local = torch.tensor(
        [
            float(items),
            value * items if finite else 0.0,
            0.0 if finite else 1.0,
            float(signum),
            1.0 if late else 0.0,
        ],
        dtype=torch.float64,
    )
    parts = _all_reduce(local[:3], dist.ReduceOp.SUM, "step sync")
    flags = _all_reduce(local[3:], dist.ReduceOp.MAX, "step sync")
    total = int(parts[0])
    scaled = loss * (items * world_size() / total) if total else loss * 0.0
    mean = float("nan") if parts[2] > 0 else (float(parts[1]) / total if total else 0.0)
    return scaled, mean, total, int(flags[0]), bool(flags[1])


def agree_stop(signum: int, late: bool) -> tuple[int, bool]:
    """(any rank's stop signal, any rank past the time budget), the same on every rank."""
    if not active():
        return signum, late
    flags = _all_reduce(
        torch.tensor([float(signum), 1.0 if late else 0.0], dtype=torch.float64),
        dist.ReduceOp.MAX,
        "stop sync",
    )
    return int(flags[0]), bool(flags[1])


def from_main(compute: Callable[[], Any]) -> Any:
    """Run ``compute`` on rank 0 and hand its (picklable) result to every rank."""
    if not active():
        return compute()
    box = [compute() if is_main() else None]
    with _collective("receiving rank 0's result"):
        dist.broadcast_object_list(box, src=0)
    return box[0]


def _all_reduce(tensor: torch.Tensor, op: Any, what: str) -> torch.Tensor:
    # gloo reduces CPU tensors; NCCL needs them on this rank's GPU
    device = (
        torch.device("cuda", torch.cuda.current_device())
        if dist.get_backend() == "nccl"
        else torch.device("cpu")
    )
    tensor = tensor.to(device)
    with _collective(what):
        dist.all_reduce(tensor, op=op)
    return tensor.cpu()


def note(message: str) -> None:
    """Print on rank 0 only (stderr), so N ranks do not repeat the same line."""
    if is_main():
        print(message, file=sys.stderr)
