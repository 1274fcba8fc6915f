r"""PATE: Private Aggregation of Teacher Ensembles, and its privacy analysis (lesson 04).

The recipe (Papernot, Abadi, Erlingsson, Goodfellow & Talwar, *Semi-supervised knowledge
transfer for deep learning from private training data*, ICLR 2017):

1. give every private example to one *teacher*, by a random hash of a fixed key of the example
   (:func:`assign_teachers`), and train one teacher per shard (:func:`train_teachers`: many small
   MLPs trained as one batched model);
2. for each query the teachers vote (:func:`vote_counts`); the aggregator releases a *noisy*
   argmax: Laplace noise ``Lap(1/γ)`` per count (LNMax, :func:`laplace_noisy_argmax`), Gaussian
   noise ``N(0, σ²)`` (GNMax, :func:`gaussian_noisy_argmax`), or only when the teachers agree
   (Confident-GNMax, :func:`confident_gnmax`; Papernot et al. 2018);
3. a *student* learns from public unlabeled data labelled by the aggregator (:func:`train_student`).

Privacy unit: one private training example, added or removed (example-level DP). With shards
assigned by key, this changes one teacher's shard and nothing else, hence at most one vote per
query: one count goes down by one and another up by one. LNMax is therefore ``2γ``-DP per
query; GNMax is ``(α, α/σ²)``-RDP per query. The moments accountant (2017,
:func:`perform_analysis`) and Rényi DP (2018, :func:`gnmax_epsilon`, :func:`confident_gnmax_rdp`)
compose these over the queries, either data-independently (a guarantee that may be published)
or using how strongly the teachers agree (*data-dependent* bounds, which depend on the private
votes and may only be published through a private release such as
:func:`release_epsilon_smooth_sensitivity`, Papernot et al. 2018, Sec. 4.2).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from ._validation import (as_labels, as_rng, check_conversion, check_delta, check_orders, check_positive,
                          check_positive_int)
from .accounting import rdp_to_epsilon
from .partitions import HASH_PRIME, key_partition

__all__ = [
    "assign_teachers",
    "HASH_PRIME",
    "vote_counts",
    "laplace_noisy_argmax",
    "gaussian_noisy_argmax",
    "data_independent_log_moment",
    "data_independent_epsilon",
    "compute_q_noisy_max",
    "log_moment_bound",
    "lnmax_epsilon",
    "perform_analysis",
    "gnmax_q_bound",
    "gnmax_log_q",
    "rdp_gnmax_data_independent",
    "rdp_gnmax_data_dependent",
    "gnmax_epsilon",
    "rdp_gnmax_from_log_q",
    "confident_gnmax",
    "log_pr_answered",
    "rdp_threshold_data_independent",
    "rdp_threshold_data_dependent",
    "confident_gnmax_rdp",
    "confident_gnmax_epsilon",
    "gnmax_log_q0",
    "local_sensitivity_gnmax",
    "local_sensitivity_threshold",
    "smooth_sensitivity",
    "rdp_smooth_sensitivity_release",
    "smooth_sensitivity_release_params",
    "smooth_sensitivity_conditions",
    "SmoothSensitivityRelease",
    "release_epsilon_smooth_sensitivity",
    "GNMAX_ORDERS",
]

# The torch half of PATE (teachers and student) lives in helpers.pate_teachers; its names stay reachable
# here (``H.pate.train_teachers``) without importing torch until they are used.
_TORCH_NAMES = ("train_teachers", "predict", "train_student", "accuracy")


def __getattr__(name: str) -> Any:
    if name in _TORCH_NAMES:
        from . import pate_teachers

        return getattr(pate_teachers, name)
    raise AttributeError(f"module 'helpers.pate' has no attribute {name!r}")


#: Integer Rényi orders 2..200: the grid of Papernot et al. (2018)'s GNMax analysis, used by lesson 04.
#: (The course's general default grid is :data:`helpers.accounting.DEFAULT_ORDERS`, Opacus's; the GNMax
#: data-dependent bound needs integer orders and reaches its best ε at larger ones.)
GNMAX_ORDERS = np.arange(2, 201, dtype=float)


# ----------------------------------------------------------------------------- validation


def _as_preds(teacher_preds: Any, name: str = "teacher_preds") -> np.ndarray:
    return as_labels(teacher_preds, name, ndim=2, shape="(num_teachers, num_queries)")


def _as_counts(counts: Any, name: str = "counts", *, ndim: tuple[int, ...] = (1, 2)) -> np.ndarray:
    arr = np.asarray(counts, dtype=float)
    if arr.ndim not in ndim:
        raise ValueError(f"{name} must be a {' or '.join(f'{d}-D' for d in ndim)} array of vote counts, "
                         f"got shape {arr.shape}")
    if arr.size == 0 or arr.shape[-1] < 2:
        raise ValueError(f"{name} needs at least 2 classes and 1 query, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity")
    if (arr < 0).any():
        raise ValueError(f"{name} must be >= 0 (they count votes)")
    return arr


def _as_orders(orders: Any) -> np.ndarray:
    """:func:`helpers._validation.check_orders`, but ``inf`` is rejected too (the GNMax bounds need finite orders)."""
    arr = check_orders(orders)
    if np.isinf(arr).any():
        raise ValueError(f"orders must be finite Rényi orders > 1, got {orders!r}")
    return arr


def _check_real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _moments_epsilon(total: np.ndarray, ls: np.ndarray, delta: float) -> float:
    r"""Moments accountant: ``ε = min_l (α(l) − ln δ) / l`` from the total log moments ``α(l)`` at orders ``ls``."""
    return float(np.min((total - math.log(delta)) / ls))


def _plurality_gaps(a2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gaps ``n_{j*} − n_j`` to the (first) plurality class ``j*`` of each row of a 2-D count array.

    Returns ``(gaps, winner)``: ``gaps`` has the shape of ``a2`` (0 at the winner), ``winner``
    holds ``j*`` per row.
    """
    winner = np.argmax(a2, axis=1)
    return a2[np.arange(len(a2)), winner][:, None] - a2, winner


# ----------------------------------------------------------------------------- aggregation


