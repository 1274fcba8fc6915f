"""Tests for helpers.accounting: RDP of the Poisson-subsampled Gaussian and the (ε, δ) conversion.

Pinned numbers, cross-checks against Opacus and dp-accounting, an exact-integral check with
mpmath, a Monte Carlo check, composition, the noise-multiplier search and every ValueError.
"""
from __future__ import annotations

import logging
import math
import warnings

import numpy as np
import pytest

import helpers.accounting as acc
from helpers.accounting import (
    DEFAULT_ORDERS,
    RDPAccountant,
    epsilon,
    noise_multiplier,
    rdp_gaussian,
    rdp_subsampled_gaussian,
    rdp_to_epsilon,
)

MNIST_Q = 250 / 60000  # Abadi et al. 2016 / TF Privacy / Opacus MNIST example: n = 60000, batch 250
DELTA = 1e-5


# --------------------------------------------------------------------------------------------
# pinned values
# --------------------------------------------------------------------------------------------

# Source: TF Privacy's MNIST DP-SGD tutorial (classic RDP conversion, Mironov 2017 Prop. 3) and
# Opacus's RDPAccountant (improved conversion, Balle et al. 2020 Thm. 21), both with Opacus's
# default orders; reproduced with opacus.accountants.analysis.rdp 1.6.
@pytest.mark.parametrize(
    "steps, conversion, expected",
    [
        (720, "classic", 0.7904),  # 3 epochs
        (3600, "classic", 1.1799),  # 15 epochs
        (720, "improved", 0.5632),
        (3600, "improved", 0.9422),
    ],
)
def test_pinned_mnist(steps, conversion, expected):
    eps = epsilon(noise_multiplier=1.3, sample_rate=MNIST_Q, steps=steps, delta=DELTA, conversion=conversion)
    assert round(eps, 4) == expected


def test_pinned_large_sample_rate():
    # Source: Opacus RDPAccountant, sigma = 1.5, q = 0.04, 2250 steps, delta = 1e-5 (best order 3.9).
    eps = epsilon(noise_multiplier=1.5, sample_rate=0.04, steps=2250, delta=DELTA)
    assert round(eps, 4) == 7.3291


def test_default_orders_are_opacus_alphas():
    # Opacus 1.6: RDPAccountant.DEFAULT_ALPHAS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))
    assert list(DEFAULT_ORDERS) == [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))
    assert len(DEFAULT_ORDERS) == 151


# --------------------------------------------------------------------------------------------
# closed forms and special cases
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sigma", [0.5, 1.0, 1.3, 4.0])
def test_q_one_is_gaussian_mechanism(sigma):
    # Mironov 2017, Prop. 7: the Gaussian mechanism is (alpha, alpha / (2 sigma^2))-RDP.
    orders = np.array(DEFAULT_ORDERS)
    expected = orders / (2 * sigma**2)
    np.testing.assert_array_equal(rdp_subsampled_gaussian(noise_multiplier=sigma, sample_rate=1.0), expected)
    np.testing.assert_array_equal(rdp_gaussian(noise_multiplier=sigma, orders=orders), expected)


def test_q_close_to_one_approaches_gaussian():
    # Continuity of the general formula (integer and fractional orders) at q -> 1.
    orders = [1.5, 2.0, 3.7, 8.0]
    near = rdp_subsampled_gaussian(noise_multiplier=2.0, sample_rate=1 - 1e-9, orders=orders)
    np.testing.assert_allclose(near, np.array(orders) / 8.0, rtol=1e-6)


