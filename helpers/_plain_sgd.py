"""Plain SGD for :func:`helpers.training.fit`: ``torch.optim.SGD``'s CPU step without torch.optim.

Why: the first use of any ``torch.optim`` optimizer imports ``torch._dynamo`` (``add_param_group``
and ``zero_grad`` are wrapped by ``torch._disable_dynamo``, which imports it on first call): 2-4 s
of CPU. A notebook pays it once; lesson 06's Flower clients pay it in every ClientApp process (one
per message), for a few dozen tiny steps.

Same math, bit for bit: on CPU, ``torch.optim.SGD(params, lr)`` without momentum, weight decay,
dampening, Nesterov or ``maximize`` runs ``_single_tensor_sgd``, i.e. ``param.add_(grad, alpha=-lr)``
for every parameter with a gradient (the foreach kernels are for CUDA-like devices only), and its
``zero_grad()`` sets the gradients to ``None``. This class does exactly that (tested against
``torch.optim.SGD`` in tests/test_helpers_federated.py).
"""
from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["PlainSGD"]


class PlainSGD:
    """``p <- p - lr * p.grad`` for the given parameters; ``zero_grad()`` sets gradients to ``None``."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr = float(lr)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for p in self.params:
            if p.grad is not None:
                p.add_(p.grad, alpha=-self.lr)

    def __repr__(self) -> str:
        return f"PlainSGD(lr={self.lr})"
