"""DP-SGD: per-sample gradients, clipping, Gaussian noise, and a fast private optimizer (lesson 05).

DP-SGD (Abadi et al. 2016, "Deep learning with differential privacy") replaces the
mini-batch gradient by

.. math::

    \\tilde g = \\frac{1}{L}\\Big(\\sum_{i \\in B} \\operatorname{clip}_C(g_i) + \\mathcal N(0, \\sigma^2 C^2 I)\\Big),
    \\qquad \\operatorname{clip}_C(g) = g \\cdot \\min\\big(1, C / \\lVert g \\rVert_2\\big),

where :math:`g_i` is example *i*'s gradient (all parameters flattened together), the batch
*B* is drawn by Poisson sampling with rate *q* and :math:`L = qn` is the *expected* batch
size. Each step is the subsampled Gaussian mechanism with sensitivity *C* and noise
multiplier σ; :mod:`helpers.accounting` turns (σ, q, steps, δ) into ε.

This module gives the pieces in the order lesson 05 builds them:

* :func:`per_sample_gradients_loop` (one backward per example) and
  :func:`per_sample_gradients` (``torch.func.vmap`` of ``grad``);
* :func:`clip_gradients`, :func:`add_noise`, :func:`dp_sgd_step`, :func:`poisson_batches`;
* :func:`per_sample_grad_norms` and :class:`DPSGD`: clipping *without materialising
  per-sample gradients* (ghost clipping, Li et al. 2021; book-keeping, Bu et al. 2023);
* :func:`train_private`: one call from numpy arrays or a pandas DataFrame to a private model.

Loss convention: ``loss_fn(outputs, targets)`` returns a scalar for a batch whose
value on a batch of one example is that example's loss (``F.cross_entropy`` with its
default mean reduction, ``nn.MSELoss()``, ...).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch._dynamo  # noqa: F401  torch.func imports it on first use (2 s); here, not inside a graded, watched call
import torch.nn.functional as F
from torch import nn

from ._validation import check_delta, check_nonnegative, check_positive, check_positive_int, check_probability

__all__ = [
    "per_sample_gradients_loop",
    "per_sample_gradients",
    "clip_gradients",
    "add_noise",
    "dp_sgd_step",
    "poisson_batches",
    "per_sample_grad_norms",
    "check_supported",
    "DPSGD",
    "TrainResult",
    "train_private",
    "accuracy",
    "tramer_boneh_cnn",
    "load_privacy_utility_runs",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# ----------------------------------------------------------------------------- validation


def _check_batch(x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise ValueError(f"x and y must be torch tensors, got {type(x).__name__} and {type(y).__name__}")
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"x and y need a batch dimension, got shapes {tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same number of examples, got {x.shape[0]} and {y.shape[0]}")
    if x.is_floating_point() and torch.isnan(x).any():
        raise ValueError("x contains NaN")
    return x, y


def _check_grads(per_sample_grads: Any, name: str = "per_sample_grads") -> dict[str, torch.Tensor]:
    if not isinstance(per_sample_grads, Mapping) or not per_sample_grads:
        raise ValueError(f"{name} must be a non-empty dict name -> tensor of shape (B, *param.shape)")
    sizes = {int(g.shape[0]) for g in per_sample_grads.values() if isinstance(g, torch.Tensor) and g.ndim >= 1}
    if len(sizes) != 1 or not all(isinstance(g, torch.Tensor) and g.ndim >= 1 for g in per_sample_grads.values()):
        raise ValueError(f"{name}: every tensor must have the same leading batch dimension, got sizes {sorted(sizes)}")
    return dict(per_sample_grads)


def _trainable(model: nn.Module) -> dict[str, nn.Parameter]:
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ValueError("model has no trainable parameters")
    return params


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
    x, y = _check_batch(x, y)
    params = _trainable(model)
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

    x, y = _check_batch(x, y)
    params = {n: p.detach() for n, p in _trainable(model).items()}
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
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if isinstance(summed, torch.Tensor):
        return summed + torch.randn(summed.shape, generator=generator, dtype=summed.dtype) * (sigma * c)
    if not isinstance(summed, Mapping) or not summed:
        raise ValueError("summed must be a tensor or a non-empty dict name -> tensor")
    return {n: g + torch.randn(g.shape, generator=generator, dtype=g.dtype) * (sigma * c) for n, g in summed.items()}


def _check_step_args(max_norm: float, noise_multiplier: float, expected_batch_size: float) -> tuple[float, float, float]:
    return (
        check_positive(max_norm, "max_norm"),
        check_nonnegative(noise_multiplier, "noise_multiplier"),
        check_positive(expected_batch_size, "expected_batch_size"),
    )


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
    max_norm, sigma, batch = _check_step_args(max_norm, noise_multiplier, expected_batch_size)
    x, y = _check_batch(x, y)
    params = _trainable(model)
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


# ----------------------------------------------------------------------------- ghost clipping / book-keeping

_SUPPORTED = (nn.Linear, nn.Conv2d, nn.Embedding, nn.GroupNorm, nn.LayerNorm)
_SUPPORTED_NAMES = "Linear, Conv2d, Embedding, GroupNorm and LayerNorm"


def _supported_base(module: nn.Module) -> type | None:
    """The supported layer type ``module`` is, if it runs that type's own ``forward`` (not a subclass's)."""
    for base in _SUPPORTED:
        if isinstance(module, base):
            return base if type(module).forward is base.forward else None
    return None


def check_supported(model: nn.Module) -> list[nn.Module]:
    """Return the layers whose per-sample gradient norms :class:`DPSGD` computes; raise if one is unsupported.

    Supported: ``nn.Linear``, ``nn.Conv2d`` (groups=1, numeric padding, zero padding mode),
    ``nn.Embedding`` (dense), ``nn.GroupNorm`` and ``nn.LayerNorm`` (they normalise each
    example on its own statistics; ``opacus.validators.ModuleValidator.fix`` puts GroupNorm
    where BatchNorm was), plus any parameter-free module (activations, pooling, flatten,
    dropout, containers). Every trainable parameter must belong to exactly one supported
    layer: ``ValueError`` for a layer that mixes the examples of a batch (BatchNorm), a
    trainable parameter in any other module (or in a subclass of a supported layer with its
    own ``forward``), and a parameter shared by two layers (weight tying). Whether each
    parameter is then *used* exactly once, inside its layer's call, is checked at every step
    (:class:`DPSGD`); :func:`dp_sgd_step` (``torch.func``) handles all of these cases.
    """
    layers = []
    owner: dict[int, str] = {}
    for name, module in model.named_modules():
        label = name or type(model).__name__
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            raise ValueError(
                f"layer {label!r} ({type(module).__name__}) mixes the examples of a batch, so per-example "
                "gradients and DP-SGD are not defined for it. Replace it with GroupNorm, e.g. "
                "`model = opacus.validators.ModuleValidator.fix(model)` (GroupNorm is supported), or remove it."
            )
        own = [(pname, p) for pname, p in module.named_parameters(recurse=False) if p.requires_grad]
        if not own:
            continue
        base = _supported_base(module)
        if base is None:
            why = (f"is a subclass of {next(b.__name__ for b in _SUPPORTED if isinstance(module, b))} with its own "
                   "forward" if isinstance(module, _SUPPORTED) else "is not a layer type the fast engine knows")
            raise ValueError(
                f"layer {label!r} ({type(module).__name__}) has trainable parameters "
                f"{[n for n, _ in own]} but {why}: DPSGD computes per-example gradient norms only for "
                f"{_SUPPORTED_NAMES}. Use dp_sgd_step (torch.func per-sample gradients) for this model, "
                "or freeze the layer (requires_grad_(False))."
            )
        if base is nn.Conv2d and (module.groups != 1 or isinstance(module.padding, str) or module.padding_mode != "zeros"):
            raise ValueError(f"layer {label!r}: Conv2d with groups != 1, string padding or padding_mode != 'zeros' is not "
                             "supported by DPSGD; use dp_sgd_step for this model")
        if base is nn.Embedding and (module.sparse or module.scale_grad_by_freq or module.max_norm is not None):
            raise ValueError(f"layer {label!r}: Embedding with sparse, scale_grad_by_freq or max_norm is not supported "
                             "by DPSGD; use dp_sgd_step for this model")
        for pname, p in own:
            if id(p) in owner:
                raise ValueError(
                    f"parameter {label}.{pname} is the same tensor as {owner[id(p)]} (weight tying): one example's "
                    "gradient then has a part from each layer, and DPSGD's per-layer norms would not add up to the "
                    "example's norm. Use dp_sgd_step (torch.func per-sample gradients), which handles shared "
                    "parameters, or untie them."
                )
            owner[id(p)] = f"{label}.{pname}"
        layers.append(module)
    if not layers:
        raise ValueError(f"model has no trainable {_SUPPORTED_NAMES.replace(' and ', ' or ')} layer")
    return layers


class _Recorder:
    """Hooks on the supported layers for one forward pass.

    Records each layer's input and output, and shows each call its trainable parameters
    through a fresh alias (``p.view_as(p)``, restored when the call returns), so that the
    autograd graph tells a use *inside* the layer's call (through the alias) from any other
    use of the same parameter (see :meth:`check_coverage`).
    """

    def __init__(self, layers: list[nn.Module]):
        self.layers = layers
        self.records: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}
        self.aliases: dict[Any, tuple[nn.Module, str]] = {}  # alias's grad_fn -> (layer, parameter name)
        self._swapped: list[tuple[nn.Module, str, nn.Parameter]] = []
        self.handles = [m.register_forward_pre_hook(self._pre) for m in layers]
        self.handles += [m.register_forward_hook(self._hook) for m in layers]

    def _pre(self, module: nn.Module, inputs: tuple[Any, ...]) -> None:
        if module in self.records or any(m is module for m, _, _ in self._swapped):
            raise ValueError(
                f"{type(module).__name__} layer was called twice in one forward pass (shared weights): its "
                "parameters would get two contributions per example, which DPSGD's per-layer norms do not "
                "combine. Use dp_sgd_step (torch.func per-sample gradients) for this model."
            )
        for pname, p in list(module._parameters.items()):
            if p is not None and p.requires_grad:
                alias = p.view_as(p)
                module._parameters[pname] = alias
                self._swapped.append((module, pname, p))
                self.aliases[alias.grad_fn] = (module, pname)

    def _restore(self, module: nn.Module | None = None) -> None:
        keep = []
        for m, pname, p in self._swapped:
            if module is None or m is module:
                m._parameters[pname] = p
            else:
                keep.append((m, pname, p))
        self._swapped = keep

    def _hook(self, module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        self._restore(module)
        self.records[module] = (inputs[0].detach(), output)

    def remove(self) -> None:
        self._restore()
        for h in self.handles:
            h.remove()

    def check_coverage(self, loss: torch.Tensor, params: Mapping[str, torch.Tensor], model: nn.Module) -> None:
        """Raise ``ValueError`` unless every trainable parameter that ``loss`` depends on does so only
        through one call of its layer (walks the autograd graph from ``loss``)."""
        names = {id(p): n for n, p in params.items()}
        users: dict[int, list[Any]] = {}
        seen: set[Any] = set()
        stack = [loss.grad_fn]
        while stack:
            node = stack.pop()
            if node is None or node in seen:
                continue
            seen.add(node)
            for nxt, _ in node.next_functions:
                if nxt is None:
                    continue
                var = getattr(nxt, "variable", None)  # AccumulateGrad: a leaf tensor
                if var is not None:
                    if id(var) in names:
                        users.setdefault(id(var), []).append(node)
                    continue
                stack.append(nxt)
        labels = {m: n or type(model).__name__ for n, m in model.named_modules()}
        for pid in names:  # in named_parameters() order, so the first offender named is predictable
            nodes = users.get(pid, [])
            outside = [n for n in nodes if n not in self.aliases]
            if outside:
                raise ValueError(
                    f"parameter {names[pid]!r} is used outside a call of its layer (e.g. F.linear(x, layer.weight), "
                    "layer.forward(x), or the tensor used again elsewhere): DPSGD computes each example's gradient "
                    "norm from the layer calls it sees, so this use would escape the clipping and the noise would "
                    "no longer cover one example's contribution. Call the layer itself (layer(x)), or use "
                    "dp_sgd_step (torch.func per-sample gradients) for this model."
                )
            if len(nodes) > 1:
                where = ", ".join(sorted({labels.get(self.aliases[n][0], "?") for n in nodes}))
                raise ValueError(
                    f"parameter {names[pid]!r} is used by {len(nodes)} layer calls ({where}): DPSGD needs each "
                    "trainable parameter in exactly one layer call per forward pass. Use dp_sgd_step (torch.func "
                    "per-sample gradients) for this model."
                )


def _unfold(a: torch.Tensor, module: nn.Conv2d) -> torch.Tensor:
    """im2col: (B, C, H, W) -> (B, T, C·kh·kw) patches, ``F.unfold`` transposed (its CPU kernel is ~3x slower)."""
    if tuple(module.dilation) != (1, 1):
        return F.unfold(a, module.kernel_size, dilation=module.dilation, padding=module.padding,
                        stride=module.stride).transpose(1, 2)
    (kh, kw), (sh, sw), (ph, pw) = module.kernel_size, module.stride, module.padding
    if ph or pw:
        a = F.pad(a, (pw, pw, ph, ph))
    v = a.unfold(2, kh, sh).unfold(3, kw, sw)  # (B, C, Ho, Wo, kh, kw), a view
    B, C, Ho, Wo = v.shape[:4]
    return v.permute(0, 2, 3, 1, 4, 5).reshape(B, Ho * Wo, C * kh * kw)


def _conv_per_sample(a: torch.Tensor, g: torch.Tensor, module: nn.Conv2d) -> torch.Tensor:
    """Per-example Conv2d weight gradients (B, out, in·kh·kw) by a grouped convolution (dilation 1 only).

    ``grad[b, o, c, i, j] = Σ_{h,w} g[b, o, h, w] · x_pad[b, c, s·h + i, s·w + j]``: the input
    of example b, channel c, convolved with the output-gradient of b as kernel, dilated by the stride.
    """
    B, C, H, W = a.shape
    O, Ho, Wo = g.shape[1], g.shape[2], g.shape[3]
    (kh, kw), (sh, sw), (ph, pw) = module.kernel_size, module.stride, module.padding
    w = g.unsqueeze(1).expand(B, C, O, Ho, Wo).reshape(B * C * O, 1, Ho, Wo)
    out = F.conv2d(a.reshape(1, B * C, H, W), w, padding=(ph, pw), dilation=(sh, sw), groups=B * C)
    out = out[..., :kh, :kw]
    return out.reshape(B, C, O, kh, kw).transpose(1, 2).reshape(B, O, C * kh * kw)


def _layer_terms(module: nn.Module, a: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, Callable[[torch.Tensor], dict[str, torch.Tensor]]]:
    """Squared per-sample gradient norms of one layer and a function c -> Σ_i c_i g_i (clipped sum).

    ``a`` is the layer's input, ``g`` the gradient of Σ_i ℓ_i with respect to its output.
    """
    B = a.shape[0]
    weight_trains = module.weight.requires_grad
    bias = getattr(module, "bias", None)
    bias_trains = bias is not None and bias.requires_grad
    if isinstance(module, nn.Embedding):
        idx = a.reshape(B, -1)
        gg = g.reshape(B, idx.shape[1], -1)
        if module.padding_idx is not None:
            gg = gg * (idx != module.padding_idx).unsqueeze(-1).to(gg.dtype)
        same = (idx.unsqueeze(2) == idx.unsqueeze(1)).to(gg.dtype)  # (B, T, T)
        sq = torch.einsum("bts,bts->b", same, gg @ gg.transpose(1, 2))

        def emb_sum(c: torch.Tensor) -> dict[str, torch.Tensor]:
            out = torch.zeros_like(module.weight)
            out.index_add_(0, idx.reshape(-1), (gg * c.reshape(B, 1, 1)).reshape(-1, gg.shape[-1]))
            return {"weight": out}

        return sq, emb_sum
    if isinstance(module, (nn.GroupNorm, nn.LayerNorm)):
        return _norm_layer_terms(module, a, g)
    per_sample = None
    A = None  # layer input as (B, T, d): T positions (tokens / conv patches) of d features
    if isinstance(module, nn.Conv2d) and weight_trains and module.in_channels <= 3 and tuple(module.dilation) == (1, 1):
        # few input channels (a first layer): per-example weight gradients as one grouped convolution
        # of each example's input with its own output-gradient (Rochette et al. 2019), no im2col
        per_sample = _conv_per_sample(a, g, module)  # (B, p, d)
        G = g.reshape(B, g.shape[1], -1)  # (B, p, T)
        p, d, T = per_sample.shape[1], per_sample.shape[2], G.shape[2]
    else:
        if isinstance(module, nn.Conv2d):
            A = _unfold(a, module)  # (B, T, d)
            G = g.reshape(B, g.shape[1], -1)  # (B, p, T)
        else:  # Linear: input (B, ..., d), output gradient (B, ..., p)
            A = a.reshape(B, -1, a.shape[-1])
            G = g.reshape(B, -1, g.shape[-1]).transpose(1, 2)
        T, d, p = A.shape[1], A.shape[2], G.shape[1]
    sq = G.new_zeros(B)
    if weight_trains:
        if per_sample is not None:
            sq = sq + (per_sample.reshape(B, -1) ** 2).sum(1)
        elif T == 1:
            sq = sq + (A.reshape(B, d) ** 2).sum(1) * (G.reshape(B, p) ** 2).sum(1)
        elif T * T * (p + d) < p * d * T:  # ghost norm: Σ_{t,s} (a_t·a_s)(g_t·g_s)   (Li et al. 2021)
            sq = sq + torch.einsum("bts,bts->b", A @ A.transpose(1, 2), G.transpose(1, 2) @ G)
        else:  # materialise: cheaper when T is large compared to p·d/(p+d)
            per_sample = torch.bmm(G, A)  # (B, p, d)
            sq = sq + (per_sample.reshape(B, -1) ** 2).sum(1)
    gb = G.sum(2) if bias_trains else None
    if gb is not None:
        sq = sq + (gb**2).sum(1)

    def lin_sum(c: torch.Tensor) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        if weight_trains:
            if per_sample is not None:
                w = (c @ per_sample.reshape(B, -1)).reshape(p, d)
            else:  # Σ_{b,t} c_b g_bt a_bt^T as one matrix product over the B·T rows
                assert A is not None
                w = (G * c.reshape(B, 1, 1)).transpose(1, 2).reshape(B * T, p).t() @ A.reshape(B * T, d)
            out["weight"] = w.reshape(module.weight.shape)
        if gb is not None:
            out["bias"] = c @ gb
        return out

    return sq, lin_sum


def _norm_layer_terms(module: nn.Module, a: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, Callable[[torch.Tensor], dict[str, torch.Tensor]]]:
    """GroupNorm / LayerNorm: y = x̂·γ + β with x̂ normalised within each example, so example b's
    gradients are ∂γ = Σ_positions g_b·x̂_b and ∂β = Σ_positions g_b (per channel / per element)."""
    B = a.shape[0]
    if isinstance(module, nn.GroupNorm):
        xhat = F.group_norm(a, module.num_groups, eps=module.eps)
        # (B, C, *) -> per example and channel, summed over the spatial positions
        gw = (g * xhat).reshape(B, a.shape[1], -1).sum(2)
        gb = g.reshape(B, a.shape[1], -1).sum(2)
    else:
        shape = tuple(module.normalized_shape)
        xhat = F.layer_norm(a, shape, eps=module.eps)
        k = int(np.prod(shape))
        gw = (g * xhat).reshape(B, -1, k).sum(1)  # (B, *normalized_shape) flattened, summed over positions
        gb = g.reshape(B, -1, k).sum(1)
    weight = module.weight if isinstance(module.weight, torch.Tensor) else None
    bias = getattr(module, "bias", None)
    w_trains = weight is not None and weight.requires_grad
    b_trains = isinstance(bias, torch.Tensor) and bias.requires_grad
    sq = gw.new_zeros(B)
    if w_trains:
        sq = sq + (gw**2).sum(1)
    if b_trains:
        sq = sq + (gb**2).sum(1)

    def norm_sum(c: torch.Tensor) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        if w_trains:
            out["weight"] = (c @ gw).reshape(module.weight.shape)
        if b_trains:
            out["bias"] = (c @ gb).reshape(module.bias.shape)
        return out

    return sq, norm_sum


def per_sample_grad_norms(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example gradient L2 norms (all parameters together) without materialising per-example gradients.

    For a Linear layer with input a_i and output gradient b_i of example *i* (one token),
    ``‖∇W ℓ_i‖ = ‖a_i‖·‖b_i‖``; for a sequence or a Conv2d (unfolded into patches,
    T positions), ``‖∇W ℓ_i‖² = Σ_{t,s} (a_it·a_is)(b_it·b_is)`` — the "ghost norm" of
    Goodfellow (2015) and Li et al. (2021) — or the per-example gradient when that is
    cheaper (Bu et al. 2023). One forward and one backward (w.r.t. layer outputs only).

    Returns
    -------
    torch.Tensor
        Shape (B,): ``‖g_i‖₂`` as in :func:`clip_gradients`.
    """
    x, y = _check_batch(x, y)
    norms, _, _ = _ghost_pass(model, loss_fn, x, y)
    return norms


