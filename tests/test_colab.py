"""The Colab setup cell does nothing outside Colab; on Colab it installs what its lesson needs from
the release tag, shows pip's progress, and says when the runtime must be restarted.

The cell runs in a subprocess, as the lesson's first cell would. "On Colab" is simulated by a fake
`google.colab` package; `pip` is replaced by a fake module that records its arguments (and, when
asked, "upgrades" a fake installed distribution), so nothing is installed and nothing touches the
network."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.paths import DEFAULT_KERNEL, REPO, all_lessons, lesson_kernel
from autograder.release import colab_cell_source, course_settings, lesson_extras, pip_spec

FAKE_PIP = """
import json, os, pathlib, shutil, sys
print("Collecting the course (fake pip)", flush=True)
with open(os.environ["FAKE_PIP_LOG"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
upgrade = os.environ.get("FAKE_PIP_UPGRADE")
if upgrade:  # replace fakepkg 1.0 by 2.0, as pip would upgrade an installed distribution
    site = pathlib.Path(os.environ["FAKE_SITE"])
    shutil.rmtree(site / "fakepkg-1.0.dist-info")
    (site / "fakepkg-2.0.dist-info").mkdir()
    (site / "fakepkg-2.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\\nName: fakepkg\\nVersion: 2.0\\n")
    (site / "fakepkg-2.0.dist-info" / "top_level.txt").write_text("fakepkg\\n")
print("Successfully installed (fake pip)", flush=True)
sys.exit(int(os.environ.get("FAKE_PIP_EXIT", "0")))
"""


def _run_cell(tmp_path: Path, lesson: str, *, on_colab: bool, preamble: str = "",
              env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    fakes = tmp_path / "fakes"
    (fakes / "pip").mkdir(parents=True)
    (fakes / "pip" / "__init__.py").write_text("")
    (fakes / "pip" / "__main__.py").write_text(FAKE_PIP)
    (fakes / "fakepkg").mkdir()
    (fakes / "fakepkg" / "__init__.py").write_text("")
    (fakes / "fakepkg-1.0.dist-info").mkdir()
    (fakes / "fakepkg-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.0\n")
    (fakes / "fakepkg-1.0.dist-info" / "top_level.txt").write_text("fakepkg\n")
    if on_colab:
        (fakes / "google" / "colab").mkdir(parents=True)
        (fakes / "google" / "__init__.py").write_text("")
        (fakes / "google" / "colab" / "__init__.py").write_text("")
    script = tmp_path / "cell.py"
    script.write_text(preamble + colab_cell_source(lesson))
    log = tmp_path / "pip.log"
    full_env = {"PYTHONPATH": str(fakes), "FAKE_PIP_LOG": str(log), "FAKE_SITE": str(fakes), "PATH": "/usr/bin:/bin",
                **(env or {})}
    proc = subprocess.run([sys.executable, str(script)], env=full_env, capture_output=True, text=True, timeout=60)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return proc, calls


def test_colab_cell_is_a_no_op_outside_colab(tmp_path: Path) -> None:
    proc, calls = _run_cell(tmp_path, "05_dp_sgd", on_colab=False)
    assert proc.returncode == 0, proc.stderr
    assert calls == [] and proc.stdout == "" and proc.stderr == ""


COLAB_LESSONS = [lesson for lesson in all_lessons() if lesson_kernel(lesson) == DEFAULT_KERNEL]
OTHER_KERNEL_LESSONS = [lesson for lesson in all_lessons() if lesson_kernel(lesson) != DEFAULT_KERNEL]


@pytest.mark.parametrize("lesson", OTHER_KERNEL_LESSONS)
def test_a_lesson_in_another_kernel_installs_nothing_on_colab(tmp_path: Path, lesson: str) -> None:
    """The appendix A1 cannot run in Colab's Python 3.12: its first cell must not spend minutes
    installing the course before the lesson's own version check refuses (issue 14)."""
    proc, calls = _run_cell(tmp_path, lesson, on_colab=True)
    assert proc.returncode == 0, proc.stderr
    assert calls == [] and "Nothing is installed on Colab" in proc.stdout and lesson_kernel(lesson) in proc.stdout
    proc, calls = _run_cell(tmp_path / "elsewhere", lesson, on_colab=False)
    assert proc.returncode == 0 and calls == [] and proc.stdout == "" and proc.stderr == ""


@pytest.mark.parametrize("lesson", COLAB_LESSONS)
def test_colab_cell_installs_the_lessons_extras_from_the_release_tag(tmp_path: Path, lesson: str) -> None:
    proc, calls = _run_cell(tmp_path, lesson, on_colab=True)
    assert proc.returncode == 0, proc.stderr
    s = course_settings()
    extras = lesson_extras(lesson)
    name = s["distribution"] + (f"[{','.join(extras)}]" if extras else "")
    assert calls == [["install", f"{name} @ git+{s['repository']}@{s['ref']}"]]  # no --quiet: progress shows
    assert "Collecting the course (fake pip)" in proc.stdout, "pip's own output must reach the notebook"
    assert proc.stdout.index("Installing") < proc.stdout.index("Collecting")
    assert "no restart needed" in proc.stdout and "RESTART" not in proc.stdout


def test_part_one_installs_the_base_only_and_torch_lessons_the_torch_extra() -> None:
    assert "[" not in pip_spec("01_sensitivity").split(" @ ")[0]
    assert pip_spec("05_dp_sgd").split(" @ ")[0].endswith("[torch]")


def test_colab_cell_asks_for_a_restart_when_an_imported_package_changed(tmp_path: Path) -> None:
    proc, calls = _run_cell(tmp_path, "01_sensitivity", on_colab=True, preamble="import fakepkg\n",
                            env={"FAKE_PIP_UPGRADE": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "RESTART NEEDED" in proc.stdout and "fakepkg" in proc.stdout and "Restart session" in proc.stdout


def test_colab_cell_needs_no_restart_when_the_changed_package_was_not_imported(tmp_path: Path) -> None:
    proc, _ = _run_cell(tmp_path, "01_sensitivity", on_colab=True, env={"FAKE_PIP_UPGRADE": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "RESTART" not in proc.stdout and "no restart needed" in proc.stdout


def test_colab_cell_stops_the_notebook_when_pip_fails(tmp_path: Path) -> None:
    proc, _ = _run_cell(tmp_path, "01_sensitivity", on_colab=True, env={"FAKE_PIP_EXIT": "1"})
    assert proc.returncode != 0 and "pip install failed" in proc.stderr


def test_repository_url_and_release_tag_are_set_in_one_place() -> None:
    s = course_settings()
    sources = list((REPO / "autograder").rglob("*.py")) + list((REPO / "helpers").rglob("*.py"))
    for value in (s["repository"], s["ref"]):
        offenders = [str(p.relative_to(REPO)) for p in sources if value in p.read_text()]
        assert offenders == [], f"{value} belongs in pyproject.toml [tool.course] only"
