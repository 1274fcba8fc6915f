"""The grading folder (``OUT_DIR`` of ``python -m autograder grade``) and everything written in it.

An ordinary nbgrader course folder, kept across runs so that instructors can open Formgrader in
it for the written answers::

    OUT_DIR/nbgrader_config.py        shared settings + this folder's paths
    OUT_DIR/gradebook.db              nbgrader's SQLite gradebook (manual grades live here too)
    OUT_DIR/source/<lesson>/          the grading version of each lesson (no demo code, no hidden tests)
    OUT_DIR/submitted/<student>/<lesson>/   the grading notebook that ran, with its outputs
    OUT_DIR/autograded/<student>/<lesson>/  the scored notebooks (what Formgrader shows)
    OUT_DIR/feedback/<student>/<lesson>/<lesson>.html   one feedback page per student and lesson
    OUT_DIR/grades.csv                student,lesson,score,max_score,manual_pending
    OUT_DIR/report.jsonl              one JSON object per submission (status, notes), then errors
    OUT_DIR/logs/<student>/<lesson>.log   the sandbox's log for each submission

Here: the lock that keeps two runs out of one folder, atomic writes, registering each lesson's
grading version in the gradebook (:func:`prepare_sources`), reading scores back from the
gradebook, and writing grades.csv, report.jsonl and the pages of submissions that could not be
graded. The results of a run are :class:`Result` (one per submission) and :class:`Report`.
"""
from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import html
import io
import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import plan as P
from .paths import COURSE_ID, SOLUTIONS, all_lessons
from .nbgrader_cli import run_nbgrader
from .submissions import STUDENT_ID

GRADER_VERSION = "sandboxed-1"  # part of each lesson's registration digest


@dataclass
class Result:
    student: str
    lesson: str
    status: str  # graded | malformed | missing | ungraded (grading failed for this submission)
    score: float = 0.0
    max_score: float = 0.0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    manual_pending: float = 0.0  # points of written answers not graded by hand yet


@dataclass
class Report:
    out: Path
    results: list[Result]
    errors: list[str]
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds: register, execute, score

    @property
    def ok(self) -> bool:
        """False when grading itself broke: a run-level error, or every grading attempt failed.

        One submission that could not be graded is reported and scored 0, like a malformed
        file; it does not fail the run.
        """
        attempted = [r for r in self.results if r.status in ("graded", "ungraded")]
        systemic = bool(attempted) and all(r.status == "ungraded" for r in attempted)
        return not self.errors and not systemic


# ----------------------------------------------------------------------------- the folder


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Refuse to run two gradings of the same folder at once (they would share one gradebook)."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".grading.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"another grading run is using {out}; wait for it to finish") from None
        yield


