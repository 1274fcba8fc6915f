"""Build the submissions that probe the grader: a perfect student, a blank one, a cheat, a looper.

Every scenario starts from the *released* student notebook (what students really get, Colab cell
included) and fills answer cells with the solution's code, matched by nbgrader grade id.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.paths import LESSONS, SOLUTIONS

SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


@dataclass
class Exercise:
    answer_id: str
    function: str
    reference: str
    tests_id: str
    points: float
    solution_source: str


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_answer(cell: nbformat.NotebookNode) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("solution") and not meta.get("grade")


def _is_tests(cell: nbformat.NotebookNode) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def _function_name(source: str) -> str:
    match = re.search(r"^def (\w+)\(", source, re.MULTILINE)
    if not match:
        raise AssertionError(f"answer cell defines no top-level function:\n{source[:200]}")
    return match.group(1)


def solution_path(lesson: str) -> Path:
    return SOLUTIONS / lesson / f"{lesson}.ipynb"


def load_solution(lesson: str) -> nbformat.NotebookNode:
    return nbformat.read(str(solution_path(lesson)), as_version=4)


def load_released(lesson: str) -> nbformat.NotebookNode:
    return nbformat.read(str(LESSONS / lesson / f"{lesson}.ipynb"), as_version=4)


def exercises(lesson: str) -> list[Exercise]:
    """The autograded exercises of a lesson, in order: answer cell, then its test cell."""
    nb = load_solution(lesson)
    found: list[Exercise] = []
    pending: nbformat.NotebookNode | None = None
    for cell in nb.cells:
        if _is_answer(cell):
            pending = cell
        elif _is_tests(cell):
            if pending is None:
                raise AssertionError(f"{lesson}: test cell {_grade_id(cell)} has no answer cell before it")
            reference = pending.metadata.get("course", {}).get("reference")
            if not reference:
                raise AssertionError(f"{lesson}: answer cell {_grade_id(pending)} has no metadata.course.reference")
            found.append(Exercise(
                answer_id=_grade_id(pending), function=_function_name(pending.source), reference=reference,
                tests_id=_grade_id(cell), points=float(cell.metadata.nbgrader["points"]),
                solution_source=SOLUTION_MARKERS.sub("", pending.source),
            ))
            pending = None
    return found


def written_answers(lesson: str) -> dict[str, str]:
    nb = load_solution(lesson)
    return {_grade_id(c): c.source for c in nb.cells
            if c.cell_type == "markdown" and c.get("metadata", {}).get("nbgrader", {}).get("solution")}


def perfect(lesson: str) -> nbformat.NotebookNode:
    """The released notebook with every answer (code and written) filled in from the solution."""
    nb = load_released(lesson)
    by_id = {e.answer_id: e.solution_source for e in exercises(lesson)}
    written = written_answers(lesson)
    for cell in nb.cells:
        gid = _grade_id(cell)
        if gid in by_id:
            cell.source = by_id[gid]
        elif gid in written:
            cell.source = written[gid]
    return nb


def _index(nb: nbformat.NotebookNode, grade_id: str, *, last: bool = False) -> int:
    found = [i for i, c in enumerate(nb.cells) if _grade_id(c) == grade_id]
    if not found:
        raise KeyError(f"no cell with grade id {grade_id!r}")
    return found[-1] if last else found[0]


def cell(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    """The cell with this nbgrader grade id (the last one, if a copied cell repeats the id)."""
    return nb.cells[_index(nb, grade_id, last=True)]


WRONG_BODY = "def {name}(*args, **kwargs):\n    return None  # a wrong answer\n"
DELEGATE_BODY = (
    "import importlib as _importlib\n\n"
    "def {name}(*args, **kwargs):\n"
    "    # 'solves' the exercise by calling the course's reference implementation\n"
    "    module, _, attr = {reference!r}.rpartition('.')\n"
    "    return getattr(_importlib.import_module(module), attr)(*args, **kwargs)\n"
)
HIDE_TRACEBACKS = (
    "# try to hide failures from the grader\n"
    "get_ipython().showtraceback = lambda *args, **kwargs: None\n"
    "get_ipython().showsyntaxerror = lambda *args, **kwargs: None\n"
)
INFINITE_LOOP = "while True:  # an infinite loop at the top level (never runs when grading)\n    pass\n"
LOOPING_BODY = (
    "def {name}(*args, **kwargs):\n"
    "    while True:  # an infinite loop, when the tests call it\n"
    "        pass\n"
)
SWALLOW_BODY = (
    "import time as _time\n\n"
    "def {name}(*args, **kwargs):\n"
    "    while True:  # an infinite loop that ignores the grader's interrupt\n"
    "        try:\n"
    "            _time.sleep(0.05)\n"
    "        except KeyboardInterrupt:\n"
    "            pass\n"
)


def mixed(lesson: str, *, loop: bool = True) -> tuple[nbformat.NotebookNode, float]:
    """A student who cheats and stumbles in every way at once; returns the notebook and its fair score.

    * the first answer cell also overrides ``showtraceback`` at the top level (which does not run);
    * exercise 1: wrong answer, and its test cell deleted (must be restored: 0 points);
    * exercise 2: delegates to the reference implementation (0 points);
    * exercise 3: wrong answer, and its test cell edited to print "passed" (restored: 0 points);
    * exercise 4: a top-level infinite loop (never runs), then a function that loops forever when
      the tests call it (cut off: 0 points; the rest still graded); with ``loop=False`` its correct
      answer instead (the loop costs one whole cell timeout, so only one lesson's grading test
      waits it out: see tests/test_grading.py);
    * exercise 5 on: correct, exercise 5's answer cell copied (same ids) right after itself.
    Fair score: the points of exercises 5 and later (4 and later with ``loop=False``).
    """
    ex = exercises(lesson)
    if len(ex) < 5:
        raise AssertionError(f"{lesson} has {len(ex)} autograded exercises; the grading tests need at least 5")
    nb = perfect(lesson)
    e1, e2, e3, e4, e5 = ex[:5]
    first = nb.cells[_index(nb, e1.answer_id)]
    first.source = HIDE_TRACEBACKS + "\n" + WRONG_BODY.format(name=e1.function)
    del nb.cells[_index(nb, e1.tests_id)]
    nb.cells[_index(nb, e2.answer_id)].source = DELEGATE_BODY.format(name=e2.function, reference=e2.reference)
    nb.cells[_index(nb, e3.answer_id)].source = WRONG_BODY.format(name=e3.function)
    nb.cells[_index(nb, e3.tests_id)].source = 'print("all tests passed")'
    if loop:
        nb.cells[_index(nb, e4.answer_id)].source = INFINITE_LOOP + "\n" + LOOPING_BODY.format(name=e4.function)
    i5 = _index(nb, e5.answer_id)
    nb.cells.insert(i5 + 1, copy.deepcopy(nb.cells[i5]))  # same cell id, same nbgrader metadata
    fair = sum(e.points for e in ex[4 if loop else 3:])
    return nb, fair


def swallow(lesson: str) -> tuple[nbformat.NotebookNode, float]:
    """Exercise 3's function loops forever and swallows KeyboardInterrupt when the tests call it.

    Its tests are stopped (killed, not interrupted) at the time limit; every other exercise is
    tested in a process of its own, so the fair score is everything but exercise 3.
    """
    ex = exercises(lesson)
    nb = perfect(lesson)
    e3 = ex[2]
    nb.cells[_index(nb, e3.answer_id)].source = SWALLOW_BODY.format(name=e3.function)
    return nb, sum(e.points for e in ex) - e3.points


def write(nb: nbformat.NotebookNode, submissions: Path, student: str, lesson: str) -> Path:
    folder = submissions / student / lesson
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{lesson}.ipynb"
    # json, not nbformat.write: nbformat would repair the duplicate ids that are the point here
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False))
    return path


def hidden_only_lines(lesson: str) -> set[str]:
    """Lines (stripped, over 20 characters) found only in the hidden blocks of a lesson's test cells:
    on a page, any of them means hidden test code was shown."""
    from autograder.plan import grading_source, split_tests

    solution = load_solution(lesson)
    shown_anyway = nbformat.writes(grading_source(solution))
    shown_anyway += "".join(e.solution_source for e in exercises(lesson))
    hidden = {line.strip() for e in exercises(lesson) for seg in split_tests(cell(solution, e.tests_id).source)
              if seg.hidden for line in seg.source.splitlines() if len(line.strip()) > 20}
    return {line for line in hidden if line not in shown_anyway and json.dumps(line)[1:-1] not in shown_anyway}