def assign_teachers(keys: Any, *, num_teachers: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
    r"""The teacher of every training example, from a random hash of the example's fixed key.

    :func:`helpers.partitions.key_partition` with ``num_parts = num_teachers`` (see it for the
    hash and the proof): adding or removing one example changes exactly one teacher's shard —
    what PATE's privacy unit (one training example, added or removed) needs. Teacher ``t``'s
    shard is ``np.flatnonzero(teacher == t)``. ``rng``: numpy generator (an int seed is accepted
    for old code).
    """
    num_teachers = check_positive_int(num_teachers, "num_teachers")
    return key_partition(keys, num_parts=num_teachers, rng=rng)


def vote_counts(teacher_preds: Any, *, num_classes: int) -> np.ndarray:
    """Histogram of the teachers' votes for every query.

    ``counts[i, j] = #{t : teacher_preds[t, i] == j}``, computed per query with
    ``np.bincount(..., minlength=num_classes)`` (not with ``set(...)``, which misses classes
    nobody voted for and so shifts the columns).

    Parameters
    ----------
    teacher_preds
        Integer labels of shape ``(num_teachers, num_queries)``: row ``t`` holds teacher ``t``'s
        predictions (a transpose of ``(num_queries, num_teachers)``, never a ``view``).
    num_classes
        Number of classes ``K``.

    Returns
    -------
    numpy.ndarray
        ``int64`` array of shape ``(num_queries, num_classes)``; each row sums to ``num_teachers``.

    Raises
    ------
    ValueError
        If ``teacher_preds`` is not 2-D, empty, non-integer, or holds a label outside ``0..K-1``.
    """
    preds = _as_preds(teacher_preds)
    num_classes = check_positive_int(num_classes, "num_classes")
    if preds.max() >= num_classes:
        raise ValueError(f"teacher_preds holds label {int(preds.max())}, outside 0..num_classes-1 = 0..{num_classes - 1}")
    num_queries = preds.shape[1]
    offsets = preds + num_classes * np.arange(num_queries)[None, :]
    return np.bincount(offsets.ravel(), minlength=num_queries * num_classes).reshape(num_queries, num_classes)


def laplace_noisy_argmax(counts: Any, *, gamma: float, rng: np.random.Generator | int | None = None) -> Any:
    r"""LNMax: release ``argmax_j (n_j + Lap(1/γ))`` for each query.

    Noise ``rng.laplace(0.0, 1/gamma, size=counts.shape)`` is drawn in one call and added to
    every count. Per query this is ``2γ``-DP (one changed teacher moves two counts by one;
    Papernot et al. 2017, Sec. 2.1). Smaller ``γ`` = more noise = more privacy.

    Parameters
    ----------
    counts
        Vote counts, shape ``(K,)`` for one query or ``(num_queries, K)``.
    gamma
        Inverse Laplace scale ``γ > 0``.
    rng
        Numpy generator (or seed).

    Returns
    -------
    int or numpy.ndarray
        The released label (an ``int`` for one query, else an ``int64`` array).
    """
    arr = _as_counts(counts)
    gamma = check_positive(gamma, "gamma")
    rng = as_rng(rng)
    noisy = arr + rng.laplace(0.0, 1.0 / gamma, size=arr.shape)
    out = np.argmax(noisy, axis=-1)
    return int(out) if arr.ndim == 1 else out.astype(np.int64)


def gaussian_noisy_argmax(counts: Any, *, sigma: float, rng: np.random.Generator | int | None = None) -> Any:
    r"""GNMax: release ``argmax_j (n_j + N(0, σ²))`` for each query (Papernot et al. 2018, Sec. 4.1).

    ``(α, α/σ²)``-RDP per query for every order ``α > 1`` (the vote histogram has L2
    sensitivity ``√2``). Noise is drawn in one call ``rng.normal(0, sigma, size=counts.shape)``.
    """
    arr = _as_counts(counts)
    sigma = check_positive(sigma, "sigma")
    rng = as_rng(rng)
    out = np.argmax(arr + rng.normal(0.0, sigma, size=arr.shape), axis=-1)
    return int(out) if arr.ndim == 1 else out.astype(np.int64)


# ----------------------------------------------------------------------------- moments accountant (2017)


def data_independent_log_moment(l: float, *, gamma: float) -> float:  # noqa: E741 (the paper's name)
    r"""Data-independent bound on the ``l``-th log moment of one LNMax answer.

    .. math:: \alpha(l) \le \min\big(2\gamma^2 l(l+1),\; 2\gamma l\big)

    LNMax is ``ε = 2γ``-DP; an ε-DP mechanism has ``α(l) ≤ ε² l(l+1)/2`` (Papernot et al.
    2017, Thm 2, after Dwork & Rothblum 2016) and trivially ``α(l) ≤ ε l``.

    Raises
    ------
    ValueError
        If ``l <= 0`` or ``gamma <= 0``.
    """
    l = check_positive(l, "l")
    gamma = check_positive(gamma, "gamma")
    eps = 2.0 * gamma
    return float(min(0.5 * eps * eps * l * (l + 1.0), eps * l))


def data_independent_epsilon(num_queries: int, *, gamma: float, delta: float, moments: int = 8) -> float:
    r"""Total ε of ``num_queries`` LNMax answers by the moments accountant, ignoring the votes.

    .. math:: \varepsilon = \min_{l = 1..\text{moments}} \frac{T\,\alpha(l) + \ln(1/\delta)}{l}

    with ``α(l)`` from :func:`data_independent_log_moment` (log moments add up over the
    ``T`` queries; Abadi et al. 2016, Thm 2). This is the "data-independent ε" of the legacy
    PySyft ``perform_analysis``: 100 queries, ``γ = 0.1``, ``δ = 1e-5`` → 11.7565.

    Raises
    ------
    ValueError
        If ``num_queries`` or ``moments`` is not an integer >= 1, ``gamma <= 0`` or ``delta`` not in (0, 1).
    """
    num_queries = check_positive_int(num_queries, "num_queries")
    gamma = check_positive(gamma, "gamma")
    delta = check_delta(delta)
    moments = check_positive_int(moments, "moments")
    ls = np.arange(1, moments + 1, dtype=float)
    alpha = np.array([data_independent_log_moment(l, gamma=gamma) for l in ls])
    return _moments_epsilon(num_queries * alpha, ls, delta)


def compute_q_noisy_max(counts: Any, *, gamma: float) -> Any:
    r"""Upper bound on ``q = Pr[LNMax ≠ plurality label]`` from the vote gaps.

    .. math:: q \le \min\Big(\sum_{j \ne j^*} \frac{2 + \gamma\Delta_j}{4 e^{\gamma \Delta_j}},\;
              1 - \frac1K\Big),\qquad \Delta_j = n_{j^*} - n_j

    (Papernot et al. 2017, Prop. 7 / the TensorFlow ``analysis.py``). ``counts`` of shape
    ``(K,)`` gives a float, ``(num_queries, K)`` an array.
    """
    arr = _as_counts(counts)
    gamma = check_positive(gamma, "gamma")
    a2 = np.atleast_2d(arr)
    k = a2.shape[1]
    gaps, winner = _plurality_gaps(a2)
    gaps = gamma * gaps
    terms = (gaps + 2.0) / (4.0 * np.exp(gaps))
    terms[np.arange(len(a2)), winner] = 0.0
    q = np.minimum(terms.sum(axis=1), 1.0 - 1.0 / k)
    return float(q[0]) if arr.ndim == 1 else q


def log_moment_bound(q: Any, l: float, *, gamma: float) -> Any:  # noqa: E741
    r"""Data-dependent bound on the ``l``-th log moment of one LNMax answer (Papernot et al. 2017, Thm 3).

    With ``ε = 2γ`` and ``q ≥ Pr[answer ≠ plurality]``: if ``q < (e^{ε} − 1)/(e^{2ε} − 1)``,

    .. math:: \alpha(l) \le \log\Big((1-q)\Big(\frac{1-q}{1 - e^{\varepsilon} q}\Big)^l + q e^{\varepsilon l}\Big),

    and always ``α(l) ≤ min(ε² l(l+1)/2, ε l)``; the smaller bound is returned. (The legacy
    code only required ``q < 0.5``, weaker than the theorem's condition.)
    """
    q_arr = np.asarray(q, dtype=float)
    if not np.isfinite(q_arr).all() or (q_arr < 0).any() or (q_arr > 1).any():
        raise ValueError(f"q must be a probability in [0, 1], got {q!r}")
    l = check_positive(l, "l")
    gamma = check_positive(gamma, "gamma")
    eps = 2.0 * gamma
    indep = data_independent_log_moment(l, gamma=gamma)
    qs = np.atleast_1d(q_arr)
    out = np.full(qs.shape, indep)
    ok = qs < (math.expm1(eps) / math.expm1(2.0 * eps))
    if ok.any():
        qo = qs[ok]
        with np.errstate(divide="ignore"):
            t = (1.0 - qo) * ((1.0 - qo) / (1.0 - math.exp(eps) * qo)) ** l + qo * math.exp(eps * l)
            out[ok] = np.minimum(np.log(t), indep)
    return float(out[0]) if q_arr.ndim == 0 else out


def lnmax_epsilon(teacher_preds: Any, labels: Any, *, gamma: float, delta: float,
                  moments: int = 8) -> tuple[float, float]:
    r"""Privacy of LNMax-labelled queries by the moments accountant: ``(data_dep_eps, data_ind_eps)``.

    * data-independent: :func:`data_independent_epsilon` (``T`` queries, each ``2γ``-DP, add/remove
      one training example): a guarantee that may be published;
    * data-dependent: ``min_l (Σ_i α_i(l) + ln(1/δ))/l`` with ``α_i(l)`` from
      :func:`log_moment_bound` and ``q_i`` from :func:`compute_q_noisy_max` (Papernot et al. 2017,
      Sec. 3): computed from the private votes, so it may not be published as it is.

    Parameters
    ----------
    teacher_preds
        Teachers' labels, shape ``(num_teachers, num_queries)``.
    labels
        The released (noisy) labels, shape ``(num_queries,)``; checked against the label range
        (the bound itself depends only on the votes).
    gamma
        ``γ``, the inverse scale of the Laplace noise used to release them.
    delta
        Target δ.
    moments
        Log-moment orders ``l = 1..moments`` to optimise over.

    Returns
    -------
    (float, float)
        ``(data_dependent_epsilon, data_independent_epsilon)``; the first is never larger.
    """
    preds = _as_preds(teacher_preds)
    idx = np.asarray(labels)
    if idx.ndim != 1 or idx.shape[0] != preds.shape[1]:
        raise ValueError(f"labels must have shape (num_queries,) = ({preds.shape[1]},), got shape {idx.shape}")
    if idx.dtype.kind not in "iu" and not (idx.dtype.kind == "f" and np.isfinite(idx).all()
                                           and np.array_equal(idx, np.round(idx))):
        raise ValueError(f"labels must hold integer labels, got dtype {idx.dtype}")
    noise_eps = check_positive(gamma, "gamma")
    delta = check_delta(delta)
    moments = check_positive_int(moments, "moments")
    if (idx < 0).any():
        raise ValueError(f"labels must hold labels >= 0, got {int(idx.min())}")
    num_classes = int(max(preds.max(), idx.max())) + 1
    num_classes = max(num_classes, 2)
    counts = vote_counts(preds, num_classes=num_classes)
    q = compute_q_noisy_max(counts, gamma=noise_eps)
    ls = np.arange(1, moments + 1, dtype=float)
    total = np.array([log_moment_bound(q, l, gamma=noise_eps).sum() for l in ls])
    data_dep = _moments_epsilon(total, ls, delta)
    data_ind = data_independent_epsilon(preds.shape[1], gamma=noise_eps, delta=delta, moments=moments)
    return data_dep, data_ind




def perform_analysis(teacher_preds: Any, indices: Any, noise_eps: float, delta: float = 1e-5, moments: int = 8,
                     beta: float = 0.09) -> tuple[float, float]:
    r"""Privacy of LNMax-labelled queries, with the legacy PySyft signature: :func:`lnmax_epsilon`.

    The same signature and return order as the PySyft 0.2 function used by the Udacity
    *Secure and Private AI* course (``syft.frameworks.torch.dp.pate``), with its bugs fixed:
    the vote histogram of query ``i`` is built from column ``i`` with ``np.bincount`` and
    **every** query is analysed (the legacy loop ``for i in indices: counts_mat[i]`` used each
    released *label* as a query index, so it analysed queries 0..9 over and over), and the
    data-dependent bound uses Theorem 3's condition on ``q``.

    Parameters and return value as :func:`lnmax_epsilon` (the keyword-only version the course
    uses elsewhere), with ``indices`` = ``labels`` and ``noise_eps`` = ``gamma``. ``beta`` is unused:
    validated and kept only so that calls written for the legacy signature still run. This function
    does not release the data-dependent ε privately; only the data-independent value may be
    published. (For GNMax, :func:`release_epsilon_smooth_sensitivity` does.)
    """
    check_positive(beta, "beta")
    try:
        return lnmax_epsilon(teacher_preds, indices, gamma=noise_eps, delta=delta, moments=moments)
    except ValueError as exc:  # name the legacy parameters in the message
        raise ValueError(str(exc).replace("labels must", "indices must").replace("gamma", "noise_eps")) from None


# ----------------------------------------------------------------------------- GNMax and Rényi DP (2018)


def gnmax_log_q(counts: Any, *, sigma: float) -> Any:
    r"""``ln q̃``, the log of :func:`gnmax_q_bound`, computed stably (``scipy.special.log_ndtr``).

    A float for ``counts`` of shape ``(K,)``, an array for ``(num_queries, K)``.
    """
    arr = _as_counts(counts)
    sigma = check_positive(sigma, "sigma")
    logq = _gnmax_log_q_rows(np.atleast_2d(arr), sigma)
    return float(logq[0]) if arr.ndim == 1 else logq


def _gnmax_log_q_rows(a2: np.ndarray, sigma: float) -> np.ndarray:
    """``ln q̃`` of every row of a 2-D count array (no validation)."""
    k = a2.shape[1]
    gaps, winner = _plurality_gaps(a2)
    # Pr[N(0, 2σ²) > gap] = ½ erfc(gap / 2σ) = Φ(−gap / (√2 σ))
    logp = special.log_ndtr(-gaps / (math.sqrt(2.0) * sigma))
    logp[np.arange(len(a2)), winner] = -np.inf
    top = logp.max(axis=1, keepdims=True)  # finite: log_ndtr is finite for every finite gap
    lse = top[:, 0] + np.log(np.exp(logp - top).sum(axis=1))
    return np.minimum(lse, math.log(1.0 - 1.0 / k))


def gnmax_q_bound(counts: Any, *, sigma: float) -> float:
    r"""Upper bound ``q̃`` on ``Pr[GNMax ≠ plurality label]`` for one query (Papernot et al. 2018, Prop. 7).

    .. math:: \tilde q = \min\Big(\sum_{i \ne i^*} \tfrac12\,\mathrm{erfc}\Big(\frac{n_{i^*} - n_i}{2\sigma}\Big),
              \; 1 - \frac1K\Big)

    (a union bound: ``n_i + N(0,σ²)`` beats ``n_{i*} + N(0,σ²)`` with probability
    ``Pr[N(0, 2σ²) > n_{i*} − n_i]``). ``i*`` is the first plurality class.

    Parameters
    ----------
    counts
        One query's vote counts, shape ``(K,)``, ``K >= 2``.
    sigma
        Standard deviation of the Gaussian noise.
    """
    arr = _as_counts(counts, ndim=(1,))
    return float(math.exp(gnmax_log_q(arr, sigma=sigma)))


def rdp_gnmax_data_independent(orders: Any, *, sigma: float) -> np.ndarray:
    r"""Data-independent RDP of one GNMax answer: ``ε(α) = α / σ²`` (Papernot et al. 2018, Prop. 8).

    The vote histogram has L2 sensitivity ``√2`` (one count −1, another +1); a Gaussian
    mechanism of sensitivity ``Δ`` is ``(α, αΔ²/2σ²)``-RDP (Mironov 2017), and argmax is
    post-processing.
    """
    orders = _as_orders(orders)
    sigma = check_positive(sigma, "sigma")
    return orders / sigma**2


def rdp_gnmax_data_dependent(counts: Any, *, sigma: float, orders: Any = GNMAX_ORDERS) -> np.ndarray:
    r"""Data-dependent RDP of one GNMax answer from the vote gaps (Papernot et al. 2018, Thm 6 + Prop. 10).

    With ``q̃`` from :func:`gnmax_q_bound`, the higher orders ``μ₂ = σ√(ln 1/q̃)``, ``μ₁ = μ₂ + 1``
    and ``ε_i = μ_i/σ²`` (Prop. 10), for every order ``λ < μ₁`` at which Theorem 6's conditions
    hold (``q̃ ≤ e^{(μ₂−1)ε₂} / (μ₁/(μ₁−1) · μ₂/(μ₂−1))^{μ₂}`` and ``q̃ e^{ε₂} < 1``),

    .. math:: \varepsilon(\lambda) \le \frac{1}{\lambda-1}\log\Big((1-\tilde q)A^{\lambda-1} + \tilde q B^{\lambda-1}\Big),
        \quad A = \frac{1-\tilde q}{1-(\tilde q e^{\varepsilon_2})^{(\mu_2-1)/\mu_2}},\;
        B = \frac{e^{\varepsilon_1}}{\tilde q^{1/(\mu_1-1)}};

    elsewhere the data-independent ``λ/σ²``. The result is never above ``λ/σ²``; when the
    teachers agree so much that ``q̃ = 0`` numerically, it is 0.

    Parameters
    ----------
    counts
        One query's vote counts, shape ``(K,)``.
    sigma
        GNMax noise standard deviation.
    orders
        Rényi orders ``λ > 1``.

    Returns
    -------
    numpy.ndarray
        RDP bound at each order.
    """
    arr = _as_counts(counts, ndim=(1,))
    sigma = check_positive(sigma, "sigma")
    return rdp_gnmax_from_log_q(gnmax_log_q(arr, sigma=sigma), sigma=sigma, orders=orders)


def gnmax_epsilon(counts: Any, *, sigma: float, delta: float, orders: Any = GNMAX_ORDERS,
                  data_dependent: bool = True, conversion: str = "improved") -> tuple[float, float]:
    r"""(ε, δ) of answering every query in ``counts`` with GNMax: ``(epsilon, best_order)``.

    RDP adds up over the queries (Mironov 2017, Prop. 1): data-independently
    ``T α/σ²`` (:func:`rdp_gnmax_data_independent`), or, with ``data_dependent=True``, the sum
    of :func:`rdp_gnmax_data_dependent` over the queries. The total is converted with
    :func:`helpers.accounting.rdp_to_epsilon`: ``conversion="improved"`` (Balle et al. 2020, the
    course's default everywhere) or ``"classic"`` (``ε = min_α rdp(α) + ln(1/δ)/(α−1)``, Mironov
    2017, the conversion of Papernot et al. 2018's tables; lesson 04 uses it to reproduce them).
    Example: ``σ = 40``, 640 queries, ``δ = 1e-5``, orders 2..200, classic → ε = 4.7026 (α = 6).

    Only the data-independent ε may be published as it is. The data-dependent ε depends on the
    private votes, so publishing it leaks; :func:`release_epsilon_smooth_sensitivity` releases
    it privately (Papernot et al. 2018, Sec. 4.2).

    Parameters
    ----------
    counts
        Vote counts of the answered queries, shape ``(num_queries, K)``.
    """
    arr = _as_counts(counts, ndim=(2,))
    sigma = check_positive(sigma, "sigma")
    delta = check_delta(delta)
    orders = _as_orders(orders)
    conversion = check_conversion(conversion)
    if data_dependent:
        rdp = np.zeros_like(orders)
        for row in arr:
            rdp += rdp_gnmax_data_dependent(row, sigma=sigma, orders=orders)
    else:
        rdp = len(arr) * rdp_gnmax_data_independent(orders, sigma=sigma)
    eps, order = rdp_to_epsilon(rdp, orders, delta=delta, conversion=conversion)
    return float(eps), float(order)


# ----------------------------------------------------------------------------- Confident-GNMax (2018)
#
# Ported from the reference implementation of Papernot et al. 2018, tensorflow/privacy
# research/pate_2018 (core.py), Copyright 2017 The 'Scalable Private Learning with PATE' Authors,
# Apache License 2.0; vectorised over queries and written in log space. tests/test_helpers_pate.py
# pins the reference's own test values and compares with an unmodified copy of it
# (tests/reference_pate_2018/) on many random vote histograms.


def _log1mexp_array(x: Any) -> np.ndarray:
    """log(1 − eˣ) element-wise for x <= 0 (−inf at 0), stably."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.where(x < -1.0, np.log1p(-np.exp(np.minimum(x, 0.0))), np.log(-np.expm1(np.minimum(x, 0.0))))
    return np.where(x >= 0.0, -np.inf, out)


def rdp_gnmax_from_log_q(log_q: Any, *, sigma: float, orders: Any = GNMAX_ORDERS) -> np.ndarray:
    r"""RDP of a Gaussian noisy argmax (sensitivity √2, noise ``σ``) whose non-plurality answer has
    probability at most ``q = e^{log_q}`` (Papernot et al. 2018, Thm 6 with Prop. 10's orders).

    The math of :func:`rdp_gnmax_data_dependent` (which calls this with ``log_q`` from
    :func:`gnmax_log_q`): Theorem 6 where its conditions hold, else the data-independent
    ``λ/σ²``; 0 when ``q = 0`` (the answer is fixed). Port of ``core.rdp_gaussian``.

    Parameters
    ----------
    log_q
        ``ln q <= 0``: one number, or a 1-D array (one per query).
    sigma
        Noise standard deviation (``√2 σ₁`` for the threshold step of Confident-GNMax).
    orders
        Rényi orders ``λ > 1``.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(orders),)`` for one ``log_q``, ``(len(log_q), len(orders))`` for an array.
    """
    lq_in = np.asarray(log_q, dtype=float)
    if lq_in.ndim > 1 or np.isnan(lq_in).any() or (lq_in > 0).any():
        raise ValueError(f"log_q must be a number or 1-D array of numbers <= 0, got {log_q!r}")
    orders = _as_orders(orders)
    sigma = check_positive(sigma, "sigma")
    variance = sigma**2
    lq = np.atleast_1d(lq_in)[:, None]
    ret = np.broadcast_to(orders / variance, (lq.shape[0], orders.size)).copy()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mu2 = np.sqrt(variance * -lq)
        mu1 = mu2 + 1.0
        eps1, eps2 = mu1 / variance, mu2 / variance
        finite = np.isfinite(lq) & (mu2 > 1.0)
        limit = (mu2 - 1.0) * eps2 - mu2 * (np.log1p(1.0 / (mu1 - 1.0)) + np.log1p(1.0 / (mu2 - 1.0)))
        rows_ok = finite & (lq <= limit) & (-lq > eps2)
        use = rows_ok & (orders[None, :] < mu1)
        if use.any():
            log1q = _log1mexp_array(lq)
            log_a = (orders - 1.0) * (log1q - _log1mexp_array(np.where(rows_ok, (lq + eps2) * (1.0 - 1.0 / mu2), -1.0)))
            log_b = (orders - 1.0) * (eps1 - lq / (mu1 - 1.0))
            bound = np.logaddexp(log1q + log_a, lq + log_b) / (orders - 1.0)
            ret = np.where(use, np.minimum(ret, bound), ret)
    ret[np.isneginf(lq[:, 0])] = 0.0
    ret = np.maximum(ret, 0.0)
    return ret[0] if lq_in.ndim == 0 else ret


def confident_gnmax(counts: Any, *, threshold: float, sigma1: float, sigma2: float,
                    rng: np.random.Generator | int | None = None) -> Any:
    r"""Confident-GNMax (Papernot et al. 2018, Alg. 1): answer only the queries the teachers agree on.

    Step 1 (selection): the query is answered if ``max_j n_j + N(0, σ₁²) >= threshold``.
    Step 2 (GNMax): an answered query gets ``argmax_j (n_j + N(0, σ₂²))``; the others get
    ``-1`` ("no answer"). Noise: ``rng.normal(0, sigma1, size=num_queries)`` first, then
    ``rng.normal(0, sigma2, size=counts.shape)`` (drawn for every query, used for the answered ones).

    Privacy (one private example added or removed changes one teacher's vote): step 1 is a
    Gaussian mechanism on ``max_j n_j`` (sensitivity 1), ``(λ, λ/(2σ₁²))``-RDP per query; step 2
    is GNMax, ``(λ, λ/σ₂²)``-RDP, and runs only for answered queries. See
    :func:`confident_gnmax_rdp` for the accounting.

    Returns
    -------
    int or numpy.ndarray
        The label, or ``-1`` for a query not answered: an ``int`` for ``counts`` of shape
        ``(K,)``, else an ``int64`` array of shape ``(num_queries,)``.
    """
    arr = _as_counts(counts)
    threshold = _check_real(threshold, "threshold")
    sigma1 = check_positive(sigma1, "sigma1")
    sigma2 = check_positive(sigma2, "sigma2")
    rng = as_rng(rng)
    a2 = np.atleast_2d(arr)
    selected = a2.max(axis=1) + rng.normal(0.0, sigma1, size=len(a2)) >= threshold
    labels = np.argmax(a2 + rng.normal(0.0, sigma2, size=a2.shape), axis=1)
    out = np.where(selected, labels, -1).astype(np.int64)
    return int(out[0]) if arr.ndim == 1 else out


def log_pr_answered(counts: Any, *, threshold: float, sigma1: float) -> Any:
    r"""``ln Pr[max_j n_j + N(0, σ₁²) >= threshold]``: the log probability that step 1 answers.

    ``max_j n_j`` is rounded to an integer first, as in the reference (``core.compute_logpr_answered``).
    A float for ``counts`` of shape ``(K,)``, an array for ``(num_queries, K)``.
    """
    arr = _as_counts(counts)
    threshold = _check_real(threshold, "threshold")
    sigma1 = check_positive(sigma1, "sigma1")
    top = np.round(np.atleast_2d(arr).max(axis=1))
    out = stats.norm.logsf(threshold - top, scale=sigma1)
    return float(out[0]) if arr.ndim == 1 else out


def rdp_threshold_data_independent(orders: Any, *, sigma1: float) -> np.ndarray:
    r"""Data-independent RDP of Confident-GNMax's step 1: ``λ / (2σ₁²)``.

    ``max_j n_j`` has sensitivity 1 (one teacher changes its vote), half GNMax's squared L2
    sensitivity of 2: the Gaussian mechanism gives ``λ·1²/(2σ₁²)`` (Mironov 2017).
    """
    return rdp_gnmax_data_independent(orders, sigma=math.sqrt(2.0) * check_positive(sigma1, "sigma1"))


def rdp_threshold_data_dependent(counts: Any, *, threshold: float, sigma1: float,
                                 orders: Any = GNMAX_ORDERS) -> np.ndarray:
    r"""Data-dependent RDP of Confident-GNMax's step 1 (Papernot et al. 2018, Sec. 4.1 and App. B).

    Step 1 has two outcomes (answer or not); the less likely one has probability
    ``q = min(Pr[answered], 1 − Pr[answered])`` (:func:`log_pr_answered`), which plays the role of
    GNMax's ``q``. Its input ``max_j n_j`` has sensitivity 1, half of GNMax's L2 sensitivity √2
    in squared terms, so the bound is GNMax's with ``σ = √2 σ₁`` (:func:`rdp_gnmax_from_log_q`;
    port of ``core.compute_rdp_threshold``). Never above :func:`rdp_threshold_data_independent`.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(orders),)`` for one query, ``(num_queries, len(orders))`` for several.
    """
    logp = np.asarray(log_pr_answered(counts, threshold=threshold, sigma1=sigma1), dtype=float)
    logq = np.minimum(logp, _log1mexp_array(logp))
    return rdp_gnmax_from_log_q(logq if logq.ndim else float(logq), sigma=math.sqrt(2.0) * sigma1, orders=orders)


def _as_answered(answered: Any, n: int) -> np.ndarray:
    arr = np.asarray(answered)
    if arr.shape != (n,) or arr.dtype.kind != "b":
        raise ValueError(f"answered must be a boolean array of shape ({n},), one entry per query, "
                         f"got {arr.dtype} of shape {arr.shape}")
    return arr


def confident_gnmax_rdp(counts: Any, answered: Any = None, *, threshold: float, sigma1: float, sigma2: float,
                        orders: Any = GNMAX_ORDERS, data_dependent: bool = True) -> np.ndarray:
    r"""Total RDP of Confident-GNMax over the queries in ``counts``.

    * ``data_dependent=False``: a worst-case bound, ``n λ/(2σ₁²) + n λ/σ₂²`` for ``n`` queries.
      Every query may be answered, and how many are is random and depends on the data, so a
      bound that holds for every data set counts step 2 for all of them (``answered`` is ignored).
    * ``data_dependent=True``: as Papernot et al. 2018 (Sec. 4 and App. B; ``smooth_sensitivity_table.py``
      of the reference, with the realised answers): :func:`rdp_threshold_data_dependent` for every
      query plus :func:`rdp_gnmax_data_dependent` for the answered ones (``answered``: boolean
      array, e.g. ``labels >= 0``). This number depends on the private votes: it may not be
      published as it is; see :func:`release_epsilon_smooth_sensitivity`.

    Returns
    -------
    numpy.ndarray
        RDP at each order.
    """
    arr = _as_counts(counts, ndim=(2,))
    threshold = _check_real(threshold, "threshold")
    sigma1 = check_positive(sigma1, "sigma1")
    sigma2 = check_positive(sigma2, "sigma2")
    orders = _as_orders(orders)
    n = len(arr)
    if not data_dependent:
        return n * (rdp_threshold_data_independent(orders, sigma1=sigma1) + rdp_gnmax_data_independent(orders, sigma=sigma2))
    answered = _as_answered(answered, n)
    total = rdp_threshold_data_dependent(arr, threshold=threshold, sigma1=sigma1, orders=orders).sum(axis=0)
    if answered.any():
        total = total + rdp_gnmax_from_log_q(gnmax_log_q(arr[answered], sigma=sigma2), sigma=sigma2,
                                             orders=orders).sum(axis=0)
    return total


def confident_gnmax_epsilon(counts: Any, answered: Any = None, *, threshold: float, sigma1: float, sigma2: float,
                            delta: float, orders: Any = GNMAX_ORDERS, data_dependent: bool = True,
                            conversion: str = "improved") -> tuple[float, float]:
    r"""(ε, δ) of Confident-GNMax over the queries in ``counts``: ``(epsilon, best_order)``.

    :func:`confident_gnmax_rdp` converted with :func:`helpers.accounting.rdp_to_epsilon`. With
    ``data_dependent=False`` a guarantee that holds for every data set and may be published; with
    ``data_dependent=True`` a value computed from the private votes that may **not** be published
    as it is (use :func:`release_epsilon_smooth_sensitivity`).
    """
    orders = _as_orders(orders)
    rdp = confident_gnmax_rdp(counts, answered, threshold=threshold, sigma1=sigma1, sigma2=sigma2, orders=orders,
                              data_dependent=data_dependent)
    eps, order = rdp_to_epsilon(rdp, orders, delta=check_delta(delta), conversion=check_conversion(conversion))
    return float(eps), float(order)


# ----------------------------------------------------------------------------- smooth-sensitivity release (2018)
#
# The data-dependent ε is a function of the private votes, so publishing it leaks. Papernot et
# al. 2018 (Sec. 4.2, App. B-C) release it with the smooth-sensitivity framework (Nissim,
# Raskhodnikova & Smith 2007): at a fixed order λ, the data-dependent RDP f(D) is published as
# f(D) + SS_β(D)·N(0, σ_ss²), where SS_β is a β-smooth upper bound on f's local sensitivity;
# this release is itself (λ, ε_GNSS)-RDP (their Thm 23). Ported from smooth_sensitivity.py of the
# reference (tensorflow/privacy research/pate_2018, Apache License 2.0), vectorised, in log space.


def _theorem6(logq: Any, sigma: float, order: float) -> np.ndarray:
    """Theorem 6's bound as a formula, without checking its conditions (``_compute_data_dep_bound_gnmax``)."""
    lq = np.asarray(logq, dtype=float)
    variance = sigma**2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mu2 = sigma * np.sqrt(-lq)
        mu1 = mu2 + 1.0
        eps1, eps2 = mu1 / variance, mu2 / variance
        log1q = _log1mexp_array(lq)
        log_a = (order - 1.0) * (log1q - _log1mexp_array(np.minimum((lq + eps2) * (1.0 - 1.0 / mu2), 0.0)))
        log_b = (order - 1.0) * (eps1 - lq / (mu1 - 1.0))
        return np.logaddexp(log1q + log_a, lq + log_b) / (order - 1.0)