def test_special_cases():
    assert (rdp_subsampled_gaussian(noise_multiplier=1.0, sample_rate=0.0) == 0).all()
    assert np.isinf(rdp_subsampled_gaussian(noise_multiplier=0.0, sample_rate=0.01)).all()
    assert (rdp_subsampled_gaussian(noise_multiplier=0.0, sample_rate=0.0) == 0).all()
    assert np.isinf(rdp_gaussian(noise_multiplier=0.0)).all()
    assert np.isinf(rdp_subsampled_gaussian(noise_multiplier=1.0, sample_rate=0.01, orders=[np.inf]))[0]
    assert epsilon(noise_multiplier=1.0, sample_rate=0.01, steps=0, delta=DELTA) == 0.0
    assert epsilon(noise_multiplier=1.0, sample_rate=0.0, steps=100, delta=DELTA) == 0.0
    # no noise, no finite epsilon: a clear error rather than inf (the RDP curve itself is inf, above)
    with pytest.raises(ValueError, match="noise_multiplier must be > 0 to have an epsilon"):
        epsilon(noise_multiplier=0.0, sample_rate=0.01, steps=10, delta=DELTA)
    assert epsilon(noise_multiplier=0.0, sample_rate=0.01, steps=0, delta=DELTA) == 0.0  # nothing released
    a = RDPAccountant()
    a.step(noise_multiplier=0.0, sample_rate=0.01, steps=3)
    with pytest.raises(ValueError, match="noise_multiplier must be > 0"):
        a.get_epsilon(delta=DELTA)


def test_integer_order_two_closed_form():
    # Binomial expansion at alpha = 2: A_2 = (1-q)^2 + 2q(1-q) + q^2 e^{1/sigma^2} = 1 + q^2 (e^{1/sigma^2} - 1),
    # so rho(2) = log(1 + q^2 (e^{1/sigma^2} - 1)) (Mironov, Talwar & Zhang 2019, Sec. 3.3).
    for q, sigma in [(0.01, 1.0), (0.2, 0.7), (0.5, 3.0)]:
        got = rdp_subsampled_gaussian(noise_multiplier=sigma, sample_rate=q, orders=[2])[0]
        assert got == pytest.approx(math.log1p(q**2 * math.expm1(1 / sigma**2)), rel=1e-12)


def test_monotone_in_parameters():
    r = lambda s, q: rdp_subsampled_gaussian(noise_multiplier=s, sample_rate=q)  # noqa: E731
    assert (np.diff(r(1.0, 0.05)) > 0).all()  # rho increases with the order
    assert (r(1.0, 0.05) > r(2.0, 0.05)).all()  # more noise, less privacy loss
    assert (r(1.0, 0.05) > r(1.0, 0.01)).all()  # more sampling, more loss
    assert (r(1.0, 0.05) <= np.array(DEFAULT_ORDERS) / 2).all()  # subsampling never hurts


def test_exact_integral_with_mpmath():
    # Independent check by quadrature of the definition (Mironov, Talwar & Zhang 2019, Eq. 3):
    # A_alpha = E_{z ~ N(0, s^2)} [((1 - q) + q exp((2z - 1) / (2 s^2)))^alpha].
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 30
    for sigma, q, alpha in [(1.0, 0.05, 1.5), (0.6, 0.1, 1.1), (1.3, MNIST_Q, 18.0), (2.0, 0.2, 7.7), (1.0, 0.01, 2.5)]:
        s, qq, a = mp.mpf(sigma), mp.mpf(q), mp.mpf(alpha)
        f = lambda z: mp.npdf(z, 0, s) * ((1 - qq) + qq * mp.exp((2 * z - 1) / (2 * s**2))) ** a  # noqa: E731
        exact = float(mp.log(mp.quad(f, [-mp.inf, -50 * s, 0, 1, 50 * s, mp.inf])) / (a - 1))
        got = rdp_subsampled_gaussian(noise_multiplier=sigma, sample_rate=q, orders=[alpha])[0]
        assert got == pytest.approx(exact, rel=1e-8), (sigma, q, alpha)


