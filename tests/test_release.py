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
