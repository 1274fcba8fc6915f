"""Tests for helpers.composition (lesson 03): composition theorems and the budget accountant."""
from __future__ import annotations

import math

import numpy as np
import pytest

import helpers as H
from helpers import composition as C


def test_all_exported_and_reexported():
    for name in C.__all__:
        assert getattr(H, name) is getattr(C, name)


# ----------------------------------------------------------------------------- basic and parallel


def test_sequential_composition():
    # Dwork & Roth 2014, Thm 3.16: (Σε, Σδ)
    assert C.sequential_composition([0.1, 0.2, 0.3]) == pytest.approx((0.6, 0.0))
    eps, delta = C.sequential_composition([0.5, 1.0], [1e-6, 2e-6])
    assert eps == pytest.approx(1.5) and delta == pytest.approx(3e-6)
    assert C.sequential_composition([0.1] * 10)[0] == pytest.approx(1.0, rel=1e-15)  # fsum, no drift
    assert C.sequential_composition(np.array([0.25, 0.25])) == (0.5, 0.0)


def test_parallel_composition():
    # McSherry 2009: disjoint subsets → max
    assert C.parallel_composition([0.1, 0.7, 0.3]) == (0.7, 0.0)
    assert C.parallel_composition([0.1, 0.7], [1e-5, 1e-7]) == (0.7, 1e-5)


# ----------------------------------------------------------------------------- advanced


def test_advanced_composition_formula():
    # ε' = √(2k ln(1/δ')) ε + k ε (e^ε − 1), δ_total = kδ + δ' (Dwork & Roth 2014, Thm 3.20)
    eps, delta, k, dp = 0.1, 1e-7, 100, 1e-5
    expected = math.sqrt(2 * k * math.log(1 / dp)) * eps + k * eps * (math.exp(eps) - 1)
    got = C.advanced_composition(epsilon=eps, delta=delta, k=k, delta_prime=dp)
    assert got[0] == pytest.approx(expected, rel=1e-12)
    assert got[1] == pytest.approx(k * delta + dp, rel=1e-12)


def test_advanced_composition_pinned_numbers():
    # √(200 ln 1e5)·0.1 + 100·0.1·(e^0.1 − 1) = 4.79852... + 1.05171... = 5.85023...
    eps_total, delta_total = C.advanced_composition(epsilon=0.1, delta=0.0, k=100, delta_prime=1e-5)
    assert eps_total == pytest.approx(5.8502350929445575, rel=1e-12)
    assert delta_total == 1e-5
    # k = 1 is worse than the mechanism itself: √(2 ln(1/δ')) ε + ε(e^ε − 1)
    one, _ = C.advanced_composition(epsilon=1.0, delta=0.0, k=1, delta_prime=1e-5)
    assert one == pytest.approx(math.sqrt(2 * math.log(1e5)) + math.e - 1, rel=1e-12)


def test_advanced_beats_basic_only_for_many_small_queries():
    small = C.advanced_composition(epsilon=0.01, delta=0.0, k=10_000, delta_prime=1e-6)[0]
    assert small < C.sequential_composition([0.01] * 10_000)[0]  # ≈ 5.3 + 1.0 vs 100
    large = C.advanced_composition(epsilon=1.0, delta=0.0, k=10, delta_prime=1e-6)[0]
    assert large > 10.0  # basic composition is better here


def test_advanced_composition_numbers_of_lesson_03():
    # ε = 0.05, δ' = 1e-6: the √k term and the linear term at k = 10⁴ (26.28 + 25.64 = 51.92, against
    # 500 for basic composition); advanced beats basic from k = 31 on (solve √(2k ln(1/δ')) ε + kε(e^ε − 1)
    # < kε); the √k term dominates while k < 2 ln(1/δ')/(e^ε − 1)² = 10,511.
    eps, dp = 0.05, 1e-6
    total, _ = C.advanced_composition(epsilon=eps, delta=0.0, k=10_000, delta_prime=dp)
    sqrt_term = math.sqrt(2 * 10_000 * math.log(1 / dp)) * eps
    linear_term = 10_000 * eps * math.expm1(eps)
    assert total == pytest.approx(sqrt_term + linear_term, rel=1e-12)
    assert (round(total, 1), round(sqrt_term, 1), round(linear_term, 1)) == (51.9, 26.3, 25.6)
    better = [k for k in range(1, 200) if C.advanced_composition(epsilon=eps, delta=0.0, k=k, delta_prime=dp)[0] < k * eps]
    assert better[0] == 31 and better == list(range(31, 200))
    boundary = 2 * math.log(1 / dp) / math.expm1(eps) ** 2
    assert round(boundary) == 10_511
    for k in (100, 1000, 10_000):
        # below the boundary the √k term is the larger one; at the boundary they are equal
        assert math.sqrt(2 * k * math.log(1 / dp)) * eps >= k * eps * math.expm1(eps)
    k = 20_000
    assert math.sqrt(2 * k * math.log(1 / dp)) * eps < k * eps * math.expm1(eps)


# ----------------------------------------------------------------------------- accountant


def test_budget_accountant_spends_and_refuses():
    acct = C.BudgetAccountant(epsilon_budget=1.0)
    acct.spend(epsilon=0.4, label="count")
    acct.spend(epsilon=0.5, label="sum")
    assert acct.spent == pytest.approx((0.9, 0.0))
    assert acct.remaining[0] == pytest.approx(0.1)
    with pytest.raises(C.BudgetExceededError, match="mean"):
        acct.spend(epsilon=0.2, label="mean")
    # nothing was spent by the refused query
    assert acct.spent == pytest.approx((0.9, 0.0))
    assert [s.label for s in acct.history] == ["count", "sum"]
    acct.spend(epsilon=0.1, label="last")  # exactly exhausting the budget is allowed
    assert acct.remaining == (0.0, 0.0)
    assert isinstance(C.BudgetExceededError("x"), ValueError)


