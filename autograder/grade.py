"""``python -m autograder grade SUBMISSIONS_DIR [--out OUT_DIR]``: grade a class with nbgrader.

Layout in: ``SUBMISSIONS_DIR/<student>/<lesson>/<lesson>.ipynb`` (a lone notebook with another
name in that folder is accepted, with a note). Nothing in ``SUBMISSIONS_DIR`` is ever written.

Layout out (``OUT_DIR`` is an ordinary nbgrader course folder, kept across runs, so instructors can
open formgrader in it for the written answers)::

    OUT_DIR/nbgrader_config.py        shared settings + this folder's paths
    OUT_DIR/gradebook.db              nbgrader's SQLite gradebook (manual grades live here too)
    OUT_DIR/source/<lesson>/          the solution notebooks the grades were computed against
    OUT_DIR/submitted/<student>/<lesson>/   the (sanitized) submissions
    OUT_DIR/autograded/<student>/<lesson>/  the executed, scored notebooks
    OUT_DIR/feedback/<student>/<lesson>/<lesson>.html   one feedback page per student and lesson
    OUT_DIR/grades.csv                student,lesson,score,max_score
    OUT_DIR/report.txt                what happened to every submission (malformed, time-outs, ...)
    OUT_DIR/logs/<student>/<lesson>.log   nbgrader's own log of each autograde

How one bad submission is kept from hurting the others:

* each notebook is read and validated first; a malformed one is reported, scored 0 and gets a
  feedback page saying why, and grading goes on;
* each submission is autograded by its own ``nbgrader autograde`` process, in its own temporary
  course folder (the student's code runs there, away from the other submissions and from the
  gradebook, which is reached by absolute path), under a wall-clock limit;
* a cell that runs past the timeout is interrupted; one that ignores the interrupt gets its kernel
  restarted (:mod:`autograder.execute`);
* test cells, deleted or edited, are restored from the gradebook's copy of the source, so only the
  student's answers count; the course's checks fail any answer that merely calls the reference.

Exit status: 0 when every submission was graded or reported (a student's failing code is a
grade, not an error); 1 when grading itself broke for some submission or for the whole run.
"""
from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .paths import SOLUTIONS, all_lessons, resolve_lessons
from .release import nbgrader_env, run_nbgrader, write_course_config

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


class MalformedNotebook(ValueError):
    """The submission cannot be read as a Jupyter notebook."""


