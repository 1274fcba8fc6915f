"""The Laplace and Gaussian mechanisms, bounded (clamped) queries and sensitivities.

Introduced in lesson 03 (``03_laplace_gaussian``). Everything here is numpy/scipy only.

========================================  =====================================================
function                                  what it gives
========================================  =====================================================
:func:`laplace_scale`                     b = Δ₁/ε
:func:`laplace_mechanism`                 f(x) + Lap(b): ε-DP for L1 sensitivity Δ₁
:func:`clamp`                             values clipped into [lower, upper]
:func:`private_sum`                       ε-DP clamped sum
:func:`private_count`                     ε-DP count of ones (Δ = 1)
:func:`private_mean`                      ε-DP clamped mean (known n, or n kept private)
:func:`gaussian_sigma_classic`            σ = Δ₂ √(2 ln(1.25/δ)) / ε, proved for ε < 1 only
:func:`gaussian_delta`                    the exact δ(ε) of the Gaussian mechanism
:func:`gaussian_sigma_analytic`           the smallest σ giving (ε, δ)-DP (Balle & Wang 2018)
:func:`gaussian_mechanism`                f(x) + N(0, σ²): (ε, δ)-DP for L2 sensitivity Δ₂
:func:`l1_sensitivity`, :func:`l2_sensitivity`  max ‖f(x) − f(x')‖ over given neighbours
========================================  =====================================================

References
----------
C. Dwork, F. McSherry, K. Nissim, A. Smith. *Calibrating noise to sensitivity in private
data analysis.* TCC 2006.
C. Dwork, A. Roth. *The Algorithmic Foundations of Differential Privacy.* 2014
(Thm 3.6: Laplace; Thm A.1: classic Gaussian).
B. Balle, Y.-X. Wang. *Improving the Gaussian mechanism for differential privacy: analytical
calibration and optimal denoising.* ICML 2018 (Thm 8 and Algorithm 1).
"""
from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from scipy import special

from ._validation import (
    as_database,
    as_rng,
    check_bounds,
    check_delta,
    check_epsilon,
    check_neighbours,
    check_positive,
    check_sensitivity,
    check_value,
)
from .sensitivity import l1_sensitivity, l2_sensitivity, sum_sensitivity  # noqa: F401  (H.mechanisms.l1_sensitivity: old home)

__all__ = [
    "laplace_scale",
    "laplace_mechanism",
    "clamp",
    "private_sum",
    "private_count",
    "private_mean",
    "gaussian_sigma_classic",
    "gaussian_delta",
    "gaussian_sigma_analytic",
    "gaussian_mechanism",
]

Neighbours = Literal["replace", "remove"]


# ----------------------------------------------------------------------------- validation


def _add_noise(arr: np.ndarray, noise: np.ndarray, scalar: bool) -> float | np.ndarray:
    out = arr + noise
    return float(out) if scalar else out


# ----------------------------------------------------------------------------- Laplace


def laplace_scale(*, sensitivity: float, epsilon: float) -> float:
    """Scale of the Laplace noise that makes a query ε-DP: ``b = Δ₁ / ε``.

    Parameters
    ----------
    sensitivity
        Global L1 sensitivity Δ₁ of the query (>= 0).
    epsilon
        Privacy loss ε (> 0).

    Returns
    -------
    float
        ``sensitivity / epsilon``. The noise then has standard deviation ``√2 · b``.

    Raises
    ------
    ValueError
        If ``epsilon <= 0`` or ``sensitivity < 0`` (or either is not a finite number).

    References
    ----------
    Dwork, McSherry, Nissim & Smith (2006); Dwork & Roth (2014), Def. 3.3 and Thm 3.6.
    """
    sensitivity = check_sensitivity(sensitivity)
    epsilon = check_epsilon(epsilon)
    return sensitivity / epsilon


