"""The checks test cells call: kind messages, the delegation guard, honest statistics."""
from __future__ import annotations

import math

import numpy as np
import pytest

import helpers as H
from helpers import checks as C
from helpers import _validation as V


def reference_scale(*, sensitivity: float, epsilon: float) -> float:
    return sensitivity / epsilon


def test_check_function_passes_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    def laplace_scale(*, sensitivity: float, epsilon: float) -> float:
        return sensitivity / epsilon

    result = C.check_function(laplace_scale, reference_scale, [dict(sensitivity=1, epsilon=2), dict(sensitivity=3, epsilon=0.5)])
    # None on purpose: nbgrader would read a number left as a cell's value as partial credit
    assert result is None and "✓ laplace_scale (2 checks)" in capsys.readouterr().out


def test_failure_message_says_call_got_expected_and_hint() -> None:
    def laplace_scale(*, sensitivity: float, epsilon: float) -> float:
        return epsilon / sensitivity

    with pytest.raises(C.CheckFailure) as info:
        C.check_function(laplace_scale, reference_scale, [dict(sensitivity=2, epsilon=0.5)], hint="b = Δ/ε")
    msg = str(info.value)
    assert "laplace_scale(sensitivity=2, epsilon=0.5) returned 0.25" in msg
    assert "expected 4" in msg and "Hint: b = Δ/ε" in msg
    assert isinstance(info.value, AssertionError)


def test_not_implemented_is_reported_kindly() -> None:
    def laplace_scale(*, sensitivity: float, epsilon: float) -> float:
        raise NotImplementedError()

    with pytest.raises(C.CheckFailure, match="not implemented yet"):
        C.check_function(laplace_scale, reference_scale, [dict(sensitivity=1, epsilon=1)])


def test_student_exception_names_the_call() -> None:
    def laplace_scale(*, sensitivity: float, epsilon: float) -> float:
        return sensitivity / (epsilon - 1)

    with pytest.raises(C.CheckFailure, match=r"laplace_scale\(sensitivity=1, epsilon=1\) raised ZeroDivisionError"):
        C.check_function(laplace_scale, reference_scale, [dict(sensitivity=1, epsilon=1)])


@pytest.mark.parametrize("style", ["alias", "wrapper", "module", "nested"])
def test_delegating_to_the_reference_fails(style: str) -> None:
    import helpers.config as mod

    ref = mod.pick
    if style == "alias":
        student = ref
    elif style == "wrapper":
        def student(**kw):  # noqa: ANN003
            return ref(**kw)
    elif style == "module":
        def student(**kw):  # noqa: ANN003
            return getattr(__import__("helpers.config", fromlist=["pick"]), "pick")(**kw)
    else:
        def helper(**kw):  # noqa: ANN003
            return H.pick(**kw)

        def student(**kw):  # noqa: ANN003
            return helper(**kw)
    with pytest.raises(C.CheckFailure, match="reference solution"):
        C.check_function(student, ref, [dict(default=1, quick=2)])


def test_delegation_guard_is_removed_afterwards() -> None:
    import sys

    def own(x: int) -> int:
        return x

    C.check_function(own, lambda x: x, [(1,)], quiet=True)
    assert sys.getprofile() is None


def test_mismatch_reports_shapes_and_first_differing_entry() -> None:
    with pytest.raises(C.CheckFailure, match=r"expected shape \(3,\), got shape \(2,\)"):
        C.check_close(np.zeros(2), np.zeros(3), what="x")
    with pytest.raises(C.CheckFailure, match=r"1 of 3 entries differ; first at index \(1,\)"):
        C.check_close(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.5, 2.0]), what="x")


def test_check_raises() -> None:
    def strict(x: float) -> float:
        if x <= 0:
            raise ValueError("x must be > 0")
        return x

    assert C.check_raises(strict, [(-1,), (0,)], quiet=True) is None
    with pytest.raises(C.CheckFailure, match=r"lenient\(-1\) returned -1; expected it to raise ValueError"):
        C.check_raises(lambda x: x, [(-1,)], name="lenient")


