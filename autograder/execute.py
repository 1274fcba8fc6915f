"""Run one submission's grading notebook: ``python -m autograder run-one JOB.ipynb OUT.ipynb``.

In: a *job* notebook (:func:`autograder.plan.job_notebook`: the grading notebook plus the plan
for the grading kernel, hidden tests included) and the limits. Out: the executed grading
notebook (outputs filled in; no plan, no hidden test code) and a log. The command is
self-contained, so the same step can run on another machine (GNU parallel over ssh, a
Kubernetes Job): it needs the course installed and bubblewrap, nothing of the grading folder.

The outputs come from the sandbox and are treated as untrusted data: each record is matched to
a cell of the job's own notebook by id, rebuilt from an allow-list (:mod:`autograder.safepages`)
and made consistent with the record's status, so that a test cell scores exactly when its
tests passed (nbgrader scores a test cell 0 when it has an error output, full marks otherwise).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import nbformat

from .plan import Job, is_tests
from .safepages import safe_outputs
from .sandbox import Limits, RunResult, run_plan


@dataclass
class Executed:
    notebook: nbformat.NotebookNode
    log: str
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    complete: bool = True  # every cell ran (False: the budget ran out, or the sandbox died)


def _error(ename: str, message: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


def fill_notebook(job: Job, result: RunResult, limits: Limits) -> Executed:
    """The job's notebook with the outputs the sandbox reported, validated cell by cell."""
    nb = copy.deepcopy(job.notebook)
    by_id: dict[str, dict] = {}
    hidden: dict[str, str] = {}
    for record in result.records:
        if record.get("type") == "cell" and isinstance(record.get("id"), str) and record["id"] not in by_id:
            by_id[record["id"]] = record
        elif record.get("type") == "hidden" and record["id"] not in hidden:
            hidden[record["id"]] = record["status"]
    planned = {c["id"] for c in job.plan["setup"]} | {a["id"] for a in job.plan["answers"]} | {
        t["id"] for t in job.plan["tests"]}
    notes = list(job.notes)
    count = 0
    missing_tests = 0
    if result.stopped == "budget":
        why = (f"not run: grading this submission took longer than its budget of {limits.budget:g} s, "
               "so it was stopped; no points")
    elif result.stopped == "records":
        why = "not run: the sandbox sent more output than allowed and was stopped; no points"
    else:
        why = "not run: the grading sandbox ended early (its processes were killed); no points"
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        cell.execution_count = None
        if cell.get("id") not in planned:
            continue
        record = by_id.get(cell.id)
        if record is None:
            if is_tests(cell):
                cell.outputs = [_error("NotRunError", why)]
                missing_tests += 1
            continue
        count += 1
        cell.execution_count = count
        outputs = safe_outputs(record.get("outputs"))
        has_error = any(o.output_type == "error" for o in outputs)
        if is_tests(cell):
            if record.get("status") != "ok" and not has_error:
                outputs.append(_error("TestsFailed", "the tests did not pass"))
            elif record.get("status") == "ok" and has_error:
                outputs.append(_error("TestsFailed", "the tests reported an error"))
            elif record.get("status") == "ok" and record.get("hidden") == "pending":
                if hidden.get(cell.id) == "passed":
                    outputs.append(nbformat.v4.new_output("stream", name="stdout", text="hidden tests: passed\n"))
                else:
                    outputs.append(_error("HiddenTestsFailed", "hidden tests: failed"))
        cell.outputs = outputs
    if missing_tests:
        notes.append(f"{missing_tests} test cell(s) {why}")
    timeouts = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.outputs
                   if o.output_type == "error" and o.ename == "CellTimeoutError")
    if timeouts:
        notes.append(f"{timeouts} test cell(s) ran past the {limits.cell_timeout:g} s limit and were stopped")
    died = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if o.output_type == "error" and o.ename in ("ProcessDiedError", "OutputLimitError"))
    if died:
        notes.append(f"{died} test cell(s) stopped: over the memory or output limit, or the process died")
    if result.survivors:
        notes.append(f"sandbox processes that would not die: {result.survivors}")
    log = (f"seconds: {result.seconds:.2f}\nfinished: {result.finished}\nstopped: {result.stopped}\n"
           f"limits: {result.limits_note}\n--- kernel stderr ---\n{result.log}")
    return Executed(nb, log, notes, result.seconds, complete=result.finished and not missing_tests)


def execute_job(job: Job, limits: Limits, *, sandboxed: bool = True, quick: bool = True) -> Executed:
    result = run_plan(job.plan, limits, sandboxed=sandboxed, quick=quick)
    return fill_notebook(job, result, limits)


def run_one(job_path: str, out_path: str, limits: Limits, *, sandboxed: bool = True, quick: bool = True) -> Executed:
    """``python -m autograder run-one``: read a job notebook, write the executed notebook and a log."""
    import os
    from pathlib import Path

    from .plan import job_from_notebook

    nb = nbformat.read(job_path, as_version=4)
    executed = execute_job(job_from_notebook(nb), limits, sandboxed=sandboxed, quick=quick)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    nbformat.write(executed.notebook, str(tmp))
    os.replace(tmp, out)
    log = out.with_suffix(".log")
    log.write_text(executed.log + ("\n--- notes ---\n" + "\n".join(executed.notes) if executed.notes else ""))
    return executed
