"""``python -m autograder grade SUBMISSIONS_DIR [--out OUT_DIR]``: grade a class, safely.

Layout in: ``SUBMISSIONS_DIR/<student>/<lesson>/<lesson>.ipynb``, read by
:mod:`autograder.submissions` (nothing in ``SUBMISSIONS_DIR`` is ever written). Layout out: an
nbgrader course folder, ``OUT_DIR`` (:mod:`autograder.gradefolder`: gradebook, grades.csv,
report.jsonl, feedback pages, logs). This module is the orchestration: read every submission,
build its job, run the jobs ``--jobs`` at a time, score each lesson, write the results.

How the class is kept safe from one hostile submission (README, "Grading safely"):

* the driver reads each submission with ``lstat``/``O_NOFOLLOW``/``O_NONBLOCK``: only regular
  files with safe names; student ids match a safe pattern in full; every error is caught per
  submission; the time of submission is taken on the instructor's side (the file's ctime);
* the notebook that runs is built from the course's source (:mod:`autograder.plan`): only the
  *definitions* of the student's answer cells, the source's own test cells;
* it runs in a throwaway bubblewrap sandbox (:mod:`autograder.sandbox`), ``--jobs`` at a time,
  each exercise's tests in a fresh process, under memory, process, file-size, CPU, output and
  wall-clock limits;
* nbgrader scores the executed notebooks in one process per lesson (:mod:`autograder.scoring`),
  after every output has been sanitized (:mod:`autograder.safepages`); hidden tests show only
  "hidden tests: passed/failed";
* grades.csv, report.jsonl and the status file are written atomically, under a lock
  (:mod:`autograder.gradefolder`).

Exit status: 0 when every submission was graded or reported (a student's failing code is a
grade, not an error); 1 when grading itself broke for some submission or for the whole run.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import hashlib
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import plan as P
from . import sandbox
from .execute import Executed, execute_job, fill_notebook
from .gradefolder import (Report, Result, atomic_write, lesson_max_scores, load_solution, locked,
                          prepare_sources, scores_from_gradebook, write_grades, write_problem_feedback,
                          write_report)
from .paths import all_lessons, lesson_kernel, resolve_lessons
from .nbgrader_cli import write_course_config
from .safepages import sanitize_notebook
from .scoring import course_config_extra, score_lesson
from .submissions import (MalformedNotebook, enumerate_submissions, find_notebook, read_regular_file,
                          read_submission, shown)

# Names that tests and tools import from here, kept from before the split (their homes:
# autograder.submissions and autograder.gradefolder).
from .gradefolder import open_gradebook as _gradebook  # noqa: E402,F401
from .submissions import MAX_NOTEBOOK_BYTES, STUDENT_ID  # noqa: E402,F401

UNSAFE_WARNING = """\
WARNING: grading WITHOUT a sandbox (--unsafe-no-sandbox). Unprotected, because students' code then
runs as {user} on this machine:
  * it can read and change every file you can: other students' submissions, the gradebook and
    grades.csv in {out}, the course's solutions and the installed `helpers` (which every other
    student's grade depends on), your home directory;
  * it can reach the network and see and signal your processes (including this grader);
  * it can leave processes running after grading, and use memory and processes up to your
    account's limits (file size and CPU time are limited; memory and processes only where
    this account may create cgroups).
