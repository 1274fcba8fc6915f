"""Tests for helpers.randomized_response (lesson 02).

Statistical tests use fixed seeds and accept values within 5 standard errors of the truth
(a correct implementation fails with probability < 6e-7 per check; the wrong answers
students write, e.g. flipping instead of a fair coin, miss by dozens of standard errors).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import helpers as H
from helpers import randomized_response as rr

N_SE = 5.0


def _within(got: float, expected: float, se: float, n_se: float = N_SE) -> bool:
    return abs(got - expected) <= n_se * se


def _bits(n: int, pi: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random(n) < pi).astype(np.int64)


# ----------------------------------------------------------------------------- exports


def test_all_exported_and_reexported():
    for name in rr.__all__:
        assert callable(getattr(rr, name))
        assert getattr(H, name) is getattr(rr, name)


# ----------------------------------------------------------------------------- closed forms


def test_fair_coins_give_ln3():
    # Dwork & Roth (2014), Claim 3.5: the two-coin protocol is (ln 3)-DP.
    assert rr.rr_epsilon(p_truth=0.5) == pytest.approx(math.log(3.0), rel=1e-12)


@pytest.mark.parametrize("p", [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999])
def test_epsilon_is_worst_case_likelihood_ratio(p):
    # Derivation: P(y=1|x=1) = (1+p)/2, P(y=1|x=0) = (1-p)/2; the worst case over y and
    # x, x' is their ratio (y=0 gives the same ratio inverted).
    p1, p0 = (1 + p) / 2, (1 - p) / 2
    worst = max(p1 / p0, p0 / p1, (1 - p1) / (1 - p0), (1 - p0) / (1 - p1))
    assert rr.rr_epsilon(p_truth=p) == pytest.approx(math.log(worst), rel=1e-12, abs=1e-15)


def test_epsilon_edges():
    assert rr.rr_epsilon(p_truth=0.0) == 0.0
    assert rr.rr_epsilon(p_truth=1.0) == math.inf
    assert rr.rr_epsilon(p_truth=1) == math.inf


@pytest.mark.parametrize("eps", [1e-6, 0.1, 0.5, math.log(3), 1.0, 2.0, 5.0, 20.0])
def test_p_truth_for_epsilon_inverts_rr_epsilon(eps):
    p = rr.p_truth_for_epsilon(epsilon=eps)
    # (e^ε − 1)/(e^ε + 1), solving ε = ln((1+p)/(1-p)) for p.
    assert p == pytest.approx((math.exp(eps) - 1) / (math.exp(eps) + 1), rel=1e-12)
    if eps < 15:  # beyond that p rounds to 1.0 in double precision
        assert rr.rr_epsilon(p_truth=p) == pytest.approx(eps, rel=1e-9)


def test_p_truth_for_ln3_is_one_half():
    assert rr.p_truth_for_epsilon(epsilon=math.log(3)) == pytest.approx(0.5, rel=1e-12)


def test_estimate_proportion_closed_form():
    # Two-coin protocol: π̂ = (ȳ − 1/4)/(1/2) = 2ȳ − 1/2.
    y = np.array([1, 0, 1, 1, 0, 0, 0, 1])  # ȳ = 1/2
    assert rr.estimate_proportion(y, p_truth=0.5) == pytest.approx(0.5)
    y = np.array([0, 0, 0, 1])  # ȳ = 1/4 -> 0
    assert rr.estimate_proportion(y, p_truth=0.5) == pytest.approx(0.0)
    y = np.zeros(10, dtype=int)  # ȳ = 0 -> −1/2: not clipped
    assert rr.estimate_proportion(y, p_truth=0.5) == pytest.approx(-0.5)
    # p = 1: no randomization, the estimate is the plain mean.
    y = np.array([1, 1, 0, 1])
    assert rr.estimate_proportion(y, p_truth=1.0) == pytest.approx(0.75)
    # bool and float inputs work too.
    assert rr.estimate_proportion(np.array([True, False]), p_truth=0.8) == pytest.approx((0.5 - 0.1) / 0.8)
    assert rr.estimate_proportion([1.0, 0.0, 0.0], p_truth=0.25) == pytest.approx((1 / 3 - 0.375) / 0.25)


def test_estimator_std_closed_form_and_decomposition():
    # sd = sqrt(λ(1−λ)/n)/p with λ = pπ + (1−p)/2; π = 0.3, p = 0.5, n = 100:
    # λ = 0.4, λ(1−λ) = 0.24, sd = sqrt(0.0024)/0.5.
    assert rr.estimator_std(true_proportion=0.3, n=100, p_truth=0.5) == pytest.approx(math.sqrt(0.0024) / 0.5)
    for pi, n, p in [(0.0, 10, 0.3), (0.5, 1000, 0.9), (1.0, 7, 0.2), (0.37, 12345, 1.0)]:
        total = rr.estimator_std(true_proportion=pi, n=n, p_truth=p) ** 2
        sampling = pi * (1 - pi) / n
        noise = rr.rr_noise_std(n=n, p_truth=p) ** 2
        assert total == pytest.approx(sampling + noise, rel=1e-12)
    # p = 1: no privacy noise, only the binomial sampling error.
    assert rr.rr_noise_std(n=50, p_truth=1.0) == 0.0
    assert rr.estimator_std(true_proportion=0.2, n=50, p_truth=1.0) == pytest.approx(math.sqrt(0.2 * 0.8 / 50))


def test_rr_noise_std_closed_form():
    # sqrt(1 − p²)/(2 p √n): p = 1/2, n = 100 -> sqrt(0.75)/10.
    assert rr.rr_noise_std(n=100, p_truth=0.5) == pytest.approx(math.sqrt(0.75) / 10)


def test_central_laplace_std_closed_form():
    # Laplace(b) has sd √2·b; b = Δ/ε with Δ = 1/n for the mean of bits.
    assert rr.central_laplace_std(n=100, epsilon=1.0) == pytest.approx(math.sqrt(2) / 100)
    assert rr.central_laplace_std(n=10, epsilon=0.5) == pytest.approx(math.sqrt(2) / 5)
    b = 1 / (40 * 2.0)
    assert rr.central_laplace_std(n=40, epsilon=2.0) == pytest.approx(stats.laplace(scale=b).std(), rel=1e-12)


def test_local_needs_more_people_than_central():
    # Same ε = ln 3: for ±1 percentage point the local model needs (1−p²)/(4p²σ²) = 7500
    # people, the central one √2/(εσ) ≈ 129.
    sigma, p = 0.01, 0.5
    eps = rr.rr_epsilon(p_truth=p)
    assert rr.rr_noise_std(n=7500, p_truth=p) == pytest.approx(sigma)
    assert rr.central_laplace_std(n=129, epsilon=eps) < sigma < rr.central_laplace_std(n=128, epsilon=eps)


# ----------------------------------------------------------------------------- the mechanism


@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 0.9])
def test_randomize_responses_conditional_probabilities(p):
    n = 40_000
    db = _bits(n, 0.4, seed=1)
    y = rr.randomize_responses(db, p_truth=p, rng=np.random.default_rng(2))
    assert y.shape == db.shape and y.dtype == np.int64
    assert set(np.unique(y)) <= {0, 1}
    for bit, prob in ((1, (1 + p) / 2), (0, (1 - p) / 2)):
        group = y[db == bit]
        se = math.sqrt(prob * (1 - prob) / group.size)
        assert _within(group.mean(), prob, se), (bit, group.mean(), prob)


def test_randomize_responses_truth_and_pure_noise():
    db = _bits(1000, 0.3, seed=3)
    np.testing.assert_array_equal(rr.randomize_responses(db, p_truth=1.0, rng=0), db)
    # p = 0: answers independent of the data, a fair coin for everyone.
    db = np.ones(20_000, dtype=int)
    y = rr.randomize_responses(db, p_truth=0.0, rng=4)
    assert _within(y.mean(), 0.5, 0.5 / math.sqrt(db.size))


def test_randomize_responses_accepts_bool_and_float_and_lists():
    db = [True, False, True]
    assert rr.randomize_responses(np.array(db), rng=0).shape == (3,)
    assert rr.randomize_responses([1.0, 0.0, 1.0], p_truth=1.0, rng=0).tolist() == [1, 0, 1]
    assert rr.randomize_responses([1, 0, 1], p_truth=1.0, rng=0).tolist() == [1, 0, 1]


def test_randomize_responses_reproducible_and_does_not_modify_input():
    db = _bits(500, 0.5, seed=5)
    before = db.copy()
    a = rr.randomize_responses(db, rng=np.random.default_rng(7))
    b = rr.randomize_responses(db, rng=7)
    c = rr.randomize_responses(db, rng=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(db, before)


def test_estimator_is_unbiased_and_std_matches_simulation_population_view():
    # Fresh database from a population (π = 0.3) and fresh coins in every trial.
    rng = np.random.default_rng(11)
    pi, n, p, trials = 0.3, 400, 0.5, 4000
    est = np.array([
        rr.estimate_proportion(rr.randomize_responses(_bits(n, pi, seed=s), p_truth=p, rng=rng), p_truth=p)
        for s in range(trials)
    ])
    sd = rr.estimator_std(true_proportion=pi, n=n, p_truth=p)
    # Mean within 5 SE (SE = sd/√trials).
    assert _within(est.mean(), pi, sd / math.sqrt(trials))
    # Variance: π̂ is an affine function of a Binomial(n, λ) count, kurtosis ≈ 3 − 6/n + 1/(nλ(1−λ));
    # SE of the sample variance = σ² √((κ − 1)/trials); 5 SE.
    lam = p * pi + (1 - p) / 2
    kurt = 3 + (1 - 6 * lam * (1 - lam)) / (n * lam * (1 - lam))
    assert _within(est.var(ddof=1), sd**2, sd**2 * math.sqrt((kurt - 1) / trials))


def test_estimator_std_matches_simulation_fixed_database():
    db = _bits(2000, 0.7, seed=12)
    p, trials = 0.3, 20_000
    est = rr.simulate_estimates(db, p_truth=p, n_trials=trials, rng=13)
    sd = rr.rr_noise_std(n=db.size, p_truth=p)
    assert _within(est.mean(), db.mean(), sd / math.sqrt(trials))
    # Sum of many Bernoullis: kurtosis ≈ 3; 5 SE with κ = 3.
    assert _within(est.var(ddof=1), sd**2, sd**2 * math.sqrt(2 / trials))


def test_simulate_estimates_matches_the_mechanism():
    # Same distribution as running the mechanism repeatedly: compare means and variances
    # of two independent samples (5 SE of the difference).
    db = _bits(300, 0.2, seed=14)
    p, trials = 0.6, 3000
    rng = np.random.default_rng(15)
    slow = np.array([rr.estimate_proportion(rr.randomize_responses(db, p_truth=p, rng=rng), p_truth=p)
                     for _ in range(trials)])
    fast = rr.simulate_estimates(db, p_truth=p, n_trials=trials, rng=16)
    sd = rr.rr_noise_std(n=db.size, p_truth=p)
    assert _within(slow.mean() - fast.mean(), 0.0, sd * math.sqrt(2 / trials))
    assert _within(slow.var(ddof=1) - fast.var(ddof=1), 0.0, sd**2 * math.sqrt(2 * 2 / trials))
    # simulate_estimates is reproducible.
    np.testing.assert_array_equal(rr.simulate_estimates(db, p_truth=p, n_trials=5, rng=1),
                                  rr.simulate_estimates(db, p_truth=p, n_trials=5, rng=1))


def test_randomize_responses_is_ln3_dp_empirically():
    # The empirical likelihood ratio of one person's answer matches e^ε = 3.
    n = 200_000
    y1 = rr.randomize_responses(np.ones(n, dtype=int), p_truth=0.5, rng=21)
    y0 = rr.randomize_responses(np.zeros(n, dtype=int), p_truth=0.5, rng=22)
    ratio = y1.mean() / y0.mean()
    # Delta method: sd(log ratio) ≈ sqrt((1−a)/(n a) + (1−b)/(n b)), a = 3/4, b = 1/4.
    se = math.sqrt((1 - 0.75) / (n * 0.75) + (1 - 0.25) / (n * 0.25))
    assert _within(math.log(ratio), math.log(3), se)


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize("db, match", [
    (np.array([0, 1, 2]), "db"),
    (np.array([[0, 1], [1, 0]]), "db"),
    (np.array([], dtype=int), "db"),
    (np.array([0.0, np.nan]), "db"),
    (np.array(["a", "b"]), "db"),
])
def test_randomize_responses_rejects_bad_db(db, match):
    with pytest.raises(ValueError, match=match):
        rr.randomize_responses(db, rng=0)


@pytest.mark.parametrize("p", [-0.1, 1.1, float("nan"), "0.5", None, True])
def test_randomize_responses_rejects_bad_p(p):
    with pytest.raises(ValueError, match="p_truth"):
        rr.randomize_responses(np.array([0, 1]), p_truth=p, rng=0)


def test_randomize_responses_rejects_bad_rng():
    with pytest.raises(ValueError, match="rng"):
        rr.randomize_responses(np.array([0, 1]), rng="seed")


@pytest.mark.parametrize("p", [-0.5, 1.5, float("nan"), float("inf")])
def test_rr_epsilon_rejects_bad_p(p):
    with pytest.raises(ValueError, match="p_truth"):
        rr.rr_epsilon(p_truth=p)


@pytest.mark.parametrize("eps", [0, -1.0, float("nan"), float("inf"), "1"])
def test_p_truth_for_epsilon_rejects_bad_epsilon(eps):
    with pytest.raises(ValueError, match="epsilon"):
        rr.p_truth_for_epsilon(epsilon=eps)


def test_estimate_proportion_rejects_bad_input():
    with pytest.raises(ValueError, match="responses"):
        rr.estimate_proportion(np.array([], dtype=int), p_truth=0.5)
    with pytest.raises(ValueError, match="responses"):
        rr.estimate_proportion(np.array([0, 1, 3]), p_truth=0.5)
    with pytest.raises(ValueError, match="responses"):
        rr.estimate_proportion(np.ones((2, 2)), p_truth=0.5)
    for p in (0.0, -0.2, 1.2, float("nan")):
        with pytest.raises(ValueError, match="p_truth"):
            rr.estimate_proportion(np.array([0, 1]), p_truth=p)


@pytest.mark.parametrize("kwargs, match", [
    (dict(true_proportion=-0.1, n=10, p_truth=0.5), "true_proportion"),
    (dict(true_proportion=1.1, n=10, p_truth=0.5), "true_proportion"),
    (dict(true_proportion=0.5, n=0, p_truth=0.5), r"^n must"),
    (dict(true_proportion=0.5, n=2.5, p_truth=0.5), r"^n must"),
    (dict(true_proportion=0.5, n=10, p_truth=0.0), "p_truth"),
    (dict(true_proportion=0.5, n=10, p_truth=1.5), "p_truth"),
])
def test_estimator_std_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rr.estimator_std(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=0, p_truth=0.5), r"^n must"),
    (dict(n=-3, p_truth=0.5), r"^n must"),
    (dict(n=10, p_truth=0.0), "p_truth"),
    (dict(n=10, p_truth=-1.0), "p_truth"),
])
def test_rr_noise_std_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rr.rr_noise_std(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=0, epsilon=1.0), r"^n must"),
    (dict(n=1.5, epsilon=1.0), r"^n must"),
    (dict(n=10, epsilon=0.0), "epsilon"),
    (dict(n=10, epsilon=-1.0), "epsilon"),
])
def test_central_laplace_std_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rr.central_laplace_std(**kwargs)


def test_simulate_estimates_rejects_bad_input():
    with pytest.raises(ValueError, match="db"):
        rr.simulate_estimates(np.array([0, 5]), p_truth=0.5)
    with pytest.raises(ValueError, match="p_truth"):
        rr.simulate_estimates(np.array([0, 1]), p_truth=0.0)
    with pytest.raises(ValueError, match="n_trials"):
        rr.simulate_estimates(np.array([0, 1]), p_truth=0.5, n_trials=0)


def test_privacy_params_are_keyword_only():
    with pytest.raises(TypeError):
        rr.rr_epsilon(0.5)  # type: ignore[misc]
    with pytest.raises(TypeError):
        rr.randomize_responses(np.array([0, 1]), 0.5)  # type: ignore[misc]
    with pytest.raises(TypeError):
        rr.estimate_proportion(np.array([0, 1]), 0.5)  # type: ignore[misc]


# ----------------------------------------------------------------------------- numbers the lesson prints


def test_local_to_central_ratio_closed_form():
    # Derivation: with p = tanh(ε/2), sqrt(1 − p²) = sech(ε/2), so
    # rr_noise_std = sech(ε/2) / (2 tanh(ε/2) √n) = 1 / (2 √n sinh(ε/2)), and dividing by √2/(nε):
    # ratio = √(n/2) · (ε/2) / sinh(ε/2) ≤ √(n/2) (both errors grow like 1/ε; the gap comes from n).
    for n in (10, 100, 1000, 12345):
        for eps in (1e-4, 0.1, 0.5, math.log(3), 1.1, 2.0, 5.0, 10.0):
            p = rr.p_truth_for_epsilon(epsilon=eps)
            ratio = rr.rr_noise_std(n=n, p_truth=p) / rr.central_laplace_std(n=n, epsilon=eps)
            assert ratio == pytest.approx(math.sqrt(n / 2) * (eps / 2) / math.sinh(eps / 2), rel=1e-9)
            assert ratio <= math.sqrt(n / 2)
    # The lesson's numbers at n = 1000: 22.4 as ε → 0, 21.3 at ε = ln 3, 9.2 at ε = 5.
    ratio = lambda eps: (rr.rr_noise_std(n=1000, p_truth=rr.p_truth_for_epsilon(epsilon=eps))
                         / rr.central_laplace_std(n=1000, epsilon=eps))
    assert round(ratio(1e-6), 1) == 22.4
    assert round(ratio(math.log(3)), 1) == 21.3
    assert round(ratio(5.0), 1) == 9.2
    # "within 5 % of √(n/2) up to ε = ln 3": (ε/2)/sinh(ε/2) decreases in ε and is 0.951 at ln 3.
    assert all(ratio(eps) / math.sqrt(500) >= 0.95 for eps in np.linspace(1e-6, math.log(3), 50))


def test_worked_examples_and_printed_numbers():
    # Exercise 2: ln 3 ≈ 1.0986, ln 9 ≈ 2.1972 (p = 0.8: 1.8/0.2 = 9), 0.
    assert round(rr.rr_epsilon(p_truth=0.5), 4) == 1.0986
    assert round(rr.rr_epsilon(p_truth=0.8), 4) == round(math.log(9), 4) == 2.1972
    # Exercise 3: tanh(1/2) ≈ 0.4621.
    assert round(rr.p_truth_for_epsilon(epsilon=1.0), 4) == 0.4621
    # Exercise 4: (0.75 − 0.25)/0.5 = 1, (0.75 − 0.1)/0.8 = 0.8125, ten 1s at p = 1/2: 1.5.
    assert rr.estimate_proportion(np.array([1, 0, 1, 1]), p_truth=0.8) == pytest.approx(0.8125)
    assert rr.estimate_proportion(np.ones(10, dtype=int), p_truth=0.5) == pytest.approx(1.5)
    # Exercise 5: λ = 0.4, sd = sqrt(0.24/100)/0.5 ≈ 0.0980.
    assert round(rr.estimator_std(true_proportion=0.3, n=100, p_truth=0.5), 4) == 0.0980
    # Exercise 6: sqrt(0.75)/10 ≈ 0.0866. Exercise 7: √2/100 ≈ 0.01414; at ε = ln 3, 0.01287, 6.7 times smaller.
    assert round(rr.rr_noise_std(n=100, p_truth=0.5), 4) == 0.0866
    assert round(rr.central_laplace_std(n=100, epsilon=1.0), 5) == 0.01414
    central = rr.central_laplace_std(n=100, epsilon=math.log(3))
    assert round(central, 5) == 0.01287
    assert round(rr.rr_noise_std(n=100, p_truth=0.5) / central, 1) == 6.7
    # "What you learned": at ε = ln 3 local DP needs 58x (σ = 0.01) and 582x (σ = 0.001) the people.
    p, eps = 0.5, math.log(3)
    ratios = [math.ceil((1 - p**2) / (4 * p**2 * s**2)) / math.ceil(math.sqrt(2) / (eps * s)) for s in (0.01, 0.001)]
    assert [round(r) for r in ratios] == [58, 582]
    # Written question 1 (n = 500, fair coins): se ≈ 0.04; −0.02 + 1.96 se ≈ 0.056 -> the interval [0, 0.06].
    se = rr.rr_noise_std(n=500, p_truth=0.5)
    assert round(se, 2) == 0.04 and round(-0.02 + 1.96 * se, 2) == 0.06
    # Written question 2: 30 fair-coin answers, 30 ln 3 ≈ 33; the share of "yes" has sd sqrt(3/16/30) ≈ 0.08.
    assert round(30 * rr.rr_epsilon(p_truth=0.5)) == 33
    assert round(math.sqrt(0.75 * 0.25 / 30), 2) == 0.08


# ----------------------------------------------------------------------------- OpenDP cross-checks
# OpenDP's make_randomized_response_bool(prob) reports the true bit with probability prob, else its
# negation; ours reports the truth with probability p + (1 − p)/2, so prob = (1 + p)/2.

OPENDP_P = [0.0, 1e-3, 0.05, *np.round(np.linspace(0.1, 0.9, 17), 3).tolist(), 0.95, 0.99, 0.999, 0.9999]


@pytest.fixture(scope="module")
def dpm():
    """OpenDP's measurements (``dp.m`` after ``import opendp.prelude as dp``, which also loads scikit-learn)."""
    import opendp.measurements as dpm
    from opendp.mod import enable_features

    enable_features("contrib")
    return dpm