def test_budget_accountant_float_slack():
    acct = C.BudgetAccountant(epsilon_budget=0.3)
    for _ in range(3):
        acct.spend(epsilon=0.1)  # 0.1 + 0.1 + 0.1 = 0.30000000000000004 must still fit
    with pytest.raises(C.BudgetExceededError):
        acct.spend(epsilon=1e-6)


def test_budget_accountant_delta():
    acct = C.BudgetAccountant(epsilon_budget=2.0, delta_budget=1e-5)
    acct.spend(epsilon=0.5, delta=6e-6)
    with pytest.raises(C.BudgetExceededError):
        acct.spend(epsilon=0.5, delta=6e-6)
    pure = C.BudgetAccountant(epsilon_budget=2.0)
    with pytest.raises(C.BudgetExceededError):
        pure.spend(epsilon=0.1, delta=1e-9)
    assert pure.can_spend(epsilon=0.1) and not pure.can_spend(epsilon=0.1, delta=1e-9)


@pytest.mark.parametrize("call, example", [
    (lambda: C.BudgetAccountant(1.0), "BudgetAccountant(epsilon_budget="),
    (lambda: C.BudgetAccountant(1.0, 1e-5), "BudgetAccountant(epsilon_budget="),
    (lambda: C.BudgetAccountant(epsilon_budget=1.0).spend(0.1), "acct.spend(epsilon="),
    (lambda: C.BudgetAccountant(epsilon_budget=1.0, delta_budget=1e-5).spend(0.1, 1e-6), "acct.spend(epsilon="),
    (lambda: C.BudgetAccountant(epsilon_budget=1.0).can_spend(0.1), "acct.can_spend(epsilon="),
])
def test_budget_accountant_privacy_parameters_are_keyword_only(call, example):
    """The course's rule: privacy parameters by keyword; a positional call says how to write it."""
    with pytest.raises(TypeError, match="by keyword only") as info:
        call()
    assert example in str(info.value)


def test_budget_accountant_signatures_show_the_keywords():
    import inspect

    for method in (C.BudgetAccountant.__init__, C.BudgetAccountant.spend, C.BudgetAccountant.can_spend):
        params = list(inspect.signature(method).parameters.values())[1:]
        assert params and all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params), (method, params)


def test_budget_accountant_laplace_and_gaussian():
    acct = C.BudgetAccountant(epsilon_budget=1.0, delta_budget=1e-5)
    got = acct.laplace(10.0, sensitivity=1, epsilon=0.5, rng=3, label="q1")
    assert got == H.laplace_mechanism(10.0, sensitivity=1, epsilon=0.5, rng=3)
    g = acct.gaussian(np.zeros(3), sensitivity=1, epsilon=0.4, delta=1e-5, rng=1)
    assert g.shape == (3,)
    assert acct.spent == pytest.approx((0.9, 1e-5))
    with pytest.raises(C.BudgetExceededError):
        acct.laplace(10.0, sensitivity=1, epsilon=0.5, rng=3)
    # invalid arguments are rejected before anything is spent
    with pytest.raises(ValueError):
        acct.laplace(np.nan, sensitivity=1, epsilon=0.05)
    with pytest.raises(ValueError):
        acct.laplace(1.0, sensitivity=-1, epsilon=0.05)
    assert len(acct.history) == 2
    assert "0.9" in repr(acct)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("call", [
    lambda: C.sequential_composition([]),
    lambda: C.sequential_composition(0.5),
    lambda: C.sequential_composition([0.5, -0.1]),
    lambda: C.sequential_composition([0.5, 0.0]),
    lambda: C.sequential_composition([0.5], [1e-5, 1e-5]),
    lambda: C.sequential_composition([0.5], [1.0]),
    lambda: C.sequential_composition([0.5], 1e-5),
    lambda: C.parallel_composition([float("nan")]),
    lambda: C.parallel_composition([0.1], [-1e-5]),
    lambda: C.advanced_composition(epsilon=0, delta=0, k=10, delta_prime=1e-5),
    lambda: C.advanced_composition(epsilon=0.1, delta=1.0, k=10, delta_prime=1e-5),
    lambda: C.advanced_composition(epsilon=0.1, delta=-1e-9, k=10, delta_prime=1e-5),
    lambda: C.advanced_composition(epsilon=0.1, delta=0, k=0, delta_prime=1e-5),
    lambda: C.advanced_composition(epsilon=0.1, delta=0, k=2.5, delta_prime=1e-5),
    lambda: C.advanced_composition(epsilon=0.1, delta=0, k=10, delta_prime=0),
    lambda: C.advanced_composition(epsilon=0.1, delta=0, k=10, delta_prime=1),
    lambda: C.BudgetAccountant(epsilon_budget=0),
    lambda: C.BudgetAccountant(epsilon_budget=1.0, delta_budget=1.0),
    lambda: C.BudgetAccountant(epsilon_budget=1.0, delta_budget=-0.1),
    lambda: C.BudgetAccountant(epsilon_budget=1.0).spend(epsilon=0),
    lambda: C.BudgetAccountant(epsilon_budget=1.0).spend(epsilon=0.1, delta=2),
])
def test_value_errors(call):
    with pytest.raises(ValueError):
        call()
