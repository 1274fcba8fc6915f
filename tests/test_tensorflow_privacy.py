"""TensorFlow Privacy through its own environment (.venv-tf, `make tf-env`): the bridge of
helpers.tensorflow_bridge, and the cross-framework ε check (helpers.accounting vs TF Privacy's
compute_dp_sgd_privacy vs dp-accounting, all in .venv-tf).

The tests that need .venv-tf SKIP, saying why, where it was not built or cannot be (it needs
Python 3.11: TensorFlow Privacy 0.9.0 declares Requires-Python < 3.12). The others always run.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import helpers as H
from helpers import accounting, tensorflow_bridge

try:
    TF_PYTHON = tensorflow_bridge.tf_python()
    TF_MISSING = ""
except tensorflow_bridge.TensorFlowEnvironmentMissing as exc:
    TF_PYTHON, TF_MISSING = None, str(exc)

needs_tf = pytest.mark.skipif(
    TF_PYTHON is None or sys.version_info[:2] != (3, 11),
    reason=("TensorFlow Privacy tests skipped: "
            + (f"Python {sys.version.split()[0]}, and TF Privacy 0.9.0 needs 3.11 (Requires-Python < 3.12)"
               if sys.version_info[:2] != (3, 11) else f".venv-tf not built (run `make tf-env`): {TF_MISSING}")),
)


def _run_tf(code: str, timeout: float = 300) -> dict:
    """Run ``code`` in .venv-tf; it must print one JSON line last."""
    proc = subprocess.run([str(TF_PYTHON), "-c", code], capture_output=True, text=True, timeout=timeout,
                          env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin",
                               "PYTHONPATH": str(tensorflow_bridge._REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ always run (no TensorFlow needed)


def test_missing_environment_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tensorflow_bridge.TF_PYTHON_VAR, "/nonexistent/.venv-tf/bin/python")
    x, y = np.zeros((20, 4), np.float32), np.arange(20) % 2
    with pytest.raises(tensorflow_bridge.TensorFlowEnvironmentMissing, match="make tf-env"):
        H.train_private("mlp", x, y, target_epsilon=1.0, delta=1e-5, epochs=1, batch_size=10,
                        framework="tensorflow")


@pytest.mark.parametrize("kwargs, match", [
    ({"validation_split": 0.1}, "does not support"),
    ({"noise_multiplier": 1.0}, "exactly one"),        # both target_epsilon and noise_multiplier
    ({"batch_size": 50}, "larger than"),
    ({"model": "resnet"}, "model must be"),
    ({"framework": "jax"}, "framework"),
])
def test_bad_arguments_raise_value_error(kwargs: dict, match: str) -> None:
    args = dict(model="mlp", data=np.zeros((20, 4), np.float32), target=np.arange(20) % 2,
                target_epsilon=1.0, delta=1e-5, epochs=1, batch_size=10, framework="tensorflow")
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        tensorflow_bridge.train_private(**args)


def test_tutorial_epsilons_and_their_history() -> None:
    """The numbers the appendix explains. Same run (n = 60,000, L = 250, σ = 1.3, δ = 1e-5, Poisson
    sampling, RDP): the tutorial printed ε = 1.18 for 15 epochs (tensorflow/privacy commit 41910b1,
    2019, Mironov 2017's conversion); TF Privacy changed to the improved conversion in commit be8175b
    (2020-12-30, Canonne-Kamath-Steinke 2020 Prop. 12 / Balle et al. 2020 Thm. 21): 0.942 today."""
    q = 250 / 60000
    for epochs, classic, improved in ((3, 0.7904, 0.5632), (15, 1.1799, 0.9422)):
        steps = epochs * 240
        assert accounting.epsilon(noise_multiplier=1.3, sample_rate=q, steps=steps, delta=1e-5,
                                  conversion="classic") == pytest.approx(classic, abs=1e-4)
        assert accounting.epsilon(noise_multiplier=1.3, sample_rate=q, steps=steps,
                                  delta=1e-5) == pytest.approx(improved, abs=1e-4)


# ------------------------------------------------------------------ through .venv-tf

_TF_GRID = [1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0, 3.5, 4.0, 4.5] + list(range(5, 64)) + [128, 256, 512]


@needs_tf
def test_epsilon_identical_to_tf_privacy_and_dp_accounting() -> None:
    """compute_dp_sgd_privacy (TF Privacy 0.9.0) and dp-accounting's RdpAccountant (0.4.3, the
    version TF Privacy pins) against helpers.accounting: identical at the tutorial's settings with
    our default orders, and over random settings on each library's own grid of orders."""
    rng = np.random.default_rng(14)
    settings = [(60000, 250, 1.3, 3, 1e-5), (60000, 250, 1.3, 15, 1e-5)]
    for _ in range(8):
        n = int(rng.integers(1000, 100000))
        settings.append((n, int(rng.integers(16, n // 10)), float(rng.uniform(0.6, 3.0)),
                         int(rng.integers(1, 60)), float(10 ** rng.uniform(-8, -4))))
    code = f"""
import json, math, dp_accounting
from tensorflow_privacy.privacy.analysis.compute_dp_sgd_privacy_lib import compute_dp_sgd_privacy
from helpers.accounting import DEFAULT_ORDERS
out = []
for n, b, s, e, d in {settings!r}:
    tf_eps = compute_dp_sgd_privacy(n=n, batch_size=b, noise_multiplier=s, epochs=e, delta=d)[0]
    acc = dp_accounting.rdp.RdpAccountant(list(DEFAULT_ORDERS))
    ev = dp_accounting.PoissonSampledDpEvent(b / n, dp_accounting.GaussianDpEvent(s))
    acc.compose(dp_accounting.SelfComposedDpEvent(ev, int(math.ceil(e * n / b))))
    out.append([tf_eps, acc.get_epsilon(d)])
print(json.dumps(out))
"""
    results = _run_tf(code)
    for (n, b, s, e, d), (tf_eps, dpa_eps) in zip(settings, results):
        steps = int(np.ceil(e * n / b))
        ours_default = accounting.epsilon(noise_multiplier=s, sample_rate=b / n, steps=steps, delta=d)
        ours_tf_grid = accounting.epsilon(noise_multiplier=s, sample_rate=b / n, steps=steps, delta=d,
                                          orders=_TF_GRID)
        assert ours_tf_grid == pytest.approx(tf_eps, rel=1e-7), (n, b, s, e, d)
        assert ours_default == pytest.approx(dpa_eps, rel=1e-7), (n, b, s, e, d)
    assert results[0][0] == pytest.approx(0.5632, abs=1e-4) and results[1][0] == pytest.approx(0.9422, abs=1e-4)


@needs_tf
def test_helpers_import_under_the_tf_pins() -> None:
    """The appendix's autograded tests run in the ppml-tf kernel: helpers and its checks must import
    with numpy 1.x, scipy 1.11 and pandas 2.1."""
    got = _run_tf("import json, numpy, helpers, helpers.checks, helpers.accounting, helpers.data;"
                  "print(json.dumps([numpy.__version__, helpers.checks.check_close.__name__]))")
    assert got[0].startswith("1.") and got[1] == "check_close"


@needs_tf
@pytest.mark.slow
def test_train_private_tensorflow_returns_weights_and_epsilon() -> None:
    """A tiny Keras MLP trained through the bridge (a few steps): weights come back, ε is the
    accountant's, and TF Privacy's own ε agrees on its grid of orders."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 20)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    res = H.train_private("mlp", x, y, target_epsilon=3.0, delta=1e-5, epochs=2, batch_size=100,
                          max_norm=1.0, lr=0.5, momentum=0.0, framework="tensorflow", progress=False)
    weights, eps = res
    assert [w.shape for w in weights] == [(20, 128), (128,), (128, 2), (2,)]
    assert res.steps == 6 and res.sample_rate == pytest.approx(1 / 3)
    assert eps <= 3.0 and eps == pytest.approx(
        accounting.epsilon(noise_multiplier=res.noise_multiplier, sample_rate=1 / 3, steps=6, delta=1e-5))
    assert res.epsilon_tf_privacy == pytest.approx(accounting.epsilon(
        noise_multiplier=res.noise_multiplier, sample_rate=1 / 3, steps=6, delta=1e-5, orders=_TF_GRID), rel=1e-7)
    assert res.test_accuracy is None and res.tensorflow_version.startswith("2.15")
    assert res.history["loss"] and len(res.history["loss"]) == 2  # Keras' (non-private) training loss


@needs_tf
@pytest.mark.slow
def test_appendix_notebook_runs_in_quick_mode(tmp_path) -> None:
    """The appendix's source notebook, top to bottom, in the TF environment (quick mode, offline), through
    a kernel spec of its own pointing at COURSE_TF_PYTHON (so no registered kernel is needed), the
    solutions in place: every cell runs and every test cell passes."""
    import os

    import nbformat
    from nbclient import NotebookClient

    from autograder.paths import SOLUTIONS

    spec = tmp_path / "jupyter" / "kernels" / "ppml-tf"
    spec.mkdir(parents=True)
    env = {"COURSE_QUICK": "1", "COURSE_OFFLINE": "1", "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": str(tensorflow_bridge._REPO), "OPENBLAS_NUM_THREADS": "1"}
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(TF_PYTHON), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ppml-tf, test)", "language": "python", "env": env}))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(tmp_path / "jupyter") + (os.pathsep + old if old else "")
    try:
        nb = nbformat.read(str(SOLUTIONS / "A1_tensorflow_privacy" / "A1_tensorflow_privacy.ipynb"), as_version=4)
        NotebookClient(nb, kernel_name="ppml-tf", timeout=300, startup_timeout=120,
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        if old is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = old
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "compute_dp_sgd_privacy (TF Privacy): ε =" in text and "0.5632" in text, text[-2000:]
