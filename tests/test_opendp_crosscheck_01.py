"""Lesson 01's global sensitivities equal OpenDP's, an independent implementation, under both relations.

OpenDP derives a transformation's sensitivity from a declared input domain (row type, value bounds,
whether the size is known) and input metric (the neighbour relation): ``t.map(d_in)`` bounds the
distance between the outputs on two inputs at distance ``d_in``. At ``d_in = 1``:

* ``symmetric_distance()`` on data of unknown size: one row added or removed, our ``"remove"``;
* ``change_one_distance()`` on data of known size ``n``: one row changed, our ``"replace"``. OpenDP's
  sums, means and counts are defined for the symmetric distance, so ``make_metric_unbounded`` converts
  (one change = one removal + one addition = symmetric distance 2, which the sized sums divide by 2).

Integer data give OpenDP's exact textbook values. Float data carry a tiny slack: OpenDP adds a bound on
the rounding error of a floating-point sum of ``n`` terms to the ideal sensitivity (Casacuberta, Shoemate,
Vadhan & Wagaman, "Widespread Underestimation of Sensitivity in Differentially Private Libraries and How
to Fix It", CCS 2022). It grows like ``n log2(n) 2^-53`` relative to the sensitivity (about 1e-8 at
``n = 10^6``, 1e-6 at ``n = 10^8``), so floats are compared with a relative tolerance of 1e-6 for
``n <= 10^6`` — and OpenDP's value must never be *below* ours, which would mean we under-noise.

The course's lesson 01 prints the same comparison (section 7); this test runs it over many random bounds
and sizes. The OpenDP modules are imported directly: ``opendp.prelude`` also imports pandas and
scikit-learn, which costs seconds and is not needed here.
"""
from __future__ import annotations

import numpy as np
import pytest

import opendp.transformations as dpt
from opendp.domains import atom_domain, vector_domain
from opendp.metrics import change_one_distance, symmetric_distance
from opendp.mod import OpenDPException, enable_features

from helpers.sensitivity import count_sensitivity, histogram_sensitivity, mean_sensitivity, sum_sensitivity

enable_features("contrib")

RTOL = 1e-6          # float slack of OpenDP's sums for n <= 10^6 is below 1e-8 relative (module docstring)
N_SETTINGS = 60


