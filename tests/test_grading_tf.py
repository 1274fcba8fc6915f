"""The appendix A1 graded through the real pipeline (`grade_class`: a sandbox per submission, nbgrader
scoring) with the Python of its own kernel, "ppml-tf" ([tool.course.kernels]): the perfect student gets
every autograded point, the blank notebook zero, a mixed one exactly its share — and an answer that
imports TensorFlow Privacy inside its function earns its points, which it can only do when the grader
runs .venv-tf's interpreter, not the course's.

Skips, saying why, where .venv-tf is not built (`make tf-env`; CI builds it, see .ci/run). The kernel
spec is written for the test (JUPYTER_PATH), pointing at COURSE_TF_PYTHON or <repo>/.venv-tf.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import scenarios as S
from autograder import sandbox
from autograder.grade import _gradebook, grade_class
from helpers import tensorflow_bridge

LESSON = "A1_tensorflow_privacy"
try:
    TF_PYTHON, TF_MISSING = tensorflow_bridge.tf_python(), ""
except tensorflow_bridge.TensorFlowEnvironmentMissing as exc:
    TF_PYTHON, TF_MISSING = None, str(exc)

needs_tf = pytest.mark.skipif(
    TF_PYTHON is None, reason=f"appendix A1 grading skipped: .venv-tf not built (run `make tf-env`): {TF_MISSING}")

USES_TF_PRIVACY = '''
def dp_optimizer_settings(*, l2_norm_clip, noise_multiplier, batch_size, learning_rate):
    """Right, and importing TensorFlow Privacy: works only in the ppml-tf kernel."""
    import tensorflow_privacy  # noqa: F401
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError("batch_size must be a positive int")
    if not l2_norm_clip > 0 or not noise_multiplier > 0 or not learning_rate > 0:
        raise ValueError("l2_norm_clip, noise_multiplier and learning_rate must be > 0")
    return {"l2_norm_clip": l2_norm_clip, "noise_multiplier": noise_multiplier,
            "num_microbatches": batch_size, "learning_rate": learning_rate}
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grade-A1")
    spec = tmp / "jupyter" / "kernels" / "ppml-tf"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(TF_PYTHON), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ppml-tf)", "language": "python"}))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(tmp / "jupyter") + (os.pathsep + old if old else "")
    try:
        subs = tmp / "submissions"
        S.write(S.perfect(LESSON), subs, "perfect", LESSON)
        S.write(S.load_released(LESSON), subs, "blank", LESSON)
        # Exercise 1 wrong (one microbatch per batch) with its test cell deleted (restored: 0 of 2 points),
        # exercise 2 right (3 points).
        mixed, fair = S.perfect(LESSON), 3.0
        S.cell(mixed, "dp-optimizer-settings").source = USES_TF_PRIVACY.replace(
            '"num_microbatches": batch_size', '"num_microbatches": 1').strip("\n")
        mixed.cells = [c for c in mixed.cells
                       if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != "dp-optimizer-settings-tests"]
        S.write(mixed, subs, "mixed", LESSON)
        tf_answer = S.perfect(LESSON)
        S.cell(tf_answer, "dp-optimizer-settings").source = USES_TF_PRIVACY.strip("\n")
        S.write(tf_answer, subs, "tfprivacy", LESSON)
        report = grade_class(subs, out=tmp / "grading", lessons=[LESSON], timeout=120,
                             unsafe_no_sandbox=not sandbox.available()[0])
    finally:
        if old is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = old
    return tmp / "grading", report, fair


def _submission(out: Path, student: str) -> dict:
    with _gradebook(out) as gb:
        s = gb.find_submission(LESSON, student)
        return {"code_score": s.code_score, "max_code_score": s.max_code_score, "score": s.score,
                "grades": {g.name: (g.score, g.max_score) for nb in s.notebooks for g in nb.grades}}


@needs_tf
@pytest.mark.slow
def test_grading_runs_in_the_ppml_tf_kernel(graded) -> None:
    out, report, fair = graded
    assert report.ok, report.errors
    assert {r.student: r.status for r in report.results} == {s: "graded" for s in ("perfect", "blank", "mixed", "tfprivacy")}
    perfect = _submission(out, "perfect")
    assert perfect["max_code_score"] == 5 and perfect["code_score"] == 5, perfect["grades"]
    assert _submission(out, "blank")["score"] == 0
    assert _submission(out, "mixed")["code_score"] == pytest.approx(fair), _submission(out, "mixed")["grades"]
    # Only .venv-tf has tensorflow_privacy: full marks here prove the grader ran the ppml-tf kernel's Python.
    tf_sub = _submission(out, "tfprivacy")
    assert tf_sub["code_score"] == 5, tf_sub["grades"]


def test_missing_kernel_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    with pytest.raises(sandbox.SandboxUnavailable, match="make tf-env"):
        sandbox.kernel_python("ppml-tf-that-does-not-exist")
