"""The run folder (``--out``): checked before a run starts, locked while it runs, never wiped.

A run validates everything first (flags, data, checkpoints to load) and only then
``claim``s its folder: it takes an exclusive OS lock (``fcntl.flock`` on ``OUT/.lock``,
released by the kernel when the process ends, crash included) and, for a new run in a
folder that already holds one, moves the old run's files into ``OUT/previous/<UTC time>/``
(refused without ``--overwrite`` when the old run has results). Nothing is deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from core.errors import ConfigError

LOCK_NAME = ".lock"
PREVIOUS = "previous"
RESULTS = ("final.json", "checkpoints/last.pt", "checkpoints/best.pt")
"""A folder holding any of these holds a finished or resumable run."""
RUN_FILES = (
    "config.yaml",
    "metrics.jsonl",
    "final.json",
    "checkpoints",
    "tb",
    "curves.png",
    "confusion.json",
    "confusion.png",
)
"""What one run writes in its folder: moved aside together, so a new run never mixes with an old one."""


def check_out_path(out: Path) -> None:
    """ConfigError naming ``--out`` unless it is (or can become) a writable folder."""
    if out.is_symlink() and not out.exists():
        raise ConfigError(f"--out {out}: a broken symbolic link (to {os.readlink(out)})")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file, not a folder")
    existing = out
    while not existing.exists():  # the nearest ancestor that exists is where mkdir starts
        if existing.is_symlink():
            raise ConfigError(f"--out {out}: {existing} is a broken symbolic link")
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"--out {out}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out}: {existing} is not writable")


def holds_results(out: Path) -> str | None:
    """The first result file of an earlier run in ``out`` (relative name), or None."""
    return next((name for name in RESULTS if (out / name).is_file()), None)


def check_before_run(out: Path, *, resumed: bool, overwrite: bool) -> None:
    """Before any work (reads only): refuse an unusable ``out``, one another live run has locked,
    and a new run in a folder that holds results (unless --overwrite)."""
    check_out_path(out)
    holder = _lock_holder(out)
    if holder is not None:
        raise ConfigError(
            f"--out {out}: in use by another run (pid {holder}); wait for it or pick another --out"
        )
    found = None if resumed else holds_results(out)
    if found and not overwrite:
        raise ConfigError(
            f"--out {out} holds a run ({found}): continue it with --resume, pick another --out, "
            f"or pass --overwrite to move it into {out / PREVIOUS}/"
        )


def _lock_holder(out: Path) -> str | None:
    """The PID written by the process holding ``out``'s lock, or None when nobody holds it."""
    path = out / LOCK_NAME
    if not path.is_file():
        return None
    try:
        with open(path) as handle:  # opened for reading: probing never changes the file
            try:  # shared: conflicts only with a run's exclusive lock, never with another probe
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return handle.read().strip() or "unknown"
            fcntl.flock(handle, fcntl.LOCK_UN)
    except OSError as err:
        raise ConfigError(f"--out {out}: cannot read {path} ({err.strerror or err})") from None
    return None


@contextlib.contextmanager
def claim(out: Path, *, resume: bool, overwrite: bool) -> Iterator[Path | None]:
    """Lock ``out`` for the duration of the block; a new run first moves an earlier run aside.

    Yields where the earlier run went (``OUT/previous/<time>``), or None when nothing moved.
    """
    check_out_path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle = _acquire(out)
    except OSError as err:  # a read-only or virtual file system that os.access did not reveal (root)
        raise ConfigError(f"--out {out}: cannot create the run folder ({err.strerror or err})") from None
    try:
        moved = None
        if not resume:
            if holds_results(out) and not overwrite:  # appeared since check_new_run
                raise ConfigError(
                    f"--out {out} holds a run ({holds_results(out)}); pass --overwrite or --resume"
                )
            moved = move_aside(out)
        yield moved
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _acquire(out: Path) -> IO[str]:
    # append mode: opening never truncates the holder's PID before we own the lock; held while the run lives
    handle = open(out / LOCK_NAME, "a+")  # noqa: SIM115
    for _ in range(10):  # a probe (check_before_run) holds a shared lock for microseconds
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            time.sleep(0.05)
    else:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise ConfigError(
            f"--out {out}: in use by another run (pid {holder}); wait for it or pick another --out"
        )
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def move_aside(out: Path, names: tuple[str, ...] = RUN_FILES) -> Path | None:
    """Move an earlier run's files (``names``) into ``out/previous/<UTC time>/``; returns that folder or None."""
    present = [name for name in names if (out / name).exists() or (out / name).is_symlink()]
    if not present:
        return None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = out / PREVIOUS / stamp
    suffix = 1
    while target.exists():
        suffix += 1
        target = out / PREVIOUS / f"{stamp}-{suffix}"
    target.mkdir(parents=True)
    for name in present:
        shutil.move(str(out / name), str(target / name))  # same file system: a rename
    return target


RESUMABLE_CHANGES = frozenset(
    {
        "epochs",
        "max_minutes",
        "patience",
        "max_bad_steps",
        "device",
        "bf16",
        "num_workers",
        "progress",
        "download",
        "resume",
        "out",
        "config",
        "overwrite",
        "init_backbone",
        "data",
    }
)
"""Flags a resumed run may change: budget, hardware and where files are. ``data`` may move (the
data it gives is compared through the meta); everything else shapes the data, model or optimisation."""


def check_resume_config(stored: dict, cfg: object, *, source: Path) -> None:
    """ConfigError naming the first flag that differs from the checkpoint's config.

    A config class may name more flags a resume may change in ``resumable_changes`` (a ClassVar).
    """
    allowed = RESUMABLE_CHANGES | frozenset(getattr(type(cfg), "resumable_changes", ()))
    for name, old in stored.items():
        if name in allowed or not hasattr(cfg, name):
            continue
        new = getattr(cfg, name)
        if new != old:
            raise ConfigError(
                f"--resume: --{name.replace('_', '-')} {new!r} differs from {source}'s {old!r}; "
                "a resumed run keeps its data, model and optimiser settings (start a new --out)"
            )


def check_resume_meta(stored: dict, fresh: dict, *, source: Path) -> None:
    """ConfigError naming the first pipeline setting (meta key) the data now gives differently."""
    import torch

    for key in sorted(set(stored) | set(fresh)):
        if key == "dataset":  # a name or a path: the folder may have moved
            continue
        old, new = stored.get(key), fresh.get(key)
        if not _same(old, new, torch):
            raise ConfigError(
                f"--resume: the data now gives a different {key!r} than {source} was trained on; "
                "resume with the same data and flags, or start a new --out"
            )


def _same(old: object, new: object, torch) -> bool:
    if torch.is_tensor(old) or torch.is_tensor(new):
        if not (torch.is_tensor(old) and torch.is_tensor(new)) or old.shape != new.shape:
            return False
        return bool(torch.allclose(old.double(), new.double(), rtol=1e-5, atol=1e-7, equal_nan=True))
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() == new.keys() and all(_same(old[k], new[k], torch) for k in old)
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
        return len(old) == len(new) and all(_same(a, b, torch) for a, b in zip(old, new))
    if isinstance(old, float) and isinstance(new, (int, float)):
        return abs(old - new) <= 1e-5 * max(1.0, abs(old))  # statistics recomputed on another thread count
    return old == new