@functools.lru_cache(maxsize=1024)
def gnmax_log_q0(*, sigma: float, order: float) -> float:
    r"""``ln q₀``: below ``q₀`` Theorem 6 beats the data-independent ``λ/σ²`` at order ``λ``.

    Root of ``Thm6(q) = λ/σ²`` bracketed and found with Brent's method, exactly as
    ``compute_logq0_gnmax`` of the reference (which also checks Theorem 6's conditions at q₀).
    """
    sigma = check_positive(sigma, "sigma")
    order = float(_as_orders([order])[0])

    def valid(logq: float) -> bool:
        mu2 = sigma * math.sqrt(-logq)
        mu1 = mu2 + 1.0
        if mu1 < order:
            return False
        eps2 = mu2 / sigma**2
        return logq <= (mu2 - 1.0) * eps2 - mu2 * math.log(mu1 / (mu1 - 1.0) * mu2 / (mu2 - 1.0))

    def dep_minus_ind(logq: float) -> float:
        return float(_theorem6(logq, sigma, order)) - order / sigma**2

    logub = min(-((1.0 + 1.0 / sigma) ** 2), -(((order - 0.99) / sigma) ** 2), -1.0 / sigma**2)
    if not valid(logub):  # pragma: no cover - the reference asserts this always holds
        raise ValueError(f"no data-dependent range for sigma={sigma}, order={order}")
    if dep_minus_ind(logub) < 0:
        return logub
    loglb = 2.0 * logub
    while dep_minus_ind(loglb) > 0:
        if loglb <= -10000:
            raise ValueError(f"q0 is out of range for sigma={sigma}, order={order}")
        loglb *= 1.5
    logq0, result = optimize.brentq(dep_minus_ind, loglb, logub, full_output=True)
    if not result.converged or not valid(logq0):  # pragma: no cover
        raise ValueError(f"could not find q0 for sigma={sigma}, order={order}")
    return float(logq0)


