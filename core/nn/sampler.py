"""Length-bucketing batch sampler: batches of similar lengths, so padding stays small.

Indices are shuffled, cut into pools of ``pool_batches`` batches, each pool is sorted by
length and cut into batches, and the batch order is shuffled again. With ``max_tokens``
a batch is bounded by (longest length in it) x (count) instead of a fixed count.
``num_replicas`` / ``rank`` give each distributed process an equal share of batches.

Example:
    >>> s = BucketBatchSampler([5, 1, 4, 2, 3, 6], 2, shuffle=False)
    >>> list(s)
    [[1, 3], [4, 2], [0, 5]]
"""

from __future__ import annotations

import random
from typing import Iterator

from torch.utils.data import Sampler

from core.errors import ConfigError


class BucketBatchSampler(Sampler[list[int]]):
    """Yields lists of dataset indices; pass as ``DataLoader(ds, batch_sampler=...)``.

    ``batch_size`` caps the count per batch (also with ``max_tokens``); ``set_epoch(e)``
    reshuffles reproducibly (seed + epoch), the same on every replica.
    """

    def __init__(
        self,
        lengths: list[int],
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        max_tokens: int | None = None,
        num_replicas: int = 1,
        rank: int = 0,
        pool_batches: int = 50,
    ):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size: must be a positive integer, got {batch_size!r}")
        if max_tokens is not None and max_tokens < 1:
            raise ConfigError(f"max_tokens: must be a positive integer, got {max_tokens!r}")
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ConfigError(f"rank: must be in 0..{num_replicas - 1}, got {rank}")
        self.lengths = [int(n) for n in lengths]
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.drop_last, self.max_tokens = drop_last, max_tokens
        self.num_replicas, self.rank, self.pool_batches = num_replicas, rank, pool_batches
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _cut(self, indices: list[int]) -> list[list[int]]:
        """Cut indices (sorted by length) into batches by count or by padded tokens."""
        batches, current, longest = [], [], 0
        for i in indices:
            grown = max(longest, self.lengths[i])
            too_many = len(current) >= self.batch_size
            too_big = self.max_tokens is not None and current and grown * (len(current) + 1) > self.max_tokens
            if too_many or too_big:
                batches.append(current)
                current, grown = [], self.lengths[i]
            current.append(i)
            longest = grown
        if current and not (self.drop_last and self.max_tokens is None and len(current) < self.batch_size):
            batches.append(current)
        return batches

    def _all_batches(self) -> list[list[int]]:
        order = list(range(len(self.lengths)))
        if not self.shuffle:
            return self._cut(sorted(order, key=lambda i: self.lengths[i]))
        rng = random.Random(self.seed + self.epoch)
        rng.shuffle(order)
        pool = self.batch_size * self.pool_batches
        batches = []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start : start + pool], key=lambda i: self.lengths[i])
            batches.extend(self._cut(chunk))
        rng.shuffle(batches)
        return batches

    def _my_batches(self) -> list[list[int]]:
        batches = self._all_batches()
        if self.num_replicas == 1:
            return batches
        # equal share per replica: drop the remainder (drop_last) or repeat from the start
        per_replica = (
            len(batches) // self.num_replicas if self.drop_last else -(-len(batches) // self.num_replicas)
        )
        total = per_replica * self.num_replicas
        padded = (batches * (total // max(len(batches), 1) + 1))[:total] if batches else []
        return padded[self.rank : total : self.num_replicas]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._my_batches())

    def __len__(self) -> int:
        return len(self._my_batches())
