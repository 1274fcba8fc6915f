"""`make lab` opens a working JupyterLab: the server starts from the course's environment, the
`python3` kernel is the environment's own Python (so `import helpers` works in every lesson), and
nbgrader's student extensions (assignment list, validate) are installed and answer."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from autograder.paths import LESSONS, venv_bin
from autograder.release import nbgrader_env

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:  # 127.0.0.1 only
        return resp.status, resp.read()


def test_jupyterlab_starts_with_course_kernel_and_nbgrader(tmp_path: Path) -> None:
    port, token = _free_port(), "course-test-token"
    env = dict(nbgrader_env(), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))  # the venv's bin first on PATH
    proc = subprocess.Popen(
        [str(venv_bin() / "jupyter"), "lab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--notebook-dir={LESSONS}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                status, _ = _get(f"{base}/api/status", token)
                if status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start")
        _, body = _get(f"{base}/api/kernelspecs", token)
        specs = json.loads(body)["kernelspecs"]
        assert "python3" in specs
        argv0 = specs["python3"]["spec"]["argv"][0]
        assert argv0 in ("python", sys.executable) or Path(argv0).resolve() == Path(sys.executable).resolve()
        status, page = _get(f"{base}/lab", token)
        assert status == 200 and b"@jupyter/nbgrader" in page  # the lab extension is loaded
        status, body = _get(f"{base}/assignments?course_id=ppml-course", token)
        assert status == 200 and json.loads(body)["success"] is True  # assignment-list extension
        _, listing = _get(f"{base}/api/contents", token)
        assert any(item["name"].startswith("01_") for item in json.loads(listing)["content"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
