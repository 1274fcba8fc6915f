"""``python -m autograder lab`` (``make lab``) and ``python -m autograder instructor`` (``make instructor``).

Students work in a copy. ``lessons/`` is generated and committed, so a student who filled it in
would see ``git pull`` conflict with every lesson update. ``lab`` therefore copies each file of
``lessons/`` into ``my-lessons/`` (git-ignored) when it is not there yet, never overwriting
anything, and opens JupyterLab there; lessons that arrive later with ``git pull`` are copied the
next time. A copied notebook's ``language_info`` is set to what this environment's kernel reports
(the released one carries the course's reference Python), so opening it changes nothing.
``my-lessons/.course-copies.json`` remembers which version of each original was copied, so the
student hears once when an original changed after their copy was made.

Each command opens JupyterLab with the nbgrader tools of its role, chosen per launch by putting
``autograder/jupyter_roles/<role>/`` first on ``JUPYTER_CONFIG_PATH``: students keep *Assignment
List* and *Validate*; *Formgrader*, *Create Assignment* and *Courses* (lab plugins and server
extensions) are for instructors only. ``setup-jupyter`` also writes the student settings into the
virtual environment, so a plain ``.venv/bin/jupyter lab`` is a student's JupyterLab too.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .nbgrader_cli import nbgrader_env, write_course_config
from .paths import AUTOGRADER, LESSON_ID, LESSONS, REPO, venv_bin
from .release import notebook_metadata

WORKING_COPY = REPO / "my-lessons"
MANIFEST = ".course-copies.json"
ROLES = AUTOGRADER / "jupyter_roles"
GRADING = REPO / "grading"


def kernel_language_info() -> dict:
    """``language_info`` as the course kernel (ipykernel in this Python) reports it in kernel_info."""
    try:
        from ipykernel.ipkernel import IPythonKernel
    except ImportError:  # no Jupyter here (e.g. only the library installed): mirror ipykernel
        return notebook_metadata(sys.version.split()[0])["language_info"]
    return json.loads(json.dumps(IPythonKernel.language_info))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class CopyReport:
    copied: list[str]    # lesson ids with at least one newly copied file
    changed: list[str]   # originals (relative to lessons/) that changed since they were copied
    dest: Path


def copy_lessons(src: Path = LESSONS, dest: Path = WORKING_COPY) -> CopyReport:
    """Copy every file of ``src/<lesson>/`` to ``dest/<lesson>/`` that is not there yet.

    Never overwrites: a file that exists in ``dest`` (the student's work) is left alone, even when
    its original changed; the change is reported once. Notebooks get this environment's
    ``language_info`` (see the module docstring); everything else is copied byte for byte.
    """
    dest.mkdir(parents=True, exist_ok=True)
    manifest_path = dest / MANIFEST
    try:
        manifest: dict[str, str] = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    copied: list[str] = []
    changed: list[str] = []
    language_info = None
    lessons = sorted(p for p in src.iterdir() if p.is_dir() and LESSON_ID.match(p.name)) if src.is_dir() else []
    for lesson_dir in lessons:
        for original in sorted(lesson_dir.rglob("*")):
            if not original.is_file() or ".ipynb_checkpoints" in original.parts:
                continue
            rel = original.relative_to(src).as_posix()
            target = dest / rel
            digest = _digest(original)
            if target.exists():
                if manifest.get(rel, digest) != digest:
                    changed.append(rel)
                    manifest[rel] = digest
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if original.suffix == ".ipynb":
                if language_info is None:
                    language_info = kernel_language_info()
                nb = nbformat.read(str(original), as_version=nbformat.NO_CONVERT)
                nb.metadata["language_info"] = nbformat.from_dict(language_info)
                text = nbformat.writes(nb, version=nbformat.NO_CONVERT)
                data = (text if text.endswith("\n") else text + "\n").encode()  # as nbformat.write does
            else:
                data = original.read_bytes()
            with open(target, "xb") as out:  # "x": never replace a file that appeared meanwhile
                out.write(data)
            manifest[rel] = digest
            if lesson_dir.name not in copied:
                copied.append(lesson_dir.name)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return CopyReport(copied, changed, dest)


def _shown(path: Path) -> str:
    if path == REPO:
        return "the repository"
    try:
        return f"{path.relative_to(REPO)}/"
    except ValueError:
        return f"{path}/"


def describe(report: CopyReport, src: Path = LESSONS) -> list[str]:
    """What ``lab`` tells the student: one line, plus one per original that changed since copied."""
    where, originals = _shown(report.dest), _shown(src)
    if report.copied:
        names = report.copied if len(report.copied) <= 3 else [report.copied[0], "...", report.copied[-1]]
        what = f"{len(report.copied)} lesson{'s' if len(report.copied) > 1 else ''} ({', '.join(names)})"
        lines = [f"Copied {what} into {where}, your working copy: fill in the lessons there; git pull never "
                 f"touches it. The originals stay in {originals}."]
    else:
        lines = [f"Opening your working copy {where} (nothing new to copy; the originals are in {originals})."]
    for rel in report.changed:
        lesson = rel.split("/", 1)[0]
        lines.append(f"Note: {originals}{rel} has changed since your copy was made; your copy is untouched. "
                     f"To start that lesson afresh, rename {where}{lesson} and run make lab again.")
    return lines


@dataclass
class Launch:
    """A JupyterLab command line: run ``argv`` with ``env`` in ``cwd``."""
    argv: list[str]
    env: dict[str, str]
    cwd: Path


def launch(role: str, *, root: Path, cwd: Path, args: list[str] | tuple[str, ...] = ()) -> Launch:
    """JupyterLab on ``root`` with the nbgrader tools of ``role`` ("student" or "instructor")."""
    if role not in ("student", "instructor"):
        raise ValueError(f"role must be 'student' or 'instructor', got {role!r}")
    env = nbgrader_env()  # this environment's bin first: its `python` is the kernel, nbgrader finds alembic
    config_path = [str(ROLES / role)] + [p for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p]
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(config_path)
    argv = [str(venv_bin() / "jupyter"), "lab", f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")  # containers and CI images often run as root
    return Launch(argv + list(args), env, cwd)


def student_launch(args: list[str] | tuple[str, ...] = (), *, src: Path = LESSONS,
                   dest: Path = WORKING_COPY) -> tuple[Launch, list[str]]:
    """Copy new lessons into the working copy; the launch that opens it and the lines to print."""
    report = copy_lessons(src, dest)
    return launch("student", root=dest, cwd=dest, args=args), describe(report, src)


def instructor_root(course: Path) -> Path:
    """The repository when the grading folder is inside it (so solutions/ is reachable), else the folder."""
    course = course.resolve()
    return REPO if REPO in course.parents else course


def instructor_launch(args: list[str] | tuple[str, ...] = (), *, course: Path = GRADING) -> tuple[Launch, list[str]]:
    """JupyterLab on the repository (solutions/ for Create Assignment), run from the grading folder,
    whose nbgrader_config.py Formgrader reads."""
    course = course.resolve()
    lines = []
    if not (course / "nbgrader_config.py").is_file():
        course.mkdir(parents=True, exist_ok=True)
        write_course_config(course)
        lines.append(f"Created the grading folder {_shown(course)} (empty until `python -m autograder grade` "
                     f"fills it).")
    root = instructor_root(course)
    lines.append(f"Opening JupyterLab on {_shown(root)} with Formgrader (Nbgrader > Formgrader) for the course "
                 f"in {_shown(course)} and Create Assignment (notebook toolbar).")
    return launch("instructor", root=root, cwd=course, args=args), lines


def run(lab: Launch, lines: list[str]) -> None:
    """Print the lines, then replace this process by JupyterLab (Ctrl-C stops it as usual)."""
    for line in lines:
        print(line, flush=True)
    os.chdir(lab.cwd)
    os.execve(lab.argv[0], lab.argv, lab.env)