def atomic_write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    with open(tmp, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def load_solution(lesson: str) -> nbformat.NotebookNode:
    """The source notebook of a lesson (solutions/), with hidden tests: never mounted in a sandbox."""
    return nbformat.read(str(SOLUTIONS / lesson / f"{lesson}.ipynb"), as_version=4)


def prepare_sources(out: Path, lessons: list[str]) -> list[str]:
    """Register each lesson's grading version in the gradebook (once per change)."""
    errors = []
    hashes_file = out / ".source-hashes.json"
    try:
        hashes = json.loads(hashes_file.read_text()) if hashes_file.exists() else {}
    except ValueError:
        hashes = {}
    for lesson in lessons:
        source = P.grading_source(load_solution(lesson))
        text = nbformat.writes(source)
        digest = hashlib.sha256((GRADER_VERSION + text).encode()).hexdigest()
        released = out / "release" / lesson / f"{lesson}.ipynb"
        if hashes.get(lesson) == digest and (out / "source" / lesson).is_dir() and released.is_file():
            continue
        target = out / "source" / lesson
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        (target / f"{lesson}.ipynb").write_text(text)
        proc = run_nbgrader(["generate_assignment", lesson, "--force"], cwd=out)
        if proc.returncode != 0 or not released.is_file():
            errors.append(f"could not register {lesson} in the gradebook:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
            hashes.pop(lesson, None)
            continue
        hashes[lesson] = digest
    atomic_write(hashes_file, json.dumps(hashes, indent=2, sort_keys=True))
    return errors


def write_problem_feedback(out: Path, result: Result) -> None:
    page = out / "feedback" / result.student / result.lesson / f"{result.lesson}.html"
    items = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    atomic_write(page, (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(result.lesson)}: feedback</title></head><body>"
        f"<h1>{html.escape(result.lesson)}: not graded ({html.escape(result.status)})</h1>"
        f"<p>Score: {result.score:g} / {result.max_score:g}</p><ul>{items}</ul>"
        "<p>Open the notebook in JupyterLab, check it runs, save it and submit it again.</p></body></html>"))


# ----------------------------------------------------------------------------- the gradebook


def open_gradebook(out: Path):  # noqa: ANN202
    """nbgrader's gradebook of this grading folder (a context manager)."""
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{out / 'gradebook.db'}", course_id=COURSE_ID)


def scores_from_gradebook(out: Path) -> dict[tuple[str, str], tuple[float, float, float]]:
    """(student, lesson) -> (score, max_score, points awaiting a manual grade).

    A cell awaits a manual grade while it has neither an automatic nor a manual score: the written
    answers a student changed (nbgrader scores an untouched answer cell 0) until someone grades them
    in Formgrader (nbgrader's own ``needs_manual_grade`` flag is
    also set again on every regrade of a graded cell, so it cannot tell "pending" from "graded").
    """
    scores: dict[tuple[str, str], tuple[float, float, float]] = {}
    with open_gradebook(out) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                pending = sum(float(g.max_score) for nb in submission.notebooks for g in nb.grades
                              if g.auto_score is None and g.manual_score is None) + 0.0
                scores[(submission.student.id, assignment.name)] = (
                    float(submission.score), float(submission.max_score), pending)
    return scores


def lesson_max_scores(out: Path) -> dict[str, float]:
    with open_gradebook(out) as gb:
        return {a.name: float(a.max_score) for a in gb.assignments}


GRADES_HEADER = ["student", "lesson", "score", "max_score", "manual_pending"]


def write_grades(out: Path, results: list[Result]) -> Path:
    """grades.csv: every submission the gradebook knows, with this run's problems overriding.

    ``manual_pending`` is the points of written answers nobody has graded in Formgrader yet: until
    it is 0, ``score`` is a lower bound.
    """
    status_file = out / ".status.json"
    try:
        status = json.loads(status_file.read_text()) if status_file.exists() else {}
    except ValueError:
        status = {}
    status = {k: v for k, v in status.items() if isinstance(k, str) and isinstance(v, dict)}
    for r in results:
        key = f"{r.student}/{r.lesson}"
        if r.status == "graded":
            status.pop(key, None)
        else:
            status[key] = {"status": r.status, "max_score": r.max_score, "notes": r.notes}
    atomic_write(status_file, json.dumps(status, indent=2, sort_keys=True))
    rows = dict(scores_from_gradebook(out))
    known = set(all_lessons())
    for key, info in status.items():
        student, _, lesson = key.partition("/")
        if STUDENT_ID.fullmatch(student) and lesson in known:
            with contextlib.suppress(TypeError, ValueError):
                rows[(student, lesson)] = (0.0, float(info.get("max_score", 0.0)), 0.0)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(GRADES_HEADER)
    for (student, lesson), (score, max_score, pending) in sorted(rows.items()):
        writer.writerow([student, lesson, f"{score:g}", f"{max_score:g}", f"{pending:g}"])
    path = out / "grades.csv"
    atomic_write(path, buffer.getvalue())
    return path


def write_report(report: Report) -> None:
    lines = []
    for r in report.results:
        lines.append(json.dumps({"student": r.student, "lesson": r.lesson, "status": r.status, "score": r.score,
                                 "max_score": r.max_score, "manual_pending": r.manual_pending,
                                 "seconds": round(r.seconds, 2), "notes": r.notes},
                                ensure_ascii=True))
    lines += [json.dumps({"error": e}, ensure_ascii=True) for e in report.errors]
    lines += [json.dumps({"warning": w}, ensure_ascii=True) for w in report.warnings]
    atomic_write(report.out / "report.jsonl", "\n".join(lines) + "\n")
