"""ScatterNet features for the "better features" row of ``benchmarks/dpsgd.py`` (Tramèr & Boneh 2021).

A scattering network (Bruna & Mallat 2013; kymatio's ``Scattering2D``) with J = 2 scales and
L = 8 angles turns a 28×28 image into 1 + JL + L²J(J-1)/2 = 81 channels of 7×7 coefficients.
The filters are fixed wavelets, chosen without looking at any data, so the transform costs no
privacy; only the linear model on top is trained with DP-SGD.

:class:`Scattering2DFast` runs kymatio's algorithm with kymatio's own filters but batched over
the filters of each scale (kymatio 0.3's torch backend loops over the 80 paths one by one, and
on a CPU it is ~3× slower); :func:`check_against_kymatio` compares the two (max difference
~3e-7 on Fashion-MNIST, coefficients up to ~1).

kymatio 0.3.0 imports ``scipy.special.sph_harm``, which SciPy 1.17 removed (deprecated in
1.15 in favour of ``sph_harm_y``, whose argument order differs: ``sph_harm(m, n, θ_azimuth,
φ_polar) == sph_harm_y(n, m, φ_polar, θ_azimuth)``). :func:`_patch_scipy` restores the old name
before kymatio is imported; kymatio only uses it for its 3-D transforms, not ``Scattering2D``.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn


def _patch_scipy() -> None:
    import scipy.special

    if not hasattr(scipy.special, "sph_harm"):
        scipy.special.sph_harm = lambda m, n, theta, phi: scipy.special.sph_harm_y(n, m, phi, theta)


def _subsample(x: torch.Tensor, k: int) -> torch.Tensor:
    """Periodise a spectrum (..., M, N) to (..., M/k, N/k): spatial subsampling by k (kymatio's
    ``subsample_fourier``: the mean of the k×k blocks). Summed one axis at a time over contiguous
    blocks, which is several times faster on a CPU than one ``mean`` over two strided axes."""
    if k == 1:
        return x
    lead, (m, n) = x.shape[:-2], x.shape[-2:]
    y = x.reshape(*lead, k, m // k, n).sum(-3)
    return y.reshape(*lead, m // k, k, n // k).sum(-2) / (k * k)


class Scattering2DFast:
    """kymatio's ``Scattering2D`` (2nd order) with its own filters, vectorised over the filters.

    kymatio 0.3's torch backend loops over the J·L first-order and L²J(J-1)/2 second-order paths
    one at a time, which on a CPU is dominated by small-tensor overhead; this class runs the same
    algorithm (reflection padding, products with the same Fourier-domain filters, periodisation,
    modulus, same output order S0, S1, S2) with all filters of a scale in one batched product. It
    agrees with ``kymatio.torch.Scattering2D`` to float32 rounding (checked by :func:`check_against_kymatio`).
    """

    def __init__(self, J: int = 2, shape: tuple[int, int] = (28, 28), L: int = 8):
        _patch_scipy()
        from kymatio.torch import Scattering2D

        ref = Scattering2D(J=J, shape=shape, L=L)
        self.J, self.L, self.shape = J, L, shape
        self.pad = ref.pad.padding_module
        self.Mp, self.Np = ref._M_padded, ref._N_padded
        assert ref.pad.pad_size[0] < shape[0] and ref.pad.pad_size[2] < shape[1]
        f = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)
        self.phi = [f(p) for p in ref.phi["levels"]]  # phi at resolutions 0..J
        self.js = [int(p["j"]) for p in ref.psi]
        assert self.js == sorted(self.js)
        # psi[j][res]: (L, M/2^res, N/2^res), the L orientations of scale j at resolution res
        self.psi = {j: [torch.stack([f(p["levels"][r]) for p in ref.psi if p["j"] == j])
                        for r in range(len(next(p for p in ref.psi if p["j"] == j)["levels"]))]
                    for j in range(J)}

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        J = self.J
        b = x.shape[0]
        xp = self.pad(x.reshape(b, 1, *x.shape[-2:]))[:, 0]
        u0 = torch.fft.fft2(xp.to(torch.complex64))  # (B, Mp, Np)
        unpad = lambda s: s[..., 1:-1, 1:-1]
        out0 = unpad(torch.fft.ifft2(_subsample(u0 * self.phi[0], 2 ** J)).real)[:, None]
        out1, out2 = [], []
        u1 = {}
        for j1 in range(J):
            v = _subsample(u0[:, None] * self.psi[j1][0], 2 ** j1)  # (B, L, ., .)
            u1[j1] = torch.fft.fft2(torch.fft.ifft2(v).abs().to(torch.complex64))
            out1.append(unpad(torch.fft.ifft2(_subsample(u1[j1] * self.phi[j1], 2 ** (J - j1))).real))
        for j1 in range(J):
            per_j2 = []
            for j2 in range(j1 + 1, J):
                v = _subsample(u1[j1][:, :, None] * self.psi[j2][j1], 2 ** (j2 - j1))  # (B, L1, L2, ., .)
                u2 = torch.fft.fft2(torch.fft.ifft2(v).abs().to(torch.complex64))
                per_j2.append(unpad(torch.fft.ifft2(_subsample(u2 * self.phi[j2], 2 ** (J - j2))).real))
            if per_j2:
                s2 = torch.cat(per_j2, dim=2)  # order: n1 (theta1), then j2, theta2 — kymatio's
                out2.append(s2.reshape(b, -1, *s2.shape[-2:]))
        return torch.cat([out0, *out1, *out2], dim=1)


def check_against_kymatio(images: np.ndarray, J: int = 2, L: int = 8) -> float:
    """Max absolute difference between :class:`Scattering2DFast` and kymatio on some images."""
    _patch_scipy()
    from kymatio.torch import Scattering2D

    x = torch.as_tensor(images, dtype=torch.float32) / 255.0
    with torch.no_grad():
        ref = Scattering2D(J=J, shape=tuple(x.shape[-2:]), L=L)(x)
        ours = Scattering2DFast(J, tuple(x.shape[-2:]), L)(x)
    assert ref.shape == ours.shape, (ref.shape, ours.shape)
    return float((ref - ours).abs().max())


def scattering_features(images: np.ndarray, *, J: int = 2, L: int = 8, batch_size: int = 500,
                        threads: int = 2) -> tuple[torch.Tensor, float]:
    """ScatterNet coefficients of uint8 images (N, H, W) scaled to [0, 1], as in the paper.

    Returns ``(features of shape (N, K, H / 2^J, W / 2^J), seconds)`` with K = 81 for J=2, L=8.
    """
    torch.set_num_threads(threads)
    n, h, w = images.shape
    t0 = time.perf_counter()
    scattering = Scattering2DFast(J=J, shape=(h, w), L=L)
    out = []
    with torch.no_grad():
        for i in range(0, n, batch_size):
            out.append(scattering(torch.as_tensor(images[i : i + batch_size], dtype=torch.float32) / 255.0))
    return torch.cat(out), time.perf_counter() - t0


def group_normalize(features: torch.Tensor, groups: int = 27, eps: float = 1e-5) -> torch.Tensor:
    """``nn.GroupNorm(groups, K, affine=False)`` applied to each example on its own.

    Per-example and data-independent (each image is normalised by its own statistics), hence
    exactly the same as a parameter-free GroupNorm layer inside the model, computed once.
    """
    return nn.functional.group_norm(features, groups, eps=eps)


def scatter_linear(num_features: int = 81 * 7 * 7, num_classes: int = 10) -> nn.Module:
    """The linear classifier on flattened ScatterNet features (Tramèr & Boneh's ``ScatterLinear``)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(num_features, num_classes))
