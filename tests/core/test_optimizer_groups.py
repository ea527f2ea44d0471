"""build_optimizer: no decay on 1-D parameters, and LR multipliers by parameter-name prefix."""

from __future__ import annotations

import torch
from torch import nn

from core.engine.schedule import LRSchedule, build_optimizer


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.LSTM(3, 4)
        self.head = nn.Linear(4, 2)


def _groups(optimizer) -> list[tuple[float, float, int]]:
    return [(g["lr"], g["weight_decay"], len(g["params"])) for g in optimizer.param_groups]


def test_without_scales_two_groups_decay_first():
    optimizer = build_optimizer(Net(), lr=0.01, weight_decay=0.1)
    assert _groups(optimizer) == [(0.01, 0.1, 3), (0.01, 0.0, 3)]  # 2-D: 2 LSTM + head weight; 1-D: biases


def test_backbone_scale_gets_its_own_groups_and_the_schedule_keeps_the_ratio():
    net = Net()
    optimizer = build_optimizer(net, lr=0.01, weight_decay=0.1, lr_scales={"backbone.": 0.25})
    assert _groups(optimizer) == [(0.01, 0.1, 1), (0.0025, 0.1, 2), (0.01, 0.0, 1), (0.0025, 0.0, 2)]
    scaled = {id(p) for g in optimizer.param_groups if g["lr"] == 0.0025 for p in g["params"]}
    assert scaled == {id(p) for p in net.backbone.parameters()}
    schedule = LRSchedule(optimizer, kind="cosine", total_steps=10, warmup_steps=0)
    for _ in range(5):
        schedule.step()
    lrs = [g["lr"] for g in optimizer.param_groups]
    assert lrs[0] > 0 and torch.isclose(torch.tensor(lrs[1] / lrs[0]), torch.tensor(0.25))


def test_scale_one_changes_nothing():
    a = build_optimizer(Net(), lr=0.01, weight_decay=0.1, lr_scales={"backbone.": 1.0})
    assert _groups(a) == _groups(build_optimizer(Net(), lr=0.01, weight_decay=0.1))