def test_statistical_checks_use_true_standard_errors() -> None:
    rng = np.random.default_rng(0)
    b = 2.0
    samples = rng.laplace(0.0, b, size=20_000)
    # Laplace(b): variance 2b², kurtosis 6
    C.check_samples(samples, mean=0.0, var=2 * b**2, kurtosis=6.0, what="Laplace noise", quiet=True)
    # a wrong scale (b instead of 2b... here variance b² instead of 2b²) is far outside 5 standard errors
    with pytest.raises(C.CheckFailure, match="standard errors"):
        C.check_variance(samples, b**2, kurtosis=6.0, what="Laplace noise")
    with pytest.raises(C.CheckFailure, match="mean of 20000 samples"):
        C.check_mean(samples + 0.2, 0.0, std=math.sqrt(2) * b, what="noise")


def test_check_reproducible() -> None:
    C.check_reproducible(lambda seed: np.random.default_rng(seed).normal(size=3), what="noise", quiet=True)
    with pytest.raises(C.CheckFailure, match="same seed gave different results"):
        C.check_reproducible(lambda seed: np.random.default_rng().normal(size=3), what="noise")


def test_check_reproducible_catches_global_and_fixed_generators() -> None:
    def global_rng(seed: int) -> np.ndarray:  # ignores its generator for part of the draws
        own = np.random.default_rng(seed).random(5)
        return own + np.random.random(5)

    with pytest.raises(C.CheckFailure, match="same seed gave different results"):
        C.check_reproducible(global_rng, what="noise")

    def fixed_second_coin(seed: int) -> np.ndarray:  # a public, fixed-seed coin: outputs repeat across seeds
        rng = np.random.default_rng(seed)
        truth = rng.random(50) < 0.0  # p_truth = 0: only the second coin shows
        coin = np.random.default_rng(0).random(50) < 0.5
        return np.where(truth, 1, coin).astype(int)

    with pytest.raises(C.CheckFailure, match="different seeds gave the same result"):
        C.check_reproducible(fixed_second_coin, what="randomized response at p_truth=0")


def test_sibling_helpers_functions_are_forbidden_unless_allowed() -> None:
    import helpers.databases as db_mod
    import helpers.sensitivity as sens

    def empirical(query, db):  # noqa: ANN001, ANN202 - uses a sibling that computes the same thing
        return float(H.l1_sensitivity(query, db, H.remove_one_neighbours(db)))

    case = [((np.sum, np.array([1, 0, 1])), {})]
    with pytest.raises(C.CheckFailure, match="a course function that computes what this exercise asks"):
        C.check_function(empirical, sens.empirical_sensitivity, case)

    def own(query, db):  # noqa: ANN001, ANN202 - builds on an allowed course function
        rows = H.remove_one_neighbours(db)
        return float(max(abs(query(db) - query(r)) for r in rows))

    C.check_function(own, sens.empirical_sensitivity, case, allow=[db_mod.remove_one_neighbours], quiet=True)
    with pytest.raises(C.CheckFailure, match="helpers.databases.remove_one_neighbours"):
        C.check_function(own, sens.empirical_sensitivity, case)

    def through_numpy(query, db):  # noqa: ANN001, ANN202 - reaches the sibling through a library
        return float(np.max(np.vectorize(lambda i: H.differencing_attack(query, db, index=int(i)))(range(len(db)))))

    with pytest.raises(C.CheckFailure, match="differencing_attack"):
        C.check_function(through_numpy, sens.empirical_sensitivity, case)


