"""Auditing differential privacy: ROC curves, empirical ε lower bounds, and the one-run canary audit.

An *attack* on a mechanism is a hypothesis test: from the output, guess whether the run used the
dataset D (with the target example, "member") or its neighbour D' (without it). If the mechanism is
(ε, δ)-DP for that neighbour relation, every test's false-positive rate α and false-negative rate β
obey (Kairouz, Oh & Viswanath 2015, Theorem 2.1; Wasserman & Zhou 2010)::

    α + e^ε β ≥ 1 − δ      and      β + e^ε α ≥ 1 − δ.

So an attack that *measures* (α, β) gives a lower bound on the ε the mechanism can have:
``ε ≥ log((1 − δ − α) / β)`` and ``ε ≥ log((1 − δ − β) / α)``. The rates are estimated from finitely
many trials, so an honest lower bound uses the *upper* ends of Clopper-Pearson confidence intervals
for α and β (Jagielski, Ullman & Oprea 2020; Nasr et al. 2021). An audit can only ever show that a
mechanism is *not* private enough; it never proves that it is private.

:func:`one_run_epsilon_lower_bound` is the audit of Steinke, Nasr & Jagielski (2023), which needs a
single training run: m canaries, each included independently with probability ½; the auditor guesses
on r of them and gets v right.

All functions are numpy/scipy only. Convention: a *higher* attack score means "more likely a member".
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from ._validation import check_nonnegative, check_positive_int, check_probability

__all__ = [
    "roc_curve",
    "auc",
    "tpr_at_fpr",
    "roc_summary",
    "clopper_pearson",
    "epsilon_lower_bound",
    "epsilon_lower_bound_from_scores",
    "max_certifiable_epsilon",
    "one_run_p_value",
    "one_run_epsilon_lower_bound",
]


def _scores(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of scores, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def roc_curve(member_scores: Any, nonmember_scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve of a membership attack that says "member" when ``score >= threshold``.

    Parameters
    ----------
    member_scores, nonmember_scores
        1-D arrays of attack scores (higher = more likely a member) for examples that were and were
        not in the training set.

    Returns
    -------
    fpr, tpr, thresholds
        One point per distinct threshold, thresholds decreasing from ``+inf`` (nobody is called a
        member: the point (0, 0)) to the smallest score (everybody is: the point (1, 1)). Tied
        scores move together, so the curve has a diagonal step where members and non-members tie.
    """
    pos = _scores(member_scores, "member_scores")
    neg = _scores(nonmember_scores, "nonmember_scores")
    thresholds = np.concatenate([[np.inf], np.unique(np.concatenate([pos, neg]))[::-1]])
    pos_sorted = np.sort(pos)
    neg_sorted = np.sort(neg)
    # number of scores >= t, for every threshold t
    tp = pos.size - np.searchsorted(pos_sorted, thresholds, side="left")
    fp = neg.size - np.searchsorted(neg_sorted, thresholds, side="left")
    return fp / neg.size, tp / pos.size, thresholds


def auc(member_scores: Any, nonmember_scores: Any) -> float:
    """Area under the ROC curve: P[member score > non-member score] + ½ P[tie].

    This is the Mann-Whitney statistic divided by (#members x #non-members); it equals the
    trapezoidal area under :func:`roc_curve`. 0.5 is guessing; 1 is perfect separation.
    """
    pos = _scores(member_scores, "member_scores")
    neg = _scores(nonmember_scores, "nonmember_scores")
    ranks = stats.rankdata(np.concatenate([pos, neg]))  # ties get their average rank
    u = ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2
    return float(u / (pos.size * neg.size))


def tpr_at_fpr(member_scores: Any, nonmember_scores: Any, *, fpr: float) -> float:
    """The highest true-positive rate among thresholds whose false-positive rate is at most ``fpr``.

    Carlini et al. (2022, "Membership inference attacks from first principles") argue that this
    number (say at 1% or 0.1% FPR) matters more than the AUC: an attack that confidently identifies
    a few members is a privacy failure even when its AUC is near 0.5.
    """
    target = check_probability(fpr, "fpr")
    f, t, _ = roc_curve(member_scores, nonmember_scores)
    return float(t[f <= target + 1e-12].max())


def roc_summary(member_scores: Any, nonmember_scores: Any, *, fpr: float) -> tuple[float, float]:
    """``(AUC, TPR at FPR <= fpr)`` of a membership attack's scores: :func:`auc` and :func:`tpr_at_fpr`."""
    return auc(member_scores, nonmember_scores), tpr_at_fpr(member_scores, nonmember_scores, fpr=fpr)