def _z_of(logq: Any, num_classes: int) -> np.ndarray:
    """z with Φ(z) = q/(K−1): ``erfcinv(2q/(K−1)) = −z/√2``."""
    return special.ndtri_exp(np.asarray(logq, dtype=float) - math.log(num_classes - 1))


def _log_bl(logq: Any, sigma: float, num_classes: int) -> np.ndarray:
    r"""``ln b_l(q)``, ``b_l(q) = (K−1)/2 · erfc(1/σ + erfcinv(2q/(K−1))) = (K−1) Φ(z − √2/σ)``:
    the smallest ``q`` one changed vote can lead to (Papernot et al. 2018, App. B, ``_compute_bl_gnmax``)."""
    return math.log(num_classes - 1) + special.log_ndtr(_z_of(logq, num_classes) - math.sqrt(2.0) / sigma)


def _log_bu(logq: Any, sigma: float, num_classes: int) -> np.ndarray:
    r"""``ln b_u(q)``, ``b_u(q) = min(1, (K−1) Φ(z + √2/σ))``: the largest (``_compute_bu_gnmax``)."""
    return np.minimum(0.0, math.log(num_classes - 1) + special.log_ndtr(_z_of(logq, num_classes) + math.sqrt(2.0) / sigma))


def _rdp_piecewise(logq: Any, sigma: float, order: float, logq0: float) -> np.ndarray:
    """Data-independent above q₀, Theorem 6 below, 0 at q = 0 (``_compute_rdp_gnmax``)."""
    lq = np.asarray(logq, dtype=float)
    out = np.where(lq >= logq0, order / sigma**2, _theorem6(np.minimum(lq, logq0), sigma, order))
    return np.where(np.isneginf(lq), 0.0, out)


