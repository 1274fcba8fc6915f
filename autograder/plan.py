"""The notebook that is graded, built from the course's source, never from the student's file.

For each lesson the grader registers in the gradebook a *grading version* of the source
(:func:`grading_source`): the source's setup cell(s), exercise text, answer cells, written
questions and test cells — each test cell showing only its visible part, its hidden block
replaced by one comment line — and none of the demo code cells (plots, training runs), which do
not run when grading. nbgrader turns it into ``release/<lesson>/<lesson>.ipynb`` (solutions
replaced by stubs, checksums recorded).

For each submission, :func:`build_job` fills a copy of that released notebook with:

* each answer cell: the definitions kept from the student's answer cell with the same nbgrader
  grade id (:func:`autograder.cleanrun.clean_answer`; a missing answer is the released stub),
  with the dropped lines listed in the cell's output;
* each written answer: the student's markdown (sanitized before any page renders it).

and a *plan* for the grading kernel (:mod:`autograder.runner`): the setup cells, the cleaned
answers, and each test cell's full code (visible and hidden segments) from the course's source.
Nothing else of the student's notebook is used: code cells they added do not run, test cells
they edited or deleted are the source's, their outputs and metadata are ignored.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

import nbformat

from .cleanrun import clean_answer

HIDDEN_BLOCK = re.compile(
    r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n(.*?)^[ \t]*### END HIDDEN TESTS[ \t]*(?:\n|\Z)", re.M | re.S)
HIDDEN_NOTE = "# hidden tests: run by the grader, not shown"
PLAN_KEY = "course_grading"


def nbgrader_meta(cell: nbformat.NotebookNode) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def is_answer(cell: nbformat.NotebookNode) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("solution")) and not meta.get("grade")


def is_tests(cell: nbformat.NotebookNode) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_written(cell: nbformat.NotebookNode) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "markdown" and bool(meta.get("solution"))


def setup_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The lesson's setup: its locked read-only code cells, or else its first code cell (the imports).

    The wrong-answer catalogue's runner (tests/wrong_answers) uses the same rule.
    """
    locked = [c for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("locked")
              and not nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")]
    if locked:
        return locked
    first = next((c for c in nb.cells if c.cell_type == "code" and not nbgrader_meta(c)), None)
    return [first] if first is not None else []


@dataclass
class Segment:
    source: str
    first_line: int
    hidden: bool


def split_tests(source: str) -> list[Segment]:
    """A test cell's code in order: visible segments and hidden blocks (markers removed)."""
    segments: list[Segment] = []
    pos = 0
    for match in HIDDEN_BLOCK.finditer(source):
        if match.start() > pos:
            segments.append(Segment(source[pos:match.start()], source.count("\n", 0, pos) + 1, False))
        body_start = match.start(1)
        segments.append(Segment(match.group(1), source.count("\n", 0, body_start) + 1, True))
        pos = match.end()
    if pos < len(source) or not segments:
        segments.append(Segment(source[pos:], source.count("\n", 0, pos) + 1, False))
    return [s for s in segments if s.source.strip() or not s.hidden]


def visible_tests(source: str) -> str:
    """The test cell as shown on every page: each hidden block replaced by one comment line."""
    return HIDDEN_BLOCK.sub(HIDDEN_NOTE + "\n", source).rstrip("\n")


def grading_source(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The source notebook registered in the gradebook: no demo code, no hidden test code."""
    nb = copy.deepcopy(solution)
    setup_ids = {id(c) for c in setup_cells(solution)}
    cells = []
    for original, cell in zip(solution.cells, nb.cells):
        if cell.cell_type == "code":
            if is_tests(cell):
                cell.source = visible_tests(cell.source)
            elif not (is_answer(cell) or id(original) in setup_ids or nbgrader_meta(cell)):
                continue  # a demo cell: it does not run when grading
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    nb.cells = cells
    return nb


# ----------------------------------------------------------------------------- one submission


@dataclass
class Job:
    """What runs for one submission: the notebook to fill with outputs, and the kernel's plan."""

    notebook: nbformat.NotebookNode
    plan: dict
    notes: list[str] = field(default_factory=list)


def _ipython_to_python(source: str) -> str:
    """Turn IPython syntax (``%magic``, ``!cmd``) into Python, so the definitions around it parse.

    The calls it becomes (``get_ipython().run_line_magic(...)``) are top-level statements, which
    the cleaning then drops.
    """
    import ast

    try:
        ast.parse(source)
        return source
    except SyntaxError:
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # a cell IPython cannot transform either: keep it, it reports the SyntaxError
        return source


def _student_cells(student: nbformat.NotebookNode) -> tuple[dict[str, str], dict[str, str]]:
    """The student's answer code and written answers by grade id (the first cell with each id)."""
    code: dict[str, str] = {}
    text: dict[str, str] = {}
    for cell in student.cells:
        gid = grade_id(cell)
        if gid is None:
            continue
        source = cell.get("source", "")
        if not isinstance(source, str):
            continue
        if cell.cell_type == "code":
            code.setdefault(gid, source)
        elif cell.cell_type == "markdown":
            text.setdefault(gid, source)
    return code, text


def _defined_names(released: nbformat.NotebookNode) -> set[str]:
    """The names the exercises ask for: what the answer cells' stubs define."""
    import ast

    names: set[str] = set()
    for cell in released.cells:
        if is_answer(cell):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            names |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return names


def build_job(released: nbformat.NotebookNode, solution: nbformat.NotebookNode,
              student: nbformat.NotebookNode) -> Job:
    """The grading notebook and plan for one submission (see the module docstring).

    ``released`` is the released grading source (stubs and checksums), ``solution`` the course's
    source (for the full test code), ``student`` the submitted notebook (read, validated).
    """
    from .safepages import sanitize_markdown

    nb = copy.deepcopy(released)
    nb.metadata.pop(PLAN_KEY, None)
    code, text = _student_cells(student)
    full_tests = {grade_id(c): c.source for c in solution.cells if is_tests(c)}
    setup_sources = {c.get("id"): c.source for c in setup_cells(solution)}
    notes: list[str] = []
    plan: dict = {"setup": [], "answers": [], "tests": [], "keep_names": sorted(_defined_names(released))}
    for position, cell in enumerate(nb.cells):
        gid = grade_id(cell)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if is_answer(cell):
            submitted = code.get(gid)
            if submitted is None:
                notes.append(f"answer cell {gid!r} is missing from the notebook: graded as not answered")
                submitted = cell.source
            cleaned = clean_answer(_ipython_to_python(submitted))
            cell.source = cleaned.source.rstrip("\n")
            cell_notes = []
            if cleaned.dropped:
                cell_notes.append("Not run when grading (only definitions run: imports, functions, classes, "
                                  "constants):")
                cell_notes += [f"  {d}" for d in cleaned.dropped]
                notes.append(f"{gid}: {len(cleaned.dropped)} top-level statement(s) not run")
            plan["answers"].append({"id": cell.id, "grade_id": gid, "position": position,
                                    "source": cleaned.source, "notes": cell_notes})
        elif is_tests(cell):
            source = full_tests.get(gid)
            if source is None:
                raise ValueError(f"test cell {gid!r} is not in the course's source")
            plan["tests"].append({
                "id": cell.id, "grade_id": gid, "position": position,
                "segments": [vars(s) for s in split_tests(source)]})
        elif is_written(cell):
            answer = text.get(gid)
            if answer is not None and answer.strip() != cell.source.strip():  # the stub stays as is
                cell.source = sanitize_markdown(answer)
        elif cell.cell_type == "code" and cell.get("id") in setup_sources:
            plan["setup"].append({"id": cell.id, "source": setup_sources[cell.id]})
    return Job(nb, plan, notes)


def job_notebook(job: Job) -> nbformat.NotebookNode:
    """The self-contained input of ``python -m autograder run-one``: the notebook with its plan."""
    nb = copy.deepcopy(job.notebook)
    nb.metadata[PLAN_KEY] = {"plan": job.plan, "notes": job.notes}
    return nb


def job_from_notebook(nb: nbformat.NotebookNode) -> Job:
    info = nb.metadata.get(PLAN_KEY)
    if not isinstance(info, dict) or not isinstance(info.get("plan"), dict):
        raise ValueError("this notebook holds no grading plan (make it with `python -m autograder grade --prepare`)")
    clean = copy.deepcopy(nb)
    del clean.metadata[PLAN_KEY]
    return Job(clean, info["plan"], list(info.get("notes", [])))
