"""Exact resume: end-of-epoch, mid-epoch (SIGTERM) and after SIGKILL give the uninterrupted result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from core_toy_domain import DOMAIN

from core.engine.checkpoint import load_checkpoint
from core.engine.run import train_main

RUN = ["--no-progress", "--n-train", "192", "--epochs", "2"]  # 6 batches per epoch
TOY_SCRIPT = Path(__file__).with_name("core_toy_domain.py")
VARYING = {"seconds", "samples_per_s"}  # wall-clock fields legitimately differ


def outcome(out: Path) -> tuple[dict, list[dict], dict]:
    final = json.loads((out / "final.json").read_text())
    history = [
        {k: v for k, v in json.loads(line).items() if k not in VARYING}
        for line in (out / "metrics.jsonl").read_text().splitlines()
    ]
    best = load_checkpoint(out / "checkpoints" / "best.pt")["model"]
    return final["test"], history, best


def assert_same_run(a: Path, b: Path) -> None:
    test_a, history_a, best_a = outcome(a)
    test_b, history_b, best_b = outcome(b)
    assert test_a == test_b
    assert history_a == history_b
    assert all(torch.equal(best_a[k], best_b[k]) for k in best_a)


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("straight") / "run"
    assert train_main(DOMAIN, [*RUN, "--out", str(out)]) == 0
    return out


def test_resume_after_end_of_epoch_checkpoint_is_exact(straight, tmp_path, capsys):
    out = str(tmp_path / "run")
    # SIGTERM while validating epoch 1: the epoch completes, last.pt is an end-of-epoch checkpoint
    assert train_main(DOMAIN, [*RUN, "--out", out, "--signal-at", "val:0"]) == 128 + signal.SIGTERM
    message = capsys.readouterr().err.strip().splitlines()
    assert len(message) == 1 and "SIGTERM" in message[0] and "--resume" in message[0]
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt", domain="toy")
    assert state["epoch"] == 1 and not state["mid_epoch"]
    assert not (tmp_path / "run" / "final.json").exists()
    assert train_main(DOMAIN, ["--out", out, "--resume", "--signal-at", "", "--no-progress"]) == 0
    assert_same_run(straight, tmp_path / "run")


def test_resume_after_mid_epoch_sigterm_is_exact(straight, tmp_path):
    out = str(tmp_path / "run")
    # the 9th training batch is batch 3 of epoch 2: that step finishes, then a mid-epoch checkpoint
    assert train_main(DOMAIN, [*RUN, "--out", out, "--signal-at", "train:8"]) == 128 + signal.SIGTERM
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert state["mid_epoch"] and state["epoch"] == 1 and state["batch"] == 3 and state["step"] == 9
    assert train_main(DOMAIN, ["--out", out, "--resume", "--signal-at", "", "--no-progress"]) == 0
    assert_same_run(straight, tmp_path / "run")


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_finishes_identically(straight, tmp_path):
    out = tmp_path / "run"
    last = out / "checkpoints" / "last.pt"
    proc = subprocess.Popen(
        [sys.executable, str(TOY_SCRIPT), *RUN, "--out", str(out), "--step-sleep", "0.15"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not last.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # well inside epoch 2 (6 batches x 0.15 s)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    state = load_checkpoint(last, domain="toy")  # the last complete checkpoint, never a torn file
    assert state["epoch"] == 1 and not state["mid_epoch"]
    assert not list(last.parent.glob("*.tmp"))  # killed between two writes: no temp file is left behind
    assert train_main(DOMAIN, ["--out", str(out), "--resume", "--step-sleep", "0", "--no-progress"]) == 0
    assert_same_run(straight, out)
    assert not list(last.parent.glob("*.tmp"))
    for checkpoint in last.parent.glob("*.pt"):  # every checkpoint the two processes wrote loads whole
        assert load_checkpoint(checkpoint, domain="toy")["epoch"] >= 1


def test_resume_is_exact_with_a_slower_backbone(tmp_path):
    flags = [*RUN, "--backbone-lr-scale", "0.25"]
    straight_run, resumed = str(tmp_path / "straight"), str(tmp_path / "resumed")
    assert train_main(DOMAIN, [*flags, "--out", straight_run]) == 0
    assert train_main(DOMAIN, [*flags, "--out", resumed, "--signal-at", "val:0"]) == 128 + signal.SIGTERM
    assert train_main(DOMAIN, ["--out", resumed, "--resume", "--signal-at", "", "--no-progress"]) == 0
    assert_same_run(tmp_path / "straight", tmp_path / "resumed")
