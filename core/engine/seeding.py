"""Deterministic seeding and RNG state that survives a weights_only checkpoint.

Every epoch's randomness (data order, dropout, augmentation) is a pure function
of ``(seed, epoch)``: the Trainer reseeds at each epoch start, so a run resumed
from an end-of-epoch checkpoint replays exactly what an uninterrupted run does.
"""

from __future__ import annotations

import random
import signal
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def epoch_seed(seed: int, epoch: int) -> int:
    """A distinct, stable 63-bit seed per (run seed, epoch)."""
    return (seed * 1_000_003 + epoch * 7_919 + 0x5EED) % 2**63


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: NumPy and Python follow torch's per-worker seed.

    Workers also ignore SIGINT: Ctrl-C reaches the whole process group, and the main
    process must be the one that finishes the step and writes the checkpoint.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def loader_kwargs(seed: int) -> dict[str, Any]:
    """Keyword arguments that make a DataLoader reproducible: ``DataLoader(ds, **loader_kwargs(cfg.seed))``."""
    return {"worker_init_fn": seed_worker, "generator": torch.Generator().manual_seed(seed)}


def seed_loader_epoch(loader: DataLoader, seed: int, epoch: int) -> None:
    """Make this epoch's order of ``loader`` a pure function of (seed, epoch).

    Samplers with ``set_epoch`` (BucketBatchSampler, DistributedSampler) get it
    called; generators owned by the loader or its sampler are reseeded in place.
    """
    samplers = (loader.sampler, loader.batch_sampler, getattr(loader.batch_sampler, "sampler", None))
    for sampler in {id(s): s for s in samplers if s is not None}.values():
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
    generators = [getattr(loader, "generator", None), getattr(loader.sampler, "generator", None)]
    for gen in {id(g): g for g in generators if isinstance(g, torch.Generator)}.values():
        gen.manual_seed(epoch_seed(seed, epoch))
    if loader.num_workers > 0 and loader.worker_init_fn is None:
        loader.worker_init_fn = seed_worker


def rng_state() -> dict[str, Any]:
    """Python, NumPy and torch RNG states as weights_only-safe values (lists, ints, tensors)."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": version, "state": list(internal), "gauss": gauss},
        "numpy": {
            "name": str(name),
            "keys": keys.tolist(),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Inverse of ``rng_state``."""
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    npy = state["numpy"]
    keys = np.asarray(npy["keys"], dtype=np.uint32)
    np.random.set_state((npy["name"], keys, npy["pos"], npy["has_gauss"], npy["cached_gaussian"]))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
