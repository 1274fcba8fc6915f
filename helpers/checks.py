"""The checks that exercise test cells call.

Every check either prints one line starting with ``✓`` or raises :class:`CheckFailure`
(a subclass of ``AssertionError``, so nbgrader counts the test cell as failed) whose
message says what was called, what came back, what was expected and a hint::

    ✗ laplace_scale(sensitivity=2, epsilon=0.5) returned 1.0: expected 4.0.
    Hint: the scale grows with sensitivity and shrinks as epsilon grows: b = Δ/ε.

In Jupyter a failed check shows only that message, not a traceback through this module
(:meth:`CheckFailure._render_traceback_`); set ``COURSE_FULL_TRACEBACKS=1`` to see the whole
traceback when debugging the course itself. When the student's own code raised, the message
names the exception and the line of the student's code that raised it.

The student's function is what gets graded, so while it runs (:func:`call`, and every check
that calls it) the checks watch it:

* **delegation**: it must not call the course's implementation of the exercise, nor any other
  ``helpers`` function that computes the same thing (a sibling), unless the exercise allows it
  (``allow=[...]``). Every function and method defined in ``helpers`` is forbidden by default,
  except the checks themselves, ``helpers.config``, input validation and models' ``forward``;
  calls that an *allowed* ``helpers`` function makes internally are fine;
* **tampering**: it must not switch off the watch (``sys.setprofile``/``sys.settrace``, seen
  by an audit hook that cannot be removed) nor rebind functions or modules in ``helpers``, numpy,
  ``math``, builtins, ``scipy.special``/``scipy.stats`` or the test cell's namespace while it runs.
  (This raises the bar; it is not a sandbox: code that runs in the grader's process can always
  do more, which is why grading runs each submission in a sandbox of its own.)
* **types**: a value is compared with the expected one only if it has the expected kind (an
  array where an array is expected, with the same dtype kind — or the same dtype with
  ``exact_dtype=True`` —, a number where a number is expected, ...), so an object whose
  ``__eq__`` always says True earns nothing.

Statistical checks (:func:`check_mean`, :func:`check_variance`, :func:`check_samples`)
take a fixed seed from the caller and accept a value within ``n_se`` standard errors of
the truth. With the default ``n_se=5`` a correct answer fails with probability below
6e-7 per check (two-sided normal tail), while the test cells choose sample sizes large
enough that the wrong answers students actually write fall far outside the band.
"""
from __future__ import annotations

import contextlib
import copy
import dis
import inspect
import linecache
import math
import numbers
import os
import random
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ._validation import to_numpy as _to_numpy

__all__ = [
    "CheckFailure",
    "call",
    "check_function",
    "check_raises",
    "check_close",
    "check_equal",
    "check_true",
    "check_mean",
    "check_variance",
    "check_samples",
    "check_reproducible",
    "check_fresh_randomness",
    "seeded_rng",
    "forbid_reference",
    "passed",
]

FULL_TRACEBACKS_ENV = "COURSE_FULL_TRACEBACKS"


class CheckFailure(AssertionError):
    """A check failed; the message says what was expected, what came back and a hint."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: the message alone, first line in red.

        IPython falls back to the full traceback when this raises, which is what
        ``COURSE_FULL_TRACEBACKS=1`` asks for.
        """
        if os.environ.get(FULL_TRACEBACKS_ENV, "").strip() not in ("", "0"):
            raise NotImplementedError("full traceback requested")
        lines = str(self).splitlines() or ["check failed"]
        return [f"\x1b[0;31m✗ {lines[0]}\x1b[0m", *lines[1:]]


# ----------------------------------------------------------------------------- formatting


