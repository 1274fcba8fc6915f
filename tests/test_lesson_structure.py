"""Every source notebook follows the course's lesson pattern (fast, static checks; the notebooks
are *run* through the real grader in test_grading.py)."""
from __future__ import annotations

import importlib
import re

import pytest

import scenarios as S
from autograder.paths import all_lessons, is_appendix

LESSONS = all_lessons()


def test_lessons_are_numbered_in_order() -> None:
    numbered = all_lessons(appendix=False)
    numbers = [int(lesson[:2]) for lesson in numbered]
    assert numbers == list(range(1, len(numbered) + 1))
    assert LESSONS[:len(numbered)] == numbered  # appendices (A1_...) come after every numbered lesson
    assert LESSONS[:3] == ["01_sensitivity", "02_randomized_response", "03_laplace_gaussian"]


@pytest.mark.parametrize("lesson", LESSONS)
def test_exercise_pattern(lesson: str) -> None:
    nb = S.load_solution(lesson)
    ex = S.exercises(lesson)
    # An appendix is a short complement to a lesson (A1 redoes lesson 05 in TensorFlow): 2-8 exercises.
    low = 2 if is_appendix(lesson) else 5
    assert low <= len(ex) <= 8, f"{lesson}: {len(ex)} autograded exercises ({low}-8 expected)"
    written = S.written_answers(lesson)
    assert 1 <= len(written) <= 2
    for e in ex:
        module, _, name = e.reference.rpartition(".")
        reference = getattr(importlib.import_module(module), name, None)
        assert callable(reference), f"{lesson}/{e.answer_id}: reference {e.reference} does not exist"
        source = S.cell(nb, e.tests_id).source
        assert "### BEGIN HIDDEN TESTS" in source and "### END HIDDEN TESTS" in source, e.tests_id
        assert not re.search(r"^\s*assert\b", source, re.M), f"{e.tests_id}: bare assert; use helpers.checks"
        assert name in source, f"{e.tests_id} never names the reference {name}: the delegation guard cannot work"
        assert "from helpers" in source or "import helpers" in source, f"{e.tests_id} must import its own checks"


@pytest.mark.parametrize("lesson", LESSONS)
def test_narrative_pattern(lesson: str) -> None:
    nb = S.load_solution(lesson)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for heading in ("You will learn", "You will need", "What you learned", "Going further"):
        assert heading in text, f"{lesson} lacks '{heading}'"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "import helpers as H" in code
    assert "H.pick(" in code or "pick(" in code, f"{lesson} has no quick-mode sizes"
    assert "interact" in code or "widgets" in code, f"{lesson} has no slider"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit sources without outputs"


# ----------------------------------------------------------------------------- every exercise has its text

EXERCISE_HEADING = re.compile(r"^#{2,4}[ \t]+Exercise[ \t]+(\d+)\b(.*)$", re.M)
POINTS = re.compile(r"\((\d+(?:\.\d+)?)[ \t]+points?\)")

# Lessons whose exercise prompts do not yet state their points (found when this test was added;
# reported for those lessons' authors). strict: the mark must go once a lesson is fixed.
PROMPTS_WITHOUT_POINTS: dict[str, str] = {}


def _known(lessons: list[str]) -> list:
    return [pytest.param(lesson, marks=pytest.mark.xfail(strict=True, reason=PROMPTS_WITHOUT_POINTS[lesson]))
            if lesson in PROMPTS_WITHOUT_POINTS else lesson for lesson in lessons]


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


@pytest.mark.parametrize("lesson", _known(LESSONS))
def test_every_answer_cell_follows_its_exercise_text(lesson: str) -> None:
    """Between the previous exercise and each answer cell sits the exercise's text: a heading
    '### Exercise N — ... (P points)' with N counting from 1 and P the points of its test cell, in
    markdown that names the function to write. Without it a student meets a bare signature (this is
    how lesson 01's Exercise 6 once lost its text unnoticed)."""
    nb = S.load_solution(lesson)
    cells = nb.cells
    problems = []
    previous, number = -1, 0
    for i, cell in enumerate(cells):
        meta = _nbgrader(cell)
        if cell.cell_type != "code" or not (meta.get("solution") or meta.get("grade")):
            continue
        if meta.get("grade"):            # a test cell closes its exercise
            previous = i
            continue
        number += 1
        gid = meta.get("grade_id")
        function = S._function_name(cell.source)
        tests = next((c for c in cells[i + 1:] if c.cell_type == "code" and _nbgrader(c).get("grade")), None)
        points = float(_nbgrader(tests)["points"]) if tests is not None else None
        text = "\n".join(c.source for c in cells[previous + 1:i] if c.cell_type == "markdown")
        headings = EXERCISE_HEADING.findall(text)
        previous = i
        if not headings:
            problems.append(f"{gid}: no '### Exercise {number} — ... ({points:g} points)' heading before the answer cell")
            continue
        found_number, rest = headings[-1]
        if int(found_number) != number:
            problems.append(f"{gid}: heading says Exercise {found_number}, expected Exercise {number}")
        match = POINTS.search(rest)
        if not match:
            problems.append(f"{gid}: heading 'Exercise {found_number}{rest}' does not state its points ({points:g})")
        elif float(match.group(1)) != points:
            problems.append(f"{gid}: heading says {match.group(1)} points, its test cell gives {points:g}")
        if f"`{function}" not in text:
            problems.append(f"{gid}: the exercise text never names `{function}`")
    assert not problems, f"{lesson}:\n" + "\n".join(problems)


@pytest.mark.parametrize("lesson", _known(LESSONS))
def test_every_written_question_is_stated_before_its_answer_cell(lesson: str) -> None:
    """Students see a written answer cell replaced by 'YOUR ANSWER HERE', so the question and its
    points must be in the markdown cell just before it."""
    nb = S.load_solution(lesson)
    problems = []
    for i, cell in enumerate(nb.cells):
        meta = _nbgrader(cell)
        if cell.cell_type != "markdown" or not (meta.get("solution") and meta.get("grade")):
            continue
        before = nb.cells[i - 1] if i else None
        if before is None or before.cell_type != "markdown" or _nbgrader(before).get("solution"):
            problems.append(f"{meta.get('grade_id')}: no markdown question cell right before the answer cell")
            continue
        match = POINTS.search(before.source)
        if not match or float(match.group(1)) != float(meta["points"]):
            problems.append(f"{meta.get('grade_id')}: the question does not state its {meta['points']:g} points")
    assert not problems, f"{lesson}:\n" + "\n".join(problems)