def test_tiny_rdp_keeps_its_relative_precision():
    # Large sigma, tiny q: A_alpha = 1 + 1e-12, so log A_alpha must come from log1p of the small terms
    # (a plain log of their sum loses 1 % here). Values by quadrature of the definition (mpmath, 60 digits).
    got = rdp_subsampled_gaussian(noise_multiplier=5.320926524332897, sample_rate=1.1500921272335415e-05,
                                  orders=[1.01, 1.6, 3.0])
    assert got == pytest.approx([2.40145379564244e-12, 3.80428417979016e-12, 7.13303701561504e-12], rel=2e-7)


def test_signed_log_sum_exp_matches_scipy() -> None:
    # The series of fractional orders alternate in sign: the other terms may outweigh the largest one (the
    # sum then has the opposite sign), or cancel it; an all -inf row is an empty sum.
    from scipy.special import logsumexp

    from helpers.accounting import _logsumexp_rows

    rng = np.random.default_rng(0)
    x = rng.normal(0, 3, size=(200, 7))
    signs = rng.choice([-1.0, 1.0], size=x.shape)
    x[0], signs[0] = np.log([0.9, 0.9, 1.0, 1e-300, 1e-300, 1e-300, 1e-300]), [1, 1, -1, 1, 1, 1, 1]
    x[1], signs[1] = np.full(7, -np.inf), 1.0
    got, got_sign = _logsumexp_rows(x, signs)
    for row in range(x.shape[0]):
        want, want_sign = logsumexp(x[row], b=signs[row], return_sign=True)
        if row == 1:
            assert got[row] == -np.inf and got_sign[row] == 0
            continue
        assert got_sign[row] == want_sign, row
        assert got[row] == pytest.approx(want, rel=1e-9, abs=1e-12), row
    assert got[0] == pytest.approx(math.log(0.8)) and got_sign[0] == 1.0


def test_cached_rdp_curves_are_fresh_copies() -> None:
    # rdp_subsampled_gaussian is memoised (calibrations revisit the same sigmas): a caller that changes
    # the array it got must not change what the next caller gets.
    first = rdp_subsampled_gaussian(noise_multiplier=1.1, sample_rate=0.02)
    first[:] = -1.0
    again = rdp_subsampled_gaussian(noise_multiplier=1.1, sample_rate=0.02)
    assert (again > 0).all() and again is not first


def test_cached_binomials_cannot_be_changed():
    from helpers.accounting import _CACHED_CELLS, _binomials

    for n in (8, _CACHED_CELLS):  # a cached table and one computed afresh
        log_binom, sign = _binomials((1.5, 2.5), n)
        with pytest.raises(ValueError):
            log_binom[0, 0] = 1.0
        with pytest.raises(ValueError):
            sign[0, 0] = -1.0


def test_monte_carlo_moment():
    # A_alpha is an expectation under N(0, sigma^2); estimate it with 400k samples and compare within
    # 5 standard errors of the Monte Carlo mean (fixed seed).
    sigma, q, alpha = 1.0, 0.2, 2.5
    z = np.random.default_rng(0).normal(0.0, sigma, size=400_000)
    x = ((1 - q) + q * np.exp((2 * z - 1) / (2 * sigma**2))) ** alpha
    se = x.std(ddof=1) / math.sqrt(x.size)
    a_exact = math.exp((alpha - 1) * rdp_subsampled_gaussian(noise_multiplier=sigma, sample_rate=q, orders=[alpha])[0])
    assert abs(x.mean() - a_exact) < 5 * se


# --------------------------------------------------------------------------------------------
# conversion
# --------------------------------------------------------------------------------------------


def test_rdp_to_epsilon_formulas():
    orders = np.array([1.5, 2.0, 8.0, 32.0])
    rdp = np.array([0.01, 0.02, 0.1, 0.5])
    d = 1e-6
    classic = rdp + math.log(1 / d) / (orders - 1)  # Mironov 2017, Prop. 3
    improved = rdp + np.log((orders - 1) / orders) - (math.log(d) + np.log(orders)) / (orders - 1)  # Balle 2020
    e, a = rdp_to_epsilon(rdp, orders, delta=d, conversion="classic")
    assert e == pytest.approx(classic.min(), rel=1e-13) and a == orders[classic.argmin()]
    e, a = rdp_to_epsilon(rdp, orders, delta=d)
    assert e == pytest.approx(improved.min(), rel=1e-13) and a == orders[improved.argmin()]
    assert improved.min() < classic.min()


