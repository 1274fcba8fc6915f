"""helpers.audit: ROC/AUC, Clopper-Pearson, empirical ε lower bounds and the one-run audit.

Every bound is checked on mechanisms whose ε is known exactly (Laplace, randomized response):
an audit must never certify more than the truth (beyond its stated failure probability), must come
close with many trials, and must catch a mechanism that adds less noise than it claims.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

import helpers.audit as A


# ----------------------------------------------------------------------------- ROC, AUC, TPR@FPR

def test_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        pos = rng.integers(0, 6, size=rng.integers(1, 40)).astype(float)  # many ties
        neg = rng.integers(0, 5, size=rng.integers(1, 40)).astype(float)
        y = np.r_[np.ones(pos.size), np.zeros(neg.size)]
        assert A.auc(pos, neg) == pytest.approx(roc_auc_score(y, np.r_[pos, neg]), abs=1e-12)
        fpr, tpr, _ = A.roc_curve(pos, neg)
        assert np.trapezoid(tpr, fpr) == pytest.approx(A.auc(pos, neg), abs=1e-12)


def test_roc_curve_ends_and_monotone():
    fpr, tpr, thr = A.roc_curve([3.0, 2.0, 2.0], [1.0, 2.0])
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0) and thr[0] == np.inf


def test_tpr_at_fpr_matches_sklearn():
    rng = np.random.default_rng(1)
    for _ in range(20):
        pos = np.round(rng.normal(1, 1, 200), 1)
        neg = np.round(rng.normal(0, 1, 300), 1)
        y = np.r_[np.ones(pos.size), np.zeros(neg.size)]
        f, t, _ = sk_roc_curve(y, np.r_[pos, neg], drop_intermediate=False)
        for target in (0.0, 0.01, 0.1, 0.5):
            assert A.tpr_at_fpr(pos, neg, fpr=target) == pytest.approx(t[f <= target].max())


def test_tpr_at_fpr_ties_use_greater_equal():
    # at threshold 2 the member and the non-member tie: calling both members costs FPR 1/2
    assert A.tpr_at_fpr([2.0, 3.0], [2.0, 0.0], fpr=0.4) == 0.5
    assert A.tpr_at_fpr([2.0, 3.0], [2.0, 0.0], fpr=0.5) == 1.0


# ----------------------------------------------------------------------------- Clopper-Pearson

def test_clopper_pearson_matches_scipy_binomtest():
    for k, n in [(0, 10), (3, 10), (10, 10), (512, 1000), (1, 1000)]:
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        assert A.clopper_pearson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-10)


def test_clopper_pearson_zero_successes_closed_form():
    # k = 0: the upper end solves (1 - p)^n = alpha/2
    assert A.clopper_pearson(0, 1000)[1] == pytest.approx(1 - 0.025 ** (1 / 1000))


# ----------------------------------------------------------------------------- ε lower bound

def test_max_certifiable_epsilon_1000_trials():
    # derivation: FPR_hi = FNR_hi = u = 1 - 0.025^(1/1000); eps = log((1-u)/u) = 5.6006
    u = 1 - 0.025 ** (1 / 1000)
    assert A.max_certifiable_epsilon(1000) == pytest.approx(math.log((1 - u) / u))
    assert A.max_certifiable_epsilon(1000) == pytest.approx(5.6006, abs=1e-4)
    assert A.max_certifiable_epsilon(100_000) > 10


def test_bound_uses_delta_and_both_directions():
    e0 = A.epsilon_lower_bound(true_positives=900, n_members=1000, false_positives=100, n_nonmembers=1000, delta=0)
    e1 = A.epsilon_lower_bound(true_positives=900, n_members=1000, false_positives=100, n_nonmembers=1000, delta=0.05)
    assert e1 < e0
    # the mirror image (few true positives, very few false positives) gives the same bound
    a = A.epsilon_lower_bound(true_positives=300, n_members=1000, false_positives=10, n_nonmembers=1000, delta=0)
    b = A.epsilon_lower_bound(true_positives=990, n_members=1000, false_positives=700, n_nonmembers=1000, delta=0)
    assert a == pytest.approx(b) and a > 2
    # guessing gives no evidence
    assert A.epsilon_lower_bound(true_positives=500, n_members=1000, false_positives=500, n_nonmembers=1000,
                                 delta=1e-5) == 0.0


def _laplace_counts(rng, n, *, scale, threshold):
    """n runs on D (true answer 1) and n on D' (true answer 0) of a Laplace mechanism."""
    members = 1 + rng.laplace(0, scale, n)
    nonmembers = rng.laplace(0, scale, n)
    return int((members >= threshold).sum()), int((nonmembers >= threshold).sum())


