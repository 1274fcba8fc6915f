"""``python -m autograder grade SUBMISSIONS_DIR [--out OUT_DIR]``: grade a class, safely.

Layout in: ``SUBMISSIONS_DIR/<student>/<lesson>/<lesson>.ipynb`` (a lone notebook with another
name in that folder is accepted, with a note). Nothing in ``SUBMISSIONS_DIR`` is ever written,
and nothing of it but the notebook's bytes is read.

Layout out (``OUT_DIR`` is an ordinary nbgrader course folder, kept across runs, so instructors can
open Formgrader in it for the written answers)::

    OUT_DIR/nbgrader_config.py        shared settings + this folder's paths
    OUT_DIR/gradebook.db              nbgrader's SQLite gradebook (manual grades live here too)
    OUT_DIR/source/<lesson>/          the grading version of each lesson (no demo code, no hidden tests)
    OUT_DIR/submitted/<student>/<lesson>/   the grading notebook that ran, with its outputs
    OUT_DIR/autograded/<student>/<lesson>/  the scored notebooks (what Formgrader shows)
    OUT_DIR/feedback/<student>/<lesson>/<lesson>.html   one feedback page per student and lesson
    OUT_DIR/grades.csv                student,lesson,score,max_score
    OUT_DIR/report.jsonl              one JSON object per submission (status, notes), then errors
    OUT_DIR/logs/<student>/<lesson>.log   the sandbox's log for each submission

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
* grades.csv, report.jsonl and the status file are written atomically, under a lock.

Exit status: 0 when every submission was graded or reported (a student's failing code is a
grade, not an error); 1 when grading itself broke for some submission or for the whole run.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import datetime as dt
import fcntl
import hashlib
import html
import io
import json
import os
import re
import shutil
import stat
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import plan as P
from . import sandbox
from .execute import Executed, execute_job, fill_notebook
from .paths import COURSE_ID, SOLUTIONS, all_lessons, lesson_kernel, resolve_lessons
from .release import run_nbgrader, write_course_config
from .safepages import sanitize_notebook
from .scoring import course_config_extra, score_lesson

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")  # always used with fullmatch
NOTEBOOK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@ -]{0,120}\.ipynb")
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
GRADER_VERSION = "sandboxed-1"  # part of each lesson's registration digest

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


class MalformedNotebook(ValueError):
    """The submission cannot be read as a Jupyter notebook."""


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


def shown(name: str) -> str:
    """A file name as text that is safe to print and store: undecodable bytes and controls escaped."""
    raw = os.fsencode(name)
    text = raw.decode("utf-8", errors="backslashreplace")
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


# ----------------------------------------------------------------------------- reading submissions


def read_regular_file(path: Path, limit: int = MAX_NOTEBOOK_BYTES) -> tuple[bytes, float]:
    """The bytes of a regular file (not a symlink, FIFO or device) and its ctime; at most ``limit``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        if exc.errno in (40, 62):  # ELOOP (Linux) / ELOOP (macOS): a symlink
            raise MalformedNotebook("the notebook is a symbolic link, not a file") from None
        raise MalformedNotebook(f"the notebook cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise MalformedNotebook("the notebook is not a regular file (a FIFO, device or folder)")
        if info.st_size > limit:
            raise MalformedNotebook(f"the file is {info.st_size / 1e6:.0f} MB, larger than the "
                                    f"{limit / 1e6:.0f} MB limit")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise MalformedNotebook(f"the file is larger than the {limit / 1e6:.0f} MB limit")
        return b"".join(chunks), info.st_ctime
    finally:
        os.close(fd)


def read_submission(data: bytes) -> tuple[nbformat.NotebookNode, list[str]]:
    """Read and validate a submitted notebook, repairing what can be repaired safely.

    Returns the notebook and notes on what was repaired. Raises :class:`MalformedNotebook`
    with a reason a student can act on.
    """
    notes: list[str] = []
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise MalformedNotebook(f"the file is larger than the {MAX_NOTEBOOK_BYTES / 1e6:.0f} MB limit")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedNotebook(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedNotebook(f"the file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise MalformedNotebook("the file is JSON nested too deeply to be a notebook") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list) or "nbformat" not in raw:
        raise MalformedNotebook("the file is JSON but not a Jupyter notebook (no 'cells' list or 'nbformat' field)")
    if raw.get("nbformat") != 4:
        raise MalformedNotebook(f"notebook format {raw.get('nbformat')!r} is not supported (expected 4)")
    # Cell ids: a copied cell carries its original's id; give duplicates fresh, stable ids
    # (before nbformat, which would rename them with only a warning).
    seen: set[str] = set()
    for index, cell in enumerate(raw["cells"]):
        if not isinstance(cell, dict):
            raise MalformedNotebook(f"cell {index + 1} is not a JSON object")
        cid = cell.get("id")
        if raw.get("nbformat_minor", 0) >= 5 and (not isinstance(cid, str) or not cid or cid in seen):
            new = hashlib.sha1(f"{cid}-{index}".encode()).hexdigest()[:12]
            notes.append(f"cell {index + 1} repeated the id of another cell (a copied cell); gave it a new id")
            cell["id"] = cid = new
        if isinstance(cid, str):
            seen.add(cid)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(json.dumps(raw), as_version=4)
    except Exception as exc:  # nbformat raises several kinds
        raise MalformedNotebook(f"nbformat cannot read it: {str(exc)[:300]}") from None
    # nbgrader grade ids: a copied graded cell repeats its original's. The first copy is graded;
    # the others are ordinary cells (and do not run: only answer cells run when grading).
    grade_ids: set[str] = set()
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if not isinstance(meta, dict) or not meta:
            continue
        gid = meta.get("grade_id")
        if gid in grade_ids:
            del cell["metadata"]["nbgrader"]
            notes.append(f"cell {index + 1} is a copied cell (it repeats grade id {gid!r}); the first copy is graded")
        elif isinstance(gid, str):
            grade_ids.add(gid)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise MalformedNotebook(f"the notebook does not follow the Jupyter format: {exc.message[:300]}") from None
    return nb, notes


def _scandir(path: Path) -> list[os.DirEntry]:
    with os.scandir(path) as it:
        return sorted(it, key=lambda e: os.fsencode(e.name))


def find_notebook(folder: Path, lesson: str) -> tuple[Path | None, list[str]]:
    """The submission's notebook in ``folder``: ``<lesson>.ipynb``, else a lone ``*.ipynb``.

    Symlinks and other non-regular files are never chosen; the reason is returned as a note.
    """
    entries = [e for e in _scandir(folder) if e.name.endswith(".ipynb") and not e.name.startswith(".")]
    expected = next((e for e in entries if e.name == f"{lesson}.ipynb"), None)
    if expected is not None:
        if expected.is_symlink():
            return None, [f"{lesson}.ipynb is a symbolic link, not a file: not graded"]
        return Path(expected.path), []
    regular = [e for e in entries if e.is_file(follow_symlinks=False)]
    if len(entries) == 1 and len(regular) == 1 and NOTEBOOK_NAME.fullmatch(regular[0].name):
        return Path(regular[0].path), [f"expected {lesson}.ipynb, graded {regular[0].name} (the only notebook there)"]
    return None, []


def enumerate_submissions(sub_dir: Path, wanted: list[str]) -> tuple[list[tuple[str, str, Path]], list[str]]:
    """(student, lesson, folder) for every submission, and warnings for what was skipped."""
    todo: list[tuple[str, str, Path]] = []
    notes: list[str] = []
    for entry in _scandir(sub_dir):
        name = entry.name
        if name.startswith("."):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                kind = "a symbolic link" if entry.is_symlink() else "not a folder"
                notes.append(f"skipped '{shown(name)}': {kind}")
                continue
            if not STUDENT_ID.fullmatch(name):
                notes.append(f"skipped folder '{shown(name)}': not a valid student id (letters, digits, _ . @ -)")
                continue
            for sub in _scandir(Path(entry.path)):
                if sub.name.startswith("."):
                    continue
                if sub.name in wanted:
                    if sub.is_dir(follow_symlinks=False):
                        todo.append((name, sub.name, Path(sub.path)))
                    else:
                        notes.append(f"{name}/{shown(sub.name)}: not a folder (a symbolic link?); ignored")
                elif sub.is_dir(follow_symlinks=False):
                    known = "not a lesson being graded" if sub.name in all_lessons() else "unknown lesson folder"
                    notes.append(f"{name}/{shown(sub.name)}: {known}; ignored")
        except OSError as exc:
            notes.append(f"skipped '{shown(name)}': {exc.strerror}")
    return todo, notes


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


def atomic_write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    with open(tmp, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _load_solution(lesson: str) -> nbformat.NotebookNode:
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
        source = P.grading_source(_load_solution(lesson))
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


def _gradebook(out: Path):  # noqa: ANN202
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
    with _gradebook(out) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                pending = sum(float(g.max_score) for nb in submission.notebooks for g in nb.grades
                              if g.auto_score is None and g.manual_score is None) + 0.0
                scores[(submission.student.id, assignment.name)] = (
                    float(submission.score), float(submission.max_score), pending)
    return scores


def lesson_max_scores(out: Path) -> dict[str, float]:
    with _gradebook(out) as gb:
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
        solutions = {lesson: _load_solution(lesson) for lesson in released}
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
                failed = score_lesson(out_dir, lesson, notebooks)
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
