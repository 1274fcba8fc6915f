"""Tests for helpers.remote (lesson 08): the owner's harness over syft's in-memory mock Drive.

The pure functions (review rule, budget check, owner-side query, leak detector, mock) are checked
against lesson 03's mechanisms and composition; the syft round trip runs offline (conftest's network
guard is on) in a few seconds.
"""
from __future__ import annotations

import math
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import helpers as H
from helpers import remote as R

SCHEMA = {"age": (18.0, 90.0), "diabetic": (0.0, 1.0)}


def _table(n: int = 120, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"age": rng.integers(18, 95, n).astype(float), "diabetic": (rng.random(n) < 0.2).astype(float)}


# ----------------------------------------------------------------------------- make_mock
def test_make_mock_uses_only_the_schema():
    a = R.make_mock(SCHEMA, n=50, rng=np.random.default_rng(3))
    g = np.random.default_rng(3)
    assert list(a) == ["age", "diabetic"]
    np.testing.assert_array_equal(a["age"], g.uniform(18, 90, size=50))
    np.testing.assert_array_equal(a["diabetic"], g.uniform(0, 1, size=50))
    for bad in ({}, {"age": (5, 5)}, {"age": (0, math.inf)}):
        with pytest.raises(ValueError):
            R.make_mock(bad, n=5)
    with pytest.raises(ValueError):
        R.make_mock(SCHEMA, n=0)


# ----------------------------------------------------------------------------- review
GOOD = R.declare("mean", "age", lower=18, upper=90, epsilon=0.5)


@pytest.mark.parametrize("spec", [GOOD, R.declare("sum", "diabetic", lower=0, upper=1, epsilon=1.0, delta=1e-6)])
def test_review_approves_complete_declarations(spec):
    assert R.review(spec, columns=["age", "diabetic"]) == []


@pytest.mark.parametrize("change", [
    {"epsilon": None}, {"epsilon": 0}, {"epsilon": -1}, {"epsilon": math.inf}, {"epsilon": math.nan},
    {"epsilon": "0.5"}, {"delta": 1.0}, {"delta": -1e-9}, {"query": "max"}, {"column": "name"},
    {"lower": 90, "upper": 18}, {"upper": math.inf}, {"noise": "added by me"},
])
def test_review_refuses(change):
    spec = {**GOOD, **change}
    if change.get("epsilon", 1) is None:
        del spec["epsilon"]
    reasons = R.review(spec, columns=["age", "diabetic"])
    assert reasons and all(isinstance(r, str) for r in reasons)
    assert R.review([1, 2], columns=["age"])


# ----------------------------------------------------------------------------- charge
def test_charge_exact_fit_refusal_and_per_scientist():
    ledger: dict = {}
    kw = dict(epsilon_budget=1.0, delta_budget=1e-6)
    assert R.charge(ledger, "a", epsilon=0.25, delta=0.0, **kw)
    assert R.charge(ledger, "a", epsilon=0.75, delta=1e-6, **kw)  # fits exactly: allowed
    before = list(ledger["a"])
    assert not R.charge(ledger, "a", epsilon=1e-3, delta=0.0, **kw)  # over: refused, nothing spent
    assert ledger["a"] == before
    assert R.charge(ledger, "b", epsilon=1.0, delta=0.0, **kw)  # another scientist's budget
    assert not R.charge(ledger, "b", epsilon=0.5, delta=2e-6, **kw) and ledger["b"] == [(1.0, 0.0)]
    for eps, delta in ((0, 0), (-0.5, 0), (math.inf, 0), (0.1, 1.0), (0.1, -1e-3)):
        with pytest.raises(ValueError):
            R.charge({}, "c", epsilon=eps, delta=delta, **kw)


def test_charge_agrees_with_the_lesson_03_accountant():
    rng = np.random.default_rng(7)
    for _ in range(200):
        budget = (float(rng.uniform(0.5, 2)), float(rng.choice([0.0, 1e-5])))
        acct, ledger = H.BudgetAccountant(epsilon_budget=budget[0], delta_budget=budget[1]), {}
        for _ in range(6):
            eps, delta = float(rng.uniform(0.05, 0.6)), float(rng.choice([0.0, 3e-6]))
            assert R.charge(ledger, "x", epsilon=eps, delta=delta, epsilon_budget=budget[0],
                            delta_budget=budget[1]) == acct.can_spend(epsilon=eps, delta=delta)
            if acct.can_spend(epsilon=eps, delta=delta):
                acct.spend(epsilon=eps, delta=delta)
        assert H.sequential_composition([e for e, _ in ledger.get("x", [(1, 0)])])[0] == pytest.approx(
            acct.spent[0] if ledger else 1)


