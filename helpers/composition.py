"""Composition theorems and a privacy-budget accountant.

Introduced in lesson 03 (``03_laplace_gaussian``). Numpy only.

* :func:`sequential_composition` — k mechanisms on the same data: the ε's and δ's add up.
* :func:`parallel_composition` — mechanisms on *disjoint* subsets of rows: the maximum.
* :func:`advanced_composition` — k-fold composition of one (ε, δ)-DP mechanism, growing like
  √k (while k < 2 ln(1/δ')/(e^ε − 1)², then linearly again) at the price of an extra δ'
  (Dwork, Rothblum & Vadhan 2010).
* :class:`BudgetAccountant` — keeps a running total and refuses (:class:`BudgetExceededError`)
  any query that would overspend.

References
----------
C. Dwork, A. Roth. *The Algorithmic Foundations of Differential Privacy.* 2014
(Thm 3.14 sequential composition, Thm 3.20 advanced composition).
C. Dwork, G. N. Rothblum, S. Vadhan. *Boosting and differential privacy.* FOCS 2010.
F. McSherry. *Privacy integrated queries (PINQ).* SIGMOD 2009 (parallel composition).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_delta, check_epsilon, check_positive_int, check_value
from .mechanisms import gaussian_mechanism, laplace_mechanism, laplace_scale

__all__ = [
    "sequential_composition",
    "parallel_composition",
    "advanced_composition",
    "BudgetExceededError",
    "Spend",
    "BudgetAccountant",
]

# Budgets are compared with this relative slack so that, e.g., three queries of ε = 0.1 fit a budget
# of 0.3 despite floating-point rounding (0.1 + 0.1 + 0.1 = 0.30000000000000004).
_SLACK = 1e-9


def _check_delta0(delta: Any, name: str = "delta") -> float:
    """δ in [0, 1): 0 means pure ε-DP."""
    if isinstance(delta, bool) or not isinstance(delta, (int, float, np.integer, np.floating)) \
            or not (0.0 <= float(delta) < 1.0):
        raise ValueError(f"{name} must be in [0, 1), got {delta!r}")
    return float(delta)


def _privacy_keywords(example: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Refuse positional privacy parameters with a message that shows the keyword call.

    The signature stays the wrapped method's own (keyword-only), for ``help`` and ``inspect``.
    """
    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if args:
                name = method.__qualname__.replace(".__init__", "")
                raise TypeError(
                    f"{name} takes its privacy parameters by keyword only, e.g. {example}; "
                    f"got {len(args)} positional argument(s): {', '.join(repr(a) for a in args)[:200]}")
            return method(self, **kwargs)
        return wrapper
    return decorate


def _budgets(epsilons: Any, deltas: Any) -> tuple[list[float], list[float]]:
    if isinstance(epsilons, (int, float, np.integer, np.floating)):
        raise ValueError(f"epsilons must be a sequence of privacy losses, got the single number {epsilons!r}")
    eps = [check_epsilon(e, "epsilons[i]") for e in list(epsilons)]
    if not eps:
        raise ValueError("epsilons must not be empty")
    if deltas is None:
        dels = [0.0] * len(eps)
    else:
        if isinstance(deltas, (int, float, np.integer, np.floating)):
            raise ValueError(f"deltas must be a sequence (one per mechanism), got the single number {deltas!r}")
        dels = [_check_delta0(d, "deltas[i]") for d in list(deltas)]
        if len(dels) != len(eps):
            raise ValueError(f"deltas must have one entry per epsilon: got {len(dels)} deltas for {len(eps)} epsilons")
    return eps, dels


def sequential_composition(epsilons: Sequence[float], deltas: Sequence[float] | None = None) -> tuple[float, float]:
    """Basic composition: running mechanisms that are (εᵢ, δᵢ)-DP on the same data is
    ``(Σ εᵢ, Σ δᵢ)``-DP (Dwork & Roth 2014, Thm 3.16; Thm 3.14 for δ = 0).

    Parameters
    ----------
    epsilons
        One ε > 0 per mechanism.
    deltas
        One δ in [0, 1) per mechanism; ``None`` means all zero (pure DP).

    Returns
    -------
    (float, float)
        ``(sum(epsilons), sum(deltas))``.

    Raises
    ------
    ValueError
        If ``epsilons`` is empty or holds a value <= 0, a δ is outside [0, 1), or the lengths differ.
    """
    eps, dels = _budgets(epsilons, deltas)
    return float(math.fsum(eps)), float(math.fsum(dels))


