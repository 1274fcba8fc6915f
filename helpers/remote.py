"""Remote data science: the data stays with its owner, only approved, private answers leave.

Introduced in lesson 08 (``08_remote_data_science``). The only module of the course that imports
``syft`` and ``syft_rds`` (pinned: ``syft==0.10.0``, ``syft-rds==0.6.1``, the ``remote`` extra),
and only inside :func:`remote_session`: the pure functions below need numpy alone.

The setting (OpenMined's remote data science): a **data owner** keeps a private table and publishes
a *mock* of it; a **data scientist** explores the mock, declares a query and submits it as a job; the
owner's **harness** reviews the job, charges it to the scientist's privacy budget, runs it on the
private data with the owner's own code and interpreter, adds the noise itself, and releases only
the declared output.

Privacy unit
------------
One row of the owner's table is one person. Two tables are neighbours if they differ in **one
person's row, replaced** (replace-one / bounded DP): the number of rows n is public (the owner
publishes it with the mock). Every answer :func:`run_query` releases is (ε, δ)-DP for this relation
with the (ε, δ) the job declared; the k answers one scientist receives are (Σε, Σδ)-DP by sequential
composition (Dwork & Roth 2014, Thm 3.16), which the owner keeps under that scientist's budget. The
budget is *per scientist*: scientists who pool their answers spend the sum of their budgets on the
same people, so the owner's total loss is the sum over all scientists.

What the harness does *not* protect: a job the owner runs as a script (:meth:`Owner.run_script_job`)
can put anything in its declared output, including the private data in disguise. Review and
:func:`find_leaks` catch the obvious cases; only the declared DP queries carry a guarantee.

=========================  ================================================================
name                       what it does
=========================  ================================================================
:func:`make_mock`          mock data drawn from the *public* schema, never from the data
:func:`review`             the owner's review rule: why a declaration must be refused
:func:`charge`             the per-scientist budget check (sequential composition)
:func:`run_query`          the declared query on the private table, noise added owner-side
:func:`find_leaks`         private values that appear as numbers in a job's output
:func:`remote_session`     an owner and a scientist paired over syft's in-memory mock Drive
=========================  ================================================================

References
----------
OpenMined, *syft* 0.10 and *syft-rds* 0.6 (https://github.com/OpenMined/syft).
C. Dwork, A. Roth. *The Algorithmic Foundations of Differential Privacy.* 2014.
B. Balle, Y.-X. Wang. *Improving the Gaussian mechanism for differential privacy.* ICML 2018.
"""
from __future__ import annotations

import atexit
import contextlib
import io
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import _is_real, as_rng, check_positive_int
from .composition import BudgetAccountant
from .mechanisms import gaussian_mechanism, laplace_mechanism

__all__ = [
    "SYFT_VERSION",
    "SYFT_RDS_VERSION",
    "QUERIES",
    "DECLARATION_KEYS",
    "RESULT_FILE",
    "declare",
    "make_mock",
    "review",
    "charge",
    "run_query",
    "find_leaks",
    "Decision",
    "Owner",
    "Scientist",
    "RemoteSession",
    "remote_session",
    "syft_available",
]

SYFT_VERSION = "0.10.0"
SYFT_RDS_VERSION = "0.6.1"
#: The queries a job may declare (a count is the sum of a 0/1 column with bounds [0, 1]).
QUERIES = ("sum", "mean")
#: Exactly the keys of a declaration.
DECLARATION_KEYS = frozenset({"query", "column", "lower", "upper", "epsilon", "delta"})
#: The one output a declared query releases.
RESULT_FILE = "result.json"
# Same relative slack as helpers.composition.BudgetAccountant (0.1 + 0.1 + 0.1 fits 0.3).
_SLACK = 1e-9
_MARK_BEGIN = "# --- course declaration ---"
_MARK_END = "# --- end of declaration ---"


# ============================================================================ pure functions
def declare(query: str, column: str, *, lower: float, upper: float, epsilon: float,
            delta: float = 0.0) -> dict[str, Any]:
    """A job's declaration: which query, on which column, with which public bounds and (ε, δ).

    δ = 0 asks for the Laplace mechanism (ε-DP), δ > 0 for the analytic Gaussian ((ε, δ)-DP).
    Nothing is validated here: the owner's :func:`review` decides.
    """
    return {"query": query, "column": column, "lower": lower, "upper": upper,
            "epsilon": epsilon, "delta": delta}


