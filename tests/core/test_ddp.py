"""Distributed training under torchrun (gloo, 2 CPU processes) against one process.

Equivalence tolerance: the same global batches run in both; only the order of float32
additions differs (two half-batch gradients averaged vs one batch), so epoch losses agree
to 1e-6 relative and weights to 1e-5 absolute (measured: ~1e-6 after 12 Adam steps).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.engine import distributed
from core.engine.checkpoint import load_checkpoint, load_for_inference
from core.engine.run import train_main
from core.nn.sampler import BucketBatchSampler
from core.nn.sequence import pad_sequences

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import core_toy_domain as toy  # noqa: E402

FLAGS = ["--n-train", "96", "--batch-size", "16", "--no-progress", "--device", "cpu"]


def torchrun(out: Path, *flags: str, die_at: str = "") -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node 2 ddp_toy_domain.py`` (1 thread per rank)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RNNSUITE_TEST_DIE_AT": die_at}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(HERE / "ddp_toy_domain.py"),
        "--out",
        str(out),
        *FLAGS,
        *flags,
    ]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)


def history(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def weights(out: Path) -> dict:
    return load_checkpoint(out / "checkpoints" / "last.pt", domain="toy")["model"]


def assert_same_run(a: Path, b: Path) -> None:
    ha, hb = history(a), history(b)
    assert [r["epoch"] for r in ha] == [r["epoch"] for r in hb]
    for ra, rb in zip(ha, hb):
        assert ra["step"] == rb["step"]
        assert ra["train_loss"] == pytest.approx(rb["train_loss"], rel=1e-6)
        assert ra["val_accuracy"] == pytest.approx(rb["val_accuracy"], abs=1e-9)
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) < 1e-5


# ---------------------------------------------------------------- sampler split (no processes)
def test_shards_partition_every_global_batch_and_keep_buckets():
    rng = random.Random(0)
    lengths = [rng.randint(1, 50) for _ in range(203)]
    base = BucketBatchSampler(lengths, 16, seed=3)
    for world in (2, 3):
        shards = [
            distributed.ShardedBatchSampler(base=base, num_replicas=world, rank=r) for r in range(world)
        ]
        for s in shards:
            s.set_epoch(4)
        per_rank = [list(s) for s in shards]
        assert len({len(p) for p in per_rank}) == 1 and len(shards[0]) == len(per_rank[0])  # no DDP hang
        for glob, parts in zip(base, zip(*per_rank)):
            assert [i for part in parts for i in part] == glob  # the global batch, exactly, in order
            assert max(len(p) for p in parts) - min(len(p) for p in parts) <= 1
        assert len(per_rank[0]) == len(list(base))


def test_batch_smaller_than_world_leaves_no_rank_empty():
    shards = [list(distributed.ShardedBatchSampler(base=[[7]], num_replicas=2, rank=r)) for r in (0, 1)]
    assert shards == [[[7]], [[7]]]
    with pytest.raises(distributed.ConfigError, match="rank"):
        distributed.ShardedBatchSampler(base=[[1]], num_replicas=2, rank=2)


def test_single_process_helpers_are_pass_through():
    loader = toy.build_data(toy.ToyConfig()).train
    assert distributed.world_size() == 1 and distributed.is_main() and not distributed.active()
    assert distributed.shard_loader(loader) is loader
    assert distributed.from_main(lambda: {"accuracy": 0.5}) == {"accuracy": 0.5}
    assert distributed.agree_stop(15, False) == (15, False)
    assert distributed.rank_seed(123) == 123  # rank 0 seeds exactly like a single-process run


# ---------------------------------------------------------------- torchrun, 2 ranks
@pytest.mark.slow
def test_ddp_equals_single_process_and_checkpoints_cross_load(tmp_path):
    ddp, single = tmp_path / "ddp", tmp_path / "single"
    done = torchrun(ddp, "--epochs", "2")
    assert done.returncode == 0, done.stderr[-2000:]
    assert train_main(toy.DOMAIN, ["--out", str(single), "--epochs", "2", *FLAGS]) == 0
    assert_same_run(ddp, single)
    # rank 0 alone wrote the run directory: every artefact once, no stray temp files
    assert {p.name for p in ddp.iterdir()} >= {
        "config.yaml",
        "metrics.jsonl",
        "final.json",
        "curves.png",
        "tb",
    }
    assert sorted(p.name for p in (ddp / "checkpoints").iterdir()) == ["best.pt", "last.pt"]
    assert json.loads((ddp / "final.json").read_text())["test"]["accuracy"] == pytest.approx(
        json.loads((single / "final.json").read_text())["test"]["accuracy"]
    )

    # the DDP checkpoint loads in one process (no "module." prefix) and predicts like the single run's
    model, _, _ = load_for_inference(ddp / "checkpoints" / "last.pt", toy.DOMAIN)
    ref, _, _ = load_for_inference(single / "checkpoints" / "last.pt", toy.DOMAIN)
    inputs, lengths = pad_sequences([x for x, _ in toy.make_split(8, 5)])  # (8, T, 4), (8,)
    with torch.no_grad():
        assert torch.allclose(model(inputs, lengths), ref(inputs, lengths), atol=1e-5)

    # --resume across the boundary: DDP run continued in one process, single run continued under DDP
    assert train_main(toy.DOMAIN, ["--out", str(ddp), "--epochs", "3", "--resume", *FLAGS]) == 0
    done = torchrun(single, "--epochs", "3", "--resume")
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(history(ddp)) == 3
    assert_same_run(ddp, single)


@pytest.mark.slow
def test_a_dead_rank_stops_the_job_and_the_last_checkpoint_loads(tmp_path):
    out = tmp_path / "run"
    done = torchrun(out, "--epochs", "3", die_at="1:1:2")  # rank 1 exits in epoch 2, batch 3
    assert done.returncode != 0
    assert "rank 1: simulated crash" in done.stderr
    assert "another rank is gone" in done.stderr and "last complete checkpoint" in done.stderr
    state = load_checkpoint(out / "checkpoints" / "last.pt", domain="toy")
    assert state["epoch"] == 1 and not state["mid_epoch"]  # the end of epoch 1, whole
    assert not list((out / "checkpoints").glob("*.tmp"))
    model, _, _ = load_for_inference(out / "checkpoints" / "last.pt", toy.DOMAIN)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert not (out / "final.json").exists()


@pytest.mark.slow
def test_time_budget_is_one_decision_for_all_ranks(tmp_path):
    # 0.1 s per batch on each rank, a 0.3 s budget: each rank's own clock would cross it at a
    # different step; the agreed flag makes both leave at the same step (a mismatch would hang)
    out = tmp_path / "run"
    done = torchrun(out, "--epochs", "3", "--step-sleep", "0.1", "--max-minutes", "0.005")
    assert done.returncode == 0, done.stderr[-2000:]
    final = json.loads((out / "final.json").read_text())
    assert final["stopped"] == "time_budget" and final["epochs"] == 1
    (record,) = history(out)
    assert 0 < record["partial_epoch_batches"] < 6  # stopped inside epoch 1 (6 global batches)