def test_rdp_to_epsilon_edge_cases():
    assert rdp_to_epsilon([np.inf, np.inf], [2, 3], delta=DELTA)[0] == math.inf
    assert math.isnan(rdp_to_epsilon([np.inf, np.inf], [2, 3], delta=DELTA)[1])
    # infinite RDP at some orders: they are skipped
    e, a = rdp_to_epsilon([np.inf, 0.1], [2, 30], delta=DELTA)
    assert a == 30 and math.isfinite(e)
    # alpha = inf: limit of both formulas is rho(inf)
    assert rdp_to_epsilon([5.0, 0.3], [2, np.inf], delta=DELTA, conversion="classic") == (0.3, math.inf)
    # zero RDP: identical output distributions
    assert rdp_to_epsilon([0.0, 0.0], [2, 3], delta=DELTA) == (0.0, 2.0)
    # rho <= -log(1 - delta^2): (0, delta)-DP from TV <= sqrt(1 - exp(-KL)) (as dp-accounting)
    assert rdp_to_epsilon([1e-12, 1e-12], [2, 3], delta=DELTA)[0] == 0.0  # delta^2 = 1e-10
    assert rdp_to_epsilon([1e-9, 1e-9], [2, 3], delta=DELTA)[0] > 0.0
    # never negative: here the improved formula gives 1.1e-8 - 1e-9 - log(1e5)/1e9 < 0
    assert rdp_to_epsilon([1.1e-8], [1e9], delta=1e-4)[0] == 0.0


def test_improved_never_worse_than_classic():
    rng = np.random.default_rng(7)
    for _ in range(20):
        s, q, t = rng.uniform(0.5, 5), rng.uniform(1e-3, 0.2), int(rng.integers(1, 5000))
        kw = dict(noise_multiplier=s, sample_rate=q, steps=t, delta=1e-5)
        assert epsilon(**kw) <= epsilon(**kw, conversion="classic")


# --------------------------------------------------------------------------------------------
# cross-checks with Opacus and dp-accounting
# --------------------------------------------------------------------------------------------


def _random_settings(n=40, seed=2024):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield (
            float(rng.uniform(0.5, 5.0)),  # sigma
            float(rng.uniform(1e-3, 0.2)),  # q
            int(rng.integers(1, 20001)),  # steps
            float(10 ** rng.uniform(-7, -3)),  # delta
        )


def test_matches_opacus():
    pytest.importorskip("opacus")
    from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent

    orders = list(DEFAULT_ORDERS)
    for sigma, q, steps, delta in _random_settings():
        ours = epsilon(noise_multiplier=sigma, sample_rate=q, steps=steps, delta=delta)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Opacus warns when the optimum is at the edge of the grid
            rdp = compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=orders)
            theirs, _ = get_privacy_spent(orders=orders, rdp=rdp, delta=delta)
        assert ours == pytest.approx(theirs, rel=0.01), (sigma, q, steps, delta)
        # in fact they agree to ~1e-10; Opacus's own series truncation is the limit
        assert ours == pytest.approx(theirs, rel=1e-6), (sigma, q, steps, delta)


def _dp_accounting_epsilon(sigma, q, steps, delta, orders):
    import dp_accounting
    from dp_accounting.rdp import RdpAccountant

    accountant = RdpAccountant(orders=list(orders))
    accountant.compose(dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps)
    return accountant.get_epsilon(delta)


