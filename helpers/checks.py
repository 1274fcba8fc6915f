"""The checks that exercise test cells call.

Every check either prints one line starting with ``✓`` or raises :class:`CheckFailure`
(a subclass of ``AssertionError``, so nbgrader counts the test cell as failed) whose
message says what was called, what came back, what was expected and a hint::

    CheckFailure: laplace_scale(sensitivity=2, epsilon=0.5) returned 1.0, expected 4.0.
    Hint: the scale grows with sensitivity and shrinks as epsilon grows: b = Δ/ε.

The student's function is what gets graded. While it runs, :func:`check_function` watches
(with ``sys.setprofile``) for calls into the reference implementation of the same
exercise, so an answer that merely delegates to ``helpers`` fails with a clear message
instead of earning the points.

Statistical checks (:func:`check_mean`, :func:`check_variance`, :func:`check_samples`)
take a fixed seed from the caller and accept a value within ``n_se`` standard errors of
the truth. With the default ``n_se=5`` a correct answer fails with probability below
6e-7 per check (two-sided normal tail), while the test cells choose sample sizes large
enough that the wrong answers students actually write fall far outside the band.
"""
from __future__ import annotations

import contextlib
import copy
import inspect
import math
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ._validation import to_numpy as _to_numpy

__all__ = [
    "CheckFailure",
    "check_function",
    "check_raises",
    "check_close",
    "check_equal",
    "check_true",
    "check_mean",
    "check_variance",
    "check_samples",
    "check_reproducible",
    "forbid_reference",
    "passed",
]


class CheckFailure(AssertionError):
    """A check failed; the message says what was expected, what came back and a hint."""


# ----------------------------------------------------------------------------- formatting


