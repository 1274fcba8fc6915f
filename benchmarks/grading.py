"""How fast a class is graded: submissions per minute for lesson 01 and lesson 05, the per-submission
overhead of the sandbox, and the time of a class of 20 students x 5 lessons, extrapolated to 200 x 8.

    python benchmarks/grading.py [--jobs 2] [--students 20] [--per-lesson 8] [--only rates|class]

Students are a realistic mix (perfect, blank, and partly right notebooks), graded through the real
pipeline (`grade_class`: a bubblewrap sandbox per submission, nbgrader scoring, feedback pages).
Prints a table; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("COURSE_QUICK", "1")
os.environ.setdefault("COURSE_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import scenarios as S  # noqa: E402
from autograder import sandbox  # noqa: E402
from autograder.grade import grade_class  # noqa: E402
from autograder.paths import all_lessons  # noqa: E402


def write_class(subs: Path, lesson: str, students: int) -> None:
    """A class: a third perfect, a third blank, a third with half the exercises right."""
    exercises = S.exercises(lesson)
    for i in range(students):
        kind = i % 3
        if kind == 0:
            nb = S.perfect(lesson)
        elif kind == 1:
            nb = S.load_released(lesson)
        else:
            nb = S.load_released(lesson)
            for ex in exercises[: len(exercises) // 2]:
                S.cell(nb, ex.answer_id).source = ex.solution_source
        S.write(nb, subs, f"student{i:03d}", lesson)


def timed_grade(subs: Path, out: Path, lessons: list[str], jobs: int, unsafe: bool = False):
    start = time.monotonic()
    report = grade_class(subs, out=out, lessons=lessons, jobs=jobs, unsafe_no_sandbox=unsafe)
    seconds = time.monotonic() - start
    if not report.ok:
        raise SystemExit(f"grading failed: {report.errors[:3]}")
    return seconds, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--students", type=int, default=20, help="class size for the 5-lesson run")
    parser.add_argument("--per-lesson", type=int, default=8, help="students for the lesson 01/05 rates")
    parser.add_argument("--only", choices=["rates", "class"], default=None, help="run one part only")
    args = parser.parse_args()
    ok, why = sandbox.available()
    if not ok:
        raise SystemExit(f"bubblewrap cannot run here: {why}")
    lessons = all_lessons()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        tmp = Path(tmp)
        sandbox.probe()  # once, outside the timings

        # 1. submissions per minute, lesson 01 and lesson 05
        rate_lessons = [lessons[0], lessons[4]] if len(lessons) >= 5 else lessons[:1]
        for lesson in rate_lessons if args.only != "class" else []:
            subs = tmp / f"rate-{lesson}"
            write_class(subs, lesson, args.per_lesson)
            seconds, report = timed_grade(subs, tmp / f"rate-out-{lesson}", [lesson], args.jobs)
            run = statistics.mean(r.seconds for r in report.results)
            rows.append((f"{lesson}: {args.per_lesson} submissions, --jobs {args.jobs}",
                         f"{seconds:.1f} s total, {60 * args.per_lesson / seconds:.1f} submissions/min "
                         f"(sandbox run {run:.1f} s each)"))

            # 2. sandbox overhead: the same submissions without the sandbox, one at a time
            if lesson == lessons[0]:
                times = {}
                for unsafe in (False, True):
                    _, rep = timed_grade(subs, tmp / f"overhead-{unsafe}", [lesson], 1, unsafe=unsafe)
                    times[unsafe] = statistics.mean(r.seconds for r in rep.results)
                rows.append((f"{lesson}: sandbox overhead per submission (--jobs 1)",
                             f"{times[False] - times[True]:+.2f} s ({times[False]:.2f} s sandboxed vs "
                             f"{times[True]:.2f} s with --unsafe-no-sandbox)"))

        # 3. a class of N students x 5 lessons, extrapolated to 200 x 8
        subs = tmp / "class"
        chosen = lessons[:5] if args.only != "rates" else []
        for lesson in chosen:
            write_class(subs, lesson, args.students)
        if not chosen:
            return _print(rows)
        seconds, report = timed_grade(subs, tmp / "class-out", chosen, args.jobs)
        n = len(report.results)
        t = report.timings
        run_per, score_per = t["execute"] / n, (t["score"] + t["register"]) / n
        rows.append((f"class: {args.students} students x {len(chosen)} lessons = {n} submissions, --jobs {args.jobs}",
                     f"{seconds / 60:.1f} min: sandboxes {t['execute']:.0f} s, nbgrader scoring and pages "
                     f"{t['score'] + t['register']:.0f} s ({seconds / n:.2f} s per submission)"))
        scale = 1600
        rows.append(("extrapolated: 200 students x 8 lessons = 1600 submissions",
                     f"{scale * (run_per + score_per) / 3600:.1f} h on this machine; with the sandboxes spread over "
                     f"8 such machines (--prepare / run-one / --executed) "
                     f"{scale * (run_per / 8 + score_per) / 3600:.1f} h (scoring stays on one)"))
    _print(rows)


def _print(rows: list[tuple[str, str]]) -> None:
    width = max(len(a) for a, _ in rows)
    print(f"\nGrading throughput ({os.cpu_count()} cores, quick mode, bubblewrap {sandbox.bwrap_path()})")
    for a, b in rows:
        print(f"  {a:<{width}}  {b}")


if __name__ == "__main__":
    main()