What still holds: only the definitions of answer cells run, each exercise in its own process
with a time limit; hidden tests stay hidden; pages are sanitized. Use this only for notebooks
you trust (your own solutions), or install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap).
"""


# ----------------------------------------------------------------------------- one submission


@dataclass
class Task:
    result: Result
    folder: Path
    job: P.Job | None = None
    executed: Executed | None = None
    timestamp: str = ""


def _timestamp(ctime: float) -> str:
    return dt.datetime.fromtimestamp(ctime, tz=dt.timezone.utc).isoformat()


def load_task(task: Task, released: dict[str, nbformat.NotebookNode],
              solutions: dict[str, nbformat.NotebookNode]) -> bool:
    """Read the submission and build its job; False (with the result filled in) when it cannot run."""
    r = task.result
    path, notes = find_notebook(task.folder, r.lesson)
    r.notes.extend(notes)
    if path is None:
        r.status = "missing"
        if not notes:
            r.notes.append(f"no notebook {r.lesson}.ipynb in the submission")
        return False
    try:
        data, ctime = read_regular_file(path)
        nb, repairs = read_submission(data)
    except MalformedNotebook as exc:
        r.status = "malformed"
        r.notes.append(f"{shown(path.name)} could not be read: {exc}")
        return False
    r.notes.extend(repairs)
    task.timestamp = _timestamp(ctime)
    task.job = P.build_job(released[r.lesson], solutions[r.lesson], nb)
    task.job.plan["kernel"] = lesson_kernel(r.lesson)  # the sandbox runs that kernel's Python (appendix A1: ppml-tf)
    return True


def grade_one(task: Task, limits: sandbox.Limits, sandboxed: bool, quick: bool) -> None:
    start = time.monotonic()
    assert task.job is not None
    executed = execute_job(task.job, limits, sandboxed=sandboxed, quick=quick)
    task.executed = sanitized(executed)
    task.result.notes.extend(executed.notes)
    task.result.seconds = time.monotonic() - start


def sanitized(executed: Executed) -> Executed:
    sanitize_notebook(executed.notebook)
    return executed


def load_executed(task: Task, folder: Path, limits: sandbox.Limits) -> None:
    """Take the outputs of a notebook executed elsewhere (``run-one``) for this task's job."""
    from .sandbox import RunResult

    assert task.job is not None
    path = folder / "executed" / task.result.lesson / f"{task.result.student}.ipynb"
    data, _ = read_regular_file(path, limit=64 * 1024 * 1024)
    nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    if nb.metadata.get(P.PLAN_KEY + "_digest") != job_digest(task.job):
        raise ValueError(f"{path} was executed from another version of this submission or lesson; run it again")
    records = []
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.get("outputs"):
            failed = any(o.get("output_type") == "error" for o in cell.outputs)
            records.append({"type": "cell", "id": cell.get("id"), "status": "error" if failed else "ok",
                            "outputs": cell.outputs})
    result = RunResult(records, True, 0.0, "executed elsewhere: " + str(path), None)
    executed = fill_notebook(task.job, result, limits)
    task.executed = sanitized(executed)
    task.result.notes.extend(executed.notes)


def job_digest(job: P.Job) -> str:
    return hashlib.sha256(json.dumps(job.plan, sort_keys=True).encode()).hexdigest()


# ----------------------------------------------------------------------------- the command


