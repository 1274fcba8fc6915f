"""Tests for helpers.mechanisms (lesson 03).

Statistical tests use fixed seeds and accept values within 5 standard errors of the truth,
with the standard error computed from the *true* distribution (a correct implementation fails
with probability < 6e-7 per check; the classic mistakes — scale ε/Δ instead of Δ/ε, the wrong
sensitivity for replace-one neighbours — miss by dozens of standard errors).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import helpers as H
from helpers import mechanisms as M

N_SE = 5.0


def _within(got: float, expected: float, se: float, n_se: float = N_SE) -> bool:
    return abs(got - expected) <= n_se * se


# ----------------------------------------------------------------------------- exports


def test_all_exported_and_reexported():
    for name in M.__all__:
        assert callable(getattr(M, name))
        assert getattr(H, name) is getattr(M, name)


def test_no_torch_import():
    import subprocess
    import sys

    code = "import sys, helpers.mechanisms, helpers.composition; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- Laplace


@pytest.mark.parametrize("sens, eps, expected", [(1, 1, 1.0), (2, 0.5, 4.0), (0, 3, 0.0), (0.3, 0.1, 3.0)])
def test_laplace_scale(sens, eps, expected):
    # b = Δ/ε (Dwork & Roth 2014, Def. 3.3)
    assert M.laplace_scale(sensitivity=sens, epsilon=eps) == pytest.approx(expected, rel=1e-12)


def test_laplace_variance_and_mean():
    # Var[Lap(b)] = 2 b²; kurtosis 6, so SE(var) = 2b² √(5/n).
    b = M.laplace_scale(sensitivity=2.0, epsilon=0.5)
    n = 200_000
    x = M.laplace_mechanism(np.full(n, 3.0), sensitivity=2.0, epsilon=0.5, rng=np.random.default_rng(1))
    assert x.shape == (n,)
    var = 2 * b * b
    assert _within(x.mean(), 3.0, math.sqrt(var / n))
    assert _within(x.var(ddof=1), var, var * math.sqrt(5 / n))
    # and the whole distribution: Kolmogorov-Smirnov against Laplace(3, b)
    assert stats.kstest(x[:20_000], stats.laplace(loc=3.0, scale=b).cdf).pvalue > 1e-4


def test_laplace_scalar_and_array_types():
    out = M.laplace_mechanism(5, sensitivity=1, epsilon=1, rng=0)
    assert isinstance(out, float)
    arr = M.laplace_mechanism(np.zeros((2, 3)), sensitivity=1, epsilon=1, rng=0)
    assert arr.shape == (2, 3)
    # zero sensitivity adds no noise
    assert M.laplace_mechanism(7.5, sensitivity=0, epsilon=1, rng=0) == 7.5


def test_laplace_reproducible_and_documented_draw():
    a = M.laplace_mechanism(np.zeros(5), sensitivity=1, epsilon=2, rng=np.random.default_rng(3))
    b = M.laplace_mechanism(np.zeros(5), sensitivity=1, epsilon=2, rng=3)
    c = np.random.default_rng(3).laplace(0.0, 0.5, size=5)
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(a, c)
    assert not np.allclose(a, M.laplace_mechanism(np.zeros(5), sensitivity=1, epsilon=2, rng=4))


def test_laplace_privacy_ratio():
    # The density ratio p(z | f=0)/p(z | f=Δ) of the Laplace mechanism is bounded by e^ε
    # (Dwork & Roth Thm 3.6): checked on a grid with scipy's Laplace density.
    eps, sens = 0.7, 1.0
    b = M.laplace_scale(sensitivity=sens, epsilon=eps)
    z = np.linspace(-20, 20, 2001)
    log_ratio = stats.laplace(0, b).logpdf(z) - stats.laplace(sens, b).logpdf(z)
    assert np.max(np.abs(log_ratio)) <= eps + 1e-12
    assert np.max(np.abs(log_ratio)) == pytest.approx(eps, rel=1e-9)


# ----------------------------------------------------------------------------- bounded queries


def test_clamp():
    np.testing.assert_array_equal(M.clamp([-5, 0, 3, 12], lower=0, upper=10), [0.0, 0.0, 3.0, 10.0])


def test_private_sum_sensitivity_replace_vs_remove():
    # replace-one: Δ = upper − lower = 7; remove-one: Δ = max(|lower|, |upper|) = 5 (lower=-2, upper=5)
    values = np.array([-10.0, -1.0, 0.0, 2.0, 4.0, 100.0])
    true = float(np.clip(values, -2, 5).sum())  # -2 - 1 + 0 + 2 + 4 + 5 = 8
    assert true == 8.0
    rng = np.random.default_rng(11)
    n, eps = 20_000, 0.5
    for neighbours, delta in (("replace", 7.0), ("remove", 5.0)):
        xs = np.array([M.private_sum(values, lower=-2, upper=5, epsilon=eps, rng=rng, neighbours=neighbours)
                       for _ in range(n)])
        var = 2 * (delta / eps) ** 2
        assert _within(xs.mean(), true, math.sqrt(var / n))
        assert _within(xs.var(ddof=1), var, var * math.sqrt(5 / n)), neighbours
    # agrees with lesson 01's global sensitivities
    assert H.sum_sensitivity(lower=-2, upper=5, neighbours="replace") == 7.0
    assert H.sum_sensitivity(lower=-2, upper=5, neighbours="remove") == 5.0


def test_private_sum_documented_draw():
    got = M.private_sum([1.0, 2.0, 30.0], lower=0, upper=10, epsilon=2.0, rng=5)
    expected = 13.0 + np.random.default_rng(5).laplace(0.0, 10 / 2.0, size=())
    assert got == pytest.approx(float(expected), rel=1e-12)


def test_private_count():
    db = H.make_database(500, p=0.3, rng=2)
    rng = np.random.default_rng(8)
    n, eps = 20_000, 0.25
    xs = np.array([M.private_count(db, epsilon=eps, rng=rng) for _ in range(n)])
    var = 2 * (1 / eps) ** 2
    assert _within(xs.mean(), db.sum(), math.sqrt(var / n))
    assert _within(xs.var(ddof=1), var, var * math.sqrt(5 / n))
    assert isinstance(M.private_count([True, False, True], epsilon=1, rng=0), float)


def test_private_mean_replace():
    # known n under replace-one: Δ = (upper − lower)/n
    values = np.linspace(0, 100, 50)
    rng = np.random.default_rng(4)
    n, eps = 20_000, 0.5
    xs = np.array([M.private_mean(values, lower=0, upper=100, epsilon=eps, rng=rng) for _ in range(n)])
    var = 2 * (100 / 50 / eps) ** 2
    assert _within(xs.mean(), 50.0, math.sqrt(var / n))
    assert _within(xs.var(ddof=1), var, var * math.sqrt(5 / n))


def test_private_mean_remove_uses_sum_and_count():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    got = M.private_mean(values, lower=0, upper=5, epsilon=1.0, rng=9, neighbours="remove")
    gen = np.random.default_rng(9)
    s = 10.0 + gen.laplace(0.0, 5 / 0.5, size=())
    c = 4.0 + gen.laplace(0.0, 1 / 0.5, size=())
    assert got == pytest.approx(float(np.clip(s / max(c, 1.0), 0, 5)), rel=1e-12)
    assert 0.0 <= got <= 5.0
    # with a huge epsilon the answer is the clamped mean
    big = M.private_mean(values, lower=0, upper=5, epsilon=1e9, rng=0, neighbours="remove")
    assert big == pytest.approx(2.5, abs=1e-6)


# ----------------------------------------------------------------------------- Gaussian


@pytest.mark.parametrize("sens, eps, delta", [(1.0, 0.5, 1e-5), (2.0, 0.1, 1e-6), (0.5, 0.99, 0.01)])
def test_gaussian_sigma_classic(sens, eps, delta):
    # σ = Δ √(2 ln(1.25/δ)) / ε (Dwork & Roth 2014, Thm A.1)
    expected = sens * math.sqrt(2 * math.log(1.25 / delta)) / eps
    assert M.gaussian_sigma_classic(sensitivity=sens, epsilon=eps, delta=delta) == pytest.approx(expected, rel=1e-12)


def test_gaussian_sigma_classic_pinned_number():
    # Δ=1, ε=0.5, δ=1e-5: 2 √(2 ln 125000) = 9.6896105252...
    assert M.gaussian_sigma_classic(sensitivity=1, epsilon=0.5, delta=1e-5) == pytest.approx(9.689610525210778, rel=1e-12)


def test_gaussian_sigma_classic_refuses_large_epsilon():
    with pytest.raises(ValueError, match="analytic"):
        M.gaussian_sigma_classic(sensitivity=1, epsilon=1.0, delta=1e-5)
    with pytest.raises(ValueError, match="epsilon"):
        M.gaussian_mechanism(0.0, sensitivity=1, epsilon=2.0, delta=1e-5, calibration="classic", rng=0)


def test_gaussian_delta_formula():
    # δ(ε) = Φ(Δ/2σ − εσ/Δ) − e^ε Φ(−Δ/2σ − εσ/Δ) (Balle & Wang 2018, Thm 8), written directly
    for sigma, sens, eps in [(1.0, 1.0, 1.0), (3.0, 2.0, 0.3), (0.7, 1.0, 2.0), (5.0, 1.0, 0.0)]:
        a, c = sens / (2 * sigma), eps * sigma / sens
        expected = stats.norm.cdf(a - c) - math.exp(eps) * stats.norm.cdf(-a - c)
        assert M.gaussian_delta(sigma=sigma, sensitivity=sens, epsilon=eps) == pytest.approx(expected, rel=1e-9)
    # ε = 0: δ is the total variation distance 2Φ(Δ/2σ) − 1
    assert M.gaussian_delta(sigma=2.0, sensitivity=1.0, epsilon=0.0) == pytest.approx(2 * stats.norm.cdf(0.25) - 1)
    assert M.gaussian_delta(sigma=1.0, sensitivity=0.0, epsilon=1.0) == 0.0
    # large ε does not overflow (log-space) and stays a probability
    d = M.gaussian_delta(sigma=0.2, sensitivity=1.0, epsilon=700.0)
    assert 0.0 <= d < 1e-100


def test_gaussian_delta_matches_dp_accounting_pld():
    from dp_accounting.pld import privacy_loss_mechanism as plm

    rng = np.random.default_rng(0)
    for _ in range(25):
        sigma, sens, eps = rng.uniform(0.3, 10), rng.uniform(0.1, 3), rng.uniform(0.01, 5)
        ours = M.gaussian_delta(sigma=sigma, sensitivity=sens, epsilon=eps)
        theirs = plm.GaussianPrivacyLoss(sigma, sensitivity=sens).get_delta_for_epsilon(eps)
        assert ours == pytest.approx(theirs, rel=1e-7, abs=1e-15)


def test_gaussian_sigma_analytic_roots_and_cross_check():
    from dp_accounting import gaussian_mechanism as gm

    rng = np.random.default_rng(1)
    settings = [(1.0, 0.5, 1e-5), (1.0, 1.0, 1e-5), (1.0, 3.0, 1e-6), (1.0, 10.0, 1e-10), (2.5, 0.05, 1e-3)]
    settings += [(rng.uniform(0.1, 5), rng.uniform(0.01, 8), 10 ** rng.uniform(-10, -2)) for _ in range(20)]
    for sens, eps, delta in settings:
        sigma = M.gaussian_sigma_analytic(sensitivity=sens, epsilon=eps, delta=delta)
        # the returned σ solves δ(σ) = δ to 1e-9 (relative) ...
        assert M.gaussian_delta(sigma=sigma, sensitivity=sens, epsilon=eps) == pytest.approx(delta, rel=1e-9)
        # ... and agrees with dp-accounting's exact calibration (Balle & Wang, Δ = 1, scaled by Δ)
        assert sigma == pytest.approx(sens * gm.get_sigma_gaussian(eps, delta), rel=1e-9)
        # it is minimal: 0.1% less noise breaks (ε, δ)
        assert M.gaussian_delta(sigma=0.999 * sigma, sensitivity=sens, epsilon=eps) > delta
        if eps < 1:
            assert sigma < M.gaussian_sigma_classic(sensitivity=sens, epsilon=eps, delta=delta)


def test_gaussian_sigma_analytic_zero_sensitivity():
    assert M.gaussian_sigma_analytic(sensitivity=0, epsilon=1, delta=1e-5) == 0.0


def test_classic_formula_too_small_for_large_epsilon():
    # Why ε >= 1 is refused: the classic formula's σ fails the exact δ for large ε
    # (Δ = 1, δ = 1e-5: at ε = 10, σ = 0.4845 has true δ ≈ 2.3e-5; at ε = 20, σ = 0.2422 has
    # true δ ≈ 1.5e-3, 150 times the promise). Calling it with ε >= 1 was the Udacity bug.
    delta = 1e-5
    for eps, ratio in ((10.0, 2.2653743647934235), (20.0, 152.66946955248528)):
        sigma_formula = math.sqrt(2 * math.log(1.25 / delta)) / eps
        assert M.gaussian_delta(sigma=sigma_formula, sensitivity=1.0, epsilon=eps) / delta == pytest.approx(ratio, rel=1e-6)


def test_gaussian_mechanism_variance():
    # Var = σ² with analytic σ; Gaussian kurtosis 3, so SE(var) = σ² √(2/n).
    sigma = M.gaussian_sigma_analytic(sensitivity=1.0, epsilon=2.0, delta=1e-5)
    n = 100_000
    x = M.gaussian_mechanism(np.zeros(n), sensitivity=1.0, epsilon=2.0, delta=1e-5, rng=np.random.default_rng(6))
    assert _within(x.mean(), 0.0, sigma / math.sqrt(n))
    assert _within(x.var(ddof=1), sigma**2, sigma**2 * math.sqrt(2 / n))
    # classic calibration draws with the classic σ
    y = M.gaussian_mechanism(1.0, sensitivity=1.0, epsilon=0.5, delta=1e-5, rng=7, calibration="classic")
    expected = 1.0 + np.random.default_rng(7).normal(0.0, 9.689610525210778, size=())
    assert y == pytest.approx(float(expected), rel=1e-12)
    assert isinstance(y, float)


# ----------------------------------------------------------------------------- sensitivities


def test_l1_l2_sensitivity_histogram():
    # one-hot histogram: replace-one moves one person between bins: Δ₁ = 2, Δ₂ = √2; remove-one: 1 and 1
    db = H.make_database(20, rng=0)

    def hist(d):
        return np.bincount(d.astype(int), minlength=2)

    assert M.l1_sensitivity(hist, db, H.replace_one_neighbours(db)) == 2.0
    assert M.l2_sensitivity(hist, db, H.replace_one_neighbours(db)) == pytest.approx(math.sqrt(2))
    assert M.l1_sensitivity(hist, db, H.remove_one_neighbours(db)) == 1.0
    assert M.l2_sensitivity(hist, db, H.remove_one_neighbours(db)) == 1.0


def test_l1_l2_sensitivity_vector_query():
    # d counting queries that all see one person: Δ₁ = d, Δ₂ = √d
    d = 9
    db = np.ones(5)

    def query(x):
        return np.full(d, x.sum())

    nbs = H.remove_one_neighbours(db)
    assert M.l1_sensitivity(query, db, nbs) == 9.0
    assert M.l2_sensitivity(query, db, nbs) == pytest.approx(3.0)
    # agrees with lesson 01's empirical sensitivity
    assert M.l1_sensitivity(np.sum, db, nbs) == H.empirical_sensitivity(np.sum, db, neighbours="remove")


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("call", [
    lambda: M.laplace_scale(sensitivity=1, epsilon=0),
    lambda: M.laplace_scale(sensitivity=1, epsilon=-1),
    lambda: M.laplace_scale(sensitivity=-1, epsilon=1),
    lambda: M.laplace_scale(sensitivity=float("nan"), epsilon=1),
    lambda: M.laplace_scale(sensitivity=1, epsilon=float("inf")),
    lambda: M.laplace_mechanism(float("nan"), sensitivity=1, epsilon=1),
    lambda: M.laplace_mechanism(np.array([1.0, np.inf]), sensitivity=1, epsilon=1),
    lambda: M.laplace_mechanism(1.0, sensitivity=1, epsilon=1, rng="seed"),
    lambda: M.clamp([1.0, 2.0], lower=3, upper=3),
    lambda: M.clamp([], lower=0, upper=1),
    lambda: M.clamp([[1.0]], lower=0, upper=1),
    lambda: M.private_sum([1.0, np.nan], lower=0, upper=1, epsilon=1),
    lambda: M.private_sum([1.0], lower=0, upper=1, epsilon=0),
    lambda: M.private_sum([1.0], lower=2, upper=1, epsilon=1),
    lambda: M.private_sum([1.0], lower=0, upper=float("inf"), epsilon=1),
    lambda: M.private_sum([1.0], lower=0, upper=1, epsilon=1, neighbours="swap"),
    lambda: M.private_sum([], lower=0, upper=1, epsilon=1),
    lambda: M.private_count([0, 2], epsilon=1),
    lambda: M.private_count([0, 1], epsilon=0),
    lambda: M.private_count([], epsilon=1),
    lambda: M.private_mean([1.0], lower=0, upper=1, epsilon=-1),
    lambda: M.private_mean([], lower=0, upper=1, epsilon=1),
    lambda: M.private_mean([1.0], lower=0, upper=1, epsilon=1, neighbours="add"),
    lambda: M.gaussian_sigma_classic(sensitivity=1, epsilon=0.5, delta=0),
    lambda: M.gaussian_sigma_classic(sensitivity=1, epsilon=0.5, delta=1),
    lambda: M.gaussian_sigma_classic(sensitivity=-1, epsilon=0.5, delta=1e-5),
    lambda: M.gaussian_sigma_classic(sensitivity=1, epsilon=0, delta=1e-5),
    lambda: M.gaussian_sigma_classic(sensitivity=1, epsilon=1.5, delta=1e-5),
    lambda: M.gaussian_sigma_analytic(sensitivity=1, epsilon=0, delta=1e-5),
    lambda: M.gaussian_sigma_analytic(sensitivity=1, epsilon=1, delta=1.5),
    lambda: M.gaussian_sigma_analytic(sensitivity=-2, epsilon=1, delta=1e-5),
    lambda: M.gaussian_delta(sigma=0, sensitivity=1, epsilon=1),
    lambda: M.gaussian_delta(sigma=1, sensitivity=-1, epsilon=1),
    lambda: M.gaussian_delta(sigma=1, sensitivity=1, epsilon=-0.1),
    lambda: M.gaussian_delta(sigma=1, sensitivity=1, epsilon=float("nan")),
    lambda: M.gaussian_mechanism(0.0, sensitivity=1, epsilon=1, delta=1e-5, calibration="optimal"),
    lambda: M.gaussian_mechanism(np.nan, sensitivity=1, epsilon=1, delta=1e-5),
    lambda: M.gaussian_mechanism(0.0, sensitivity=1, epsilon=1, delta=0.0),
    lambda: M.l1_sensitivity(np.sum, np.ones(3), []),
    lambda: M.l1_sensitivity("sum", np.ones(3), [np.ones(2)]),
    lambda: M.l2_sensitivity(np.sum, np.array([]), [np.ones(2)]),
    lambda: M.l2_sensitivity(lambda d: d[:2], np.ones(3), [np.ones(1)]),
])
def test_value_errors(call):
    with pytest.raises(ValueError):
        call()