@dataclass
class Result:
    student: str
    lesson: str
    status: str  # graded | malformed | missing | ungraded (nbgrader failed on this submission)
    score: float = 0.0
    max_score: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    out: Path
    results: list[Result]
    errors: list[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """False when grading itself broke: a run-level error, or every autograde attempt failed.

        One submission that nbgrader could not grade (its code wrecked its own grading folder,
        say) is reported and scored 0, like a malformed file; it does not fail the run.
        """
        attempted = [r for r in self.results if r.status in ("graded", "ungraded")]
        systemic = bool(attempted) and all(r.status == "ungraded" for r in attempted)
        return not self.errors and not systemic


# ----------------------------------------------------------------------------- reading submissions


def read_submission(path: Path) -> tuple[nbformat.NotebookNode, list[str]]:
    """Read and validate a submitted notebook, repairing what can be repaired safely.

    Returns the notebook and notes on what was repaired. Raises :class:`MalformedNotebook`
    with a reason a student can act on.
    """
    notes: list[str] = []
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise MalformedNotebook(f"the file is {size / 1e6:.0f} MB, larger than the {MAX_NOTEBOOK_BYTES / 1e6:.0f} MB limit")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedNotebook(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedNotebook(f"the file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list) or "nbformat" not in raw:
        raise MalformedNotebook("the file is JSON but not a Jupyter notebook (no 'cells' list or 'nbformat' field)")
    if raw.get("nbformat") != 4:
        raise MalformedNotebook(f"notebook format {raw.get('nbformat')} is not supported (expected 4)")
    # Cell ids: a copied cell carries its original's id; give duplicates fresh, stable ids
    # (before nbformat, which would rename them with only a warning).
    seen: set[str] = set()
    for index, cell in enumerate(raw["cells"]):
        if not isinstance(cell, dict):
            raise MalformedNotebook(f"cell {index + 1} is not a JSON object")
        cid = cell.get("id")
        if raw.get("nbformat_minor", 0) >= 5 and (not isinstance(cid, str) or not cid or cid in seen):
            new = hashlib.sha1(f"{cid}-{index}".encode()).hexdigest()[:12]
            notes.append(f"cell {index + 1} repeated the id {cid!r} of another cell (a copied cell); gave it a new id")
            cell["id"] = cid = new
        if isinstance(cid, str):
            seen.add(cid)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(json.dumps(raw), as_version=4)
    except Exception as exc:  # nbformat raises several kinds
        raise MalformedNotebook(f"nbformat cannot read it: {exc}") from None
    # nbgrader grade ids: a copied graded cell repeats its original's. nbgrader would blank the
    # metadata of all but the last copy and then trip over it; we keep the first copy graded and
    # turn the others into ordinary cells (they still run, in place).
    grade_ids: set[str] = set()
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if not isinstance(meta, dict) or not meta:
            continue
        gid = meta.get("grade_id")
        if gid in grade_ids:
            del cell["metadata"]["nbgrader"]
            notes.append(f"cell {index + 1} is a copied cell (it repeats grade id {gid!r}); graded as an ordinary cell")
        elif isinstance(gid, str):
            grade_ids.add(gid)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise MalformedNotebook(f"the notebook does not follow the Jupyter format: {exc.message}") from None
    return nb, notes


def find_notebook(folder: Path, lesson: str) -> tuple[Path | None, list[str]]:
    expected = folder / f"{lesson}.ipynb"
    if expected.is_file():
        return expected, []
    candidates = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if len(candidates) == 1:
        return candidates[0], [f"expected {expected.name}, graded {candidates[0].name} (the only notebook there)"]
    return None, []


# ----------------------------------------------------------------------------- the course folder


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


def course_config_extra(db: Path) -> str:
    return (
        'c.CourseDirectory.source_directory = "source"\n'
        'c.CourseDirectory.release_directory = "release"\n'
        f"c.CourseDirectory.db_url = {('sqlite:///' + str(db))!r}\n"
    )


def _tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def prepare_sources(out: Path, lessons: list[str]) -> list[str]:
    """Copy each lesson's source into OUT/source and register it in the gradebook (once per change)."""
    errors = []
    hashes_file = out / ".source-hashes.json"
    hashes = json.loads(hashes_file.read_text()) if hashes_file.exists() else {}
    for lesson in lessons:
        digest = _tree_hash(SOLUTIONS / lesson)
        if hashes.get(lesson) == digest and (out / "source" / lesson).is_dir():
            continue
        target = out / "source" / lesson
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(SOLUTIONS / lesson, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        proc = run_nbgrader(["generate_assignment", lesson, "--force"], cwd=out)
        if proc.returncode != 0:
            errors.append(f"could not register {lesson} in the gradebook:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
            continue
        hashes[lesson] = digest
    hashes_file.write_text(json.dumps(hashes, indent=2, sort_keys=True))
    return errors


def _code_cells(nb: nbformat.NotebookNode) -> int:
    return sum(1 for c in nb.cells if c.cell_type == "code")


def autograde_one(out: Path, student: str, lesson: str, nb: nbformat.NotebookNode, env: dict[str, str],
                  timeout: int) -> tuple[bool, str]:
    """Autograde one submission in a throw-away course folder; copy the result into OUT."""
    db = out / "gradebook.db"
    with tempfile.TemporaryDirectory(prefix=f"grade-{student}-{lesson}-") as tmp:
        root = Path(tmp)
        write_course_config(root, extra=course_config_extra(db))
        shutil.copytree(out / "source" / lesson, root / "source" / lesson)
        shutil.copytree(out / "submitted" / student / lesson, root / "submitted" / student / lesson)
        grace = int(env.get("COURSE_STUCK_GRACE", "10"))
        wall = (_code_cells(nb) + 5) * (timeout + grace + 10) + 120
        log_file = out / "logs" / student / f"{lesson}.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            proc = run_nbgrader(["autograde", lesson, "--student", student, "--force"], cwd=root, env=env,
                                timeout=wall)
        except subprocess.TimeoutExpired as exc:
            log_file.write_text((exc.output or "") + (exc.stderr or ""))
            return False, f"nbgrader autograde ran longer than {wall} s and was stopped: {(exc.stderr or '')[-2000:]}"
        log_file.write_text(proc.stdout + proc.stderr)
        graded = root / "autograded" / student / lesson
        if proc.returncode != 0 or not (graded / f"{lesson}.ipynb").is_file():
            return False, f"nbgrader autograde failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
        target = out / "autograded" / student / lesson
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(graded, target)
        return True, proc.stderr


def _timeouts_in(log: str) -> list[str]:
    notes = []
    if "Timeout waiting for execute reply" in log:
        notes.append("a cell ran past the time limit and was interrupted")
    if "restarting it" in log:
        notes.append("a cell ignored the interrupt (or the kernel died); the kernel was restarted")
    return notes


def write_feedback(out: Path, lesson: str, students: list[str]) -> list[str]:
    """nbgrader's feedback pages for the students graded now (one process per lesson)."""
    if not students:
        return []
    proc = run_nbgrader(["generate_feedback", lesson, "--force"], cwd=out)
    if proc.returncode == 0:
        return []
    errors = []
    for student in students:  # one failed: retry one by one so the others still get theirs
        p = run_nbgrader(["generate_feedback", lesson, "--student", student, "--force"], cwd=out)
        if p.returncode != 0:
            errors.append(f"feedback for {student}/{lesson} failed: {p.stderr[-1500:]}")
    return errors


def write_problem_feedback(out: Path, result: Result) -> None:
    page = out / "feedback" / result.student / result.lesson / f"{result.lesson}.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    items = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(result.lesson)}: feedback</title></head><body>"
        f"<h1>{html.escape(result.lesson)}: not graded ({html.escape(result.status)})</h1>"
        f"<p>Score: {result.score:g} / {result.max_score:g}</p><ul>{items}</ul>"
        "<p>Open the notebook in JupyterLab, check it runs, save it and submit it again.</p></body></html>"
    )


# ----------------------------------------------------------------------------- the gradebook


def _gradebook(out: Path):  # noqa: ANN202
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{out / 'gradebook.db'}", course_id="ppml-course")


def scores_from_gradebook(out: Path) -> dict[tuple[str, str], tuple[float, float]]:
    scores: dict[tuple[str, str], tuple[float, float]] = {}
    with _gradebook(out) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                scores[(submission.student.id, assignment.name)] = (float(submission.score), float(submission.max_score))
    return scores


def lesson_max_scores(out: Path) -> dict[str, float]:
    with _gradebook(out) as gb:
        return {a.name: float(a.max_score) for a in gb.assignments}


def write_grades(out: Path, results: list[Result]) -> Path:
    """grades.csv: every submission the gradebook knows, with this run's problems overriding."""
    status_file = out / ".status.json"
    status = json.loads(status_file.read_text()) if status_file.exists() else {}
    for r in results:
        key = f"{r.student}/{r.lesson}"
        if r.status == "graded":
            status.pop(key, None)
        else:
            status[key] = {"status": r.status, "max_score": r.max_score, "notes": r.notes}
    status_file.write_text(json.dumps(status, indent=2, sort_keys=True))
    rows = {key: (score, max_score) for key, score_max in scores_from_gradebook(out).items()
            for score, max_score in [score_max]}
    for key, info in status.items():
        student, lesson = key.split("/", 1)
        rows[(student, lesson)] = (0.0, float(info["max_score"]))
    path = out / "grades.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "lesson", "score", "max_score"])
        for (student, lesson), (score, max_score) in sorted(rows.items()):
            writer.writerow([student, lesson, f"{score:g}", f"{max_score:g}"])
    return path


# ----------------------------------------------------------------------------- the command


def grading_env(timeout: int | None, quick: bool) -> tuple[dict[str, str], int]:
    env = nbgrader_env()
    if timeout is not None:
        env["COURSE_CELL_TIMEOUT"] = str(timeout)
    effective = int(env.get("COURSE_CELL_TIMEOUT", "120"))
    if quick:
        env["COURSE_QUICK"] = "1"
    env.setdefault("COURSE_OFFLINE", "1")
    env.setdefault("MPLBACKEND", "Agg")
    # Grading runs notebooks one after another on shared cores: one BLAS thread each is faster
    # than several fighting over two cores (small lstsq calls: 18 ms vs 110+ ms measured).
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env, effective


def grade_class(submissions: str | os.PathLike[str], *, out: str | os.PathLike[str] = "grading",
                lessons: list[str] | None = None, timeout: int | None = None, quick: bool = True) -> Report:
    """Grade every ``SUBMISSIONS/<student>/<lesson>/`` and write grades, feedback and a report."""
    sub_dir = Path(submissions).resolve()
    if not sub_dir.is_dir():
        raise SystemExit(f"submissions folder not found: {sub_dir}")
    out_dir = Path(out).resolve()
    if out_dir == sub_dir or sub_dir in out_dir.parents:
        raise SystemExit("--out must not be inside the submissions folder")
    wanted = resolve_lessons(lessons) if lessons else all_lessons()
    env, cell_timeout = grading_env(timeout, quick)
    results: list[Result] = []
    errors: list[str] = []
    warnings: list[str] = []
    with locked(out_dir):
        write_course_config(out_dir, extra=course_config_extra(out_dir / "gradebook.db"))
        todo: list[tuple[str, str, Path]] = []
        for student_dir in sorted(p for p in sub_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            student = student_dir.name
            if not STUDENT_ID.match(student):
                warnings.append(f"skipped folder {student!r}: not a valid student id (letters, digits, _ . @ -)")
                continue
            for lesson in wanted:
                if (student_dir / lesson).is_dir():
                    todo.append((student, lesson, student_dir / lesson))
            for extra in sorted(p.name for p in student_dir.iterdir() if p.is_dir() and p.name not in wanted
                                and not p.name.startswith(".")):
                known = "not a lesson being graded" if extra in all_lessons() else "unknown lesson folder"
                warnings.append(f"{student}/{extra}: {known}; ignored")
        needed = sorted({lesson for _, lesson, _ in todo})
        setup_errors = prepare_sources(out_dir, needed)
        errors.extend(setup_errors)
        max_scores = lesson_max_scores(out_dir) if needed else {}
        graded_now: dict[str, list[str]] = {}
        for student, lesson, folder in todo:
            result = Result(student, lesson, "graded", max_score=max_scores.get(lesson, 0.0))
            results.append(result)
            if lesson not in max_scores:
                result.status = "ungraded"
                result.notes.append("the lesson could not be registered in the gradebook")
                continue
            path, notes = find_notebook(folder, lesson)
            result.notes.extend(notes)
            if path is None:
                result.status = "missing"
                result.notes.append(f"no notebook {lesson}.ipynb in the submission")
                write_problem_feedback(out_dir, result)
                continue
            try:
                nb, repairs = read_submission(path)
            except MalformedNotebook as exc:
                result.status = "malformed"
                result.notes.append(f"{path.name} could not be read: {exc}")
                write_problem_feedback(out_dir, result)
                continue
            result.notes.extend(repairs)
            target = out_dir / "submitted" / student / lesson
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(folder, target, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
            nbformat.write(nb, str(target / f"{lesson}.ipynb"))
            print(f"grading {student}/{lesson} ...", flush=True)
            ok, log = autograde_one(out_dir, student, lesson, nb, env, cell_timeout)
            if not ok:
                result.status = "ungraded"
                result.notes.append(log)
                write_problem_feedback(out_dir, result)
                continue
            result.notes.extend(_timeouts_in(log))
            graded_now.setdefault(lesson, []).append(student)
        for lesson, students in graded_now.items():
            errors.extend(write_feedback(out_dir, lesson, students))
        scores = scores_from_gradebook(out_dir) if todo else {}
        for r in results:
            if r.status == "graded":
                r.score, r.max_score = scores.get((r.student, r.lesson), (0.0, r.max_score))
        grades = write_grades(out_dir, results) if todo or (out_dir / "gradebook.db").exists() else None
        report = Report(out_dir, results, errors, warnings)
        write_report(report)
    print_summary(report, grades)
    return report


def write_report(report: Report) -> None:
    lines = ["student,lesson,status,score,max_score,notes"]
    for r in report.results:
        notes = " | ".join(n.strip().replace("\n", " ")[:500] for n in r.notes)
        lines.append(f"{r.student},{r.lesson},{r.status},{r.score:g},{r.max_score:g},{notes}")
    lines += [f"ERROR: {e}" for e in report.errors] + [f"WARNING: {w}" for w in report.warnings]
    (report.out / "report.txt").write_text("\n".join(lines) + "\n")


def print_summary(report: Report, grades: Path | None) -> None:
    width = max([len(f"{r.student}/{r.lesson}") for r in report.results] + [10])
    for r in report.results:
        note = f"  ({'; '.join(n.splitlines()[0] for n in r.notes)})" if r.notes else ""
        print(f"{r.student + '/' + r.lesson:<{width}}  {r.status:<9} {r.score:g}/{r.max_score:g}{note}")
    for w in report.warnings:
        print(f"WARNING: {w}", file=sys.stderr)
    for e in report.errors:
        print(f"ERROR: {e}", file=sys.stderr)
    if grades:
        print(f"grades: {grades}\nfeedback: {report.out / 'feedback'}\nreport: {report.out / 'report.txt'}")
