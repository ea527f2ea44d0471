"""Non-finite guard, time budget, early stopping, LR schedules and per-epoch seeding."""

from __future__ import annotations

import json
import math

import pytest
import torch
from core_toy_domain import CLASSES, DOMAIN, ToyConfig, build_data, build_model
from torch.utils.data import DataLoader, Sampler

from core.engine.checkpoint import load_checkpoint
from core.engine.classification import ClassificationTask
from core.engine.domain import Domain
from core.engine.run import train_main
from core.engine.schedule import LRSchedule
from core.engine.seeding import rng_state, seed_loader_epoch, set_rng_state
from core.engine.trainer import NonFiniteError, Trainer


class NanGrad(torch.autograd.Function):
    """Identity forward, NaN backward: a finite loss whose gradient is not."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * math.nan


class PoisonTask(ClassificationTask):
    """Classification whose loss is NaN (or has a NaN gradient) on chosen training steps."""

    def __init__(self, *, bad_steps, kind="loss"):
        super().__init__(CLASSES)
        self.bad_steps, self.kind, self.calls = set(bad_steps), kind, 0

    def loss(self, model, batch):
        loss, n = super().loss(model, batch)
        bad, self.calls = self.calls in self.bad_steps, self.calls + 1
        if bad:
            loss = loss * math.nan if self.kind == "loss" else NanGrad.apply(loss)
        return loss, n


def make_trainer(tmp_path, task, **overrides):
    cfg = ToyConfig(n_train=96, epochs=2, progress=False, **overrides)
    data = build_data(cfg)
    torch.manual_seed(0)
    return Trainer(
        model=build_model(cfg, data.meta),
        task=task,
        cfg=cfg,
        train_loader=data.train,
        val_loader=data.val,
        out_dir=tmp_path,
        domain="toy",
        meta=data.meta,
    )


def test_isolated_non_finite_steps_are_skipped_and_counted(tmp_path):
    trainer = make_trainer(tmp_path, PoisonTask(bad_steps={1, 4}))
    assert trainer.fit() == "completed"
    assert trainer.skipped_steps == 2 and trainer.step == 6
    history = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["skipped_steps"] for r in history] == [1, 1]  # 3 batches per epoch
    assert all(math.isfinite(r["train_loss"]) for r in history)
    weights = load_checkpoint(tmp_path / "checkpoints" / "last.pt")["model"]
    assert all(torch.isfinite(w).all() for w in weights.values())


@pytest.mark.parametrize("kind", ["loss", "gradient"])
def test_consecutive_non_finite_steps_stop_without_touching_weights(tmp_path, kind):
    trainer = make_trainer(tmp_path, PoisonTask(bad_steps=range(100), kind=kind), max_bad_steps=3)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    with pytest.raises(NonFiniteError, match="3 non-finite steps in a row") as err:
        trainer.fit()
    assert ("gradient" in str(err.value)) == (kind == "gradient")
    assert all(torch.equal(before[k], v) for k, v in trainer.model.state_dict().items())
    assert not (tmp_path / "checkpoints" / "last.pt").exists()


def test_train_main_reports_divergence_in_one_line(tmp_path, capsys):
    nan_domain = Domain(
        "toy", ToyConfig, build_data, build_model, lambda cfg, meta: PoisonTask(bad_steps=range(99))
    )
    code = train_main(
        nan_domain, ["--no-progress", "--n-train", "64", "--out", str(tmp_path), "--max-bad-steps", "2"]
    )
    assert code == 3
    assert capsys.readouterr().err.count("\n") == 1


def test_time_budget_ends_cleanly_with_results(tmp_path):
    assert (
        train_main(
            DOMAIN, ["--no-progress", "--out", str(tmp_path), "--epochs", "50", "--max-minutes", "1e-5"]
        )
        == 0
    )
    final = json.loads((tmp_path / "final.json").read_text())
    assert final["stopped"] == "time_budget" and final["epochs"] == 1
    assert 0 < final["steps"] < 12  # stopped inside the first epoch (12 batches)
    record = json.loads((tmp_path / "metrics.jsonl").read_text())
    assert record["partial_epoch_batches"] == final["steps"]


def test_early_stopping_on_a_flat_metric(tmp_path):
    # a vanishing learning rate keeps the validation accuracy flat, so patience 1 stops at epoch 2
    assert (
        train_main(
            DOMAIN,
            [
                "--no-progress",
                "--out",
                str(tmp_path),
                "--epochs",
                "6",
                "--n-train",
                "64",
                "--lr",
                "1e-12",
                "--patience",
                "1",
            ],
        )
        == 0
    )
    final = json.loads((tmp_path / "final.json").read_text())
    assert final["stopped"] == "early_stopping" and final["epochs"] == 2 and final["best_epoch"] == 1


def test_lr_schedules_per_step():
    def factors(kind, total=100, warmup=10):
        opt = torch.optim.AdamW(torch.nn.Linear(2, 2).parameters(), lr=1.0)
        schedule = LRSchedule(opt, kind=kind, total_steps=total, warmup_steps=warmup)
        return [schedule.factor(s) for s in range(total + 1)]

    cosine = factors("cosine")
    assert cosine[0] == pytest.approx(0.1) and cosine[9] == 1.0 and cosine[100] == pytest.approx(0.0)
    assert all(a >= b for a, b in zip(cosine[9:], cosine[10:]))  # monotone decay after warmup
    onecycle = factors("onecycle")
    assert max(onecycle) == pytest.approx(1.0) and onecycle.index(max(onecycle)) == 30
    assert onecycle[0] == pytest.approx(1 / 25) and onecycle[100] < 1e-4
    assert factors("constant")[50:] == [1.0] * 51
    assert factors("cosine", total=20, warmup=100)[5] == 1.0  # warmup capped at a quarter of the run


def test_schedule_state_round_trip():
    opt = torch.optim.AdamW(torch.nn.Linear(2, 2).parameters(), lr=0.5)
    a = LRSchedule(opt, kind="cosine", total_steps=50, warmup_steps=5)
    for _ in range(17):
        a.step()
    b = LRSchedule(opt, kind="cosine", total_steps=50, warmup_steps=5)
    b.load_state_dict(a.state_dict())
    assert b.get_last_lr() == a.get_last_lr() == [0.5 * a.factor(17)]


class RecordingSampler(Sampler):
    def __init__(self):
        self.epochs = []

    def set_epoch(self, epoch):
        self.epochs.append(epoch)

    def __iter__(self):
        return iter(range(4))

    def __len__(self):
        return 4


def test_epoch_order_is_a_pure_function_of_seed_and_epoch():
    def order(epochs, seed=3):
        loader = DataLoader(
            list(range(40)), batch_size=40, shuffle=True, generator=torch.Generator().manual_seed(99)
        )
        for epoch in epochs:
            seed_loader_epoch(loader, seed, epoch)
            result = next(iter(loader)).tolist()
        return result

    assert order([0, 1, 2]) == order([2])  # what came before does not matter
    assert order([1]) != order([2]) and order([1]) != order([1], seed=4)
    sampler = RecordingSampler()
    seed_loader_epoch(DataLoader(list(range(4)), sampler=sampler), 0, 7)
    assert sampler.epochs == [7]  # the DistributedSampler seam


def test_rng_state_survives_weights_only_round_trip(tmp_path):
    import random

    import numpy as np

    torch.save(rng_state(), tmp_path / "rng.pt")
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


class NumpyNoise(torch.utils.data.Dataset):
    """Draws from NumPy's global RNG inside the worker (augmentation-style)."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        import numpy as np

        return float(np.random.rand())


