"""Scoring: nbgrader reads the executed grading notebooks into the gradebook; it runs nothing.

One ``nbgrader autograde`` process per lesson writes the gradebook (a single writer), in a
staging course folder that holds only this run's executed notebooks, and with a configuration
that neither executes the notebooks nor clears their outputs (clearing would give every test
cell full marks). nbgrader then scores each test cell from its outputs: 0 with an error output,
its points otherwise; written answers wait for a manual grade, which regrading keeps. The
feedback pages are generated from the same (sanitized) notebooks; they only read the gradebook,
so ``jobs`` nbgrader processes write them at once, each in a course folder of its own holding its
share of the graded notebooks. The results are moved into the grading folder.

The grading folder's own ``nbgrader_config.py`` (which instructors use for Formgrader) refuses
``nbgrader autograde``: run by hand it would execute students' code outside any sandbox.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor

from .nbgrader_cli import run_nbgrader, run_nbgrader_parallel, write_course_config


class UseTheCourseGrader(NbGraderPreprocessor):
    """Stops a hand-run ``nbgrader autograde`` in a grading folder (see the module docstring)."""

    def preprocess(self, nb, resources):  # noqa: ANN001, ANN201
        raise RuntimeError(
            "Grade with `python -m autograder grade SUBMISSIONS --out THIS_FOLDER`: it runs every "
            "submission in a sandbox of its own. `nbgrader autograde` would run students' code "
            "with your privileges, so this course folder refuses it.")


STAGING_CONFIG = '''
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, DeduplicateIds, LimitOutput,
                                    OverwriteCells, OverwriteKernelspec, SaveAutoGrades)
# Score the notebooks the sandboxed grading kernel executed: do not clear their outputs, do not
# execute them again.
c.Autograde.sanitize_preprocessors = [DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata]
c.Autograde.autograde_preprocessors = [ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
                                       AssignLatePenalties, CheckCellMetadata]
'''


def course_config_extra(db: Path) -> str:
    return (
        'c.CourseDirectory.source_directory = "source"\n'
        'c.CourseDirectory.release_directory = "release"\n'
        f"c.CourseDirectory.db_url = {('sqlite:///' + str(db))!r}\n"
    )


def _replace_dir(src: Path, dest: Path) -> None:
    """Put ``src`` at ``dest`` (replacing it), in two renames on the same file system."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    if dest.exists():
        os.replace(dest, old)
    os.replace(src, dest)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def score_lesson(out: Path, lesson: str, notebooks: dict[str, tuple[bytes, str]], *, jobs: int = 1) -> dict[str, str]:
    """Autograde and write feedback for ``notebooks`` (student -> (executed notebook, timestamp)).

    The gradebook has one writer (``nbgrader autograde``); the feedback pages are written by up to
    ``jobs`` processes at once. Returns the students whose scoring failed, with the reason; the
    others are in the gradebook and their files in ``out`` (submitted/, autograded/, feedback/).
    """
    failed: dict[str, str] = {}
    if not notebooks:
        return failed
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{lesson}-", dir=out))
    config = course_config_extra(out / "gradebook.db") + STAGING_CONFIG
    try:
        write_course_config(staging, extra=config)
        shutil.copytree(out / "source" / lesson, staging / "source" / lesson)
        for student, (data, timestamp) in notebooks.items():
            folder = staging / "submitted" / student / lesson
            folder.mkdir(parents=True)
            (folder / f"{lesson}.ipynb").write_bytes(data)
            (folder / "timestamp.txt").write_text(timestamp)
        budget = 120 + 5 * len(notebooks)
        todo = sorted(notebooks)
        if not _nbgrader_ok(["autograde", lesson, "--force"], staging, budget):
            todo = []
            for student in sorted(notebooks):  # isolate the one nbgrader could not read
                proc = _nbgrader(["autograde", lesson, "--student", student, "--force"], staging, 120)
                if proc is not None and proc.returncode == 0:
                    todo.append(student)
                else:
                    failed[student] = "nbgrader could not score this notebook: " + _tail(proc)
        failed.update(feedback_pages(staging, lesson, todo, config=config, jobs=jobs))
        for student in todo:
            if student in failed:
                continue
            graded = staging / "autograded" / student / lesson
            page = staging / "feedback" / student / lesson
            if not (graded / f"{lesson}.ipynb").is_file() or not page.is_dir():
                failed[student] = "nbgrader wrote no graded notebook or feedback page"
                continue
            for kind, src in (("submitted", staging / "submitted" / student / lesson), ("autograded", graded),
                              ("feedback", page)):
                _replace_dir(src, out / kind / student / lesson)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return failed


def feedback_pages(staging: Path, lesson: str, students: list[str], *, config: str, jobs: int) -> dict[str, str]:
    """``nbgrader generate_feedback`` for ``students`` (graded in ``staging/autograded``), in up to
    ``jobs`` processes at once; the pages land in ``staging/feedback``.

    nbgrader converts every graded notebook it finds under its course folder, so each process gets a
    folder of its own (``staging/.feedback-K``, with the same configuration and gradebook, which it only
    reads) holding its share of the students. A process that fails is retried one student at a time,
    so one page nbgrader cannot write costs that student only. Returns the students without a page
    (a student without a graded notebook is left to the caller, who finds no page for it).
    """
    failed: dict[str, str] = {}
    students = [s for s in students if (staging / "autograded" / s / lesson).is_dir()]
    jobs = max(1, jobs)
    shards = [students[k::jobs] for k in range(jobs) if students[k::jobs]]
    roots = [staging] if len(shards) <= 1 else [staging / f".feedback-{k}" for k in range(len(shards))]
    try:
        for root, shard in zip(roots, shards):
            if root == staging:
                continue
            root.mkdir()
            write_course_config(root, extra=config)
            for student in shard:
                (root / "autograded" / student).mkdir(parents=True)
                os.replace(staging / "autograded" / student / lesson, root / "autograded" / student / lesson)
        runs = run_nbgrader_parallel([(["generate_feedback", lesson, "--force"], root) for root in roots],
                                     timeout=120 + 5 * max((len(shard) for shard in shards), default=0))
        for root, shard, proc in zip(roots, shards, runs):
            if proc is not None and proc.returncode == 0:
                continue
            for student in shard:  # nbgrader stopped at one notebook: find which, keep the others' pages
                proc = _nbgrader(["generate_feedback", lesson, "--student", student, "--force"], root, 120)
                if proc is None or proc.returncode != 0:
                    failed[student] = "nbgrader could not write the feedback page: " + _tail(proc)
    finally:
        for root, shard in zip(roots, shards):
            if root == staging:
                continue
            for student in shard:  # back where score_lesson looks for them
                for kind in ("autograded", "feedback"):
                    src = root / kind / student / lesson
                    with contextlib.suppress(OSError):  # one that cannot move costs its student only
                        if src.is_dir():
                            (staging / kind / student).mkdir(parents=True, exist_ok=True)
                            os.replace(src, staging / kind / student / lesson)
    return failed


def _nbgrader(args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str] | None:
    try:
        return run_nbgrader(args, cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def _nbgrader_ok(args: list[str], cwd: Path, timeout: float) -> bool:
    proc = _nbgrader(args, cwd, timeout)
    return proc is not None and proc.returncode == 0


def _tail(proc: subprocess.CompletedProcess[str] | None) -> str:
    if proc is None:
        return "nbgrader ran past its time limit"
    return (proc.stderr or proc.stdout or "")[-1500:]
