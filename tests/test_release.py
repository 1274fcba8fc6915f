"""`lessons/` is exactly what `python -m autograder release` makes from `solutions/`; the student
versions hold no solutions or hidden tests, show every written question, and carry the metadata a
kernel would write, so opening one changes nothing."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from autograder.paths import LESSONS, REPO, all_lessons, lesson_kernel
from autograder.release import (
    COLAB_CELL_ID,
    NBFORMAT_MINOR,
    RELEASE_PYTHON_VERSION,
    colab_cell_source,
    notebook_metadata,
    release,
    render_readme,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release")
    release(None, out=out)
    return out


@pytest.mark.parametrize("lesson", all_lessons())
def test_committed_lesson_is_what_the_release_generates(fresh_release: Path, lesson: str) -> None:
    generated = sorted(p.relative_to(fresh_release / lesson) for p in (fresh_release / lesson).rglob("*") if p.is_file())
    committed = sorted(p.relative_to(LESSONS / lesson) for p in (LESSONS / lesson).rglob("*")
                       if p.is_file() and ".ipynb_checkpoints" not in p.parts)
    assert committed == generated, "run `python -m autograder release` and commit lessons/"
    for rel in generated:
        assert (LESSONS / lesson / rel).read_bytes() == (fresh_release / lesson / rel).read_bytes(), (
            f"lessons/{lesson}/{rel} is stale: run `python -m autograder release` and commit it")


@pytest.mark.parametrize("lesson", all_lessons())
def test_student_version_hides_solutions_and_starts_with_colab_cell(lesson: str) -> None:
    text = (LESSONS / lesson / f"{lesson}.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    nb = nbformat.read(str(LESSONS / lesson / f"{lesson}.ipynb"), as_version=4)
    assert nb.cells[0].id == COLAB_CELL_ID and nb.cells[0].source == colab_cell_source(lesson)
    assert sum(c.get("id") == COLAB_CELL_ID for c in nb.cells) == 1
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert "raise NotImplementedError()" in text
    assert json.loads(text)["metadata"]["kernelspec"]["name"] == lesson_kernel(lesson)  # A1: ppml-tf


def test_releasing_twice_gives_identical_files(fresh_release: Path, tmp_path: Path) -> None:
    lesson = all_lessons()[0]
    release([lesson], out=tmp_path)
    assert (tmp_path / lesson / f"{lesson}.ipynb").read_bytes() == (fresh_release / lesson / f"{lesson}.ipynb").read_bytes()


@pytest.fixture(scope="module")
def kernel_report() -> dict:
    """What JupyterLab writes into a notebook it opens with the course kernel: the kernelspec's
    name, display_name and language, and the kernel_info reply's language_info."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        reply = kc.kernel_info(reply=True, timeout=60)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    spec = km.kernel_spec
    return {"kernelspec": {"name": "python3", "display_name": spec.display_name, "language": spec.language},
            "language_info": reply["content"]["language_info"]}


@pytest.mark.parametrize("lesson", all_lessons())
def test_released_metadata_is_what_a_kernel_writes(kernel_report: dict, lesson: str) -> None:
    """Opening a released lesson must not modify it: its metadata equals what JupyterLab would
    write, except the Python version, which is the course's reference Python (release.py says why)."""
    nb = json.loads((LESSONS / lesson / f"{lesson}.ipynb").read_text())
    assert nb["metadata"] == notebook_metadata(RELEASE_PYTHON_VERSION, kernel=lesson_kernel(lesson))
    assert (nb["nbformat"], nb["nbformat_minor"]) == (4, NBFORMAT_MINOR)
    live = json.loads(json.dumps(kernel_report))
    live["language_info"]["version"] = RELEASE_PYTHON_VERSION
    if lesson_kernel(lesson) != "python3":  # another kernel (A1: ppml-tf, same Python): its own kernelspec
        live["kernelspec"] = notebook_metadata(RELEASE_PYTHON_VERSION, kernel=lesson_kernel(lesson))["kernelspec"]
    assert nb["metadata"] == live