# ----------------------------------------------------------------------------- run_query
def test_run_query_is_lesson_03s_mechanism():
    t = _table()
    clamped = np.clip(t["age"], 18, 90)
    # mean, replace-one: Δ = (U − L)/n, the same release as lesson 03's private_mean
    got = R.run_query(t, GOOD, rng=np.random.default_rng(5))
    assert got == H.private_mean(t["age"], lower=18, upper=90, epsilon=0.5, rng=np.random.default_rng(5))
    # sum, replace-one: Δ = U − L (lesson 01's sum_sensitivity)
    spec = R.declare("sum", "age", lower=18, upper=90, epsilon=0.3)
    assert R.run_query(t, spec, rng=np.random.default_rng(6)) == H.private_sum(
        t["age"], lower=18, upper=90, epsilon=0.3, rng=np.random.default_rng(6))
    # δ > 0: the analytic Gaussian with the same Δ
    spec = R.declare("mean", "age", lower=18, upper=90, epsilon=0.5, delta=1e-6)
    want = H.gaussian_mechanism(float(clamped.mean()), sensitivity=72 / t["age"].size, epsilon=0.5, delta=1e-6,
                                rng=np.random.default_rng(8))
    assert R.run_query(t, spec, rng=np.random.default_rng(8)) == want
    with pytest.raises(ValueError):
        R.run_query(t, {**GOOD, "epsilon": 0}, rng=1)


def test_mean_sensitivity_by_brute_force():
    """Replace-one neighbours: replacing any row by lower or upper moves the clamped mean by <= (U−L)/n,
    with equality reached (derivation checked on the data)."""
    t = _table(n=40)
    base = np.clip(t["age"], 18, 90)
    worst = 0.0
    for i in range(base.size):
        for v in (18.0, 90.0):
            nb = base.copy()
            nb[i] = v
            worst = max(worst, abs(nb.mean() - base.mean()))
    assert worst <= 72 / 40 + 1e-12
    lo = base.copy()
    lo[:] = 18.0
    hi = lo.copy()
    hi[0] = 90.0
    assert abs(hi.mean() - lo.mean()) == pytest.approx(72 / 40)


def test_run_query_noise_scale():
    # Var(Lap(b)) = 2b², b = Δ/ε; 4000 draws: the sample variance is within 5 standard errors
    t = _table(n=100)
    rng = np.random.default_rng(11)
    spec = R.declare("mean", "age", lower=18, upper=90, epsilon=0.5)
    draws = np.array([R.run_query(t, spec, rng=rng) for _ in range(4000)])
    b = 72 / 100 / 0.5
    var, n = 2 * b * b, draws.size
    se = math.sqrt((24 * b**4 - var**2) / n)  # Laplace: E[X⁴] = 24 b⁴
    assert abs(draws.var() - var) < 5 * se


# ----------------------------------------------------------------------------- find_leaks
@pytest.mark.parametrize("text, values, want", [
    ("mean = 42.0", [42, 17], [42.0]),
    ("age: 7", [70, 7], [7.0]),
    ("age 70", [7], []),
    ("row: -3.5, 12", [-3.5, 3.5, 12], [-3.5, 12.0]),
    ("4.2e1 and .5", [42, 0.5], [0.5, 42.0]),
    ("42,42,42", [42], [42.0]),
    ("no numbers here", [1, 2], []),
])
def test_find_leaks(text, values, want):
    assert R.find_leaks(text, np.array(values)) == want


# ----------------------------------------------------------------------------- syft
def test_missing_syft_is_explained(monkeypatch):
    monkeypatch.setitem(sys.modules, "syft_rds", None)
    with pytest.raises(ImportError, match=r"ppml-course\[remote\]"):
        with R.remote_session():
            pass


needs_syft = pytest.mark.skipif(not R.syft_available(), reason="syft 0.10.0 / syft-rds 0.6.1 not installed")


def _children() -> set[int]:
    me = str(os.getpid())
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[1] == me:
            found.add(int(pid))
    return found