def _short(value: Any, limit: int = 120) -> str:
    """A readable one-line description of a value (arrays are summarised)."""
    value = _to_numpy(value)
    if isinstance(value, np.ndarray):
        if value.size <= 8:
            text = np.array2string(value, precision=6, separator=", ")
        else:
            flat = value.ravel()
            head = np.array2string(flat[:4], precision=4, separator=", ")[1:-1]
            text = f"array(shape={value.shape}, dtype={value.dtype}, first=[{head}, ...])"
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe_call(name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    parts = [_short(a, 40) for a in args] + [f"{k}={_short(v, 40)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _with_hint(message: str, hint: str | None) -> str:
    return f"{message}\nHint: {hint}" if hint else message


def passed(what: str, n: int | None = None) -> None:
    """Print the one-line success message every check uses."""
    suffix = f" ({n} checks)" if n is not None and n != 1 else ""
    print(f"✓ {what}{suffix}")


# ----------------------------------------------------------------------------- comparison


def _mismatch(got: Any, expected: Any, rtol: float, atol: float) -> str | None:
    """Return None if ``got`` matches ``expected``, else a reason."""
    got = _to_numpy(got)
    expected = _to_numpy(expected)
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            return f"expected a dict, got {type(got).__name__}"
        if set(got) != set(expected):
            return f"expected keys {sorted(map(str, expected))}, got {sorted(map(str, got))}"
        for key in expected:
            reason = _mismatch(got[key], expected[key], rtol, atol)
            if reason:
                return f"at key {key!r}: {reason}"
        return None
    if isinstance(expected, tuple) and not isinstance(got, np.ndarray):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected a tuple of {len(expected)} values, got {_short(got)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            reason = _mismatch(g, e, rtol, atol)
            if reason:
                return f"at position {i}: {reason}"
        return None
    if isinstance(expected, (str, bytes)) or expected is None:
        return None if got == expected else f"expected {expected!r}"
    if isinstance(expected, (bool, np.bool_)):
        if not isinstance(got, (bool, np.bool_)):
            return f"expected a bool, got {type(got).__name__}"
        return None if bool(got) == bool(expected) else f"expected {bool(expected)}"
    try:
        e = np.asarray(expected, dtype=float)
        g = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return None if got == expected else f"expected {_short(expected)}"
    if e.shape != g.shape:
        return f"expected shape {e.shape}, got shape {g.shape}"
    if np.array_equal(np.isnan(e), np.isnan(g)) is False:
        return "NaN where a number was expected (or the reverse)"
    ok = np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    if not ok.all():
        if e.ndim == 0:
            return f"expected {_short(float(e))}"
        idx = tuple(int(i) for i in np.argwhere(~ok)[0])
        return f"{int((~ok).sum())} of {ok.size} entries differ; first at index {idx}: got {g[idx]:.6g}, expected {e[idx]:.6g}"
    return None


# ----------------------------------------------------------------------------- delegation guard


def _code_objects(funcs: Iterable[Callable[..., Any]]) -> set[Any]:
    codes = set()
    for fn in funcs:
        fn = inspect.unwrap(fn) if callable(fn) else fn
        code = getattr(fn, "__code__", None) or getattr(getattr(fn, "__func__", None), "__code__", None)
        if code is not None:
            codes.add(code)
    return codes


@contextlib.contextmanager
def forbid_reference(*funcs: Callable[..., Any]) -> Iterator[list[str]]:
    """Record calls into the given functions while the block runs.

    Yields a list that fills with the names of forbidden functions that were entered.
    Works whatever name the student imported the reference under, because it compares
    code objects, not names.
    """
    codes = _code_objects(funcs)
    hits: list[str] = []
    previous = sys.getprofile()

    def profiler(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code in codes:
            hits.append(f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_name}")

    sys.setprofile(profiler)
    threading.setprofile(profiler)
    try:
        yield hits
    finally:
        sys.setprofile(previous)
        threading.setprofile(None)  # type: ignore[arg-type]


def _delegation_message(name: str, hits: list[str]) -> str:
    return (
        f"{name} calls {hits[0]}, the course's reference solution of this very exercise. "
        "The grader checks your own code, so this earns no points.\n"
        "Hint: write the computation yourself; numpy and helpers from *earlier* exercises are fine."
    )


# ----------------------------------------------------------------------------- checks


def _split_case(case: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if isinstance(case, Mapping):
        return (), dict(case)
    if isinstance(case, tuple) and len(case) == 2 and isinstance(case[0], tuple) and isinstance(case[1], Mapping):
        return case[0], dict(case[1])
    if isinstance(case, tuple):
        return case, {}
    return (case,), {}


def _call_student(fn: Callable[..., Any], name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                  forbid: Sequence[Callable[..., Any]], hint: str | None) -> Any:
    call = _describe_call(name, args, kwargs)
    with forbid_reference(*forbid) as hits:
        try:
            result = fn(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        except NotImplementedError:
            raise CheckFailure(
                f"{name} is not implemented yet: replace `raise NotImplementedError()` with your code."
            ) from None
        except CheckFailure:
            raise
        except Exception as exc:  # the student's error, reported with the call that caused it
            raise CheckFailure(_with_hint(f"{call} raised {type(exc).__name__}: {exc}", hint)) from exc
    if hits:
        raise CheckFailure(_delegation_message(name, hits))
    return result


def check_function(
    student_fn: Callable[..., Any],
    reference_fn: Callable[..., Any],
    cases: Iterable[Any],
    *,
    name: str | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    hint: str | None = None,
    forbid: Sequence[Callable[..., Any]] = (),
    quiet: bool = False,
) -> None:
    """Compare ``student_fn`` with ``reference_fn`` on every case.

    Parameters
    ----------
    student_fn, reference_fn
        The student's function and the course's reference implementation.
    cases
        Each case is a dict of keyword arguments, a tuple of positional arguments, or
        ``(args_tuple, kwargs_dict)``. Each function gets its own deep copy.
    name
        Name used in messages (defaults to ``student_fn.__name__``).
    rtol, atol
        Tolerances for numbers and arrays (``numpy.isclose``).
    hint
        One sentence that helps a student who got it wrong.
    forbid
        Extra functions the student must not call (the reference is always forbidden).

    Returns
    -------
    None
        Deliberately nothing: nbgrader reads a number left as a test cell's last value as
        partial credit, so checks never return one.

    Raises
    ------
    CheckFailure
        On the first case that differs, naming the call, the value returned, the value
        expected and the hint; or if the student's function calls the reference.
    """
    name = name or getattr(student_fn, "__name__", "your function")
    if not callable(student_fn):
        raise CheckFailure(f"{name} should be a function, got {type(student_fn).__name__}.")
    forbidden = (reference_fn, *forbid)
    if _code_objects([student_fn]) & _code_objects(forbidden) or student_fn is reference_fn:
        raise CheckFailure(_delegation_message(name, [getattr(reference_fn, "__qualname__", name)]))
    count = 0
    for case in cases:
        args, kwargs = _split_case(case)
        got = _call_student(student_fn, name, args, kwargs, forbidden, hint)
        expected = reference_fn(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        reason = _mismatch(got, expected, rtol, atol)
        if reason:
            raise CheckFailure(
                _with_hint(f"{_describe_call(name, args, kwargs)} returned {_short(got)}: {reason}.", hint)
            )
        count += 1
    if count == 0:
        raise ValueError("check_function needs at least one case")
    if not quiet:
        passed(name, count)


def check_raises(
    student_fn: Callable[..., Any],
    cases: Iterable[Any],
    *,
    exception: type[BaseException] = ValueError,
    name: str | None = None,
    hint: str | None = None,
    quiet: bool = False,
) -> None:
    """Check that ``student_fn`` raises ``exception`` (default ``ValueError``) on every bad input."""
    name = name or getattr(student_fn, "__name__", "your function")
    count = 0
    for case in cases:
        args, kwargs = _split_case(case)
        call = _describe_call(name, args, kwargs)
        try:
            result = student_fn(*args, **kwargs)
        except NotImplementedError:
            raise CheckFailure(f"{name} is not implemented yet: replace `raise NotImplementedError()` with your code.") from None
        except exception:
            count += 1
            continue
        except Exception as exc:
            raise CheckFailure(
                _with_hint(f"{call} raised {type(exc).__name__}: {exc}; expected {exception.__name__}.", hint)
            ) from exc
        raise CheckFailure(
            _with_hint(f"{call} returned {_short(result)}; expected it to raise {exception.__name__}.", hint)
        )
    if not quiet:
        passed(f"{name} rejects bad input", count)


def check_close(got: Any, expected: Any, *, what: str, rtol: float = 1e-6, atol: float = 1e-9,
                hint: str | None = None, quiet: bool = False) -> None:
    """Check one value (number, array, tuple or dict of them) against the expected one."""
    reason = _mismatch(got, expected, rtol, atol)
    if reason:
        raise CheckFailure(_with_hint(f"{what} is {_short(got)}: {reason}.", hint))
    if not quiet:
        passed(what)


def check_equal(got: Any, expected: Any, *, what: str, hint: str | None = None, quiet: bool = False) -> None:
    """Check exact equality (arrays element-wise, shapes included)."""
    g, e = _to_numpy(got), _to_numpy(expected)
    same = np.array_equal(np.asarray(g), np.asarray(e)) if isinstance(e, np.ndarray) or isinstance(g, np.ndarray) else g == e
    if not same:
        raise CheckFailure(_with_hint(f"{what} is {_short(g)}, expected {_short(e)}.", hint))
    if not quiet:
        passed(what)


def check_true(condition: Any, *, what: str, message: str, hint: str | None = None, quiet: bool = False) -> None:
    """Check a condition; ``message`` says what went wrong when it is false."""
    if not bool(condition):
        raise CheckFailure(_with_hint(message, hint))
    if not quiet:
        passed(what)


def _finite_samples(samples: Any, what: str) -> np.ndarray:
    arr = np.asarray(_to_numpy(samples), dtype=float).ravel()
    if arr.size < 2:
        raise CheckFailure(f"{what}: expected many samples, got {arr.size}.")
    if not np.isfinite(arr).all():
        raise CheckFailure(f"{what}: the samples contain NaN or infinity.")
    return arr


def _within_standard_errors(got: float, expected: float, se: float, statistic: str, n: int, *, what: str,
                            n_se: float, hint: str | None, quiet: bool) -> None:
    if abs(got - expected) > n_se * se + 1e-12:
        raise CheckFailure(_with_hint(
            f"{what}: the {statistic} of {n} samples is {got:.6g}, expected {expected:.6g} "
            f"± {n_se * se:.3g} ({n_se:g} standard errors).", hint))
    if not quiet:
        passed(what)


def check_mean(samples: Any, expected_mean: float, *, std: float, what: str, n_se: float = 5.0,
               hint: str | None = None, quiet: bool = False) -> None:
    """Check that the sample mean is within ``n_se`` standard errors (``std/√n``) of the truth.

    ``std`` is the true standard deviation of one sample (from the math, not the data), so a
    wrong spread cannot widen its own tolerance.
    """
    arr = _finite_samples(samples, what)
    _within_standard_errors(float(arr.mean()), expected_mean, std / math.sqrt(arr.size), "mean", arr.size,
                            what=what, n_se=n_se, hint=hint, quiet=quiet)


def check_variance(samples: Any, expected_var: float, *, kurtosis: float = 3.0, what: str, n_se: float = 5.0,
                   hint: str | None = None, quiet: bool = False) -> None:
    """Check the sample variance against the truth.

    The standard error of the sample variance is ``σ² √((κ − 1)/n)`` where κ = μ₄/σ⁴ is the
    distribution's kurtosis (3 for a Gaussian, 6 for a Laplace, 1.8 for a uniform).
    """
    arr = _finite_samples(samples, what)
    se = expected_var * math.sqrt(max(kurtosis - 1.0, 1e-12) / arr.size)
    _within_standard_errors(float(arr.var(ddof=1)), expected_var, se, "variance", arr.size,
                            what=what, n_se=n_se, hint=hint, quiet=quiet)


def check_samples(samples: Any, *, mean: float, var: float, kurtosis: float = 3.0, what: str,
                  n_se: float = 5.0, hint: str | None = None, quiet: bool = False) -> None:
    """Check both the mean and the variance of samples from a known distribution."""
    check_mean(samples, mean, std=math.sqrt(var), what=what, n_se=n_se, hint=hint, quiet=True)
    check_variance(samples, var, kurtosis=kurtosis, what=what, n_se=n_se, hint=hint, quiet=True)
    if not quiet:
        passed(what)


def check_reproducible(make_output: Callable[[int], Any], *, what: str, hint: str | None = None,
                       quiet: bool = False) -> None:
    """Check that a randomized function is reproducible: same seed → same output, other seed → other output.

    ``make_output(seed)`` must build its own ``numpy.random.default_rng(seed)`` (or
    ``torch.Generator``) and return the result.
    """
    a, b, c = (_to_numpy(make_output(s)) for s in (0, 0, 1))
    if not np.array_equal(np.asarray(a), np.asarray(b)):
        raise CheckFailure(_with_hint(
            f"{what}: two runs with the same seed gave different results. "
            "Use the generator passed in (rng) for every random draw, not np.random.* or a new generator.", hint))
    if np.array_equal(np.asarray(a), np.asarray(c)):
        raise CheckFailure(_with_hint(f"{what}: runs with different seeds gave the same result; is it random at all?", hint))
    if not quiet:
        passed(what)
