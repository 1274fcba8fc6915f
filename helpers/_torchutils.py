"""Input validation shared by the torch modules (``dpsgd``, ``dp_engine``, ``models``, ``training``).

The torch counterpart of :mod:`helpers._validation` (which stays numpy-only so that Part I never
imports torch). Each check raises ``ValueError`` naming what it got.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ._validation import check_nonnegative, check_positive

__all__ = ["LossFn", "check_batch", "check_generator", "check_step_args", "trainable"]

#: ``loss_fn(outputs, targets)``: a scalar for a batch, whose value on a batch of one example is
#: that example's loss (``F.cross_entropy`` with its default mean reduction, ``nn.MSELoss()``, ...).
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def check_batch(x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)`` if both are tensors with the same leading (batch) dimension and ``x`` has no NaN."""
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise ValueError(f"x and y must be torch tensors, got {type(x).__name__} and {type(y).__name__}")
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"x and y need a batch dimension, got shapes {tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same number of examples, got {x.shape[0]} and {y.shape[0]}")
    if x.is_floating_point() and torch.isnan(x).any():
        raise ValueError("x contains NaN")
    return x, y


def check_generator(generator: Any, name: str = "generator") -> torch.Generator | None:
    """``generator`` if it is a ``torch.Generator`` or ``None``."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"{name} must be a torch.Generator or None, got {type(generator).__name__}")
    return generator


def check_step_args(max_norm: float, noise_multiplier: float, expected_batch_size: float) -> tuple[float, float, float]:
    """Validated ``(C > 0, σ >= 0, L > 0)`` of a DP-SGD step."""
    return (
        check_positive(max_norm, "max_norm"),
        check_nonnegative(noise_multiplier, "noise_multiplier"),
        check_positive(expected_batch_size, "expected_batch_size"),
    )


def trainable(model: nn.Module) -> dict[str, nn.Parameter]:
    """``name -> parameter`` of the parameters with ``requires_grad`` (``ValueError`` if there are none)."""
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ValueError("model has no trainable parameters")
    return params