def _ls_gnmax(logq: Any, sigma: float, num_classes: int, order: float) -> np.ndarray:
    """Algorithm 3 (Prop. 13): local-sensitivity bound of the GNMax RDP at ``q`` (``_compute_local_sens_gnmax``)."""
    logq0 = gnmax_log_q0(sigma=sigma, order=order)
    logq1 = float(_log_bl(logq0, sigma, num_classes))
    lq = np.asarray(logq, dtype=float)
    lq = np.where((logq1 <= lq) & (lq <= logq0), logq1, lq)
    beta = _rdp_piecewise(lq, sigma, order, logq0)
    beta_bu = _rdp_piecewise(_log_bu(lq, sigma, num_classes), sigma, order, logq0)
    beta_bl = _rdp_piecewise(_log_bl(lq, sigma, num_classes), sigma, order, logq0)
    return np.maximum(beta_bu - beta, beta - beta_bl)


def _as_votes(counts: Any) -> np.ndarray:
    arr = _as_counts(counts, ndim=(1,))
    if not np.array_equal(arr, np.round(arr)) or arr.sum() < 1:
        raise ValueError("counts must be integer vote counts of at least one teacher")
    return arr.astype(np.int64)


def local_sensitivity_gnmax(counts: Any, *, sigma: float, order: float) -> np.ndarray:
    r"""Upper bounds on the local sensitivity of one GNMax answer's data-dependent RDP at distance ``d``.

    Entry ``d`` (``0 <= d < T``, ``T = counts.sum()`` teachers) bounds how much the RDP at order
    ``λ`` (:func:`rdp_gnmax_data_dependent`) can change when one teacher changes its vote, over
    all vote histograms that ``d`` changed votes can reach from ``counts`` (Papernot et al. 2018,
    App. B, Algorithms 3–5; port of ``compute_local_sensitivity_bounds_gnmax``, O(T·K)). Valid
    where conditions C5–C6 hold (:func:`smooth_sensitivity_conditions`).
    """
    votes = _as_votes(counts)
    sigma = check_positive(sigma, "sigma")
    order = float(_as_orders([order])[0])
    return _ls_gnmax_many(votes[None, :], sigma, order)[0]


