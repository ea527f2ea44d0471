"""--lr-by-time (the LR decay follows the time budget) and --average-last (checkpoint averaging)."""

from __future__ import annotations

import json

import pytest
import torch
from core_toy_domain import DOMAIN, ToyConfig

from core.engine.averaging import RecentWeights
from core.engine.run import train_main
from core.engine.schedule import LRSchedule
from core.errors import ConfigError


def test_time_budget_moves_the_cosine_decay_on():
    opt = torch.optim.AdamW(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    schedule = LRSchedule(opt, kind="cosine", total_steps=1000, warmup_steps=0)
    schedule.step(budget_used=0.5)  # half the minutes gone after one of 1000 steps
    assert schedule.get_last_lr()[0] == pytest.approx(0.5)
    schedule.step(budget_used=0.1)  # the clock never runs backwards
    assert schedule.get_last_lr()[0] == pytest.approx(0.5, abs=1e-3)
    schedule.step(budget_used=1.0)
    assert schedule.get_last_lr()[0] == pytest.approx(0.0)
    restored = LRSchedule(opt, kind="cosine", total_steps=1000, warmup_steps=0)
    restored.load_state_dict(schedule.state_dict())
    assert restored.budget_used == 1.0


def test_lr_by_time_needs_a_budget():
    with pytest.raises(ConfigError, match="--lr-by-time needs --max-minutes"):
        ToyConfig(lr_by_time=True).validate()


def test_recent_weights_average_floats_and_keep_the_newest_integers():
    recent = RecentWeights(count=3)
    for value in range(5):
        recent.add({"w": torch.full((2,), float(value)), "n": torch.tensor(value)})
    averaged = recent.average()
    assert averaged["w"].tolist() == [3.0, 3.0] and int(averaged["n"]) == 4 and len(recent) == 3


def test_average_last_is_validated_and_reported(tmp_path):
    out = tmp_path / "run"
    assert (
        train_main(DOMAIN, ["--epochs", "4", "--average-last", "3", "--out", str(out), "--no-progress"]) == 0
    )
    final = json.loads((out / "final.json").read_text())
    averaged = final["averaged"]
    assert averaged["epochs"] == 3 and isinstance(averaged["used"], bool)
    best_val = final["val_best"]
    # the tested checkpoint is the averaged one exactly when it validated better
    assert (best_val == averaged["val"]) == averaged["used"]
