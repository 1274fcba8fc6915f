"""Where things live, and the course's fixed settings, computed from this file so the commands work from any directory.

Lessons (the one place that says what a lesson is):

* a **numbered lesson** ``NN_name`` (``01_sensitivity`` ... ``08_remote_data_science``):
  ``solutions/NN_name/NN_name.ipynb``, released to ``lessons/NN_name/``; numbers run 01, 02, ...
  without gaps;
* an **appendix** ``AN_name`` (``A1_tensorflow_privacy``): ``solutions/AN_name/AN_name.ipynb``,
  released to ``lessons/AN_name/``, after every numbered lesson. Same folder level as the numbered
  lessons, so every ``SOLUTIONS / lesson`` path works for both; only the id tells them apart.

Every lesson runs in the Jupyter kernel :data:`DEFAULT_KERNEL` (``python3``, the course's own
environment) unless ``[tool.course.kernels]`` of pyproject.toml names another
(``"A1_tensorflow_privacy" = "ppml-tf"``: a kernel installed from its own environment);
:func:`lesson_kernel` reads it and the release writes it into the notebook's ``kernelspec``.
"""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
LESSONS = REPO / "lessons"
AUTOGRADER = REPO / "autograder"
BASE_CONFIG = AUTOGRADER / "nbgrader_config.py"
COLAB_TEMPLATE = AUTOGRADER / "templates" / "colab_setup.py"
COLAB_OTHER_KERNEL_TEMPLATE = COLAB_TEMPLATE.with_name("colab_other_kernel.py")  # lessons in another kernel

#: Any lesson id: a numbered lesson ``NN_name`` or an appendix ``AN_name``.
LESSON_ID = re.compile(r"^(\d\d|A\d{1,2})_[a-z0-9_]+$")
#: A numbered lesson's id.
NUMBERED_ID = re.compile(r"^\d\d_[a-z0-9_]+$")
#: An appendix's id.
APPENDIX_ID = re.compile(r"^A\d{1,2}_[a-z0-9_]+$")

#: nbgrader's course id (the gradebook and the exchange folder are keyed by it).
COURSE_ID = "ppml-course"
#: Seconds one cell (one exercise's tests) may run when grading, unless ``COURSE_CELL_TIMEOUT`` says otherwise.
DEFAULT_CELL_TIMEOUT = 120
#: The Jupyter kernel of every lesson that ``[tool.course.kernels]`` does not list.
DEFAULT_KERNEL = "python3"
_KERNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def is_appendix(lesson: str) -> bool:
    """True for an appendix id (``A1_tensorflow_privacy``), False for a numbered lesson."""
    return bool(APPENDIX_ID.match(lesson))


def _order(lesson: str) -> tuple[int, int]:
    head = lesson.split("_", 1)[0]
    return (1, int(head[1:])) if head.startswith("A") else (0, int(head))


def all_lessons(*, appendix: bool = True) -> list[str]:
    """Lesson ids in course order: numbered lessons (01, 02, ...), then appendices (A1, A2, ...).

    Every ``solutions/<id>/<id>.ipynb`` whose folder name is a lesson id; ``appendix=False`` leaves
    the appendices out.
    """
    found = []
    for folder in SOLUTIONS.iterdir() if SOLUTIONS.is_dir() else []:
        if LESSON_ID.match(folder.name) and (folder / f"{folder.name}.ipynb").is_file():
            if appendix or not is_appendix(folder.name):
                found.append(folder.name)
    return sorted(found, key=_order)


def course_table(name: str) -> dict:
    """A sub-table of ``[tool.course]`` in pyproject.toml (``{}`` when absent)."""
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    return dict(data.get("tool", {}).get("course", {}).get(name, {}))


def lesson_kernel(lesson: str) -> str:
    """The Jupyter kernel name ``lesson`` runs in: ``[tool.course.kernels]``, else :data:`DEFAULT_KERNEL`."""
    kernel = course_table("kernels").get(lesson, DEFAULT_KERNEL)
    if not isinstance(kernel, str) or not _KERNEL_NAME.match(kernel):
        raise RuntimeError(f"[tool.course.kernels] gives {lesson} the kernel {kernel!r}, not a kernel name")
    return kernel


def resolve_lessons(requested: list[str] | None) -> list[str]:
    """Validate requested lesson ids (a bare number such as ``3`` or ``03``, or ``A1``/``a1``, is accepted)."""
    available = all_lessons()
    if not requested:
        return available
    chosen = []
    for item in requested:
        key = item.zfill(2) if item.isdigit() else item.upper()
        matches = [lid for lid in available if lid == item or lid.split("_", 1)[0] == key]
        if not matches:
            raise SystemExit(f"unknown lesson {item!r}; available: {', '.join(available)}")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def venv_bin() -> Path:
    """The bin folder of the Python running us (nbgrader calls `alembic` from PATH)."""
    return Path(sys.executable).parent
