"""The Dinur–Nissim reconstruction attack: "a bit of noise" is not privacy (lesson 01).

A curator holds a secret bit vector ``x ∈ {0,1}^n`` and answers *subset-sum* queries
"how many people in the set ``S`` have bit 1?", ``a_S = Σ_{i∈S} x_i + e_S``, adding noise of
magnitude ``|e_S| <= E`` to each answer. Dinur & Nissim (2003) showed:

* with all ``2^n`` queries, any ``x'`` consistent with the answers is within Hamming
  distance ``4E`` of ``x``: noise ``E = o(n)`` lets an attacker recover all but ``o(n)`` bits;
* with ``m = O(n log² n)`` *random* subsets and noise ``E = o(√n)``, a linear program
  finds ``x'`` that agrees with ``x`` on all but ``o(n)`` bits, in polynomial time.

So a curator who answers about ``n`` queries must add noise of order ``√n`` *per answer* or
the whole database leaks — which is the scale differential privacy adds: answering ``m ≈ n``
counts (each of sensitivity 1 under remove-one neighbours) within one overall ``(ε, δ)``-DP
guarantee, with Laplace noise and advanced composition or with Gaussian noise, takes noise of
order ``√(m log(1/δ))/ε`` per answer. The threshold in this module's experiments: with
``m = c·n`` random subsets and least squares, each recovered coordinate carries error of
standard deviation about ``2σ_e/√(m - n)`` (``Q^T Q ≈ (m/4)(I + 11^T)``; the ``- n`` is the price
of fitting ``n`` unknowns), ``σ_e = E/√3`` for uniform noise, so reconstruction fails only once
``E`` is a constant times ``√n`` (with ``m = 4n`` and ``E = √n``, about 23% of the bits are wrong).

Introduced in lesson 01 (``01_sensitivity``).

References
----------
I. Dinur, K. Nissim. "Revealing Information while Preserving Privacy." PODS 2003.
C. Dwork, F. McSherry, K. Talwar. "The Price of Privacy and the Limits of LP Decoding." STOC 2007.
C. Dwork, A. Smith, T. Steinke, J. Ullman. "Exposed! A Survey of Attacks on Private Data."
Annual Review of Statistics 2017.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._validation import as_database, as_rng, check_nonnegative, check_positive_int

__all__ = [
    "answer_subset_queries",
    "reconstruct",
    "reconstruct_lp",
    "fraction_recovered",
    "reconstruction_curve",
]


def answer_subset_queries(
    db: Any,
    *,
    n_queries: int,
    noise_bound: float,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Answer ``n_queries`` random subset-sum queries on a bit vector with bounded noise.

    Each query is a uniformly random subset ``S_j`` of the people (every person in it with
    probability 1/2), written as a 0/1 row ``Q[j]``; its answer is

    .. math:: a_j = Q_j \\cdot x + e_j, \\qquad e_j \\sim \\mathrm{Uniform}[-E, E].

    The draws are made in this order, so a seed fixes the result:
    ``Q = rng.integers(0, 2, size=(n_queries, n))`` then
    ``e = rng.uniform(-noise_bound, noise_bound, size=n_queries)``.

    Bounded noise is the curator of Dinur & Nissim (2003): any noise with ``|e_j| <= E``. With
    ``E = o(√n)`` and about ``n`` or more queries the database can be reconstructed
    (:func:`reconstruct`). This is *not* a differentially private mechanism for any ``E``
    that is small compared to ``√n``.

    Parameters
    ----------
    db
        The secret 1-D 0/1 database, ``n >= 1`` people.
    n_queries
        Number of random subsets ``m >= 1``.
    noise_bound
        ``E >= 0``, the largest absolute noise added to one answer (``0``: exact answers).
    rng
        A ``numpy.random.Generator`` or int seed (``None``: unseeded).

    Returns
    -------
    queries : numpy.ndarray
        Shape ``(n_queries, n)``, dtype ``int64``, entries 0/1.
    answers : numpy.ndarray
        Shape ``(n_queries,)``, ``float64``: the noisy subset sums.

    Raises
    ------
    ValueError
        If ``db`` is not a non-empty 1-D 0/1 vector, ``n_queries`` is not an integer >= 1 or
        ``noise_bound`` is negative or not finite.
    """
    x = as_database(db, binary=True)
    m = check_positive_int(n_queries, "n_queries")
    bound = check_nonnegative(noise_bound, "noise_bound")
    gen = as_rng(rng)
    queries = gen.integers(0, 2, size=(m, x.size))
    noise = gen.uniform(-bound, bound, size=m)
    answers = queries @ x.astype(np.float64) + noise
    return queries.astype(np.int64), answers