def test_matches_dp_accounting():
    """Cross-check with dp_accounting.rdp.RdpAccountant.

    dp-accounting 0.6 computes the fractional-order series with |binomial| coefficients (it adds
    the alternating tail terms in absolute value, an upper bound on A_alpha: e.g. sigma = 1, q = 0.05,
    alpha = 1.5 gives rho = 0.003597 vs the exact 0.003054 from quadrature, which we and Opacus
    match) and drops orders whose series does not converge in 1000 terms. Its epsilon is therefore
    valid but loose when the best order is fractional (up to ~20% above ours for epsilon > 10).
    So: on the integer orders of the grid (exact binomial sums in both) we require 1% agreement
    (observed ~1e-12); on the full grid ours must never exceed theirs.
    """
    pytest.importorskip("dp_accounting")
    logging.getLogger("absl").setLevel(logging.ERROR)
    integer_orders = [a for a in DEFAULT_ORDERS if float(a).is_integer()]
    for sigma, q, steps, delta in _random_settings():
        ours = epsilon(noise_multiplier=sigma, sample_rate=q, steps=steps, delta=delta, orders=integer_orders)
        theirs = _dp_accounting_epsilon(sigma, q, steps, delta, integer_orders)
        assert ours == pytest.approx(theirs, rel=0.01), (sigma, q, steps, delta)
        full_ours = epsilon(noise_multiplier=sigma, sample_rate=q, steps=steps, delta=delta)
        full_theirs = _dp_accounting_epsilon(sigma, q, steps, delta, DEFAULT_ORDERS)
        assert full_ours <= full_theirs * (1 + 1e-9), (sigma, q, steps, delta)


def test_dp_accounting_mnist_pin():
    # Where the best order is an integer (MNIST, best order 17) dp-accounting agrees on the full grid.
    pytest.importorskip("dp_accounting")
    theirs = _dp_accounting_epsilon(1.3, MNIST_Q, 3600, DELTA, DEFAULT_ORDERS)
    assert round(theirs, 4) == 0.9422


# --------------------------------------------------------------------------------------------
# composition and the accountant
# --------------------------------------------------------------------------------------------


def test_heterogeneous_composition_is_sum():
    plan = [(1.0, 0.01, 100), (2.0, 0.05, 30), (1.0, 0.01, 50), (0.8, 0.002, 1)]
    a = RDPAccountant()
    for sigma, q, t in plan:
        a.step(noise_multiplier=sigma, sample_rate=q, steps=t)
    expected = sum(t * rdp_subsampled_gaussian(noise_multiplier=s, sample_rate=q) for s, q, t in plan)
    np.testing.assert_allclose(a.rdp, expected, rtol=1e-12)
    assert a.get_privacy_spent(delta=DELTA) == rdp_to_epsilon(expected, DEFAULT_ORDERS, delta=DELTA)
    assert a.get_epsilon(delta=DELTA, conversion="classic") == pytest.approx(
        rdp_to_epsilon(expected, DEFAULT_ORDERS, delta=DELTA, conversion="classic")[0]
    )
    assert len(a) == 181 and len(a.history) == 4


def test_accountant_step_by_step_matches_epsilon():
    a = RDPAccountant()
    for _ in range(720):
        a.step(noise_multiplier=1.3, sample_rate=MNIST_Q)
    assert a.history == [(1.3, MNIST_Q, 720)]  # consecutive identical steps are merged
    assert round(a.get_epsilon(delta=DELTA), 4) == 0.5632
    assert RDPAccountant().get_epsilon(delta=DELTA) == 0.0
    assert "RDPAccountant" in repr(a)


def test_accountant_matches_opacus_accountant():
    pytest.importorskip("opacus")
    from opacus.accountants import RDPAccountant as OpacusRDP

    ours, theirs = RDPAccountant(), OpacusRDP()
    for sigma, q in [(1.0, 0.01)] * 20 + [(2.0, 0.1)] * 5 + [(0.9, 0.004)] * 10:
        ours.step(noise_multiplier=sigma, sample_rate=q)
        theirs.step(noise_multiplier=sigma, sample_rate=q)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ours.get_epsilon(delta=1e-6) == pytest.approx(theirs.get_epsilon(delta=1e-6), rel=1e-8)