@pytest.mark.parametrize("attack", ["setprofile", "settrace", "rebind_checks", "rebind_numpy", "rebind_test_name"])
def test_tampering_while_checked_fails(attack: str) -> None:
    import sys

    import helpers.sensitivity as sens

    saved = (C._mismatch, np.isclose)

    def cheat(*, n, lower, upper, neighbours="remove"):  # noqa: ANN001, ANN202
        if attack == "setprofile":
            sys.setprofile(None)
        elif attack == "settrace":
            sys.settrace(None)
        elif attack == "rebind_checks":
            C._mismatch = lambda *a, **k: None
        elif attack == "rebind_numpy":
            np.isclose = lambda *a, **k: np.array(True)
        else:
            globals()["reference_scale"] = lambda **k: 0
        return 0.0

    try:
        with pytest.raises(C.CheckFailure, match="changed the grader's environment"):
            C.check_function(cheat, sens.mean_sensitivity, [dict(n=10, lower=0, upper=1)])
    finally:
        C._mismatch, np.isclose = saved
        globals()["reference_scale"] = _reference_scale_original


_reference_scale_original = reference_scale


@pytest.mark.parametrize("got,expected,match", [
    ([[0, 1]], np.array([[0, 1]]), "expected a numpy array, got list"),
    (np.array([True, False]), np.array([1, 0]), "expected an array of integers"),
    (np.array([1.0, 0.0]), np.array([1, 0]), "expected an array of integers"),
    (np.array([1, 0], dtype=np.int32), np.array([1, 0]), None),
    ("4.0", 4.0, "expected a number, got str"),
    (None, 4.0, "expected a number"),
    (1, True, "expected a bool"),
])
def test_values_of_the_wrong_kind_fail(got, expected, match) -> None:  # noqa: ANN001
    if match is None:
        C.check_close(got, expected, what="x", quiet=True)
    else:
        with pytest.raises(C.CheckFailure, match=match):
            C.check_close(got, expected, what="x")


def test_exact_dtype_and_objects_that_claim_equality() -> None:
    class AlwaysEqual:
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = object.__hash__

    for expected in (4.0, np.array([1, 2]), {"a": 1.0}, (1.0, 2.0), "text"):
        with pytest.raises(C.CheckFailure):
            C.check_close(AlwaysEqual(), expected, what="x")
    with pytest.raises(C.CheckFailure, match="expected dtype int64, got dtype int32"):
        C.check_close(np.array([1], dtype=np.int32), np.array([1], dtype=np.int64), what="x", exact_dtype=True)


def test_accidental_library_errors_do_not_count_as_validation() -> None:
    def unvalidated(db):  # noqa: ANN001, ANN202 - numpy raises ValueError while broadcasting, by accident
        db = np.asarray(db)
        return np.broadcast_to(db, (db.size, db.size))[~np.eye(db.size, dtype=bool)].reshape(db.size, db.size - 1)

    with pytest.raises(C.CheckFailure, match="only by accident"):
        C.check_raises(unvalidated, [(np.zeros((2, 3)),)])

    def half_validated(db):  # noqa: ANN001, ANN202 - a C-level reshape error on the student's own line
        db = np.asarray(db)
        if db.ndim != 1:
            raise ValueError("db must be 1-D")
        return np.broadcast_to(db, (db.size, db.size))[~np.eye(db.size, dtype=bool)].reshape(db.size, db.size - 1)

    with pytest.raises(C.CheckFailure, match="only by accident"):
        C.check_raises(half_validated, [(np.array([]),)])

    def own_helper(x):  # noqa: ANN001, ANN202 - validation in a helper of the student's own counts
        _positive(x)
        return x

    C.check_raises(own_helper, [(-1,)], quiet=True)


def _positive(x: float) -> None:
    if x <= 0:
        raise ValueError(
            "x must be > 0")


def test_failure_shows_the_message_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    failure = C.CheckFailure("f(1) returned 2: expected 3.\nHint: think")
    lines = failure._render_traceback_()
    assert lines[0].endswith("f(1) returned 2: expected 3.\x1b[0m") and lines[1] == "Hint: think"
    monkeypatch.setenv("COURSE_FULL_TRACEBACKS", "1")
    with pytest.raises(NotImplementedError):  # IPython then falls back to the full traceback
        failure._render_traceback_()


def test_student_errors_name_the_line_of_their_code() -> None:
    def clip(values):  # noqa: ANN001, ANN202
        return values[10]

    with pytest.raises(C.CheckFailure, match=r"raised IndexError.*in clip, line \d+: `return values\[10\]`"):
        C.check_function(clip, lambda values: 0, [(np.zeros(3),)])


