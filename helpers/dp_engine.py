"""The fast DP-SGD engine: clipping without per-example gradients, and its own accountant (lessons 05-06).

:class:`DPSGD` computes the same update as lesson 05's from-scratch :func:`helpers.dpsgd.dp_sgd_step`
(clip every example's gradient to norm C, sum, add ``N(0, σ²C²)``, divide by the expected batch
size L) at little more than the cost of a non-private step:

* per-example gradient *norms* from each layer's inputs and output-gradients — the "ghost norm"
  of Goodfellow (2015) and Li et al. (2021), or the per-example gradient where that is cheaper
  (Bu et al. 2023) — in one forward and one backward to the layer outputs
  (:func:`per_sample_grad_norms`);
* the clipped sum ``Σ_i c_i g_i`` assembled from the same quantities (book-keeping, Bu et al.
  2023) or by one weighted backward (ghost clipping, Li et al. 2021).

The engine owns its accountant: give the sampling rate q once (``sample_rate=``), every step
is recorded in an :class:`helpers.accounting.RDPAccountant` at the current (σ, q), and
``engine.epsilon(delta=...)`` is the ε of the steps taken (add/remove-one example, Poisson
sampling). q may change between steps (DP-FedAvg with changing participation): set
``engine.sample_rate``. :func:`helpers.training.fit` runs the loop.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import accounting
from ._torchutils import LossFn, check_batch, check_generator, check_step_args, trainable
from ._validation import check_positive, check_probability
from .dpsgd import add_noise

__all__ = ["DPSGD", "check_supported", "per_sample_grad_norms"]

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
    x, y = check_batch(x, y)
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
    rec.check_coverage(losses, trainable(model), model)
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
    """DP-SGD with fast clipping, an explicit generator, and its own RDP accountant.

    Each :meth:`step` does one DP-SGD update with the clipped sum computed without
    per-example gradients:

    * ``method="bookkeeping"`` (default; Bu et al. 2023, "Differentially private
      optimization on large model at small cost"): one forward, one backward to the layer
      outputs only, per-example norms from the layer inputs and output-gradients, and the
      clipped sum ``Σ_i c_i g_i`` assembled from the same quantities — no second backward;
    * ``method="ghost"`` (Li et al. 2021, "Large language models can be strong
      differentially private learners"): the same norms, then one weighted backward of
      ``Σ_i c_i ℓ_i`` with ``c_i = min(1, C/‖g_i‖)`` detached, which gives the clipped sum.

    Both equal :func:`helpers.dpsgd.clip_gradients` of the materialised per-example gradients
    exactly (to float rounding). Then ``N(0, σ²C²)`` noise, division by the expected batch size
    ``L``, and ``optimizer.step()``. The guarantee per step is that of the Poisson-subsampled
    Gaussian mechanism when batches come from :func:`helpers.dpsgd.poisson_batches` with rate
    ``q = L/n`` (add/remove-one example); :meth:`epsilon` composes the steps taken (RDP,
    Mironov, Talwar & Zhang 2019).

    The per-example norms are exact only if every trainable parameter enters the forward pass
    through exactly one call of its supported layer. The engine never assumes it: it raises
    ``ValueError`` at construction for an unsupported layer, BatchNorm or weight tying
    (:func:`check_supported`), and at every step if the autograd graph shows a parameter used
    outside its layer's call (``F.linear(x, layer.weight)``, ``layer.forward(x)``, a second
    use) or a layer called twice — a parameter the norms missed would let one example move
    the clipped sum by more than C. :func:`helpers.dpsgd.dp_sgd_step` handles such models.

    Parameters
    ----------
    model
        The model (Linear/Conv2d/Embedding/GroupNorm/LayerNorm + parameter-free layers).
    loss_fn
        ``loss_fn(outputs, targets)`` (default ``F.cross_entropy``).
    optimizer
        Any torch optimizer over the model's parameters; ``None`` when :func:`helpers.training.fit`
        makes one (``lr=``, ``momentum=``), or when only :meth:`noisy_gradient` is used.
    max_norm, noise_multiplier
        Clipping norm C > 0 and noise multiplier σ >= 0 (noise std σ·C).
    sample_rate
        Poisson sampling rate q in (0, 1], given once: the accountant records every step at the
        current ``engine.sample_rate``. ``None``: steps are only counted, and :meth:`epsilon`
        needs ``sample_rate=`` (one q for all steps).
    expected_batch_size
        L > 0, the divisor of the noisy sum (``q·n``). ``None``: :func:`helpers.training.fit` sets it.
    generator
        ``torch.Generator`` for the noise.
    method
        ``"bookkeeping"`` or ``"ghost"``.
    orders
        Rényi orders of the accountant (default :data:`helpers.accounting.DEFAULT_ORDERS`).

    Attributes
    ----------
    steps : int
        Number of noisy gradients released so far.
    accountant : helpers.accounting.RDPAccountant
        The (σ, q, steps) history of the steps taken at a known sampling rate.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn | None = None,
        optimizer: torch.optim.Optimizer | None = None,
        *,
        max_norm: float,
        noise_multiplier: float,
        sample_rate: float | None = None,
        expected_batch_size: float | None = None,
        generator: torch.Generator | None = None,
        method: str = "bookkeeping",
        orders: Iterable[float] | None = None,
    ):
        self.max_norm, self.noise_multiplier, _ = check_step_args(max_norm, noise_multiplier, 1.0)
        self.expected_batch_size = (None if expected_batch_size is None
                                    else check_positive(expected_batch_size, "expected_batch_size"))
        if method not in ("bookkeeping", "ghost"):
            raise ValueError(f"method must be 'bookkeeping' or 'ghost', got {method!r}")
        if loss_fn is not None and not callable(loss_fn):
            raise ValueError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        check_supported(model)
        self.model, self.optimizer = model, optimizer
        self.loss_fn: LossFn = F.cross_entropy if loss_fn is None else loss_fn
        self.generator = check_generator(generator)
        self.method = method
        self.sample_rate = sample_rate
        self.accountant = accounting.RDPAccountant(orders)
        self.steps = 0
        self._steps_without_rate = 0

    @property
    def sample_rate(self) -> float | None:
        """Poisson sampling rate q of the next steps (``None``: not known to the engine)."""
        return self._sample_rate

    @sample_rate.setter
    def sample_rate(self, value: float | None) -> None:
        self._sample_rate = None if value is None else check_probability(value, "sample_rate", open_low=True)

    def clipped_sum(self, x: torch.Tensor, y: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Return (``name -> Σ_i clip_C(g_i)``, per-example losses) for the batch, without noise."""
        params = trainable(self.model)
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

    def noisy_gradient(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """Write the private gradient ``(Σ_i clip_C(g_i) + N(0, σ²C²)) / L`` of the batch to every ``p.grad``.

        Counts one step (one release of the subsampled Gaussian mechanism) and records it in the
        accountant. Returns the batch's mean loss (**not private**: computed without noise).
        """
        if self.expected_batch_size is None:
            raise ValueError("expected_batch_size is not set: give it to DPSGD(...) or train with helpers.training.fit")
        x, y = check_batch(x, y)
        summed, losses = self.clipped_sum(x, y)
        noisy = add_noise(summed, noise_multiplier=self.noise_multiplier, max_norm=self.max_norm, generator=self.generator)
        assert isinstance(noisy, dict)
        for n, p in trainable(self.model).items():
            p.grad = (noisy[n] / self.expected_batch_size).to(p.dtype)
        self.steps += 1
        if self.sample_rate is None:
            self._steps_without_rate += 1
        else:
            self.accountant.step(noise_multiplier=self.noise_multiplier, sample_rate=self.sample_rate)
        return float(losses.mean()) if losses.numel() else float("nan")

    def step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """One private update on the batch (x, y): :meth:`noisy_gradient`, then ``optimizer.step()``.

        Returns the batch's mean (non-private) loss.
        """
        if self.optimizer is None:
            raise ValueError("DPSGD has no optimizer: give one to DPSGD(model, loss_fn, optimizer, ...)")
        loss = self.noisy_gradient(x, y)
        self.optimizer.step()
        return loss

    def epsilon(self, *, delta: float, sample_rate: float | None = None, conversion: str = "improved") -> float:
        """ε of the steps taken so far at ``delta`` (add/remove-one example, Poisson sampling; RDP accountant).

        ``sample_rate`` is needed only for steps taken while the engine had none (one q for all of
        them); if the engine has one, a different ``sample_rate`` raises ``ValueError``.
        ``conversion``: ``"improved"`` (Balle et al. 2020, the course's default) or ``"classic"``.
        """
        if sample_rate is not None:
            sample_rate = check_probability(sample_rate, "sample_rate", open_low=True)
            if self.sample_rate is not None and not math.isclose(sample_rate, self.sample_rate, rel_tol=1e-12):
                raise ValueError(f"sample_rate={sample_rate} differs from the engine's sample_rate={self.sample_rate}; "
                                 "the engine accounts with its own")
        acc = self.accountant
        if self._steps_without_rate:
            if sample_rate is None:
                raise ValueError(f"{self._steps_without_rate} steps were taken without a sample_rate: give "
                                 "epsilon(delta=..., sample_rate=q), or DPSGD(..., sample_rate=q)")
            acc = accounting.RDPAccountant(acc.orders)
            acc.history = list(self.accountant.history)
            acc.step(noise_multiplier=self.noise_multiplier, sample_rate=sample_rate, steps=self._steps_without_rate)
        return float(acc.get_epsilon(delta=delta, conversion=conversion))
