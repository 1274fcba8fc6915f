"""Sensitivity of a query: empirical (local) versus global, and the differencing attack (lesson 01).

The *global* L1 sensitivity of a query ``f`` is the largest change one person can cause,
over **every** database and every neighbour of it (Dwork, McSherry, Nissim & Smith 2006):

.. math:: \\Delta f = \\max_{D \\simeq D'} \\lVert f(D) - f(D') \\rVert_1 .

It is a property of the query (and of the value bounds and the neighbour relation),
not of the data, and it is what the Laplace mechanism (L1) and the Gaussian mechanism (the L2
version) are calibrated to: their release is DP for the neighbour relation the sensitivity was
computed under.

The *empirical* sensitivity at one database ``D`` maximises only over the neighbours of
that ``D``; it is the *local* sensitivity ``LS_f(D)`` (Nissim, Raskhodnikova & Smith 2007)
restricted to the neighbours we enumerate. It can be much smaller than ``Δf`` (the
threshold query's is 0 almost everywhere although ``Δf = 1``), and it depends on the data,
so calibrating noise to it leaks information. A common mistake is to compute the empirical
value on the database at hand (or on one random database) and call it "the sensitivity"; it
is only a lower bound on the global sensitivity.

Global sensitivities (``neighbours="remove"``: add/remove one person, databases of any size,
non-empty for the mean and the max; ``neighbours="replace"``: change one person's value, size ``n``
fixed and public), values in ``[lower, upper]``:

===============  =========================  ======================
query            remove-one                 replace-one
===============  =========================  ======================
count            1                          1
histogram (L1)   1                          2
sum              max(|lower|, |upper|)      upper - lower
mean             (upper - lower) / 2        (upper - lower) / n
max              upper - lower              upper - lower
threshold 1[·]   1                          1
===============  =========================  ======================

(Under remove-one, ``(upper - lower) / n`` bounds the mean only between databases of ``n`` and
``n - 1`` rows; over every size the worst case is two rows becoming one, see :func:`mean_sensitivity`.)

Introduced in lesson 01 (``01_sensitivity``); lesson 03 calibrates noise with these values.

References
----------
C. Dwork, F. McSherry, K. Nissim, A. Smith. "Calibrating Noise to Sensitivity in Private
Data Analysis." TCC 2006.
K. Nissim, S. Raskhodnikova, A. Smith. "Smooth Sensitivity and Sampling in Private Data
Analysis." STOC 2007.
C. Dwork, A. Roth. "The Algorithmic Foundations of Differential Privacy." 2014, §3.3.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._validation import as_database, check_bounds, check_neighbours, check_positive_int
from .databases import remove_one_neighbours, replace_one_neighbours

__all__ = [
    "empirical_sensitivity",
    "count_sensitivity",
    "histogram_sensitivity",
    "sum_sensitivity",
    "mean_sensitivity",
    "max_sensitivity",
    "threshold_sensitivity",
    "differencing_attack",
    "l1_sensitivity",
    "l2_sensitivity",
]

def _query_value(query: Callable[[np.ndarray], Any], db: np.ndarray) -> np.ndarray:
    value = np.asarray(query(db), dtype=float)
    if value.ndim > 1:
        raise ValueError(f"query must return a number or a 1-D vector, got shape {value.shape}")
    return value


def _vector_value(query: Callable[[np.ndarray], Any], db: np.ndarray) -> np.ndarray:
    return np.atleast_1d(np.asarray(query(db), dtype=float))


def _largest_change(query: Callable[[np.ndarray], Any], db: np.ndarray, others: Any, norm: float,
                    value: Callable[[Callable[[np.ndarray], Any], np.ndarray], np.ndarray]) -> float:
    """``max_{D' in others} ‖f(db) − f(D')‖_norm``: the one loop behind every empirical sensitivity here."""
    base = value(query, db)
    largest = 0.0
    for other_db in others:
        other = value(query, other_db)
        if other.shape != base.shape:
            raise ValueError(f"query returned shape {other.shape} on a neighbour but {base.shape} on db")
        largest = max(largest, float(np.linalg.norm(np.atleast_1d(base - other).ravel(), ord=norm)))
    return largest


def empirical_sensitivity(
    query: Callable[[np.ndarray], Any],
    db: Any,
    *,
    neighbours: str = "remove",
    norm: float = 1,
) -> float:
    """The largest change of ``query`` between ``db`` and any one of its neighbours.

    .. math:: \\widehat{\\Delta} f(D) = \\max_{D' \\in N(D)} \\lVert f(D) - f(D') \\rVert_p

    where ``N(D)`` is the set of remove-one neighbours (``n`` databases of ``n - 1`` rows)
    or replace-one neighbours (bit ``i`` flipped, ``n`` databases) of ``D``.

    This is a *local* quantity: it depends on ``db``. It is a lower bound on the global
    sensitivity ``Δf`` (the maximum of this over all databases), never a substitute for it:
    noise calibrated to it is not differentially private (Nissim, Raskhodnikova & Smith 2007).

    Parameters
    ----------
    query
        A function of one 1-D database returning a number or a 1-D vector
        (``np.sum``, ``np.mean``, ``lambda d: float(d.sum() > 5)``, a histogram ...).
    db
        The 1-D database (``n >= 1`` rows; 0/1 values for ``neighbours="replace"``).
    neighbours
        ``"remove"`` (remove one person) or ``"replace"`` (flip one person's bit).
    norm
        The norm ``p`` of the change: ``1`` (default, for the Laplace mechanism), ``2``
        (for the Gaussian mechanism) or ``numpy.inf``.

    Returns
    -------
    float
        ``max_i ||query(db) - query(neighbour_i)||_p`` (``0.0`` if no neighbour changes the answer).

    Raises
    ------
    ValueError
        If ``db`` is not a valid database, ``neighbours`` is not ``"remove"``/``"replace"``,
        ``norm`` is not 1, 2 or inf, or the query returns arrays of different shapes.

    Examples
    --------
    >>> empirical_sensitivity(np.sum, np.array([1, 0, 1]))
    1.0
    >>> empirical_sensitivity(np.sum, np.array([0, 0, 0]))   # global sensitivity is still 1
    0.0
    """
    neighbours = check_neighbours(neighbours)
    if norm not in (1, 2, np.inf):
        raise ValueError(f"norm must be 1, 2 or numpy.inf, got {norm!r}")
    arr = as_database(db, binary=(neighbours == "replace"))
    rows = remove_one_neighbours(arr) if neighbours == "remove" else replace_one_neighbours(arr)
    return _largest_change(query, arr, rows, norm, _query_value)


def count_sensitivity(*, neighbours: str = "remove") -> float:
    """Global sensitivity of a counting query ``#{i : predicate(row_i)}``: 1.

    Adding, removing or changing one person changes the count by at most one, for either
    neighbour relation (Dwork & Roth 2014, Example 3.1).

    Parameters
    ----------
    neighbours
        ``"remove"`` or ``"replace"``.

    Returns
    -------
    float
        ``1.0``.

    Raises
    ------
    ValueError
        If ``neighbours`` is not ``"remove"`` or ``"replace"``.
    """
    check_neighbours(neighbours)
    return 1.0


def histogram_sensitivity(*, neighbours: str = "remove") -> float:
    """Global L1 sensitivity of a histogram (counts of disjoint bins).

    Removing a person lowers one bin by 1 (``Δ = 1``); replacing a person moves them from
    one bin to another, lowering one bin and raising another (``Δ = 2``) (Dwork & Roth 2014,
    Example 3.2, stated there for add/remove).

    Parameters
    ----------
    neighbours
        ``"remove"`` or ``"replace"``.

    Returns
    -------
    float
        ``1.0`` for ``"remove"``, ``2.0`` for ``"replace"``.

    Raises
    ------
    ValueError
        If ``neighbours`` is not ``"remove"`` or ``"replace"``.
    """
    return 1.0 if check_neighbours(neighbours) == "remove" else 2.0


def sum_sensitivity(*, lower: float, upper: float, neighbours: str = "remove") -> float:
    """Global sensitivity of the sum of values clipped to ``[lower, upper]``.

    * remove-one: the removed value ``x_i`` changes the sum by ``|x_i|``, so
      ``Δ = max(|lower|, |upper|)``;
    * replace-one: ``x_i`` becomes ``x_i'``, a change of ``|x_i - x_i'| <= upper - lower``.

    For bits (``lower=0, upper=1``) both are 1.

    Parameters
    ----------
    lower, upper
        Public bounds on every value, ``lower <= upper`` (values outside must be clipped first).
    neighbours
        ``"remove"`` or ``"replace"``.

    Returns
    -------
    float
        The global L1 sensitivity.

    Raises
    ------
    ValueError
        If ``lower`` or ``upper`` is not finite, ``lower > upper``, or ``neighbours`` is unknown.
    """
    neighbours = check_neighbours(neighbours)
    lower, upper = check_bounds(lower, upper)
    return max(abs(lower), abs(upper)) if neighbours == "remove" else upper - lower


def mean_sensitivity(*, n: int, lower: float, upper: float, neighbours: str = "replace") -> float:
    """Global L1 sensitivity of the mean of values clipped to ``[lower, upper]``.

    * **replace-one** (the default; the size ``n`` is fixed and public): changing ``x_i`` to
      ``x_i'`` moves the mean of ``n`` values by ``|x_i - x_i'| / n <= (upper - lower) / n``,
      attained at ``x_i = lower``, ``x_i' = upper``. Returns ``(upper - lower) / n``.
    * **remove-one** (the size is private: neighbours have ``m`` and ``m - 1`` rows, for every
      ``m >= 2``; the mean of no rows is undefined, so databases are non-empty): removing ``x_i``
      from ``m`` values moves the mean by ``|x_i - mean(D_{-i})| / m <= (upper - lower) / m``.
      The global sensitivity is the worst case over *every* size, ``m = 2``:
      ``[lower, upper] -> [lower]`` moves the mean by ``(upper - lower) / 2``. Returns
      ``(upper - lower) / 2``, whatever ``n``.

    Guarantee: releasing the mean of the clipped values plus Laplace noise of scale
    ``mean_sensitivity(...) / epsilon`` is ``epsilon``-DP under the chosen relation (replace-one:
    among databases of exactly ``n`` rows; remove-one: among non-empty databases of any size).

    Under remove-one, ``(upper - lower) / n`` computed from the size ``n`` of the database at hand
    is *not* a valid sensitivity: it is the sensitivity restricted to databases of that one size
    (and their neighbours of ``n - 1`` rows), it fails for the neighbours of smaller databases,
    and noise scaled to it depends on the private size. ``(upper - lower) / 2`` is valid but
    about ``n / 2`` times larger than the replace-one value, which is why unbounded-DP libraries
    release a noisy sum and a noisy count instead (lesson 03, ``helpers.mechanisms.private_mean``).

    Parameters
    ----------
    n
        Number of rows of the database, an integer ``>= 1``. Public under replace-one; under
        remove-one it does not enter the result (the size is private).
    lower, upper
        Public bounds on every value, ``lower <= upper`` (values outside must be clipped first).
    neighbours
        ``"replace"`` (default) or ``"remove"``.

    Returns
    -------
    float
        ``(upper - lower) / n`` for ``"replace"``, ``(upper - lower) / 2`` for ``"remove"``.

    Raises
    ------
    ValueError
        If ``n`` is not an integer >= 1, ``lower``/``upper`` are not finite, ``lower > upper``,
        or ``neighbours`` is not ``"remove"`` or ``"replace"``.

    Examples
    --------
    >>> mean_sensitivity(n=50, lower=0, upper=100)
    2.0
    >>> mean_sensitivity(n=50, lower=0, upper=100, neighbours="remove")
    50.0

    References
    ----------
    Dwork & Roth (2014) §3.3; J. P. Near, C. Abuah, "Programming Differential Privacy" (2021),
    ch. "Sensitivity" (the bounded/unbounded mean); OpenDP's ``make_mean`` requires a known size.
    """
    neighbours = check_neighbours(neighbours)
    n = check_positive_int(n, "n")
    lower, upper = check_bounds(lower, upper)
    return (upper - lower) / (n if neighbours == "replace" else 2)


def max_sensitivity(*, lower: float, upper: float, neighbours: str = "remove") -> float:
    """Global sensitivity of the maximum of values in ``[lower, upper]``: ``upper - lower``.

    The database ``[lower, ..., lower, upper]`` has maximum ``upper``; removing (or replacing
    by ``lower``) the single ``upper`` drops it to ``lower``. No change can do more. The empirical
    value at a typical database is usually 0 (the maximum is attained twice) — a local, not
    global, fact.

    Parameters
    ----------
    lower, upper
        Public bounds on every value, ``lower <= upper``.
    neighbours
        ``"remove"`` (databases of >= 2 rows) or ``"replace"``.

    Returns
    -------
    float
        ``upper - lower``.

    Raises
    ------
    ValueError
        If ``lower`` or ``upper`` is not finite, ``lower > upper``, or ``neighbours`` is unknown.
    """
    check_neighbours(neighbours)
    lower, upper = check_bounds(lower, upper)
    return upper - lower


def threshold_sensitivity(*, neighbours: str = "remove") -> float:
    """Global sensitivity of a threshold query ``1[sum(D) > t]``: 1.

    The answer is 0 or 1. Under remove-one, only a database whose sum is exactly ``t + 1``
    can flip (to 0, when a person with a 1 leaves); under replace-one, databases whose sum is
    ``t + 1`` (a 1 becomes a 0) or ``t`` (a 0 becomes a 1). At every other database the
    empirical (local) sensitivity is 0, which is why the empirical value "flips" between 0 and 1
    from one database to the next, while the global sensitivity is 1 under both relations.

    The bound is a count's (a 0/1 answer moves by at most one): parameters, return value and
    errors as :func:`count_sensitivity`, which computes it.
    """
    return count_sensitivity(neighbours=neighbours)  # a 0/1 answer: the same bound as a count


def differencing_attack(query: Callable[[np.ndarray], Any], db: Any, *, index: int) -> float:
    """Recover person ``index``'s value from two exact aggregate answers.

    .. math:: x_{index} = f(D) - f(D_{-index})

    for the sum query ``f = sum`` (for ``f = mean`` the difference is
    ``(x_index - mean(D_{-index})) / n``, from which ``x_index`` follows). Two innocent-looking
    queries — "how many people have the disease?" and "how many, not counting person 10?" —
    reveal person 10's bit exactly. Differential privacy stops this because a DP curator never
    releases ``f`` exactly: it releases noisy answers ``M(D)``, whose distributions barely
    change when person ``index`` is removed (remove-one neighbours), so the difference of two
    noisy answers is ``x_index`` plus noise of order ``1/ε``.

    Parameters
    ----------
    query
        A function of a 1-D database returning a number (``np.sum``).
    db
        The 1-D database, ``n >= 2`` rows.
    index
        The targeted person, ``0 <= index < n``.

    Returns
    -------
    float
        ``query(db) - query(db without row index)``.

    Raises
    ------
    ValueError
        If ``db`` is not a valid database with >= 2 rows, ``index`` is not an integer in
        ``[0, n)``, or ``query`` does not return a single number.

    References
    ----------
    D. E. Denning, "Secure statistical databases with random sample queries", ACM TODS 1980
    (the tracker attacks); Dwork & Roth (2014) §1.
    """
    arr = as_database(db)
    if arr.size < 2:
        raise ValueError(f"db must have at least 2 rows for a differencing attack, got {arr.size}")
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < arr.size:
        raise ValueError(f"index must be an integer in [0, {arr.size}), got {index!r}")
    with_person = _query_value(query, arr)
    without = _query_value(query, np.delete(arr, int(index)))
    if with_person.ndim != 0 or without.ndim != 0:
        raise ValueError("query must return a single number for a differencing attack")
    return float(with_person - without)


# ----------------------------------------------------------------------------- empirical Lp sensitivity of a vector query


def _lp_sensitivity(query: Callable[[np.ndarray], Any], db: Any, neighbours: Any, order: float) -> float:
    if not callable(query):
        raise ValueError(f"query must be a function of a database, got {type(query).__name__}")
    arr = as_database(db)
    if isinstance(neighbours, str):  # a relation, as everywhere else in this module
        neighbours = check_neighbours(neighbours)
        nbs = list(remove_one_neighbours(arr) if neighbours == "remove" else replace_one_neighbours(arr))
    else:  # an explicit list of neighbouring databases
        nbs = [as_database(nb, "neighbour", allow_empty=True) for nb in neighbours]
    if len(nbs) == 0:
        raise ValueError("neighbours must hold at least one neighbouring database")
    return _largest_change(query, arr, nbs, order, _vector_value)


def l1_sensitivity(query: Callable[[np.ndarray], Any], db: Any, neighbours: Any) -> float:
    """Empirical L1 sensitivity ``max_{x' in neighbours} ‖f(db) − f(x')‖₁`` of a (vector) query.

    This is the *local* sensitivity at ``db`` over the given neighbours: a list of neighbouring
    databases (e.g. ``helpers.remove_one_neighbours(db)``) or a relation, ``"remove"`` or
    ``"replace"``, as in :func:`empirical_sensitivity`. The Laplace mechanism needs the global
    one, the maximum over every database; this is only a lower bound on it.

    Raises
    ------
    ValueError
        If ``query`` is not callable, ``db`` is not a non-empty 1-D array, ``neighbours`` is
        empty, or the query's output shape differs between databases.
    """
    return _lp_sensitivity(query, db, neighbours, 1)


def l2_sensitivity(query: Callable[[np.ndarray], Any], db: Any, neighbours: Any) -> float:
    """Empirical L2 sensitivity ``max_{x' in neighbours} ‖f(db) − f(x')‖₂`` of a (vector) query.

    The Gaussian mechanism (:func:`helpers.mechanisms.gaussian_mechanism`) is calibrated to the
    *global* L2 sensitivity. For a query with d outputs that each move by at most c,
    ``Δ₂ <= c √d`` while ``Δ₁`` can be ``c d``. See :func:`l1_sensitivity` for the raises.
    """
    return _lp_sensitivity(query, db, neighbours, 2)