def test_worker_randomness_follows_seed_and_epoch():
    def draws(epoch):
        loader = DataLoader(NumpyNoise(), batch_size=4, num_workers=1, generator=torch.Generator())
        seed_loader_epoch(loader, 5, epoch)
        assert loader.worker_init_fn is not None  # NumPy in workers is seeded, not forked state
        return next(iter(loader)).tolist()

    assert draws(1) == draws(1) and draws(1) != draws(2)


def test_new_run_in_an_old_folder_never_tests_a_stale_best(tmp_path):
    from core_toy_domain import checkpoint_of

    from core.engine.checkpoint import save_checkpoint

    stale = build_model(ToyConfig(), {"input_size": 4, "classes": CLASSES})
    with torch.no_grad():
        for p in stale.parameters():
            p.fill_(0.5)
    save_checkpoint(tmp_path / "checkpoints" / "best.pt", checkpoint_of(stale))
    assert train_main(DOMAIN, ["--no-progress", "--out", str(tmp_path), "--epochs", "0"]) == 2  # holds a run
    assert train_main(DOMAIN, ["--no-progress", "--out", str(tmp_path), "--epochs", "0", "--overwrite"]) == 0
    assert not (tmp_path / "checkpoints" / "best.pt").exists()
    assert len(list(tmp_path.glob("previous/*/checkpoints/best.pt"))) == 1  # moved aside, not deleted


class TiebreakTask(ClassificationTask):
    """Accuracy monitored; equal accuracies are decided by the lower validation loss."""

    tiebreak = "loss"


def test_equal_monitored_value_is_decided_by_the_tiebreak_metric(tmp_path):
    trainer = make_trainer(tmp_path, TiebreakTask(CLASSES))
    for epoch, (accuracy, loss) in enumerate([(0.9, 0.5), (0.9, 0.3), (0.9, 0.4), (0.8, 0.1)], start=1):
        trainer.epoch = epoch
        trainer._update_best({"accuracy": accuracy, "loss": loss})
    assert trainer.best["epoch"] == 2 and trainer.best["tie"] == 0.3  # same accuracy, lower loss
    assert trainer.best["stale"] == 2
    plain = make_trainer(tmp_path / "plain", ClassificationTask(CLASSES))
    for epoch in (1, 2):
        plain.epoch = epoch
        plain._update_best({"accuracy": 0.9, "loss": 0.5 / epoch})
    assert plain.best["epoch"] == 1  # without a tiebreak the first epoch to reach a value is kept


def test_nan_tiebreak_values_never_win_and_never_block():
    from core.engine.task import improves

    assert not improves("min", 0.1, 0.1, new_tie=math.nan, best_tie=0.5)
    assert improves("min", 0.1, 0.1, new_tie=0.5, best_tie=math.nan)
    assert not improves("min", 0.2, 0.1, new_tie=0.0, best_tie=0.5)  # the monitor decides first
