"""One training loop for the course, private or not, and the one ``accuracy`` (torch; lessons 04-07).

* :func:`fit` — minibatch SGD/Adam on shuffled batches, or, given a DP-SGD ``engine``
  (:class:`helpers.dp_engine.DPSGD`), Poisson-sampled batches and the private step; a progress
  bar, per-epoch history, optional evaluation, early stopping through a callback. Lesson 05's
  ``train_dp``, :func:`train_private`, the benchmarks and federated clients all call it.
* :func:`accuracy`, :func:`predict` — evaluation of a model (or of a batched model such as
  PATE's teachers, :class:`helpers.models.BatchedMLP`).
* :func:`train_private` — one call from numpy arrays or a pandas DataFrame to a (ε, δ)-DP model.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._plain_sgd import PlainSGD
from ._torchutils import LossFn, check_generator
from ._validation import (as_table_arrays, check_delta, check_positive, check_positive_int, check_probability,
                          check_target_epsilon)
from .partitions import HASH_PRIME, key_partition

__all__ = ["History", "fit", "accuracy", "predict", "TrainResult", "train_private"]


# ----------------------------------------------------------------------------- evaluation


def _as_inputs(model: nn.Module, x: Any) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if t.ndim == 0 or t.shape[0] == 0:
        raise ValueError(f"x must be a non-empty batch of examples, got shape {tuple(t.shape)}")
    if t.is_floating_point() or t.dtype == torch.uint8:
        param = next(model.parameters(), None)
        dtype = param.dtype if param is not None else torch.float32
        if t.dtype != dtype:
            t = t.to(dtype)
        if torch.isnan(t).any():
            raise ValueError("x contains NaN")
    return t


def _as_labels(y: Any, n: int | None = None) -> torch.Tensor:
    t = y if isinstance(y, torch.Tensor) else torch.as_tensor(np.asarray(y))
    if t.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {tuple(t.shape)}")
    if n is not None and t.shape[0] != n:
        raise ValueError(f"x and y must have the same number of examples, got {n} and {t.shape[0]}")
    if not t.is_floating_point() and t.dtype != torch.long:
        t = t.long()
    return t


@torch.no_grad()
def predict(model: nn.Module, x: Any, *, batch_size: int = 2048) -> np.ndarray:
    """Predicted classes (arg-max of the outputs), computed in batches with the model in eval mode.

    Parameters
    ----------
    model
        Maps a batch ``(B, ...)`` to logits ``(B, K)``, or — a batched model such as
        :class:`helpers.models.BatchedMLP` — to ``(num_models, B, K)``.
    x
        Inputs (tensor or numpy array; cast to the model's float dtype).
    batch_size
        Examples per forward pass.

    Returns
    -------
    numpy.ndarray
        ``int64`` labels ``(N,)``, or ``(num_models, N)`` for a batched model (rows are models:
        the layout :func:`helpers.pate.vote_counts` expects). The model's train/eval mode is restored.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    xt = _as_inputs(model, x)
    was_training = model.training
    model.eval()
    try:
        out = [model(xt[i: i + batch_size]).argmax(dim=-1) for i in range(0, xt.shape[0], batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out, dim=-1).numpy().astype(np.int64)


def accuracy(model: nn.Module, x: Any, y: Any, *, batch_size: int = 1024) -> Any:
    """Fraction of examples whose predicted class (:func:`predict`) equals the label.

    A float for a model, or one float per model (a numpy array) for a batched model of several.
    This is the course's one ``accuracy`` (lessons 04-07). Test accuracy is a statistic of the
    test data, not covered by any training guarantee.
    """
    labels = _as_labels(y).numpy()
    preds = predict(model, x, batch_size=batch_size)
    if labels.shape[0] != preds.shape[-1]:
        raise ValueError(f"y must have shape ({preds.shape[-1]},), got shape {labels.shape}")
    if preds.ndim == 1:
        return float((preds == labels).mean())
    acc = (preds == labels[None, :]).mean(axis=1)
    return float(acc[0]) if len(acc) == 1 else acc


# ----------------------------------------------------------------------------- fit


@dataclass
class History:
    """What :func:`fit` returns, one entry per epoch run.

    Attributes
    ----------
    epoch
        1, 2, ...
    train_loss
        Mean loss of the epoch's training batches. **Not private**: computed from the training
        examples without noise, even when the model is trained with DP-SGD.
    test_accuracy
        :func:`accuracy` on ``eval_data`` after each epoch (empty without ``eval_data``).
    epsilon
        With an engine and ``delta``: ε spent after each epoch (the engine's accountant).
    steps
        Optimizer steps taken.
    stopped_early
        True if ``callback`` ended training before ``epochs``.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    epsilon: list[float] = field(default_factory=list)
    steps: int = 0
    stopped_early: bool = False


def _optimizer(model: nn.Module, optimizer: Any, lr: float, momentum: float) -> torch.optim.Optimizer:
    if not isinstance(optimizer, str) and callable(getattr(optimizer, "step", None)) and callable(
            getattr(optimizer, "zero_grad", None)):  # a torch.optim.Optimizer, or one of ours (PATE's PerModelAdam)
        return optimizer
    if optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    if optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr)
    raise ValueError(f"optimizer must be 'sgd', 'adam' or a torch.optim.Optimizer, got {optimizer!r}")


def fit(
    model: nn.Module,
    x: Any = None,
    y: Any = None,
    *,
    epochs: int,
    batch_size: int | None = None,
    lr: float,
    optimizer: str | torch.optim.Optimizer = "sgd",
    momentum: float = 0.0,
    engine: Any = None,
    generator: torch.Generator | None = None,
    eval_data: tuple[Any, Any] | None = None,
    progress: bool = True,
    loss_fn: LossFn | None = None,
    steps_per_epoch: int | None = None,
    delta: float | None = None,
    callback: Callable[[int, History], bool | None] | None = None,
    desc: str | None = None,
    batches: Callable[[int], Iterable[tuple[Any, Any]]] | None = None,
) -> History:
    """Train ``model`` on ``(x, y)``: the course's one training loop, non-private or DP-SGD.

    Without ``engine``: every epoch shuffles the examples (``torch.randperm(n, generator=generator)``),
    cuts them into batches of ``batch_size`` and takes one optimizer step per batch on
    ``loss_fn(model(x_b), y_b)``. Not private. With ``batches`` instead of ``x, y`` the caller
    chooses the minibatches (PATE's teachers: one minibatch of every teacher's own shard per step).

    With ``engine`` (a :class:`helpers.dp_engine.DPSGD` on this model): every epoch draws
    ``steps_per_epoch`` Poisson batches at rate ``q = batch_size / n``
    (:func:`helpers.dpsgd.poisson_batches`) and takes one private step on each (clip each
    example's gradient to C, sum, add N(0, σ²C²), divide by ``L = batch_size``). The engine's
    accountant records every step; with ``delta`` the history holds ε after every epoch
    (add/remove-one example of ``(x, y)``). ``batch_size`` is the *expected* batch size: the
    engine's ``sample_rate`` must be ``batch_size / n`` (it is set if the engine has none).

    Parameters
    ----------
    model
        The network; its outputs go to ``loss_fn``.
    x, y
        Training inputs and targets (tensors or numpy arrays; integer labels become ``long``).
    epochs, batch_size, lr
        Epochs, (expected) batch size (required unless ``batches``), learning rate.
    optimizer
        ``"sgd"`` (with ``momentum``), ``"adam"``, or an optimizer over the model's parameters (a
        ``torch.optim.Optimizer``, or any object with ``zero_grad()`` and ``step()``).
        With an engine that already has an optimizer, that one is used.
    engine
        ``None`` (non-private) or a DP-SGD engine whose ``model`` is ``model``.
    generator
        ``torch.Generator`` for the shuffles or the Poisson batches (the engine has its own for
        the noise; pass the same one to both for a single stream).
    eval_data
        ``(x_test, y_test)``: :func:`accuracy` after every epoch, in ``History.test_accuracy``.
    progress
        Show a ``tqdm`` bar over the steps (``desc`` names it).
    loss_fn
        Default ``F.cross_entropy`` (the engine's own ``loss_fn`` with an engine).
    steps_per_epoch
        Private training only: Poisson batches per epoch (default ``ceil(n / batch_size)``).
    delta
        δ at which to record ε after each epoch (private training only).
    batches
        Non-private training only: ``batches(epoch)`` (1-based) yields the epoch's ``(x_b, y_b)``
        pairs, replacing ``x``, ``y``, ``batch_size`` and the shuffle; ``steps_per_epoch`` then only
        sizes the progress bar.
    callback
        ``callback(epoch, history)`` after each epoch (1-based); returning True stops training
        (``history.stopped_early``). Stopping by looking at the model does not change what the
        planned schedule's ε covers; see :func:`train_private`.

    Returns
    -------
    History
        Per-epoch losses (not private), test accuracies, ε.

    Raises
    ------
    ValueError
        Invalid arguments, an engine built on another model, or an engine whose sample rate is
        not ``batch_size / n``.
    """
    from tqdm.auto import tqdm

    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    epochs = check_positive_int(epochs, "epochs")
    if batches is not None:
        if x is not None or y is not None or batch_size is not None or engine is not None:
            raise ValueError("batches replaces x, y and batch_size, and is for non-private training (no engine)")
        if not callable(batches):
            raise ValueError("batches must be a function epoch -> iterable of (x_batch, y_batch)")
    else:
        if x is None or y is None:
            raise ValueError("fit needs the training data x and y (or batches)")
        xt = _as_inputs(model, x)
        yt = _as_labels(y, xt.shape[0])
        n = xt.shape[0]
        if batch_size is None:
            raise ValueError("batch_size is required (the expected batch size with an engine)")
        batch_size = check_positive_int(batch_size, "batch_size")
        if batch_size > n:
            raise ValueError(f"batch_size must be <= the number of training examples ({n}), got {batch_size}")
    lr = check_positive(lr, "lr")
    momentum = check_probability(momentum, "momentum", open_high=True)
    check_generator(generator)
    if delta is not None:
        delta = check_delta(delta)
    if eval_data is not None:
        if not (isinstance(eval_data, (tuple, list)) and len(eval_data) == 2):
            raise ValueError("eval_data must be a pair (x_test, y_test)")
        eval_x = _as_inputs(model, eval_data[0])
        eval_y = _as_labels(eval_data[1], eval_x.shape[0])

    if engine is None:
        if steps_per_epoch is not None and batches is None:
            raise ValueError("steps_per_epoch is for private training (an engine's Poisson batches) or with batches")
        loss_fn = F.cross_entropy if loss_fn is None else loss_fn
        if optimizer == "sgd" and momentum == 0:  # torch.optim.SGD's step, without
            opt = PlainSGD(model.parameters(), lr)  # importing torch._dynamo (2-4 s; see helpers._plain_sgd)
        else:
            opt = _optimizer(model, optimizer, lr, momentum)
        if batches is None:
            per_epoch = math.ceil(n / batch_size)
        else:
            per_epoch = None if steps_per_epoch is None else check_positive_int(steps_per_epoch, "steps_per_epoch")
    else:
        if getattr(engine, "model", None) is not model:
            raise ValueError("engine must be a DP-SGD engine built on this model (engine.model is not model)")
        if loss_fn is not None:
            raise ValueError("with an engine the loss is the engine's loss_fn; do not pass loss_fn")
        q = batch_size / n
        if engine.sample_rate is None:
            engine.sample_rate = q
        elif not math.isclose(engine.sample_rate, q, rel_tol=1e-12):
            raise ValueError(f"the engine's sample_rate {engine.sample_rate} is not batch_size / n = {q}")
        if engine.expected_batch_size is None:
            engine.expected_batch_size = float(batch_size)
        if engine.optimizer is None:
            engine.optimizer = _optimizer(model, optimizer, lr, momentum)
        per_epoch = math.ceil(n / batch_size) if steps_per_epoch is None else check_positive_int(
            steps_per_epoch, "steps_per_epoch")

    history = History()
    total = None if per_epoch is None else epochs * per_epoch
    bar = tqdm(total=total, desc=desc, disable=not progress, leave=False)
    model.train()
    try:
        for epoch in range(1, epochs + 1):
            losses = []
            if engine is None:
                pairs = batches(epoch) if batches is not None else (
                    (xt[idx], yt[idx]) for idx in torch.randperm(n, generator=generator).split(batch_size))
                for xb, yb in pairs:
                    opt.zero_grad()
                    loss = loss_fn(model(xb), yb)
                    loss.backward()
                    opt.step()
                    losses.append(float(loss.detach()))
                    history.steps += 1
                    bar.update(1)
            else:
                # Only private fits need the lesson-05 module.
                from .dpsgd import poisson_batches

                for idx in poisson_batches(n, sample_rate=q, steps=per_epoch, generator=generator):
                    loss = engine.step(xt[idx], yt[idx])
                    if not math.isnan(loss):
                        losses.append(loss)
                    history.steps += 1
                    bar.update(1)
            history.epoch.append(epoch)
            history.train_loss.append(float(np.mean(losses)) if losses else float("nan"))
            postfix = {}
            if engine is not None and delta is not None:
                history.epsilon.append(engine.epsilon(delta=delta))
                postfix["eps"] = f"{history.epsilon[-1]:.2f}"
            if eval_data is not None:
                history.test_accuracy.append(accuracy(model, eval_x, eval_y))
                postfix["test_acc"] = f"{history.test_accuracy[-1]:.3f}"
            if postfix:
                bar.set_postfix(**postfix)
            if callback is not None and callback(epoch, history) and epoch < epochs:
                history.stopped_early = True
                break
        if history.stopped_early:  # a finished bar, not a red one stuck part-way (tqdm's notebook bar marks n < total)
            bar.set_description(f"{desc or 'training'} stopped early after {history.steps} of {total or '?'} steps")
            bar.total = bar.n
            bar.refresh()
    finally:
        bar.close()
    return history


# ----------------------------------------------------------------------------- train_private



#: Resolution of the keyed validation split: a row is held out when its hashed part (of this many) is
#: below ``round(validation_split * VALIDATION_PARTS)``.
VALIDATION_PARTS = 10_000


def row_keys(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """One fixed key per row, from the row's own contents: BLAKE2b of the bytes of ``x[i]`` and ``y[i]``
    (and their dtypes), reduced to ``0 .. 2**31 - 2`` (:data:`helpers.partitions.HASH_PRIME`). Equal rows
    get equal keys; no other row, and no row number, enters the key of row ``i``."""
    x = np.ascontiguousarray(x)
    y = np.ascontiguousarray(y)
    xr, yr = x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1)
    tag = f"{x.dtype.str}{xr.shape[1]}|{y.dtype.str}".encode()
    keys = np.empty(x.shape[0], dtype=np.int64)
    for i in range(x.shape[0]):
        h = hashlib.blake2b(tag, digest_size=8)
        h.update(xr[i].tobytes())
        h.update(yr[i].tobytes())
        keys[i] = int.from_bytes(h.digest(), "little") % HASH_PRIME
    return keys


def keyed_validation_split(x: np.ndarray, y: np.ndarray, *, fraction: float,
                           generator: torch.Generator | None = None) -> np.ndarray:
    """Which rows :func:`train_private` holds out for validation: a boolean mask, one entry per row.

    Row ``i`` is held out iff ``key_partition(row_keys)[i] < round(fraction · VALIDATION_PARTS)``
    (:func:`helpers.partitions.key_partition`, the universal hash PATE's teachers use, with its two
    parameters drawn from ``generator``). Whether a row is held out depends only on that row's contents
    and on the hash parameters, never on the other rows or on the row's position: adding or removing
    one row leaves every other row on its side, so two neighbouring data sets differ by exactly that
    row, in the training part or in the validation part. Over the draw of the hash parameters each
    row is held out with probability ``fraction`` (to 1/VALIDATION_PARTS; distinct rows pairwise nearly
    independently, as a universal hash gives), so the validation part holds about that fraction of the
    rows; its size is not fixed, since a fixed size would tie each row's side to all the others. Equal
    rows share a side.
    """
    fraction = check_probability(fraction, "fraction", open_low=True, open_high=True)
    check_generator(generator)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    part = key_partition(row_keys(x, y), num_parts=VALIDATION_PARTS, rng=np.random.default_rng(seed))
    return part < round(fraction * VALIDATION_PARTS)


@dataclass
class TrainResult:
    """What :func:`train_private` returns.

    Attributes
    ----------
    model
        The trained model (the same object that was passed in).
    epsilon
        **The guarantee**: ε of the full planned schedule (``epochs`` epochs, ≤ target_epsilon),
        with respect to adding or removing one row of the training part, at ``delta``. It holds whatever
        early stopping decided, because stopping is a function of the planned run's iterates and
        of the held-out validation data (post-processing).
    epsilon_of_steps_run
        ε that a *fixed* schedule of ``steps`` steps would spend (RDP accountant). Not a
        guarantee for this run when early stopping chose ``steps`` by looking at the model
        (an adaptively chosen length needs a privacy filter: Feldman & Zrnic 2021); shown only
        to say how much of the budget the stopped run would have used.
    noise_multiplier, sample_rate, steps, delta
        What the accountant used (``steps``: the steps actually run; the planned ones are
        ``planned_steps``).
    planned_steps
        ``epochs × steps per epoch``, the schedule ``epsilon`` accounts for.
    history
        Per epoch: ``{"epoch", "epsilon_of_steps_run", "train_loss_not_private", "val_loss",
        "val_accuracy"}``. **Not private**: ``train_loss_not_private`` is the mean loss of the
        Poisson batches, computed from the training examples without noise (releasing it is
        not covered by ``epsilon``); ``val_loss`` / ``val_accuracy`` are exact statistics of
        the validation examples, which the guarantee does not protect. Choosing among several
        runs by such numbers (or by test accuracy) is not covered by one run's ε either.
    stopped_early
        True if early stopping ended training before ``epochs``.
    validation_rows
        Row numbers (``int64``, sorted) of the input rows held out for validation: the rows the
        guarantee does **not** cover (empty without ``validation_split``).
    """

    model: nn.Module
    epsilon: float
    epsilon_of_steps_run: float
    noise_multiplier: float
    sample_rate: float
    steps: int
    planned_steps: int
    delta: float
    history: list[dict[str, float]] = field(default_factory=list)
    stopped_early: bool = False
    validation_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __iter__(self):  # allows ``model, epsilon = train_private(...)`` (the planned guarantee)
        return iter((self.model, self.epsilon))


def train_private(
    model: nn.Module,
    data: Any,
    target: Any = None,
    *,
    target_epsilon: float,
    delta: float,
    epochs: int,
    batch_size: int,
    max_norm: float = 1.0,
    lr: float = 0.5,
    momentum: float = 0.9,
    loss_fn: LossFn | None = None,
    validation_split: float | None = None,
    early_stopping_patience: int | None = None,
    generator: torch.Generator | None = None,
    method: str = "bookkeeping",
    progress: bool = True,
    framework: str = "torch",
) -> TrainResult:
    """Train ``model`` with DP-SGD to a target (ε, δ) in one call.

    σ is calibrated with :func:`helpers.accounting.noise_multiplier` so that
    ``epochs · ⌈n/L⌉`` Poisson-sampled steps at rate ``q = L/n`` (``L = batch_size``) cost
    ``target_epsilon`` (improved RDP conversion); then :func:`fit` with a :class:`helpers.dp_engine.DPSGD` engine and SGD(lr, momentum).
    **Privacy unit**: one row of the training part. For neighbouring inputs — one row added or
    removed — that the split puts in the training part, the returned model (and ``epsilon``,
    ``steps``, ``stopped_early``) is (``result.epsilon``, δ)-DP (Poisson sampling, add/remove-one
    neighbours, as the accountant assumes). The split is keyed on each row's own contents
    (:func:`keyed_validation_split`), so the neighbour's other rows keep their side and its
    validation part is the same. Like Opacus and TensorFlow Privacy, the size ``n_train`` of the
    training part, from which ``q``, the step count and σ are computed, is treated as public. A
    person with several rows is protected only by group privacy (k rows: about k·ε). Under the
    replace-one relation (change one row) the same run is (2ε, (1 + e^ε)δ)-DP by group privacy,
    since a replacement is one removal and one addition.

    Validation and privacy (our choice, say it when you report results): with
    ``validation_split`` about that fraction of the rows (each row by a keyed hash of its own
    contents; ``result.validation_rows`` lists them) is held out *before* training and never used
    for gradients; after each epoch the model's loss/accuracy on it is computed **without** DP.
    Those numbers, and the epoch early stopping picks from them, are therefore not private with
    respect to the *validation* rows, which have no guarantee — treat them as data you may
    release statistics about (or split off public data). The training rows stay protected: the
    stopping rule is post-processing of the planned run's iterates plus the validation rows, which
    a training row's neighbour shares, so ``result.epsilon`` — the ε of the *planned* schedule
    — is the guarantee, wherever training stopped. ``result.epsilon_of_steps_run`` (what a
    fixed schedule of the steps actually run would spend) is not a guarantee: the length was
    chosen by looking at the model (that would need a privacy filter, Feldman & Zrnic 2021).
    ``history`` (training loss, validation metrics) is not private; see :class:`TrainResult`.

    Parameters
    ----------
    model
        Module mapping a float batch of ``data`` rows to outputs (Linear/Conv2d/Embedding
        layers; see :func:`helpers.dp_engine.check_supported`).
    data
        numpy array (n, ...) or pandas DataFrame (numeric columns).
    target
        Column name (with a DataFrame) or array of n labels (integers: classification with
        cross-entropy; floats: regression with MSE, unless ``loss_fn`` is given).
    target_epsilon, delta
        The budget: ε > 0, δ in (0, 1) (take δ ≪ 1/n).
    epochs, batch_size
        Planned epochs and expected batch size L (sample rate q = L/n_train).
    max_norm, lr, momentum
        Clipping norm C, SGD learning rate and momentum.
    validation_split
        Expected fraction in (0, 1) of rows held out for (non-private) validation, or None:
        :func:`keyed_validation_split` (resolution 1/10,000).
    early_stopping_patience
        Stop when the validation loss has not improved for this many epochs (needs
        ``validation_split``).
    generator
        ``torch.Generator`` for the split's hash parameters, the batches and the noise.
    method
        ``"bookkeeping"`` or ``"ghost"`` (see :class:`helpers.dp_engine.DPSGD`).
    progress
        Show a tqdm progress bar.

    framework
        ``"torch"``, or ``"tensorflow"``: TensorFlow Privacy's DPKerasSGDOptimizer in the appendix's
        environment ``.venv-tf`` (``model`` is then ``"tutorial_cnn"``, ``"mlp"`` or a Keras JSON
        string; returns a :class:`helpers.tensorflow_bridge.TFTrainResult`, weights and ε).

    Returns
    -------
    TrainResult
        Unpacks as ``model, epsilon = train_private(...)`` (``epsilon``: the planned guarantee).

    Raises
    ------
    ValueError
        Invalid arguments (``target_epsilon`` must be finite: ε = ∞ is no privacy, train
        without DP-SGD then), a model the engine does not support, or a batch size larger
        than the training part.

    References
    ----------
    Abadi et al. 2016; Mironov, Talwar & Zhang 2019 (RDP of the subsampled Gaussian).
    """
    if framework != "torch":  # TensorFlow Privacy, through its own environment (appendix A1)
        from .tensorflow_bridge import train_private as tf_train_private
        return tf_train_private(**{k: v for k, v in locals().items() if k != "tf_train_private"})
    from . import accounting
    from .dp_engine import DPSGD

    target_epsilon = check_target_epsilon(target_epsilon)
    delta = check_delta(delta)
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    max_norm = check_positive(max_norm, "max_norm")
    lr = check_positive(lr, "lr")
    momentum = check_probability(momentum, "momentum", open_high=True)
    if validation_split is not None:
        validation_split = check_probability(validation_split, "validation_split", open_low=True, open_high=True)
    if early_stopping_patience is not None:
        early_stopping_patience = check_positive_int(early_stopping_patience, "early_stopping_patience")
        if validation_split is None:
            raise ValueError("early_stopping_patience needs validation_split (early stopping looks at validation loss)")
    check_generator(generator)
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x_np, y_np = as_table_arrays(data, target)

    dtype = next(model.parameters()).dtype
    x_all = torch.tensor(x_np, dtype=dtype)
    classification = y_np.dtype.kind in "biu"
    y_all = torch.tensor(y_np, dtype=torch.long if classification else dtype)
    if loss_fn is None:
        loss_fn = F.cross_entropy if classification else (lambda out, t: F.mse_loss(out.reshape(t.shape), t))

    n = x_all.shape[0]
    held_out = (keyed_validation_split(x_np, y_np, fraction=validation_split, generator=generator)
                if validation_split else np.zeros(n, dtype=bool))
    n_val = int(held_out.sum())
    if validation_split and not (1 <= n_val < n):
        raise ValueError(f"validation_split={validation_split} held out {n_val} of the n={n} rows; "
                         "there must be at least one validation row and one training row")
    val_idx, train_idx = torch.from_numpy(np.flatnonzero(held_out)), torch.from_numpy(np.flatnonzero(~held_out))
    x_tr, y_tr = x_all[train_idx], y_all[train_idx]
    n_tr = x_tr.shape[0]
    if batch_size > n_tr:
        raise ValueError(f"batch_size must be <= the number of training examples ({n_tr}), got {batch_size}")
    q = batch_size / n_tr
    steps_per_epoch = max(1, math.ceil(n_tr / batch_size))
    planned = epochs * steps_per_epoch
    sigma = float(accounting.noise_multiplier(target_epsilon=target_epsilon, delta=delta, sample_rate=q, steps=planned))

    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    dp = DPSGD(model, loss_fn, opt, max_norm=max_norm, noise_multiplier=sigma, sample_rate=q,
               expected_batch_size=batch_size, generator=generator, method=method)
    rows: list[dict[str, float]] = []
    best, waited = math.inf, 0

    def after_epoch(epoch: int, hist: History) -> bool:
        nonlocal best, waited
        row = {"epoch": epoch, "epsilon_of_steps_run": hist.epsilon[-1], "train_loss_not_private": hist.train_loss[-1]}
        if n_val:
            with torch.no_grad():
                model.eval()
                out = model(x_all[val_idx])
                row["val_loss"] = float(loss_fn(out, y_all[val_idx]))
                if classification:
                    row["val_accuracy"] = float((out.argmax(1) == y_all[val_idx]).float().mean())
                model.train()
        rows.append(row)
        if early_stopping_patience is None:
            return False
        if row["val_loss"] < best - 1e-6:
            best, waited = row["val_loss"], 0
            return False
        waited += 1
        return waited >= early_stopping_patience

    hist = fit(model, x_tr, y_tr, epochs=epochs, batch_size=batch_size, lr=lr, engine=dp, generator=generator,
               steps_per_epoch=steps_per_epoch, delta=delta, callback=after_epoch, progress=progress,
               desc=f"DP-SGD (σ={sigma:.2f})")
    model.eval()
    eps_planned = float(accounting.epsilon(noise_multiplier=sigma, sample_rate=q, steps=planned, delta=delta))
    return TrainResult(model=model, epsilon=eps_planned, epsilon_of_steps_run=dp.epsilon(delta=delta),
                       noise_multiplier=sigma, sample_rate=q, steps=dp.steps, planned_steps=planned, delta=delta,
                       history=rows, stopped_early=hist.stopped_early, validation_rows=val_idx.numpy())
