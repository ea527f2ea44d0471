"""End-to-end engine tests on the synthetic toy domain (tests/core/core_toy_domain.py)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from core_toy_domain import DOMAIN, ToyConfig

from core.engine.checkpoint import load_checkpoint, load_for_inference
from core.engine.run import train_main

FAST = ["--no-progress"]


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One 3-epoch toy run shared by the read-only tests below."""
    out = tmp_path_factory.mktemp("toy") / "run"
    assert train_main(DOMAIN, [*FAST, "--epochs", "3", "--out", str(out)]) == 0
    return out


def test_training_loss_falls_and_beats_chance(trained):
    history = read_jsonl(trained / "metrics.jsonl")
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    final = json.loads((trained / "final.json").read_text())
    assert final["test"]["accuracy"] > 0.55  # chance is 1/3
    assert set(final["test"]) == {"accuracy", "macro_f1"}
    assert final["params"] == sum(
        p.numel()
        for p in DOMAIN.build_model(ToyConfig(), {"input_size": 4, "classes": [0, 1, 2]}).parameters()
    )
    assert final["env"]["device"] == "cpu" and final["env"]["threads"] >= 1
    assert final["val_best"]["accuracy"] == max(r["val_accuracy"] for r in history)


def test_run_directory_holds_every_artefact(trained):
    for name in (
        "config.yaml",
        "metrics.jsonl",
        "final.json",
        "curves.png",
        "confusion.json",
        "confusion.png",
        "checkpoints/last.pt",
        "checkpoints/best.pt",
    ):
        assert (trained / name).is_file(), name
    assert list((trained / "tb").glob("events.out.tfevents.*"))
    record = read_jsonl(trained / "metrics.jsonl")[0]
    for key in (
        "epoch",
        "step",
        "train_loss",
        "val_accuracy",
        "seconds",
        "samples_per_s",
        "lr",
        "skipped_steps",
    ):
        assert key in record, key
    confusion = json.loads((trained / "confusion.json").read_text())
    assert confusion["classes"] == ["first", "second", "third"]
    assert sum(map(sum, confusion["matrix"])) == 96  # the whole test split


def test_checkpoint_contract_and_best_is_tested(trained):
    last = load_checkpoint(trained / "checkpoints" / "last.pt", domain="toy")
    for key in (
        "domain",
        "config",
        "meta",
        "model",
        "optimizer",
        "scheduler",
        "epoch",
        "step",
        "rng",
        "history",
        "best",
    ):
        assert key in last, key
    assert last["epoch"] == 3 and not last["mid_epoch"]
    best = load_checkpoint(trained / "checkpoints" / "best.pt")
    assert best["best"]["value"] == max(r["val_accuracy"] for r in last["history"])


def test_load_for_inference_reproduces_test_accuracy(trained):
    model, cfg, meta = load_for_inference(trained / "checkpoints" / "best.pt", DOMAIN)
    assert not model.training and cfg.hidden == 16 and meta["classes"][0] == "first"
    test = DOMAIN.build_data(cfg).test
    correct = total = 0
    with torch.no_grad():
        for batch in test:
            correct += int((model(batch.inputs, batch.lengths).argmax(-1) == batch.targets).sum())
            total += len(batch)
    final = json.loads((trained / "final.json").read_text())
    assert math.isclose(correct / total, final["test"]["accuracy"])


def test_run_config_yaml_round_trips(trained):
    from core_toy_domain import ToyConfig

    from core.engine.config import config_from_dict, parse_config

    stored = config_from_dict(ToyConfig, load_checkpoint(trained / "checkpoints" / "last.pt")["config"])
    again = parse_config(ToyConfig, ["--config", str(trained / "config.yaml")])
    assert again.epochs == 3 and again.progress is False
    assert again == type(stored)(**{**stored.__dict__, "config": str(trained / "config.yaml")})