def laplace_mechanism(value: float | np.ndarray, *, sensitivity: float, epsilon: float,
                      rng: np.random.Generator | int | None = None) -> float | np.ndarray:
    """Release ``value + Lap(b)`` with ``b = Δ₁/ε`` (independent noise per coordinate).

    Guarantee: ε-differential privacy when ``value = f(x)`` for a query ``f`` whose global L1
    sensitivity, ``max ‖f(x) − f(x')‖₁`` over neighbouring databases, is at most ``sensitivity``
    (for a vector-valued ``f`` that is the L1 norm of the whole vector, not per coordinate).
    The noise density is ``exp(−|z|/b) / (2b)``; its variance is ``2 b²``.

    Parameters
    ----------
    value
        The true answer ``f(x)``: a number or an array.
    sensitivity
        Global L1 sensitivity Δ₁ (>= 0).
    epsilon
        Privacy loss ε (> 0).
    rng
        ``numpy.random.Generator`` (or int seed) for the noise; ``None`` uses fresh entropy.
        The draw is ``rng.laplace(0.0, b, size=np.shape(value))``.

    Returns
    -------
    float or numpy.ndarray
        A float for a scalar ``value``, else an array of the same shape.

    Raises
    ------
    ValueError
        If ``epsilon <= 0``, ``sensitivity < 0`` or ``value`` holds NaN or infinity.

    References
    ----------
    Dwork & Roth (2014), Thm 3.6.
    """
    b = laplace_scale(sensitivity=sensitivity, epsilon=epsilon)
    arr = check_value(value)
    gen = as_rng(rng)
    noise = gen.laplace(0.0, b, size=arr.shape)
    return _add_noise(arr, noise, arr.ndim == 0)


def clamp(values: Any, *, lower: float, upper: float) -> np.ndarray:
    """Clip every value into ``[lower, upper]`` (the bound that makes a sum's sensitivity finite).

    Raises
    ------
    ValueError
        If ``values`` is not a non-empty 1-D array of numbers without NaN, or ``lower >= upper``.
    """
    lower, upper = check_bounds(lower, upper, allow_equal=False)
    arr = as_database(values, "values").astype(float)
    return np.clip(arr, lower, upper)


def _bounded_query_inputs(values: Any, lower: float, upper: float, epsilon: float,
                          neighbours: Any) -> tuple[np.ndarray, float, float, float, str]:
    """Validate the inputs shared by the clamped-value queries and clamp the values."""
    clipped = clamp(values, lower=lower, upper=upper)  # checks the bounds, then the values
    neighbours = check_neighbours(neighbours)
    return clipped, float(lower), float(upper), check_epsilon(epsilon), neighbours


def private_sum(values: Any, *, lower: float, upper: float, epsilon: float,
                rng: np.random.Generator | int | None = None,
                neighbours: Neighbours = "replace") -> float:
    """ε-DP sum of values clamped to ``[lower, upper]``.

    Returns ``sum(clamp(values)) + Lap(Δ/ε)`` with ``Δ = upper − lower`` for replace-one
    neighbours and ``Δ = max(|lower|, |upper|)`` for remove-one (the values of
    ``helpers.sum_sensitivity`` from lesson 01). Guarantee: ε-DP under the chosen relation.
    The bounds must be chosen *without looking at the data*; values outside are clipped, which
    biases the answer but is what makes the sensitivity finite.

    Raises
    ------
    ValueError
        If ``values`` is empty, not 1-D or holds NaN; ``lower >= upper``; ``epsilon <= 0``;
        or ``neighbours`` is unknown.
    """
    clipped, lower, upper, epsilon, neighbours = _bounded_query_inputs(values, lower, upper, epsilon, neighbours)
    delta_1 = sum_sensitivity(lower=lower, upper=upper, neighbours=neighbours)
    return float(laplace_mechanism(float(clipped.sum()), sensitivity=delta_1, epsilon=epsilon, rng=rng))


def private_count(values: Any, *, epsilon: float, rng: np.random.Generator | int | None = None) -> float:
    """ε-DP count of the ones in a 0/1 database: ``sum(values) + Lap(1/ε)``.

    A counting query ("how many rows satisfy P?") has sensitivity 1 under both neighbouring
    notions: removing a row, or replacing it, changes the count by at most one. (The number of
    *rows* ``len(values)`` is public under replace-one neighbours and has sensitivity 1 under
    remove-one neighbours.)

    Raises
    ------
    ValueError
        If ``values`` is empty, not 1-D or holds values other than 0/1 (or True/False),
        or ``epsilon <= 0``.
    """
    epsilon = check_epsilon(epsilon)
    arr = as_database(values, "values", binary=True)
    return float(laplace_mechanism(float(arr.sum()), sensitivity=1.0, epsilon=epsilon, rng=rng))


