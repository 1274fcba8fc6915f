r"""Rényi-DP accounting for the Poisson-subsampled Gaussian mechanism (DP-SGD, PATE).

Introduced in lesson 05 (DP-SGD); reused by lesson 04 (PATE, for :func:`rdp_gaussian` and
:func:`rdp_to_epsilon`).

Why Rényi DP
------------
A randomized mechanism :math:`M` is :math:`(\alpha, \rho)`-Rényi differentially private
(Mironov 2017) if for every pair of neighbouring datasets :math:`D \simeq D'`

.. math::  D_\alpha\big(M(D)\,\|\,M(D')\big)
           = \frac{1}{\alpha - 1}\log \mathbb{E}_{x\sim M(D')}
             \Big[\Big(\tfrac{p_{M(D)}(x)}{p_{M(D')}(x)}\Big)^{\alpha}\Big] \le \rho(\alpha).

RDP composes by *adding* the curves: running mechanisms with curves :math:`\rho_1, \dots, \rho_T`
(adaptively) is :math:`(\alpha, \sum_t \rho_t(\alpha))`-RDP for every order :math:`\alpha`. One
then converts the whole curve to a single :math:`(\varepsilon, \delta)` guarantee by choosing the
best order. This "moments accountant" idea is what made DP-SGD (Abadi et al. 2016) practical.

One step of DP-SGD is the *sampled Gaussian mechanism* (SGM): each example enters the batch
independently with probability :math:`q` (Poisson sampling), the clipped gradients (L2
sensitivity 1) are summed and :math:`\mathcal N(0, \sigma^2 I)` noise is added
(:math:`\sigma` = ``noise_multiplier``). Mironov, Talwar & Zhang (2019) show its RDP is

.. math::  \rho(\alpha) = \frac{1}{\alpha - 1}\log A_\alpha, \qquad
           A_\alpha = \mathbb{E}_{z\sim\mu_0}\Big[\Big(\tfrac{(1-q)\mu_0(z) + q\mu_1(z)}{\mu_0(z)}\Big)^{\alpha}\Big],

with :math:`\mu_0 = \mathcal N(0, \sigma^2)`, :math:`\mu_1 = \mathcal N(1, \sigma^2)`. For integer
:math:`\alpha` the binomial expansion gives the exact finite sum

.. math::  A_\alpha = \sum_{i=0}^{\alpha}\binom{\alpha}{i} q^i (1-q)^{\alpha-i}
           \exp\Big(\frac{i^2 - i}{2\sigma^2}\Big),

and for fractional :math:`\alpha` splitting the integral at
:math:`z_0 = \sigma^2\log(1/q - 1) + \tfrac12` gives two convergent series (Sec. 3.3 of the
paper; the formula used by TF Privacy, Opacus and dp-accounting):

.. math::  A_\alpha = \sum_{i\ge 0}\binom{\alpha}{i}\Big[
           q^i(1-q)^{\alpha-i} e^{\frac{i^2-i}{2\sigma^2}}\,
           \tfrac12\operatorname{erfc}\Big(\frac{i - z_0}{\sqrt2\,\sigma}\Big)
           + q^{\alpha-i}(1-q)^{i} e^{\frac{(\alpha-i)^2-(\alpha-i)}{2\sigma^2}}\,
           \tfrac12\operatorname{erfc}\Big(\frac{z_0 - (\alpha-i)}{\sqrt2\,\sigma}\Big)\Big].

Everything is computed in log space. Special cases: :math:`q = 1` is the plain Gaussian
mechanism, :math:`\rho(\alpha) = \alpha/(2\sigma^2)`; :math:`q = 0` gives :math:`\rho = 0`;
:math:`\sigma = 0` (and :math:`q > 0`) gives :math:`\rho = \infty`.

From RDP to (ε, δ)
------------------
* ``"classic"`` (Mironov 2017, Prop. 3): :math:`\varepsilon = \min_\alpha\,\rho(\alpha) + \frac{\log(1/\delta)}{\alpha-1}`.
* ``"improved"`` (Balle et al. 2020, Thm. 21; also Canonne, Kamath & Steinke 2020, Prop. 12 — what
  Opacus and dp-accounting use): :math:`\varepsilon = \min_\alpha\,\rho(\alpha) + \log\frac{\alpha-1}{\alpha}
  - \frac{\log\delta + \log\alpha}{\alpha-1}`, never larger than the classic bound for the orders
  used here.

References
----------
* M. Abadi et al., "Deep Learning with Differential Privacy", CCS 2016.
* I. Mironov, "Rényi Differential Privacy", CSF 2017.
* I. Mironov, K. Talwar, L. Zhang, "Rényi Differential Privacy of the Sampled Gaussian Mechanism",
  arXiv:1908.10530, 2019.
* B. Balle, G. Barthe, M. Gaboardi, J. Hsu, T. Sato, "Hypothesis Testing Interpretations and Rényi
  Differential Privacy", AISTATS 2020 (arXiv:1905.09982).
* Y. Zhu, Y.-X. Wang, "Poisson Subsampled Rényi Differential Privacy", ICML 2019 (context: tight
  bounds for general Poisson-subsampled mechanisms).

In production: ``opacus.accountants.RDPAccountant`` and ``dp_accounting.rdp.RdpAccountant``; the
unit tests check this module against both.
"""
from __future__ import annotations