def clopper_pearson(successes: int, trials: int, *, alpha: float = 0.05) -> tuple[float, float]:
    """The two-sided Clopper-Pearson ("exact") confidence interval for a binomial proportion.

    With probability at least 1 − α over the trials, the interval contains the true proportion
    (Clopper & Pearson 1934). Ends: ``Beta(α/2; k, n−k+1)`` and ``Beta(1−α/2; k+1, n−k)``, with 0
    when k = 0 and 1 when k = n.
    """
    n = check_positive_int(trials, "trials")
    if isinstance(successes, bool) or not isinstance(successes, (int, np.integer)) or not 0 <= successes <= n:
        raise ValueError(f"successes must be an integer in [0, trials={n}], got {successes!r}")
    a = check_probability(alpha, "alpha", open_low=True, open_high=True)
    k = int(successes)
    lower = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    upper = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return lower, upper


def epsilon_lower_bound(*, true_positives: int, n_members: int, false_positives: int, n_nonmembers: int,
                        delta: float, alpha: float = 0.05) -> float:
    """An empirical lower bound on ε from an attack's counts, with Clopper-Pearson intervals.

    With FPR_hi and FNR_hi the upper ends of the (1 − α) Clopper-Pearson intervals of the attack's
    false-positive rate (``false_positives / n_nonmembers``) and false-negative rate
    (``1 − true_positives / n_members``)::

        ε_lb = max(0, log((1 − δ − FPR_hi) / FNR_hi), log((1 − δ − FNR_hi) / FPR_hi))

    (a log of a non-positive number counts as no evidence). If the mechanism is (ε, δ)-DP, then
    ε_lb ≤ ε except with probability about α (each interval fails with probability ≤ α/2) —
    Jagielski, Ullman & Oprea (2020), Nasr et al. (2021), from the hypothesis-testing
    characterisation of Kairouz et al. (2015). The privacy unit is that of the trials: each trial
    must run the mechanism on one of two fixed neighbouring datasets.
    """
    n_pos = check_positive_int(n_members, "n_members")
    n_neg = check_positive_int(n_nonmembers, "n_nonmembers")
    d = check_probability(delta, "delta", open_high=True)
    for name, value, n in (("true_positives", true_positives, n_pos), ("false_positives", false_positives, n_neg)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= n:
            raise ValueError(f"{name} must be an integer in [0, {n}], got {value!r}")
    fn = n_pos - int(true_positives)
    _, fpr_hi = clopper_pearson(false_positives, n_neg, alpha=alpha)
    _, fnr_hi = clopper_pearson(fn, n_pos, alpha=alpha)
    best = 0.0
    for num, den in ((1 - d - fpr_hi, fnr_hi), (1 - d - fnr_hi, fpr_hi)):
        if num > 0 and den > 0:
            best = max(best, math.log(num / den))
    return best


def _bound_vectorised(tp: np.ndarray, n_pos: int, fp: np.ndarray, n_neg: int, delta: float,
                      alpha: float) -> np.ndarray:
    """:func:`epsilon_lower_bound` for arrays of counts (used to search thresholds quickly)."""
    fn = n_pos - np.asarray(tp)
    fp = np.asarray(fp)
    fpr_hi = np.where(fp == n_neg, 1.0, stats.beta.ppf(1 - alpha / 2, fp + 1, np.maximum(n_neg - fp, 1)))
    fnr_hi = np.where(fn == n_pos, 1.0, stats.beta.ppf(1 - alpha / 2, fn + 1, np.maximum(n_pos - fn, 1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        one = np.log(np.maximum(1 - delta - fpr_hi, 0) / fnr_hi)
        two = np.log(np.maximum(1 - delta - fnr_hi, 0) / fpr_hi)
    return np.maximum(0.0, np.nan_to_num(np.maximum(one, two), nan=0.0, neginf=0.0))


def epsilon_lower_bound_from_scores(member_scores: Any, nonmember_scores: Any, *, delta: float,
                                    alpha: float = 0.05, rng: np.random.Generator | None = None,
                                    ) -> tuple[float, float]:
    """ε lower bound of a score-based attack whose threshold is chosen on a held-out half.

    Choosing the threshold on the same trials that estimate the rates would overfit the bound
    (the maximum over many thresholds is biased upwards). So the members and the non-members are
    each split at random in two halves: the threshold that maximises the bound on the first half is
    applied to the second, and only the second half's counts enter :func:`epsilon_lower_bound`.

    Returns
    -------
    (epsilon_lb, threshold)
    """
    from ._validation import as_rng

    pos = _scores(member_scores, "member_scores")
    neg = _scores(nonmember_scores, "nonmember_scores")
    if pos.size < 2 or neg.size < 2:
        raise ValueError("need at least 2 members and 2 non-members to hold out half")
    gen = as_rng(rng)
    pp, qq = gen.permutation(pos), gen.permutation(neg)
    fit_pos, eval_pos = pp[: pos.size // 2], pp[pos.size // 2:]
    fit_neg, eval_neg = qq[: neg.size // 2], qq[neg.size // 2:]

    def bounds(p: np.ndarray, q: np.ndarray, ts: np.ndarray) -> np.ndarray:
        tp = p.size - np.searchsorted(np.sort(p), ts, side="left")
        fp = q.size - np.searchsorted(np.sort(q), ts, side="left")
        return _bound_vectorised(tp, p.size, fp, q.size, d, a)

    d = check_probability(delta, "delta", open_high=True)
    a = check_probability(alpha, "alpha", open_low=True, open_high=True)
    candidates = np.unique(np.concatenate([fit_pos, fit_neg]))
    t_best = float(candidates[int(np.argmax(bounds(fit_pos, fit_neg, candidates)))])
    tp, fp = int((eval_pos >= t_best).sum()), int((eval_neg >= t_best).sum())
    return epsilon_lower_bound(true_positives=tp, n_members=eval_pos.size, false_positives=fp,
                               n_nonmembers=eval_neg.size, delta=d, alpha=a), t_best


def max_certifiable_epsilon(n_members: int, n_nonmembers: int | None = None, *, delta: float = 0.0,
                            alpha: float = 0.05) -> float:
    """The largest ε lower bound *any* attack can certify with this many trials.

    A perfect attack (every member found, no false positive) still only shows FPR ≤ 1 − (α/2)^{1/n}
    at confidence 1 − α/2, so :func:`epsilon_lower_bound` can never exceed
    ``log((1 − δ − FPR_hi) / FNR_hi)`` evaluated at zero errors. With 1,000 + 1,000 trials and
    α = 0.05 this is about 5.60: a model trained at ε = 8 cannot be shown to leak more than that.
    """
    n_neg = n_members if n_nonmembers is None else n_nonmembers
    return epsilon_lower_bound(true_positives=check_positive_int(n_members, "n_members"), n_members=n_members,
                               false_positives=0, n_nonmembers=check_positive_int(n_neg, "n_nonmembers"),
                               delta=delta, alpha=alpha)


def one_run_p_value(*, m: int, r: int, v: int, epsilon: float, delta: float) -> float:
    """p-value of ≥ v correct guesses out of r, if the training run was (ε, δ)-DP.

    Steinke, Nasr & Jagielski (2023), "Privacy auditing with one (1) training run", Theorem 3.1 and
    its Algorithm 2 (their code listing): m canaries, each included independently with
    probability ½; the auditor guesses on r of them (abstaining on m − r) and gets v right. With
    q = e^ε / (1 + e^ε), the accuracy of ε-randomized response::

        p = P[Binomial(r, q) ≥ v] + 2 m δ · max_{i=1..v} P[v > Binomial(r, q) ≥ v − i] / i

    The privacy unit is one canary (add/remove of one example).
    """
    m = check_positive_int(m, "m")
    if not (isinstance(r, (int, np.integer)) and isinstance(v, (int, np.integer)) and 0 <= v <= r <= m):
        raise ValueError(f"need integers 0 <= v <= r <= m, got m={m}, r={r!r}, v={v!r}")
    eps = check_nonnegative(epsilon, "epsilon")
    d = check_probability(delta, "delta")
    q = 1.0 / (1.0 + math.exp(-eps))
    beta = float(stats.binom.sf(v - 1, r, q))  # P[Binomial(r, q) >= v]
    if d == 0 or v == 0:
        return min(beta, 1.0)
    # P[v > Binomial(r, q) >= v - i] for i = 1..v, cumulated
    pmf = stats.binom.pmf(np.arange(v - 1, -1, -1), r, q)
    cum = np.cumsum(pmf)
    a = float(np.max(cum / np.arange(1, v + 1)))
    return float(min(beta + a * d * 2 * m, 1.0))


def one_run_epsilon_lower_bound(*, m: int, r: int, v: int, delta: float, p: float = 0.05) -> float:
    """ε lower bound of the one-run audit: the largest ε whose p-value is below ``p``.

    If the run was (ε, δ)-DP, the returned value exceeds ε with probability at most ``p``
    (Steinke, Nasr & Jagielski 2023, Theorem 3.1). Found by bisection to 1e-6; 0 when even ε = 0
    cannot be rejected.
    """
    level = check_probability(p, "p", open_low=True, open_high=True)
    if one_run_p_value(m=m, r=r, v=v, epsilon=0.0, delta=delta) >= level:
        return 0.0
    lo, hi = 0.0, 1.0
    while one_run_p_value(m=m, r=r, v=v, epsilon=hi, delta=delta) < level:
        lo, hi = hi, hi * 2
        if hi > 1e3:
            return math.inf
    while hi - lo > 1e-6:
        mid = (lo + hi) / 2
        if one_run_p_value(m=m, r=r, v=v, epsilon=mid, delta=delta) < level:
            lo = mid
        else:
            hi = mid
    return lo
