"""Attacks on trained models: membership inference, model inversion, gradient leakage (lesson 07, torch).

What each attack recovers, and what differential privacy says about it:

* **Membership inference** — was *this example* in the training set? The loss-threshold attack
  (Yeom et al. 2018) and LiRA (Carlini et al. 2022). A per-example question: DP with respect to
  one example bounds every such attack's power (:mod:`helpers.audit` turns that into an ε lower bound).
* **Model inversion** (Fredrikson, Jha & Ristenpart 2015) — an input the model scores as class c.
  It recovers what the *class* looks like. DP does not aim to hide class-level features (a DP model
  that learns its task must learn them), so DP does not "defeat" inversion; inversions of DP models
  can even look more like the class average.
* **Gradient leakage** (Zhu, Liu & Han 2019, "Deep leakage from gradients"; Zhao, Mopuri & Bilen
  2020, iDLG) — one training example from one shared gradient. Clipping plus Gaussian noise (the
  DP-SGD step) makes the shared gradient (ε, δ)-DP with respect to that example, and the attack fails.
* **Synthetic-data similarity filter** — flags synthetic records too close to a real one: a
  memorisation check, not a privacy guarantee.

Every random choice takes an explicit ``rng`` (numpy) or ``generator`` (torch). Scores follow
:mod:`helpers.audit`'s convention: higher means "more likely a member".
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._validation import as_rng, check_nonnegative, check_positive, check_positive_int, check_probability

__all__ = [
    "per_example_losses",
    "logit_confidence",
    "loss_threshold_attack",
    "mlp_trainer",
    "shadow_confidences",
    "lira_scores",
    "total_variation",
    "inversion_loss",
    "invert_classes",
    "pearson",
    "inversion_similarity",
    "shared_gradient",
    "idlg_label",
    "gradient_leakage",
    "nearest_record_similarity",
    "similarity_filter",
    "kde_sampler",
]

Trainer = Callable[[torch.Tensor, torch.Tensor, torch.Generator], nn.Module]


def _tensor(x: Any, name: str, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a numpy array or a torch tensor, got {type(x).__name__}")
    return x.to(dtype)


def _check_generator(generator: Any) -> torch.Generator | None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return generator


# ----------------------------------------------------------------------------- membership inference


@torch.no_grad()
def per_example_losses(model: nn.Module, x: Any, y: Any, *, batch_size: int = 2048) -> np.ndarray:
    """Cross-entropy loss of every example, the model in eval mode (no gradients)."""
    xt, yt = _tensor(x, "x"), _tensor(y, "y", torch.int64)
    if xt.shape[0] != yt.shape[0]:
        raise ValueError(f"x and y must have the same length, got {xt.shape[0]} and {yt.shape[0]}")
    was_training = model.training
    model.eval()
    out = [F.cross_entropy(model(xt[i:i + batch_size]), yt[i:i + batch_size], reduction="none")
           for i in range(0, xt.shape[0], check_positive_int(batch_size, "batch_size"))]
    model.train(was_training)
    return torch.cat(out).numpy().astype(np.float64)


@torch.no_grad()
def logit_confidence(model: nn.Module, x: Any, y: Any, *, batch_size: int = 2048) -> np.ndarray:
    """LiRA's statistic: φ = log(p_y / (1 − p_y)), the logit of the true class's probability.

    Computed stably as ``z_y − logsumexp_{j≠y} z_j`` from the logits z. Carlini et al. (2022) use it
    because it is close to Gaussian across retrainings, where p_y itself is not.
    """
    xt, yt = _tensor(x, "x"), _tensor(y, "y", torch.int64)
    was_training = model.training
    model.eval()
    parts = []
    for i in range(0, xt.shape[0], check_positive_int(batch_size, "batch_size")):
        z = model(xt[i:i + batch_size]).double()
        t = yt[i:i + batch_size]
        zy = z.gather(1, t[:, None])[:, 0]
        rest = z.scatter(1, t[:, None], -math.inf)
        parts.append(zy - torch.logsumexp(rest, dim=1))
    model.train(was_training)
    return torch.cat(parts).numpy()


def loss_threshold_attack(fit_member_losses: Any, fit_nonmember_losses: Any, eval_member_losses: Any,
                          eval_nonmember_losses: Any) -> tuple[float, float, float]:
    """The loss-threshold membership attack (Yeom et al. 2018), threshold chosen on held-out data.

    Say "member" when an example's loss is ``<= τ``. τ is chosen on the *fit* losses: among the
    candidates (every fit loss, in increasing order) the first that maximises TPR − FPR. The rates
    are then measured on the *eval* losses, which played no part in choosing τ (choosing τ on the
    evaluation set overstates the attack).

    Returns
    -------
    (tau, tpr, fpr)
        The threshold, and the true/false-positive rates on the evaluation members/non-members.
    """
    arrays = []
    for name, v in (("fit_member_losses", fit_member_losses), ("fit_nonmember_losses", fit_nonmember_losses),
                    ("eval_member_losses", eval_member_losses), ("eval_nonmember_losses", eval_nonmember_losses)):
        a = np.asarray(v, dtype=float)
        if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be a non-empty 1-D array of finite losses")
        arrays.append(a)
    fm, fn, em, en = arrays
    candidates = np.sort(np.concatenate([fm, fn]))
    gain = (fm[None, :] <= candidates[:, None]).mean(axis=1) - (fn[None, :] <= candidates[:, None]).mean(axis=1)
    tau = float(candidates[int(np.argmax(gain))])
    return tau, float((em <= tau).mean()), float((en <= tau).mean())


def mlp_trainer(*, hidden: int = 128, epochs: int, batch_size: int, lr: float, optimizer: str = "adam",
                num_classes: int = 10) -> Trainer:
    """A function ``train(x, y, generator) -> model``: the course's MLP trained by the course's trainer.

    ``helpers.models.mlp`` initialised from ``generator``, trained non-privately by
    ``helpers.training.fit`` (minibatches from ``generator``). Shadow models (LiRA) and target
    models in lesson 07 are trained this way, so that they are trained exactly like the target.
    """
    from .models import mlp
    from .training import fit

    def train(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> nn.Module:
        model = mlp(in_features=int(np.prod(x.shape[1:])), hidden=hidden, num_classes=num_classes,
                    generator=generator)
        fit(model, x, y, epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, generator=generator,
            progress=False)
        return model

    return train


def shadow_confidences(x: Any, y: Any, *, train: Trainer, num_models: int,
                       rng: np.random.Generator | None = None, progress: bool = True,
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Train ``num_models`` shadow models on random halves of ``(x, y)``; return their φ on every example.

    Each example is IN the training set of exactly ``num_models // 2`` shadow models (chosen at
    random, as in Carlini et al. 2022), so every example has IN and OUT statistics.

    Returns
    -------
    (confidences, in_mask)
        ``(num_models, n)`` arrays: :func:`logit_confidence` of each model on each example, and
        whether the example was in that model's training set.
    """
    k = check_positive_int(num_models, "num_models")
    if k < 2:
        raise ValueError(f"num_models must be >= 2 (IN and OUT models for every example), got {k}")
    gen = as_rng(rng)
    xt, yt = _tensor(x, "x"), _tensor(y, "y", torch.int64)
    n = xt.shape[0]
    in_mask = gen.random((k, n)).argsort(axis=0) < k // 2
    seeds = gen.integers(0, 2**62, size=k)
    conf = np.empty((k, n))
    iterator: Sequence[int] | Any = range(k)
    if progress:
        from tqdm.auto import tqdm
        iterator = tqdm(iterator, desc="shadow models", leave=False)
    for j in iterator:
        idx = torch.from_numpy(np.flatnonzero(in_mask[j]))
        model = train(xt[idx], yt[idx], torch.Generator().manual_seed(int(seeds[j])))
        conf[j] = logit_confidence(model, xt, yt)
    return conf, in_mask


