"""DP-SGD from scratch: per-sample gradients, clipping, Gaussian noise, Poisson batches (lesson 05).

DP-SGD (Abadi et al. 2016, "Deep learning with differential privacy") replaces the
mini-batch gradient by

.. math::

    \\tilde g = \\frac{1}{L}\\Big(\\sum_{i \\in B} \\operatorname{clip}_C(g_i) + \\mathcal N(0, \\sigma^2 C^2 I)\\Big),
    \\qquad \\operatorname{clip}_C(g) = g \\cdot \\min\\big(1, C / \\lVert g \\rVert_2\\big),

where :math:`g_i` is example *i*'s gradient (all parameters flattened together), the batch
*B* is drawn by Poisson sampling with rate *q* and :math:`L = qn` is the *expected* batch
size. Each step is the subsampled Gaussian mechanism with sensitivity *C* and noise
multiplier σ; :mod:`helpers.accounting` turns (σ, q, steps, δ) into ε.

This module is the lesson's readable algorithm, in the order lesson 05 builds it:
:func:`per_sample_gradients_loop` (one backward per example), :func:`per_sample_gradients`
(``torch.func.vmap`` of ``grad``), :func:`clip_gradients`, :func:`add_noise`,
:func:`dp_sgd_step`, :func:`poisson_batches`. Elsewhere:

* the fast engine (ghost clipping / book-keeping, :class:`~helpers.dp_engine.DPSGD`, which owns
  its accountant): :mod:`helpers.dp_engine`;
* the training loop, ``accuracy`` and :func:`~helpers.training.train_private`: :mod:`helpers.training`;
* the Tramèr–Boneh CNN: :mod:`helpers.models`.

Those names are still reachable here (``H.dpsgd.DPSGD``, ``H.dpsgd.train_private``...) for code
written before the split.

Loss convention: ``loss_fn(outputs, targets)`` returns a scalar for a batch whose
value on a batch of one example is that example's loss (``F.cross_entropy`` with its
default mean reduction, ``nn.MSELoss()``, ...).
"""
from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch
import torch._dynamo  # noqa: F401  torch.func imports it on first use (2 s); here, not inside a graded, watched call
from torch import nn

from ._torchutils import LossFn, check_batch, check_generator, check_step_args, trainable
from ._validation import check_nonnegative, check_positive, check_positive_int, check_probability

__all__ = [
    "per_sample_gradients_loop",
    "per_sample_gradients",
    "clip_gradients",
    "add_noise",
    "dp_sgd_step",
    "poisson_batches",
    "load_privacy_utility_runs",
]