def _short(value: Any, limit: int = 120) -> str:
    """A readable one-line description of a value (arrays, tensors, dicts and models summarised)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.nn.Module):
        text = f"<{type(value).__name__} model>"
    elif torch is not None and isinstance(value, torch.Tensor) and value.numel() > 8:
        text = f"tensor(shape={tuple(value.shape)}, dtype={str(value.dtype).replace('torch.', '')})"
    elif isinstance(value, Mapping):
        items = [f"{k!r}: {_short(v, 40)}" for k, v in list(value.items())[:4]]
        text = "{" + ", ".join(items) + (", ..." if len(value) > 4 else "") + "}"
    elif isinstance(value, (list, tuple)) and len(value) > 0 and not all(isinstance(v, (int, float)) for v in value):
        items = [_short(v, 40) for v in value[:4]]
        body = ", ".join(items) + (", ..." if len(value) > 4 else "")
        text = f"[{body}]" if isinstance(value, list) else f"({body}{',' if len(value) == 1 else ''})"
    else:
        value = _to_numpy(value)
        if isinstance(value, np.ndarray):
            if value.size <= 8:
                text = np.array2string(value, precision=6, separator=", ")
            else:
                flat = value.ravel()
                head = np.array2string(flat[:4], precision=4, separator=", ")[1:-1]
                text = f"array(shape={value.shape}, dtype={value.dtype}, first=[{head}, ...])"
        elif isinstance(value, (float, np.floating)):
            text = f"{float(value):.6g}"
        elif callable(value):
            text = getattr(value, "__qualname__", None) or getattr(value, "__name__", None) or type(value).__name__
        else:
            try:
                text = repr(value)
            except Exception:  # a student's object whose __repr__ fails
                text = f"<{type(value).__name__} object>"
    text = " ".join(text.split())  # one line, always
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


# ----------------------------------------------------------------------------- where code lives

_HELPERS_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
# Files of helpers whose functions a student may always call (or that the checks call themselves).
_GUARD_EXEMPT_FILES = frozenset({"checks.py", "config.py", "_validation.py", "__init__.py"})
_GUARD_EXEMPT_NAMES = frozenset({"forward", "<module>", "__repr__", "__str__", "extra_repr"})


def _library_roots() -> tuple[str, ...]:
    roots = {_HELPERS_DIR}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(KeyError):
            roots.add(os.path.abspath(sysconfig.get_paths()[key]) + os.sep)
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        roots.add(os.path.abspath(prefix) + os.sep)
    return tuple(sorted(roots))


_LIBRARY_ROOTS = _library_roots()


def _is_library_file(filename: str) -> bool:
    """Code of Python itself, of an installed package or of ``helpers`` (not a notebook's code)."""
    if filename.startswith("<frozen") or filename.startswith("<built-in"):
        return True
    return filename.startswith(_LIBRARY_ROOTS)


def _is_guarded_helpers_code(code: Any) -> bool:
    """A ``helpers`` function or method the delegation guard watches (all but the exempt ones)."""
    filename = code.co_filename
    return (filename.startswith(_HELPERS_DIR) and os.path.basename(filename) not in _GUARD_EXEMPT_FILES
            and code.co_name not in _GUARD_EXEMPT_NAMES)


def _student_location(exc: BaseException) -> str:
    """' (line N of your code: `source`)' for the innermost traceback frame in the student's code."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        if not _is_library_file(tb.tb_frame.f_code.co_filename):
            found = tb
        tb = tb.tb_next
    if found is None:
        return ""
    code = found.tb_frame.f_code
    line = linecache.getline(code.co_filename, found.tb_lineno).strip()
    where = f"in {code.co_name}" if code.co_name != "<module>" else "in your cell"
    return f" ({where}, line {found.tb_lineno}: `{line}`)" if line else f" ({where}, line {found.tb_lineno})"


# ----------------------------------------------------------------------------- comparison


def _kind(dtype: Any) -> str:
    kind = np.dtype(dtype).kind
    return {"u": "i", "i": "i", "b": "b", "f": "f", "c": "c"}.get(kind, kind)


_KIND_NAMES = {"i": "integers", "b": "booleans", "f": "floats", "c": "complex numbers"}


def _is_number(value: Any) -> bool:
    return isinstance(value, (numbers.Number, np.number, np.bool_)) and not isinstance(value, (bool, np.bool_))


def _mismatch(got: Any, expected: Any, rtol: float, atol: float, *, exact_dtype: bool = False) -> str | None:
    """Return None if ``got`` matches ``expected``, else a reason.

    ``got`` must have the kind of value ``expected`` has: this never relies on ``got.__eq__``.
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return f"expected a torch tensor, got {type(got).__name__}"
        if exact_dtype and got.dtype != expected.dtype:
            return f"expected dtype {expected.dtype}, got {got.dtype}"
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            return f"expected a dict, got {type(got).__name__}"
        if set(got) != set(expected):
            return f"expected keys {sorted(map(str, expected))}, got {sorted(map(str, got))}"
        for key in expected:
            reason = _mismatch(got[key], expected[key], rtol, atol, exact_dtype=exact_dtype)
            if reason:
                return f"at key {key!r}: {reason}"
        return None
    if isinstance(expected, (tuple, list)) and not (isinstance(expected, list) and _all_numbers(expected)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected a tuple of {len(expected)} values, got {_short(got)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            reason = _mismatch(g, e, rtol, atol, exact_dtype=exact_dtype)
            if reason:
                return f"at position {i}: {reason}"
        return None
    if expected is None:
        return None if got is None else f"expected None, got {_short(got)}"
    if isinstance(expected, (str, bytes)):
        return None if type(got) is type(expected) and got == expected else f"expected {expected!r}"
    if isinstance(expected, (bool, np.bool_)):
        if not isinstance(got, (bool, np.bool_)):
            return f"expected a bool (True/False), got {type(got).__name__}"
        return None if bool(got) == bool(expected) else f"expected {bool(expected)}"
    got_np, exp_np = _to_numpy(got), _to_numpy(expected)
    if isinstance(exp_np, np.ndarray):
        if not isinstance(got_np, np.ndarray):
            return f"expected a numpy array, got {type(got).__name__}"
        if exact_dtype and got_np.dtype != exp_np.dtype:
            return f"expected dtype {exp_np.dtype}, got dtype {got_np.dtype}"
        if _kind(got_np.dtype) != _kind(exp_np.dtype):
            return (f"expected an array of {_KIND_NAMES.get(_kind(exp_np.dtype), exp_np.dtype)} ({exp_np.dtype}), "
                    f"got {_KIND_NAMES.get(_kind(got_np.dtype), got_np.dtype)} ({got_np.dtype})")
    elif _is_number(exp_np) or isinstance(expected, list):
        if isinstance(expected, list):
            if not isinstance(got, (list, tuple, np.ndarray)):
                return f"expected a list of numbers, got {type(got).__name__}"
        elif not (_is_number(got_np) or (isinstance(got_np, np.ndarray) and got_np.ndim == 0
                                          and _kind(got_np.dtype) in "if")):
            return f"expected a number, got {type(got).__name__} {_short(got, 60)}"
    else:
        return None if got is expected else f"expected {_short(expected)}"
    try:
        e = np.asarray(exp_np, dtype=float)
        g = np.asarray(got_np, dtype=float)
    except (TypeError, ValueError):
        return f"expected {_short(expected)}, got something that is not a number"
    if e.shape != g.shape:
        return f"expected shape {e.shape}, got shape {g.shape}"
    if not np.array_equal(np.isnan(e), np.isnan(g)):
        return "NaN where a number was expected (or the reverse)"
    ok = np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    if not ok.all():
        if e.ndim == 0:
            return f"expected {_short(float(e))}"
        idx = tuple(int(i) for i in np.argwhere(~ok)[0])
        return f"{int((~ok).sum())} of {ok.size} entries differ; first at index {idx}: got {g[idx]:.6g}, expected {e[idx]:.6g}"
    return None


def _all_numbers(values: Sequence[Any]) -> bool:
    return all(_is_number(v) for v in values)


# ----------------------------------------------------------------------------- the watch


class _Watch(threading.local):
    """Per-thread state of the watch on a student's call (read by the audit hook)."""

    def __init__(self) -> None:
        self.active = False
        self.tampering: list[str] = []


_watch = _Watch()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    # An audit hook cannot be removed, so a student's function cannot switch this off.
    if _watch.active and event in ("sys.setprofile", "sys.settrace"):
        _watch.tampering.append(f"{event}()")


sys.addaudithook(_audit)


def _code_objects(funcs: Iterable[Any]) -> set[Any]:
    codes = set()
    for fn in funcs:
        if isinstance(fn, type):  # a class: all its methods
            for attr in vars(fn).values():
                codes |= _code_objects([attr])
            continue
        fn = getattr(fn, "__func__", fn)  # bound/static/class methods
        if callable(fn):
            with contextlib.suppress(ValueError):
                fn = inspect.unwrap(fn)
        code = getattr(fn, "__code__", None)
        if code is not None:
            codes.add(code)
    return codes


def _qualified(code: Any, frame: Any) -> str:
    module = frame.f_globals.get("__name__", "?")
    return f"{module}.{getattr(code, 'co_qualname', code.co_name)}"


def _watched_modules(extra: Iterable[Any] = ()) -> list[Any]:
    # Not torch: importing some of its parts lazily rebinds its own names (torch._dynamo wraps
    # torch.manual_seed), which would read as tampering.
    names = ["numpy", "math", "builtins", "scipy.special", "scipy.stats"]
    mods = [sys.modules[n] for n in names if n in sys.modules]
    mods += [m for n, m in list(sys.modules.items()) if (n == "helpers" or n.startswith("helpers.")) and m is not None]
    mods += [m for m in extra if m is not None]
    return mods


def _snapshot(namespaces: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[tuple[str, str], int]:
    snap = {}
    for label, ns in namespaces:
        for key, value in list(ns.items()):
            if isinstance(value, type(sys)) or callable(value):
                snap[(label, key)] = id(value)
    return snap


def _caller_globals() -> dict[str, Any] | None:
    """The globals of the first frame outside this module: the test cell's namespace."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return frame.f_globals if frame is not None else None


@contextlib.contextmanager
def _watching(name: str, *, forbidden: Iterable[Any] = (), allow: Iterable[Any] = (),
              test_globals: Mapping[str, Any] | None = None) -> Iterator[list[str]]:
    """Run the block under the delegation guard and the tamper checks; yields the list of hits.

    Raises :class:`CheckFailure` after the block if the code in it tampered with the checks.
    """
    forbidden_codes = _code_objects(forbidden)
    allowed_codes = _code_objects(allow) - forbidden_codes
    hits: list[str] = []
    boundary = sys._getframe(2) if sys._getframe(1).f_code.co_name == "__enter__" else sys._getframe(1)

    def profiler(frame: Any, event: str, arg: Any) -> None:
        if event != "call":
            return
        code = frame.f_code
        if code in forbidden_codes:
            hits.append(_qualified(code, frame))
            return
        if code in allowed_codes or not _is_guarded_helpers_code(code):
            return
        # A helpers function: fine if another helpers function (allowed, or already reported)
        # called it; a hit if the student's code reached it directly or through a library.
        outer = frame.f_back
        while outer is not None and outer is not boundary:
            if outer.f_code in allowed_codes or _is_guarded_helpers_code(outer.f_code):
                return
            outer = outer.f_back
        hits.append(_qualified(code, frame))

    namespaces = [(getattr(m, "__name__", "?"), vars(m)) for m in _watched_modules()]
    if test_globals is not None:
        namespaces.append(("your notebook", test_globals))
    before = _snapshot(namespaces)
    # A watch may start inside another (a check called inside forbid_reference): our own
    # setprofile calls are not tampering, and the outer watch resumes afterwards.
    outer_active, outer_tampering = _watch.active, _watch.tampering
    _watch.active = False
    previous, previous_threads = sys.getprofile(), threading.getprofile()
    sys.setprofile(profiler)
    threading.setprofile(profiler)
    _watch.tampering = []
    _watch.active = True
    try:
        yield hits
    finally:
        _watch.active = False
        sys.setprofile(previous)
        threading.setprofile(previous_threads)  # type: ignore[arg-type]
        tampered = list(_watch.tampering)
        _watch.tampering, _watch.active = outer_tampering, outer_active
    after = _snapshot(namespaces)
    changed = sorted(f"{label}.{key}" for (label, key), ident in before.items() if after.get((label, key)) != ident)
    if tampered or changed:
        what = ", ".join(tampered + [f"rebound {c}" for c in changed[:5]])
        raise CheckFailure(
            f"{name} changed the grader's environment while it ran ({what}). Functions graded here must "
            "only compute their result: they may not switch off the checks' watch, or replace functions "
            "and modules (numpy, math, helpers, the test's own names), so this earns no points.")


def _delegation_message(name: str, hits: list[str], reference: Any = None, allow: Sequence[Any] = ()) -> str:
    ref_name = None
    if reference is not None:
        ref_name = f"{getattr(reference, '__module__', '?')}.{getattr(reference, '__qualname__', '?')}"
    if ref_name and hits[0] == ref_name:
        what = "the course's reference solution of this very exercise"
    else:
        what = "a course function that computes what this exercise asks you to write yourself"
    allowed = [f"{getattr(a, '__module__', '?')}.{getattr(a, '__qualname__', '?')}" for a in allow]
    tail = f" Allowed here: {', '.join(allowed)}." if allowed else ""
    return (
        f"{name} calls {hits[0]}, {what}. "
        "The grader checks your own code, so this earns no points.\n"
        "Hint: write the computation yourself with numpy (or torch); use only the course functions the "
        f"exercise names.{tail}"
    )


@contextlib.contextmanager
def forbid_reference(*funcs: Callable[..., Any], allow: Sequence[Any] = ()) -> Iterator[list[str]]:
    """Record calls into ``helpers`` functions while the block runs.

    Yields a list that fills with the names of the ``helpers`` functions the block called
    directly: the given ``funcs`` always, and any other ``helpers`` function not in ``allow``
    (calls an allowed function makes internally are not recorded). Works whatever name the
    student imported a function under, because it compares code objects, not names.
    Tampering with the watch inside the block raises :class:`CheckFailure`.
    """
    with _watching("your code", forbidden=funcs, allow=allow, test_globals=_caller_globals()) as hits:
        yield hits


# ----------------------------------------------------------------------------- calling the student


def _split_case(case: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if isinstance(case, Mapping):
        return (), dict(case)
    if isinstance(case, tuple) and len(case) == 2 and isinstance(case[0], tuple) and isinstance(case[1], Mapping):
        return case[0], dict(case[1])
    if isinstance(case, tuple):
        return case, {}
    return (case,), {}


def _name_of(fn: Any, name: str | None) -> str:
    return name or getattr(fn, "__name__", None) or "your function"


def _call_student(fn: Callable[..., Any], name: str, args: tuple[Any, ...], kwargs: dict[str, Any], *,
                  reference: Any = None, forbid: Sequence[Callable[..., Any]] = (), allow: Sequence[Any] = (),
                  hint: str | None = None, test_globals: Mapping[str, Any] | None = None,
                  expect_raise: type[BaseException] | None = None) -> Any:
    """Call the student's function under the watch; failures become :class:`CheckFailure`.

    With ``expect_raise``, returns ``(exception raised or None, value returned)``.
    """
    call_text = _describe_call(name, args, kwargs)
    forbidden = [f for f in (reference, *forbid) if f is not None]
    raised: BaseException | None = None
    result = None
    with _watching(name, forbidden=forbidden, allow=allow, test_globals=test_globals) as hits:
        try:
            result = fn(*args, **kwargs)
        except NotImplementedError:
            raise CheckFailure(
                f"{name} is not implemented yet: replace `raise NotImplementedError()` with your code."
            ) from None
        except CheckFailure:
            raise
        except Exception as exc:  # the student's error, reported with the call and line that caused it
            raised = exc
    if hits:
        raise CheckFailure(_delegation_message(name, hits, reference, allow))
    if raised is not None:
        if expect_raise is not None and isinstance(raised, expect_raise):
            return raised, None
        detail = f"{call_text} raised {type(raised).__name__}: {raised}{_student_location(raised)}"
        if expect_raise is not None:
            detail += f"; expected {expect_raise.__name__}"
        raise CheckFailure(_with_hint(detail, hint)) from raised
    if expect_raise is not None:
        return None, result
    return result


def call(student_fn: Callable[..., Any], *args: Any, name: str | None = None, reference: Any = None,
         allow: Sequence[Any] = (), hint: str | None = None, **kwargs: Any) -> Any:
    """Call the student's function once, under the same watch as :func:`check_function`.

    Test cells use this (never a bare call) whenever they need the student's output for a check
    of their own, e.g. a statistical one::

        draws = call(laplace_mechanism, np.zeros(100_000), sensitivity=1, epsilon=0.5, rng=rng)
        check_samples(draws, mean=0, var=8, kurtosis=6, what=...)

    Raises :class:`CheckFailure` if the function is not implemented, raises, calls a forbidden
    ``helpers`` function (the ``reference`` or a sibling not in ``allow``) or tampers with the checks.
    """
    name = _name_of(student_fn, name)
    _check_callable(student_fn, name)
    return _call_student(student_fn, name, args, kwargs, reference=reference, allow=allow, hint=hint,
                         test_globals=_caller_globals())


def _check_callable(fn: Any, name: str) -> None:
    if not callable(fn):
        raise CheckFailure(f"{name} should be a function, got {type(fn).__name__}.")


# ----------------------------------------------------------------------------- checks


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
    allow: Sequence[Any] = (),
    exact_dtype: bool = False,
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
        Extra functions the student must not call (every ``helpers`` function not in ``allow``
        is forbidden anyway; the reference always is).
    allow
        ``helpers`` functions the exercise lets the student call (earlier exercises' course versions).
    exact_dtype
        Require arrays and tensors of exactly the reference's dtype (not only the same kind).

    Returns
    -------
    None
        Deliberately nothing: nbgrader reads a number left as a test cell's last value as
        partial credit, so checks never return one.

    Raises
    ------
    CheckFailure
        On the first case that differs, naming the call, the value returned, the value
        expected and the hint; or if the student's function calls a forbidden function.
    """
    name = _name_of(student_fn, name)
    _check_callable(student_fn, name)
    if _code_objects([student_fn]) & _code_objects([reference_fn, *forbid]) or student_fn is reference_fn:
        raise CheckFailure(_delegation_message(name, [f"{reference_fn.__module__}.{reference_fn.__qualname__}"],
                                               reference_fn, allow))
    test_globals = _caller_globals()
    count = 0
    for case in cases:
        args, kwargs = _split_case(case)
        got = _call_student(student_fn, name, copy.deepcopy(args), copy.deepcopy(kwargs), reference=reference_fn,
                            forbid=forbid, allow=allow, hint=hint, test_globals=test_globals)
        expected = reference_fn(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        reason = _mismatch(got, expected, rtol, atol, exact_dtype=exact_dtype)
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
    reference: Any = None,
    allow: Sequence[Any] = (),
    quiet: bool = False,
) -> None:
    """Check that ``student_fn`` raises ``exception`` (default ``ValueError``) on every bad input.

    The error must come from the student's own validation: an exception raised by accident deep
    inside numpy (say, broadcasting a 2-D array) does not count, because its message would not
    tell the caller what was wrong.
    """
    name = _name_of(student_fn, name)
    _check_callable(student_fn, name)
    test_globals = _caller_globals()
    count = 0
    for case in cases:
        args, kwargs = _split_case(case)
        call_text = _describe_call(name, args, kwargs)
        exc, result = _call_student(student_fn, name, copy.deepcopy(args), copy.deepcopy(kwargs),
                                    reference=reference, allow=allow, hint=hint, test_globals=test_globals,
                                    expect_raise=exception)
        if exc is None:
            raise CheckFailure(_with_hint(f"{call_text} returned {_short(result)}; expected it to raise "
                                          f"{exception.__name__}.", hint))
        if not _raised_by_student(exc):
            raise CheckFailure(_with_hint(
                f"{call_text} raised {type(exc).__name__} only by accident, inside a library "
                f"({exc}); validate the input yourself and raise {exception.__name__} with a message that says "
                "what is wrong.", hint))
        count += 1
    if not quiet:
        passed(f"{name} rejects bad input", count)


def _raised_by_student(exc: BaseException) -> bool:
    """True if a ``raise`` statement raised it, in the student's code or in a course function.

    An error that numpy raises by accident (a C function failing to broadcast or reshape) leaves
    the student's line as the last Python frame, so the frame alone is not enough: the instruction
    it stopped at must be a ``raise``.
    """
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return True
    code = last.tb_frame.f_code
    if _is_library_file(code.co_filename) and not code.co_filename.startswith(_HELPERS_DIR):
        return False
    return _stopped_at_raise(code, last.tb_lasti)


def _stopped_at_raise(code: Any, offset: int) -> bool:
    for instruction in dis.get_instructions(code):
        if instruction.offset == offset:
            return instruction.opname in ("RAISE_VARARGS", "RERAISE")
    return True  # the offset is unknown to dis (another Python): do not accuse the student


def check_close(got: Any, expected: Any, *, what: str, rtol: float = 1e-6, atol: float = 1e-9,
                hint: str | None = None, exact_dtype: bool = False, quiet: bool = False) -> None:
    """Check one value (number, array, tuple or dict of them) against the expected one."""
    reason = _mismatch(got, expected, rtol, atol, exact_dtype=exact_dtype)
    if reason:
        raise CheckFailure(_with_hint(f"{what} is {_short(got)}: {reason}.", hint))
    if not quiet:
        passed(what)


def check_equal(got: Any, expected: Any, *, what: str, hint: str | None = None, quiet: bool = False) -> None:
    """Check exact equality (arrays element-wise, shapes and dtype kinds included)."""
    reason = _mismatch(got, expected, rtol=0.0, atol=0.0)
    if reason:
        raise CheckFailure(_with_hint(f"{what} is {_short(got)}, expected {_short(expected)} ({reason}).", hint))
    if not quiet:
        passed(what)


def check_true(condition: Any, *, what: str, message: str, hint: str | None = None, quiet: bool = False) -> None:
    """Check a condition; ``message`` says what went wrong when it is false."""
    if not (condition is True or isinstance(condition, np.bool_) and bool(condition)):
        if not isinstance(condition, (bool, np.bool_)):
            raise TypeError(f"check_true needs a bool, got {type(condition).__name__}")
        raise CheckFailure(_with_hint(message, hint))
    if not quiet:
        passed(what)


def _finite_samples(samples: Any, what: str) -> np.ndarray:
    arr = _to_numpy(samples)
    if isinstance(arr, (list, tuple)):
        arr = [_to_numpy(a) for a in arr]
        if not all(_is_number(a) or (isinstance(a, np.ndarray) and a.ndim == 0) for a in arr):
            raise CheckFailure(f"{what}: expected numbers, got {_short(samples)}.")
    elif not isinstance(arr, np.ndarray):
        raise CheckFailure(f"{what}: expected an array of samples, got {type(samples).__name__}.")
    arr = np.asarray(arr, dtype=float).ravel()
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


def _reseed_global_generators(seed: int) -> None:
    """Reseed every global random generator a student might (wrongly) use instead of the given one."""
    random.seed(seed)
    np.random.seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def _same(a: Any, b: Any) -> bool:
    a, b = _to_numpy(a), _to_numpy(b)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return set(a) == set(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except Exception:
        return False


def check_reproducible(make_output: Callable[[int], Any], *, what: str, hint: str | None = None,
                       quiet: bool = False) -> None:
    """Check that a randomized function draws its randomness from the generator it is given.

    ``make_output(seed)`` must build its own ``numpy.random.default_rng(seed)`` (or
    ``torch.Generator().manual_seed(seed)``), call the student's function with it and return the
    result. Checked: the same seed gives the same output even when the global generators
    (``random``, ``np.random``, ``torch``) are in different states, so no draw comes from them;
    and 4 different seeds give 4 different outputs, so no part of it comes from a fixed seed of
    the student's own (test it where every random draw shows in the output, e.g. randomized
    response at ``p_truth=0``).
    """
    _reseed_global_generators(11)
    a = make_output(0)
    _reseed_global_generators(12)
    b = make_output(0)
    if not _same(a, b):
        raise CheckFailure(_with_hint(
            f"{what}: two runs with the same seed gave different results. "
            "Use the generator passed in (rng / generator) for every random draw, not np.random.*, random.*, "
            "torch.rand* without generator=, or a new generator.", hint))
    others = [make_output(s) for s in (1, 2, 3)]
    outputs = [a, *others]
    if any(_same(outputs[i], outputs[j]) for i in range(4) for j in range(i + 1, 4)):
        raise CheckFailure(_with_hint(
            f"{what}: runs with different seeds gave the same result. Every random draw must come from "
            "the generator passed in; a fixed seed or a pattern of your own makes the output predictable "
            "(and, for a privacy mechanism, breaks its guarantee).", hint))
    if not quiet:
        passed(what)


class SeededRNG(np.random.Generator):
    """A ``numpy.random.Generator`` that remembers its seed, so a failure message can show the call
    a student can re-run: ``laplace_mechanism(..., rng=np.random.default_rng(7))``."""

    def __init__(self, seed: int) -> None:
        super().__init__(np.random.PCG64(seed))
        self.seed = seed

    def __repr__(self) -> str:
        return f"np.random.default_rng({self.seed})"

    def __deepcopy__(self, memo: dict[int, Any]) -> SeededRNG:
        new = SeededRNG(self.seed)
        new.bit_generator.state = self.bit_generator.state
        return new


def seeded_rng(seed: int) -> np.random.Generator:
    """``np.random.default_rng(seed)``, shown as such in failure messages (use it in test cases)."""
    return SeededRNG(int(seed))


def check_fresh_randomness(make_output: Callable[[], Any], *, what: str, hint: str | None = None,
                           quiet: bool = False) -> None:
    """Check that a randomized function called *without* a generator (``rng=None``) draws fresh noise.

    ``make_output()`` calls the student's function with ``rng=None`` (or without ``rng``). Two calls,
    each after the global generators were reseeded to the same state, must differ: a fixed default
    seed (``np.random.default_rng(42)`` "for reproducibility") or the reseedable global generator
    makes the noise predictable, and whoever knows the seed subtracts it.
    """
    _reseed_global_generators(5)
    a = make_output()
    _reseed_global_generators(5)
    b = make_output()
    if _same(a, b):
        raise CheckFailure(_with_hint(
            f"{what}: two calls without a generator (rng=None) gave the same result. With rng=None, make a "
            "fresh generator with np.random.default_rng() and no seed: a fixed seed (or the global np.random "
            "state) makes the noise predictable, and anyone who knows the seed can subtract it.", hint))
    if not quiet:
        passed(what)