def private_mean(values: Any, *, lower: float, upper: float, epsilon: float,
                 rng: np.random.Generator | int | None = None,
                 neighbours: Neighbours = "replace") -> float:
    """ε-DP mean of values clamped to ``[lower, upper]``.

    * ``"replace"``: neighbours have the same, *public* size n, so the mean of clamped values
      has sensitivity ``(upper − lower) / n`` and the answer is
      ``mean(clamp(values)) + Lap((upper − lower) / (n ε))``.
    * ``"remove"``: n itself is private (it differs between neighbours). Removing a value v
      from n values moves their mean by ``|v − m'| / n <= (upper − lower) / n``, where m' is the
      mean of the other n − 1, so over all database sizes the worst case is the smallest one:
      two values ``lower`` and ``upper`` becoming one moves the mean by ``(upper − lower) / 2``
      (one value becoming none stays within that bound only if the empty database's mean is
      defined as the midpoint). That global sensitivity, ``(upper − lower) / 2``, is valid but
      about n/2 times the ``(upper − lower) / n`` of one size n — which, computed from the
      data's own n, is *not* a valid sensitivity. So split the budget instead: a noisy sum
      (``Δ = max(|lower|, |upper|)``, ε/2, drawn first) and a noisy count (``Δ = 1``, ε/2, drawn
      second); return ``clip(noisy_sum / max(noisy_count, 1), lower, upper)`` — ε-DP by
      sequential composition; the division, the floor and the clip are post-processing.

    Raises
    ------
    ValueError
        If ``values`` is empty, not 1-D or holds NaN; ``lower >= upper``; ``epsilon <= 0``;
        or ``neighbours`` is unknown.
    """
    clipped, lower, upper, epsilon, neighbours = _bounded_query_inputs(values, lower, upper, epsilon, neighbours)
    gen = as_rng(rng)
    n = clipped.size
    if neighbours == "replace":
        return float(laplace_mechanism(float(clipped.mean()), sensitivity=(upper - lower) / n,
                                       epsilon=epsilon, rng=gen))
    delta_sum = sum_sensitivity(lower=lower, upper=upper, neighbours="remove")
    noisy_sum = laplace_mechanism(float(clipped.sum()), sensitivity=delta_sum, epsilon=epsilon / 2, rng=gen)
    noisy_count = laplace_mechanism(float(n), sensitivity=1.0, epsilon=epsilon / 2, rng=gen)
    return float(np.clip(noisy_sum / max(noisy_count, 1.0), lower, upper))


# ----------------------------------------------------------------------------- Gaussian


def gaussian_sigma_classic(*, sensitivity: float, epsilon: float, delta: float) -> float:
    """The classic Gaussian calibration ``σ = Δ₂ √(2 ln(1.25/δ)) / ε``.

    Guarantee: ``f(x) + N(0, σ²)`` is (ε, δ)-DP for L2 sensitivity Δ₂; the theorem (Dwork & Roth
    2014, Thm A.1) is *proved* for ε < 1 only. For ε >= 1 nothing guarantees it: the exact δ
    (:func:`gaussian_delta`) shows the formula still suffices up to ε ≈ 8.42 at δ = 1e-5, and
    gives too little noise beyond (at ε = 20 the true δ is 153 times the promise). Hence this
    function refuses ε >= 1; use :func:`gaussian_sigma_analytic`, which is exact for every ε and
    smaller than this σ wherever this σ suffices.

    Raises
    ------
    ValueError
        If ``epsilon <= 0`` or ``epsilon >= 1`` (pointing to the analytic Gaussian),
        ``delta`` not in (0, 1), or ``sensitivity < 0``.
    """
    sensitivity = check_sensitivity(sensitivity)
    epsilon = check_epsilon(epsilon)
    delta = check_delta(delta)
    if epsilon >= 1:
        raise ValueError(
            f"epsilon must be < 1 for the classic Gaussian mechanism (Dwork & Roth Thm A.1), got {epsilon!r}; "
            "use gaussian_sigma_analytic (Balle & Wang 2018), which is valid for every epsilon > 0"
        )
    return sensitivity * math.sqrt(2.0 * math.log(1.25 / delta)) / epsilon


def _log_ndtr_diff(a: float, eps: float, b: float) -> float:
    """``log(Φ(a) − e^eps Φ(b))`` (``-inf`` when it is <= 0), computed in log space."""
    x = special.log_ndtr(a)
    y = eps + special.log_ndtr(b)
    if y >= x:
        return -math.inf
    return x + math.log(-math.expm1(y - x))


