"""Bucketing keeps padding small, covers every index once, and splits across replicas."""

from __future__ import annotations

import random

import pytest

from core import BucketBatchSampler
from core.errors import ConfigError

_RNG = random.Random(1)
LENGTHS = [_RNG.randint(20, 200) for _ in range(1000)]


def _flat(batches):
    return [i for batch in batches for i in batch]


def _padded_tokens(batches):
    return sum(max(LENGTHS[i] for i in b) * len(b) for b in batches)


def test_every_index_once_and_padding_much_smaller_than_random():
    sampler = BucketBatchSampler(LENGTHS, 32, seed=3)
    batches = list(sampler)
    assert sorted(_flat(batches)) == list(range(len(LENGTHS)))
    assert len(batches) == len(sampler) == 32  # ceil(1000 / 32)
    shuffled = list(range(len(LENGTHS)))
    random.Random(0).shuffle(shuffled)
    random_batches = [shuffled[i : i + 32] for i in range(0, len(shuffled), 32)]
    assert _padded_tokens(batches) < 0.75 * _padded_tokens(random_batches)
    assert _padded_tokens(batches) < 1.1 * sum(LENGTHS)


def test_epochs_reshuffle_reproducibly():
    a, b = BucketBatchSampler(LENGTHS, 16, seed=7), BucketBatchSampler(LENGTHS, 16, seed=7)
    first = list(a)
    assert first == list(b)
    a.set_epoch(1)
    assert list(a) != first and sorted(_flat(list(a))) == sorted(_flat(first))


def test_no_shuffle_is_sorted_and_drop_last_drops_the_short_batch():
    sampler = BucketBatchSampler(LENGTHS, 64, shuffle=False, drop_last=True)
    batches = list(sampler)
    assert all(len(b) == 64 for b in batches) and len(batches) == 1000 // 64
    flat = [LENGTHS[i] for i in _flat(batches)]
    assert flat == sorted(flat)


def test_max_tokens_bounds_padded_batch_size():
    sampler = BucketBatchSampler(LENGTHS, 10_000, max_tokens=2000, seed=0)
    batches = list(sampler)
    assert sorted(_flat(batches)) == list(range(len(LENGTHS)))
    assert all(max(LENGTHS[i] for i in b) * len(b) <= 2000 for b in batches)
    sizes = [len(b) for b in batches]
    assert max(sizes) > min(sizes)  # short sequences get bigger batches


def test_a_sequence_longer_than_max_tokens_gets_its_own_batch():
    batches = list(BucketBatchSampler([5, 50, 6], 8, max_tokens=20, shuffle=False))
    assert [1] in batches and sorted(_flat(batches)) == [0, 1, 2]


@pytest.mark.parametrize("drop_last", (False, True))
def test_replicas_get_equal_disjoint_shares(drop_last):
    shares = [
        list(BucketBatchSampler(LENGTHS, 48, num_replicas=3, rank=r, seed=2, drop_last=drop_last))
        for r in range(3)
    ]
    assert len({len(s) for s in shares}) == 1
    seen = [_flat(s) for s in shares]
    if drop_last:
        assert not set(seen[0]) & set(seen[1]) and not set(seen[1]) & set(seen[2])
    else:
        assert set().union(*map(set, seen)) == set(range(len(LENGTHS)))


@pytest.mark.parametrize(
    "kwargs,field",
    [
        (dict(batch_size=0), "batch_size"),
        (dict(max_tokens=0), "max_tokens"),
        (dict(num_replicas=2, rank=2), "rank"),
    ],
)
def test_bad_arguments_raise_config_error(kwargs, field):
    args = dict(batch_size=4) | kwargs
    with pytest.raises(ConfigError, match=field):
        BucketBatchSampler(LENGTHS, args.pop("batch_size"), **args)
