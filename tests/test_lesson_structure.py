"""Every source notebook follows the course's lesson pattern (fast, static checks; the notebooks
are *run* through the real grader in test_grading.py)."""
from __future__ import annotations

import importlib
import re

import pytest

import scenarios as S
from autograder.paths import all_lessons

LESSONS = all_lessons()


def test_lessons_are_numbered_in_order() -> None:
    numbers = [int(lesson[:2]) for lesson in LESSONS]
    assert numbers == list(range(1, len(LESSONS) + 1))
    assert LESSONS[:3] == ["01_sensitivity", "02_randomized_response", "03_laplace_gaussian"]


@pytest.mark.parametrize("lesson", LESSONS)
def test_exercise_pattern(lesson: str) -> None:
    nb = S.load_solution(lesson)
    ex = S.exercises(lesson)
    assert 5 <= len(ex) <= 8, f"{lesson}: {len(ex)} autograded exercises (5-8 expected)"
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