# --------------------------------------------------------------------------------------------
# noise multiplier search
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target, q, steps, conversion",
    [(1.0, MNIST_Q, 3600, "improved"), (8.0, 0.04, 2250, "improved"), (3.0, 0.01, 1000, "classic")],
)
def test_noise_multiplier_round_trip(target, q, steps, conversion):
    kw = dict(sample_rate=q, steps=steps, delta=DELTA, conversion=conversion)
    sigma = noise_multiplier(target_epsilon=target, **kw)
    assert epsilon(noise_multiplier=sigma, **kw) <= target
    assert epsilon(noise_multiplier=sigma - 1e-3, **kw) > target


def test_noise_multiplier_known_value():
    # 15 epochs of MNIST at eps 0.9422 needs sigma = 1.3 (pinned above), up to tol.
    sigma = noise_multiplier(target_epsilon=0.9422, delta=DELTA, sample_rate=MNIST_Q, steps=3600, tol=1e-4)
    assert sigma == pytest.approx(1.3, abs=2e-4)


def test_noise_multiplier_trivial_cases():
    assert noise_multiplier(target_epsilon=1.0, delta=DELTA, sample_rate=0.01, steps=0) == 0.0
    assert noise_multiplier(target_epsilon=1.0, delta=DELTA, sample_rate=0.0, steps=10) == 0.0


def test_noise_multiplier_infinite_target_says_what_is_wrong():
    # before: "target_epsilon must be > 0, got inf", which is true of inf and tells nothing
    with pytest.raises(ValueError, match="target_epsilon must be finite, got inf: ε = ∞ is no privacy"):
        noise_multiplier(target_epsilon=math.inf, delta=DELTA, sample_rate=0.01, steps=100)


def test_noise_multiplier_unreachable():
    # With orders <= 63 and delta = 1e-5 even sigma -> inf leaves epsilon >= ~0.1.
    with pytest.raises(ValueError, match="target_epsilon.*unreachable"):
        noise_multiplier(target_epsilon=0.01, delta=DELTA, sample_rate=0.01, steps=100)


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------

GOOD = dict(noise_multiplier=1.0, sample_rate=0.01, steps=10, delta=DELTA)