def lira_scores(target_confidence: Any, shadow_confidence: Any, in_mask: Any) -> np.ndarray:
    """Online LiRA (Carlini et al. 2022) with a global variance: a log-likelihood ratio per example.

    For example i with target statistic φ_i, fit N(μ_in,i, σ_in²) to the φ of shadow models that
    trained on i and N(μ_out,i, σ_out²) to those that did not (per-example means, variances pooled
    over all examples — the paper's choice when there are few shadow models), and return
    ``log N(φ_i; μ_in,i, σ_in) − log N(φ_i; μ_out,i, σ_out)``: higher = more likely a member.
    """
    phi = np.asarray(target_confidence, dtype=float)
    conf = np.asarray(shadow_confidence, dtype=float)
    mask = np.asarray(in_mask, dtype=bool)
    if conf.ndim != 2 or conf.shape != mask.shape or phi.shape != (conf.shape[1],):
        raise ValueError(f"need shadow_confidence and in_mask of shape (k, n) and target_confidence of shape (n,), "
                         f"got {conf.shape}, {mask.shape}, {phi.shape}")
    n_in, n_out = mask.sum(axis=0), (~mask).sum(axis=0)
    if (n_in == 0).any() or (n_out == 0).any():
        raise ValueError("every example needs at least one IN and one OUT shadow model")
    mu_in = np.where(mask, conf, 0).sum(axis=0) / n_in
    mu_out = np.where(~mask, conf, 0).sum(axis=0) / n_out
    sd_in = math.sqrt(np.where(mask, (conf - mu_in) ** 2, 0).sum() / max(mask.sum() - conf.shape[1], 1)) + 1e-6
    sd_out = math.sqrt(np.where(~mask, (conf - mu_out) ** 2, 0).sum() / max((~mask).sum() - conf.shape[1], 1)) + 1e-6

    def logpdf(v: np.ndarray, mu: np.ndarray, sd: float) -> np.ndarray:
        return -0.5 * ((v - mu) / sd) ** 2 - math.log(sd)

    return logpdf(phi, mu_in, sd_in) - logpdf(phi, mu_out, sd_out)