def _check_system(queries: Any, answers: Any) -> tuple[np.ndarray, np.ndarray]:
    q = np.asarray(queries, dtype=float)
    a = np.asarray(answers, dtype=float)
    if q.ndim != 2 or q.shape[0] == 0 or q.shape[1] == 0:
        raise ValueError(f"queries must be a non-empty 2-D array (n_queries, n), got shape {q.shape}")
    if a.shape != (q.shape[0],):
        raise ValueError(f"answers must have shape ({q.shape[0]},) to match queries, got {a.shape}")
    if not np.isfinite(q).all():
        raise ValueError("queries contain NaN or infinity")
    if not np.isfinite(a).all():
        raise ValueError("answers contain NaN or infinity")
    return q, a


def reconstruct(queries: Any, answers: Any) -> np.ndarray:
    """Reconstruct the secret bits from noisy subset sums by least squares and rounding.

    Solve :math:`\\hat x = \\arg\\min_{z \\in \\mathbb{R}^n} \\lVert Q z - a \\rVert_2^2`
    (``numpy.linalg.lstsq``), then round: ``x'_i = 1`` if ``\\hat x_i > 1/2`` else ``0``.

    With ``m > n`` random subsets, ``\\hat x - x`` has per-coordinate standard deviation of
    about ``2σ_e/√(m - n)`` (σ_e the noise standard deviation), so when the noise bound is small
    compared to ``√m`` nearly every bit is recovered — the Dinur–Nissim phenomenon. (The
    paper's polynomial attack is a linear program, see :func:`reconstruct_lp`; least squares
    is the simplest attack that shows the same √n threshold for random noise.)

    Parameters
    ----------
    queries
        Shape ``(m, n)``: row ``j`` is the 0/1 indicator of subset ``S_j``. Use ``m >= n``
        (with fewer queries the system is underdetermined and ``lstsq`` returns the
        minimum-norm solution).
    answers
        Shape ``(m,)``: the (noisy) answers.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``, dtype ``int64``, entries 0/1: the guessed database.

    Raises
    ------
    ValueError
        If ``queries`` is not a non-empty 2-D array, ``answers`` does not have shape ``(m,)``,
        or either holds NaN or infinity.

    References
    ----------
    I. Dinur, K. Nissim. "Revealing Information while Preserving Privacy." PODS 2003.
    """
    q, a = _check_system(queries, answers)
    estimate, *_ = np.linalg.lstsq(q, a, rcond=None)
    return (estimate > 0.5).astype(np.int64)


def reconstruct_lp(queries: Any, answers: Any) -> np.ndarray:
    """Reconstruct the secret bits with a linear program (LP decoding), then round.

    Solves the L1 regression relaxed to the cube,

    .. math:: \\min_{z \\in [0,1]^n} \\lVert Q z - a \\rVert_1 ,

    as an LP in ``(z, t)``: minimise ``Σ t_j`` subject to ``-t <= Qz - a <= t``, ``0 <= z <= 1``
    (``scipy.optimize.linprog`` with HiGHS), and returns ``1[z_i > 1/2]``. Dinur & Nissim (2003)
    use the feasibility version (``|Qz - a| <= E``); minimising the L1 error needs no knowledge
    of ``E`` and even tolerates a constant fraction of arbitrarily wrong answers
    (Dwork, McSherry & Talwar 2007).

    Parameters
    ----------
    queries
        Shape ``(m, n)``, 0/1 subset indicators.
    answers
        Shape ``(m,)``, the (noisy) answers.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``, dtype ``int64``, entries 0/1.

    Raises
    ------
    ValueError
        As :func:`reconstruct`.
    RuntimeError
        If the LP solver fails (it should not: the problem is always feasible).
    """
    from scipy import sparse
    from scipy.optimize import linprog

    q, a = _check_system(queries, answers)
    m, n = q.shape
    qs = sparse.csr_matrix(q)
    eye = sparse.identity(m, format="csr")
    a_ub = sparse.vstack([sparse.hstack([qs, -eye]), sparse.hstack([-qs, -eye])], format="csr")
    b_ub = np.concatenate([a, -a])
    cost = np.concatenate([np.zeros(n), np.ones(m)])
    bounds = [(0.0, 1.0)] * n + [(0.0, None)] * m
    result = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if not result.success:  # pragma: no cover - always feasible
        raise RuntimeError(f"the reconstruction LP failed: {result.message}")
    return (result.x[:n] > 0.5).astype(np.int64)


