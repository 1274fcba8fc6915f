"""Local differential privacy by randomized response (lesson 02).

The mechanism is :func:`randomize_responses` (not ``randomized_response``, so that the
name does not shadow this module in ``helpers``' namespace).

Randomized response (Warner, 1965) lets every person randomize their *own* answer to a
yes/no question before it leaves their hands, so nobody, not even the data collector,
ever sees the true bit. The course uses the "truth with probability p, else a fair coin"
form::

    with probability p_truth   answer the truth x
    otherwise                  answer a fresh fair coin (1 with probability 1/2)

``p_truth = 1/2`` is the classic *two-coin* protocol: flip a coin; on heads answer
truthfully, on tails flip again and answer "yes" on heads.

Every person's answer is ε-locally differentially private with
``ε = ln((1 + p) / (1 − p))`` (``ln 3`` for fair coins), and the vector of answers is ε-DP
under replace-one neighbours (one person's bit changed, ``n`` fixed); not under add/remove-one,
where the number of answers itself shows who took part. The collector de-biases the
average of the answers to estimate the true proportion and pays for privacy with a
standard error that shrinks only as ``1/√n``, against ``1/n`` for a trusted curator who
adds Laplace noise once (the *central* model, lesson 03).

References
----------
S. L. Warner, "Randomized response: a survey technique for eliminating evasive answer
bias", JASA 60(309), 1965.
C. Dwork and A. Roth, *The Algorithmic Foundations of Differential Privacy*, 2014, §3.2.
S. P. Kasiviswanathan et al., "What can we learn privately?", SIAM J. Comput. 40(3), 2011.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._validation import (
    as_database,
    as_rng,
    check_epsilon,
    check_positive_int,
    check_probability,
)

__all__ = [
    "randomize_responses",
    "rr_epsilon",
    "p_truth_for_epsilon",
    "estimate_proportion",
    "estimator_std",
    "rr_noise_std",
    "central_laplace_std",
    "simulate_estimates",
]


def randomize_responses(db: Any, *, p_truth: float = 0.5,
                        rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Randomize every person's yes/no answer: truth with probability ``p_truth``, else a fair coin.

    For each person ``i`` independently, with ``x_i`` the true bit::

        y_i = x_i                      with probability p_truth
        y_i ~ Bernoulli(1/2)           otherwise

    so ``P(y_i = 1 | x_i = 1) = (1 + p)/2`` and ``P(y_i = 1 | x_i = 0) = (1 − p)/2``.

    Guarantee: each answer is ε-locally differentially private with
    ``ε = ln((1 + p)/(1 − p))`` (see :func:`rr_epsilon`); since people randomize
    independently, the whole response vector is ε-DP under replace-one neighbours (changing one
    person's bit, ``n`` fixed). It is not DP under add/remove-one: the number of answers reveals
    whether someone took part. Every coin must come from ``rng``: a coin the collector can
    predict turns the answers that differ from it back into the truth (ε = ∞).

    Equivalent to OpenDP's ``make_randomized_response_bool(prob=(1 + p)/2)`` (report the
    truth with probability ``prob``, else its negation).

    Parameters
    ----------
    db
        1-D array of 0/1 true answers, one per person (bool, int or float).
    p_truth
        Probability of answering truthfully, in ``[0, 1]``; ``0.5`` is the two-coin protocol.
    rng
        A ``numpy.random.Generator`` or an int seed (``None``: a fresh unseeded generator).
        Draws ``rng.random(n)`` for the first coins, then ``rng.random(n)`` for the second.

    Returns
    -------
    numpy.ndarray
        1-D int64 array of 0/1 randomized answers, same length as ``db``.

    Raises
    ------
    ValueError
        If ``db`` is not a non-empty 1-D array of 0/1 values, or ``p_truth`` is not in [0, 1].

    References
    ----------
    Warner (1965); Dwork & Roth (2014), §3.2.
    """
    x = as_database(db, "db", binary=True)
    p = check_probability(p_truth, "p_truth")
    gen = as_rng(rng)
    n = x.size
    truthful = gen.random(n) < p
    coin = gen.random(n) < 0.5
    return np.where(truthful, x != 0, coin).astype(np.int64)


