r"""DP-SGD with TensorFlow Privacy from the main environment, through the appendix's own environment.

Introduced in the appendix ``A1_tensorflow_privacy``. TensorFlow Privacy 0.9.0 (its latest release)
needs Python < 3.12, numpy 1.x and TensorFlow <= 2.15 (Keras 2), so it cannot be imported next to the
course's PyTorch stack. ``make tf-env`` builds ``.venv-tf`` for it; this module (numpy and the standard
library only: it never imports TensorFlow) hands a training job to a Python process running there:

1. the data go to a temporary ``.npz`` file, the settings to JSON;
2. ``.venv-tf/bin/python -m helpers._tf_worker job.npz result.npz`` builds the Keras model, trains it
   with ``tensorflow_privacy.DPKerasSGDOptimizer`` (one example per microbatch: per-example clipping
   at norm C, Gaussian noise of standard deviation σ·C on the sum of the clipped gradients), and
   writes the trained weights, the test accuracy and TF Privacy's own ε to ``result.npz``;
3. back here, ε is computed again with :mod:`helpers.accounting` (same RDP curve, same improved
   conversion) and both numbers are returned.

``helpers.train_private(..., framework="tensorflow")`` calls :func:`train_private`.

The guarantee and its assumption (say it when you report the number): ε is the RDP accountant's
bound for ``steps`` Poisson-subsampled Gaussian steps at rate q = L/n, with respect to adding or
removing one training example (Abadi et al. 2016; Mironov, Talwar & Zhang 2019). Keras'
``model.fit`` does **not** sample that way: it shuffles the data once per epoch and cuts it into
fixed batches of L. For shuffled batches this ε is not a proven bound (TF Privacy 0.9.0 deprecates
``compute_dp_sgd_privacy`` for that reason; Chua et al. 2024 show the shuffled ε can be larger). Only
the epochs-without-amplification bound of ``compute_dp_sgd_privacy_statement`` holds for any order.

Cost (measured on the course machines, 2 CPU cores, TF 2.15.1): per-example gradients of the
tutorial CNN through ``DPKerasSGDOptimizer`` (``tape.jacobian`` over 250 microbatches) take ~20-35 s
per step of 250 examples (``VectorizedDPKerasSGDOptimizer``: ~20 s; without the max-pooling layers:
~6 s), so the tutorial's 3 epochs (720 steps) are hours on a laptop CPU. Dense models are fast
(a few ms per step). Plan CPU runs in steps, not epochs.

References
----------
* M. Abadi et al., "Deep Learning with Differential Privacy", CCS 2016.
* I. Mironov, K. Talwar, L. Zhang, "Rényi Differential Privacy of the Sampled Gaussian Mechanism", 2019.
* N. Ponomareva et al., "How to DP-fy ML", JAIR 2023 (arXiv:2303.00654), Sec. 5.3 and 5.6.
* L. Chua et al., "How Private are DP-SGD Implementations?", ICML 2024 (arXiv:2403.17673).
"""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import as_table_arrays, check_delta, check_positive, check_positive_int, check_probability

__all__ = ["TFTrainResult", "TensorFlowEnvironmentMissing", "tf_python", "train_private", "MODELS",
           "dp_optimizer_settings", "dp_sgd_epsilon"]

#: Environment variable naming the Python of the TensorFlow environment (default: ``<repo>/.venv-tf``).
TF_PYTHON_VAR = "COURSE_TF_PYTHON"
#: Keras architectures the worker can build by name (besides a ``model.to_json()`` string).
MODELS = ("tutorial_cnn", "mlp")
_REPO = Path(__file__).resolve().parent.parent


class TensorFlowEnvironmentMissing(RuntimeError):
    """The appendix's environment ``.venv-tf`` (TensorFlow Privacy) is not there."""