def _ls_gnmax_many(votes: np.ndarray, sigma: float, order: float) -> np.ndarray:
    """:func:`local_sensitivity_gnmax` of every row of ``votes`` (same number of teachers), as one array."""
    n, k = votes.shape
    t = int(votes[0].sum())
    logq0 = gnmax_log_q0(sigma=sigma, order=order)
    logq1 = float(_log_bl(logq0, sigma, k))
    logq = _gnmax_log_q_rows(votes.astype(float), sigma)
    res = np.full((n, t), float(_ls_gnmax(logq1, sigma, k, order)))  # the plateau
    moving = np.flatnonzero(~((logq1 <= logq) & (logq <= logq0)))
    if moving.size == 0:
        return res
    res[moving, 0] = _ls_gnmax(logq[moving], sigma, k, order)
    states: list[list[int]] = []
    owner: list[int] = []
    for i in moving:
        v = sorted(votes[i].tolist(), reverse=True)
        before = len(states)
        if logq[i] > logq0:  # go left: widen the gap, always taking the vote from the current runner-up
            while v[1] > 0 and len(states) - before < t - 1:
                v[0] += 1
                v[1] -= 1
                j = 1
                while j < k - 1 and v[j] < v[j + 1]:
                    v[j], v[j + 1] = v[j + 1], v[j]
                    j += 1
                states.append(list(v))
        else:  # go right: narrow the gap
            states.extend([v[0] - d, v[1] + d, *v[2:]] for d in range(1, min(t - 1, v[0]) + 1))
        owner.extend([i] * (len(states) - before))
    if not states:
        return res
    owners = np.array(owner)
    lqs = _gnmax_log_q_rows(np.array(states, dtype=float), sigma)
    left = logq[owners] > logq0
    done = np.where(left, lqs <= logq0, lqs >= logq1)  # the reference stops after the first such state
    start = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    seg = np.repeat(np.arange(start.size), np.diff(np.r_[start, owners.size]))
    position = np.arange(owners.size) - start[seg]
    done_before = np.cumsum(done) - done
    keep = done_before - (np.cumsum(done) - done)[start][seg] == 0
    res[owners[keep], position[keep] + 1] = _ls_gnmax(lqs[keep], sigma, k, order)
    return res


