"""One rank's share of every batch, for data-parallel training (``core.engine.distributed``)."""

from __future__ import annotations

from typing import Any, Iterator

from torch.utils.data import Sampler

from core.errors import ConfigError


class ShardedBatchSampler(Sampler[list[int]]):
    """Rank ``rank``'s contiguous slice of every batch ``base`` yields (the global batch).

    Every rank iterates the same base batches (same seed, same epoch), so all ranks get the
    same number of batches and together they see exactly the global batch. A batch smaller
    than the world repeats its items so no rank is empty (the only inexact case).

    Example:
        >>> [list(ShardedBatchSampler(base=[[0, 1, 2, 3, 4]], num_replicas=2, rank=r)) for r in (0, 1)]
        [[[0, 1]], [[2, 3, 4]]]
    """

    def __init__(self, *, base: Any, num_replicas: int, rank: int):
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ConfigError(f"rank: must be in 0..{num_replicas - 1}, got {rank}")
        self.base, self.num_replicas, self.rank = base, num_replicas, rank
        self.sampler = getattr(base, "sampler", None)  # seed_loader_epoch reseeds its generator

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.base, "set_epoch"):
            self.base.set_epoch(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.base:
            batch = list(batch)
            if len(batch) < self.num_replicas:
                yield [batch[self.rank % len(batch)]]
                continue
            start = self.rank * len(batch) // self.num_replicas
            yield batch[start : (self.rank + 1) * len(batch) // self.num_replicas]

    def __len__(self) -> int:
        return len(self.base)
