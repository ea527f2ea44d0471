"""A tiny sequence-classification domain for the engine tests (plain nn.LSTM, no core.nn.backbone).

Class of a sequence = which of the first 3 features has the largest mean over its valid
steps. Also runnable as a script (the SIGKILL test): ``python tests/core/core_toy_domain.py``.
Test-only hooks: ``signal_at`` sends SIGTERM to this process when a given batch is collated,
``step_sleep`` slows each training batch down so a test can kill a run mid-epoch.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # script use: make `core` importable

from core.engine.classification import ClassificationTask  # noqa: E402
from core.engine.config import RunConfig  # noqa: E402
from core.engine.domain import DataBundle, Domain  # noqa: E402
from core.engine.run import train_main  # noqa: E402
from core.nn.sequence import SequenceBatch, gather_last, pad_sequences  # noqa: E402

CLASSES = ["first", "second", "third"]
META = {"classes": CLASSES, "input_size": 4}


@dataclass
class ToyConfig(RunConfig):
    """Toy domain flags."""

    n_train: int = 384
    """Training sequences."""
    hidden: int = 16
    epochs: int = 2
    batch_size: int = 32
    lr: float = 1e-2
    warmup_steps: int = 5
    signal_at: str = ""
    """Test hook: 'train:N' or 'val:N' sends SIGTERM when that split's N-th batch is collated."""
    step_sleep: float = 0.0
    """Test hook: seconds to sleep per training batch."""
    resumable_changes: ClassVar[frozenset[str]] = frozenset({"signal_at", "step_sleep"})


def make_split(n: int, seed: int) -> list[tuple[torch.Tensor, int]]:
    gen = torch.Generator().manual_seed(seed)
    items = []
    for _ in range(n):
        length = int(torch.randint(3, 13, (1,), generator=gen))
        x = torch.randn(length, 4, generator=gen)  # (T, F)
        items.append((x, int(x[:, :3].mean(0).argmax())))
    return items


class Collate:
    def __init__(self, split: str, cfg: ToyConfig):
        self.split, self.cfg, self.calls = split, cfg, 0
        kind, _, index = cfg.signal_at.partition(":")
        self.signal_index = int(index) if kind == split else -1

    def __call__(self, items):
        if self.calls == self.signal_index:
            os.kill(os.getpid(), signal.SIGTERM)
        self.calls += 1
        if self.split == "train" and self.cfg.step_sleep:
            time.sleep(self.cfg.step_sleep)
        inputs, lengths = pad_sequences([x for x, _ in items])
        return SequenceBatch(inputs, lengths, torch.tensor([y for _, y in items]))


def build_data(cfg: ToyConfig) -> DataBundle:
    def loader(split: str, n: int, seed: int, shuffle: bool) -> DataLoader:
        return DataLoader(
            make_split(n, seed),
            batch_size=cfg.batch_size,
            shuffle=shuffle,
            collate_fn=Collate(split, cfg),
            generator=torch.Generator().manual_seed(cfg.seed),
        )

    return DataBundle(
        loader("train", cfg.n_train, 1, True),
        loader("val", 96, 2, False),
        loader("test", 96, 3, False),
        meta=dict(META),
    )


class ToyModel(nn.Module):
    def __init__(self, *, input_size: int, hidden: int, classes: int):
        super().__init__()
        self.backbone = nn.LSTM(input_size, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.backbone(inputs)  # (B, T, H); causal, so padding after the end is harmless
        return self.head(gather_last(outputs, lengths))  # (B, C)


def build_model(cfg: ToyConfig, meta: dict) -> nn.Module:
    return ToyModel(input_size=meta["input_size"], hidden=cfg.hidden, classes=len(meta["classes"]))


def run_baseline(cfg: ToyConfig, data: DataBundle) -> dict:
    """Nearest class centroid of each sequence's mean feature vector."""

    def means(loader):
        feats, labels = [], []
        for batch in loader:
            mask = batch.mask().unsqueeze(-1)  # (B, T, 1)
            feats.append((batch.inputs * mask).sum(1) / batch.lengths.unsqueeze(1))
            labels.append(batch.targets)
        return torch.cat(feats), torch.cat(labels)

    x, y = means(data.train)
    centroids = torch.stack([x[y == c].mean(0) for c in range(len(CLASSES))])  # (C, F)
    task = ClassificationTask(CLASSES)
    task.update_metrics(
        lambda inputs, lengths: -torch.cdist(means_of(inputs, lengths), centroids), next(iter(data.test))
    )
    return {**task.compute_metrics(), "params": int(centroids.numel())}


def means_of(inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    mask = (torch.arange(inputs.shape[1]) < lengths.unsqueeze(1)).unsqueeze(-1)  # (B, T, 1)
    return (inputs * mask).sum(1) / lengths.unsqueeze(1)


def checkpoint_of(model: nn.Module, *, domain: str = "toy", **cfg) -> dict:
    """A minimal valid checkpoint dict for ``model`` (checkpoint and CLI tests)."""
    from core.engine.config import config_to_dict
    from core.engine.seeding import rng_state

    return {
        "domain": domain,
        "config": config_to_dict(ToyConfig(**cfg)),
        "meta": META,
        "model": model.state_dict(),
        "optimizer": {},
        "scheduler": {},
        "epoch": 1,
        "step": 5,
        "rng": rng_state(),
        "history": [],
        "best": {"value": None},
    }


DOMAIN = Domain(
    "toy",
    ToyConfig,
    build_data,
    build_model,
    lambda cfg, meta: ClassificationTask(meta["classes"]),
    run_baseline=run_baseline,
    description="synthetic sequence classification (tests only)",
)

if __name__ == "__main__":
    raise SystemExit(train_main(DOMAIN))