def parallel_composition(epsilons: Sequence[float], deltas: Sequence[float] | None = None) -> tuple[float, float]:
    """Parallel composition: mechanisms that each touch a *disjoint* subset of the rows
    (a partition fixed independently of the data) are jointly ``(max εᵢ, max δᵢ)``-DP under
    remove-one neighbours, because one person's row reaches only one of them (McSherry 2009).
    Under replace-one neighbours a replaced row can leave one subset and join another, so two
    mechanisms see the change.

    Returns
    -------
    (float, float)
        ``(max(epsilons), max(deltas))``.

    Raises
    ------
    ValueError
        As :func:`sequential_composition`.
    """
    eps, dels = _budgets(epsilons, deltas)
    return float(max(eps)), float(max(dels))


def advanced_composition(*, epsilon: float, delta: float, k: int, delta_prime: float) -> tuple[float, float]:
    """Advanced composition of k runs of an (ε, δ)-DP mechanism.

    ``ε' = √(2k ln(1/δ')) ε + k ε (e^ε − 1)`` and the total failure probability is
    ``k δ + δ'``: the k-fold adaptive composition is (ε', kδ + δ')-DP
    (Dwork, Rothblum & Vadhan 2010; Dwork & Roth 2014, Thm 3.20). The first term grows like
    √k and dominates while ``k < 2 ln(1/δ') / (e^ε − 1)²`` (about ``2 ln(1/δ') / ε²`` for small
    ε); beyond that the second, linear term takes over (ε = 0.05, δ' = 1e-6, k = 10⁴: 26.3 +
    25.6 = 51.9). It beats the basic ``k ε`` once k is large enough if ``e^ε − 1 < 1``; for
    large ε basic composition wins — take the minimum of the two.

    Parameters
    ----------
    epsilon
        ε > 0 of one run.
    delta
        δ in [0, 1) of one run (0 for the Laplace mechanism).
    k
        Number of runs (integer >= 1).
    delta_prime
        The extra slack δ' in (0, 1).

    Returns
    -------
    (float, float)
        ``(ε', k δ + δ')``.

    Raises
    ------
    ValueError
        If ``epsilon <= 0``, ``delta`` not in [0, 1), ``k`` not an integer >= 1, or
        ``delta_prime`` not in (0, 1).
    """
    epsilon = check_epsilon(epsilon)
    delta = _check_delta0(delta)
    k = check_positive_int(k, "k")
    delta_prime = check_delta(delta_prime, "delta_prime")
    eps_total = math.sqrt(2.0 * k * math.log(1.0 / delta_prime)) * epsilon + k * epsilon * math.expm1(epsilon)
    return float(eps_total), float(k * delta + delta_prime)


class BudgetExceededError(ValueError):
    """A query would push the spent privacy budget over the total; nothing was spent."""


@dataclass(frozen=True)
class Spend:
    """One entry of :attr:`BudgetAccountant.history`."""

    label: str
    epsilon: float
    delta: float


