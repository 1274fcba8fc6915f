"""Toy databases and their neighbouring databases (lesson 01).

A *database* here is a 1-D numpy array with one entry per person: a bit (``0``/``1``,
"has the disease") or a bounded number (an age, a salary clipped to ``[lo, hi]``).

Differential privacy compares a database ``D`` with its *neighbours* ``D'``, the databases
that differ from ``D`` in one person's data. Two definitions are in use:

* **remove-one** (unbounded DP, Dwork, McSherry, Nissim & Smith 2006): ``D'`` is ``D`` with
  one person removed (or added); ``D`` with ``n`` people has ``n`` remove-one neighbours of
  ``n - 1`` people each;
* **replace-one** (bounded DP): ``D'`` is ``D`` with one person's value replaced by another
  allowed value; the size ``n`` is public and fixed. For a bit vector, the replace-one
  neighbours of ``D`` are the ``n`` vectors with one bit flipped.

The neighbours are built without Python loops, as rows of one matrix, so a query that
works on the last axis (``db.sum(axis=-1)``) can be evaluated on all of them at once.

Introduced in lesson 01 (``01_sensitivity``); reused by lessons 02 and 03.

References
----------
C. Dwork, F. McSherry, K. Nissim, A. Smith. "Calibrating Noise to Sensitivity in Private
Data Analysis." TCC 2006.
C. Dwork, A. Roth. "The Algorithmic Foundations of Differential Privacy." 2014, §2.3.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import as_database, as_rng, check_positive_int, check_probability

__all__ = ["make_database", "remove_one_neighbours", "replace_one_neighbours"]


def make_database(n: int, *, p: float = 0.5, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """A random database of ``n`` people, each holding one private bit.

    Each entry is an independent Bernoulli(``p``) draw: ``db[i] = 1`` with probability ``p``
    (for example "person ``i`` answered yes").

    Parameters
    ----------
    n
        Number of people (rows), an integer >= 1.
    p
        Probability that a person's bit is 1, in ``[0, 1]``.
    rng
        A ``numpy.random.Generator`` or an int seed (``None``: a fresh unseeded generator).
        The draw is ``(rng.random(n) < p)``, so the same seed gives the same database.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``, dtype ``int64``, entries in ``{0, 1}``.

    Raises
    ------
    ValueError
        If ``n`` is not an integer >= 1 or ``p`` is not in ``[0, 1]``.

    Examples
    --------
    >>> make_database(5, rng=0)
    array([0, 1, 1, 1, 0])
    """
    n = check_positive_int(n, "n")
    p = check_probability(p, "p")
    gen = as_rng(rng)
    return (gen.random(n) < p).astype(np.int64)


def remove_one_neighbours(db: Any) -> np.ndarray:
    """All remove-one neighbours of ``db``: row ``i`` is ``db`` without person ``i``.

    ``out[i] = concatenate(db[:i], db[i+1:])``, built with one boolean mask (no Python loop).

    Parameters
    ----------
    db
        A 1-D database with ``n >= 1`` entries (bits or numbers).

    Returns
    -------
    numpy.ndarray
        Shape ``(n, n - 1)``, same dtype as ``db``. (For ``n = 1`` the only neighbour is the
        empty database, shape ``(1, 0)``.)

    Raises
    ------
    ValueError
        If ``db`` is not 1-D, is empty, or holds NaN.

    Examples
    --------
    >>> remove_one_neighbours(np.array([1, 0, 1]))
    array([[0, 1],
           [1, 1],
           [1, 0]])
    """
    arr = as_database(db)
    n = arr.size
    keep = ~np.eye(n, dtype=bool)
    return np.broadcast_to(arr, (n, n))[keep].reshape(n, n - 1)


def replace_one_neighbours(db: Any) -> np.ndarray:
    """All replace-one neighbours of a bit vector: row ``i`` is ``db`` with bit ``i`` flipped.

    ``out[i, j] = db[j]`` for ``j != i`` and ``out[i, i] = 1 - db[i]``. For a 0/1 database
    these are *all* the databases of the same size that differ in one person.

    Parameters
    ----------
    db
        A 1-D 0/1 database with ``n >= 1`` entries.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, n)``, same dtype as ``db``.

    Raises
    ------
    ValueError
        If ``db`` is not 1-D, is empty, holds NaN or holds values other than 0 and 1.

    Examples
    --------
    >>> replace_one_neighbours(np.array([1, 0, 1]))
    array([[0, 0, 1],
           [1, 1, 1],
           [1, 0, 0]])
    """
    arr = as_database(db, binary=True)
    n = arr.size
    out = np.tile(arr, (n, 1))
    idx = np.arange(n)
    out[idx, idx] = 1 - arr
    return out
