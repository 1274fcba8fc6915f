"""`make lab` opens a working JupyterLab on the student's own copy of the lessons, with the
course kernel and nbgrader's student tools only; `make instructor` opens one with Formgrader and
Create Assignment.

The servers are started exactly as the commands start them (:mod:`autograder.lab`), without a
browser; what the browser would load is read from the server: the page config embedded in `/lab`
(which lab plugins are disabled) and the nbgrader handlers that answer (or 404)."""
from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder.jupyter_setup import install_student_defaults
from autograder.lab import ROLES, copy_lessons, describe, instructor_launch, instructor_root, student_launch
from autograder.paths import LESSONS, REPO, all_lessons, venv_bin

pytestmark = pytest.mark.slow

INSTRUCTOR_PLUGINS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list"}
STUDENT_PLUGINS = {"@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:validate-assignment"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # 127.0.0.1 only
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@contextlib.contextmanager
def _serve(lab, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Start the launch on a free local port; yield (base URL, token)."""
    port, token = _free_port(), "course-test-token"
    env = dict(lab.env, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTER_CONFIG_DIR=str(tmp_path / "user-config"))  # no ~/.jupyter of whoever runs the tests
    argv = [*lab.argv, "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0"]
    if "--allow-root" not in argv:
        argv.append("--allow-root")
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(argv, env=env, cwd=lab.cwd, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if _get(f"{base}/api/status", token)[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start:\n{(tmp_path / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _page_config(base: str, token: str) -> dict:
    status, page = _get(f"{base}/lab", token)
    assert status == 200
    match = re.search(rb'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(match.group(1))


def test_student_lab_opens_the_working_copy_with_student_tools_only(tmp_path: Path) -> None:
    lab, lines = student_launch(src=LESSONS, dest=tmp_path / "my-lessons")
    assert len(lines) == 1 and "my-lessons" in lines[0] and "lessons/" in lines[0]
    assert lab.cwd == tmp_path / "my-lessons"
    with _serve(lab, tmp_path) as (base, token):
        _, body = _get(f"{base}/api/kernelspecs", token)
        specs = json.loads(body)["kernelspecs"]
        argv0 = specs["python3"]["spec"]["argv"][0]  # `python` on the launch's PATH: this environment's
        assert argv0 in ("python", sys.executable) or Path(argv0).resolve() == Path(sys.executable).resolve()
        assert Path(shutil.which("python", path=lab.env["PATH"])).parent == venv_bin()
        config = _page_config(base, token)
        assert "@jupyter/nbgrader" in {e["name"] for e in config["federated_extensions"]}
        disabled = set(config["disabledExtensions"])
        assert INSTRUCTOR_PLUGINS <= disabled and not STUDENT_PLUGINS & disabled
        status, body = _get(f"{base}/assignments?course_id=ppml-course", token)
        assert status == 200 and json.loads(body)["success"] is True  # assignment-list server extension
        assert _get(f"{base}/formgrader", token)[0] == 404  # no Formgrader server extension
        _, listing = _get(f"{base}/api/contents", token)
        names = {item["name"] for item in json.loads(listing)["content"]}
        assert set(all_lessons()) <= names


def test_instructor_lab_has_formgrader_and_create_assignment(tmp_path: Path) -> None:
    course = tmp_path / "grading"
    lab, lines = instructor_launch(course=course)
    assert (course / "nbgrader_config.py").is_file() and lab.cwd == course
    assert any("Formgrader" in line for line in lines)
    with _serve(lab, tmp_path) as (base, token):
        disabled = set(_page_config(base, token)["disabledExtensions"])
        assert not (INSTRUCTOR_PLUGINS | STUDENT_PLUGINS) & disabled
        status, body = _get(f"{base}/formgrader/api/assignments", token)
        assert status == 200, body[-2000:]  # 500 would mean Formgrader found no course below the root
        assert json.loads(body) == []  # the gradebook's assignments: none yet


def test_instructor_lab_on_the_repository_reaches_solutions_and_grading(tmp_path: Path) -> None:
    """Formgrader needs its course folder at or below the server root; `make instructor` opens the
    repository (solutions/ for Create Assignment) when the grading folder is inside it."""
    assert instructor_root(REPO / "grading") == REPO
    assert instructor_root(tmp_path / "grading") == (tmp_path / "grading").resolve()
    lab, _ = instructor_launch(course=tmp_path / "grading")
    assert lab.argv[2] == f"--ServerApp.root_dir={(tmp_path / 'grading').resolve()}"


def _effective(config_dirs: list[Path]) -> tuple[dict, set[str]]:
    """The server extensions and disabled lab plugins Jupyter computes from these config folders
    (first = highest priority), with the same merging code the server uses."""
    from jupyter_server.extension.config import ExtensionConfigManager
    from jupyter_server.services.config.manager import ConfigManager

    extensions = ExtensionConfigManager(read_config_path=[str(d) for d in config_dirs]).get_jpserver_extensions()
    page = ConfigManager(read_config_path=[str(d / "labconfig") for d in config_dirs]).get("page_config")
    return extensions, {k for k, v in page.get("disabledExtensions", {}).items() if v}


def test_setup_makes_the_environment_a_students_and_instructor_launches_override_it(tmp_path: Path) -> None:
    """`make setup` writes the student defaults into the environment's own config folder, next to
    nbgrader's (which enables everything); a plain `jupyter lab` then has no instructor tools, and
    the instructor role, put first on JUPYTER_CONFIG_PATH, turns them back on."""
    env_dir = tmp_path / "etc" / "jupyter"
    nbgrader_json = Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d" / "nbgrader.json"
    (env_dir / "jupyter_server_config.d").mkdir(parents=True)
    shutil.copyfile(nbgrader_json, env_dir / "jupyter_server_config.d" / "nbgrader.json")
    (env_dir / "labconfig").mkdir()
    (env_dir / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": {"other:plugin": True}}))
    for _ in range(2):  # idempotent
        install_student_defaults(env_dir)
    extensions, disabled = _effective([env_dir])
    assert extensions["nbgrader.server_extensions.formgrader"] is False
    assert extensions["nbgrader.server_extensions.course_list"] is False
    assert extensions["nbgrader.server_extensions.assignment_list"] is True
    assert extensions["nbgrader.server_extensions.validate_assignment"] is True
    assert disabled == INSTRUCTOR_PLUGINS | {"other:plugin"}
    extensions, disabled = _effective([ROLES / "instructor", env_dir])
    assert extensions["nbgrader.server_extensions.formgrader"] is True
    assert disabled == {"other:plugin"}


def test_working_copy_is_copied_once_and_never_overwritten(tmp_path: Path) -> None:
    src, dest = tmp_path / "lessons", tmp_path / "my-lessons"
    shutil.copytree(LESSONS / "01_sensitivity", src / "01_sensitivity")
    first = copy_lessons(src, dest)
    assert first.copied == ["01_sensitivity"] and first.changed == []
    assert "Copied 1 lesson (01_sensitivity)" in describe(first, src)[0]
    mine = dest / "01_sensitivity" / "01_sensitivity.ipynb"
    mine.write_text(mine.read_text().replace("YOUR CODE HERE", "my answer", 1))
    student_work = mine.read_bytes()

    # `git pull` brings a new lesson and a fix to lesson 01
    shutil.copytree(LESSONS / "02_randomized_response", src / "02_randomized_response")
    original = src / "01_sensitivity" / "01_sensitivity.ipynb"
    original.write_text(original.read_text().replace("YOUR CODE HERE", "YOUR CODE HERE (fixed)", 1))
    second = copy_lessons(src, dest)
    assert second.copied == ["02_randomized_response"]
    assert second.changed == ["01_sensitivity/01_sensitivity.ipynb"]
    assert mine.read_bytes() == student_work, "the student's file was overwritten"
    lines = describe(second, src)
    assert len(lines) == 2 and "02_randomized_response" in lines[0] and "01_sensitivity" in lines[1]

    third = copy_lessons(src, dest)
    assert third.copied == [] and third.changed == []  # the change is reported once
    assert len(describe(third, src)) == 1 and "nothing new" in describe(third, src)[0]

    mine.unlink()  # starting a lesson afresh: remove the copy, run make lab again
    assert copy_lessons(src, dest).copied == ["01_sensitivity"]
    assert "(fixed)" in mine.read_text()


def test_working_copy_is_git_ignored() -> None:
    proc = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", "my-lessons/01_sensitivity/x.ipynb"],
                          capture_output=True)
    if proc.returncode == 128:
        pytest.skip("not a git checkout")
    assert proc.returncode == 0, "my-lessons/ must be in .gitignore"
