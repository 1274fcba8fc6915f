"""Tests for helpers.databases (lesson 01): toy bit databases and their neighbours."""
from __future__ import annotations

import math

import numpy as np
import pytest

from helpers.databases import make_database, remove_one_neighbours, replace_one_neighbours


# ----------------------------------------------------------------------------- make_database


def test_make_database_shape_dtype_values():
    db = make_database(50, rng=0)
    assert db.shape == (50,)
    assert db.dtype == np.int64
    assert set(np.unique(db)) <= {0, 1}


def test_make_database_docstring_example_and_recipe():
    # The documented recipe: (rng.random(n) < p).astype(int64).
    expected = (np.random.default_rng(0).random(5) < 0.5).astype(np.int64)
    np.testing.assert_array_equal(make_database(5, rng=0), expected)
    np.testing.assert_array_equal(make_database(5, rng=0), [0, 1, 1, 1, 0])


def test_make_database_reproducible_and_accepts_generator():
    a = make_database(200, p=0.3, rng=np.random.default_rng(7))
    b = make_database(200, p=0.3, rng=7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, make_database(200, p=0.3, rng=8))


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_make_database_extreme_p(p):
    np.testing.assert_array_equal(make_database(30, p=p, rng=1), np.full(30, int(p)))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.83])
def test_make_database_mean_within_5_standard_errors(p):
    n = 40_000
    db = make_database(n, p=p, rng=123)
    se = math.sqrt(p * (1 - p) / n)  # standard error of a Bernoulli(p) mean
    assert abs(db.mean() - p) < 5 * se


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "10", None])
def test_make_database_rejects_bad_n(bad):
    with pytest.raises(ValueError, match="n"):
        make_database(bad)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.5"])
def test_make_database_rejects_bad_p(bad):
    with pytest.raises(ValueError, match="p"):
        make_database(10, p=bad)


def test_make_database_rejects_bad_rng():
    with pytest.raises(ValueError, match="rng"):
        make_database(10, rng="seed")


# ----------------------------------------------------------------------------- neighbours


def _remove_loop(db):
    return np.array([np.delete(db, i) for i in range(len(db))]).reshape(len(db), len(db) - 1)


def _replace_loop(db):
    rows = []
    for i in range(len(db)):
        row = db.copy()
        row[i] = 1 - row[i]
        rows.append(row)
    return np.array(rows)


def test_remove_one_docstring_example():
    np.testing.assert_array_equal(remove_one_neighbours(np.array([1, 0, 1])), [[0, 1], [1, 1], [1, 0]])


@pytest.mark.parametrize("n", [1, 2, 3, 17, 100])
def test_remove_one_matches_loop(n):
    db = make_database(n, rng=n)
    out = remove_one_neighbours(db)
    assert out.shape == (n, n - 1)
    assert out.dtype == db.dtype
    np.testing.assert_array_equal(out, _remove_loop(db))


def test_remove_one_works_for_real_values_and_lists():
    values = np.array([2.5, -1.0, 7.25, 0.0])
    np.testing.assert_array_equal(remove_one_neighbours(values), _remove_loop(values))
    np.testing.assert_array_equal(remove_one_neighbours([3, 4]), [[4], [3]])


def test_remove_one_does_not_alias_input():
    db = np.array([1, 0, 1, 1])
    out = remove_one_neighbours(db)
    out[0, 0] = 99
    np.testing.assert_array_equal(db, [1, 0, 1, 1])


def test_replace_one_docstring_example():
    np.testing.assert_array_equal(replace_one_neighbours(np.array([1, 0, 1])), [[0, 0, 1], [1, 1, 1], [1, 0, 0]])


@pytest.mark.parametrize("n", [1, 2, 5, 64])
def test_replace_one_matches_loop_and_differs_in_one_bit(n):
    db = make_database(n, rng=100 + n)
    out = replace_one_neighbours(db)
    assert out.shape == (n, n)
    np.testing.assert_array_equal(out, _replace_loop(db))
    np.testing.assert_array_equal((out != db).sum(axis=1), np.ones(n))
    np.testing.assert_array_equal(db, make_database(n, rng=100 + n))  # input untouched


@pytest.mark.parametrize("fn", [remove_one_neighbours, replace_one_neighbours])
@pytest.mark.parametrize(
    "bad, pattern",
    [
        (np.zeros((2, 3)), "1-D"),
        (np.array([]), "empty"),
        (np.array([1.0, np.nan]), "NaN"),
        (np.array(["a", "b"]), "numbers"),
    ],
)
def test_neighbours_reject_bad_databases(fn, bad, pattern):
    with pytest.raises(ValueError, match=pattern):
        fn(bad)


def test_replace_one_rejects_non_binary():
    with pytest.raises(ValueError, match="0 and 1"):
        replace_one_neighbours(np.array([0, 1, 2]))