@functools.lru_cache(maxsize=64)
def _threshold_ls_by_max(num_teachers: int, threshold: float, sigma1: float, order: float) -> np.ndarray:
    """Local sensitivity of the threshold step's RDP when ``max_j n_j = v``, for v = 0..T."""
    v = np.arange(num_teachers + 1, dtype=float)
    logp = stats.norm.logsf(threshold - v, scale=sigma1)
    logq = np.minimum(logp, _log1mexp_array(logp))
    r = rdp_gnmax_from_log_q(logq, sigma=math.sqrt(2.0) * sigma1, orders=[order])[:, 0]
    step = np.abs(np.diff(r))
    ls = np.zeros(num_teachers + 1)
    ls[1:] = step
    ls[:-1] = np.maximum(ls[:-1], step)
    return ls


def local_sensitivity_threshold(counts: Any, *, threshold: float, sigma1: float, order: float) -> np.ndarray:
    r"""Upper bounds on the local sensitivity of the threshold step's data-dependent RDP at distance ``d``.

    The step-1 RDP (:func:`rdp_threshold_data_dependent`) depends on the votes only through
    ``v = max_j n_j``, which one changed vote moves by at most 1; entry ``d`` (``0 <= d <= T``)
    is the largest change of the RDP between ``v' `` and ``v' ± 1`` over ``v' = v ± d`` (port of
    ``compute_local_sensitivity_bounds_threshold``). Unlike the reference, which stops one
    distance early (``range(max(v, T − v))``), the farthest distance is included, so the array has
    ``T + 1`` entries.
    """
    votes = _as_votes(counts)
    threshold = _check_real(threshold, "threshold")
    sigma1 = check_positive(sigma1, "sigma1")
    order = float(_as_orders([order])[0])
    return _ls_threshold_many(votes[None, :], threshold, sigma1, order)[0]


def _ls_threshold_many(votes: np.ndarray, threshold: float, sigma1: float, order: float) -> np.ndarray:
    """:func:`local_sensitivity_threshold` of every row of ``votes`` (same number of teachers)."""
    t = int(votes[0].sum())
    by_max = _threshold_ls_by_max(t, threshold, sigma1, order)
    top = votes.max(axis=1)[:, None]
    d = np.arange(t + 1)[None, :]
    up = np.where(top + d <= t, by_max[np.minimum(top + d, t)], -np.inf)
    down = np.where(top - d >= 0, by_max[np.maximum(top - d, 0)], -np.inf)
    return np.maximum(np.maximum(up, down), 0.0)


def smooth_sensitivity(local_sensitivities: Any, *, beta: float) -> float:
    r"""β-smooth sensitivity from local-sensitivity bounds at distance ``d = 0, 1, …``: ``max_d e^{−βd} LS(d)``.

    (Nissim, Raskhodnikova & Smith 2007; ``compute_discounted_max`` of the reference.)
    """
    ls = np.asarray(local_sensitivities, dtype=float)
    if ls.ndim != 1 or ls.size == 0 or not np.isfinite(ls).all() or (ls < 0).any():
        raise ValueError("local_sensitivities must be a non-empty 1-D array of finite numbers >= 0")
    beta = check_positive(beta, "beta")
    return float(np.max(ls * np.exp(-beta * np.arange(ls.size))))


def rdp_smooth_sensitivity_release(*, beta: float, sigma: float, order: float) -> float:
    r"""RDP of releasing ``f(D) + SS_β(D)·N(0, σ²)`` at order ``λ`` (Papernot et al. 2018, Thm 23):

    .. math:: \frac{\lambda e^{2\beta}}{\sigma^2} + \frac{\beta\lambda - \tfrac12 \ln(1 - 2\lambda\beta)}{\lambda - 1},
        \qquad 1 < \lambda < \frac{1}{2\beta}.

    ``SS_β`` must be a β-smooth upper bound on ``f``'s local sensitivity (:func:`smooth_sensitivity`).
    Port of ``compute_rdp_of_smooth_sensitivity_gaussian``.
    """
    beta = check_positive(beta, "beta")
    sigma = check_positive(sigma, "sigma")
    order = float(_as_orders([order])[0])
    if not order < 1.0 / (2.0 * beta):
        raise ValueError(f"order must be < 1/(2·beta) = {1 / (2 * beta):.4g}, got {order}")
    return order * math.exp(2.0 * beta) / sigma**2 + (-0.5 * math.log(1.0 - 2.0 * order * beta) + beta * order) / (order - 1.0)


def smooth_sensitivity_release_params(*, epsilon: float, delta: float) -> tuple[float, float]:
    r"""``(α, β)`` for an ``(ε, δ)``-DP release ``f(D) + (SS_β(D)/α)·N(0, 1)`` (Nissim et al. 2007,
    Lemmas 2.6 and 2.10), as ``compute_params_for_ss_release`` of the reference:
    ``a = Φ⁻¹(1 − δ/2)``, ``α = √(a² + ε/2) − a``, ``β = ε / (2 χ²₁⁻¹(1 − δ/2))``.

    The reference and this lesson go through RDP instead (:func:`rdp_smooth_sensitivity_release`).
    """
    epsilon = check_positive(epsilon, "epsilon")
    delta = check_delta(delta)
    a = special.ndtri(1.0 - delta / 2.0)
    alpha = math.sqrt(a**2 + epsilon / 2.0) - a
    beta = epsilon / (2.0 * special.chdtri(1, delta / 2.0))
    return float(alpha), float(beta)