import functools
import math
from typing import Any, Iterable

import numpy as np
from scipy import special

from ._validation import (check_conversion, check_delta, check_nonnegative, check_orders, check_positive,
                          check_probability, check_target_epsilon)

__all__ = [
    "DEFAULT_ORDERS",
    "rdp_gaussian",
    "rdp_subsampled_gaussian",
    "rdp_to_epsilon",
    "epsilon",
    "noise_multiplier",
    "RDPAccountant",
]

#: Default RDP orders: exactly Opacus's ``RDPAccountant.DEFAULT_ALPHAS``
#: (1.1, 1.2, ..., 10.9 and the integers 12, ..., 63; 150 orders). With this grid the course
#: reproduces Opacus's published numbers (e.g. MNIST, q = 250/60000, σ = 1.3, δ = 1e-5,
#: 15 epochs → ε = 0.9422 with the improved conversion, 1.1799 with the classic one).
DEFAULT_ORDERS: tuple[float, ...] = tuple([1 + x / 10.0 for x in range(1, 100)] + [float(a) for a in range(12, 64)])


# Series for fractional orders. Past i > alpha the binomial coefficients alternate in sign and the
# terms decrease in magnitude, so the truncation error is below the last term kept (alternating
# series bound). We add blocks of terms until the last term is decreasing and below
# _FRAC_RTOL * log(A_alpha), i.e. the relative error on rho is below _FRAC_RTOL. (The tail of the
# second series decays only polynomially, ~ i^(-alpha-2), for small sigma and large q.)
_FRAC_RTOL = 1e-10
_FRAC_BLOCK = 64
_FRAC_MAX_TERMS = 1 << 17


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def _check_steps(steps: Any, name: str = "steps") -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {steps!r}")
    return int(steps)


def _check_noise_for_epsilon(sigma: float, q: float, steps: int) -> None:
    if sigma == 0.0 and q > 0.0 and steps > 0:
        raise ValueError(
            "noise_multiplier must be > 0 to have an epsilon: without noise (noise_multiplier=0) each step "
            "releases a function of the data exactly, so DP-SGD is not differentially private at any finite ε.")


# --------------------------------------------------------------------------------------------
# log A_alpha
# --------------------------------------------------------------------------------------------


# Every order of a grid is computed at once (one array operation per block of terms, not a Python
# loop over orders): the lesson's bisections call epsilon() dozens of times on 151 orders. The
# binomial coefficients depend on the orders only, not on (q, sigma), so they are computed once per
# grid (_binomials); what remains per call is the (q, sigma) part of each term.
_MAX_CELLS = 1 << 21  # largest (orders x terms) block evaluated in one go (16 MiB of float64)


_CACHED_CELLS = 1 << 16  # tables up to this size are cached: 512 KiB per array, 32 entries at most


def _binomials(alphas: tuple[float, ...], n: int) -> tuple[np.ndarray, np.ndarray]:
    """log|binom(α, i)| and its sign for the orders ``alphas`` and i = 0..n-1, shape (orders, n).

    Bisections evaluate the same grid many times, so small tables (the usual case: 99 orders x 64
    terms) come from a cache; the rare long series of extreme (q, σ) are computed afresh, so the
    cache stays under 32 MiB. The arrays are read-only: no caller can change a cached value.
    """
    if len(alphas) * n <= _CACHED_CELLS:
        return _binomials_cached(alphas, n)
    return _binomial_table(alphas, n)


