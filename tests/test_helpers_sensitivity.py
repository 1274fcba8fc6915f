"""Tests for helpers.sensitivity (lesson 01): empirical vs global sensitivity, differencing.

The global sensitivities are checked two ways: against their closed forms (Dwork & Roth 2014,
§3.3; derivations in the docstrings) and by brute force — the maximum of the empirical
sensitivity over *every* database of a small size, whose values lie at the bounds.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from helpers.databases import make_database
from helpers.sensitivity import (
    count_sensitivity,
    differencing_attack,
    empirical_sensitivity,
    histogram_sensitivity,
    max_sensitivity,
    mean_sensitivity,
    sum_sensitivity,
    threshold_sensitivity,
)


def _all_databases(n, values=(0, 1)):
    return [np.array(row) for row in itertools.product(values, repeat=n)]


def _brute_global(query, n, neighbours, values=(0, 1), norm=1):
    return max(empirical_sensitivity(query, db, neighbours=neighbours, norm=norm) for db in _all_databases(n, values))


# ----------------------------------------------------------------------------- empirical sensitivity


def test_empirical_docstring_examples():
    assert empirical_sensitivity(np.sum, np.array([1, 0, 1])) == 1.0
    assert empirical_sensitivity(np.sum, np.array([0, 0, 0])) == 0.0
    assert empirical_sensitivity(np.sum, np.array([0, 0, 0]), neighbours="replace") == 1.0


def test_empirical_sum_remove_is_one_iff_someone_has_a_one():
    for seed in range(20):
        db = make_database(12, p=0.2, rng=seed)
        assert empirical_sensitivity(np.sum, db) == float(db.any())


def test_empirical_mean_matches_hand_computation():
    db = np.array([0.0, 10.0, 4.0, 6.0])
    # mean(D) - mean(D_-i) = (x_i - mean(D_-i)) / n, largest for x_i = 0: |0 - 20/3| / 4
    assert empirical_sensitivity(np.mean, db) == pytest.approx(abs(0 - 20 / 3) / 4)


def test_empirical_max_is_zero_when_maximum_is_tied():
    assert empirical_sensitivity(np.max, np.array([1, 1, 0, 0])) == 0.0
    assert empirical_sensitivity(np.max, np.array([1, 0, 0, 0])) == 1.0


@pytest.mark.parametrize("t", [2, 4, 6])
def test_threshold_empirical_is_one_only_at_the_boundary(t):
    # remove-one: 1[sum > t] can only drop, from 1 to 0, when sum(D) == t + 1.
    query = lambda d: float(d.sum() > t)  # noqa: E731
    for db in _all_databases(8):
        expected = 1.0 if db.sum() == t + 1 else 0.0
        assert empirical_sensitivity(query, db) == expected
        # replace-one: flipping a bit can cross the boundary from either side
        expected_rep = 1.0 if db.sum() in (t, t + 1) else 0.0
        assert empirical_sensitivity(query, db, neighbours="replace") == expected_rep


def test_vector_query_norms():
    hist = lambda d: np.bincount(d, minlength=2)  # noqa: E731
    db = np.array([0, 1, 1, 0, 1])
    assert empirical_sensitivity(hist, db, neighbours="remove", norm=1) == 1.0
    assert empirical_sensitivity(hist, db, neighbours="replace", norm=1) == 2.0
    assert empirical_sensitivity(hist, db, neighbours="replace", norm=2) == pytest.approx(math.sqrt(2))
    assert empirical_sensitivity(hist, db, neighbours="replace", norm=np.inf) == 1.0


def test_empirical_never_exceeds_global_on_random_databases():
    rng = np.random.default_rng(0)
    for _ in range(30):
        n = int(rng.integers(2, 40))
        db = make_database(n, p=float(rng.uniform()), rng=rng)
        for nb in ("remove", "replace"):
            assert empirical_sensitivity(np.sum, db, neighbours=nb) <= sum_sensitivity(lower=0, upper=1, neighbours=nb)
            assert empirical_sensitivity(np.mean, db, neighbours=nb) <= mean_sensitivity(n=n, lower=0, upper=1, neighbours=nb) + 1e-12
            assert empirical_sensitivity(np.max, db, neighbours=nb) <= max_sensitivity(lower=0, upper=1, neighbours=nb)


# ----------------------------------------------------------------------------- global sensitivity = brute-force max


@pytest.mark.parametrize("neighbours", ["remove", "replace"])
@pytest.mark.parametrize("n", [2, 3, 6])
def test_global_sensitivities_of_bit_queries_equal_brute_force(neighbours, n):
    assert _brute_global(np.sum, n, neighbours) == sum_sensitivity(lower=0, upper=1, neighbours=neighbours) == 1.0
    assert _brute_global(np.sum, n, neighbours) == count_sensitivity(neighbours=neighbours)
    # the mean: see test_mean_sensitivity_is_the_brute_force_maximum_over_every_size (remove-one needs every size)
    assert _brute_global(np.max, n, neighbours) == max_sensitivity(lower=0, upper=1, neighbours=neighbours)
    thr = lambda d: float(d.sum() > 1)  # noqa: E731
    assert _brute_global(thr, n, neighbours) == threshold_sensitivity(neighbours=neighbours)
    hist = lambda d: np.bincount(d, minlength=2)  # noqa: E731
    assert _brute_global(hist, n, neighbours) == histogram_sensitivity(neighbours=neighbours)


@pytest.mark.parametrize("lower, upper", [(-2.0, 3.0), (1.0, 5.0), (-4.0, -1.0)])
def test_remove_one_bounded_queries_equal_brute_force(lower, upper):
    # The extreme databases use only the bounds, so enumerating {lower, upper}^n attains the maximum.
    n = 5
    assert _brute_global(np.sum, n, "remove", values=(lower, upper)) == sum_sensitivity(lower=lower, upper=upper, neighbours="remove")
    assert _brute_global(np.max, n, "remove", values=(lower, upper)) == max_sensitivity(lower=lower, upper=upper)


def test_closed_forms():
    # Dwork & Roth 2014 §3.3 and the derivations in the docstrings.
    assert sum_sensitivity(lower=-2, upper=3, neighbours="remove") == 3.0  # max(|lower|, |upper|)
    assert sum_sensitivity(lower=-2, upper=3, neighbours="replace") == 5.0  # upper - lower
    assert sum_sensitivity(lower=0, upper=100) == 100.0
    assert mean_sensitivity(n=50, lower=0, upper=100, neighbours="replace") == 2.0  # (upper - lower) / n
    assert mean_sensitivity(n=50, lower=0, upper=100) == 2.0  # replace-one is the default
    assert mean_sensitivity(n=50, lower=0, upper=100, neighbours="remove") == 50.0  # (upper - lower) / 2, any n
    assert mean_sensitivity(n=1, lower=0, upper=1, neighbours="remove") == 0.5
    assert mean_sensitivity(n=1, lower=0, upper=1, neighbours="replace") == 1.0
    assert isinstance(mean_sensitivity(n=3, lower=0, upper=1), float)
    assert max_sensitivity(lower=18, upper=90, neighbours="replace") == 72.0
    assert histogram_sensitivity(neighbours="remove") == 1.0
    assert histogram_sensitivity(neighbours="replace") == 2.0
    assert count_sensitivity() == 1.0 and threshold_sensitivity(neighbours="replace") == 1.0


def _mean_change_replace(db, values):
    """Largest change of the mean when one row of db is replaced by any of ``values``."""
    best = 0.0
    for i in range(db.size):
        for v in values:
            other = db.astype(float)
            other[i] = v
            best = max(best, abs(db.mean() - other.mean()))
    return best


# Every database of every size 1..K with values in a small set that contains both bounds (the extreme
# databases use only the bounds, so the maximum over the set is the maximum over [lower, upper]).
MEAN_VALUE_SETS = [
    ((0, 1), 0.0, 1.0, 7),                # bits
    ((-2.0, 0.5, 3.0), -2.0, 3.0, 5),     # bounds of both signs, a value inside
    ((1.0, 2.0, 5.0), 1.0, 5.0, 5),
    ((-4.0, -3.0, -1.0), -4.0, -1.0, 5),
]


@pytest.mark.parametrize("values, lower, upper, K", MEAN_VALUE_SETS)
def test_mean_sensitivity_is_the_brute_force_maximum_over_every_size(values, lower, upper, K):
    # replace-one: the size n is public, so the maximum runs over databases of that one size.
    for n in range(1, K + 1):
        if values == (0, 1):   # for bits the replace-one neighbours are the flipped bits
            brute = max(empirical_sensitivity(np.mean, db, neighbours="replace") for db in _all_databases(n))
        else:
            brute = max(_mean_change_replace(db, values) for db in _all_databases(n, values))
        assert brute == pytest.approx(mean_sensitivity(n=n, lower=lower, upper=upper, neighbours="replace"))
        assert brute == pytest.approx((upper - lower) / n)
    # remove-one: neighbours of every size count. Every pair is a database of m >= 2 rows and one of its
    # removals (a database of one row has only additions, i.e. it is the removal of a 2-row one), so the
    # global value is the maximum of the empirical remove-one sensitivity over every size m >= 2.
    by_size = {m: max(empirical_sensitivity(np.mean, db) for db in _all_databases(m, values)) for m in range(2, K + 1)}
    for m, worst in by_size.items():
        assert worst == pytest.approx((upper - lower) / m)   # restricted to size m: the "fixed-n" bound
    overall = max(by_size.values())
    assert overall == pytest.approx((upper - lower) / 2)      # attained at m = 2, [lower, upper] -> [lower]
    for n in range(1, K + 1):                                 # whatever the size of the database at hand
        assert mean_sensitivity(n=n, lower=lower, upper=upper, neighbours="remove") == pytest.approx(overall)


def test_remove_one_fixed_n_value_is_not_a_global_bound():
    # (upper - lower) / n from the database's own n fails for a smaller database and its neighbour:
    # [lower, upper] and [lower] are remove-one neighbours whose means differ by (upper - lower) / 2.
    lower, upper = 0.0, 100.0
    two, one = np.array([lower, upper]), np.array([lower])
    change = abs(two.mean() - one.mean())
    assert change == 50.0 == mean_sensitivity(n=20, lower=lower, upper=upper, neighbours="remove")
    for n in range(3, 30):
        assert change > (upper - lower) / n


def test_mean_laplace_release_is_epsilon_dp_at_the_worst_pair():
    # The guarantee in the docstring, at the worst remove-one pair: with Laplace noise of scale
    # Δ/ε, the log density ratio of the two releases is |mean(D) - mean(D')| / (Δ/ε) <= ε everywhere.
    import scipy.stats
    lower, upper, epsilon = -2.0, 6.0, 0.7
    delta = mean_sensitivity(n=10, lower=lower, upper=upper, neighbours="remove")
    a, b = np.mean([lower, upper]), np.mean([lower])
    grid = np.linspace(-30, 30, 2001)
    ratio = scipy.stats.laplace.logpdf(grid, a, delta / epsilon) - scipy.stats.laplace.logpdf(grid, b, delta / epsilon)
    assert np.max(np.abs(ratio)) == pytest.approx(epsilon)


# ----------------------------------------------------------------------------- differencing attack


def test_differencing_attack_recovers_every_bit_with_sum():
    db = make_database(40, rng=3)
    recovered = [differencing_attack(np.sum, db, index=i) for i in range(40)]
    np.testing.assert_array_equal(recovered, db)
    assert isinstance(recovered[10], float)


def test_differencing_attack_with_mean_and_counts():
    db = np.array([3.0, 5.0, 10.0])
    # mean(D) - mean(D_-2) = 6 - 4 = 2 = (x_2 - mean(D_-2)) / n
    assert differencing_attack(np.mean, db, index=2) == pytest.approx(2.0)
    assert differencing_attack(lambda d: int((d > 4).sum()), db, index=0) == 0.0
    assert differencing_attack(np.sum, db, index=np.int64(1)) == 5.0


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"neighbours": "add"}, "neighbours"),
        ({"norm": 3}, "norm"),
        ({"norm": 0}, "norm"),
    ],
)
def test_empirical_rejects_bad_options(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        empirical_sensitivity(np.sum, np.array([1, 0, 1]), **kwargs)


@pytest.mark.parametrize(
    "db, neighbours, pattern",
    [
        (np.array([]), "remove", "empty"),
        (np.zeros((2, 2)), "remove", "1-D"),
        (np.array([0.5, np.nan]), "remove", "NaN"),
        (np.array([0, 2]), "replace", "0 and 1"),
    ],
)
def test_empirical_rejects_bad_databases(db, neighbours, pattern):
    with pytest.raises(ValueError, match=pattern):
        empirical_sensitivity(np.sum, db, neighbours=neighbours)


def test_empirical_rejects_matrix_and_shape_changing_queries():
    with pytest.raises(ValueError, match="query"):
        empirical_sensitivity(lambda d: np.outer(d, d), np.array([1, 0]))
    with pytest.raises(ValueError, match="shape"):
        empirical_sensitivity(lambda d: d.astype(float), np.array([1, 0, 1]))


@pytest.mark.parametrize("fn", [count_sensitivity, histogram_sensitivity, threshold_sensitivity])
def test_simple_globals_reject_bad_neighbours(fn):
    with pytest.raises(ValueError, match="neighbours"):
        fn(neighbours="swap")


@pytest.mark.parametrize("fn", [sum_sensitivity, max_sensitivity])
@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"lower": 2, "upper": 1}, "lower must be <= upper"),
        ({"lower": float("nan"), "upper": 1}, "lower"),
        ({"lower": 0, "upper": float("inf")}, "upper"),
        ({"lower": 0, "upper": "1"}, "upper"),
        ({"lower": 0, "upper": 1, "neighbours": "swap"}, "neighbours"),
    ],
)
def test_bounded_globals_reject_bad_input(fn, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        fn(**kwargs)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"n": 0, "lower": 0, "upper": 1}, "n"),
        ({"n": 2.5, "lower": 0, "upper": 1}, "n"),
        ({"n": 0, "lower": 0, "upper": 1, "neighbours": "remove"}, "n"),
        ({"n": True, "lower": 0, "upper": 1}, "n"),
        ({"n": 5, "lower": 3, "upper": 1}, "lower must be <= upper"),
        ({"n": 5, "lower": 0, "upper": float("nan")}, "upper"),
        ({"n": 5, "lower": 0, "upper": 1, "neighbours": "both"}, "neighbours"),
    ],
)
def test_mean_sensitivity_rejects_bad_input(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        mean_sensitivity(**kwargs)


@pytest.mark.parametrize(
    "db, index, pattern",
    [
        (np.array([1, 0, 1]), 3, "index"),
        (np.array([1, 0, 1]), -1, "index"),
        (np.array([1, 0, 1]), 1.0, "index"),
        (np.array([1, 0, 1]), True, "index"),
        (np.array([1]), 0, "at least 2"),
        (np.array([]), 0, "empty"),
        (np.array([[1, 0]]), 0, "1-D"),
        (np.array([1.0, np.nan]), 0, "NaN"),
    ],
)
def test_differencing_attack_rejects_bad_input(db, index, pattern):
    with pytest.raises(ValueError, match=pattern):
        differencing_attack(np.sum, db, index=index)


def test_differencing_attack_rejects_vector_query():
    with pytest.raises(ValueError, match="single number"):
        differencing_attack(lambda d: np.bincount(d, minlength=2), np.array([1, 0, 1]), index=0)
