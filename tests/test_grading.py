"""Honest grading, proven through the real pipeline (`python -m autograder grade`: a sandbox per
submission, nbgrader scoring) for every lesson: the perfect student gets every autograded point,
the blank notebook zero without a crash (its failing outputs are scored, not cleared), and no
trick (deleting or editing test cells, hiding tracebacks, calling the reference, a copied cell, a
malformed file) earns a point or disturbs another student. The two tricks that are stopped by the
cell timeout (an infinite loop, a loop that swallows the interrupt) are graded for one lesson only
(TIMEOUT_LESSON, below). Hostile submissions are in tests/test_hostile.py.

Where bubblewrap cannot run (macOS, a container without user namespaces) these tests grade the
course's own honest scenarios without a sandbox; tests/test_sandbox.py and test_hostile.py skip."""
from __future__ import annotations

import csv
import html
import os
import time
from pathlib import Path

import nbformat
import pytest

import scenarios as S
from autograder import sandbox
from autograder.grade import grade_class
from autograder.gradefolder import open_gradebook
from autograder.paths import DEFAULT_KERNEL, REPO, all_lessons, lesson_kernel
from autograder.plan import split_tests, visible_tests

pytestmark = pytest.mark.slow

# Lessons of the course kernel; an appendix in its own kernel (A1: ppml-tf) is graded in tests/test_grading_tf.py.
LESSONS = [lesson for lesson in all_lessons() if lesson_kernel(lesson) == DEFAULT_KERNEL]
# The per-exercise timeout must exceed the slowest solution test cell in quick mode on a loaded
# 2-core machine; each infinite-loop scenario costs one timeout, so the numpy-only lessons get a
# shorter one than the torch lessons.

# The timeout scenarios (exercise 4 of the mixed student loops forever when its tests call it; a
# fifth student's function loops and swallows KeyboardInterrupt) each wait out a whole cell
# timeout, and the second costs a whole extra submission: grading lesson 02's class took 88 s with
# them and 37 s without, lesson 05's 181 s and 84 s (2 cores, quick mode). They run for this
# lesson only, because what they test does not depend on the lesson: the deadline and SIGKILL of
# autograder/runner.py apply to any test process whatever the cell runs, and the driver's budget
# is per submission, not per lesson (tests/test_sandbox.py also tests both on bare plans). Lesson
# 01 is the cheapest lesson to grade (numpy only, the short timeout). Every lesson keeps every
# other scenario.
TIMEOUT_LESSON = "01_sensitivity"


def unsafe() -> bool:
    """Grade without a sandbox only where bubblewrap cannot run (these are honest notebooks)."""
    return not sandbox.available()[0]


def lesson_timeout(lesson: str) -> int:
    if "COURSE_TEST_CELL_TIMEOUT" in os.environ:
        return int(os.environ["COURSE_TEST_CELL_TIMEOUT"])
    source = S.solution_path(lesson).read_text()
    uses_torch = any(s in source for s in ("import torch", "H.pate", "H.dpsgd", "H.data"))
    return 45 if uses_torch else 25


def _outputs_text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "error":
            parts += [out.ename, out.evalue, *out.traceback]
        elif out.output_type == "stream":
            parts.append(out.text)
        elif "data" in out:
            parts.append(str(out.data.get("text/plain", "")))
    return "\n".join(parts)