def gaussian_delta(*, sigma: float, sensitivity: float, epsilon: float) -> float:
    """Exact δ(ε) of the Gaussian mechanism ``f(x) + N(0, σ²)`` with L2 sensitivity Δ.

    ``δ(ε) = Φ(Δ/(2σ) − εσ/Δ) − e^ε Φ(−Δ/(2σ) − εσ/Δ)``  (Balle & Wang 2018, Thm 8),

    the smallest δ for which the mechanism is (ε, δ)-DP. It is 0 for Δ = 0. Computed in log
    space so that large ε does not overflow.

    Raises
    ------
    ValueError
        If ``sigma <= 0``, ``epsilon < 0`` or ``sensitivity < 0``.
    """
    sigma = check_positive(sigma, "sigma")
    sensitivity = check_sensitivity(sensitivity)
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(epsilon)) or float(epsilon) < 0:
        raise ValueError(f"epsilon must be a finite number >= 0, got {epsilon!r}")
    epsilon = float(epsilon)
    if sensitivity == 0:
        return 0.0
    r = sensitivity / (2.0 * sigma)
    s = epsilon * sigma / sensitivity
    return max(0.0, math.exp(_log_ndtr_diff(r - s, epsilon, -r - s)))


def gaussian_sigma_analytic(*, sensitivity: float, epsilon: float, delta: float) -> float:
    """The smallest σ for which ``f(x) + N(0, σ²)`` is (ε, δ)-DP (the analytic Gaussian).

    Solves ``Φ(Δ/(2σ) − εσ/Δ) − e^ε Φ(−Δ/(2σ) − εσ/Δ) = δ`` for σ (the left side,
    :func:`gaussian_delta`, decreases in σ) by Brent's method to a relative tolerance of 1e-12
    — the same answer as Balle & Wang's Algorithm 1. Valid for every ε > 0, and smaller than
    :func:`gaussian_sigma_classic` wherever that applies (ε < 1).

    Returns
    -------
    float
        σ (0.0 when ``sensitivity`` is 0).

    Raises
    ------
    ValueError
        If ``epsilon <= 0``, ``delta`` not in (0, 1), or ``sensitivity < 0``.

    References
    ----------
    Balle & Wang (2018), *Improving the Gaussian mechanism for differential privacy*, ICML.
    """
    sensitivity = check_sensitivity(sensitivity)
    epsilon = check_epsilon(epsilon)
    delta = check_delta(delta)
    if sensitivity == 0:
        return 0.0
    log_delta = math.log(delta)

    # Work with u = σ/Δ (so sensitivity 1), then scale back: δ depends on σ and Δ only via σ/Δ.
    def gap(u: float) -> float:
        return _log_ndtr_diff(0.5 / u - epsilon * u, epsilon, -0.5 / u - epsilon * u) - log_delta

    lo, hi = 0.1, 1.0
    while gap(lo) < 0:
        lo /= 10.0
    while gap(hi) > 0:
        hi *= 10.0
    from scipy import optimize  # here, not at the top: scipy.optimize costs ~0.5 s of every lesson's import cell

    u = optimize.brentq(gap, lo, hi, xtol=1e-300, rtol=1e-12, maxiter=500)
    return float(u * sensitivity)


def gaussian_mechanism(value: float | np.ndarray, *, sensitivity: float, epsilon: float, delta: float,
                       rng: np.random.Generator | int | None = None,
                       calibration: Literal["analytic", "classic"] = "analytic") -> float | np.ndarray:
    """Release ``value + N(0, σ²)`` (independent per coordinate), (ε, δ)-DP for L2 sensitivity Δ₂.

    ``σ`` comes from :func:`gaussian_sigma_analytic` (default; any ε > 0) or
    :func:`gaussian_sigma_classic` (``calibration="classic"``; ε < 1 only). For a vector-valued
    query, Δ₂ is ``max ‖f(x) − f(x')‖₂``, often much smaller than the L1 sensitivity.
    The draw is ``rng.normal(0.0, σ, size=np.shape(value))``.

    Raises
    ------
    ValueError
        On invalid ε, δ, sensitivity, a non-finite ``value``, an unknown ``calibration``, or
        ``calibration="classic"`` with ε >= 1.
    """
    if calibration == "analytic":
        sigma = gaussian_sigma_analytic(sensitivity=sensitivity, epsilon=epsilon, delta=delta)
    elif calibration == "classic":
        sigma = gaussian_sigma_classic(sensitivity=sensitivity, epsilon=epsilon, delta=delta)
    else:
        raise ValueError(f"calibration must be 'analytic' or 'classic', got {calibration!r}")
    arr = check_value(value)
    gen = as_rng(rng)
    noise = gen.normal(0.0, sigma, size=arr.shape)
    return _add_noise(arr, noise, arr.ndim == 0)