def _settings(seed: int, *, integer: bool, max_log10_n: int = 6):
    """Random bounds (both signs, equal bounds included) and sizes from 1 to 10^max_log10_n."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(N_SETTINGS):
        if integer:
            lower = int(rng.integers(-1000, 1000))
            upper = lower if i % 15 == 0 else lower + int(rng.integers(0, 1000))
        else:
            lower = float(rng.uniform(-1000, 1000))
            upper = lower if i % 15 == 0 else lower + float(rng.uniform(0, 1000))
        n = int(10 ** rng.uniform(0, max_log10_n))
        out.append(pytest.param(lower, upper, max(n, 1), id=f"setting{i}"))
    return out


def _close_and_not_below(opendp_value: float, ours: float, *, scale: float) -> None:
    """OpenDP >= ours (it only adds rounding slack), and within RTOL of ours relative to ``scale``.

    The slack bounds the rounding error of summing values as large as ``max(|lower|, |upper|)``, so it
    is measured against that magnitude (divided by n for a mean), not against the sensitivity, which
    is 0 when lower == upper.
    """
    assert opendp_value >= ours, (opendp_value, ours)
    assert opendp_value - ours <= RTOL * max(ours, scale), (opendp_value, ours, scale)


def _domain(T, lower, upper, size=None):
    atom = atom_domain(bounds=(lower, upper), nan=False) if T is float else atom_domain(bounds=(lower, upper))
    return vector_domain(atom, size=size)


# ----------------------------------------------------------------------------- sum


@pytest.mark.parametrize("lower, upper, n", _settings(1, integer=True, max_log10_n=5))
def test_sum_remove_one_integers_exact(lower, upper, n):
    # remove-one, size unknown: max(|lower|, |upper|), and k people at once move the sum by k times that.
    t = dpt.make_sum(_domain(int, lower, upper), symmetric_distance())
    ours = sum_sensitivity(lower=lower, upper=upper, neighbours="remove")
    assert t.map(1) == ours
    assert t.map(3) == 3 * ours


@pytest.mark.parametrize("lower, upper, n", _settings(2, integer=True, max_log10_n=5))
def test_sum_replace_one_integers_exact(lower, upper, n):
    # replace-one, size n public: upper - lower.
    t = (_domain(int, lower, upper, size=n), change_one_distance()) >> dpt.then_metric_unbounded() >> dpt.then_sum()
    assert t.map(1) == sum_sensitivity(lower=lower, upper=upper, neighbours="replace")


@pytest.mark.parametrize("lower, upper, n", _settings(3, integer=False))
def test_sum_replace_one_floats(lower, upper, n):
    t = (_domain(float, lower, upper, size=n), change_one_distance()) >> dpt.then_metric_unbounded() >> dpt.then_sum()
    _close_and_not_below(t.map(1), sum_sensitivity(lower=lower, upper=upper, neighbours="replace"),
                         scale=max(abs(lower), abs(upper)))


@pytest.mark.parametrize("lower, upper, n", _settings(4, integer=False))
def test_sum_remove_one_floats(lower, upper, n):
    # Size unknown. OpenDP's float sum then adds up at most 2^20 rows (a random subset of larger
    # data), so adding one row may also push another out: its sensitivity is
    # max(upper - lower, |lower|, |upper|). That equals ours, max(|lower|, |upper|), when the bounds
    # share a sign; when they straddle 0 it is upper - lower, larger than ours, which is right for
    # the exact sum of all rows that the course computes. Either way OpenDP is never below ours.
    t = dpt.make_sum(_domain(float, lower, upper), symmetric_distance())
    ours = sum_sensitivity(lower=lower, upper=upper, neighbours="remove")
    scale = max(abs(lower), abs(upper))
    if lower >= 0 or upper <= 0:
        _close_and_not_below(t.map(1), ours, scale=scale)
    else:
        _close_and_not_below(t.map(1), max(ours, upper - lower), scale=scale)


def test_sum_through_clamp_as_in_the_lesson():
    # Lesson 01, section 7: the ages of adults clipped to [18, 100], both relations.
    remove = (vector_domain(atom_domain(T=int)), symmetric_distance()) >> dpt.then_clamp((18, 100)) >> dpt.then_sum()
    replace = ((vector_domain(atom_domain(T=int), size=50), change_one_distance()) >> dpt.then_metric_unbounded()
               >> dpt.then_clamp((18, 100)) >> dpt.then_sum())
    assert remove.map(1) == sum_sensitivity(lower=18, upper=100, neighbours="remove") == 100
    assert replace.map(1) == sum_sensitivity(lower=18, upper=100, neighbours="replace") == 82
    mean = ((vector_domain(atom_domain(T=float, nan=False), size=50), change_one_distance())
            >> dpt.then_metric_unbounded() >> dpt.then_clamp((18.0, 100.0)) >> dpt.then_mean())
    _close_and_not_below(mean.map(1), mean_sensitivity(n=50, lower=18, upper=100, neighbours="replace"), scale=2.0)
    assert mean_sensitivity(n=50, lower=18, upper=100, neighbours="replace") == 82 / 50


# ----------------------------------------------------------------------------- mean


@pytest.mark.parametrize("lower, upper, n", _settings(5, integer=False))
def test_mean_replace_one_floats(lower, upper, n):
    # replace-one, size n public: (upper - lower) / n.
    t = (_domain(float, lower, upper, size=n), change_one_distance()) >> dpt.then_metric_unbounded() >> dpt.then_mean()
    _close_and_not_below(t.map(1), mean_sensitivity(n=n, lower=lower, upper=upper, neighbours="replace"),
                         scale=max(abs(lower), abs(upper)) / n)


def test_mean_needs_a_known_size():
    # Under remove-one the size is private, and OpenDP refuses a mean without a known size (lesson 01,
    # section 4: a DP mean there is a noisy sum divided by a noisy count). There is no OpenDP value to
    # compare ours with: the course's remove-one value, (U - L)/2 over every size, is checked by brute
    # force over every database of sizes 1..K in test_helpers_sensitivity.py.
    with pytest.raises(OpenDPException, match="size must be known"):
        dpt.make_mean(_domain(float, 0.0, 1.0), symmetric_distance())
    assert mean_sensitivity(n=50, lower=18, upper=100, neighbours="remove") == (100 - 18) / 2


# ----------------------------------------------------------------------------- counts


@pytest.mark.parametrize("n", [1, 2, 17, 1000, 123_456])
def test_count_of_ones_both_relations(n):
    # The count #{i : x_i = 1} of a bit vector is the sum of bits clamped to [0, 1].
    remove = dpt.make_sum(_domain(int, 0, 1), symmetric_distance())
    replace = (_domain(int, 0, 1, size=n), change_one_distance()) >> dpt.then_metric_unbounded() >> dpt.then_sum()
    assert remove.map(1) == count_sensitivity(neighbours="remove") == 1
    assert replace.map(1) == count_sensitivity(neighbours="replace") == 1


def test_row_count_remove_one():
    t = dpt.make_count(vector_domain(atom_domain(T=int)), symmetric_distance())
    assert t.map(1) == count_sensitivity(neighbours="remove")


@pytest.mark.parametrize("k", [1, 2, 5, 20])
def test_histogram_both_relations(k):
    categories = list(range(k))
    remove = dpt.make_count_by_categories(vector_domain(atom_domain(T=int)), symmetric_distance(), categories=categories)
    replace = ((vector_domain(atom_domain(T=int), size=100), change_one_distance()) >> dpt.then_metric_unbounded()
               >> dpt.then_count_by_categories(categories=categories))
    assert remove.map(1) == histogram_sensitivity(neighbours="remove") == 1
    assert replace.map(1) == histogram_sensitivity(neighbours="replace") == 2
