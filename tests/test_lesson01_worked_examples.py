"""The worked examples printed in lesson 01's exercise texts are what the reference implementations return.

Each value below is quoted from the exercise's markdown cell in solutions/01_sensitivity; a student
checks their answer against it, so it must be exact.
"""
from __future__ import annotations

import numpy as np
import pytest

import helpers as H
import scenarios as S


def _text() -> str:
    nb = S.load_solution("01_sensitivity")
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_exercise_1_remove_one_neighbours():
    assert "returns `[[0, 1], [1, 1], [1, 0]]`" in _text()
    np.testing.assert_array_equal(H.remove_one_neighbours(np.array([1, 0, 1])), [[0, 1], [1, 1], [1, 0]])


def test_exercise_2_empirical_sensitivity():
    assert H.empirical_sensitivity(np.sum, np.array([0, 0, 0])) == 0.0
    assert H.empirical_sensitivity(np.sum, np.array([0, 0, 0]), neighbours="replace") == 1.0


def test_exercise_3_mean_sensitivity():
    text = _text()
    assert "`mean_sensitivity(n=50, lower=0, upper=100)` is `2.0`" in text
    assert 'neighbours="remove")` is `50.0`' in text
    assert H.mean_sensitivity(n=50, lower=0, upper=100) == 2.0
    assert H.mean_sensitivity(n=50, lower=0, upper=100, neighbours="remove") == 50.0


def test_exercise_4_differencing_attack():
    assert H.differencing_attack(np.sum, np.array([1, 0, 1]), index=2) == 1.0


def test_exercise_5_answer_subset_queries():
    assert "`[1.133, 0.174, 0.830]`" in _text()
    queries, answers = H.answer_subset_queries(np.array([1, 0, 1]), n_queries=3, noise_bound=0.5, rng=6)
    np.testing.assert_array_equal(queries, [[0, 1, 1], [0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(queries @ np.array([1, 0, 1]), [1, 0, 1])
    assert answers == pytest.approx([1.133, 0.174, 0.830], abs=5e-4)
    assert answers.dtype == np.float64


def test_exercise_6_reconstruct():
    assert "returns `array([1, 0, 1, 1, 0])`" in _text()
    q, a = H.answer_subset_queries(np.array([1, 0, 1, 1, 0]), n_queries=20, noise_bound=1.0, rng=1)
    guess = H.reconstruct(q, a)
    np.testing.assert_array_equal(guess, [1, 0, 1, 1, 0])
    assert guess.dtype == np.int64