def grade_class(submissions: str | os.PathLike[str], *, out: str | os.PathLike[str] = "grading",
                lessons: list[str] | None = None, timeout: float | None = None, quick: bool = True,
                jobs: int | None = None, limits: sandbox.Limits | None = None, unsafe_no_sandbox: bool = False,
                prepare: str | os.PathLike[str] | None = None,
                executed: str | os.PathLike[str] | None = None) -> Report:
    """Grade every ``SUBMISSIONS/<student>/<lesson>/`` and write grades, feedback and a report.

    ``prepare=DIR`` only writes one job notebook per submission into DIR (and a list of
    ``run-one`` commands); ``executed=DIR`` scores the notebooks those commands wrote instead of
    running the submissions here.
    """
    sub_dir = Path(submissions).resolve()
    if not sub_dir.is_dir():
        raise SystemExit(f"submissions folder not found: {sub_dir}")
    out_dir = Path(out).resolve()
    if out_dir == sub_dir or sub_dir in out_dir.parents or out_dir in sub_dir.parents:
        raise SystemExit("--out and the submissions folder must not contain one another")
    limits = limits or sandbox.Limits()
    if timeout is not None:
        limits.cell_timeout = float(timeout)
    if jobs is None:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    jobs = max(1, int(jobs))
    sandboxed = not unsafe_no_sandbox
    if sandboxed and prepare is None and executed is None:
        ok, reason = sandbox.available()
        if not ok:
            raise SystemExit(
                f"cannot grade untrusted submissions: {reason}.\nInstall bubblewrap, or pass --unsafe-no-sandbox "
                "to grade without one (it prints what is then unprotected).")
    if unsafe_no_sandbox:
        user = f"uid {os.geteuid()}" + (" (root!)" if os.geteuid() == 0 else "")
        print(UNSAFE_WARNING.format(user=user, out=out_dir), file=sys.stderr, flush=True)
    wanted = resolve_lessons(lessons) if lessons else all_lessons()
    results: list[Result] = []
    errors: list[str] = []
    warns: list[str] = []
    grades: Path | None = None
    with locked(out_dir):
        write_course_config(out_dir, extra=course_config_extra(out_dir / "gradebook.db"))
        todo, skipped = enumerate_submissions(sub_dir, wanted)
        warns.extend(skipped)
        needed = sorted({lesson for _, lesson, _ in todo})
        clock = time.monotonic()
        errors.extend(prepare_sources(out_dir, needed))
        timings = {"register": time.monotonic() - clock}
        max_scores = lesson_max_scores(out_dir) if needed else {}
        released = {lesson: nbformat.read(str(out_dir / "release" / lesson / f"{lesson}.ipynb"), as_version=4)
                    for lesson in needed if lesson in max_scores}
        solutions = {lesson: load_solution(lesson) for lesson in released}
        tasks: list[Task] = []
        for student, lesson, folder in todo:
            result = Result(student, lesson, "graded", max_score=max_scores.get(lesson, 0.0))
            results.append(result)
            if lesson not in released:
                result.status = "ungraded"
                result.notes.append("the lesson could not be registered in the gradebook")
                continue
            task = Task(result, folder)
            try:
                if load_task(task, released, solutions):
                    tasks.append(task)
            except Exception as exc:  # a grader bug on this submission: report it, grade the others
                result.status = "ungraded"
                result.notes.append(f"grading failed: {type(exc).__name__}: {exc}")
                errors.append(f"{student}/{lesson}: {traceback.format_exc()[-2000:]}")
        if prepare is not None:
            write_jobs(Path(prepare), tasks, limits, sandboxed)
            report = Report(out_dir, results, errors, warns)
            write_report(report)
            print(f"wrote {len(tasks)} job notebooks and {Path(prepare) / 'commands.txt'}")
            return report
        clock = time.monotonic()
        run_tasks(tasks, limits, sandboxed, quick, jobs, executed)
        timings["execute"] = time.monotonic() - clock
        clock = time.monotonic()
        by_lesson: dict[str, list[Task]] = {}
        for task in tasks:
            if task.executed is not None:
                by_lesson.setdefault(task.result.lesson, []).append(task)
        for lesson, lesson_tasks in sorted(by_lesson.items()):
            notebooks = {t.result.student: (nbformat.writes(t.executed.notebook).encode(), t.timestamp)
                         for t in lesson_tasks}
            try:
                failed = score_lesson(out_dir, lesson, notebooks, jobs=jobs)
            except Exception as exc:
                failed = {t.result.student: f"scoring failed: {exc}" for t in lesson_tasks}
                errors.append(f"scoring {lesson} failed: {traceback.format_exc()[-2000:]}")
            for task in lesson_tasks:
                if task.result.student in failed:
                    task.result.status = "ungraded"
                    task.result.notes.append(failed[task.result.student])
        for task in tasks:
            log = out_dir / "logs" / task.result.student / f"{task.result.lesson}.log"
            atomic_write(log, task.executed.log if task.executed else "not executed\n")
        for r in results:
            if r.status != "graded":
                with contextlib.suppress(OSError):
                    write_problem_feedback(out_dir, r)
        scores = scores_from_gradebook(out_dir) if todo else {}
        for r in results:
            if r.status == "graded":
                r.score, r.max_score, r.manual_pending = scores.get((r.student, r.lesson), (0.0, r.max_score, 0.0))
        if todo or (out_dir / "gradebook.db").exists():
            grades = write_grades(out_dir, results)
        timings["score"] = time.monotonic() - clock
        report = Report(out_dir, results, errors, warns, timings)
        write_report(report)
    print_summary(report, grades)
    return report