def _binomial_table(alphas: tuple[float, ...], n: int) -> tuple[np.ndarray, np.ndarray]:
    # For an integer α and i > α, binom(α, i) = 0 and these entries are inf or NaN: _log_a_int, the only
    # caller with integer orders, masks them (it must anyway, after adding the (q, σ) part).
    a = np.asarray(alphas, dtype=float)[:, None]
    i = np.arange(n, dtype=float)[None, :]
    with np.errstate(invalid="ignore"):
        log_binom = special.gammaln(a + 1.0) - special.gammaln(i + 1.0) - special.gammaln(a - i + 1.0)
        sign = special.gammasgn(a + 1.0) * special.gammasgn(a - i + 1.0)
    log_binom.setflags(write=False)
    sign.setflags(write=False)
    return log_binom, sign


_binomials_cached = functools.lru_cache(maxsize=32)(_binomial_table)


def _logsumexp_rows(log_terms: np.ndarray, signs: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise log|Σ sign·exp(log_terms)| and the sign of the sum (-inf and 0 for a zero row).

    As in SciPy's ``logsumexp``, the largest term is factored out and the others enter through
    ``log1p``: A_α is often 1 + 1e-12, and log A_α (the RDP) must keep its relative precision.
    The sum is lead·(1 + rest) with lead = ±1 the largest term's sign; when the others outweigh it
    (rest < -1, only possible with signs), its magnitude is |1 + rest| and its sign flips.
    """
    rows = np.arange(log_terms.shape[0])
    k = np.argmax(log_terms, axis=1)
    m = log_terms[rows, k]
    m = np.where(np.isfinite(m), m, 0.0)
    terms = np.exp(log_terms - m[:, None])
    if signs is not None:
        terms = signs * terms
    lead = terms[rows, k]  # ±1 (0 for an all-zero row)
    terms[rows, k] = 0.0
    rest = np.sum(terms, axis=1) * lead  # the others, relative to the largest (lead = ±1: multiplying divides)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_mag = np.where(rest > -1.0, np.log1p(np.maximum(rest, -1.0)), np.log(np.abs(1.0 + rest)))
    zero = (lead == 0) | (1.0 + rest == 0)
    return np.where(zero, -np.inf, log_mag + m), np.where(zero, 0.0, np.sign(lead) * np.sign(1.0 + rest))


def _log_a_int(q: float, sigma: float, alphas: np.ndarray) -> np.ndarray:
    """log A_α for integer orders α (1-D array) by the exact binomial expansion (all terms positive)."""
    out = np.empty(alphas.shape)
    order = np.argsort(alphas)
    step = max(1, _MAX_CELLS // (int(alphas.max()) + 1))
    for chunk in np.array_split(order, max(1, math.ceil(order.size / step))):
        n = int(alphas[chunk].max()) + 1
        log_binom, _ = _binomials(tuple(alphas[chunk].tolist()), n)
        a = alphas[chunk][:, None]
        i = np.arange(n, dtype=float)[None, :]
        j = np.maximum(a - i, 0.0)
        log_terms = log_binom + i * math.log(q) + j * math.log1p(-q) + (i * i - i) / (2.0 * sigma**2)
        # binom(α, i) = 0 for i > α: mask after the sum, where -inf + inf (sigma -> 0) would give NaN
        out[chunk] = _logsumexp_rows(np.where(i <= a, log_terms, -np.inf))[0]
    return out


def _frac_terms(q: float, sigma: float, alpha: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log-magnitudes and signs of the two-series terms, shape (orders, 2·terms) (fractional α (k, 1), i (1, n))."""
    log_binom, sign = _binomials(tuple(alpha[:, 0].tolist()), i.shape[1])
    j = alpha - i
    z0 = sigma**2 * math.log(1.0 / q - 1.0) + 0.5
    log_q, log_1mq = math.log(q), math.log1p(-q)
    # (1/2) erfc(x / sqrt 2 ...) = Phi(-x ...): log_ndtr keeps the far tails accurate.
    log_s0 = log_binom + i * log_q + j * log_1mq + (i * i - i) / (2 * sigma**2) + special.log_ndtr(-(i - z0) / sigma)
    log_s1 = log_binom + j * log_q + i * log_1mq + (j * j - j) / (2 * sigma**2) + special.log_ndtr(-(z0 - j) / sigma)
    return np.concatenate([log_s0, log_s1], axis=1), np.concatenate([sign, sign], axis=1)


def _log_a_frac(q: float, sigma: float, alphas: np.ndarray) -> np.ndarray:
    """log A_α for fractional orders (1-D array): the two series of Mironov, Talwar & Zhang (2019), Sec. 3.3.

    Each order's series is summed in blocks of terms until it has converged (see _FRAC_RTOL); orders
    that need more terms are continued with four times as many, the others are done.
    """
    out = np.empty(alphas.shape)
    pending = np.arange(alphas.size)
    n = _FRAC_BLOCK
    log_rtol = math.log(_FRAC_RTOL)
    while pending.size:
        still = []
        step = max(1, _MAX_CELLS // (2 * n))
        for chunk in np.array_split(pending, max(1, math.ceil(pending.size / step))):
            log_terms, signs = _frac_terms(q, sigma, alphas[chunk][:, None], np.arange(n, dtype=float)[None, :])
            total, sgn = _logsumexp_rows(log_terms, signs)
            total = np.where((sgn <= 0) | (total <= 0), 0.0, total)  # A_α >= 1; round-off when rho ~ 1e-16
            last0, prev0 = log_terms[:, n - 1], log_terms[:, n - 2]
            last1, prev1 = log_terms[:, 2 * n - 1], log_terms[:, 2 * n - 2]
            decreasing = (last0 <= prev0) & (last1 <= prev1)
            # error on log A <= |last term| / A; ask it to be <= rtol * log A
            with np.errstate(divide="ignore"):
                log_total = np.where(total > 0, np.log(np.where(total > 0, total, 1.0)), -745.0)
            small = np.maximum(last0, last1) - total <= log_rtol + log_total
            # the alternating-series bound holds past i > α only: an order above the block continues
            past_alpha = alphas[chunk] < n - 1
            done = (decreasing & small & past_alpha) | (n >= _FRAC_MAX_TERMS)
            out[chunk[done]] = total[done]
            still.append(chunk[~done])
        pending = np.concatenate(still)
        n *= 4
    return out


def _rdp_orders(q: float, sigma: float, alphas: np.ndarray) -> np.ndarray:
    """ρ(α) of one Poisson-subsampled Gaussian step at every order of ``alphas`` (validated inputs).

    A pure function, cached (a fresh copy each call): a calibration and its check evaluate the same
    σ's again (a student's bisection and the reference's visit the same points).
    """
    return _rdp_orders_cached(float(q), float(sigma), np.ascontiguousarray(alphas, dtype=float).tobytes()).copy()


@functools.lru_cache(maxsize=1024)  # at most ~1.3 MB with the default 151 orders
def _rdp_orders_cached(q: float, sigma: float, orders: bytes) -> np.ndarray:
    alphas = np.frombuffer(orders, dtype=float)
    if q == 0.0:
        return np.zeros(alphas.shape)
    out = np.full(alphas.shape, np.inf)
    finite = np.isfinite(alphas)
    if sigma == 0.0 or not finite.any():
        return out
    if q == 1.0:
        out[finite] = alphas[finite] / (2.0 * sigma**2)
        return out
    log_a = np.zeros(alphas.shape)
    integer = finite & (alphas == np.floor(alphas))
    fractional = finite & ~integer
    if integer.any():
        log_a[integer] = _log_a_int(q, sigma, alphas[integer])
    if fractional.any():
        log_a[fractional] = _log_a_frac(q, sigma, alphas[fractional])
    # A_α >= 1, so ρ >= 0; clip round-off below zero.
    out[finite] = np.maximum(log_a[finite], 0.0) / (alphas[finite] - 1.0)
    return out


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def rdp_gaussian(*, noise_multiplier: float, orders: Iterable[float] = DEFAULT_ORDERS) -> np.ndarray:
    r"""RDP curve of the Gaussian mechanism with L2 sensitivity 1 and noise std ``noise_multiplier``.

    .. math::  \rho(\alpha) = \frac{\alpha}{2\sigma^2}

    Guarantee: adding :math:`\mathcal N(0, \sigma^2\Delta_2^2)` to a query of L2 sensitivity
    :math:`\Delta_2` is :math:`(\alpha, \alpha/(2\sigma^2))`-RDP for every :math:`\alpha > 1`
    (Mironov 2017, Prop. 7). With another sensitivity :math:`\Delta` and noise std :math:`s`, pass
    ``noise_multiplier = s / Δ`` (PATE does this with its own scale).

    Parameters
    ----------
    noise_multiplier : float
        :math:`\sigma` = noise std / sensitivity, >= 0 (0 gives ``inf``: no privacy).
    orders : sequence of float
        Rényi orders, each > 1.

    Returns
    -------
    numpy.ndarray
        :math:`\rho(\alpha)` for each order (1-D, same length as ``orders``).

    Raises
    ------
    ValueError
        If ``noise_multiplier`` < 0 or not finite, or an order is <= 1 / NaN.
    """
    sigma = check_nonnegative(noise_multiplier, "noise_multiplier")
    alphas = check_orders(orders)
    if sigma == 0.0:
        return np.full(alphas.shape, np.inf)
    return alphas / (2.0 * sigma**2)


def rdp_subsampled_gaussian(
    *, noise_multiplier: float, sample_rate: float, orders: Iterable[float] = DEFAULT_ORDERS
) -> np.ndarray:
    r"""RDP curve of ONE step of the Poisson-subsampled Gaussian mechanism (one DP-SGD step).

    .. math::  \rho(\alpha) = \frac{\log A_\alpha}{\alpha-1}, \quad
               A_\alpha = \sum_{i=0}^{\alpha}\binom{\alpha}{i} q^i(1-q)^{\alpha-i}
               e^{(i^2-i)/(2\sigma^2)} \ \ (\text{integer }\alpha)

    and the two-series formula for fractional :math:`\alpha` (see the module docstring);
    exact up to floating point, computed in log space (Mironov, Talwar & Zhang 2019).

    Guarantee: the mechanism that includes each record independently with probability
    :math:`q`, sums a function of L2 sensitivity 1 over the sample and adds
    :math:`\mathcal N(0, \sigma^2)` per coordinate is :math:`(\alpha, \rho(\alpha))`-RDP for every
    order (add/remove-one neighbours). ``T`` steps compose to :math:`T\rho(\alpha)`.

    Parameters
    ----------
    noise_multiplier : float
        :math:`\sigma` = noise std / clipping norm, >= 0 (0 with ``sample_rate > 0`` gives ``inf``).
    sample_rate : float
        Poisson sampling probability :math:`q \in [0, 1]` (batch size / dataset size).
        ``q = 1`` gives the Gaussian mechanism's :math:`\alpha/(2\sigma^2)`; ``q = 0`` gives 0.
    orders : sequence of float
        Rényi orders, each > 1 (``inf`` allowed). Default: :data:`DEFAULT_ORDERS`.

    Returns
    -------
    numpy.ndarray
        1-D array of :math:`\rho(\alpha)`, one per order (may hold ``inf``).

    Raises
    ------
    ValueError
        If ``noise_multiplier`` < 0, ``sample_rate`` outside [0, 1], or an order <= 1 / NaN.

    References
    ----------
    Mironov, Talwar & Zhang, "Rényi Differential Privacy of the Sampled Gaussian Mechanism", 2019;
    Abadi et al., "Deep Learning with Differential Privacy", CCS 2016 (moments accountant).
    """
    sigma = check_nonnegative(noise_multiplier, "noise_multiplier")
    q = check_probability(sample_rate, "sample_rate")
    alphas = check_orders(orders)
    return _rdp_orders(q, sigma, alphas)


def _conversion(rho: np.ndarray, alphas: np.ndarray, delta: float, conversion: str) -> np.ndarray:
    """Per-order ε of the classic or improved conversion (inf where rho is inf)."""
    eps = np.full(alphas.shape, np.inf)
    finite_a = np.isfinite(alphas)
    ok = np.isfinite(rho) & finite_a
    a, r = alphas[ok], rho[ok]
    if conversion == "classic":
        eps[ok] = r + math.log(1.0 / delta) / (a - 1.0)
    else:
        eps[ok] = r + np.log1p(-1.0 / a) - (math.log(delta) + np.log(a)) / (a - 1.0)
    inf_a = ~finite_a & np.isfinite(rho)
    eps[inf_a] = rho[inf_a]  # limit alpha -> inf of both formulas
    return eps


def rdp_to_epsilon(
    rdp: Iterable[float], orders: Iterable[float], *, delta: float, conversion: str = "improved"
) -> tuple[float, float]:
    r"""Convert an RDP curve to :math:`(\varepsilon, \delta)`-DP, returning ``(epsilon, best_order)``.

    ``"classic"`` (Mironov 2017, Prop. 3):

    .. math::  \varepsilon = \min_\alpha\ \rho(\alpha) + \frac{\log(1/\delta)}{\alpha - 1}

    ``"improved"`` (Balle et al. 2020, Thm. 21, as in Opacus):

    .. math::  \varepsilon = \min_\alpha\ \rho(\alpha) + \log\frac{\alpha-1}{\alpha}
               - \frac{\log\delta + \log\alpha}{\alpha - 1}

    Guarantee: a mechanism that is :math:`(\alpha, \rho(\alpha))`-RDP at every listed order is
    :math:`(\varepsilon, \delta)`-DP with the returned :math:`\varepsilon`. Orders with
    :math:`\rho = \infty` are skipped; :math:`\alpha = \infty` uses the limit
    :math:`\varepsilon = \rho(\infty)`. An order with :math:`\rho \le -\log(1-\delta^2)` (in particular
    :math:`\rho = 0`, identical output distributions) gives :math:`\varepsilon = 0`: total variation
    is at most :math:`\sqrt{1 - e^{-\mathrm{KL}}}` and :math:`\mathrm{KL} \le \rho(\alpha)` (as in
    dp-accounting). ε is clipped at 0. No warning is issued when the best order
    is at the edge of the grid: widen ``orders`` if ``best_order`` is ``min`` or ``max(orders)``.

    Parameters
    ----------
    rdp : sequence of float
        :math:`\rho(\alpha)` per order (>= 0, ``inf`` allowed, no NaN).
    orders : sequence of float
        The orders, each > 1, same length as ``rdp``.
    delta : float
        Target :math:`\delta \in (0, 1)`.
    conversion : {"improved", "classic"}

    Returns
    -------
    (float, float)
        :math:`\varepsilon` and the order achieving it; ``(inf, nan)`` if every order is ``inf``.

    Raises
    ------
    ValueError
        Bad ``delta``, ``conversion``, orders <= 1, NaN or negative ``rdp``, length mismatch.
    """
    delta = check_delta(delta)
    conversion = check_conversion(conversion)
    alphas = check_orders(orders)
    try:
        rho = np.atleast_1d(np.asarray(rdp, dtype=float))
    except (TypeError, ValueError):
        raise ValueError(f"rdp must be a sequence of numbers, got {rdp!r}") from None
    if rho.shape != alphas.shape:
        raise ValueError(f"rdp and orders must have the same length, got {rho.shape} and {alphas.shape}")
    if np.isnan(rho).any():
        raise ValueError("rdp contains NaN")
    if (rho < 0).any():
        raise ValueError(f"rdp must be >= 0 at every order, got {rho[rho < 0][:5].tolist()}")

    eps = _conversion(rho, alphas, delta, conversion)
    # Total variation <= sqrt(1 - exp(-KL)) and KL <= rho(alpha) for alpha > 1, so rho <= -log(1 - delta^2)
    # already gives (0, delta)-DP (used by dp-accounting; covers rho = 0, identical distributions).
    eps[rho <= -math.log1p(-(delta**2))] = 0.0
    if not np.isfinite(eps).any():
        return math.inf, math.nan
    best = int(np.argmin(eps))
    return max(0.0, float(eps[best])), float(alphas[best])


def epsilon(
    *,
    noise_multiplier: float,
    sample_rate: float,
    steps: int,
    delta: float,
    conversion: str = "improved",
    orders: Iterable[float] | None = None,
) -> float:
    r"""ε of ``steps`` Poisson-subsampled Gaussian steps (DP-SGD) at the given δ.

    .. math::  \varepsilon = \mathrm{conv}_\delta\big(T\cdot\rho_{q,\sigma}(\alpha)\big)

    with :math:`\rho_{q,\sigma}` from :func:`rdp_subsampled_gaussian` (Mironov, Talwar & Zhang 2019)
    and the conversion of :func:`rdp_to_epsilon` (Balle et al. 2020 "improved", or Mironov 2017
    "classic"). Guarantee: DP-SGD with clipping norm C, noise std ``noise_multiplier``·C, Poisson
    sampling at rate q and T steps is (ε, δ)-DP with respect to adding or removing one example
    (Abadi et al. 2016). ``steps = 0`` or ``sample_rate = 0`` → 0.

    Parameters
    ----------
    noise_multiplier : float
        σ > 0 (σ = 0 raises: no noise, no finite ε).
    sample_rate : float
        q in [0, 1].
    steps : int
        T >= 0.
    delta : float
        δ in (0, 1).
    conversion : {"improved", "classic"}
    orders : sequence of float, optional
        Rényi orders (> 1); default :data:`DEFAULT_ORDERS`.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Invalid arguments, including ``noise_multiplier = 0`` with ``steps > 0`` and
        ``sample_rate > 0`` (no noise: not differentially private at any finite ε).

    Examples
    --------
    >>> round(epsilon(noise_multiplier=1.3, sample_rate=250 / 60000, steps=3600, delta=1e-5), 4)
    0.9422
    """
    sigma = check_nonnegative(noise_multiplier, "noise_multiplier")
    q = check_probability(sample_rate, "sample_rate")
    steps = _check_steps(steps)
    delta = check_delta(delta)
    conversion = check_conversion(conversion)
    alphas = check_orders(DEFAULT_ORDERS if orders is None else orders)
    _check_noise_for_epsilon(sigma, q, steps)
    if steps == 0 or q == 0.0:
        return 0.0
    rdp = steps * rdp_subsampled_gaussian(noise_multiplier=sigma, sample_rate=q, orders=alphas)
    return rdp_to_epsilon(rdp, alphas, delta=delta, conversion=conversion)[0]


def noise_multiplier(
    *,
    target_epsilon: float,
    delta: float,
    sample_rate: float,
    steps: int,
    conversion: str = "improved",
    tol: float = 1e-3,
    orders: Iterable[float] | None = None,
) -> float:
    r"""Smallest noise multiplier σ (within ``tol``) whose ε after ``steps`` steps is <= target.

    Bisection on the decreasing map :math:`\sigma \mapsto \varepsilon(\sigma)` of :func:`epsilon`.
    The returned σ satisfies ``epsilon(σ) <= target_epsilon < epsilon(σ - tol)``, so training
    DP-SGD with it is (target_epsilon, δ)-DP (Abadi et al. 2016; Mironov, Talwar & Zhang 2019).
    Returns 0.0 when ``steps = 0`` or ``sample_rate = 0`` (no privacy cost).

    Even infinite noise leaves a floor :math:`\min_\alpha \log\frac{\alpha-1}{\alpha} -
    \frac{\log\delta+\log\alpha}{\alpha-1}` (improved) or :math:`\min_\alpha\log(1/\delta)/(\alpha-1)`
    (classic) from the conversion over a finite grid of orders; targets at or below it raise
    (they could only be met by absurd noise that pushes the RDP under :math:`\delta^2`).

    Parameters
    ----------
    target_epsilon : float
        > 0 and finite (``inf`` raises: there is nothing to calibrate without a budget).
    delta : float
        δ in (0, 1).
    sample_rate : float
        q in [0, 1].
    steps : int
        T >= 0.
    conversion : {"improved", "classic"}
    tol : float
        Absolute tolerance on σ, > 0.
    orders : sequence of float, optional
        Default :data:`DEFAULT_ORDERS`.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Invalid arguments, or ``target_epsilon`` unreachable with these orders and δ.
    """
    target = check_target_epsilon(target_epsilon)
    delta = check_delta(delta)
    q = check_probability(sample_rate, "sample_rate")
    steps = _check_steps(steps)
    conversion = check_conversion(conversion)
    tol = check_positive(tol, "tol")
    alphas = check_orders(DEFAULT_ORDERS if orders is None else orders)
    if steps == 0 or q == 0.0:
        return 0.0

    def eps(sigma: float) -> float:
        return epsilon(
            noise_multiplier=sigma, sample_rate=q, steps=steps, delta=delta, conversion=conversion, orders=alphas
        )

    # Limit sigma -> inf of the conversion formula (rho -> 0), before the delta^2 rule kicks in.
    floor = float(np.min(_conversion(np.zeros(alphas.shape), alphas, delta, conversion)))
    if target <= floor:
        raise ValueError(
            f"target_epsilon={target!r} is unreachable: with delta={delta!r} and these orders "
            f"(largest {float(alphas.max()):g}) the RDP-to-DP conversion never goes below {floor:.4g}, "
            "short of noise so large that the RDP falls under delta**2; "
            "raise target_epsilon or delta, or add larger orders"
        )
    lo, hi = 0.0, 1.0
    while eps(hi) > target:
        lo, hi = hi, 2.0 * hi
        if hi > 1e7:  # pragma: no cover - the floor check above makes this unreachable
            raise ValueError(f"target_epsilon={target!r} is unreachable (noise_multiplier > 1e7)")
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if eps(mid) > target:
            lo = mid
        else:
            hi = mid
    return float(hi)


class RDPAccountant:
    r"""Accumulates the RDP of (possibly heterogeneous) subsampled Gaussian steps.

    Each :meth:`step` adds ``steps`` × :func:`rdp_subsampled_gaussian` to the running curve
    (RDP composition: curves add, Mironov 2017 Prop. 1); :meth:`get_epsilon` converts with
    :func:`rdp_to_epsilon`. Mirrors ``opacus.accountants.RDPAccountant``.

    Parameters
    ----------
    orders : sequence of float, optional
        Rényi orders (> 1), default :data:`DEFAULT_ORDERS`.

    Attributes
    ----------
    history : list of (noise_multiplier, sample_rate, steps)
        Consecutive calls with the same (σ, q) are merged into one entry.
    orders : numpy.ndarray

    Examples
    --------
    >>> acc = RDPAccountant()
    >>> acc.step(noise_multiplier=1.3, sample_rate=250 / 60000, steps=3600)
    >>> round(acc.get_epsilon(delta=1e-5), 4)
    0.9422
    """

    def __init__(self, orders: Iterable[float] | None = None) -> None:
        self.orders: np.ndarray = check_orders(DEFAULT_ORDERS if orders is None else orders)
        self.history: list[tuple[float, float, int]] = []

    def step(self, *, noise_multiplier: float, sample_rate: float, steps: int = 1) -> None:
        """Record ``steps`` steps with noise multiplier σ and sampling rate q (validated)."""
        sigma = check_nonnegative(noise_multiplier, "noise_multiplier")
        q = check_probability(sample_rate, "sample_rate")
        steps = _check_steps(steps)
        if steps == 0:
            return
        if self.history and self.history[-1][:2] == (sigma, q):
            self.history[-1] = (sigma, q, self.history[-1][2] + steps)
        else:
            self.history.append((sigma, q, steps))

    @property
    def rdp(self) -> np.ndarray:
        """The composed RDP curve: :math:`\\sum_t T_t\\,\\rho_{q_t,\\sigma_t}(\\alpha)` per order."""
        per_setting: dict[tuple[float, float], int] = {}
        for sigma, q, t in self.history:
            per_setting[(sigma, q)] = per_setting.get((sigma, q), 0) + t
        total = np.zeros(self.orders.shape)
        for (sigma, q), t in per_setting.items():
            if q > 0:
                total = total + t * rdp_subsampled_gaussian(noise_multiplier=sigma, sample_rate=q, orders=self.orders)
        return total

    def get_privacy_spent(self, *, delta: float, conversion: str = "improved") -> tuple[float, float]:
        """Return ``(epsilon, best_order)``; ``(0.0, nan)`` before any (non-trivial) step.

        Raises ``ValueError`` if a recorded step had ``noise_multiplier = 0`` (and ``sample_rate > 0``):
        such a step is not differentially private at any finite ε.
        """
        delta = check_delta(delta)
        conversion = check_conversion(conversion)
        for sigma, q, t in self.history:
            _check_noise_for_epsilon(sigma, q, t)
        rdp = self.rdp
        if not rdp.any():
            return 0.0, math.nan
        return rdp_to_epsilon(rdp, self.orders, delta=delta, conversion=conversion)

    def get_epsilon(self, *, delta: float, conversion: str = "improved") -> float:
        """ε spent so far at the given δ (see :func:`rdp_to_epsilon`)."""
        return self.get_privacy_spent(delta=delta, conversion=conversion)[0]

    def __len__(self) -> int:
        return sum(t for _, _, t in self.history)

    def __repr__(self) -> str:
        return f"RDPAccountant(steps={len(self)}, settings={len(self.history)}, orders={self.orders.size})"