# Names that moved to their own module in the split of issue 10, still importable from here.
_MOVED = {
    "DPSGD": "dp_engine",
    "check_supported": "dp_engine",
    "per_sample_grad_norms": "dp_engine",
    "tramer_boneh_cnn": "models",
    "accuracy": "training",
    "TrainResult": "training",
    "train_private": "training",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        return getattr(importlib.import_module(f".{_MOVED[name]}", __package__), name)
    raise AttributeError(f"module 'helpers.dpsgd' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_MOVED))


# ----------------------------------------------------------------------------- validation


def _check_grads(per_sample_grads: Any, name: str = "per_sample_grads") -> dict[str, torch.Tensor]:
    if not isinstance(per_sample_grads, Mapping) or not per_sample_grads:
        raise ValueError(f"{name} must be a non-empty dict name -> tensor of shape (B, *param.shape)")
    sizes = {int(g.shape[0]) for g in per_sample_grads.values() if isinstance(g, torch.Tensor) and g.ndim >= 1}
    if len(sizes) != 1 or not all(isinstance(g, torch.Tensor) and g.ndim >= 1 for g in per_sample_grads.values()):
        raise ValueError(f"{name}: every tensor must have the same leading batch dimension, got sizes {sorted(sizes)}")
    return dict(per_sample_grads)


# ----------------------------------------------------------------------------- per-sample gradients


def per_sample_gradients_loop(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-example gradients by brute force: one forward and backward pass per example.

    .. math:: g_i = \\nabla_\\theta\\, \\ell(f_\\theta(x_i), y_i), \\quad i = 1..B

    The reference the fast versions are checked against; it costs *B* backward passes.

    Parameters
    ----------
    model
        Any ``nn.Module``; only parameters with ``requires_grad`` are differentiated.
    loss_fn
        ``loss_fn(outputs, targets)``; called on batches of one example.
    x, y
        Inputs (B, ...) and targets (B, ...).

    Returns
    -------
    dict[str, torch.Tensor]
        ``name -> tensor of shape (B, *param.shape)``, in ``model.named_parameters()`` order.
        The model's ``.grad`` fields are left untouched.
    """
    x, y = check_batch(x, y)
    params = trainable(model)
    out: dict[str, list[torch.Tensor]] = {n: [] for n in params}
    for i in range(x.shape[0]):
        loss = loss_fn(model(x[i : i + 1]), y[i : i + 1])
        grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
        for (n, p), g in zip(params.items(), grads):
            out[n].append(torch.zeros_like(p) if g is None else g.detach())
    return {n: torch.stack(gs) if gs else params[n].new_zeros((0, *params[n].shape)) for n, gs in out.items()}


def per_sample_gradients(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-example gradients in one vectorized pass with ``torch.func``.

    ``vmap(grad(loss_of_one_example))`` over the batch, where the loss of one example calls
    the model functionally (``torch.func.functional_call``) on a batch of one. Same result as
    :func:`per_sample_gradients_loop` (to float rounding) at a fraction of the cost.

    Parameters and returns as in :func:`per_sample_gradients_loop`. Buffers (e.g. running
    statistics) are passed through unchanged; modules that mix examples (BatchNorm in
    training mode) have no per-example gradient and are not supported.

    References
    ----------
    torch.func tutorial "Per-sample-gradients"; Opacus ``GradSampleModule(..., grad_sample_mode="functorch")``.
    """
    from torch.func import functional_call, grad, vmap

    x, y = check_batch(x, y)
    params = {n: p.detach() for n, p in trainable(model).items()}
    buffers = {n: b.detach() for n, b in model.named_buffers()}
    frozen = {n: p.detach() for n, p in model.named_parameters() if not p.requires_grad}

    def loss_one(p: dict[str, torch.Tensor], xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, (p, frozen, buffers), (xi.unsqueeze(0),))
        return loss_fn(out, yi.unsqueeze(0))

    if x.shape[0] == 0:
        return {n: p.new_zeros((0, *p.shape)) for n, p in params.items()}
    return dict(vmap(grad(loss_one), in_dims=(None, 0, 0))(params, x, y))


# ----------------------------------------------------------------------------- clip, noise, step


def clip_gradients(per_sample_grads: Mapping[str, torch.Tensor], *, max_norm: float) -> dict[str, torch.Tensor]:
    """Clip every example's gradient to L2 norm at most ``max_norm`` (C).

    The norm is *global* per example: ``‖g_i‖ = sqrt(Σ_params ‖g_i[param]‖²)``, and every
    parameter's slice is multiplied by the same factor ``min(1, C / ‖g_i‖)``. After clipping,
    adding or removing one example changes the summed gradient by at most C in L2 norm: the
    sensitivity the Gaussian noise is calibrated to (Abadi et al. 2016, Algorithm 1).

    Parameters
    ----------
    per_sample_grads
        ``name -> tensor (B, *param.shape)`` as returned by :func:`per_sample_gradients`.
    max_norm
        Clipping norm C > 0.

    Returns
    -------
    dict[str, torch.Tensor]
        The clipped per-example gradients, same keys and shapes.
    """
    grads = _check_grads(per_sample_grads)
    max_norm = check_positive(max_norm, "max_norm")
    norms = torch.sqrt(sum((g.reshape(g.shape[0], -1) ** 2).sum(dim=1) for g in grads.values()))
    factor = (max_norm / (norms + 1e-12)).clamp(max=1.0)
    return {n: g * factor.reshape(-1, *([1] * (g.ndim - 1))).to(g.dtype) for n, g in grads.items()}


def add_noise(
    summed: Mapping[str, torch.Tensor] | torch.Tensor,
    *,
    noise_multiplier: float,
    max_norm: float,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor] | torch.Tensor:
    """Add Gaussian noise N(0, σ²C²) to every coordinate of a summed clipped gradient.

    The noise of each parameter is ``torch.randn(g.shape, generator=generator) * σ * C``,
    drawn in the dict's order. With per-example sensitivity C this is the Gaussian mechanism
    with noise multiplier σ = noise_multiplier (Abadi et al. 2016).

    Parameters
    ----------
    summed
        ``name -> tensor`` (the sum of clipped per-example gradients), or a single tensor.
    noise_multiplier
        σ >= 0 (0 adds nothing: useful to test).
    max_norm
        The clipping norm C > 0.
    generator
        ``torch.Generator`` for reproducible noise (``None``: torch's global generator).

    Returns
    -------
    dict[str, torch.Tensor] or torch.Tensor
        New tensors; the input is not modified.
    """
    sigma = check_nonnegative(noise_multiplier, "noise_multiplier")
    c = check_positive(max_norm, "max_norm")
    check_generator(generator)
    if isinstance(summed, torch.Tensor):
        return summed + torch.randn(summed.shape, generator=generator, dtype=summed.dtype) * (sigma * c)
    if not isinstance(summed, Mapping) or not summed:
        raise ValueError("summed must be a tensor or a non-empty dict name -> tensor")
    return {n: g + torch.randn(g.shape, generator=generator, dtype=g.dtype) * (sigma * c) for n, g in summed.items()}


def dp_sgd_step(
    model: nn.Module,
    loss_fn: LossFn,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    optimizer: torch.optim.Optimizer,
    max_norm: float,
    noise_multiplier: float,
    expected_batch_size: float,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """One DP-SGD step (Abadi et al. 2016, Algorithm 1), the readable version.

    .. math::
        \\tilde g = \\frac{1}{L}\\Big(\\sum_i \\operatorname{clip}_C(g_i) + \\mathcal N(0, \\sigma^2C^2 I)\\Big)

    per-sample gradients (:func:`per_sample_gradients`) → :func:`clip_gradients` → sum →
    :func:`add_noise` → divide by the *expected* batch size L (not the realised one: with
    Poisson sampling the batch size itself depends on the data) → write ``p.grad`` →
    ``optimizer.step()``. An empty batch is allowed (the step is pure noise).

    Returns
    -------
    dict[str, torch.Tensor]
        The noisy averaged gradient written to each parameter's ``.grad``.
    """
    max_norm, sigma, batch = check_step_args(max_norm, noise_multiplier, expected_batch_size)
    x, y = check_batch(x, y)
    params = trainable(model)
    if x.shape[0] > 0:
        clipped = clip_gradients(per_sample_gradients(model, loss_fn, x, y), max_norm=max_norm)
        summed = {n: g.sum(dim=0) for n, g in clipped.items()}
    else:
        summed = {n: torch.zeros_like(p) for n, p in params.items()}
    noisy = add_noise(summed, noise_multiplier=sigma, max_norm=max_norm, generator=generator)
    assert isinstance(noisy, dict)
    averaged = {n: g / batch for n, g in noisy.items()}
    for n, p in params.items():
        p.grad = averaged[n].detach().clone().to(p.dtype)
    optimizer.step()
    return averaged


def poisson_batches(
    n: int, *, sample_rate: float, steps: int, generator: torch.Generator | None = None
) -> Iterator[torch.Tensor]:
    """Yield ``steps`` batches of indices, each example included independently with probability q.

    Poisson subsampling is what the privacy amplification theorem of the accountant assumes
    (Mironov, Talwar & Zhang 2019); shuffling into fixed-size batches is *not* covered by it.
    Batch sizes vary (mean qn, variance qn(1-q)) and may be zero.

    Parameters
    ----------
    n
        Number of examples.
    sample_rate
        q in (0, 1].
    steps
        Number of batches.
    generator
        ``torch.Generator`` for reproducibility.
    """
    n = check_positive_int(n, "n")
    q = check_probability(sample_rate, "sample_rate", open_low=True)
    steps = check_positive_int(steps, "steps")
    for _ in range(steps):
        yield torch.nonzero(torch.rand(n, generator=generator) < q).flatten()


# ----------------------------------------------------------------------------- stored runs


def load_privacy_utility_runs() -> dict[str, Any]:
    """Lesson 05's stored privacy–utility runs (``helpers/data/dpsgd_tradeoffs.npz``).

    Produced by ``benchmarks/dpsgd_tradeoffs.py`` with the lesson's own ``train_dp`` /
    ``train_non_private`` on Fashion-MNIST (first 10,000 training and 2,000 test images),
    three seeds per setting: test accuracies of DP-SGD over ε (δ = 1e-5, add/remove one image;
    ``eps_sigma`` the calibrated noise multipliers, ε = ∞ meaning clipping without noise), of
    the knobs at ε = 3 (``knob``, ``knob_label``, ``knob_max_norm``, ``knob_batch_size``,
    ``knob_activation``, ``knob_sigma``, ``knob_sample_rate``, ``knob_steps``), and of the
    non-private reference. Scalars are returned as Python values, arrays as numpy arrays (a new
    dict each call, so a notebook may overwrite entries). The test accuracies were used to
    compare settings, not to select a model for release (which would not be private).
    """
    from pathlib import Path

    path = Path(__file__).resolve().parent / "data" / "dpsgd_tradeoffs.npz"
    with np.load(path) as stored:
        return {k: (stored[k].item() if stored[k].ndim == 0 else stored[k].copy()) for k in stored.files}