def test_laplace_at_eps_1_audits_below_and_close_to_1():
    rng = np.random.default_rng(2)
    # threshold >= 1: the likelihood ratio is exactly e^eps there, so the test is tight
    tp, fp = _laplace_counts(rng, 1_000_000, scale=1.0, threshold=2.0)
    lb = A.epsilon_lower_bound(true_positives=tp, n_members=1_000_000, false_positives=fp,
                               n_nonmembers=1_000_000, delta=0.0)
    assert 0.95 < lb <= 1.0


def test_randomized_response_at_eps_1_audits_below_and_close_to_1():
    rng = np.random.default_rng(3)
    n, eps = 1_000_000, 1.0
    keep = math.exp(eps) / (1 + math.exp(eps))
    tp = int((rng.random(n) < keep).sum())  # member's bit 1 reported as 1
    fp = int((rng.random(n) >= keep).sum())  # non-member's bit 0 flipped to 1
    lb = A.epsilon_lower_bound(true_positives=tp, n_members=n, false_positives=fp, n_nonmembers=n, delta=1e-5)
    assert 0.97 < lb <= 1.0


def test_lower_bound_is_valid_across_repetitions():
    # at 1,000 + 1,000 trials the bound exceeds the true eps in at most ~alpha of the runs
    rng = np.random.default_rng(4)
    over = 0
    for _ in range(300):
        tp, fp = _laplace_counts(rng, 1000, scale=1.0, threshold=1.5)
        over += A.epsilon_lower_bound(true_positives=tp, n_members=1000, false_positives=fp,
                                      n_nonmembers=1000, delta=0.0) > 1.0
    assert over <= 15  # expected < 0.025 * 300 = 7.5


def test_under_noised_mechanism_audits_above_its_claim():
    # claims eps = 1 but adds Laplace noise of scale 1/3 (really eps = 3)
    rng = np.random.default_rng(5)
    tp, fp = _laplace_counts(rng, 10_000, scale=1 / 3, threshold=1.5)
    lb = A.epsilon_lower_bound(true_positives=tp, n_members=10_000, false_positives=fp, n_nonmembers=10_000,
                               delta=1e-5)
    assert lb > 2.0


def test_bound_from_scores_holds_out_the_threshold():
    rng = np.random.default_rng(6)
    members, nonmembers = 1 + rng.laplace(0, 1, 20_000), rng.laplace(0, 1, 20_000)
    lb, t = A.epsilon_lower_bound_from_scores(members, nonmembers, delta=0.0, rng=np.random.default_rng(0))
    assert 0.5 < lb <= 1.0
    # identical distributions: no evidence
    lb0, _ = A.epsilon_lower_bound_from_scores(rng.normal(size=2000), rng.normal(size=2000), delta=1e-5,
                                               rng=np.random.default_rng(0))
    assert lb0 < 0.5


@pytest.mark.parametrize("kwargs", [
    dict(true_positives=11, n_members=10, false_positives=0, n_nonmembers=10, delta=0),
    dict(true_positives=1.5, n_members=10, false_positives=0, n_nonmembers=10, delta=0),
    dict(true_positives=1, n_members=10, false_positives=0, n_nonmembers=10, delta=1.0),
    dict(true_positives=1, n_members=0, false_positives=0, n_nonmembers=10, delta=0),
])
def test_bound_rejects_bad_input(kwargs):
    with pytest.raises(ValueError):
        A.epsilon_lower_bound(**kwargs)