class BudgetAccountant:
    """Track the (ε, δ) budget spent on one database under sequential composition.

    Every query calls :meth:`spend` *before* it looks at the data; a query that would exceed
    the budget raises :class:`BudgetExceededError` and spends nothing, so the data analyst
    can still run a cheaper query.

    Parameters
    ----------
    epsilon_budget
        Total ε > 0 (keyword-only, like every privacy parameter of the course).
    delta_budget
        Total δ in [0, 1) (default 0: pure ε-DP only).

    Raises
    ------
    TypeError
        If a privacy parameter is given positionally.
    ValueError
        If ``epsilon_budget <= 0`` or ``delta_budget`` is not in [0, 1).

    Examples
    --------
    >>> acct = BudgetAccountant(epsilon_budget=1.0)
    >>> acct.spend(epsilon=0.4, label="count")
    >>> acct.remaining
    (0.6, 0.0)
    >>> acct.spend(epsilon=0.7)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    BudgetExceededError: ...
    """

    @_privacy_keywords("BudgetAccountant(epsilon_budget=1.0, delta_budget=1e-5)")
    def __init__(self, *, epsilon_budget: float, delta_budget: float = 0.0) -> None:
        self.epsilon_budget = check_epsilon(epsilon_budget, "epsilon_budget")
        self.delta_budget = _check_delta0(delta_budget, "delta_budget")
        self._history: list[Spend] = []

    # -- state
    @property
    def spent(self) -> tuple[float, float]:
        """``(ε, δ)`` spent so far (sequential composition of the history)."""
        eps = math.fsum(s.epsilon for s in self._history)
        dels = math.fsum(s.delta for s in self._history)
        return float(eps), float(dels)

    @property
    def remaining(self) -> tuple[float, float]:
        """``(ε, δ)`` still available (never negative)."""
        eps, dels = self.spent
        return max(0.0, self.epsilon_budget - eps), max(0.0, self.delta_budget - dels)

    @property
    def history(self) -> list[Spend]:
        """A copy of the list of queries paid for, in order."""
        return list(self._history)

    @_privacy_keywords("acct.can_spend(epsilon=0.5, delta=1e-6)")
    def can_spend(self, *, epsilon: float, delta: float = 0.0) -> bool:
        """Whether :meth:`spend` with these arguments would succeed (validates them too)."""
        epsilon = check_epsilon(epsilon)
        delta = _check_delta0(delta)
        eps, dels = self.spent
        eps_ok = eps + epsilon <= self.epsilon_budget * (1 + _SLACK)
        del_ok = dels + delta <= self.delta_budget * (1 + _SLACK) + 1e-300
        return eps_ok and del_ok

    # -- spending
    @_privacy_keywords('acct.spend(epsilon=0.5, delta=1e-6, label="count")')
    def spend(self, *, epsilon: float, delta: float = 0.0, label: str = "query") -> None:
        """Record a query costing ``(epsilon, delta)`` (keyword-only).

        Raises
        ------
        BudgetExceededError
            If the total would exceed the budget; nothing is recorded.
        TypeError
            If ``epsilon`` or ``delta`` is given positionally.
        ValueError
            If ``epsilon <= 0`` or ``delta`` is not in [0, 1).
        """
        if not self.can_spend(epsilon=epsilon, delta=delta):
            eps, dels = self.spent
            raise BudgetExceededError(
                f"query {label!r} needs epsilon={float(epsilon):g}, delta={float(delta):g} but only "
                f"epsilon={max(0.0, self.epsilon_budget - eps):g}, delta={max(0.0, self.delta_budget - dels):g} "
                f"remain of the budget (epsilon={self.epsilon_budget:g}, delta={self.delta_budget:g}); "
                "nothing was spent"
            )
        self._history.append(Spend(str(label), float(epsilon), float(delta)))

    def laplace(self, value: float | np.ndarray, *, sensitivity: float, epsilon: float,
                rng: np.random.Generator | int | None = None, label: str = "laplace") -> float | np.ndarray:
        """Pay ε, then release ``value + Lap(sensitivity/ε)`` (see ``helpers.laplace_mechanism``).

        Raises :class:`BudgetExceededError` (and releases nothing) if ε does not fit.
        """
        laplace_scale(sensitivity=sensitivity, epsilon=epsilon)  # validate everything before spending
        check_value(value)
        self.spend(epsilon=epsilon, delta=0.0, label=label)
        return laplace_mechanism(value, sensitivity=sensitivity, epsilon=epsilon, rng=rng)

    def gaussian(self, value: float | np.ndarray, *, sensitivity: float, epsilon: float, delta: float,
                 rng: np.random.Generator | int | None = None, label: str = "gaussian") -> float | np.ndarray:
        """Pay (ε, δ), then release ``value + N(0, σ²)`` with the analytic σ (``helpers.gaussian_mechanism``)."""
        check_delta(delta)
        laplace_scale(sensitivity=sensitivity, epsilon=epsilon)  # validates sensitivity and epsilon
        check_value(value)
        self.spend(epsilon=epsilon, delta=delta, label=label)
        return gaussian_mechanism(value, sensitivity=sensitivity, epsilon=epsilon, delta=delta, rng=rng)

    def __repr__(self) -> str:
        eps, dels = self.spent
        return (f"BudgetAccountant(spent epsilon={eps:g} of {self.epsilon_budget:g}, "
                f"delta={dels:g} of {self.delta_budget:g}, {len(self._history)} queries)")