def grades_csv(out: Path) -> tuple[list[str] | None, dict[str, dict[str, str]]]:
    """The grading folder's grades.csv: its header and its rows by student."""
    with open(out / "grades.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = {row["student"]: row for row in reader}
        return reader.fieldnames, rows


class Graded:
    def __init__(self, lesson: str, out: Path, report, seconds: float, fair: dict[str, float]):
        self.lesson, self.out, self.report, self.seconds, self.fair = lesson, out, report, seconds, fair

    def result(self, student: str):
        return next(r for r in self.report.results if r.student == student)

    def notebook(self, student: str) -> nbformat.NotebookNode:
        return nbformat.read(str(self.out / "autograded" / student / self.lesson / f"{self.lesson}.ipynb"), 4)

    def submission(self, student: str):
        with open_gradebook(self.out) as gb:
            s = gb.find_submission(self.lesson, student)
            return {"score": s.score, "code_score": s.code_score, "max_code_score": s.max_code_score,
                    "max_score": s.max_score,
                    "grades": {g.name: (g.score, g.max_score) for nb in s.notebooks for g in nb.grades}}


class _LessonGrading:
    """All scenarios of one lesson, graded once per class (one class per lesson, below), so that
    `pytest -n 2 --dist loadscope` keeps a lesson's tests, and its one grading run, on one worker."""

    LESSON = ""
    TIMEOUTS = False  # also grade the timeout scenarios (TIMEOUT_LESSON only)

    @pytest.fixture(scope="class")
    @classmethod
    def graded(cls, tmp_path_factory) -> Graded:
        lesson = cls.LESSON
        tmp = tmp_path_factory.mktemp(f"grade-{lesson}")
        subs = tmp / "submissions"
        S.write(S.perfect(lesson), subs, "perfect", lesson)
        S.write(S.load_released(lesson), subs, "blank", lesson)
        mixed, fair_mixed = S.mixed(lesson, loop=cls.TIMEOUTS)
        S.write(mixed, subs, "mixed", lesson)
        fair = {"mixed": fair_mixed}
        if cls.TIMEOUTS:
            swallow, fair["swallow"] = S.swallow(lesson)
            S.write(swallow, subs, "swallow", lesson)
        broken = subs / "broken" / lesson
        broken.mkdir(parents=True)
        (broken / f"{lesson}.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "x = ')  # truncated upload
        start = time.monotonic()
        report = grade_class(subs, out=tmp / "grading", lessons=[lesson], timeout=lesson_timeout(lesson),
                             unsafe_no_sandbox=unsafe())
        seconds = time.monotonic() - start
        return Graded(lesson, tmp / "grading", report, seconds, fair)

    @classmethod
    def students(cls) -> set[str]:
        return {"perfect", "blank", "mixed", "broken"} | ({"swallow"} if cls.TIMEOUTS else set())

    def test_grading_run_succeeds(self, graded: Graded) -> None:
        assert graded.report.ok, graded.report.errors
        statuses = {r.student: r.status for r in graded.report.results}
        expected = {s: "malformed" if s == "broken" else "graded" for s in self.students()}
        assert statuses == expected, (statuses, [r.notes for r in graded.report.results])


    def test_perfect_student_gets_every_autograded_point(self, graded: Graded) -> None:
        sub = graded.submission("perfect")
        assert sub["max_code_score"] > 0
        assert sub["code_score"] == sub["max_code_score"], sub["grades"]


    def test_solution_runs_without_errors_in_the_grader(self, graded: Graded) -> None:
        nb = graded.notebook("perfect")
        errors = [(i, _outputs_text(c)[-600:]) for i, c in enumerate(nb.cells)
                  if c.cell_type == "code" and any(o.output_type == "error" for o in c.get("outputs", []))]
        assert not errors, errors


    def test_blank_student_version_scores_zero_without_crashing(self, graded: Graded) -> None:
        sub = graded.submission("blank")
        assert sub["score"] == 0, sub["grades"]
        nb = graded.notebook("blank")
        for ex in S.exercises(graded.lesson):
            text = _outputs_text(S.cell(nb, ex.tests_id))
            assert "not implemented yet" in text or "NotImplementedError" in text, (ex.tests_id, text[-500:])


    def test_mixed_student_gets_exactly_the_fair_partial_score(self, graded: Graded) -> None:
        sub = graded.submission("mixed")
        assert 0 < sub["code_score"] < sub["max_code_score"]
        assert sub["code_score"] == pytest.approx(graded.fair["mixed"]), sub["grades"]


    def test_deleted_and_edited_test_cells_are_restored(self, graded: Graded) -> None:
        solution = S.load_solution(graded.lesson)
        nb = graded.notebook("mixed")
        e1, _, e3 = S.exercises(graded.lesson)[:3]
        for ex in (e1, e3):
            restored = S.cell(nb, ex.tests_id).source
            assert restored == visible_tests(S.cell(solution, ex.tests_id).source), restored[:300]
            assert graded.submission("mixed")["grades"][ex.tests_id][0] == 0

    def test_hidden_test_code_is_never_shown(self, graded: Graded) -> None:
        """Feedback pages and graded notebooks show "hidden tests: passed/failed", not the code."""
        solution = S.load_solution(graded.lesson)
        hidden_lines = S.hidden_only_lines(graded.lesson)
        assert hidden_lines, "the lesson has no hidden tests"
        for student in ("perfect", "mixed", "blank"):
            page = (graded.out / "feedback" / student / graded.lesson / f"{graded.lesson}.html").read_text()
            stored = (graded.out / "autograded" / student / graded.lesson / f"{graded.lesson}.ipynb").read_text()
            for text in (page, stored):
                assert "HIDDEN TESTS" not in text
                shown = [line for line in hidden_lines if line in text or html.escape(line) in text]
                assert not shown, (student, shown[:3])
        perfect = graded.notebook("perfect")
        for ex in S.exercises(graded.lesson):
            if any(seg.hidden for seg in split_tests(S.cell(solution, ex.tests_id).source)):
                assert "hidden tests: passed" in _outputs_text(S.cell(perfect, ex.tests_id))


    def test_hiding_tracebacks_earns_nothing(self, graded: Graded) -> None:
        nb = graded.notebook("mixed")
        e1 = S.exercises(graded.lesson)[0]
        outputs = S.cell(nb, e1.tests_id).outputs
        assert any(o.output_type == "error" for o in outputs), outputs
        # the override is top-level code in an answer cell: it never runs, and the student is told
        assert "Not run when grading" in _outputs_text(S.cell(nb, e1.answer_id))
        assert any(n.startswith(f"{e1.answer_id}:") and "not run" in n for n in graded.result("mixed").notes)


    def test_delegating_to_the_reference_earns_nothing(self, graded: Graded) -> None:
        e2 = S.exercises(graded.lesson)[1]
        nb = graded.notebook("mixed")
        assert graded.submission("mixed")["grades"][e2.tests_id][0] == 0
        assert "reference solution" in _outputs_text(S.cell(nb, e2.tests_id))


    def test_copied_cell_is_graded_normally(self, graded: Graded) -> None:
        e5 = S.exercises(graded.lesson)[4]
        assert graded.submission("mixed")["grades"][e5.tests_id][0] == e5.points
        assert any("copied cell" in n for n in graded.result("mixed").notes)


    def test_malformed_notebook_is_reported_and_scored_zero(self, graded: Graded) -> None:
        result = graded.result("broken")
        assert result.status == "malformed" and "not valid JSON" in result.notes[0]
        _, rows = grades_csv(graded.out)
        assert rows["broken"]["score"] == "0"
        page = graded.out / "feedback" / "broken" / graded.lesson / f"{graded.lesson}.html"
        assert "not valid JSON" in page.read_text()


    def test_grades_csv_and_feedback_for_every_student(self, graded: Graded) -> None:
        header, rows = grades_csv(graded.out)
        assert header == ["student", "lesson", "score", "max_score", "manual_pending"]
        assert set(rows) == self.students()
        written = sum(c.metadata.nbgrader.get("points", 0) for c in S.load_solution(graded.lesson).cells
                      if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in S.written_answers(graded.lesson))
        assert float(rows["perfect"]["manual_pending"]) == graded.result("perfect").manual_pending == written
        assert rows["broken"]["manual_pending"] == "0"
        assert float(rows["perfect"]["score"]) == graded.submission("perfect")["code_score"]
        assert float(rows["mixed"]["max_score"]) == graded.submission("mixed")["max_score"]
        for student in rows:
            page = graded.out / "feedback" / student / graded.lesson / f"{graded.lesson}.html"
            assert page.is_file(), page


class _TimeoutScenarios:
    """The scenarios stopped by the cell timeout (TIMEOUT_LESSON's class only)."""

    def test_infinite_loop_is_cut_off_and_the_rest_still_graded(self, graded: Graded) -> None:
        ex = S.exercises(graded.lesson)
        nb = graded.notebook("mixed")
        assert "CellTimeoutError" in _outputs_text(S.cell(nb, ex[3].tests_id))
        assert "did not run when grading" in _outputs_text(S.cell(nb, ex[3].answer_id)) or \
            "Not run when grading" in _outputs_text(S.cell(nb, ex[3].answer_id))
        grades = graded.submission("mixed")["grades"]
        assert grades[ex[3].tests_id][0] == 0
        assert all(grades[e.tests_id][0] == e.points for e in ex[4:]), grades


    def test_loop_swallowing_interrupt_is_stopped_in_bounded_time(self, graded: Graded) -> None:
        result = graded.result("swallow")
        assert any("were stopped" in n for n in result.notes), result.notes
        sub = graded.submission("swallow")
        ex = S.exercises(graded.lesson)
        assert sub["code_score"] == pytest.approx(graded.fair["swallow"]), sub["grades"]
        assert sub["grades"][ex[2].tests_id][0] == 0
        # bounded: the whole class (five students, two time-outs) well under one timeout per cell
        assert graded.seconds < 4 * lesson_timeout(graded.lesson) + 240


assert TIMEOUT_LESSON in LESSONS, TIMEOUT_LESSON
for _lesson in LESSONS:
    _name = f"TestGrading_{_lesson}"
    if _lesson == TIMEOUT_LESSON:
        globals()[_name] = type(_name, (_TimeoutScenarios, _LessonGrading), {"LESSON": _lesson, "TIMEOUTS": True})
    else:
        globals()[_name] = type(_name, (_LessonGrading,), {"LESSON": _lesson})


def test_regrading_keeps_manual_grades_and_other_students(tmp_path: Path) -> None:
    """Grade, give a manual grade, regrade one student (twice): nothing is lost, nothing changes."""
    lesson = LESSONS[0]
    subs, out = tmp_path / "subs", tmp_path / "grading"
    S.write(S.perfect(lesson), subs, "ada", lesson)
    vandal = S.perfect(lesson)
    # a student whose code tries to wreck the grading folder around it
    vandal.cells.insert(1, nbformat.v4.new_code_cell(
        "import os, shutil\n"
        "for p in ('..', '../..', '../../..'):\n"
        "    for name in ('gradebook.db', 'grades.csv'):\n"
        "        try:\n"
        "            open(os.path.join(p, name), 'w').close()\n"
        "        except OSError:\n"
        "            pass\n"
        "shutil.rmtree('../../../submitted', ignore_errors=True)\n"))
    S.write(vandal, subs, "vandal", lesson)
    first = grade_class(subs, out=out, lessons=[lesson], timeout=lesson_timeout(lesson), unsafe_no_sandbox=unsafe())
    assert first.ok, first.errors
    written = next(iter(S.written_answers(lesson)))
    with open_gradebook(out) as gb:
        sub = gb.find_submission(lesson, "ada")
        code_score = sub.code_score
        grade = gb.find_grade(written, lesson, lesson, "ada")
        grade.manual_score = grade.max_score
        gb.db.commit()
        manual = grade.max_score
    assert (subs / "vandal" / lesson / f"{lesson}.ipynb").is_file()
    only_ada = tmp_path / "subs2"
    S.write(S.perfect(lesson), only_ada, "ada", lesson)
    for _ in range(2):
        again = grade_class(only_ada, out=out, lessons=[lesson], timeout=lesson_timeout(lesson),
                            unsafe_no_sandbox=unsafe())
        assert again.ok
        _, rows = grades_csv(out)
        assert set(rows) == {"ada", "vandal"}
        assert float(rows["ada"]["score"]) == pytest.approx(code_score + manual)
        assert float(rows["vandal"]["score"]) == pytest.approx(code_score)
        # the graded written answer is no longer pending; the vandal's are
        assert float(rows["vandal"]["manual_pending"]) == pytest.approx(
            float(rows["ada"]["manual_pending"]) + manual)


def test_a_class_can_be_split_into_self_contained_jobs(tmp_path: Path) -> None:
    """`grade --prepare` writes one `run-one` command per submission (for GNU parallel, a Kubernetes
    Job...); `grade --executed` scores what they wrote, exactly as a local run would."""
    import shlex
    import subprocess
    import sys

    lesson = LESSONS[0]
    subs, out, jobs = tmp_path / "subs", tmp_path / "grading", tmp_path / "jobs"
    S.write(S.perfect(lesson), subs, "ada", lesson)
    S.write(S.load_released(lesson), subs, "bob", lesson)
    flags = dict(lessons=[lesson], timeout=lesson_timeout(lesson), unsafe_no_sandbox=unsafe())
    grade_class(subs, out=out, prepare=jobs, **flags)
    commands = (jobs / "commands.txt").read_text().splitlines()
    assert len(commands) == 2 and all(c.startswith("python -m autograder run-one ") for c in commands)
    assert not (out / "grades.csv").exists()
    for command in commands:
        argv = shlex.split(command)
        argv[0] = sys.executable
        subprocess.run(argv, check=True, cwd=REPO, capture_output=True, timeout=600)
    executed = (jobs / "executed" / lesson / "ada.ipynb").read_text()
    assert "BEGIN HIDDEN TESTS" not in executed and '"plan"' not in executed
    report = grade_class(subs, out=out, executed=jobs, **flags)
    assert report.ok, report.errors
    _, rows = grades_csv(out)
    assert float(rows["ada"]["score"]) == sum(e.points for e in S.exercises(lesson))
    assert float(rows["bob"]["score"]) == 0
