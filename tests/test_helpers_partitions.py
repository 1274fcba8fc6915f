"""helpers.partitions: every split is disjoint and covers every example once; the skews behave as documented."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import partitions as PA


def _labels(n=1000, k=10, seed=0):
    return np.random.default_rng(seed).integers(0, k, size=n)


def _parts_of(owner, t):
    return [np.flatnonzero(owner == i) for i in range(t)]


def _assert_cover(parts, n):
    allidx = np.concatenate(parts)
    assert all(p.dtype == np.int64 for p in parts)
    assert all(np.array_equal(p, np.sort(p)) for p in parts)
    assert np.array_equal(np.sort(allidx), np.arange(n)), "every example exactly once"


@pytest.mark.parametrize("make", [
    lambda y, rng: PA.iid_partition(len(y), num_parts=7, rng=rng),
    lambda y, rng: PA.shard_partition(y, num_parts=7, shards_per_part=2, rng=rng),
    lambda y, rng: PA.dirichlet_partition(y, num_parts=7, alpha=0.3, rng=rng),
    lambda y, rng: _parts_of(PA.key_partition(np.arange(len(y)), num_parts=7, rng=rng), 7),
])
def test_partitions_cover_every_example_exactly_once(make):
    y = _labels()
    parts = make(y, np.random.default_rng(1))
    assert len(parts) == 7 and all(len(p) > 0 for p in parts)
    _assert_cover(parts, len(y))
    # reproducible with the same generator, different with another
    again = make(y, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    other = make(y, np.random.default_rng(2))
    assert not all(np.array_equal(a, b) for a, b in zip(parts, other))


def test_iid_parts_are_nearly_equal():
    sizes = [len(p) for p in PA.iid_partition(1003, num_parts=10, rng=np.random.default_rng(0))]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == 1003


def test_shard_split_gives_each_part_few_classes():
    # sorted by label into 20 shards of 50, 2 shards per part: a part sees at most 2 + 2 classes (a shard can
    # straddle a class boundary), far from the 10 an IID part sees
    y = np.repeat(np.arange(10), 100)
    parts = PA.shard_partition(y, num_parts=10, shards_per_part=2, rng=np.random.default_rng(0))
    skew = PA.label_skew(parts, y, num_classes=10)
    assert skew.sum() == 1000 and (skew.sum(axis=1) == 100).all()
    assert ((skew > 0).sum(axis=1) <= 2).all()  # 100 per class = 2 whole shards: no straddling
    iid = PA.label_skew(PA.iid_partition(1000, num_parts=10, rng=np.random.default_rng(0)), y, num_classes=10)
    assert ((iid > 0).sum(axis=1) >= 8).all()


def _mean_tv(parts, y, k=10):
    skew = PA.label_skew(parts, y, num_classes=k).astype(float)
    local = skew / skew.sum(axis=1, keepdims=True)
    glob = np.bincount(y, minlength=k) / len(y)
    return float(0.5 * np.abs(local - glob).sum(axis=1).mean())


def test_dirichlet_skew_grows_as_alpha_shrinks():
    y = _labels(5000)
    tv = {a: np.mean([_mean_tv(PA.dirichlet_partition(y, num_parts=10, alpha=a, rng=np.random.default_rng(s)), y)
                      for s in range(3)]) for a in (0.1, 1.0, 100.0)}
    assert tv[0.1] > tv[1.0] > tv[100.0]
    assert tv[100.0] < 0.1 and tv[0.1] > 0.5


def test_dirichlet_min_size_and_clear_error():
    y = _labels(200)
    parts = PA.dirichlet_partition(y, num_parts=5, alpha=0.5, rng=np.random.default_rng(0), min_size=10)
    assert min(len(p) for p in parts) >= 10
    with pytest.raises(ValueError, match="alpha"):
        PA.dirichlet_partition(np.zeros(30, dtype=int), num_parts=30, alpha=0.01, rng=np.random.default_rng(0),
                               max_tries=3)


def test_key_partition_is_stable_under_adding_one_example():
    n, t = 500, 9
    before = PA.key_partition(np.arange(n), num_parts=t, rng=np.random.default_rng(0))
    after = PA.key_partition(np.arange(n + 1), num_parts=t, rng=np.random.default_rng(0))
    assert np.array_equal(before, after[:n])  # no other example moved
    removed = PA.key_partition(np.delete(np.arange(n), 17), num_parts=t, rng=np.random.default_rng(0))
    assert np.array_equal(removed, np.delete(before, 17))
    # an IID split is not stable: one example more moves most of the others
    a = PA.iid_partition(n, num_parts=t, rng=np.random.default_rng(0))
    b = PA.iid_partition(n + 1, num_parts=t, rng=np.random.default_rng(0))
    owner_a = np.empty(n, int)
    owner_b = np.empty(n + 1, int)
    for i, (pa, pb) in enumerate(zip(a, b)):
        owner_a[pa], owner_b[pb] = i, i
    assert (owner_a != owner_b[:n]).mean() > 0.2


def test_assign_teachers_is_key_partition():
    from helpers import pate

    keys = np.arange(300)
    assert np.array_equal(pate.assign_teachers(keys, num_teachers=7, rng=np.random.default_rng(3)),
                          PA.key_partition(keys, num_parts=7, rng=np.random.default_rng(3)))
    assert pate.HASH_PRIME == PA.HASH_PRIME == 2**31 - 1


def test_label_skew_accepts_part_of():
    y = _labels(100)
    owner = PA.key_partition(np.arange(100), num_parts=4, rng=np.random.default_rng(0))
    m = PA.label_skew(owner, y, num_classes=10)
    assert m.shape == (4, 10) and m.sum() == 100
    assert np.array_equal(m[2], np.bincount(y[owner == 2], minlength=10))


@pytest.mark.parametrize("call", [
    lambda: PA.iid_partition(0, num_parts=1),
    lambda: PA.iid_partition(5, num_parts=6),
    lambda: PA.iid_partition(5, num_parts=2, rng=np.random.RandomState(0)),
    lambda: PA.shard_partition([0, 1, 2], num_parts=2, shards_per_part=2),
    lambda: PA.shard_partition([0.5, 1.0], num_parts=1),
    lambda: PA.dirichlet_partition(_labels(), num_parts=3, alpha=0.0),
    lambda: PA.dirichlet_partition(_labels(), num_parts=3, alpha=-1.0),
    lambda: PA.key_partition(np.array([-1, 2]), num_parts=2),
    lambda: PA.key_partition(np.arange(5), num_parts=0),
    lambda: PA.label_skew([np.arange(3)], [0, 1, 5], num_classes=3),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
