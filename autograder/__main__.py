"""Command line: ``python -m autograder {release,grade,check,setup-jupyter,lab,instructor}``."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description="Release student notebooks, grade a class with nbgrader, and prove the grading honest.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="regenerate lessons/ from solutions/ (nbgrader generate_assignment)")
    p.add_argument("lessons", nargs="*", help="lesson ids such as 01_sensitivity (default: all)")
    p.add_argument("--out", default=None, help="write the student notebooks here instead of lessons/")

    p = sub.add_parser("grade", help="grade SUBMISSIONS_DIR/<student>/<lesson>/<lesson>.ipynb")
    p.add_argument("submissions", help="folder with one sub-folder per student")
    p.add_argument("--out", default="grading", help="course folder kept across runs (gradebook, feedback, grades.csv)")
    p.add_argument("--lesson", action="append", dest="lessons", help="grade only this lesson (repeatable)")
    p.add_argument("--timeout", type=int, default=None, help="seconds one cell may run (default: autograder config)")

    p = sub.add_parser("check", help="prove solution = full marks and student version = 0 for each lesson")
    p.add_argument("lessons", nargs="*", help="lesson ids (default: all)")
    p.add_argument("--timeout", type=int, default=None, help="seconds one cell may run")

    sub.add_parser("setup-jupyter", help="configure the virtual environment's Jupyter for the course")

    sub.add_parser("lab", help="copy new lessons into my-lessons/ (never overwriting) and open JupyterLab there "
                               "(make lab); other arguments go to JupyterLab")

    p = sub.add_parser("instructor", help="open JupyterLab with Formgrader and Create Assignment (make instructor); "
                                          "other arguments go to JupyterLab")
    p.add_argument("--course", default=None, help="the grading folder (default: grading/ in the repository)")

    args, rest = parser.parse_known_args(argv)
    if rest and args.command not in ("lab", "instructor"):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "release":
        from .release import release

        release(args.lessons or None, out=args.out)
        return 0
    if args.command == "grade":
        from .grade import grade_class

        report = grade_class(args.submissions, out=args.out, lessons=args.lessons, timeout=args.timeout)
        return 0 if report.ok else 1
    if args.command == "check":
        from .check import check_lessons

        return 0 if check_lessons(args.lessons or None, timeout=args.timeout) else 1
    if args.command == "setup-jupyter":
        from .jupyter_setup import setup_jupyter

        setup_jupyter()
        return 0
    if args.command == "lab":
        from .lab import run, student_launch

        run(*student_launch(rest))
        return 0  # pragma: no cover  (run replaces this process)
    if args.command == "instructor":
        from pathlib import Path

        from .lab import GRADING, instructor_launch, run

        run(*instructor_launch(rest, course=Path(args.course) if args.course else GRADING))
        return 0  # pragma: no cover
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return 2


if __name__ == "__main__":
    sys.exit(main())
