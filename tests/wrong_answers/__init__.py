"""The wrong-answer catalogue: the mistakes students actually make, each of which must lose its points.

One module per lesson, ``lesson_<lesson id>.py`` (``lesson_01_sensitivity.py``), holds

* ``WRONG``: for every autograded exercise (keyed by its answer cell's nbgrader grade id), at
  least five plausible wrong answers, at least two of them marked ``visible=True``: those must
  already fail the *visible* part of the test cell, with a message that contains ``message``
  (so that it names the mistake);
* ``RIGHT`` (optional): other correct answers (a loop where the solution vectorises, another
  order of validation, ...), each of which must earn the points: the tests must not be stricter
  than the exercise text.

An answer is run the way the grader runs it (:mod:`autograder.cleanrun`): the lesson's setup
cell, the solution of every *other* exercise, the answer's definitions (top-level statements
dropped), then the exercise's test cell (visible part, or all of it). It "loses its points"
when the test cell raises, which is when nbgrader gives 0.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import linecache
import re
import textwrap
from dataclasses import dataclass
from types import ModuleType

import nbformat

from autograder.cleanrun import clean_answer
from autograder.plan import setup_cells

MIN_WRONG = 5
MIN_VISIBLE = 2

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n.*?^[ \t]*### END HIDDEN TESTS[ \t]*\n?", re.M | re.S)


@dataclass(frozen=True)
class Wrong:
    """A wrong answer: ``why`` names the mistake; ``source`` is what the student wrote."""

    why: str
    source: str
    visible: bool = False
    message: str = ""  # with visible=True: a fragment the visible failure message must contain

    @property
    def code(self) -> str:
        return textwrap.dedent(self.source).strip("\n") + "\n"


@dataclass(frozen=True)
class Right:
    """Another correct answer, which must earn the exercise's points."""

    why: str
    source: str

    @property
    def code(self) -> str:
        return textwrap.dedent(self.source).strip("\n") + "\n"


def catalogue_module(lesson: str) -> ModuleType:
    return importlib.import_module(f"wrong_answers.lesson_{lesson}")


def visible_part(test_source: str) -> str:
    """The test cell as students see it: the hidden block removed."""
    return HIDDEN.sub("", test_source)


def full_part(test_source: str) -> str:
    return test_source


_counter = {"n": 0}


def _exec(source: str, namespace: dict, label: str) -> None:
    _counter["n"] += 1
    filename = f"<{label} #{_counter['n']}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own notebooks and catalogue


def _setup_sources(nb: nbformat.NotebookNode) -> list[str]:
    """The lesson's setup cells, chosen as the grader chooses them (autograder.plan.setup_cells)."""
    return [c.source for c in setup_cells(nb)]


def run_answer(lesson: str, grade_id: str, answer_source: str, *, part: str = "full") -> BaseException | None:
    """Run ``answer_source`` as the student's answer to exercise ``grade_id`` and then its test cell.

    Returns the exception the test cell raised (the answer lost its points), or None (it earned them).
    """
    import scenarios as S  # tests/scenarios.py: the lesson readers the grading tests use

    nb = S.load_solution(lesson)
    exercises = {e.answer_id: e for e in S.exercises(lesson)}
    if grade_id not in exercises:
        raise KeyError(f"{lesson} has no exercise {grade_id!r}; exercises: {sorted(exercises)}")
    target = exercises[grade_id]
    tests_source = S.cell(nb, target.tests_id).source
    tests_source = visible_part(tests_source) if part == "visible" else full_part(tests_source)
    namespace: dict = {"__name__": "__main__"}
    with contextlib.redirect_stdout(io.StringIO()):
        for source in _setup_sources(nb):
            _exec(source, namespace, f"{lesson} setup")
        for other in exercises.values():
            if other.answer_id != grade_id:
                _exec(clean_answer(other.solution_source).source, namespace, f"{lesson} {other.answer_id} solution")
        try:
            _exec(clean_answer(answer_source).source, namespace, f"answer to {grade_id}")
            _exec(tests_source, namespace, f"{target.tests_id} ({part})")
        except BaseException as exc:  # noqa: BLE001 - any exception in the cell costs the points
            if isinstance(exc, KeyboardInterrupt):
                raise
            return exc
    return None