# ----------------------------------------------------------------------------- model inversion


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation of each image: the sum of absolute differences of neighbouring pixels.

    For images ``x`` of shape ``(N, C, H, W)``::

        TV(x_n) = Σ_{c,h,w} |x[n,c,h+1,w] − x[n,c,h,w]| + Σ_{c,h,w} |x[n,c,h,w+1] − x[n,c,h,w]|

    Returns a tensor of shape ``(N,)``. Small TV = piecewise-smooth images; it is the prior that
    makes inversions look like pictures rather than adversarial noise (Mahendran & Vedaldi 2015).
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"x must be a tensor of images (N, C, H, W), got {getattr(x, 'shape', type(x))}")
    dh = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum(dim=(1, 2, 3))
    dw = (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum(dim=(1, 2, 3))
    return dh + dw


def inversion_loss(model: nn.Module, x: torch.Tensor, target: torch.Tensor, *, tv_weight: float,
                   l2_weight: float) -> torch.Tensor:
    """The model-inversion objective (Fredrikson et al. 2015, with image priors), averaged over the batch.

    ``mean_n [ CE(model(x)_n, target_n) + tv_weight · TV(x_n) + l2_weight · ‖x_n‖² ]`` where CE is
    the cross-entropy (−log of the class probability: minimising it maximises the class score),
    TV is :func:`total_variation` and ``‖x_n‖²`` the sum of squared pixels of image n.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError("x must be a tensor of images (N, C, H, W)")
    tv_w = check_nonnegative(tv_weight, "tv_weight")
    l2_w = check_nonnegative(l2_weight, "l2_weight")
    ce = F.cross_entropy(model(x), target, reduction="none")
    return (ce + tv_w * total_variation(x) + l2_w * (x ** 2).sum(dim=(1, 2, 3))).mean()


def invert_classes(model: nn.Module, classes: Sequence[int], *, shape: tuple[int, ...] = (1, 28, 28),
                   steps: int = 300, lr: float = 0.05, tv_weight: float = 0.01, l2_weight: float = 0.001,
                   bounds: tuple[float, float] | None = None, generator: torch.Generator | None = None,
                   ) -> torch.Tensor:
    """Model inversion: one image per class that minimises :func:`inversion_loss` (Adam).

    All classes are inverted at once (the objective is a mean of independent per-image terms).
    Starts from small Gaussian noise drawn from ``generator``; pixels are clamped to ``bounds``
    after every step when given. The model's weights are not changed.

    Returns
    -------
    torch.Tensor
        ``(len(classes), *shape)`` reconstructions, detached.
    """
    gen = _check_generator(generator)
    target = torch.as_tensor(list(classes), dtype=torch.int64)
    x = (0.01 * torch.randn((len(target), *shape), generator=gen)).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=check_positive(lr, "lr"))
    was_training = model.training
    model.eval()
    params = [p for p in model.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        for _ in range(check_positive_int(steps, "steps")):
            opt.zero_grad()
            inversion_loss(model, x, target, tv_weight=tv_weight, l2_weight=l2_weight).backward()
            opt.step()
            if bounds is not None:
                with torch.no_grad():
                    x.clamp_(bounds[0], bounds[1])
    finally:
        for p, f in zip(params, flags):
            p.requires_grad_(f)
        model.train(was_training)
    return x.detach()


def pearson(a: Any, b: Any) -> float:
    """Pearson correlation of two images (flattened)."""
    u = np.asarray(a, dtype=float).ravel()
    v = np.asarray(b, dtype=float).ravel()
    if u.shape != v.shape:
        raise ValueError(f"images must have the same size, got {u.size} and {v.size}")
    u, v = u - u.mean(), v - v.mean()
    den = math.sqrt(float((u * u).sum() * (v * v).sum()))
    return float((u * v).sum() / den) if den > 0 else 0.0


def inversion_similarity(reconstructions: Any, classes: Sequence[int], x_train: Any, y_train: Any,
                         ) -> dict[str, np.ndarray]:
    """How much each reconstruction looks like its class, and like any single training image.

    Returns ``{"r_class_mean": (k,), "r_nearest": (k,), "nearest_index": (k,)}``: the Pearson r of
    reconstruction j with the mean training image of class ``classes[j]``, and the largest r with
    any single training image of that class (and that image's index in ``x_train``). A
    reconstruction much closer to one training image than to the class mean would suggest
    memorisation of that image; model inversion typically recovers the class mean.
    """
    rec = np.asarray(reconstructions.detach() if isinstance(reconstructions, torch.Tensor) else reconstructions,
                     dtype=float)
    xs = np.asarray(x_train, dtype=float).reshape(len(x_train), -1)
    ys = np.asarray(y_train)
    flat = rec.reshape(len(rec), -1)
    if flat.shape[1] != xs.shape[1] or len(classes) != len(rec):
        raise ValueError("reconstructions, classes and x_train do not match")
    xs_c = xs - xs.mean(axis=1, keepdims=True)
    xs_c /= np.linalg.norm(xs_c, axis=1, keepdims=True) + 1e-12
    out = {"r_class_mean": np.empty(len(rec)), "r_nearest": np.empty(len(rec)),
           "nearest_index": np.empty(len(rec), dtype=np.int64)}
    for j, c in enumerate(classes):
        members = np.flatnonzero(ys == c)
        if members.size == 0:
            raise ValueError(f"no training image of class {c}")
        out["r_class_mean"][j] = pearson(flat[j], xs[members].mean(axis=0))
        r = flat[j] - flat[j].mean()
        r /= np.linalg.norm(r) + 1e-12
        corr = xs_c[members] @ r
        out["r_nearest"][j] = corr.max()
        out["nearest_index"][j] = members[int(corr.argmax())]
    return out


# ----------------------------------------------------------------------------- gradient leakage


def shared_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, max_norm: float | None = None,
                    noise_multiplier: float = 0.0, generator: torch.Generator | None = None,
                    create_graph: bool = False) -> list[torch.Tensor]:
    """The gradient a client would share for the batch ``(x, y)`` (mean cross-entropy).

    With ``max_norm`` = C: the DP-SGD release for a batch of one example, ``clip_C(g) + N(0, σ²C²I)``
    (σ = ``noise_multiplier``): a Gaussian mechanism of ℓ2 sensitivity C with respect to adding or
    removing that example (2C for replacing it), so its (ε, δ) follows from σ as in lesson 03.
    Needs ``x`` of one example then.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    loss = F.cross_entropy(model(x), y)
    grads = list(torch.autograd.grad(loss, params, create_graph=create_graph))
    if max_norm is None:
        return grads
    if x.shape[0] != 1:
        raise ValueError("clipping here is per example: pass a batch of one example")
    c = check_positive(max_norm, "max_norm")
    sigma = check_nonnegative(noise_multiplier, "noise_multiplier")
    norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    factor = torch.clamp(c / (norm + 1e-12), max=1.0)
    gen = _check_generator(generator)
    return [g * factor + (torch.randn(g.shape, generator=gen) * sigma * c if sigma > 0 else 0) for g in grads]


def idlg_label(gradients: Sequence[torch.Tensor], model: nn.Module) -> int:
    """iDLG's label: the row of the last linear layer's weight gradient with a negative sum.

    For cross-entropy after a linear layer, that gradient is ``(p − e_y) h^T`` with ``h ≥ 0``
    after a ReLU: only row y is ≤ 0 (Zhao, Mopuri & Bilen 2020). Takes the argmin of the row sums.
    """
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    last_weight = [i for i, n in enumerate(names) if n.endswith("weight")][-1]
    return int(gradients[last_weight].sum(dim=1).argmin())


def gradient_leakage(model: nn.Module, target_gradients: Sequence[torch.Tensor], *, label: int,
                     shape: tuple[int, ...] = (1, 1, 28, 28), steps: int = 300, lr: float = 0.1,
                     max_norm: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Deep leakage from gradients (Zhu et al. 2019) with iDLG's known label: reconstruct the input.

    Optimises a dummy input x' (from Gaussian noise drawn from ``generator``) to minimise
    ``Σ_params ‖∇θ CE(model(x'), label) − target‖²`` with Adam. With ``max_norm`` the dummy's
    gradient is clipped the same way before matching (an attacker who knows C).

    Returns the reconstruction (detached, of ``shape``).
    """
    gen = _check_generator(generator)
    y = torch.tensor([int(label)])
    dummy = torch.randn(shape, generator=gen).requires_grad_(True)
    opt = torch.optim.Adam([dummy], lr=check_positive(lr, "lr"))
    targets = [t.detach() for t in target_gradients]
    for _ in range(check_positive_int(steps, "steps")):
        opt.zero_grad()
        grads = shared_gradient(model, dummy, y, create_graph=True)
        if max_norm is not None:
            norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
            grads = [g * torch.clamp(max_norm / (norm + 1e-12), max=1.0) for g in grads]
        loss = sum(((g - t) ** 2).sum() for g, t in zip(grads, targets))
        loss.backward()
        opt.step()
    return dummy.detach()


# ----------------------------------------------------------------------------- synthetic data


def _rows(a: Any, name: str) -> np.ndarray:
    arr = np.asarray(a.detach() if isinstance(a, torch.Tensor) else a, dtype=float)
    if arr.ndim < 2 or arr.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one record (shape (n, features...)), got {arr.shape}")
    arr = arr.reshape(arr.shape[0], -1)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def nearest_record_similarity(synthetic: Any, real: Any, *, metric: str = "cosine",
                              ) -> tuple[np.ndarray, np.ndarray]:
    """For each synthetic record, its most similar real record.

    ``metric="cosine"``: the largest cosine similarity (rows with zero norm are an error);
    ``metric="euclidean"``: the smallest Euclidean distance ("distance to closest record", DCR).

    Returns ``(values, indices)`` of shape ``(n_synthetic,)``.
    """
    s, r = _rows(synthetic, "synthetic"), _rows(real, "real")
    if s.shape[1] != r.shape[1]:
        raise ValueError(f"synthetic and real records must have the same number of features, got {s.shape[1]} "
                         f"and {r.shape[1]}")
    if metric == "cosine":
        ns, nr = np.linalg.norm(s, axis=1), np.linalg.norm(r, axis=1)
        if (ns == 0).any() or (nr == 0).any():
            raise ValueError("cosine similarity is undefined for a record of all zeros")
        sim = (s / ns[:, None]) @ (r / nr[:, None]).T
        return sim.max(axis=1), sim.argmax(axis=1)
    if metric == "euclidean":
        d2 = (s ** 2).sum(1)[:, None] - 2 * s @ r.T + (r ** 2).sum(1)[None, :]
        d = np.sqrt(np.maximum(d2, 0))
        return d.min(axis=1), d.argmin(axis=1)
    raise ValueError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")


def similarity_filter(synthetic: Any, real: Any, *, threshold: float) -> np.ndarray:
    """Flag synthetic records whose cosine similarity to some real record exceeds ``threshold``.

    Returns a boolean array, True = too similar (drop or inspect it). This is a *memorisation check*
    for the released samples, not a privacy guarantee: what is not flagged may still leak (a record
    slightly changed, an attribute, membership), and the threshold is chosen by looking at the
    private data. Only a generator trained with DP gives a guarantee.
    """
    t = float(threshold)
    if not -1 <= t <= 1:
        raise ValueError(f"threshold must be a cosine similarity in [-1, 1], got {threshold!r}")
    sim, _ = nearest_record_similarity(synthetic, real, metric="cosine")
    return sim > t


def kde_sampler(x: Any, *, n: int, bandwidth: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Sample ``n`` records from a Gaussian kernel density estimate of ``x`` (a tiny generative model).

    Each sample is a random training record plus N(0, bandwidth²) noise per feature: a small
    bandwidth copies training records almost exactly — the memorisation the filter looks for.
    """
    rows = _rows(x, "x")
    gen = as_rng(rng)
    bw = check_nonnegative(bandwidth, "bandwidth")
    idx = gen.integers(0, rows.shape[0], size=check_positive_int(n, "n"))
    return rows[idx] + gen.normal(0.0, bw, size=(idx.size, rows.shape[1])) if bw > 0 else rows[idx].copy()