def test_working_copy_metadata_is_exactly_what_this_kernel_writes(kernel_report: dict, tmp_path: Path) -> None:
    """`make lab` copies lessons with this environment's Python version: there, opening changes nothing."""
    from autograder.lab import copy_lessons

    copy_lessons(LESSONS, tmp_path)
    for lesson in all_lessons():
        nb = json.loads((tmp_path / lesson / f"{lesson}.ipynb").read_text())
        expected = json.loads(json.dumps(kernel_report))
        if lesson_kernel(lesson) != "python3":  # A1 keeps its own kernel (ppml-tf, same Python version)
            expected["kernelspec"] = notebook_metadata(kernel=lesson_kernel(lesson))["kernelspec"]
        assert nb["metadata"] == expected
        original = json.loads((LESSONS / lesson / f"{lesson}.ipynb").read_text())
        assert nb["cells"] == original["cells"] and nb["nbformat_minor"] == original["nbformat_minor"]


# A written question asks something: a question mark, or an instruction to write.
ASKS = re.compile(r"\?|\b(explain|argue|describe|say|state|compare|discuss|justify|answer)\b", re.I)


def _is_written_answer(cell: dict) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell["cell_type"] == "markdown" and bool(meta.get("solution")) and bool(meta.get("grade"))


@pytest.mark.parametrize("lesson", all_lessons())
def test_every_written_question_is_visible_right_above_its_answer_cell(lesson: str) -> None:
    """Students see only "YOUR ANSWER HERE" in a written answer cell, so its question must be the
    markdown cell directly above it, not in the answer cell, and not above a figure in between."""
    nb = json.loads((LESSONS / lesson / f"{lesson}.ipynb").read_text())
    problems = []
    for i, cell in enumerate(nb["cells"]):
        if not _is_written_answer(cell):
            continue
        grade_id = cell["metadata"]["nbgrader"].get("grade_id")
        prev = nb["cells"][i - 1] if i else None
        text = "".join(prev["source"]) if prev else ""
        if prev is None or prev["cell_type"] != "markdown" or _is_written_answer(prev) or not ASKS.search(text):
            shown = f"a {prev['cell_type']} cell: {text[-80:]!r}" if prev else "nothing"
            problems.append(f"{grade_id}: the cell above it is {shown}")
    assert not problems, (f"{lesson}: a written answer cell must come right after the markdown cell that asks "
                          f"its question (students cannot see the answer cell's own text): {problems}")


def test_readme_lists_every_lesson_with_a_colab_badge() -> None:
    readme = (REPO / "README.md").read_text()
    assert readme == render_readme(readme, all_lessons()), "run `python -m autograder release`"
    for lesson in all_lessons():
        assert f"lessons/{lesson}/{lesson}.ipynb)" in readme
    assert readme.count("colab-badge.svg") == len(all_lessons())


def test_run_nbgrader_stops_the_whole_process_group_on_timeout(tmp_path: Path) -> None:
    """An nbgrader run past its time limit is killed with everything it started, and what it
    printed so far comes back with the error (the grader writes it to the submission's log)."""
    import os
    import subprocess
    import time

    from autograder.release import nbgrader_env, run_nbgrader

    # A stand-in `nbgrader` that starts a grandchild (like a kernel) and then hangs.
    fake = tmp_path / "fake" / "nbgrader"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")  # a regular package, found before the installed nbgrader
    pid_file = tmp_path / "grandchild.pid"
    (fake / "__main__.py").write_text(
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('started', flush=True)\n"
        "time.sleep(600)\n")
    env = dict(nbgrader_env(), PYTHONPATH=str(fake.parent))
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as info:
        run_nbgrader(["autograde"], cwd=tmp_path, env=env, timeout=5)
    assert time.monotonic() - start < 30
    assert "started" in info.value.output
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        # A killed child of a killed parent is reaped by init; until then it may show as a zombie.
        with open(f"/proc/{grandchild}/stat") as stat:
            if stat.read().split(") ", 1)[1].startswith("Z"):
                break
        time.sleep(0.1)
    else:
        pytest.fail(f"the grandchild process {grandchild} survived the timeout")
