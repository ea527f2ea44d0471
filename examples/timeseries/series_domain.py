"""A user's own fourth domain built on rnnsuite's backbone: time-series regression.

The template for a new domain (see README.md beside it). Nothing here is part of rnnsuite:
it is what a user writes. It reuses the backbone, the pooling, the bucketing sampler and
the one Trainer, and plugs into the umbrella CLI and ``compare`` through the entry point
its pyproject.toml declares in group ``rnnsuite.domains``::

    [project.entry-points."rnnsuite.domains"]
    series = "series_domain:DOMAIN"

Task: each sequence (length 8..32, one feature) must be mapped to its FIRST value,
which the model has to carry across the whole sequence (chance MSE = 1.0).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from core import BucketBatchSampler, Pooling, RunConfig, SequenceBatch, backbone_from_config, pad_sequences
from core.engine.domain import DataBundle, Domain


@dataclass
class SeriesConfig(RunConfig):
    data: str = "synthetic"
    examples: int = 512
    """How many synthetic series to generate for training."""


def make_series(count: int, *, seed: int) -> list[tuple[torch.Tensor, float]]:
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(8, 33, (count,), generator=generator)
    series = [torch.randn(int(n), 1, generator=generator) for n in lengths]  # (T_i, 1)
    return [(x, float(x[0, 0])) for x in series]


def collate(items: list[tuple[torch.Tensor, float]]) -> SequenceBatch:
    inputs, lengths = pad_sequences([x for x, _ in items])  # (B, T, 1), (B,)
    return SequenceBatch(inputs, lengths, torch.tensor([y for _, y in items]))


def loader(items: list, cfg: SeriesConfig, *, shuffle: bool) -> DataLoader:
    sampler = BucketBatchSampler([len(x) for x, _ in items], cfg.batch_size, shuffle=shuffle, seed=cfg.seed)
    return DataLoader(items, batch_sampler=sampler, collate_fn=collate)


def build_data(cfg: SeriesConfig) -> DataBundle:
    train = make_series(cfg.limit_train or cfg.examples, seed=cfg.seed)
    val, test = make_series(128, seed=cfg.seed + 1), make_series(128, seed=cfg.seed + 2)
    return DataBundle(
        loader(train, cfg, shuffle=True),
        loader(val, cfg, shuffle=False),
        loader(test, cfg, shuffle=False),
        meta={"input_size": 1},
    )


class SeriesRegressor(nn.Module):
    def __init__(self, *, cfg: RunConfig, input_size: int):
        super().__init__()
        self.backbone = backbone_from_config(cfg, input_size)
        self.pool = Pooling("last", self.backbone.output_size, num_directions=self.backbone.num_directions)
        self.head = nn.Linear(self.backbone.output_size, 1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        outputs, lengths, _ = self.backbone(x, lengths)  # (B, T, D)
        return self.head(self.pool(outputs, lengths)).squeeze(-1)  # (B,)


class RegressionTask:
    """Mean squared error; the Trainer keeps the checkpoint with the lowest one."""

    monitor, mode = "mse", "min"

    def loss(self, model, batch):
        return F.mse_loss(model(batch.inputs, batch.lengths), batch.targets), len(batch)

    def reset_metrics(self):
        self.total, self.count = 0.0, 0

    def update_metrics(self, model, batch):
        error = model(batch.inputs, batch.lengths) - batch.targets
        self.total += float(error.pow(2).sum())
        self.count += len(batch)

    def compute_metrics(self):
        return {"mse": self.total / max(self.count, 1)}


DOMAIN = Domain(
    name="series",
    config_cls=SeriesConfig,
    build_data=build_data,
    build_model=lambda cfg, meta: SeriesRegressor(cfg=cfg, input_size=meta["input_size"]),
    build_task=lambda cfg, meta: RegressionTask(),
    description="time-series regression (a user's own domain)",
    quick_args=["--data", "synthetic", "--lr", "0.01"],
    full_args=["--data", "synthetic", "--lr", "0.01"],
)
