"""The Colab setup cell does nothing outside Colab and installs the course on Colab.

The cell runs in a subprocess, as the lesson's first cell would. "On Colab" is simulated by a fake
`google.colab` package; `pip` is replaced by a fake module that records its arguments, so nothing
is installed and nothing touches the network."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from autograder.paths import REPO
from autograder.release import colab_cell_source, course_settings

FAKE_PIP = """
import json, os, sys
with open(os.environ["FAKE_PIP_LOG"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
"""


def _run_cell(tmp_path: Path, *, on_colab: bool) -> list[list[str]]:
    fakes = tmp_path / "fakes"
    (fakes / "pip").mkdir(parents=True)
    (fakes / "pip" / "__init__.py").write_text("")
    (fakes / "pip" / "__main__.py").write_text(FAKE_PIP)
    if on_colab:
        (fakes / "google" / "colab").mkdir(parents=True)
        (fakes / "google" / "__init__.py").write_text("")
        (fakes / "google" / "colab" / "__init__.py").write_text("")
    script = tmp_path / "cell.py"
    script.write_text(colab_cell_source())
    log = tmp_path / "pip.log"
    env = {"PYTHONPATH": str(fakes), "FAKE_PIP_LOG": str(log), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_colab_cell_is_a_no_op_outside_colab(tmp_path: Path) -> None:
    assert _run_cell(tmp_path, on_colab=False) == []


def test_colab_cell_installs_the_pinned_course_on_colab(tmp_path: Path) -> None:
    calls = _run_cell(tmp_path, on_colab=True)
    settings = course_settings()
    expected = f"{settings['distribution']} @ git+{settings['repository']}@{settings['branch']}"
    assert calls == [["install", "--quiet", expected]]


def test_repository_url_is_set_in_one_place() -> None:
    url = course_settings()["repository"]
    offenders = [str(p.relative_to(REPO)) for p in list((REPO / "autograder").rglob("*.py")) + list((REPO / "helpers").rglob("*.py"))
                 if url in p.read_text()]
    assert offenders == [], "the repository URL belongs in pyproject.toml [tool.course] only"