def smooth_sensitivity_conditions(*, sigma: float, num_classes: int, order: float) -> tuple[bool, bool]:
    r"""Conditions C5 and C6 of Papernot et al. 2018 (App. B.4.2), under which :func:`local_sensitivity_gnmax` is valid.

    C5: Theorem 6's bound ``β(q)`` is non-decreasing on ``(0, q₀)``; C6: ``β(b_u(q)) − β(q)`` is
    non-decreasing on ``(0, b_l(q₀))``. The reference checks the sign of a symbolic derivative
    (sympy) at the minimiser found by a bounded scalar search; this checks the functions
    themselves on a dense grid of ``q`` (log-spaced down to ``q₀^{20}``, and linear), allowing a
    relative rounding error of 1e-9.
    """
    sigma = check_positive(sigma, "sigma")
    k = check_positive_int(num_classes, "num_classes")
    if k < 2:
        raise ValueError(f"num_classes must be >= 2, got {k}")
    order = float(_as_orders([order])[0])
    logq0 = gnmax_log_q0(sigma=sigma, order=order)

    def non_decreasing(fn: Any, log_hi: float) -> bool:
        linear = np.linspace(0.0, math.exp(log_hi), 4001)[1:]
        grid = np.unique(np.concatenate([np.linspace(20.0 * log_hi, log_hi, 4000), np.log(linear[linear > 0])]))
        values = fn(grid)
        drop = values[:-1] - values[1:]
        return bool(np.all(drop <= 1e-9 * np.maximum(np.abs(values[:-1]), 1e-300)))

    c5 = non_decreasing(lambda lq: _theorem6(lq, sigma, order), logq0)
    if not c5:
        return False, False
    log_bl_q0 = float(_log_bl(logq0, sigma, k))
    c6 = non_decreasing(lambda lq: _theorem6(_log_bu(lq, sigma, k), sigma, order) - _theorem6(lq, sigma, order),
                        log_bl_q0)
    return c5, c6


@dataclass(frozen=True)
class SmoothSensitivityRelease:
    """The outcome of :func:`release_epsilon_smooth_sensitivity`.

    ``epsilon`` is the value that may be published: the data-dependent RDP at ``order`` plus
    Gaussian noise of standard deviation ``noise_std``, plus the release's own RDP cost
    ``rdp_release_cost``, converted at ``delta``. ``raw_epsilon`` is the same without the noise
    and the release cost: it depends on the private votes and must **not** be published (it is
    here so that a lesson can show what the release costs).
    """

    epsilon: float
    noise_std: float
    rdp_release_cost: float
    raw_epsilon: float
    smooth_sensitivity: float
    order: float
    delta: float
    beta: float
    sigma_ss: float
    num_answered: int


def release_epsilon_smooth_sensitivity(counts: Any, answered: Any = None, *, sigma2: float, delta: float,
                                       order: float, beta: float, sigma_ss: float,
                                       threshold: float | None = None, sigma1: float | None = None,
                                       rng: np.random.Generator | int | None = None) -> SmoothSensitivityRelease:
    r"""Publish the data-dependent ε of (Confident-)GNMax privately, with smooth sensitivity (Papernot et al. 2018, Sec. 4.2).

    At the fixed order ``λ = order``, let ``f(D)`` be the data-dependent RDP of the released
    labels: :func:`rdp_gnmax_data_dependent` summed over the answered queries, plus
    :func:`rdp_threshold_data_dependent` over every query when ``threshold`` and ``sigma1`` are
    given (Confident-GNMax). Its local sensitivity at distance ``d`` is at most the sum of the
    per-query bounds (:func:`local_sensitivity_gnmax`, :func:`local_sensitivity_threshold`);
    ``SS = max_d e^{−βd}·LS(d)`` (:func:`smooth_sensitivity`). The release is

    .. math:: \hat\varepsilon = \max\big(0,\ f(D) + SS\cdot\mathcal N(0, \sigma_{ss}^2)\big)
              + \varepsilon_{\mathrm{GNSS}}(\beta, \sigma_{ss}, \lambda) + \frac{\ln(1/\delta)}{\lambda - 1},

    where the release's own RDP ``ε_GNSS`` (:func:`rdp_smooth_sensitivity_release`, Thm 23)
    is added to the labels' RDP before the (classic) conversion. ``order``, ``beta`` and
    ``sigma_ss`` must be chosen without looking at the private votes (the reference chooses them
    by an optimisation over the votes that it marks as not releasable). Neighbouring data sets:
    one private example added or removed, which changes one teacher's vote (with shards from
    :func:`assign_teachers`).

    Parameters
    ----------
    counts
        Vote counts of every query, shape ``(num_queries, K)``; every row sums to the number of teachers.
    answered
        Boolean array, which queries were answered (``labels >= 0`` from :func:`confident_gnmax`);
        default: all of them (plain GNMax).
    sigma2
        GNMax noise (step 2).
    delta
        Target δ.
    order
        Rényi order ``λ``, ``1 < λ < 1/(2β)``.
    beta, sigma_ss
        Smoothness of the sensitivity bound and the noise multiplier of the release.
    threshold, sigma1
        Confident-GNMax's step 1 (both or neither).
    rng
        Numpy generator (or seed) for the release's noise.

    Raises
    ------
    ValueError
        Bad inputs, rows with different totals, or ``(sigma2, K, order)`` for which conditions
        C5–C6 (:func:`smooth_sensitivity_conditions`) fail, so that the bound is not valid.
    """
    arr = _as_counts(counts, ndim=(2,))
    if not np.array_equal(arr, np.round(arr)):
        raise ValueError("counts must be integer vote counts")
    totals = arr.sum(axis=1)
    if (totals != totals[0]).any() or totals[0] < 1:
        raise ValueError("every row of counts must sum to the same number of teachers (>= 1)")
    num_teachers = int(totals[0])
    n, k = arr.shape
    answered = np.ones(n, dtype=bool) if answered is None else _as_answered(answered, n)
    sigma2 = check_positive(sigma2, "sigma2")
    delta = check_delta(delta)
    order = float(_as_orders([order])[0])
    beta = check_positive(beta, "beta")
    sigma_ss = check_positive(sigma_ss, "sigma_ss")
    if (threshold is None) != (sigma1 is None):
        raise ValueError("give both threshold and sigma1 (Confident-GNMax) or neither (GNMax)")
    if not order < 1.0 / (2.0 * beta):
        raise ValueError(f"order must be < 1/(2·beta) = {1 / (2 * beta):.4g}, got {order}")
    rng = as_rng(rng)
    c5, c6 = smooth_sensitivity_conditions(sigma=sigma2, num_classes=k, order=order)
    if not (c5 and c6):
        raise ValueError(f"conditions C5-C6 fail for sigma2={sigma2}, K={k}, order={order}: the smooth-sensitivity "
                         "bound is not valid there; use a larger sigma2 or a smaller order")
    rdp = 0.0
    ls = np.zeros(num_teachers + 1)
    if threshold is not None:
        threshold = _check_real(threshold, "threshold")
        sigma1 = check_positive(sigma1, "sigma1")
        rdp += float(rdp_threshold_data_dependent(arr, threshold=threshold, sigma1=sigma1, orders=[order]).sum())
        ls += _ls_threshold_many(arr.astype(np.int64), threshold, sigma1, order).sum(axis=0)
    if answered.any():
        rdp += float(rdp_gnmax_from_log_q(gnmax_log_q(arr[answered], sigma=sigma2), sigma=sigma2,
                                          orders=[order]).sum())
        per_d = _ls_gnmax_many(arr[answered].astype(np.int64), sigma2, order)
        # distance T reaches every histogram: bounded by each query's largest bound (the plateau under C5-C6)
        ls += np.concatenate([per_d.sum(axis=0), [per_d.max(axis=1).sum()]])
    ss = smooth_sensitivity(ls, beta=beta)
    noisy = max(0.0, rdp + ss * float(rng.normal(0.0, sigma_ss)))
    cost = rdp_smooth_sensitivity_release(beta=beta, sigma=sigma_ss, order=order)
    tail = math.log(1.0 / delta) / (order - 1.0)
    return SmoothSensitivityRelease(epsilon=noisy + cost + tail, noise_std=ss * sigma_ss, rdp_release_cost=cost,
                                    raw_epsilon=rdp + tail, smooth_sensitivity=ss, order=order, delta=delta,
                                    beta=beta, sigma_ss=sigma_ss, num_answered=int(answered.sum()))
