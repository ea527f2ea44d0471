"""The engine tests' toy domain as a torchrun script, plus a hook that kills one rank.

``torchrun --standalone --nproc_per_node 2 tests/core/ddp_toy_domain.py --out runs/x``.
``RNNSUITE_TEST_DIE_AT="RANK:EPOCH:BATCH"`` makes that rank exit (status 17) while its
BATCH-th training batch (0-based) of EPOCH (0-based) is collated: a crash mid-epoch.
The domain, config and checkpoints are exactly the toy domain's, so a checkpoint written
here loads with ``core_toy_domain.DOMAIN`` in one process.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # core_toy_domain (it adds the repo root)

import core_toy_domain as toy  # noqa: E402

from core.engine.domain import DataBundle  # noqa: E402
from core.engine.run import train_main  # noqa: E402


class DieAt:
    """Wrap a collate function: exit this process at (epoch, batch) when RANK matches."""

    def __init__(self, collate, spec: str):
        rank, epoch, batch = (int(part) for part in spec.split(":"))
        self.collate, self.calls = collate, 0
        self.at = epoch, batch
        self.armed = int(os.environ.get("RANK", "0")) == rank
        self.per_epoch = 0  # set by build_data

    def __call__(self, items):
        # the toy train loader collates once per batch, epochs one after another
        if self.armed and self.calls == self.at[0] * self.per_epoch + self.at[1]:
            print(f"rank {os.environ.get('RANK')}: simulated crash", file=sys.stderr, flush=True)
            os._exit(17)
        self.calls += 1
        return self.collate(items)


def build_data(cfg: toy.ToyConfig) -> DataBundle:
    data = toy.build_data(cfg)
    spec = os.environ.get("RNNSUITE_TEST_DIE_AT", "")
    if spec:
        die = DieAt(data.train.collate_fn, spec)
        die.per_epoch = len(data.train)  # batches per epoch (global batches = each rank's count)
        loader = data.train
        train = type(loader)(
            loader.dataset,
            batch_size=loader.batch_size,
            shuffle=True,
            collate_fn=die,
            generator=loader.generator,
        )
        data = dataclasses.replace(data, train=train)
    return data


DOMAIN = dataclasses.replace(toy.DOMAIN, build_data=build_data)

if __name__ == "__main__":
    raise SystemExit(train_main(DOMAIN))
