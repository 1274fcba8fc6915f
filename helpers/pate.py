r"""PATE: Private Aggregation of Teacher Ensembles, and its privacy analysis (lesson 04).

The recipe (Papernot, Abadi, Erlingsson, Goodfellow & Talwar, *Semi-supervised knowledge
transfer for deep learning from private training data*, ICLR 2017):

1. split the private data into disjoint shards (:func:`partition_indices`) and train one
   *teacher* per shard (:func:`train_teachers`: many small MLPs trained as one batched model);
2. for each query the teachers vote (:func:`vote_counts`); the aggregator releases a *noisy*
   argmax: Laplace noise ``Lap(1/γ)`` per count (LNMax, :func:`laplace_noisy_argmax`) or
   Gaussian noise ``N(0, σ²)`` (GNMax, :func:`gaussian_noisy_argmax`, Papernot et al. 2018);
3. a *student* learns from public unlabeled data labelled by the aggregator (:func:`train_student`).

Changing one private example changes one teacher, hence one vote: one count goes down by
one and another up by one. LNMax is therefore ``2γ``-DP per query; GNMax is
``(α, α/σ²)``-RDP per query. The moments accountant (2017, :func:`perform_analysis`) and
Rényi DP (2018, :func:`gnmax_epsilon`) compose these over the answered queries, either
data-independently or using how strongly the teachers agree (*data-dependent* bounds).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from ._validation import as_rng, check_delta, check_positive, check_positive_int, to_numpy
from .accounting import _check_conversion, _check_orders, rdp_to_epsilon

__all__ = [
    "partition_indices",
    "vote_counts",
    "laplace_noisy_argmax",
    "gaussian_noisy_argmax",
    "data_independent_log_moment",
    "data_independent_epsilon",
    "compute_q_noisy_max",
    "log_moment_bound",
    "perform_analysis",
    "gnmax_q_bound",
    "gnmax_log_q",
    "rdp_gnmax_data_independent",
    "rdp_gnmax_data_dependent",
    "gnmax_epsilon",
    "DEFAULT_ORDERS",
    "train_teachers",
    "predict",
    "train_student",
    "accuracy",
]

#: Integer Rényi orders 2..200, the grid the lesson uses for GNMax.
DEFAULT_ORDERS = np.arange(2, 201, dtype=float)


# ----------------------------------------------------------------------------- validation


def _as_preds(teacher_preds: Any, name: str = "teacher_preds") -> np.ndarray:
    arr = np.asarray(to_numpy(teacher_preds))
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (num_teachers, num_queries), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinity; it must hold integer labels")
        if not np.array_equal(arr, np.round(arr)):
            raise ValueError(f"{name} must hold integer labels, got non-integer values")
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"{name} must hold integer labels, got dtype {arr.dtype}")
    if (arr < 0).any():
        raise ValueError(f"{name} must hold labels >= 0, got {int(arr.min())}")
    return arr.astype(np.int64)


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
    """:func:`helpers.accounting._check_orders`, but ``inf`` is rejected too (the GNMax bounds need finite orders)."""
    arr = _check_orders(orders)
    if np.isinf(arr).any():
        raise ValueError(f"orders must be finite Rényi orders > 1, got {orders!r}")
    return arr


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


def partition_indices(num_examples: int, num_teachers: int, *, rng: np.random.Generator | int | None = None
                      ) -> np.ndarray:
    """Split ``num_examples`` training examples into ``num_teachers`` disjoint, equal shards.

    One random permutation ``perm = rng.permutation(num_examples)``; teacher ``t`` gets
    ``perm[t*m:(t+1)*m]`` with ``m = num_examples // num_teachers`` (the remainder, fewer
    than ``num_teachers`` examples, is left out, as in Papernot et al. 2017).

    Disjointness is what makes PATE private: a training example influences exactly one
    teacher, so it changes at most one vote per query.

    Returns
    -------
    numpy.ndarray
        ``int64`` array of shape ``(num_teachers, m)``; row ``t`` indexes teacher ``t``'s shard.

    Raises
    ------
    ValueError
        If ``num_teachers`` is not an integer >= 1 or exceeds ``num_examples``.
    """
    num_examples = check_positive_int(num_examples, "num_examples")
    num_teachers = check_positive_int(num_teachers, "num_teachers")
    if num_teachers > num_examples:
        raise ValueError(f"num_teachers must be <= num_examples ({num_examples}), got {num_teachers}")
    rng = as_rng(rng)
    m = num_examples // num_teachers
    perm = rng.permutation(num_examples)
    return perm[: num_teachers * m].reshape(num_teachers, m).astype(np.int64)


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


def perform_analysis(teacher_preds: Any, indices: Any, noise_eps: float, delta: float = 1e-5, moments: int = 8,
                     beta: float = 0.09) -> tuple[float, float]:
    r"""Privacy of LNMax-labelled queries by the moments accountant: ``(data_dep_eps, data_ind_eps)``.

    The same signature and return order as the PySyft 0.2 function used by the Udacity
    *Secure and Private AI* course (``syft.frameworks.torch.dp.pate``), with its bugs fixed:
    the vote histogram of query ``i`` is built from column ``i`` with ``np.bincount`` and
    **every** query is analysed (the legacy loop ``for i in indices: counts_mat[i]`` used each
    released *label* as a query index, so it analysed queries 0..9 over and over), and the
    data-dependent bound uses Theorem 3's condition on ``q``.

    * data-independent: :func:`data_independent_epsilon` (``T`` queries, each ``2γ``-DP);
    * data-dependent: ``min_l (Σ_i α_i(l) + ln(1/δ))/l`` with ``α_i(l)`` from
      :func:`log_moment_bound` and ``q_i`` from :func:`compute_q_noisy_max` (Papernot et al. 2017, Sec. 3).

    Parameters
    ----------
    teacher_preds
        Teachers' labels, shape ``(num_teachers, num_queries)``.
    indices
        The released (noisy) labels, shape ``(num_queries,)``; checked against the label range
        (the bound itself depends only on the votes).
    noise_eps
        ``γ``, the inverse scale of the Laplace noise used to release them.
    delta
        Target δ.
    moments
        Log-moment orders ``l = 1..moments`` to optimise over.
    beta
        Smoothness parameter of the smooth-sensitivity analysis of the legacy code; validated
        and kept for compatibility (the data-dependent ε itself is not released privately here).

    Returns
    -------
    (float, float)
        ``(data_dependent_epsilon, data_independent_epsilon)``; the first is never larger.
    """
    preds = _as_preds(teacher_preds)
    idx = np.asarray(indices)
    if idx.ndim != 1 or idx.shape[0] != preds.shape[1]:
        raise ValueError(f"indices must have shape (num_queries,) = ({preds.shape[1]},), got shape {idx.shape}")
    if idx.dtype.kind not in "iu" and not (idx.dtype.kind == "f" and np.isfinite(idx).all()
                                           and np.array_equal(idx, np.round(idx))):
        raise ValueError(f"indices must hold integer labels, got dtype {idx.dtype}")
    noise_eps = check_positive(noise_eps, "noise_eps")
    delta = check_delta(delta)
    moments = check_positive_int(moments, "moments")
    check_positive(beta, "beta")
    if (idx < 0).any():
        raise ValueError(f"indices must hold labels >= 0, got {int(idx.min())}")
    num_classes = int(max(preds.max(), idx.max())) + 1
    num_classes = max(num_classes, 2)
    counts = vote_counts(preds, num_classes=num_classes)
    q = compute_q_noisy_max(counts, gamma=noise_eps)
    ls = np.arange(1, moments + 1, dtype=float)
    total = np.array([log_moment_bound(q, l, gamma=noise_eps).sum() for l in ls])
    data_dep = _moments_epsilon(total, ls, delta)
    data_ind = data_independent_epsilon(preds.shape[1], gamma=noise_eps, delta=delta, moments=moments)
    return data_dep, data_ind


# ----------------------------------------------------------------------------- GNMax and Rényi DP (2018)


def gnmax_log_q(counts: Any, *, sigma: float) -> Any:
    r"""``ln q̃``, the log of :func:`gnmax_q_bound`, computed stably (``scipy.special.log_ndtr``)."""
    arr = _as_counts(counts)
    sigma = check_positive(sigma, "sigma")
    a2 = np.atleast_2d(arr)
    k = a2.shape[1]
    gaps, winner = _plurality_gaps(a2)
    # Pr[N(0, 2σ²) > gap] = ½ erfc(gap / 2σ) = Φ(−gap / (√2 σ))
    logp = special.log_ndtr(-gaps / (math.sqrt(2.0) * sigma))
    logp[np.arange(len(a2)), winner] = -np.inf
    logq = np.minimum(special.logsumexp(logp, axis=1), math.log(1.0 - 1.0 / k))
    return float(logq[0]) if arr.ndim == 1 else logq


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


def _log1mexp(x: float) -> float:
    """log(1 − eˣ) for x <= 0, stably."""
    if x < -1.0:
        return math.log1p(-math.exp(x))
    if x < 0.0:
        return math.log(-math.expm1(x))
    return -math.inf


def rdp_gnmax_data_dependent(counts: Any, *, sigma: float, orders: Any = DEFAULT_ORDERS) -> np.ndarray:
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
    orders = _as_orders(orders)
    sigma = check_positive(sigma, "sigma")
    logq = gnmax_log_q(arr, sigma=sigma)
    variance = sigma**2
    ret = orders / variance
    if logq == -math.inf:
        return np.zeros_like(ret)
    mu2 = math.sqrt(variance * -logq)
    mu1 = mu2 + 1.0
    mask = (orders < mu1) & (mu2 > 1.0)
    if not mask.any():
        return ret
    eps1, eps2 = mu1 / variance, mu2 / variance
    limit = (mu2 - 1.0) * eps2 - mu2 * (math.log1p(1.0 / (mu1 - 1.0)) + math.log1p(1.0 / (mu2 - 1.0)))
    if logq <= limit and -logq > eps2:
        log1q = _log1mexp(logq)
        log_a = (orders - 1.0) * (log1q - _log1mexp((logq + eps2) * (1.0 - 1.0 / mu2)))
        log_b = (orders - 1.0) * (eps1 - logq / (mu1 - 1.0))
        log_s = np.logaddexp(log1q + log_a, logq + log_b)
        ret = np.where(mask, np.minimum(ret, log_s / (orders - 1.0)), ret)
    return np.maximum(ret, 0.0)


def gnmax_epsilon(counts: Any, *, sigma: float, delta: float, orders: Any = DEFAULT_ORDERS,
                  data_dependent: bool = True, conversion: str = "classic") -> tuple[float, float]:
    r"""(ε, δ) of answering every query in ``counts`` with GNMax: ``(epsilon, best_order)``.

    RDP adds up over the queries (Mironov 2017, Prop. 1): data-independently
    ``T α/σ²`` (:func:`rdp_gnmax_data_independent`), or, with ``data_dependent=True``, the sum
    of :func:`rdp_gnmax_data_dependent` over the queries. The total is converted with
    :func:`helpers.accounting.rdp_to_epsilon` (classic: ``ε = min_α rdp(α) + ln(1/δ)/(α−1)``).
    Example: ``σ = 40``, 640 queries, ``δ = 1e-5``, orders 2..200 → ε = 4.7026 (α = 6).

    The data-dependent ε depends on the private votes; publishing it is itself a leak unless
    it is released with smooth sensitivity (Papernot et al. 2018, Sec. 4.2), which this
    function does not do.

    Parameters
    ----------
    counts
        Vote counts of the answered queries, shape ``(num_queries, K)``.
    """
    arr = _as_counts(counts, ndim=(2,))
    sigma = check_positive(sigma, "sigma")
    delta = check_delta(delta)
    orders = _as_orders(orders)
    conversion = _check_conversion(conversion)
    if data_dependent:
        rdp = np.zeros_like(orders)
        for row in arr:
            rdp += rdp_gnmax_data_dependent(row, sigma=sigma, orders=orders)
    else:
        rdp = len(arr) * rdp_gnmax_data_independent(orders, sigma=sigma)
    eps, order = rdp_to_epsilon(rdp, orders, delta=delta, conversion=conversion)
    return float(eps), float(order)


# ----------------------------------------------------------------------------- fast teachers (torch)


def _torch() -> Any:
    import torch

    return torch


def _make_batched_mlp(num_models: int, in_features: int, hidden: int, num_classes: int, generator: Any) -> Any:
    torch = _torch()

    class BatchedMLP(torch.nn.Module):
        """``num_models`` independent ``in → hidden → classes`` ReLU MLPs evaluated with ``torch.bmm``."""

        def __init__(self) -> None:
            super().__init__()
            b1 = 1.0 / math.sqrt(in_features)
            b2 = 1.0 / math.sqrt(hidden)
            # PyTorch's nn.Linear initialisation, U(−1/√fan_in, 1/√fan_in), per model.
            def u(*shape: int, bound: float) -> Any:
                return torch.nn.Parameter((torch.rand(*shape, generator=generator) * 2 - 1) * bound)

            self.w1 = u(num_models, in_features, hidden, bound=b1)
            self.b1 = u(num_models, 1, hidden, bound=b1)
            self.w2 = u(num_models, hidden, num_classes, bound=b2)
            self.b2 = u(num_models, 1, num_classes, bound=b2)
            self.num_models = num_models
            self.num_classes = num_classes

        def forward(self, x: Any) -> Any:
            """``x``: ``(num_models, batch, in)`` or ``(batch, in)`` (shared) → logits ``(num_models, batch, K)``."""
            if x.dim() == 2:
                h = torch.relu(torch.matmul(x, self.w1) + self.b1)
            else:
                h = torch.relu(torch.baddbmm(self.b1, x, self.w1))
            return torch.baddbmm(self.b2, h, self.w2)

    return BatchedMLP()


def _features(x: Any) -> Any:
    torch = _torch()
    if isinstance(x, torch.Tensor):
        t = x.detach()
        arr_dtype_uint8 = t.dtype == torch.uint8
        t = t.float()
    else:
        arr = np.asarray(x)
        if arr.size == 0:
            raise ValueError("x must not be empty")
        arr_dtype_uint8 = arr.dtype == np.uint8
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError("x contains NaN or infinity")
        t = torch.from_numpy(arr.astype(np.float32, copy=False))
    if t.dim() < 2:
        raise ValueError(f"x must have shape (N, ...) with one row per example, got shape {tuple(t.shape)}")
    t = t.reshape(t.shape[0], -1)
    return t / 255.0 if arr_dtype_uint8 else t


def train_teachers(x: Any, y: Any, num_teachers: int, *, shards: Any | None = None, hidden: int = 128,
                   epochs: int = 30, batch_size: int = 32, lr: float = 1e-3, num_classes: int | None = None,
                   generator: Any | None = None, seed: int | None = 0, progress: bool = True,
                   num_threads: int | None = None) -> Any:
    """Train ``num_teachers`` MLPs, each on its own disjoint shard, as one batched model.

    All teachers share one set of stacked weights ``(num_teachers, …)`` and step together:
    minibatch ``b`` of every teacher is one ``(num_teachers, batch, 784)`` tensor, the forward
    pass is two ``torch.baddbmm`` calls, the loss is the sum of the teachers' mean
    cross-entropies (so each teacher gets exactly its own gradient) and one Adam (``fused``
    where available; Adam is element-wise, so this equals training the teachers one by one).
    250 teachers of 784-128-10 on 240 Fashion-MNIST images each, 30 epochs: about 12 s on 2
    idle CPU cores (reference measurement); with ``batch_size=240, lr=3e-3`` (one full-shard
    step per epoch, as lesson 04 does) 33–52 s on a busy shared 2-core machine, mean teacher
    accuracy 74.5%, plurality vote 80.5%.

    Parameters
    ----------
    x, y
        Private training images (``uint8`` 0..255 are scaled to [0, 1]; anything else is used
        as is) and integer labels.
    num_teachers
        Number of teachers.
    shards
        ``(num_teachers, m)`` index array (default :func:`partition_indices` with ``seed``).
    hidden, epochs, batch_size, lr
        Architecture and Adam settings.
    num_classes
        Number of classes (default ``max(y) + 1``).
    generator, seed
        ``torch.Generator`` for initialisation and shuffling (default: one seeded with ``seed``).
    progress
        Show a ``tqdm.auto`` bar over epochs.
    num_threads
        Torch CPU threads to use while training (restored afterwards); default: unchanged.
        Tiny models (the student) train faster on 1 thread: thread synchronisation costs more
        than it saves, a lot more on a busy machine.

    Returns
    -------
    torch.nn.Module
        A batched model: ``model(x)`` maps ``(batch, 784)`` to logits ``(num_teachers, batch, K)``;
        use :func:`predict` for labels.
    """
    torch = _torch()
    from tqdm.auto import tqdm

    feats = _features(x)
    labels = np.asarray(to_numpy(y))
    if labels.ndim != 1 or len(labels) != feats.shape[0]:
        raise ValueError(f"y must have shape ({feats.shape[0]},), got shape {labels.shape}")
    if labels.dtype.kind not in "iu" or (labels < 0).any():
        raise ValueError("y must hold integer labels >= 0")
    num_teachers = check_positive_int(num_teachers, "num_teachers")
    hidden = check_positive_int(hidden, "hidden")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_positive(lr, "lr")
    k = int(labels.max()) + 1 if num_classes is None else check_positive_int(num_classes, "num_classes")
    if labels.max() >= k:
        raise ValueError(f"y holds label {int(labels.max())} >= num_classes {k}")
    if shards is None:
        shards = partition_indices(len(labels), num_teachers, rng=seed)
    shards = np.asarray(shards)
    if shards.ndim != 2 or shards.shape[0] != num_teachers or shards.shape[1] == 0:
        raise ValueError(f"shards must have shape (num_teachers, m) = ({num_teachers}, m), got {shards.shape}")
    if shards.min() < 0 or shards.max() >= len(labels):
        raise ValueError("shards holds an index outside 0..len(x)-1")
    if generator is None:
        generator = torch.Generator().manual_seed(0 if seed is None else int(seed))

    model = _make_batched_mlp(num_teachers, feats.shape[1], hidden, k, generator)
    xs = feats[torch.from_numpy(shards)]  # (T, m, d)
    ys = torch.from_numpy(labels.astype(np.int64))[torch.from_numpy(shards)]  # (T, m)
    m = shards.shape[1]
    try:
        opt = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError):  # pragma: no cover - older torch without CPU fused Adam
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    rows = torch.arange(num_teachers)[:, None]
    previous_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(check_positive_int(num_threads, "num_threads"))
    try:
        _train_loop(model, opt, xs, ys, rows, m, k, num_teachers, epochs, batch_size, generator,
                    tqdm(range(epochs), desc=f"training {num_teachers} models", disable=not progress, leave=False))
    finally:
        torch.set_num_threads(previous_threads)
    model.eval()
    return model


def _train_loop(model: Any, opt: Any, xs: Any, ys: Any, rows: Any, m: int, k: int, num_teachers: int, epochs: int,
                batch_size: int, generator: Any, epoch_iter: Any) -> None:
    torch = _torch()
    for _ in epoch_iter:
        order = torch.argsort(torch.rand(num_teachers, m, generator=generator), dim=1)
        for start in range(0, m, batch_size):
            idx = order[:, start:start + batch_size]
            logits = model(xs[rows, idx])
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, k), ys[rows, idx].reshape(-1), reduction="mean") * num_teachers
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def predict(model: Any, x: Any, *, batch_size: int = 2048) -> np.ndarray:
    """Labels predicted by every model of a batched model: ``int64`` array ``(num_models, N)``.

    Rows are models (teachers), columns queries: the layout :func:`vote_counts` expects.
    """
    torch = _torch()
    feats = _features(x)
    batch_size = check_positive_int(batch_size, "batch_size")
    out = []
    with torch.no_grad():
        for start in range(0, feats.shape[0], batch_size):
            out.append(model(feats[start:start + batch_size]).argmax(dim=-1))
    return torch.cat(out, dim=1).numpy().astype(np.int64)


def train_student(x: Any, y: Any, *, hidden: int = 128, epochs: int = 60, batch_size: int = 64, lr: float = 1e-3,
                  num_classes: int | None = None, seed: int | None = 0, progress: bool = False,
                  num_threads: int | None = 1) -> Any:
    """Train the student: one MLP on public images ``x`` labelled by the aggregator (``y``).

    A single-model :func:`train_teachers` (same architecture and optimiser). The student sees
    only public data and the noisy labels, so by post-processing it inherits their (ε, δ).
    """
    n = len(np.asarray(y))
    if n == 0:
        raise ValueError("y must not be empty")
    return train_teachers(x, y, 1, shards=np.arange(n)[None, :], hidden=hidden, epochs=epochs,
                          batch_size=batch_size, lr=lr, num_classes=num_classes, seed=seed, progress=progress,
                          num_threads=num_threads)


def accuracy(model: Any, x: Any, y: Any) -> Any:
    """Fraction of correct predictions of each model: a float for one model, else an array."""
    labels = np.asarray(y)
    preds = predict(model, x)
    if labels.shape != (preds.shape[1],):
        raise ValueError(f"y must have shape ({preds.shape[1]},), got shape {labels.shape}")
    acc = (preds == labels[None, :]).mean(axis=1)
    return float(acc[0]) if len(acc) == 1 else acc
