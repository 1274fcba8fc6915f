"""How long each solution notebook takes, by default and in quick mode, and how long grading one
student's notebooks takes. Prints a table with each run's slowest cell; asserts nothing (targets: every
notebook < 15 s quick; Part I notebooks < 60 s by default, lesson 05 < 90 s, later lessons < 3 min; no
cell over 30 s by default). The machine is shared: take the quietest of a few runs.

A run's time is what a student waits for after *Run All* in a fresh kernel: from starting the kernel to the
last cell's reply. The kernel's exit afterwards is printed apart ("+ exit"): it is Python's final garbage
collection, up to 3 s once torch._dynamo / Opacus are loaded, and nobody waits for it but a script.

    python -m benchmarks.course_runtime [LESSON ...] [--no-default] [--no-grade]
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
from autograder.paths import SOLUTIONS, lesson_kernel, resolve_lessons


def _slowest_cell(nb: nbformat.NotebookNode) -> tuple[float, int]:
    """(seconds, index) of the code cell that took longest, from nbclient's timing metadata."""
    best = (0.0, -1)
    for i, cell in enumerate(nb.cells):
        ex = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type == "code" and "iopub.execute_input" in ex and "shell.execute_reply" in ex:
            best = max(best, ((_when(ex["shell.execute_reply"]) - _when(ex["iopub.execute_input"])).total_seconds(), i))
    return best


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def run_notebook(path: Path, *, quick: bool, kernel: str = "python3") -> tuple[float, float, int, tuple[float, int]]:
    """Execute a notebook (in its lesson's Jupyter kernel) in a scratch copy of its folder; return
    (seconds from kernel start to the last cell's reply, seconds of the kernel's exit after it,
    cells with errors, slowest cell)."""
    nb = nbformat.read(str(path), as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(path.parent, Path(tmp) / path.parent.name)
        client = NotebookClient(nb, timeout=900, kernel_name=kernel, allow_errors=True,
                                resources={"metadata": {"path": str(Path(tmp) / path.parent.name)}})
        start = datetime.now(timezone.utc)  # the kernel stamps its replies in UTC, on this machine's clock
        # execute(**kw) goes to the kernel manager's start_kernel: env= is the kernel's whole environment
        client.execute(env={"MPLBACKEND": "Agg", **os.environ, "COURSE_QUICK": "1" if quick else "0"})
        end = datetime.now(timezone.utc)
    errors = sum(1 for c in nb.cells if c.cell_type == "code" and any(o.output_type == "error" for o in c.get("outputs", [])))
    replies = [_when(c.metadata["execution"]["shell.execute_reply"]) for c in nb.cells
               if c.cell_type == "code" and "shell.execute_reply" in c.get("metadata", {}).get("execution", {})]
    last = max(replies, default=end)
    return (last - start).total_seconds(), (end - last).total_seconds(), errors, _slowest_cell(nb)


def grade_one_student(lessons: list[str]) -> float:
    from autograder.grade import grade_class

    with tempfile.TemporaryDirectory() as tmp:
        for lesson in lessons:
            dest = Path(tmp) / "subs" / "student" / lesson
            dest.mkdir(parents=True)
            shutil.copy(SOLUTIONS / lesson / f"{lesson}.ipynb", dest / f"{lesson}.ipynb")
        start = time.perf_counter()
        grade_class(Path(tmp) / "subs", out=Path(tmp) / "out", lessons=lessons)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*")
    parser.add_argument("--no-default", action="store_true", help="skip the default-settings runs")
    parser.add_argument("--no-grade", action="store_true", help="skip timing `autograder grade`")
    args = parser.parse_args()
    lessons = resolve_lessons(args.lessons or None)
    for lesson in lessons:
        path = SOLUTIONS / lesson / f"{lesson}.ipynb"
        kernel = lesson_kernel(lesson)
        try:
            KernelSpecManager().get_kernel_spec(kernel)
        except NoSuchKernel:
            print(f"{lesson:<28} skipped: its Jupyter kernel {kernel!r} is not installed here "
                  "(appendix A1: `make tf-env`)", flush=True)
            continue
        quick, quick_exit, quick_err, quick_cell = run_notebook(path, quick=True, kernel=kernel)
        if args.no_default:
            default_text, default_err = "default skipped", 0
        else:
            default, default_exit, default_err, default_cell = run_notebook(path, quick=False, kernel=kernel)
            default_text = (f"default {default:7.1f} s + exit {default_exit:.1f} s "
                            f"(slowest cell #{default_cell[1]}: {default_cell[0]:.1f} s)")
        print(f"{lesson:<28} {default_text}   quick {quick:6.1f} s + exit {quick_exit:.1f} s "
              f"(slowest #{quick_cell[1]}: {quick_cell[0]:.1f} s)   cells with errors: {default_err + quick_err}", flush=True)
    if not args.no_grade:
        part1 = [lesson for lesson in lessons if lesson[:2] in {"01", "02", "03"}]
        if part1:
            seconds = grade_one_student(part1)
            print(f"`python -m autograder grade` of one student's {len(part1)} Part I notebooks "
                  f"(new gradebook included): {seconds:.1f} s")


if __name__ == "__main__":
    main()