def test_messages_never_dump_multiline_tensors() -> None:
    torch = pytest.importorskip("torch")
    grads = {"w": torch.arange(100.0).reshape(10, 10), "b": torch.zeros(10)}

    def clip(per_sample_grads, *, max_norm):  # noqa: ANN001, ANN202
        return {k: v * 0 for k, v in per_sample_grads.items()}

    with pytest.raises(C.CheckFailure) as info:
        C.check_function(clip, lambda per_sample_grads, *, max_norm: per_sample_grads, [((grads,), {"max_norm": 1.0})])
    first = str(info.value).splitlines()[0]
    assert "tensor(shape=(10, 10), dtype=float32)" in first and len(first) < 400


def test_fresh_randomness_catches_fixed_default_seeds() -> None:
    def fixed_default(x, rng=None):  # noqa: ANN001, ANN202
        rng = np.random.default_rng(42) if rng is None else rng
        return x + rng.laplace(size=3)

    def global_default(x, rng=None):  # noqa: ANN001, ANN202
        return x + (np.random.laplace(size=3) if rng is None else rng.laplace(size=3))

    def fresh(x, rng=None):  # noqa: ANN001, ANN202
        rng = np.random.default_rng() if rng is None else rng
        return x + rng.laplace(size=3)

    for wrong in (fixed_default, global_default):
        with pytest.raises(C.CheckFailure, match="two calls without a generator"):
            C.check_fresh_randomness(lambda: wrong(0.0), what="noise with rng=None")
    C.check_fresh_randomness(lambda: fresh(0.0), what="noise with rng=None", quiet=True)


def test_seeded_rng_shows_a_call_students_can_rerun() -> None:
    import copy

    rng = C.seeded_rng(7)
    assert repr(rng) == "np.random.default_rng(7)" and isinstance(rng, np.random.Generator)
    assert np.array_equal(copy.deepcopy(rng).random(3), np.random.default_rng(7).random(3))
    with pytest.raises(C.CheckFailure, match=r"rng=np.random.default_rng\(7\)"):
        C.check_function(lambda v, *, rng: v + 1.0, lambda v, *, rng: v + rng.laplace(), [((0.0,), {"rng": rng})])


def test_quick_mode_and_offline_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert H.pick(default=10, quick=1) == 1
    monkeypatch.setenv("COURSE_QUICK", "0")
    assert H.pick(default=10, quick=1) == 10
    monkeypatch.setenv("COURSE_QUICK", "ture")
    with pytest.raises(ValueError, match="COURSE_QUICK"):
        H.quick_mode()
    monkeypatch.setenv("COURSE_OFFLINE", "yes")
    assert H.offline()


@pytest.mark.parametrize("fn,value,match", [
    (V.check_epsilon, 0, "epsilon must be > 0, got 0"),
    (V.check_epsilon, -1, "epsilon must be > 0, got -1"),
    (V.check_epsilon, float("inf"), "epsilon"),
    (V.check_delta, 0, r"delta must be in the open interval \(0, 1\), got 0"),
    (V.check_delta, 1.0, "delta"),
    (V.check_sensitivity, -0.5, "sensitivity must be a finite number >= 0"),
    (V.check_positive_int, 2.5, "must be an integer >= 1"),
])
def test_validators_name_the_parameter(fn, value, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fn(value) if fn is not V.check_positive_int else fn(value, "steps")


def test_as_database_rejects_bad_shapes_and_values() -> None:
    with pytest.raises(ValueError, match="1-D"):
        V.as_database(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="must not be empty"):
        V.as_database([])
    with pytest.raises(ValueError, match="NaN"):
        V.as_database([1.0, float("nan")])
    with pytest.raises(ValueError, match="only 0 and 1"):
        V.as_database([0, 2], binary=True)
    assert V.as_database([0, 1, 1], binary=True).tolist() == [0, 1, 1]
    with pytest.raises(ValueError, match="rng must be"):
        V.as_rng("seed")