def make_mock(schema: Mapping[str, tuple[float, float]], *, n: int,
              rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """Mock data from the public schema alone: column ``c`` with bounds ``(lo, hi)`` gets
    ``rng.uniform(lo, hi, size=n)``, columns drawn in the schema's order.

    The mock depends on nothing but the schema, n and the generator, so publishing it reveals
    nothing about the people in the private table (a mock fitted to, resampled from or perturbed
    from the private rows would).

    Raises
    ------
    ValueError
        If ``n`` is not an integer >= 1, the schema is empty or a column's bounds are not finite
        with ``lo < hi``.
    """
    n = check_positive_int(n, "n")
    if not isinstance(schema, Mapping) or not schema:
        raise ValueError("schema must be a non-empty dict {column: (lower, upper)}")
    for name, bounds in schema.items():
        lo, hi = bounds
        if not (_is_real(lo) and _is_real(hi) and math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"schema[{name!r}] must be finite bounds (lower, upper) with lower < upper, got {bounds!r}")
    gen = as_rng(rng)
    return {name: gen.uniform(lo, hi, size=n) for name, (lo, hi) in schema.items()}


def _finite(x: Any) -> bool:
    return _is_real(x) and math.isfinite(float(x))


def review(declaration: Any, *, columns: Sequence[str]) -> list[str]:
    """The owner's review rule: the reasons to refuse a declared query (empty list: approve).

    A declaration is approved only if it has exactly the keys :data:`DECLARATION_KEYS` and
      * ``query`` is one of :data:`QUERIES` and ``column`` one of ``columns``;
      * ``epsilon`` is a finite number > 0 (an undeclared or infinite ε is no guarantee);
      * ``delta`` is a number with 0 <= δ < 1;
      * ``lower`` and ``upper`` are finite numbers with ``lower < upper`` (public bounds: the
        sensitivity comes from them, never from the data).
    Any extra key (a scientist's own ``noise``, a ``print`` flag, ...) is refused: the harness
    runs only what it understands.
    """
    if not isinstance(declaration, Mapping):
        return [f"a declaration must be a dict, got {type(declaration).__name__}"]
    reasons = []
    extra = sorted(set(map(str, declaration)) - DECLARATION_KEYS)
    missing = sorted(DECLARATION_KEYS - set(declaration))
    if extra:
        reasons.append(f"undeclared fields {extra}: the harness runs only {sorted(DECLARATION_KEYS)}")
    if missing:
        reasons.append(f"missing fields {missing}")
    if declaration.get("query") not in QUERIES:
        reasons.append(f"query must be one of {list(QUERIES)}, got {declaration.get('query')!r}")
    if declaration.get("column") not in list(columns):
        reasons.append(f"column must be one of {list(columns)}, got {declaration.get('column')!r}")
    eps = declaration.get("epsilon")
    if not (_finite(eps) and eps > 0):
        reasons.append(f"epsilon must be declared as a finite number > 0, got {eps!r}")
    delta = declaration.get("delta")
    if not (_finite(delta) and 0 <= delta < 1):
        reasons.append(f"delta must be declared as a number in [0, 1), got {delta!r}")
    lower, upper = declaration.get("lower"), declaration.get("upper")
    if not (_finite(lower) and _finite(upper) and lower < upper):
        reasons.append(f"lower and upper must be finite numbers with lower < upper, got {lower!r}, {upper!r}")
    return reasons


def charge(ledger: dict[str, list[tuple[float, float]]], scientist: str, *, epsilon: float, delta: float,
           epsilon_budget: float, delta_budget: float) -> bool:
    """Charge ``(epsilon, delta)`` to ``scientist`` if it fits their budget; spend nothing if not.

    ``ledger[scientist]`` lists the (ε, δ) of the answers that scientist already received. By
    sequential composition they have spent ``(Σε, Σδ)``; the new query fits if
    ``Σε + epsilon <= epsilon_budget`` **and** ``Σδ + delta <= delta_budget`` (up to a relative
    rounding slack of 1e-9, as :class:`helpers.composition.BudgetAccountant`). If it fits, append
    ``(epsilon, delta)`` to ``ledger[scientist]`` (creating the list for a new scientist) and
    return True; otherwise return False and leave every total unchanged. Each scientist has their
    own budget.

    Raises
    ------
    ValueError
        If ``epsilon`` is not a finite number > 0 or ``delta`` not in [0, 1) (a negative ε would
        *refund* budget).
    """
    if not (_finite(epsilon) and epsilon > 0):
        raise ValueError(f"epsilon must be a finite number > 0, got {epsilon!r}")
    if not (_finite(delta) and 0 <= delta < 1):
        raise ValueError(f"delta must be in [0, 1), got {delta!r}")
    spent = ledger.get(scientist, [])
    eps_spent = math.fsum(e for e, _ in spent)
    del_spent = math.fsum(d for _, d in spent)
    fits = (eps_spent + epsilon <= epsilon_budget * (1 + _SLACK)
            and del_spent + delta <= delta_budget * (1 + _SLACK) + 1e-300)
    if fits:
        ledger.setdefault(scientist, []).append((float(epsilon), float(delta)))
    return bool(fits)


def run_query(table: Mapping[str, Any], declaration: Mapping[str, Any], *,
              rng: np.random.Generator | None = None) -> float:
    """Answer a declared query on the private table, the noise added by the owner.

    The column's values are clamped into the declared ``[lower, upper]``; the exact answer is their
    sum (sensitivity Δ = upper − lower) or their mean (Δ = (upper − lower) / n, n public) under
    replace-one neighbours. With δ = 0 the release is ``answer + Lap(Δ/ε)`` (ε-DP, Laplace); with
    δ > 0 it is ``answer + N(0, σ²)`` with the analytic σ of Balle & Wang 2018 ((ε, δ)-DP; for one
    number the L1 and L2 sensitivities are the same Δ). One draw from ``rng``.

    Raises
    ------
    ValueError
        If :func:`review` refuses the declaration for this table's columns.
    """
    reasons = review(declaration, columns=list(table))
    if reasons:
        raise ValueError("the declaration is refused: " + "; ".join(reasons))
    lower, upper = float(declaration["lower"]), float(declaration["upper"])
    values = np.clip(np.asarray(table[declaration["column"]], dtype=float), lower, upper)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("the column must be a non-empty 1-D array")
    if declaration["query"] == "sum":
        exact, sensitivity = float(values.sum()), upper - lower
    else:
        exact, sensitivity = float(values.mean()), (upper - lower) / values.size
    eps, delta = float(declaration["epsilon"]), float(declaration["delta"])
    if delta == 0:
        return float(laplace_mechanism(exact, sensitivity=sensitivity, epsilon=eps, rng=rng))
    return float(gaussian_mechanism(exact, sensitivity=sensitivity, epsilon=eps, delta=delta, rng=rng))


_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def find_leaks(text: str, private_values: Any) -> list[float]:
    """The private values that appear, as numbers, in a job's output ``text``.

    Every number written in ``text`` (integers, decimals, signs, scientific notation: ``-3``,
    ``42.0``, ``.5``, ``4.2e1``) is parsed; a private value leaks if it *equals* one of them
    (``42`` leaks as ``42.0`` and as ``4.2e1``; ``7`` does not leak in ``70``). Returns the leaked
    values, as floats, sorted and without repeats.

    A heuristic, not a guarantee: a value rounded, shifted or encoded in another form passes.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    found = {float(m) for m in _NUMBER.findall(text)}
    values = np.asarray(private_values, dtype=float).ravel()
    return sorted({float(v) for v in values if float(v) in found})


# ============================================================================ syft glue
def syft_available() -> bool:
    """Whether the pinned syft and syft-rds are installed (without importing them)."""
    from importlib import metadata

    try:
        return metadata.version("syft") == SYFT_VERSION and metadata.version("syft-rds") == SYFT_RDS_VERSION
    except metadata.PackageNotFoundError:
        return False


def _import_syft() -> tuple[Any, Any]:
    """Import syft and syft_rds, or explain how to install them."""
    from importlib import metadata

    hint = (f"helpers.remote needs syft=={SYFT_VERSION} and syft-rds=={SYFT_RDS_VERSION} (the course's "
            "'remote' extra): pip install 'ppml-course[remote]', or "
            f"pip install syft=={SYFT_VERSION} syft-rds=={SYFT_RDS_VERSION}")
    try:
        import warnings

        with warnings.catch_warnings():  # syft 0.10's pydantic models warn on import
            warnings.simplefilter("ignore", DeprecationWarning)
            import syft  # noqa: F401
            from syft_rds import SyftRDSClient
    except ImportError as exc:
        raise ImportError(f"{hint} ({exc})") from exc
    got = (metadata.version("syft"), metadata.version("syft-rds"))
    if got != (SYFT_VERSION, SYFT_RDS_VERSION):
        raise ImportError(f"{hint}; found syft {got[0]} and syft-rds {got[1]}, whose API differs")
    return syft, SyftRDSClient


@contextlib.contextmanager
def _quiet(verbose: bool) -> Iterator[None]:
    """syft prints progress with print(); keep it out of the lesson unless asked."""
    if verbose:
        yield
        return
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def _write_csv(path: Path, table: Mapping[str, Any]) -> None:
    cols = {k: np.asarray(v, dtype=float) for k, v in table.items()}
    lengths = {v.shape for v in cols.values()}
    if len(lengths) != 1 or len(next(iter(lengths))) != 1:
        raise ValueError("a table must be a dict of 1-D columns of one length")
    lines = [",".join(cols)]
    lines += [",".join(repr(float(x)) for x in row) for row in zip(*cols.values())]
    path.write_text("\n".join(lines) + "\n")


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    text = Path(path).read_text().strip().splitlines()
    header = text[0].split(",")
    rows = np.array([[float(x) for x in line.split(",")] for line in text[1:]], dtype=float).reshape(-1, len(header))
    return {name: rows[:, i].copy() for i, name in enumerate(header)}


def _script_for(declaration: Mapping[str, Any]) -> str:
    """A bash job that carries a declaration. The harness reads it and never runs it."""
    return ("#!/bin/bash\n"
            "# A declared query for the data owner's harness: the harness reads the declaration\n"
            "# below and runs the query with its own code; this script itself is never run.\n"
            f"cat <<'DECLARATION'\n{_MARK_BEGIN}\n{json.dumps(dict(declaration), sort_keys=True)}\n"
            f"{_MARK_END}\nDECLARATION\n")


def _declaration_of(script: str) -> Any:
    match = re.search(re.escape(_MARK_BEGIN) + r"\n(.*?)\n" + re.escape(_MARK_END), script, re.S)
    if match is None:
        return None
    try:
        return json.loads(match.group(1))
    except json.JSONDecodeError:
        return None


@dataclass
class Decision:
    """What the owner's harness did with one job."""

    job: str
    scientist: str
    approved: bool
    reasons: list[str] = field(default_factory=list)
    epsilon: float | None = None  # the (ε, δ) charged for a declared query; None for a script: no guarantee
    delta: float | None = None

    def __str__(self) -> str:
        if not self.approved:
            return f"{self.job} from {self.scientist}: refused ({'; '.join(self.reasons)})"
        if self.epsilon is None:
            return f"{self.job} from {self.scientist}: released its declared output (a script: no DP guarantee)"
        return f"{self.job} from {self.scientist}: released (epsilon={self.epsilon:g}, delta={self.delta:g})"


class Owner:
    """The data owner's side: publish, review, charge, run, release (built by :func:`remote_session`)."""

    def __init__(self, client: Any, folder: Path, *, epsilon_budget: float, delta_budget: float,
                 rng: np.random.Generator | None, verbose: bool) -> None:
        self.client = client
        self.email: str = client.email
        self._folder = folder
        self._private: dict[str, dict[str, np.ndarray]] = {}
        self._budget = (float(epsilon_budget), float(delta_budget))
        BudgetAccountant(epsilon_budget=self._budget[0], delta_budget=self._budget[1])  # validates the budget
        self._accountants: dict[str, BudgetAccountant] = {}
        self._rng = as_rng(rng)
        self._verbose = verbose
        self.logs = folder / "owner_logs"  # job logs stay here, at home
        self.logs.mkdir(parents=True, exist_ok=True)

    # -- publishing
    def publish(self, name: str, *, private: Mapping[str, Any], mock: Mapping[str, Any], summary: str) -> None:
        """Publish dataset ``name``: the mock goes to the scientist, the private table stays here."""
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ValueError(f"dataset name must be lower-case letters, digits and _, got {name!r}")
        if list(private) != list(mock):
            raise ValueError(f"mock columns {list(mock)} must be the private columns {list(private)}")
        base = self._folder / "owner_files" / name
        (base / "private").mkdir(parents=True)
        (base / "mock").mkdir()
        _write_csv(base / "private" / "data.csv", private)
        _write_csv(base / "mock" / "data.csv", mock)
        (base / "README.md").write_text(f"# {name}\n\n{summary}\n")
        with _quiet(self._verbose):
            self.client.create_dataset(name=name, mock_path=str(base / "mock"), private_path=str(base / "private"),
                                       summary=summary, readme_path=str(base / "README.md"),
                                       users=list(self._peers()))
        self._private[name] = _read_csv(base / "private" / "data.csv")

    def _peers(self) -> list[str]:
        return [self._scientist_email] if getattr(self, "_scientist_email", None) else []

    # -- jobs
    def jobs(self, status: str | None = "pending") -> list[Any]:
        """Sync, then the jobs submitted to this owner (syft Job objects), by default the pending ones."""
        with _quiet(self._verbose):
            self.client.sync()
            jobs = list(self.client.jobs)
        return [j for j in jobs if status is None or str(j.status).lower().endswith(status)]

    def accountant(self, scientist: str) -> BudgetAccountant:
        """The budget accountant (lesson 03) of one scientist, created with the owner's budget."""
        if scientist not in self._accountants:
            self._accountants[scientist] = BudgetAccountant(epsilon_budget=self._budget[0],
                                                            delta_budget=self._budget[1])
        return self._accountants[scientist]

    @staticmethod
    def declaration(job: Any) -> Any:
        """The declaration a job carries, or None if it carries none."""
        script = Path(job.code_dir) / "script.sh"
        return _declaration_of(script.read_text()) if script.is_file() else None

    def _reject(self, job: Any, reasons: list[str]) -> Decision:
        with _quiet(self._verbose):
            job.reject("; ".join(reasons))
            self.client.sync()
        return Decision(job.name, job.submitted_by, False, reasons)

    def handle(self, job: Any, *, dataset: str) -> Decision:
        """The harness for a declared query: review, charge, run owner-side, release the result only.

        Refused (and charged nothing) if the job carries no valid declaration or it does not fit the
        scientist's budget. Otherwise the (ε, δ) is spent *before* the private data is touched, the
        answer is computed by :func:`run_query` in this process (the owner's own interpreter and
        code: the scientist's script is never run), and only :data:`RESULT_FILE` is deposited for
        the scientist: no stdout, no stderr, no other file.
        """
        if dataset not in self._private:
            raise ValueError(f"no published dataset {dataset!r}; published: {sorted(self._private)}")
        table = self._private[dataset]
        declaration = self.declaration(job)
        if declaration is None:
            return self._reject(job, ["the job carries no declaration: only declared queries are run"])
        reasons = review(declaration, columns=list(table))
        if reasons:
            return self._reject(job, reasons)
        eps, delta = float(declaration["epsilon"]), float(declaration["delta"])
        acct = self.accountant(job.submitted_by)
        if not acct.can_spend(epsilon=eps, delta=delta):
            rem = acct.remaining
            return self._reject(job, [f"over budget: needs epsilon={eps:g}, delta={delta:g}; "
                                      f"{job.submitted_by} has epsilon={rem[0]:g}, delta={rem[1]:g} left"])
        acct.spend(epsilon=eps, delta=delta, label=job.name)
        answer = run_query(table, declaration, rng=self._rng)
        out = self._folder / "owner_release" / job.name
        out.mkdir(parents=True, exist_ok=True)
        (out / RESULT_FILE).write_text(json.dumps({"answer": answer, "epsilon": eps, "delta": delta}))
        with _quiet(self._verbose):
            job.approve(f"declared {declaration['query']} of {declaration['column']}, epsilon={eps:g}, delta={delta:g}")
            job.accept_by_depositing_result(str(out / RESULT_FILE))
            self.client.sync()
        return Decision(job.name, job.submitted_by, True, [], eps, delta)

    def run_with_syft(self, job: Any) -> None:
        """Approve a script job and let syft run it (bash, this interpreter's folder first on PATH,
        the first published dataset's private CSV in ``$DATA``): syft's own path, kept to *show* its
        leak — the job's stdout and stderr reach the scientist although logs are not shared."""
        data = next(iter(self._private), None)
        saved = {k: os.environ.get(k) for k in ("DATA", "PATH")}
        os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
        if data is not None:
            os.environ["DATA"] = str(self._folder / "owner_files" / data / "private" / "data.csv")
        try:
            with _quiet(self._verbose):
                job.approve("approved as is")
                self.client.process_approved_jobs(stream_output=False, share_outputs_with_submitter=True,
                                                  share_logs_with_submitter=False)
                self.client.sync()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def run_script_job(self, job: Any, *, dataset: str, output: str = "result.txt",
                       timeout: float = 60.0, scan: bool = True) -> Decision:
        """Run a script job with the harness: logs stay home, only the declared ``output`` leaves.

        The job's ``script.sh`` runs with bash in a private scratch folder (this interpreter's
        folder first on PATH; the private CSV's path in ``$DATA``; no syft runner, nothing
        installed); stdout and stderr go to :attr:`logs`, never to the scientist; the process group
        is killed after ``timeout`` seconds. Only ``outputs/<output>`` is deposited, and, with
        ``scan``, only if :func:`find_leaks` finds no private value in it. No DP guarantee: the
        output is whatever the script computed, and even a refusal by the scan depends on the data.
        """
        if dataset not in self._private:
            raise ValueError(f"no published dataset {dataset!r}")
        scratch = Path(tempfile.mkdtemp(prefix="job-", dir=self._folder))
        try:
            shutil.copytree(job.code_dir, scratch / "code")
            (scratch / "code" / "outputs").mkdir(exist_ok=True)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("SYFT", "GOOGLE"))}
            env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
            env["DATA"] = str(self._folder / "owner_files" / dataset / "private" / "data.csv")
            log = self.logs / f"{job.name}.log"
            with open(log, "w") as fh:
                proc = subprocess.Popen(["bash", "script.sh"], cwd=scratch / "code", stdout=fh, stderr=fh,
                                        stdin=subprocess.DEVNULL, env=env, start_new_session=True)
                try:
                    code = proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    code = None
                finally:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            result = scratch / "code" / "outputs" / output
            if code != 0:
                return self._reject(job, [f"the script failed (exit {code}); its log stays with the owner"])
            if not result.is_file():
                return self._reject(job, [f"the script wrote no outputs/{output}"])
            if scan:
                leaks = find_leaks(result.read_text(errors="replace"),
                                   np.concatenate(list(self._private[dataset].values())))
                if leaks:
                    return self._reject(job, [f"outputs/{output} contains {len(leaks)} private values"])
            with _quiet(self._verbose):
                job.approve("harness: declared output only")
                job.accept_by_depositing_result(str(result))
                self.client.sync()
            return Decision(job.name, job.submitted_by, True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


class Scientist:
    """The data scientist's side: explore the mock, submit jobs, read what came back."""

    def __init__(self, client: Any, owner_email: str, syft: Any, *, verbose: bool) -> None:
        self.client = client
        self.email: str = client.email
        self.owner_email = owner_email
        self._syft = syft
        self._verbose = verbose

    def mock(self, dataset: str) -> dict[str, np.ndarray]:
        """Sync, then the mock table of ``dataset`` (the only data the scientist can read)."""
        with _quiet(self._verbose):
            self.client.sync()
            path = self._syft.resolve_dataset_file_path(dataset, client=self.client)
        return _read_csv(Path(path))

    def submit_query(self, declaration: Mapping[str, Any], *, name: str) -> None:
        """Submit a declared query as a bash job (the owner's harness reads it, never runs it)."""
        self.submit_script(_script_for(declaration), name=name)

    def submit_script(self, script: str, *, name: str) -> None:
        """Submit a bash script job (never ``submit_python_job``: its script downloads with uv)."""
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ValueError(f"job name must be lower-case letters, digits and _, got {name!r}")
        with _quiet(self._verbose):
            self.client.submit_bash_job(user=self.owner_email, script=script, job_name=name)

    def job(self, name: str) -> Any:
        with _quiet(self._verbose):
            self.client.sync()
            jobs = [j for j in self.client.jobs if j.name == name]
        if not jobs:
            raise ValueError(f"no job named {name!r}")
        return jobs[-1]

    def received(self, name: str) -> dict[str, str]:
        """Everything of job ``name`` that reached the scientist: status, stdout, stderr and each output file."""
        job = self.job(name)
        got = {"status": str(job.status).split(".")[-1].lower()}
        review_dir = Path(job.job_review_path)
        for log in ("stdout", "stderr"):
            path = review_dir / f"{log}.txt"
            got[log] = path.read_text() if path.is_file() else ""
        outputs = review_dir / "outputs"
        if outputs.is_dir():
            for path in sorted(outputs.rglob("*")):
                if path.is_file():
                    got["outputs/" + str(path.relative_to(outputs))] = path.read_text(errors="replace")
        return got

    def answer(self, name: str) -> float | None:
        """The released answer of a declared query, or None if nothing was released."""
        text = self.received(name).get("outputs/" + RESULT_FILE)
        return None if text is None else float(json.loads(text)["answer"])


@dataclass
class RemoteSession:
    """An owner and a scientist paired over syft's in-memory mock Drive (see :func:`remote_session`)."""

    owner: Owner
    scientist: Scientist
    folder: Path


@contextlib.contextmanager
def remote_session(*, epsilon_budget: float = 1.0, delta_budget: float = 1e-6,
                   owner_email: str = "owner@hospital.example", scientist_email: str = "scientist@university.example",
                   rng: np.random.Generator | None = None, verbose: bool = False) -> Iterator[RemoteSession]:
    """Pair a data owner and a data scientist in a temporary folder over syft's mock Drive.

    Uses ``SyftRDSClient.pair_with_mock_drive_service_connection`` of syft-rds 0.6.1 (a test helper:
    the transport is an in-memory stand-in for Google Drive, so nothing touches the network).
    Each scientist's budget is ``(epsilon_budget, delta_budget)`` under sequential composition.
    On exit the folder and everything in it are deleted (at interpreter exit if the session was never
    closed, and by the next session if its process was killed).

    Raises
    ------
    ImportError
        If syft 0.10.0 and syft-rds 0.6.1 are not installed (with the command that installs them).
    ValueError
        If the budget is invalid.
    """
    BudgetAccountant(epsilon_budget=epsilon_budget, delta_budget=delta_budget)  # validate before anything is created
    syft, client_cls = _import_syft()
    _remove_stale_folders()
    folder = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # a kernel shut down mid-session
    clients: list[Any] = []
    try:
        with _quiet(verbose):
            ds, do = client_cls.pair_with_mock_drive_service_connection(
                email1=owner_email, email2=scientist_email, base_path1=str(folder / "owner"),
                base_path2=str(folder / "scientist"), use_in_memory_cache=False)
        clients = [ds, do]
        owner = Owner(do, folder, epsilon_budget=epsilon_budget, delta_budget=delta_budget, rng=rng, verbose=verbose)
        owner._scientist_email = ds.email
        scientist = Scientist(ds, do.email, syft, verbose=verbose)
        yield RemoteSession(owner, scientist, folder)
    finally:
        for client in clients:
            _shutdown(client)
        shutil.rmtree(folder, ignore_errors=True)


_PREFIX = "ppml-remote-"


def _remove_stale_folders() -> None:
    """Delete the folders of sessions whose process died without closing them (a killed kernel)."""
    for path in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
        pid = path.name[len(_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:  # alive, someone else's
            pass


def _shutdown(client: Any) -> None:
    """Stop the thread pools a syft client started (syft 0.10 has no close())."""
    engine = getattr(client, "sync_engine", None)
    for part in (engine, getattr(engine, "peer_manager", None), getattr(engine, "datasite_watcher_syncer", None),
                 getattr(engine, "datasite_owner_syncer", None)):
        executor = getattr(part, "_executor", None) if part is not None else None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
