r"""Splitting a data set into disjoint parts: PATE teachers, federated clients, shadow data sets.

One concept, several lessons: lesson 04 gives every private example to one PATE *teacher*,
lesson 06 gives every example to one federated *client* (IID or label-skewed), lesson 07 cuts
shadow data sets for membership inference. Every function here returns parts that are
**disjoint and cover** ``range(n)`` exactly once:

* :func:`iid_partition` — a uniformly random split into nearly equal parts;
* :func:`shard_partition` — McMahan et al. (2017)'s pathological non-IID split: sort by label,
  cut into ``num_parts × shards_per_part`` shards, give each part ``shards_per_part`` random shards;
* :func:`dirichlet_partition` — per class, proportions drawn from Dirichlet(α) (Hsu, Qi & Brown
  2019): small α, each part holds few classes; large α, close to IID;
* :func:`key_partition` — the part of every example from a random hash of its own fixed key
  (Carter & Wegman 1979), so that **adding or removing one example moves no other example**:
  the property PATE's privacy analysis needs (one example changes one teacher's shard);
* :func:`label_skew` — the parts × classes count matrix, for plots and tests.

Privacy note: only :func:`key_partition` is stable under adding/removing an example. The other
three look at all of ``range(n)`` (a permutation, or the labels), so one example more can move
every other example to another part. They are fine to split data *for an experiment*; when a
DP guarantee relies on "one example changes one part", use :func:`key_partition`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import as_labels, as_rng, check_positive, check_positive_int

__all__ = [
    "HASH_PRIME",
    "iid_partition",
    "shard_partition",
    "dirichlet_partition",
    "key_partition",
    "label_skew",
]

#: The Mersenne prime 2**31 - 1: keys and the hash parameters live in 0..p-1 (Carter & Wegman 1979).
HASH_PRIME = 2**31 - 1


def _check_n(n: Any) -> int:
    return check_positive_int(n, "n")


def _labels(labels: Any) -> np.ndarray:
    return as_labels(labels, "labels", ndim=1)


def _check_parts(num_parts: Any, n: int) -> int:
    num_parts = check_positive_int(num_parts, "num_parts")
    if num_parts > n:
        raise ValueError(f"num_parts must be <= the number of examples ({n}), got {num_parts}")
    return num_parts


def iid_partition(n: int, *, num_parts: int, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """A uniformly random split of ``range(n)`` into ``num_parts`` nearly equal parts.

    ``rng.permutation(n)`` cut into ``num_parts`` slices whose sizes differ by at most one
    (``np.array_split``); each part is returned sorted.

    Parameters
    ----------
    n
        Number of examples (>= 1).
    num_parts
        Number of parts, ``1 <= num_parts <= n``.
    rng
        Numpy generator (``None``: a fresh unseeded one).

    Returns
    -------
    list of numpy.ndarray
        ``num_parts`` sorted ``int64`` index arrays, disjoint, covering ``range(n)``.
    """
    n = _check_n(n)
    num_parts = _check_parts(num_parts, n)
    perm = as_rng(rng).permutation(n)
    return [np.sort(p).astype(np.int64) for p in np.array_split(perm, num_parts)]


def shard_partition(labels: Any, *, num_parts: int, shards_per_part: int = 2,
                    rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """McMahan et al. (2017)'s pathological non-IID split: every part holds a few label-sorted shards.

    Sort the examples by label (stable), cut them into ``num_parts × shards_per_part`` shards of
    nearly equal size, and give each part ``shards_per_part`` shards chosen at random (a random
    permutation of the shards). With 10 classes and 2 shards per part, most parts see two classes.

    Parameters
    ----------
    labels
        Integer labels, one per example.
    num_parts, shards_per_part
        Number of parts and shards per part (``num_parts × shards_per_part <= n``).
    rng
        Numpy generator, as for :func:`iid_partition`; the return value is as there too.

    References
    ----------
    McMahan, Moore, Ramage, Hampson & Agüera y Arcas, "Communication-efficient learning of deep
    networks from decentralized data", AISTATS 2017, Sec. 3.
    """
    y = _labels(labels)
    num_parts = check_positive_int(num_parts, "num_parts")
    shards_per_part = check_positive_int(shards_per_part, "shards_per_part")
    num_shards = num_parts * shards_per_part
    if num_shards > len(y):
        raise ValueError(f"num_parts × shards_per_part = {num_shards} shards, more than the {len(y)} examples")
    shards = np.array_split(np.argsort(y, kind="stable"), num_shards)
    order = as_rng(rng).permutation(num_shards).reshape(num_parts, shards_per_part)
    return [np.sort(np.concatenate([shards[s] for s in row])).astype(np.int64) for row in order]


def dirichlet_partition(labels: Any, *, num_parts: int, alpha: float, rng: np.random.Generator | None = None,
                        min_size: int = 1, max_tries: int = 100) -> list[np.ndarray]:
    r"""Label-skewed split: for every class, the parts' shares are drawn from Dirichlet(α, …, α).

    For each class ``c`` (in increasing order): shuffle its examples, draw proportions
    :math:`p \sim \mathrm{Dir}(\alpha \mathbf 1_{K})` over the ``K = num_parts`` parts and cut the
    shuffled examples at ``round(cumsum(p) · n_c)``. Small α (0.1) gives each part a few classes;
    large α (100) is close to IID. If a part ends up with fewer than ``min_size`` examples the whole
    draw is repeated (at most ``max_tries`` times), the usual practice (Hsu, Qi & Brown 2019;
    FedML); the split is then Dirichlet *conditioned* on that event.

    Parameters
    ----------
    labels
        Integer labels, one per example.
    num_parts
        Number of parts ``K``.
    alpha
        Concentration α > 0.
    rng
        Numpy generator (``None``: a fresh unseeded one).
    min_size
        Every part gets at least this many examples (default 1: no empty part).
    max_tries
        Draws to attempt before giving up.

    Returns
    -------
    list of numpy.ndarray
        ``num_parts`` sorted ``int64`` index arrays, disjoint, covering ``range(n)``.

    Raises
    ------
    ValueError
        Invalid arguments, or no draw in ``max_tries`` gave every part ``min_size`` examples
        (use a larger α, fewer parts or a smaller ``min_size``).

    References
    ----------
    Hsu, Qi & Brown, "Measuring the effects of non-identical data distribution for federated
    visual classification", 2019.
    """
    y = _labels(labels)
    num_parts = _check_parts(num_parts, len(y))
    alpha = check_positive(alpha, "alpha")
    min_size = check_positive_int(min_size, "min_size")
    max_tries = check_positive_int(max_tries, "max_tries")
    if min_size * num_parts > len(y):
        raise ValueError(f"min_size × num_parts = {min_size * num_parts} is more than the {len(y)} examples")
    rng = as_rng(rng)
    by_class = [np.flatnonzero(y == c) for c in np.unique(y)]
    for _ in range(max_tries):
        parts: list[list[np.ndarray]] = [[] for _ in range(num_parts)]
        for idx in by_class:
            idx = rng.permutation(idx)
            cuts = np.round(np.cumsum(rng.dirichlet(np.full(num_parts, alpha)))[:-1] * len(idx)).astype(int)
            for k, piece in enumerate(np.split(idx, cuts)):
                parts[k].append(piece)
        out = [np.sort(np.concatenate(p)).astype(np.int64) for p in parts]
        if min(len(p) for p in out) >= min_size:
            return out
    raise ValueError(f"dirichlet_partition: no draw in {max_tries} tries gave every one of the {num_parts} parts "
                     f"at least {min_size} examples at alpha={alpha}; use a larger alpha or fewer parts")


def key_partition(keys: Any, *, num_parts: int, rng: np.random.Generator | None = None) -> np.ndarray:
    r"""The part of every example, from a random hash of the example's own fixed key.

    .. math:: t(k) = \big((a k + b) \bmod p\big) \bmod T, \qquad p = 2^{31} - 1,

    with ``a = rng.integers(1, p)`` then ``b = rng.integers(0, p)`` drawn once, before looking at
    the data (a universal hash family; Carter & Wegman 1979). Part ``t`` is
    ``np.flatnonzero(part_of == t)``.

    Why a key and not a shuffle: an example's part depends only on its own key and on ``(a, b)``,
    so adding or removing one example changes exactly one part and leaves every other part as
    it was — what PATE's privacy unit (one example, added or removed) needs. Cutting a random
    permutation of ``range(n)`` does not have this property: with ``n + 1`` examples the
    permutation, hence almost every slice, changes. Parts are disjoint and nearly (not exactly)
    equal in size.

    Parameters
    ----------
    keys
        One fixed identifier per example: integers in ``0 .. 2**31 - 2`` (e.g. the row number in
        the data set it comes from). Examples sharing a key share a part: with a user id as key,
        all of a user's examples land in one part (user-level units).
    num_parts
        Number of parts ``T >= 1``.
    rng
        Numpy generator for the hash parameters (``None``: a fresh unseeded one).

    Returns
    -------
    numpy.ndarray
        ``int64`` array of the shape of ``keys``: the part (``0 .. T-1``) of every example.

    Raises
    ------
    ValueError
        If ``keys`` is not a non-empty 1-D array of integers in ``0 .. 2**31 - 2``, or
        ``num_parts`` is not an integer >= 1.
    """
    k = np.asarray(keys)
    if k.ndim != 1 or k.size == 0:
        raise ValueError(f"keys must be a non-empty 1-D array, got shape {k.shape}")
    if k.dtype.kind not in "iu":
        raise ValueError(f"keys must hold integers, got dtype {k.dtype}")
    if (k < 0).any() or (k >= HASH_PRIME).any():
        raise ValueError(f"keys must be in 0 .. 2**31 - 2, got values from {int(k.min())} to {int(k.max())}")
    num_parts = check_positive_int(num_parts, "num_parts")
    rng = as_rng(rng)
    a = int(rng.integers(1, HASH_PRIME))
    b = int(rng.integers(0, HASH_PRIME))
    return ((a * k.astype(np.int64) + b) % HASH_PRIME % num_parts).astype(np.int64)


def label_skew(parts: Any, labels: Any, *, num_classes: int) -> np.ndarray:
    """How many examples of each class every part holds: an ``int64`` matrix (parts × classes).

    ``parts`` is a list of index arrays (as returned by the partitions above) or a ``part_of``
    array (as returned by :func:`key_partition`).
    """
    y = _labels(labels)
    num_classes = check_positive_int(num_classes, "num_classes")
    if y.max() >= num_classes:
        raise ValueError(f"labels hold {int(y.max())}, outside 0..num_classes-1 = 0..{num_classes - 1}")
    if isinstance(parts, np.ndarray) and parts.ndim == 1 and parts.dtype.kind in "iu" and len(parts) == len(y):
        parts = [np.flatnonzero(parts == t) for t in range(int(parts.max()) + 1)]
    out = np.zeros((len(parts), num_classes), dtype=np.int64)
    for t, idx in enumerate(parts):
        out[t] = np.bincount(y[np.asarray(idx, dtype=np.int64)], minlength=num_classes)
    return out