# ----------------------------------------------------------------------------- one-run audit

def _p_value_loop(m, r, v, eps, delta):
    """Steinke, Nasr & Jagielski (2023), Algorithm 2, as their listing writes it (a loop)."""
    q = 1 / (1 + math.exp(-eps))
    beta = stats.binom.sf(v - 1, r, q)
    alpha, total = 0.0, 0.0
    for i in range(1, v + 1):
        total += stats.binom.pmf(v - i, r, q)
        if total > i * alpha:
            alpha = total / i
    return min(beta + alpha * delta * 2 * m, 1)


def test_one_run_p_value_matches_the_papers_algorithm():
    for m, r, v, eps, delta in [(1000, 100, 90, 1.0, 1e-5), (1000, 1000, 700, 0.5, 1e-6), (50, 20, 20, 2.0, 1e-3),
                                (10_000, 500, 400, 1.2, 1e-5)]:
        assert A.one_run_p_value(m=m, r=r, v=v, epsilon=eps, delta=delta) == pytest.approx(
            _p_value_loop(m, r, v, eps, delta), rel=1e-9)


def test_one_run_pure_dp_closed_form():
    # delta = 0, all r guesses right: p = q^r, so eps_lb solves q^r = 0.05: q = 0.05^(1/r), eps = logit(q)
    for r in (10, 100, 1000):
        q = 0.05 ** (1 / r)
        assert A.one_run_epsilon_lower_bound(m=r, r=r, v=r, delta=0.0) == pytest.approx(math.log(q / (1 - q)),
                                                                                       abs=1e-5)
    # the delta term can only lower the bound
    assert A.one_run_epsilon_lower_bound(m=1000, r=100, v=100, delta=1e-5) < \
        A.one_run_epsilon_lower_bound(m=1000, r=100, v=100, delta=0.0)


def test_one_run_audit_is_valid_on_randomized_response():
    # each canary's bit goes through eps-randomized response (exactly eps-DP per canary); the auditor
    # guesses the report. The audit must exceed eps in at most 5% of runs, and come reasonably close.
    rng = np.random.default_rng(7)
    eps, m = 1.0, 1000
    q = 1 / (1 + math.exp(-eps))
    bounds = []
    for _ in range(200):
        v = int((rng.random(m) < q).sum())
        bounds.append(A.one_run_epsilon_lower_bound(m=m, r=m, v=v, delta=1e-5))
    bounds = np.array(bounds)
    assert (bounds > eps).mean() <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 200)
    assert np.median(bounds) > 0.75


def test_one_run_rejects_bad_input():
    with pytest.raises(ValueError):
        A.one_run_p_value(m=10, r=11, v=1, epsilon=1.0, delta=0.0)
    with pytest.raises(ValueError):
        A.one_run_epsilon_lower_bound(m=10, r=10, v=5, delta=0.0, p=1.5)


def test_vectorised_bound_matches_scalar():
    rng = np.random.default_rng(8)
    for _ in range(50):
        n_pos, n_neg = rng.integers(1, 200, size=2)
        tp, fp = rng.integers(0, n_pos + 1), rng.integers(0, n_neg + 1)
        delta = float(rng.choice([0.0, 1e-5, 0.1]))
        scalar = A.epsilon_lower_bound(true_positives=int(tp), n_members=int(n_pos), false_positives=int(fp),
                                       n_nonmembers=int(n_neg), delta=delta)
        assert A._bound_vectorised(np.array([tp]), n_pos, np.array([fp]), n_neg, delta, 0.05)[0] == \
            pytest.approx(scalar, abs=1e-9)


def test_import_helpers_does_not_load_scipy_stats():
    # helpers/__init__ loads audit (and with it scipy.stats, about half a second) on first use only,
    # so lessons that never audit do not pay for it in their first cell
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, helpers; print('scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout
    assert out.strip() == "False"