def _per_example_losses(loss_fn: LossFn, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.vmap(lambda o, t: loss_fn(o.unsqueeze(0), t.unsqueeze(0)))(out, y)


def _ghost_pass(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor, retain_graph: bool = False):
    layers = check_supported(model)
    rec = _Recorder(layers)
    try:
        out = model(x)
    finally:
        rec.remove()
    losses = _per_example_losses(loss_fn, out, y)
    rec.check_coverage(losses, _trainable(model), model)
    used = [m for m in layers if m in rec.records and rec.records[m][1].requires_grad]
    outputs = [rec.records[m][1] for m in used]
    grads = torch.autograd.grad(losses.sum(), outputs, retain_graph=retain_graph, allow_unused=True)
    sq = x.new_zeros(x.shape[0], dtype=losses.dtype)
    summers = []
    for m, go in zip(used, grads):
        if go is None:
            continue
        s, fn = _layer_terms(m, rec.records[m][0], go.detach())
        sq = sq + s
        summers.append((m, fn))
    return torch.sqrt(sq), summers, losses


class DPSGD:
    """DP-SGD with fast clipping, an explicit generator, and a step counter for the accountant.

    Each :meth:`step` does one DP-SGD update with the clipped sum computed without
    per-example gradients:

    * ``method="bookkeeping"`` (default; Bu et al. 2023, "Differentially private
      optimization on large model at small cost"): one forward, one backward to the layer
      outputs only, per-example norms from the layer inputs and output-gradients, and the
      clipped sum ``Σ_i c_i g_i`` assembled from the same quantities — no second backward;
    * ``method="ghost"`` (Li et al. 2021, "Large language models can be strong
      differentially private learners"): the same norms, then one weighted backward of
      ``Σ_i c_i ℓ_i`` with ``c_i = min(1, C/‖g_i‖)`` detached, which gives the clipped sum.

    Both equal :func:`clip_gradients` of the materialised per-example gradients exactly
    (to float rounding). Then ``N(0, σ²C²)`` noise, division by the expected batch size
    ``L``, and ``optimizer.step()``. The guarantee per step is that of the Poisson-subsampled
    Gaussian mechanism when batches come from :func:`poisson_batches` with rate ``L/n``
    (add/remove-one example).

    The per-example norms are exact only if every trainable parameter enters the forward pass
    through exactly one call of its supported layer. The engine never assumes it: it raises
    ``ValueError`` at construction for an unsupported layer, BatchNorm or weight tying
    (:func:`check_supported`), and at every step if the autograd graph shows a parameter used
    outside its layer's call (``F.linear(x, layer.weight)``, ``layer.forward(x)``, a second
    use) or a layer called twice — a parameter the norms missed would let one example move
    the clipped sum by more than C. :func:`dp_sgd_step` handles such models.

    Parameters
    ----------
    model, loss_fn, optimizer
        The model (Linear/Conv2d/Embedding + parameter-free layers), ``loss_fn(outputs, targets)``
        and any torch optimizer over the model's parameters.
    max_norm, noise_multiplier, expected_batch_size
        C > 0, σ >= 0, L > 0.
    generator
        ``torch.Generator`` for the noise (and for :meth:`batches`).
    method
        ``"bookkeeping"`` or ``"ghost"``.

    Attributes
    ----------
    steps : int
        Number of steps taken (what the accountant needs with σ and q).
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        optimizer: torch.optim.Optimizer,
        *,
        max_norm: float,
        noise_multiplier: float,
        expected_batch_size: float,
        generator: torch.Generator | None = None,
        method: str = "bookkeeping",
    ):
        self.max_norm, self.noise_multiplier, self.expected_batch_size = _check_step_args(
            max_norm, noise_multiplier, expected_batch_size
        )
        if method not in ("bookkeeping", "ghost"):
            raise ValueError(f"method must be 'bookkeeping' or 'ghost', got {method!r}")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        check_supported(model)
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.generator = generator
        self.method = method
        self.steps = 0

    def clipped_sum(self, x: torch.Tensor, y: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Return (``name -> Σ_i clip_C(g_i)``, per-example losses) for the batch, without noise."""
        params = _trainable(self.model)
        if x.shape[0] == 0:
            return {n: torch.zeros_like(p) for n, p in params.items()}, x.new_zeros(0)
        norms, summers, losses = _ghost_pass(self.model, self.loss_fn, x, y, retain_graph=self.method == "ghost")
        c = (self.max_norm / (norms + 1e-12)).clamp(max=1.0).detach()
        if self.method == "ghost":
            grads = torch.autograd.grad((losses * c).sum(), list(params.values()), allow_unused=True)
            out = {n: torch.zeros_like(p) if g is None else g for (n, p), g in zip(params.items(), grads)}
            return out, losses.detach()
        by_id = {id(p): n for n, p in params.items()}
        out = {n: torch.zeros_like(p) for n, p in params.items()}
        for module, fn in summers:
            for pname, g in fn(c).items():
                out[by_id[id(getattr(module, pname))]] = g
        return out, losses.detach()

    def step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """One private update on the batch (x, y); returns the batch's mean (non-private) loss."""
        x, y = _check_batch(x, y)
        summed, losses = self.clipped_sum(x, y)
        noisy = add_noise(summed, noise_multiplier=self.noise_multiplier, max_norm=self.max_norm, generator=self.generator)
        assert isinstance(noisy, dict)
        for n, p in _trainable(self.model).items():
            p.grad = (noisy[n] / self.expected_batch_size).to(p.dtype)
        self.optimizer.step()
        self.steps += 1
        return float(losses.mean()) if losses.numel() else float("nan")

    def epsilon(self, *, delta: float, sample_rate: float, conversion: str = "improved") -> float:
        """ε spent so far by :attr:`steps` steps at sampling rate q (via :func:`helpers.accounting.epsilon`)."""
        from . import accounting

        if self.steps == 0:
            return 0.0
        return float(accounting.epsilon(noise_multiplier=self.noise_multiplier, sample_rate=sample_rate,
                                        steps=self.steps, delta=delta, conversion=conversion))


# ----------------------------------------------------------------------------- models and evaluation


def tramer_boneh_cnn(*, activation: str = "tanh", in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    """The end-to-end CNN of Tramèr & Boneh (2021), "Differentially private learning needs better features".

    Conv 16@8×8 stride 2 pad 2 → act → MaxPool 2 stride 1 → Conv 32@4×4 stride 2 → act →
    MaxPool 2 stride 1 → Flatten → Linear 512→32 → act → Linear 32→10, for 28×28 images
    (26,010 parameters). ``activation``: ``"tanh"`` (their choice, after Papernot et al.
    2021's tempered sigmoids) or ``"relu"``.
    """
    acts = {"tanh": nn.Tanh, "relu": nn.ReLU}
    if activation not in acts:
        raise ValueError(f"activation must be 'tanh' or 'relu', got {activation!r}")
    act = acts[activation]
    return nn.Sequential(
        nn.Conv2d(check_positive_int(in_channels, "in_channels"), 16, 8, stride=2, padding=2), act(),
        nn.MaxPool2d(2, 1),
        nn.Conv2d(16, 32, 4, stride=2), act(),
        nn.MaxPool2d(2, 1),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 32), act(),
        nn.Linear(32, check_positive_int(num_classes, "num_classes")),
    )


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 1024) -> float:
    """Fraction of examples whose arg-max prediction equals the label (model put in eval mode and restored)."""
    x, y = _check_batch(x, y)
    if x.shape[0] == 0:
        raise ValueError("x must not be empty")
    was_training = model.training
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], check_positive_int(batch_size, "batch_size")):
        correct += int((model(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum())
    model.train(was_training)
    return correct / x.shape[0]


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


# ----------------------------------------------------------------------------- train_private


@dataclass
class TrainResult:
    """What :func:`train_private` returns.

    Attributes
    ----------
    model
        The trained model (the same object that was passed in).
    epsilon
        **The guarantee**: ε of the full planned schedule (``epochs`` epochs, ≤ target_epsilon),
        with respect to adding or removing one training example, at ``delta``. It holds whatever
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

    def __iter__(self):  # allows ``model, epsilon = train_private(...)`` (the planned guarantee)
        return iter((self.model, self.epsilon))


def _as_arrays(data: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    if pd is not None and isinstance(data, pd.DataFrame):
        if isinstance(target, str):
            if target not in data.columns:
                raise ValueError(f"target column {target!r} is not in the DataFrame (columns: {list(data.columns)})")
            y = data[target].to_numpy()
            data = data.drop(columns=[target])
        elif target is None:
            raise ValueError("target must be a column name or an array of labels")
        else:
            y = np.asarray(target)
        non_numeric = [c for c in data.columns if not pd.api.types.is_numeric_dtype(data[c])]
        if non_numeric:
            raise ValueError(f"data columns {non_numeric} are not numeric; encode them first (e.g. pd.get_dummies)")
        x = data.to_numpy(dtype=np.float32)
    else:
        if target is None or isinstance(target, str):
            raise ValueError("target must be an array of labels when data is an array")
        x = np.asarray(data)
        y = np.asarray(target)
    if x.ndim < 2:
        raise ValueError(f"data must have shape (n, features...), got {x.shape}")
    if y.ndim != 1:
        raise ValueError(f"target must be one-dimensional, got shape {y.shape}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"data and target must have the same length, got {x.shape[0]} and {y.shape[0]}")
    if x.shape[0] < 2:
        raise ValueError(f"data must hold at least 2 examples, got {x.shape[0]}")
    if x.dtype.kind not in "biuf" or y.dtype.kind not in "biuf":
        raise ValueError("data and target must be numeric")
    if np.isnan(x.astype(float)).any():
        raise ValueError("data contains NaN (missing values); drop or impute them first")
    if np.isnan(y.astype(float)).any():
        raise ValueError("target contains NaN")
    return x, y


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
    ``target_epsilon`` (improved RDP conversion); then :class:`DPSGD` with SGD(lr, momentum).
    The privacy unit is one *training example* (one row): the returned model is
    (``result.epsilon``, δ)-DP with respect to adding or removing one row of the training
    part (Poisson sampling, add/remove-one neighbours, as the accountant assumes). A person
    with several rows is protected only by group privacy (k rows: about k·ε). Under the
    replace-one relation (change one row) the same run is (2ε, (1 + e^ε)δ)-DP by group
    privacy, since a replacement is one removal and one addition.

    Validation and privacy (our choice, say it when you report results): with
    ``validation_split`` a random fraction is held out *before* training and never used for
    gradients; after each epoch the model's loss/accuracy on it is computed **without**
    DP. Those numbers, and the epoch early stopping picks from them, are therefore not
    private with respect to the *validation* examples — treat the validation set as data
    you may release statistics about (or split off public data). The training examples
    stay protected: the stopping rule is post-processing of the planned run's iterates plus
    the independent validation data, so ``result.epsilon`` — the ε of the *planned* schedule
    — is the guarantee, wherever training stopped. ``result.epsilon_of_steps_run`` (what a
    fixed schedule of the steps actually run would spend) is not a guarantee: the length was
    chosen by looking at the model (that would need a privacy filter, Feldman & Zrnic 2021).
    ``history`` (training loss, validation metrics) is not private; see :class:`TrainResult`.

    Parameters
    ----------
    model
        Module mapping a float batch of ``data`` rows to outputs (Linear/Conv2d/Embedding
        layers; see :func:`check_supported`).
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
        Fraction in (0, 1) held out for (non-private) validation, or None.
    early_stopping_patience
        Stop when the validation loss has not improved for this many epochs (needs
        ``validation_split``).
    generator
        ``torch.Generator`` for the split, the batches and the noise.
    method
        ``"bookkeeping"`` or ``"ghost"`` (see :class:`DPSGD`).
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
        without DP-SGD then), a model :class:`DPSGD` does not support, or a batch size larger
        than the training part.

    References
    ----------
    Abadi et al. 2016; Mironov, Talwar & Zhang 2019 (RDP of the subsampled Gaussian).
    """
    if framework != "torch":  # TensorFlow Privacy, through its own environment (appendix A1)
        from .tensorflow_bridge import train_private as tf_train_private
        return tf_train_private(**{k: v for k, v in locals().items() if k != "tf_train_private"})
    from tqdm.auto import tqdm

    from . import accounting

    target_epsilon = accounting._check_target_epsilon(target_epsilon)
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
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x_np, y_np = _as_arrays(data, target)

    dtype = next(model.parameters()).dtype
    x_all = torch.tensor(x_np, dtype=dtype)
    classification = y_np.dtype.kind in "biu"
    y_all = torch.tensor(y_np, dtype=torch.long if classification else dtype)
    if loss_fn is None:
        loss_fn = F.cross_entropy if classification else (lambda out, t: F.mse_loss(out.reshape(t.shape), t))

    n = x_all.shape[0]
    perm = torch.randperm(n, generator=generator)
    n_val = int(round(validation_split * n)) if validation_split else 0
    if validation_split and not (1 <= n_val < n):
        raise ValueError(f"validation_split={validation_split} leaves no validation or no training data for n={n}")
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    x_tr, y_tr = x_all[train_idx], y_all[train_idx]
    n_tr = x_tr.shape[0]
    if batch_size > n_tr:
        raise ValueError(f"batch_size must be <= the number of training examples ({n_tr}), got {batch_size}")
    q = batch_size / n_tr
    steps_per_epoch = max(1, math.ceil(n_tr / batch_size))
    planned = epochs * steps_per_epoch
    sigma = float(accounting.noise_multiplier(target_epsilon=target_epsilon, delta=delta, sample_rate=q, steps=planned))

    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    dp = DPSGD(model, loss_fn, opt, max_norm=max_norm, noise_multiplier=sigma, expected_batch_size=batch_size,
               generator=generator, method=method)
    history: list[dict[str, float]] = []
    best, waited, stopped = math.inf, 0, False
    bar = tqdm(total=planned, desc=f"DP-SGD (σ={sigma:.2f})", disable=not progress, leave=False)
    model.train()
    for epoch in range(epochs):
        losses = []
        for idx in poisson_batches(n_tr, sample_rate=q, steps=steps_per_epoch, generator=generator):
            loss = dp.step(x_tr[idx], y_tr[idx])
            if not math.isnan(loss):
                losses.append(loss)
            bar.update(1)
        eps_now = dp.epsilon(delta=delta, sample_rate=q)
        row = {"epoch": epoch + 1, "epsilon_of_steps_run": eps_now,
               "train_loss_not_private": float(np.mean(losses)) if losses else float("nan")}
        if n_val:
            with torch.no_grad():
                model.eval()
                out = model(x_all[val_idx])
                row["val_loss"] = float(loss_fn(out, y_all[val_idx]))
                if classification:
                    row["val_accuracy"] = float((out.argmax(1) == y_all[val_idx]).float().mean())
                model.train()
        history.append(row)
        bar.set_postfix(eps=f"{eps_now:.2f}", **({"val_loss": f"{row['val_loss']:.3f}"} if n_val else {}))
        if early_stopping_patience is not None:
            if row["val_loss"] < best - 1e-6:
                best, waited = row["val_loss"], 0
            else:
                waited += 1
                if waited >= early_stopping_patience and epoch + 1 < epochs:
                    stopped = True
                    break
    if stopped:  # a finished bar, not a red one stuck part-way (tqdm's notebook bar marks n < total as an error)
        bar.set_description(f"DP-SGD (σ={sigma:.2f}) stopped early after {dp.steps} of {planned} steps")
        bar.total = bar.n
        bar.refresh()
    bar.close()
    model.eval()
    eps_planned = float(accounting.epsilon(noise_multiplier=sigma, sample_rate=q, steps=planned, delta=delta))
    return TrainResult(model=model, epsilon=eps_planned, epsilon_of_steps_run=dp.epsilon(delta=delta, sample_rate=q),
                       noise_multiplier=sigma, sample_rate=q, steps=dp.steps, planned_steps=planned, delta=delta,
                       history=history, stopped_early=stopped)