def rr_epsilon(*, p_truth: float) -> float:
    """The local-DP privacy loss of randomized response: ``ε = ln((1 + p)/(1 − p))``.

    Derivation: the worst-case likelihood ratio over the two possible answers ``y`` and
    the two possible true bits ``x, x'`` is
    ``P(y=1 | x=1) / P(y=1 | x=0) = ((1+p)/2) / ((1−p)/2) = (1+p)/(1−p)``.
    Fair coins (``p = 1/2``) give ``ε = ln 3 ≈ 1.0986``.

    Parameters
    ----------
    p_truth
        Probability of answering truthfully, in ``[0, 1]``.

    Returns
    -------
    float
        ``ε >= 0``; ``0`` for ``p_truth = 0`` (pure noise) and ``math.inf`` for
        ``p_truth = 1`` (the truth, no privacy).

    Raises
    ------
    ValueError
        If ``p_truth`` is not in [0, 1].

    References
    ----------
    Dwork & Roth (2014), Claim 3.5 (ε = ln 3 for the two-coin protocol).
    """
    p = check_probability(p_truth, "p_truth")
    if p == 1.0:
        return math.inf
    return float(math.log1p(p) - math.log1p(-p))


def p_truth_for_epsilon(*, epsilon: float) -> float:
    """The truth probability that gives ε-local DP: ``p = (e^ε − 1)/(e^ε + 1) = tanh(ε/2)``.

    The inverse of :func:`rr_epsilon`.

    Parameters
    ----------
    epsilon
        Target privacy loss, ``> 0``.

    Returns
    -------
    float
        ``p_truth`` in ``(0, 1)``; ``epsilon = ln 3`` gives ``0.5``.

    Raises
    ------
    ValueError
        If ``epsilon`` is not a finite number > 0.
    """
    eps = check_epsilon(epsilon)
    return float(math.tanh(eps / 2.0))


def estimate_proportion(responses: Any, *, p_truth: float) -> float:
    """Unbiased estimate of the true proportion of "yes" from randomized answers.

    Each answer is 1 with probability ``λ = p·π + (1 − p)/2``, so the mean answer ``ȳ``
    estimates ``λ``, and solving for ``π`` gives::

        π̂ = (ȳ − (1 − p)/2) / p

    ``E[π̂] = π`` exactly. The estimate is *not* clipped to [0, 1]: clipping would bias it
    (a value slightly outside [0, 1] is just noise).

    Parameters
    ----------
    responses
        1-D array of 0/1 randomized answers (the output of :func:`randomize_responses`).
    p_truth
        The truth probability the answers were produced with, in ``(0, 1]``.

    Returns
    -------
    float
        The estimate ``π̂`` (may fall slightly below 0 or above 1).

    Raises
    ------
    ValueError
        If ``responses`` is not a non-empty 1-D 0/1 array, or ``p_truth`` is not in (0, 1]
        (with ``p_truth = 0`` the answers carry no information).
    """
    y = as_database(responses, "responses", binary=True)
    p = check_probability(p_truth, "p_truth", open_low=True)
    return float((y.mean() - (1.0 - p) / 2.0) / p)


def estimator_std(*, true_proportion: float, n: int, p_truth: float) -> float:
    """Standard error of :func:`estimate_proportion` when the n people are drawn from a population.

    If each person's bit is an independent Bernoulli(π) draw (e.g. a survey of n random
    people from a population with proportion π), each answer is Bernoulli(λ) with
    ``λ = p·π + (1 − p)/2`` and::

        sd(π̂) = sqrt(λ (1 − λ) / n) / p

    Since ``λ(1 − λ) = p²·π(1 − π) + (1 − p²)/4``, the variance splits into the survey's own
    sampling error ``π(1 − π)/n`` plus the privacy noise ``(1 − p²)/(4 n p²)``
    (:func:`rr_noise_std`).

    Parameters
    ----------
    true_proportion
        The population proportion π, in [0, 1].
    n
        Number of people, an integer >= 1.
    p_truth
        Truth probability, in (0, 1].

    Returns
    -------
    float
        The standard deviation of ``π̂``.

    Raises
    ------
    ValueError
        If ``true_proportion`` is not in [0, 1], ``n`` is not an integer >= 1, or
        ``p_truth`` is not in (0, 1].
    """
    pi = check_probability(true_proportion, "true_proportion")
    n = check_positive_int(n, "n")
    p = check_probability(p_truth, "p_truth", open_low=True)
    lam = p * pi + (1.0 - p) / 2.0
    return float(math.sqrt(lam * (1.0 - lam) / n) / p)