@pytest.mark.parametrize("p", OPENDP_P)
def test_opendp_epsilon_equals_rr_epsilon(dpm, p):
    meas = dpm.make_randomized_response_bool(prob=(1 + p) / 2)
    # The privacy unit is ours: one person's bit (discrete distance, d_in = 1), pure ε-DP.
    assert str(meas.input_metric) == "DiscreteDistance()"
    assert str(meas.output_measure) == "MaxDivergence"
    assert meas.map(d_in=0) == 0
    # OpenDP computes ln(prob / (1 − prob)) with every rounding towards +inf (inf_div, neg_inf_sub,
    # inf_ln), and prob = (1 + p)/2 is itself rounded to a float; the two differ by a few ulps
    # (at most 2.3e-14 relative for these p), so compare with a relative tolerance of 1e-9 (well within 1e-6).
    assert meas.map(d_in=1) == pytest.approx(rr.rr_epsilon(p_truth=p), rel=1e-9, abs=1e-12)


def test_opendp_epsilon_at_the_edges(dpm):
    # p = 1 (prob = 1): the truth, ε = ∞ in both; p < 0 would be prob < 1/2, which both reject.
    assert dpm.make_randomized_response_bool(prob=1.0).map(d_in=1) == math.inf == rr.rr_epsilon(p_truth=1.0)
    with pytest.raises(Exception):
        dpm.make_randomized_response_bool(prob=0.45)
    with pytest.raises(ValueError):
        rr.rr_epsilon(p_truth=-0.1)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_opendp_answers_have_our_distribution(dpm, p):
    # OpenDP's coins come from the OS's cryptographic generator (no seed), so this is a statistical
    # check: P(yes | x) within 5 standard errors of (1 ± p)/2, and within 5 standard errors of the
    # difference from our mechanism's share on the same number of people. A wrong mapping (prob = p)
    # misses by 9 (p = 0.9) to 22 (p = 0.5) standard errors.
    n = 1500
    meas = dpm.make_randomized_response_bool(prob=(1 + p) / 2)
    for bit, q in ((1, (1 + p) / 2), (0, (1 - p) / 2)):
        theirs = np.mean([meas(bool(bit)) for _ in range(n)])
        ours = rr.randomize_responses(np.full(n, bit), p_truth=p, rng=100 + bit).mean()
        se = math.sqrt(q * (1 - q) / n)
        assert _within(theirs, q, se), (bit, theirs, q)
        assert _within(theirs - ours, 0.0, se * math.sqrt(2)), (bit, theirs, ours)
