"""autograder.paths: which folders are lessons (numbered and appendix), their order, and their kernels."""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder import paths, release


def _course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names: list[str], kernels: str = "") -> None:
    sol = tmp_path / "solutions"
    for name in names:
        (sol / name).mkdir(parents=True)
        (sol / name / f"{name}.ipynb").write_text("{}")
    (sol / "notes").mkdir()  # not a lesson
    (sol / "09_no_notebook").mkdir()  # a lesson folder without its notebook is not a lesson
    (tmp_path / "pyproject.toml").write_text(f"[tool.course]\nref = 'v0'\n[tool.course.kernels]\n{kernels}")
    monkeypatch.setattr(paths, "SOLUTIONS", sol)
    monkeypatch.setattr(paths, "REPO", tmp_path)


def test_numbered_lessons_then_appendices_in_order(tmp_path, monkeypatch):
    _course(tmp_path, monkeypatch, ["A10_later", "02_two", "A1_tensorflow_privacy", "01_one", "A2_other"])
    assert paths.all_lessons() == ["01_one", "02_two", "A1_tensorflow_privacy", "A2_other", "A10_later"]
    assert paths.all_lessons(appendix=False) == ["01_one", "02_two"]
    assert paths.is_appendix("A1_tensorflow_privacy") and not paths.is_appendix("01_one")
    assert paths.LESSON_ID.match("A1_tensorflow_privacy") and not paths.LESSON_ID.match("B1_x")


def test_resolve_lessons_accepts_numbers_and_appendix_ids(tmp_path, monkeypatch):
    _course(tmp_path, monkeypatch, ["01_one", "02_two", "A1_tensorflow_privacy"])
    assert paths.resolve_lessons(["2", "a1"]) == ["02_two", "A1_tensorflow_privacy"]
    assert paths.resolve_lessons(["A1_tensorflow_privacy", "01"]) == ["A1_tensorflow_privacy", "01_one"]
    assert paths.resolve_lessons(None) == ["01_one", "02_two", "A1_tensorflow_privacy"]
    with pytest.raises(SystemExit, match="unknown lesson"):
        paths.resolve_lessons(["A3"])


def test_per_lesson_kernel_defaults_to_python3(tmp_path, monkeypatch):
    _course(tmp_path, monkeypatch, ["01_one", "A1_tensorflow_privacy"], kernels='"A1_tensorflow_privacy" = "ppml-tf"\n')
    assert paths.lesson_kernel("01_one") == "python3" == paths.DEFAULT_KERNEL
    assert paths.lesson_kernel("A1_tensorflow_privacy") == "ppml-tf"
    meta = release.notebook_metadata(kernel="ppml-tf")
    assert meta["kernelspec"] == {"display_name": "Python 3 (ppml-tf)", "language": "python", "name": "ppml-tf"}
    assert release.notebook_metadata()["kernelspec"]["name"] == "python3"


def test_a_bad_kernel_name_is_refused(tmp_path, monkeypatch):
    _course(tmp_path, monkeypatch, ["01_one"], kernels='"01_one" = "two words"\n')
    with pytest.raises(RuntimeError, match="kernel"):
        paths.lesson_kernel("01_one")


def test_the_real_course_runs_every_lesson_in_a_known_kernel():
    for lesson in paths.all_lessons():
        assert paths.lesson_kernel(lesson)  # parses; the default for every lesson not listed
    assert release.lesson_title("05_dp_sgd")  # "Lesson 05 — ..." prefixes still stripped
    assert release.TITLE_PREFIX.sub("", "# Appendix A1 — TensorFlow Privacy") == "TensorFlow Privacy"
    assert release.TITLE_PREFIX.sub("", "# Lesson 05 — DP-SGD") == "DP-SGD"
