"""Building blocks for nbgrader *source* notebooks (the files in ``solutions/``).

Authors may edit ``solutions/NN_name/NN_name.ipynb`` in JupyterLab with nbgrader's
"Create Assignment" toolbar, or build one from a script with these helpers::

    from autograder.nbtools import (new_lesson, md, code, answer, tests, written, save)
    nb = new_lesson()
    nb.cells += [
        md("# Lesson 03 ..."),
        answer("laplace-scale", reference="helpers.mechanisms.laplace_scale", text='''
            def laplace_scale(*, sensitivity: float, epsilon: float) -> float:
                \"\"\"...\"\"\"
                ### BEGIN SOLUTION
                return sensitivity / epsilon
                ### END SOLUTION
        '''),
        tests("laplace-scale-tests", points=2, source='''
            check_function(laplace_scale, ref.laplace_scale, [...])
            ### BEGIN HIDDEN TESTS
            ...
            ### END HIDDEN TESTS
        '''),
    ]
    save(nb, "solutions/03_laplace_gaussian/03_laplace_gaussian.ipynb")

Cell ids are derived from the grade id (or a counter), so regenerating a notebook gives
the same file and ``git diff`` shows only real changes.
"""
from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

__all__ = ["new_lesson", "md", "code", "answer", "tests", "written", "readonly", "save", "KERNELSPEC"]

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def _src(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def _id(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()[:12]


_counter = {"n": 0}


def _auto_id(kind: str, source: str) -> str:
    _counter["n"] += 1
    return _id(f"{kind}:{_counter['n']}:{source[:80]}")


def new_lesson() -> nbformat.NotebookNode:
    """An empty nbformat-4.5 notebook with the course's kernelspec."""
    _counter["n"] = 0
    nb = new_notebook()
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def _nbgrader(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return meta


def md(text: str) -> nbformat.NotebookNode:
    """A plain markdown (narrative) cell."""
    source = _src(text)
    cell = new_markdown_cell(source)
    cell.id = _auto_id("md", source)
    return cell


def code(text: str) -> nbformat.NotebookNode:
    """A plain code cell (demo, plot, slider) that students may run and edit."""
    source = _src(text)
    cell = new_code_cell(source)
    cell.id = _auto_id("code", source)
    return cell


def readonly(grade_id: str, text: str, *, markdown: bool = False) -> nbformat.NotebookNode:
    """A locked cell (setup students should not edit); nbgrader restores it when grading."""
    source = _src(text)
    cell = new_markdown_cell(source) if markdown else new_code_cell(source)
    cell.id = _id(grade_id)
    cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=False, solution=False, locked=True)
    cell.metadata["deletable"] = False
    cell.metadata["editable"] = False
    return cell


def answer(grade_id: str, text: str, *, reference: str) -> nbformat.NotebookNode:
    """An autograded answer cell: signature and docstring, body between BEGIN/END SOLUTION.

    ``reference`` is the dotted path of the ``helpers`` function that solves this exercise
    (``"helpers.mechanisms.laplace_scale"``); it is stored in the cell's metadata
    (``metadata.course.reference``) for the grading tests and ``python -m autograder check``.
    """
    source = _src(text)
    if "### BEGIN SOLUTION" not in source:
        raise ValueError(f"answer cell {grade_id!r} has no '### BEGIN SOLUTION' region")
    if not reference.startswith("helpers."):
        raise ValueError(f"reference must be a dotted path into helpers, got {reference!r}")
    cell = new_code_cell(source)
    cell.id = _id(grade_id)
    cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=False, solution=True, locked=False)
    cell.metadata["course"] = {"reference": reference}
    return cell


def tests(grade_id: str, text: str, *, points: float) -> nbformat.NotebookNode:
    """A read-only autograder test cell worth ``points`` (visible checks, then hidden ones)."""
    source = _src(text)
    if points <= 0:
        raise ValueError(f"points must be > 0, got {points}")
    cell = new_code_cell(source)
    cell.id = _id(grade_id)
    cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=True, solution=False, locked=True, points=points)
    cell.metadata["deletable"] = False
    cell.metadata["editable"] = False
    return cell


def written(grade_id: str, model_answer: str, *, points: float) -> nbformat.NotebookNode:
    """A manually graded written answer (markdown). The model answer is replaced by
    "YOUR ANSWER HERE" in the student version."""
    source = _src(model_answer)
    cell = new_markdown_cell(source)
    cell.id = _id(grade_id)
    cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=True, solution=True, locked=False, points=points)
    return cell


def save(nb: nbformat.NotebookNode, path: str | Path) -> Path:
    """Validate and write ``nb`` (no outputs: the release clears them anyway)."""
    path = Path(path)
    ids = [c.get("id") for c in nb.cells]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate cell ids; give every answer/tests cell its own grade_id")
    grade_ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    if len(grade_ids) != len(set(grade_ids)):
        raise ValueError(f"duplicate nbgrader grade_ids: {sorted(g for g in grade_ids if grade_ids.count(g) > 1)}")
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path
