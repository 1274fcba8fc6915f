"""Where things live, computed from this file so the commands work from any directory."""
from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
LESSONS = REPO / "lessons"
AUTOGRADER = REPO / "autograder"
BASE_CONFIG = AUTOGRADER / "nbgrader_config.py"
COLAB_TEMPLATE = AUTOGRADER / "templates" / "colab_setup.py"

LESSON_ID = re.compile(r"^\d\d_[a-z0-9_]+$")


def all_lessons() -> list[str]:
    """Lesson ids (``01_sensitivity`` ...) in course order: every solutions/NN_name/NN_name.ipynb."""
    found = []
    for folder in sorted(SOLUTIONS.iterdir()) if SOLUTIONS.is_dir() else []:
        if LESSON_ID.match(folder.name) and (folder / f"{folder.name}.ipynb").is_file():
            found.append(folder.name)
    return found


def resolve_lessons(requested: list[str] | None) -> list[str]:
    """Validate requested lesson ids (a bare number such as ``3`` or ``03`` is accepted)."""
    available = all_lessons()
    if not requested:
        return available
    chosen = []
    for item in requested:
        matches = [lid for lid in available if lid == item or lid.split("_", 1)[0] == item.zfill(2)]
        if not matches:
            raise SystemExit(f"unknown lesson {item!r}; available: {', '.join(available)}")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def venv_bin() -> Path:
    """The bin folder of the Python running us (nbgrader calls `alembic` from PATH)."""
    return Path(sys.executable).parent