@pytest.mark.parametrize(
    "fn, kwargs, name",
    [
        (rdp_subsampled_gaussian, dict(noise_multiplier=-1.0, sample_rate=0.1), "noise_multiplier"),
        (rdp_subsampled_gaussian, dict(noise_multiplier=float("nan"), sample_rate=0.1), "noise_multiplier"),
        (rdp_subsampled_gaussian, dict(noise_multiplier=1.0, sample_rate=1.5), "sample_rate"),
        (rdp_subsampled_gaussian, dict(noise_multiplier=1.0, sample_rate=-0.1), "sample_rate"),
        (rdp_subsampled_gaussian, dict(noise_multiplier=1.0, sample_rate=0.1, orders=[0.5, 2]), "orders"),
        (rdp_subsampled_gaussian, dict(noise_multiplier=1.0, sample_rate=0.1, orders=[1.0]), "orders"),
        (rdp_subsampled_gaussian, dict(noise_multiplier=1.0, sample_rate=0.1, orders=[]), "orders"),
        (rdp_subsampled_gaussian, dict(noise_multiplier=1.0, sample_rate=0.1, orders=[np.nan]), "orders"),
        (rdp_subsampled_gaussian, dict(noise_multiplier=1.0, sample_rate=0.1, orders=[[2, 3]]), "orders"),
        (rdp_subsampled_gaussian, dict(noise_multiplier=1.0, sample_rate=0.1, orders=["a"]), "orders"),
        (rdp_gaussian, dict(noise_multiplier=-0.5), "noise_multiplier"),
        (rdp_gaussian, dict(noise_multiplier=1.0, orders=[1]), "orders"),
        (epsilon, {**GOOD, "noise_multiplier": -1.0}, "noise_multiplier"),
        (epsilon, {**GOOD, "sample_rate": 2.0}, "sample_rate"),
        (epsilon, {**GOOD, "steps": -1}, "steps"),
        (epsilon, {**GOOD, "steps": 2.5}, "steps"),
        (epsilon, {**GOOD, "steps": True}, "steps"),
        (epsilon, {**GOOD, "delta": 0.0}, "delta"),
        (epsilon, {**GOOD, "delta": 1.0}, "delta"),
        (epsilon, {**GOOD, "conversion": "tight"}, "conversion"),
        (epsilon, {**GOOD, "orders": [1.0, 2.0]}, "orders"),
        (noise_multiplier, dict(target_epsilon=0.0, delta=DELTA, sample_rate=0.01, steps=10), "target_epsilon"),
        (noise_multiplier, dict(target_epsilon=-1.0, delta=DELTA, sample_rate=0.01, steps=10), "target_epsilon"),
        (noise_multiplier, dict(target_epsilon=1.0, delta=2.0, sample_rate=0.01, steps=10), "delta"),
        (noise_multiplier, dict(target_epsilon=1.0, delta=DELTA, sample_rate=1.01, steps=10), "sample_rate"),
        (noise_multiplier, dict(target_epsilon=1.0, delta=DELTA, sample_rate=0.01, steps=-3), "steps"),
        (noise_multiplier, dict(target_epsilon=1.0, delta=DELTA, sample_rate=0.01, steps=10, tol=0.0), "tol"),
        (
            noise_multiplier,
            dict(target_epsilon=1.0, delta=DELTA, sample_rate=0.01, steps=10, conversion="x"),
            "conversion",
        ),
    ],
)
def test_value_errors(fn, kwargs, name):
    with pytest.raises(ValueError, match=name):
        fn(**kwargs)


@pytest.mark.parametrize(
    "rdp, orders, kwargs, name",
    [
        ([0.1, 0.2], [2, 3], dict(delta=0.0), "delta"),
        ([0.1, 0.2], [2, 3], dict(delta=-1e-5), "delta"),
        ([0.1, 0.2], [2, 3], dict(delta=DELTA, conversion="rough"), "conversion"),
        ([0.1, 0.2], [1, 3], dict(delta=DELTA), "orders"),
        ([0.1, 0.2], [2, 3, 4], dict(delta=DELTA), "same length"),
        ([0.1, np.nan], [2, 3], dict(delta=DELTA), "rdp"),
        ([0.1, -0.2], [2, 3], dict(delta=DELTA), "rdp"),
        (["x", 0.2], [2, 3], dict(delta=DELTA), "rdp"),
    ],
)
def test_rdp_to_epsilon_value_errors(rdp, orders, kwargs, name):
    with pytest.raises(ValueError, match=name):
        rdp_to_epsilon(rdp, orders, **kwargs)


def test_accountant_value_errors():
    a = RDPAccountant()
    with pytest.raises(ValueError, match="noise_multiplier"):
        a.step(noise_multiplier=-1.0, sample_rate=0.1)
    with pytest.raises(ValueError, match="sample_rate"):
        a.step(noise_multiplier=1.0, sample_rate=1.1)
    with pytest.raises(ValueError, match="steps"):
        a.step(noise_multiplier=1.0, sample_rate=0.1, steps=-1)
    with pytest.raises(ValueError, match="delta"):
        a.get_epsilon(delta=1.5)
    with pytest.raises(ValueError, match="conversion"):
        a.get_epsilon(delta=DELTA, conversion="nope")
    with pytest.raises(ValueError, match="orders"):
        RDPAccountant(orders=[0.9, 2.0])
    a.step(noise_multiplier=1.0, sample_rate=0.1, steps=0)  # a no-op, allowed
    assert a.history == []