def tf_python() -> Path:
    """The Python of the TensorFlow environment: ``$COURSE_TF_PYTHON``, else ``<repo>/.venv-tf/bin/python``.

    Raises
    ------
    TensorFlowEnvironmentMissing
        Neither exists, with what to do about it.
    """
    configured = os.environ.get(TF_PYTHON_VAR)
    path = Path(configured) if configured else _REPO / ".venv-tf" / "bin" / "python"
    if not path.is_file():
        where = f"${TF_PYTHON_VAR}={configured}" if configured else str(path)
        raise TensorFlowEnvironmentMissing(
            f"TensorFlow Privacy runs in its own environment, and its Python was not found ({where}). "
            "Build it with `make tf-env` in the course folder (needs Python 3.11: TensorFlow Privacy 0.9.0 "
            f"does not install on Python >= 3.12), or set {TF_PYTHON_VAR} to the python of an environment "
            "with tensorflow 2.15 and tensorflow-privacy 0.9.0."
        )
    return path


@dataclass
class TFTrainResult:
    """What :func:`train_private` returns (unpacks as ``weights, epsilon = result``).

    Attributes
    ----------
    weights
        The trained Keras model's weights (``model.get_weights()``), numpy arrays.
    epsilon
        ε of the planned schedule from :mod:`helpers.accounting` (improved conversion), with respect
        to adding or removing one training example, at ``delta``, **assuming Poisson sampling** at
        rate ``sample_rate`` (Keras shuffles into fixed batches instead: see the module docstring).
    epsilon_tf_privacy
        The same quantity from TF Privacy's ``compute_dp_sgd_privacy`` (dp-accounting's RDP
        accountant), computed in the TensorFlow environment. Same RDP curve and conversion; the two
        differ only through their grids of orders (TF's: 1.25..4.5 by 0.25-0.5, integers 5..63, 128,
        256, 512; ours: 1.1..10.9 by 0.1, integers 12..63): identical (to ~1e-12) when the best order
        is on both grids, e.g. at the tutorial's settings (0.5632 / 0.9422 for 3 / 15 epochs), else
        both are valid upper bounds and the smaller is the tighter.
    noise_multiplier, sample_rate, steps, delta, n_train
        What the accountant used (``n_train``: examples trained on, a multiple of the batch size).
    test_accuracy
        Accuracy on ``eval_data`` (None without it). Not private with respect to the test set.
    history
        Keras' per-epoch ``loss`` (and ``val_*``): **not private** (exact statistics of the data).
    model_json, tensorflow_version, tensorflow_privacy_version
        To rebuild the model in a TensorFlow environment (``tf.keras.models.model_from_json``).
    """

    weights: list[np.ndarray]
    epsilon: float
    epsilon_tf_privacy: float
    noise_multiplier: float
    sample_rate: float
    steps: int
    delta: float
    n_train: int
    test_accuracy: float | None
    history: dict[str, list[float]] = field(default_factory=dict)
    model_json: str = ""
    tensorflow_version: str = ""
    tensorflow_privacy_version: str = ""

    def __iter__(self):
        return iter((self.weights, self.epsilon))