def fraction_recovered(db: Any, guess: Any) -> float:
    """Fraction of people whose bit the attacker guessed right, ``mean(db == guess)``.

    Guessing at random scores about 1/2; guessing the majority bit scores ``max(p, 1 - p)``.

    Raises
    ------
    ValueError
        If either is not a non-empty 1-D 0/1 vector or their lengths differ.
    """
    x = as_database(db, binary=True)
    g = as_database(guess, "guess", binary=True)
    if x.shape != g.shape:
        raise ValueError(f"guess must have the shape of db {x.shape}, got {g.shape}")
    return float(np.mean(x == g))


def reconstruction_curve(
    n: int,
    *,
    noise_bounds: Sequence[float] | np.ndarray,
    n_queries: int | None = None,
    n_trials: int = 5,
    method: str = "lstsq",
    rng: np.random.Generator | int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Mean fraction of bits recovered by the attack, for each noise bound.

    For each ``E`` in ``noise_bounds`` and each of ``n_trials`` trials: draw a fresh database
    (:func:`helpers.databases.make_database`, ``p = 1/2``), answer ``n_queries`` random subset
    sums with noise ``Uniform[-E, E]`` (:func:`answer_subset_queries`), reconstruct and score
    (:func:`fraction_recovered`).

    Parameters
    ----------
    n
        Number of people, >= 1.
    noise_bounds
        The noise bounds ``E >= 0`` to try (plot them against ``E/√n``).
    n_queries
        Queries per attack (default ``4 n``).
    n_trials
        Independent repetitions per noise bound, >= 1.
    method
        ``"lstsq"`` (:func:`reconstruct`) or ``"lp"`` (:func:`reconstruct_lp`).
    rng
        A ``numpy.random.Generator`` or int seed.
    progress
        Show a ``tqdm`` progress bar over the noise bounds.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(noise_bounds),)``: the mean fraction recovered (between ~0.5 and 1).

    Raises
    ------
    ValueError
        If ``n``, ``n_queries`` or ``n_trials`` is not a positive integer, a noise bound is
        negative, ``noise_bounds`` is empty, or ``method`` is unknown.
    """
    from .databases import make_database

    n = check_positive_int(n, "n")
    m = 4 * n if n_queries is None else check_positive_int(n_queries, "n_queries")
    trials = check_positive_int(n_trials, "n_trials")
    bounds = np.asarray(noise_bounds, dtype=float).ravel()
    if bounds.size == 0:
        raise ValueError("noise_bounds must not be empty")
    for b in bounds:
        check_nonnegative(float(b), "noise_bounds")
    if method not in ("lstsq", "lp"):
        raise ValueError(f"method must be 'lstsq' or 'lp', got {method!r}")
    attack = reconstruct if method == "lstsq" else reconstruct_lp
    gen = as_rng(rng)
    iterator: Any = bounds
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(bounds, desc="noise levels", leave=False)
    out = []
    for bound in iterator:
        scores = []
        for _ in range(trials):
            x = make_database(n, rng=gen)
            q, a = answer_subset_queries(x, n_queries=m, noise_bound=float(bound), rng=gen)
            scores.append(fraction_recovered(x, attack(q, a)))
        out.append(float(np.mean(scores)))
    return np.asarray(out)
