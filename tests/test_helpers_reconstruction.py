"""Tests for helpers.reconstruction (lesson 01): the Dinur–Nissim reconstruction attack."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.stats

from helpers.checks import check_mean, check_samples
from helpers.databases import make_database
from helpers.reconstruction import (
    answer_subset_queries,
    fraction_recovered,
    reconstruct,
    reconstruct_lp,
    reconstruction_curve,
)

# ----------------------------------------------------------------------------- answer_subset_queries


def test_answers_shapes_dtypes_and_bound():
    db = make_database(30, rng=0)
    q, a = answer_subset_queries(db, n_queries=200, noise_bound=2.5, rng=1)
    assert q.shape == (200, 30) and q.dtype == np.int64
    assert a.shape == (200,) and a.dtype == np.float64
    assert set(np.unique(q)) <= {0, 1}
    assert np.all(np.abs(a - q @ db) <= 2.5)


def test_answers_follow_documented_draw_order():
    db = make_database(12, rng=4)
    q, a = answer_subset_queries(db, n_queries=7, noise_bound=1.5, rng=np.random.default_rng(9))
    gen = np.random.default_rng(9)
    q_ref = gen.integers(0, 2, size=(7, 12))
    e_ref = gen.uniform(-1.5, 1.5, size=7)
    np.testing.assert_array_equal(q, q_ref)
    np.testing.assert_allclose(a, q_ref @ db + e_ref)


def test_answers_exact_without_noise_and_reproducible():
    db = make_database(20, rng=2)
    q, a = answer_subset_queries(db, n_queries=50, noise_bound=0, rng=5)
    np.testing.assert_array_equal(a, q @ db)
    q2, a2 = answer_subset_queries(db, n_queries=50, noise_bound=0, rng=5)
    np.testing.assert_array_equal(q, q2)
    q3, _ = answer_subset_queries(db, n_queries=50, noise_bound=0, rng=6)
    assert not np.array_equal(q, q3)


def test_noise_is_uniform_with_mean_zero_and_variance_E2_over_3():
    db = make_database(5, rng=0)
    E, m = 3.0, 60_000
    q, a = answer_subset_queries(db, n_queries=m, noise_bound=E, rng=11)
    noise = a - q @ db
    # Uniform[-E, E]: mean 0, variance E²/3, kurtosis 9/5; each within 5 standard errors
    check_samples(noise, mean=0.0, var=E**2 / 3, kurtosis=1.8, what="noise", n_se=5, quiet=True)
    # subsets: each person included with probability 1/2
    check_mean(q, 0.5, std=0.5, what="subset membership", n_se=5, quiet=True)


# ----------------------------------------------------------------------------- reconstruct


def test_reconstruct_exact_answers_recover_everything():
    db = make_database(60, rng=3)
    q, a = answer_subset_queries(db, n_queries=120, noise_bound=0, rng=4)
    np.testing.assert_array_equal(reconstruct(q, a), db)
    np.testing.assert_array_equal(reconstruct_lp(q, a), db)


def test_reconstruct_matches_independent_scipy_least_squares():
    rng = np.random.default_rng(0)
    for _ in range(5):
        n = int(rng.integers(10, 60))
        db = make_database(n, rng=rng)
        q, a = answer_subset_queries(db, n_queries=3 * n, noise_bound=float(rng.uniform(0, 2 * math.sqrt(n))), rng=rng)
        z, *_ = scipy.linalg.lstsq(q.astype(float), a, lapack_driver="gelsy")
        np.testing.assert_array_equal(reconstruct(q, a), (z > 0.5).astype(np.int64))


def test_small_noise_reconstructs_large_noise_does_not():
    # Noise well below sqrt(n): (almost) every bit; noise far above sqrt(n): little better than chance.
    n = 100
    db = make_database(n, rng=21)
    q, a = answer_subset_queries(db, n_queries=4 * n, noise_bound=0.1 * math.sqrt(n), rng=22)
    assert fraction_recovered(db, reconstruct(q, a)) >= 0.99
    assert fraction_recovered(db, reconstruct_lp(q, a)) >= 0.99
    q, a = answer_subset_queries(db, n_queries=4 * n, noise_bound=10 * math.sqrt(n), rng=23)
    assert fraction_recovered(db, reconstruct(q, a)) < 0.7


def test_lp_decoding_tolerates_a_few_gross_errors():
    # Dwork, McSherry & Talwar 2007: L1 decoding survives a small fraction of arbitrary answers.
    n = 40
    db = make_database(n, rng=31)
    q, a = answer_subset_queries(db, n_queries=8 * n, noise_bound=0, rng=32)
    bad = np.random.default_rng(33).choice(a.size, size=a.size // 20, replace=False)
    a = a.copy()
    a[bad] += 25.0
    np.testing.assert_array_equal(reconstruct_lp(q, a), db)


def test_reconstruct_output_is_binary_int64():
    q = np.array([[1, 0], [0, 1], [1, 1]])
    out = reconstruct(q, np.array([0.9, 0.2, 1.1]))
    assert out.dtype == np.int64 and set(out) <= {0, 1}


@pytest.mark.parametrize("fn", [reconstruct, reconstruct_lp])
@pytest.mark.parametrize(
    "queries, answers, pattern",
    [
        (np.ones(3), np.ones(3), "queries"),
        (np.ones((0, 3)), np.ones(0), "queries"),
        (np.ones((3, 2)), np.ones(2), "answers"),
        (np.ones((3, 2)), np.ones((3, 1)), "answers"),
        (np.array([[1.0, np.nan], [0, 1]]), np.ones(2), "queries"),
        (np.ones((2, 2)), np.array([1.0, np.inf]), "answers"),
    ],
)
def test_reconstruct_rejects_bad_input(fn, queries, answers, pattern):
    with pytest.raises(ValueError, match=pattern):
        fn(queries, answers)


@pytest.mark.parametrize(
    "db, kwargs, pattern",
    [
        (np.array([0, 1, 2]), {"n_queries": 5, "noise_bound": 1}, "0 and 1"),
        (np.array([]), {"n_queries": 5, "noise_bound": 1}, "empty"),
        (np.zeros((2, 2)), {"n_queries": 5, "noise_bound": 1}, "1-D"),
        (np.array([0, 1]), {"n_queries": 0, "noise_bound": 1}, "n_queries"),
        (np.array([0, 1]), {"n_queries": 2.0, "noise_bound": 1}, "n_queries"),
        (np.array([0, 1]), {"n_queries": 5, "noise_bound": -1}, "noise_bound"),
        (np.array([0, 1]), {"n_queries": 5, "noise_bound": float("nan")}, "noise_bound"),
        (np.array([0, 1]), {"n_queries": 5, "noise_bound": 1, "rng": "x"}, "rng"),
    ],
)
def test_answer_subset_queries_rejects_bad_input(db, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        answer_subset_queries(db, **kwargs)


# ----------------------------------------------------------------------------- scoring and the curve


def test_fraction_recovered():
    assert fraction_recovered(np.array([1, 0, 1, 1]), np.array([1, 1, 1, 0])) == 0.5
    with pytest.raises(ValueError, match="shape"):
        fraction_recovered(np.array([1, 0]), np.array([1, 0, 1]))
    with pytest.raises(ValueError, match="guess"):
        fraction_recovered(np.array([1, 0]), np.array([1, 3]))


def test_reconstruction_curve_falls_from_one_to_near_chance():
    n = 64
    bounds = np.array([0.0, 0.05, 1.0, 8.0]) * math.sqrt(n)
    curve = reconstruction_curve(n, noise_bounds=bounds, n_trials=3, rng=0)
    assert curve.shape == (4,)
    assert curve[0] == 1.0 and curve[1] >= 0.99
    assert 0.6 < curve[2] < 0.95  # the transition sits at noise ~ sqrt(n) (see the module docstring)
    assert curve[3] < 0.65
    lp = reconstruction_curve(n, noise_bounds=bounds[:2], n_trials=1, method="lp", rng=0)
    assert lp[0] == 1.0


def test_least_squares_error_matches_the_lesson_derivation():
    # Lesson 01 ("Why it works") and the module docstring: with m random 0/1 subsets and Uniform[-E, E]
    # noise (sigma_e = E / sqrt(3)), each coordinate of the least-squares estimate has an error of standard
    # deviation about 2 sigma_e / sqrt(m - n). With m = 4n and E = sqrt(n) that is 2/3, and a bit is rounded
    # the wrong way when its error passes 1/2 on the wrong side: P(N(0, 1) > 3/4) = 0.2266 (the lesson's 23%).
    n, m = 200, 800
    rng = np.random.default_rng(2024)
    errors, wrong = [], []
    for _ in range(20):
        x = make_database(n, rng=rng)
        q, a = answer_subset_queries(x, n_queries=m, noise_bound=math.sqrt(n), rng=rng)
        z = np.linalg.lstsq(q.astype(float), a, rcond=None)[0]
        errors.append(z - x)
        wrong.append(reconstruct(q, a) != x)
    errors, wrong = np.concatenate(errors), np.concatenate(wrong)
    assert errors.std() == pytest.approx(2 / 3, rel=0.05)
    p = scipy.stats.norm.sf(0.75)
    # 4000 bits: 5 standard errors sqrt(p(1 - p)/4000) = 0.033, plus 0.01 for the approximation of Q^T Q.
    assert abs(wrong.mean() - p) < 5 * math.sqrt(p * (1 - p) / wrong.size) + 0.01


def test_reconstruction_curve_reproducible():
    a = reconstruction_curve(20, noise_bounds=[1.0, 5.0], n_trials=2, rng=3)
    b = reconstruction_curve(20, noise_bounds=[1.0, 5.0], n_trials=2, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"n": 0, "noise_bounds": [1.0]}, "n"),
        ({"n": 10, "noise_bounds": []}, "noise_bounds"),
        ({"n": 10, "noise_bounds": [1.0, -1.0]}, "noise_bounds"),
        ({"n": 10, "noise_bounds": [1.0], "n_queries": 0}, "n_queries"),
        ({"n": 10, "noise_bounds": [1.0], "n_trials": 0}, "n_trials"),
        ({"n": 10, "noise_bounds": [1.0], "method": "svd"}, "method"),
    ],
)
def test_reconstruction_curve_rejects_bad_input(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        reconstruction_curve(**kwargs)
