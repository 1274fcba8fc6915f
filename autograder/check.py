"""``python -m autograder check``: prove, through the real nbgrader pipeline, that for every lesson
the solution notebook earns every autograded point and the released student notebook earns zero."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .grade import grade_class
from .gradefolder import open_gradebook
from .paths import LESSONS, SOLUTIONS, resolve_lessons


def check_lessons(lessons: list[str] | None = None, *, timeout: float | None = None,
                  unsafe_no_sandbox: bool = False) -> bool:
    chosen = resolve_lessons(lessons)
    ok = True
    with tempfile.TemporaryDirectory(prefix="course-check-") as tmp:
        subs = Path(tmp) / "submissions"
        for lesson in chosen:
            released = LESSONS / lesson / f"{lesson}.ipynb"
            if not released.is_file():
                print(f"FAIL {lesson}: no student version at {released}; run `python -m autograder release`")
                ok = False
                continue
            for student, source in (("solution", SOLUTIONS / lesson / f"{lesson}.ipynb"), ("blank", released)):
                (subs / student / lesson).mkdir(parents=True, exist_ok=True)
                shutil.copy(source, subs / student / lesson / f"{lesson}.ipynb")
        out = Path(tmp) / "grading"
        report = grade_class(subs, out=out, lessons=chosen, timeout=timeout, unsafe_no_sandbox=unsafe_no_sandbox)
        if not report.ok:
            return False
        with open_gradebook(out) as gb:
            for lesson in chosen:
                if not (LESSONS / lesson / f"{lesson}.ipynb").is_file():
                    continue
                sol = gb.find_submission(lesson, "solution")
                blank = gb.find_submission(lesson, "blank")
                full = sol.code_score == sol.max_code_score and sol.max_code_score > 0
                zero = blank.score == 0
                status = "ok  " if full and zero else "FAIL"
                ok &= full and zero
                print(f"{status} {lesson}: solution {sol.code_score:g}/{sol.max_code_score:g} autograded points "
                      f"(+{sol.max_written_score:g} written, graded by hand); blank student version "
                      f"{blank.score:g}/{blank.max_score:g}")
    return ok