def dp_optimizer_settings(*, l2_norm_clip: float, noise_multiplier: float, batch_size: int,
                          learning_rate: float) -> dict[str, float | int]:
    r"""Keyword arguments of ``tensorflow_privacy.DPKerasSGDOptimizer`` for per-example DP-SGD.

    Introduced in the appendix ``A1_tensorflow_privacy`` (Exercise 1). ``num_microbatches`` equals the
    batch size, so every microbatch holds one example and each example's gradient is clipped to L2
    norm C = ``l2_norm_clip`` on its own; the optimizer then adds :math:`\mathcal N(0, σ^2C^2 I)` to the
    sum of the clipped gradients, σ = ``noise_multiplier`` (the optimizer multiplies by C itself), and
    divides by the number of microbatches (Abadi et al. 2016, Algorithm 1). With fewer microbatches
    (``num_microbatches=1``: the batch's mean gradient is clipped once) no single example's influence
    is bounded by C relative to the noise the accountant assumes, and TF Privacy's own privacy
    statement doubles the sensitivity (Ponomareva et al. 2023, Sec. 5.6).

    Parameters
    ----------
    l2_norm_clip
        Clipping norm C > 0.
    noise_multiplier
        σ > 0: noise standard deviation divided by C (σ = 0 would add no noise: no privacy).
    batch_size
        Examples per step L (a positive int); also the number of microbatches.
    learning_rate
        SGD learning rate > 0.

    Returns
    -------
    dict
        ``{"l2_norm_clip": C, "noise_multiplier": σ, "num_microbatches": L, "learning_rate": η}``.

    Raises
    ------
    ValueError
        A parameter out of range, or a batch size that is not a positive int.
    """
    if not (isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool) and batch_size >= 1):
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    l2_norm_clip = check_positive(l2_norm_clip, "l2_norm_clip")
    noise_multiplier = check_positive(noise_multiplier, "noise_multiplier")
    learning_rate = check_positive(learning_rate, "learning_rate")
    return {"l2_norm_clip": l2_norm_clip, "noise_multiplier": noise_multiplier,
            "num_microbatches": int(batch_size), "learning_rate": learning_rate}


def dp_sgd_epsilon(*, n: int, batch_size: int, noise_multiplier: float, epochs: float, delta: float) -> float:
    r"""ε of a DP-SGD run as TensorFlow Privacy's ``compute_dp_sgd_privacy`` defines it.

    Introduced in the appendix ``A1_tensorflow_privacy`` (Exercise 2). Sampling rate q = L/n,
    steps T = ⌈epochs·n/L⌉, RDP of T Poisson-subsampled Gaussian steps of noise multiplier σ
    (Mironov, Talwar & Zhang 2019), converted to (ε, δ) with the improved conversion
    (Canonne, Kamath & Steinke 2020, Prop. 12; TF Privacy since commit be8175b, 2020-12-30), through
    :func:`helpers.accounting.epsilon` (its default orders; TF Privacy's coarser grid can give a value
    a little larger, never smaller than the true RDP bound's best order on that grid).

    Guarantee: (ε, δ)-DP with respect to adding or removing one training example, **if** every step's
    batch is a Poisson sample at rate q (each example in independently). Keras' ``model.fit`` shuffles
    into fixed batches instead; for that run this ε is the customary heuristic, not a proof.

    Parameters
    ----------
    n
        Training examples (a positive int).
    batch_size
        Expected batch size L, 1 ≤ L ≤ n (int).
    noise_multiplier
        σ > 0.
    epochs
        Passes over the data, > 0 (may be fractional).
    delta
        δ in (0, 1).

    Returns
    -------
    float
        ε.

    Raises
    ------
    ValueError
        Out-of-range parameters.
    """
    from . import accounting

    n = check_positive_int(n, "n")
    batch_size = check_positive_int(batch_size, "batch_size")
    if batch_size > n:
        raise ValueError(f"batch_size={batch_size} is larger than n={n}")
    noise_multiplier = check_positive(noise_multiplier, "noise_multiplier")
    epochs = check_positive(epochs, "epochs")
    delta = check_delta(delta)
    steps = int(np.ceil(epochs * n / batch_size))
    return float(accounting.epsilon(noise_multiplier=noise_multiplier, sample_rate=batch_size / n,
                                    steps=steps, delta=delta))


