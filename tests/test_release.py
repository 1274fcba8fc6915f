"""`lessons/` is exactly what `python -m autograder release` makes from `solutions/`, and the
student versions hold no solutions or hidden tests."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from autograder.paths import LESSONS, REPO, all_lessons
from autograder.release import COLAB_CELL_ID, colab_cell_source, release, render_readme

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
    assert nb.cells[0].id == COLAB_CELL_ID and nb.cells[0].source == colab_cell_source()
    assert sum(c.get("id") == COLAB_CELL_ID for c in nb.cells) == 1
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert "raise NotImplementedError()" in text
    assert json.loads(text)["metadata"]["kernelspec"]["name"] == "python3"


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
