"""Command line: ``python -m autograder {release,grade,run-one,check,setup-jupyter,lab,instructor}``."""
from __future__ import annotations

import argparse
import sys


def _add_limits(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("limits for each submission (README: Grading safely)")
    g.add_argument("--timeout", type=float, default=None,
                   help="seconds one exercise's tests may run (default: COURSE_CELL_TIMEOUT or 120)")
    g.add_argument("--budget", type=float, default=600, help="wall-clock seconds for a whole submission (600)")
    g.add_argument("--memory", type=float, default=4, help="memory limit in GiB (4)")
    g.add_argument("--pids", type=int, default=256, help="processes and threads (256)")
    g.add_argument("--cpu-time", type=int, default=None, help="CPU seconds per process (default: the budget)")
    g.add_argument("--file-size", type=float, default=64, help="largest file a submission may write, MiB (64)")
    g.add_argument("--max-output", type=float, default=8, help="output in MiB after which a test is stopped (8)")
    g.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="grade without bubblewrap (prints what is then unprotected); only for trusted notebooks")


def _limits(args: argparse.Namespace):  # noqa: ANN202
    import os

    from .paths import DEFAULT_CELL_TIMEOUT
    from .sandbox import GiB, MiB, Limits

    timeout = args.timeout if args.timeout is not None else float(os.environ.get("COURSE_CELL_TIMEOUT", str(DEFAULT_CELL_TIMEOUT)))
    return Limits(memory=int(args.memory * GiB), pids=args.pids, file_size=int(args.file_size * MiB),
                  stop_output=int(args.max_output * MiB), cell_timeout=timeout, budget=args.budget,
                  cpu_time=args.cpu_time)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description="Release student notebooks, grade a class with nbgrader, and prove the grading honest.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="regenerate lessons/ from solutions/ (nbgrader generate_assignment)")
    p.add_argument("lessons", nargs="*", help="lesson ids such as 01_sensitivity (default: all)")
    p.add_argument("--out", default=None, help="write the student notebooks here instead of lessons/")

    p = sub.add_parser("grade", help="grade SUBMISSIONS_DIR/<student>/<lesson>/<lesson>.ipynb, each in a sandbox")
    p.add_argument("submissions", help="folder with one sub-folder per student")
    p.add_argument("--out", default="grading", help="course folder kept across runs (gradebook, feedback, grades.csv)")
    p.add_argument("--lesson", action="append", dest="lessons", help="grade only this lesson (repeatable)")
    p.add_argument("--jobs", "-j", type=int, default=None, help="submissions run at once (default: number of cores)")
    p.add_argument("--prepare", metavar="DIR", default=None,
                   help="only write one job notebook per submission and DIR/commands.txt (run-one commands)")
    p.add_argument("--executed", metavar="DIR", default=None,
                   help="score the notebooks the run-one commands of --prepare DIR wrote, instead of running them")
    _add_limits(p)

    p = sub.add_parser("run-one", help="run one job notebook (from grade --prepare) in a sandbox")
    p.add_argument("job", help="a job notebook written by `grade --prepare`")
    p.add_argument("executed", help="where to write the executed notebook (and a .log next to it)")
    _add_limits(p)

    p = sub.add_parser("check", help="prove solution = full marks and student version = 0 for each lesson")
    p.add_argument("lessons", nargs="*", help="lesson ids (default: all)")
    p.add_argument("--timeout", type=float, default=None, help="seconds one exercise's tests may run")
    p.add_argument("--unsafe-no-sandbox", action="store_true", help="run without bubblewrap (the course's own notebooks)")

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

        report = grade_class(args.submissions, out=args.out, lessons=args.lessons, limits=_limits(args),
                             jobs=args.jobs, unsafe_no_sandbox=args.unsafe_no_sandbox, prepare=args.prepare,
                             executed=args.executed)
        return 0 if report.ok else 1
    if args.command == "run-one":
        import os

        from .execute import run_one
        from .grade import UNSAFE_WARNING
        from .sandbox import SandboxUnavailable

        if args.unsafe_no_sandbox:
            user = f"uid {os.geteuid()}" + (" (root!)" if os.geteuid() == 0 else "")
            print(UNSAFE_WARNING.format(user=user, out="the grading folder, if this machine holds it,"),
                  file=sys.stderr, flush=True)
        try:
            executed = run_one(args.job, args.executed, _limits(args), sandboxed=not args.unsafe_no_sandbox)
        except SandboxUnavailable as exc:
            print(f"cannot run an untrusted submission: {exc}. Install bubblewrap, or pass "
                  "--unsafe-no-sandbox (it prints what is then unprotected).", file=sys.stderr)
            return 2
        return 0 if executed.complete else 1
    if args.command == "check":
        from .check import check_lessons

        return 0 if check_lessons(args.lessons or None, timeout=args.timeout,
                                  unsafe_no_sandbox=args.unsafe_no_sandbox) else 1
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