def _as_xy(data: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """The course's table rules (:func:`helpers._validation.as_table_arrays`), then Keras' needs."""
    x, y = as_table_arrays(data, target)
    if y.dtype.kind not in "iu":
        raise ValueError(f"target must hold integer class labels, got dtype {y.dtype}")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise ValueError("data contains NaN or infinite values")
    return x, y.astype(np.int64)


def _image_layout(x: np.ndarray, model: str) -> np.ndarray:
    """Keras is channels-last: (n, 1, 28, 28) or (n, 784) become (n, 28, 28, 1) for the CNN."""
    if model == "tutorial_cnn":
        if x[0].size != 784:
            raise ValueError(f"the tutorial CNN takes 28x28 greyscale images, got rows of shape {x.shape[1:]}")
        return x.reshape(len(x), 28, 28, 1)
    return x.reshape(len(x), -1) if model == "mlp" else x


def train_private(
    model: str = "tutorial_cnn",
    data: Any = None,
    target: Any = None,
    *,
    target_epsilon: float | None = None,
    noise_multiplier: float | None = None,
    delta: float,
    epochs: int,
    batch_size: int,
    max_norm: float = 1.0,
    lr: float = 0.25,
    momentum: float = 0.0,
    eval_data: tuple[Any, Any] | None = None,
    seed: int | None = None,
    generator: Any = None,
    timeout: float | None = 3600.0,
    framework: str = "tensorflow",
    **unsupported: Any,
) -> TFTrainResult:
    r"""Train a Keras model with TensorFlow Privacy's DP-SGD, in the ``.venv-tf`` environment.

    ``DPKerasSGDOptimizer(l2_norm_clip=max_norm, noise_multiplier=σ, num_microbatches=batch_size,
    learning_rate=lr, momentum=momentum)``: each step clips every example's gradient to L2 norm
    C = ``max_norm``, sums, adds :math:`\mathcal N(0, σ^2C^2 I)` and divides by the batch size
    (Abadi et al. 2016). Training uses the first ``⌊n/L⌋·L`` rows of a seeded permutation (TF
    Privacy needs full batches), ``epochs`` epochs of ``⌊n/L⌋`` steps.

    Guarantee: with σ either given or calibrated by :func:`helpers.accounting.noise_multiplier` to
    ``target_epsilon``, the returned ``epsilon`` is the RDP bound for Poisson sampling at q = L/n,
    add/remove-one-example neighbours, at ``delta``. Keras shuffles into fixed batches rather than
    Poisson-sampling, so for the run as executed this number is the usual heuristic, not a proof
    (see the module docstring).

    Parameters
    ----------
    model
        ``"tutorial_cnn"`` (TF Privacy's tutorial CNN, 28x28x1 inputs), ``"mlp"`` (Flatten-Dense(128,
        relu)-Dense(classes)), or a Keras ``model.to_json()`` string outputting logits.
    data, target
        numpy array (n, ...) and n integer labels, or a DataFrame and the label column's name.
    target_epsilon, noise_multiplier
        Exactly one: the budget ε (σ is calibrated) or σ itself.
    delta
        δ in (0, 1) (take δ ≪ 1/n).
    epochs, batch_size
        Epochs and batch size L (= the number of microbatches: one example each).
    max_norm, lr, momentum
        Clipping norm C, SGD learning rate and momentum.
    eval_data
        ``(x_test, y_test)`` for a (non-private) test accuracy.
    seed, generator
        Seed for TensorFlow (``tf.keras.utils.set_random_seed``) and the permutation; or a
        ``torch.Generator`` from which one is drawn (as :func:`helpers.dpsgd.train_private` takes).
    timeout
        Seconds before the training process is stopped (None: no limit).

    Returns
    -------
    TFTrainResult

    Raises
    ------
    TensorFlowEnvironmentMissing
        ``.venv-tf`` was not built (``make tf-env``).
    ValueError
        Invalid arguments, or arguments of the PyTorch ``train_private`` this path does not support.
    RuntimeError
        The training process failed (its last lines of output are in the message).
    """
    from . import accounting

    if framework not in ("tensorflow", "tf", "keras"):
        raise ValueError(f"framework must be 'torch' or 'tensorflow', got {framework!r}")
    # Arguments of the PyTorch train_private that mean nothing here: refuse anything set to a non-default.
    # (progress is accepted and ignored: Keras trains silently in the subprocess.)
    unsupported.pop("progress", None)
    defaults = {"loss_fn": None, "validation_split": None, "early_stopping_patience": None, "method": "bookkeeping"}
    bad = {k: v for k, v in unsupported.items() if k not in defaults or v != defaults[k]}
    if bad:
        raise ValueError(f"framework='tensorflow' does not support {sorted(bad)} "
                         "(no custom loss, validation split or early stopping in the Keras path)")
    if (target_epsilon is None) == (noise_multiplier is None):
        raise ValueError("give exactly one of target_epsilon (σ is calibrated) and noise_multiplier")
    delta = check_delta(delta)
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    max_norm = check_positive(max_norm, "max_norm")
    lr = check_positive(lr, "lr")
    momentum = check_probability(momentum, "momentum", open_high=True)
    if not isinstance(model, str) or not (model in MODELS or model.lstrip().startswith("{")):
        raise ValueError(f"model must be one of {MODELS} or a Keras model.to_json() string, got {model!r}"[:300])
    x, y = _as_xy(data, target)
    if batch_size > len(x):
        raise ValueError(f"batch_size={batch_size} is larger than the {len(x)} training examples")
    if generator is not None and seed is None:
        # Only reached with a torch.Generator (main environment). Imported by name: this module is also
        # imported in .venv-tf (the appendix's tests), which has no torch.
        torch = importlib.import_module("torch")
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    if seed is None:
        seed = int(np.random.default_rng().integers(2**31 - 1))

    python = tf_python()  # before any work: a missing .venv-tf is the likeliest error
    n_train = (len(x) // batch_size) * batch_size
    q = batch_size / n_train
    steps = epochs * (n_train // batch_size)
    if noise_multiplier is None:
        sigma = accounting.noise_multiplier(target_epsilon=target_epsilon,
                                            delta=delta, sample_rate=q, steps=steps)
    else:
        sigma = check_positive(noise_multiplier, "noise_multiplier")
    eps = accounting.epsilon(noise_multiplier=sigma, sample_rate=q, steps=steps, delta=delta)

    settings = {"model": model, "epochs": epochs, "batch_size": batch_size, "n_train": n_train,
                "max_norm": max_norm, "noise_multiplier": sigma, "lr": lr, "momentum": momentum,
                "delta": delta, "seed": seed, "num_classes": int(y.max()) + 1}
    with tempfile.TemporaryDirectory(prefix="ppml-tf-") as tmp:
        job, out = Path(tmp) / "job.npz", Path(tmp) / "result.npz"
        arrays = {"x": _image_layout(x, model), "y": y}
        if eval_data is not None:
            xt, yt = _as_xy(*eval_data)
            arrays |= {"x_test": _image_layout(xt, model), "y_test": yt}
            settings["num_classes"] = max(settings["num_classes"], int(yt.max()) + 1)
        np.savez(job, settings=np.array(json.dumps(settings)), **arrays)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(_REPO), os.environ.get("PYTHONPATH", "")]),
                   TF_CPP_MIN_LOG_LEVEL="2")
        try:
            proc = subprocess.run([str(python), "-m", "helpers._tf_worker", str(job), str(out)], cwd=tmp,
                                  env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"TensorFlow training did not finish within {timeout} s") from None
        if proc.returncode != 0 or not out.is_file():
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
            raise RuntimeError(f"TensorFlow training failed in {python} (exit {proc.returncode}):\n{tail}")
        with np.load(out, allow_pickle=False) as res:
            meta = json.loads(str(res["meta"]))
            weights = [res[f"w{i}"] for i in range(meta["n_weights"])]
    return TFTrainResult(
        weights=weights, epsilon=eps, epsilon_tf_privacy=float(meta["epsilon_tf_privacy"]),
        noise_multiplier=sigma, sample_rate=q, steps=steps, delta=delta, n_train=n_train,
        test_accuracy=meta.get("test_accuracy"), history=meta.get("history", {}),
        model_json=meta.get("model_json", ""), tensorflow_version=meta.get("tensorflow", ""),
        tensorflow_privacy_version=meta.get("tensorflow_privacy", ""),
    )