def run_tasks(tasks: list[Task], limits: sandbox.Limits, sandboxed: bool, quick: bool, jobs: int,
              executed: str | os.PathLike[str] | None) -> None:
    """Execute every task, ``jobs`` sandboxes at a time (or read the outputs from ``executed``)."""
    if not tasks:
        return
    where = "executed elsewhere" if executed else ("in bubblewrap sandboxes" if sandboxed else "WITHOUT a sandbox")
    print(f"grading {len(tasks)} submission(s) {where}, {jobs} at a time", flush=True)

    def one(task: Task) -> None:
        r = task.result
        try:
            if executed is not None:
                load_executed(task, Path(executed), limits)
            else:
                grade_one(task, limits, sandboxed, quick)
        except Exception as exc:  # this submission failed to grade; the others go on
            r.status = "ungraded"
            r.notes.append(f"grading failed: {type(exc).__name__}: {exc}")
            task.executed = None
            return
        print(f"ran {r.student}/{r.lesson} in {r.seconds:.1f} s", flush=True)

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, tasks))


def write_jobs(folder: Path, tasks: list[Task], limits: sandbox.Limits, sandboxed: bool) -> None:
    """One job notebook per submission plus ``commands.txt`` (one self-contained command per line)."""
    import shlex

    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    flags = (f"--timeout {limits.cell_timeout:g} --budget {limits.budget:g} --memory {limits.memory / sandbox.GiB:g}"
             + ("" if sandboxed else " --unsafe-no-sandbox"))
    for task in tasks:
        assert task.job is not None
        job_nb = P.job_notebook(task.job)
        job_nb.metadata[P.PLAN_KEY + "_digest"] = job_digest(task.job)
        path = folder / "jobs" / task.result.lesson / f"{task.result.student}.ipynb"
        atomic_write(path, nbformat.writes(job_nb))
        target = folder / "executed" / task.result.lesson / f"{task.result.student}.ipynb"
        lines.append(f"python -m autograder run-one {shlex.quote(str(path))} {shlex.quote(str(target))} {flags}")
    atomic_write(folder / "commands.txt", "\n".join(lines) + "\n")


def print_summary(report: Report, grades: Path | None) -> None:
    width = max([len(f"{r.student}/{r.lesson}") for r in report.results] + [10])
    for r in report.results:
        note = f"  ({'; '.join(n.splitlines()[0] for n in r.notes if n.strip())[:300]})" if r.notes else ""
        pending = f" (+{r.manual_pending:g} to grade by hand)" if r.manual_pending else ""
        print(f"{r.student + '/' + r.lesson:<{width}}  {r.status:<9} {r.score:g}/{r.max_score:g}{pending}{note}")
    waiting = [r for r in report.results if r.manual_pending]
    if waiting:
        print(f"{len(waiting)} submission(s) have written answers to grade by hand "
              f"({sum(r.manual_pending for r in waiting):g} points): open Formgrader (make instructor); "
              "grades.csv's score counts them once graded (column manual_pending)")
    for w in report.warnings:
        print(f"WARNING: {w}", file=sys.stderr)
    for e in report.errors:
        print(f"ERROR: {e}", file=sys.stderr)
    if report.timings:
        print("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items()))
    if grades:
        print(f"grades: {grades}\nfeedback: {report.out / 'feedback'}\nreport: {report.out / 'report.jsonl'}")