@needs_syft
def test_round_trip_budget_leak_and_cleanup(tmp_path):
    threads, children = set(threading.enumerate()), _children()
    private = _table()
    with R.remote_session(epsilon_budget=1.0, delta_budget=1e-6, rng=np.random.default_rng(0)) as s:
        folder = s.folder
        s.owner.publish("patients", private=private, mock=R.make_mock(SCHEMA, n=120, rng=1), summary="toy")
        mock = s.scientist.mock("patients")
        assert list(mock) == ["age", "diabetic"] and not R.find_leaks(str(mock), private["age"])

        # round trip: publish, submit, approve, run, result
        s.scientist.submit_query(GOOD, name="mean_age")
        (job,) = s.owner.jobs()
        assert s.owner.declaration(job) == GOOD
        assert s.owner.handle(job, dataset="patients").approved
        got = s.scientist.received("mean_age")
        assert got["status"] == "done" and got["stdout"] == got["stderr"] == ""
        assert set(got) == {"status", "stdout", "stderr", "outputs/result.json"}
        assert abs(s.scientist.answer("mean_age") - private["age"].clip(18, 90).mean()) < 72 / 120 / 0.5 * 20
        assert s.owner.accountant(s.scientist.email).spent == (0.5, 0.0)

        # a rejected job returns nothing (no declared ε)
        s.scientist.submit_query({k: v for k, v in GOOD.items() if k != "epsilon"}, name="no_epsilon")
        d = s.owner.handle(s.owner.jobs()[0], dataset="patients")
        assert not d.approved and "epsilon" in d.reasons[0]
        assert s.scientist.received("no_epsilon") == {"status": "rejected", "stdout": "", "stderr": ""}
        assert s.scientist.answer("no_epsilon") is None

        # over budget: refused, nothing spent
        s.scientist.submit_query({**GOOD, "epsilon": 0.75}, name="too_much")
        d = s.owner.handle(s.owner.jobs()[0], dataset="patients")
        assert not d.approved and "over budget" in d.reasons[0]
        assert s.owner.accountant(s.scientist.email).spent == (0.5, 0.0)
        assert s.scientist.answer("too_much") is None

        # the stdout leak: syft's runner hands the scientist what an approved job printed ...
        leak = 'head -3 "$DATA"; mkdir -p outputs; echo ok > outputs/result.txt\n'
        s.scientist.submit_script(leak, name="raw")
        s.owner.run_with_syft(s.owner.jobs()[0])
        raw = s.scientist.received("raw")
        assert R.find_leaks(raw["stdout"], private["age"]), "syft 0.10 no longer leaks stdout: update the lesson"
        # ... the harness keeps logs home and releases only the declared output
        s.scientist.submit_script(leak, name="harnessed")
        assert s.owner.run_script_job(s.owner.jobs()[0], dataset="patients").approved
        closed = s.scientist.received("harnessed")
        assert closed == {"status": "done", "stdout": "", "stderr": "", "outputs/result.txt": "ok\n"}
        assert "age,diabetic" in (s.owner.logs / "harnessed.log").read_text()
        # an output that is the data itself is withheld
        s.scientist.submit_script('mkdir -p outputs; cp "$DATA" outputs/result.txt\n', name="copy")
        assert not s.owner.run_script_job(s.owner.jobs()[0], dataset="patients").approved
        assert "outputs/result.txt" not in s.scientist.received("copy")
    assert not folder.exists()
    assert set(threading.enumerate()) <= threads, "syft threads left running"
    assert _children() <= children, "processes left behind"


def test_bad_budget_is_refused_before_syft_starts():
    with pytest.raises(ValueError):
        with R.remote_session(epsilon_budget=0):
            pass


def test_lesson_08_worked_examples():
    """The numbers lesson 08's exercise texts quote."""
    mock = R.make_mock({"age": (18.0, 90.0)}, n=3, rng=np.random.default_rng(0))
    np.testing.assert_allclose(mock["age"], [63.86, 37.42, 20.95], atol=0.005)
    decl = R.declare("mean", "age", lower=18, upper=90, epsilon=1.0)
    # clamp 95 -> 90: mean 50, Δ = 72/3 = 24, ε = 1: 50 + Lap(24)
    assert R.run_query({"age": np.array([20.0, 95.0, 40.0])}, decl, rng=np.random.default_rng(0)) == pytest.approx(
        50 + np.random.default_rng(0).laplace(0.0, 24.0))
    assert f"{R.run_query({'age': np.array([20.0, 95.0, 40.0])}, decl, rng=np.random.default_rng(0)):.2f}" == "57.68"
    assert R.find_leaks("rows: 7, -3.5, 4.2e1", np.array([70, 7, 3.5, 42])) == [7.0, 42.0]
    ledger = {"ana": [(0.25, 0.0)]}
    kw = dict(epsilon_budget=1.0, delta_budget=1e-6)
    assert R.charge(ledger, "ana", epsilon=0.75, delta=0.0, **kw)
    assert not R.charge(ledger, "ana", epsilon=0.125, delta=0.0, **kw)
    assert ledger["ana"] == [(0.25, 0.0), (0.75, 0.0)]
    assert R.charge(ledger, "ben", epsilon=0.5, delta=0.0, **kw)
    assert R.review({"query": "mean", "column": "age", "lower": 18, "upper": 90, "epsilon": 0.5, "delta": 0},
                    columns=["age"]) == []
    # the notebook's noise scale for the released mean age: b = (72/n)/0.5 = 144/n
    assert H.laplace_scale(sensitivity=72 / 1000, epsilon=0.5) == pytest.approx(144 / 1000)


@needs_syft
def test_a_killed_sessions_folder_is_removed_by_the_next_session():
    import subprocess
    import tempfile

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process id that no longer runs
    stale = Path(tempfile.mkdtemp(prefix=f"ppml-remote-{dead.pid}-"))
    (stale / "owner").mkdir()
    with R.remote_session() as s:
        assert s.folder.name.startswith(f"ppml-remote-{os.getpid()}-")
    assert not stale.exists()