def test_module_is_numpy_only():
    # helpers/__init__ star-imports this module eagerly: no torch / opacus / dp_accounting at import.
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(acc))
    imported = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            imported |= {n.name.split(".")[0] for n in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert imported <= {"__future__", "functools", "math", "typing", "numpy", "scipy"}
    assert set(acc.__all__) == {
        "DEFAULT_ORDERS", "rdp_gaussian", "rdp_subsampled_gaussian", "rdp_to_epsilon",
        "epsilon", "noise_multiplier", "RDPAccountant",
    }


# --------------------------------------------------------------------------------------------
# numbers lesson 05 states in its text
# --------------------------------------------------------------------------------------------


def test_lesson05_pld_and_prv_of_the_mnist_setting():
    # "PLD or PRV give ≈ 0.86" for sigma 1.3, q = 250/60000, 15 epochs, delta 1e-5 (RDP: 1.18 classic, 0.94 improved,
    # pinned above): dp_accounting's PLD accountant and Opacus's PRV accountant, as the lesson calls them.
    pytest.importorskip("dp_accounting")
    pytest.importorskip("opacus")
    import dp_accounting
    from dp_accounting.pld import pld_privacy_accountant
    from opacus.accountants import PRVAccountant

    pld = pld_privacy_accountant.PLDAccountant(value_discretization_interval=1e-3)
    pld.compose(dp_accounting.PoissonSampledDpEvent(MNIST_Q, dp_accounting.GaussianDpEvent(1.3)), 3600)
    prv = PRVAccountant()
    prv.history = [(1.3, MNIST_Q, 3600)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for eps in (pld.get_epsilon(DELTA), prv.get_epsilon(delta=DELTA, eps_error=0.01)):
            assert round(eps, 2) == 0.86, eps


def test_lesson05_overflow_example():
    # Exercise 6: "at sigma = 0.8, alpha = 64 the last exponent is (64^2 - 64) / (2 * 0.8^2) = 3150, and exp overflows
    # past about 709"
    assert (64**2 - 64) / (2 * 0.8**2) == pytest.approx(3150, rel=1e-12)
    assert math.log(np.finfo(np.float64).max) == pytest.approx(709.78, abs=0.01)
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(np.float64(3150)))


LESSON_ORDERS = np.arange(2, 65)  # the integer orders lesson 05 uses for its plots and train_dp


def test_lesson05_budget_plot_claims():
    # The text under the budget slider: at the default (sigma 1, batch 256 of 60,000) epsilon is about 1 after one
    # epoch and grows slowly at first; the sqrt(T) regime holds over tens of epochs.
    q = 256 / 60_000

    def eps(epochs):
        return epsilon(noise_multiplier=1.0, sample_rate=q, steps=round(epochs / q), delta=DELTA, orders=LESSON_ORDERS)

    assert 0.9 < eps(1) < 1.1
    assert eps(10) / eps(1) < 1.6  # far below sqrt(10) = 3.16: not the sqrt regime yet
    assert eps(100) / eps(10) == pytest.approx(math.sqrt(10), rel=0.1)  # the sqrt regime


def test_lesson05_integer_orders_match_opacus():
    # the plots and train_dp use integer orders 2..64; Opacus's RDP analysis at the same orders agrees
    pytest.importorskip("opacus")
    from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent

    rng = np.random.default_rng(5)
    orders = [float(a) for a in LESSON_ORDERS]
    for _ in range(20):
        sigma, q, steps = float(rng.uniform(0.5, 5)), float(256 / rng.integers(5_000, 100_001)), int(rng.integers(1, 30_000))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs, _ = get_privacy_spent(orders=orders, rdp=compute_rdp(q=q, noise_multiplier=sigma, steps=steps,
                                                                         orders=orders), delta=DELTA)
        assert epsilon(noise_multiplier=sigma, sample_rate=q, steps=steps, delta=DELTA, orders=LESSON_ORDERS) == \
            pytest.approx(theirs, rel=1e-6)