def rr_noise_std(*, n: int, p_truth: float) -> float:
    """Standard error of :func:`estimate_proportion` around a *fixed* database's own proportion.

    Given the database, answer ``y_i`` is Bernoulli((1+p)/2) if ``x_i = 1`` and
    Bernoulli((1−p)/2) if ``x_i = 0``; both have variance ``(1 − p²)/4``. Hence::

        sd(π̂ | database) = sqrt((1 − p²) / (4 n)) / p = sqrt(1 − p²) / (2 p √n)

    whatever the database. This is the error that privacy alone costs; it decays as
    ``1/√n`` (compare :func:`central_laplace_std`, which decays as ``1/n``).

    Parameters
    ----------
    n
        Number of people, an integer >= 1.
    p_truth
        Truth probability, in (0, 1].

    Returns
    -------
    float
        The standard deviation of ``π̂`` given the database.

    Raises
    ------
    ValueError
        If ``n`` is not an integer >= 1 or ``p_truth`` is not in (0, 1].
    """
    n = check_positive_int(n, "n")
    p = check_probability(p_truth, "p_truth", open_low=True)
    return float(math.sqrt(1.0 - p * p) / (2.0 * p * math.sqrt(n)))


def central_laplace_std(*, n: int, epsilon: float) -> float:
    """Standard error of the *central* Laplace estimate of a proportion: ``√2 / (n ε)``.

    A trusted curator computes the exact mean of n bits and adds Laplace noise of scale
    ``b = Δ/ε`` with sensitivity ``Δ = 1/n`` (changing one person's bit moves the mean
    by at most 1/n under replace-one neighbours with ``n`` public, the same privacy unit as
    randomized response); a Laplace(b) variable has standard deviation ``√2·b``. The released
    noisy share is ε-DP under replace-one (Dwork, McSherry, Nissim & Smith, 2006; formalised in
    lesson 03).

    With ``p = tanh(ε/2)`` (:func:`p_truth_for_epsilon`) the local-to-central ratio of standard
    errors is ``rr_noise_std / central_laplace_std = √(n/2) · (ε/2) / sinh(ε/2) ≤ √(n/2)``:
    both grow like ``1/ε`` as ε shrinks, and the gap comes from ``n``.

    Parameters
    ----------
    n
        Number of people, an integer >= 1.
    epsilon
        Privacy loss, > 0.

    Returns
    -------
    float
        ``√2 / (n ε)``.

    Raises
    ------
    ValueError
        If ``n`` is not an integer >= 1 or ``epsilon`` is not > 0.
    """
    n = check_positive_int(n, "n")
    eps = check_epsilon(epsilon)
    return float(math.sqrt(2.0) / (n * eps))


def simulate_estimates(db: Any, *, p_truth: float = 0.5, n_trials: int = 1000,
                       rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Estimates from ``n_trials`` independent runs of randomized response on the same database.

    Equivalent in distribution to
    ``[estimate_proportion(randomize_responses(db, p_truth=p, rng=rng), p_truth=p) for _ in range(n_trials)]``
    but fast: with ``k`` ones among ``n`` people the number of "yes" answers is
    ``Binomial(k, (1+p)/2) + Binomial(n − k, (1−p)/2)``.

    Parameters
    ----------
    db
        1-D array of 0/1 true answers.
    p_truth
        Truth probability, in (0, 1].
    n_trials
        Number of independent surveys to simulate, an integer >= 1.
    rng
        A ``numpy.random.Generator`` or an int seed.

    Returns
    -------
    numpy.ndarray
        1-D float array of ``n_trials`` estimates ``π̂``.

    Raises
    ------
    ValueError
        If ``db`` is not a non-empty 1-D 0/1 array, ``p_truth`` is not in (0, 1] or
        ``n_trials`` is not an integer >= 1.
    """
    x = as_database(db, "db", binary=True)
    p = check_probability(p_truth, "p_truth", open_low=True)
    n_trials = check_positive_int(n_trials, "n_trials")
    gen = as_rng(rng)
    n = x.size
    k = int(np.count_nonzero(x))
    yes = gen.binomial(k, (1.0 + p) / 2.0, size=n_trials) + gen.binomial(n - k, (1.0 - p) / 2.0, size=n_trials)
    return (yes / n - (1.0 - p) / 2.0) / p
