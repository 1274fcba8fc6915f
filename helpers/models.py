"""The course's models, one home for every lesson that trains one (torch).

* :func:`tramer_boneh_cnn` — the end-to-end CNN of Tramèr & Boneh (2021), lesson 05's DP-SGD model;
* :func:`mlp` — a small ``784 → hidden → 10`` ReLU network (federated clients, shadow models);
* :class:`BatchedMLP` — ``k`` independent MLPs evaluated as one model (PATE's teachers, lesson 04).

Every constructor that draws weights takes a ``torch.Generator`` so runs reproduce; ``None``
uses torch's global generator.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ._validation import check_positive_int

__all__ = ["tramer_boneh_cnn", "mlp", "BatchedMLP"]


def _check_generator(generator: torch.Generator | None) -> torch.Generator | None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return generator


def tramer_boneh_cnn(*, activation: str = "tanh", in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    """The end-to-end CNN of Tramèr & Boneh (2021), "Differentially private learning needs better features".

    Conv 16@8×8 stride 2 pad 2 → act → MaxPool 2 stride 1 → Conv 32@4×4 stride 2 → act →
    MaxPool 2 stride 1 → Flatten → Linear 512→32 → act → Linear 32→10, for 28×28 images
    (26,010 parameters). ``activation``: ``"tanh"`` (their choice, after Papernot et al.
    2021's tempered sigmoids) or ``"relu"``. Weights from torch's global generator (seed it with
    ``torch.manual_seed``). Introduced in lesson 05.
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


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator | None) -> nn.Parameter:
    """PyTorch's ``nn.Linear`` initialisation U(−1/√fan_in, 1/√fan_in), drawn from ``generator``."""
    return nn.Parameter((torch.rand(*shape, generator=generator) * 2 - 1) * bound)


def mlp(*, in_features: int = 784, hidden: int = 128, num_classes: int = 10,
        generator: torch.Generator | None = None) -> nn.Module:
    """Flatten → Linear(in, hidden) → ReLU → Linear(hidden, classes), initialised from ``generator``.

    The initialisation is ``nn.Linear``'s distribution, U(−1/√fan_in, 1/√fan_in) for weights and
    biases, drawn from ``generator`` (weight, bias, weight, bias) so that the same generator gives
    the same network. Every layer is one DPSGD supports (:mod:`helpers.dp_engine`).
    """
    in_features = check_positive_int(in_features, "in_features")
    hidden = check_positive_int(hidden, "hidden")
    num_classes = check_positive_int(num_classes, "num_classes")
    generator = _check_generator(generator)
    net = nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))
    for layer in (net[1], net[3]):
        bound = 1.0 / math.sqrt(layer.in_features)
        layer.weight = _uniform(tuple(layer.weight.shape), bound, generator)
        layer.bias = _uniform(tuple(layer.bias.shape), bound, generator)
    return net


class BatchedMLP(nn.Module):
    """``num_models`` independent ``in → hidden → classes`` ReLU MLPs evaluated at once with ``torch.bmm``.

    All models share one set of stacked weights ``(num_models, …)``; the loss summed over models
    gives every model exactly its own gradient, and element-wise optimisers (SGD, Adam) then train
    them as if one by one. Lesson 04 trains 250 PATE teachers this way
    (:func:`helpers.pate.train_teachers`). Initialisation: ``nn.Linear``'s U(−1/√fan_in, 1/√fan_in)
    per model, drawn from ``generator`` in the order w1, b1, w2, b2.

    ``forward(x)``: ``x`` of shape ``(batch, in)`` (the same inputs for every model) or
    ``(num_models, batch, in)`` → logits ``(num_models, batch, num_classes)``.
    """

    def __init__(self, num_models: int, in_features: int, hidden: int, num_classes: int, *,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        num_models = check_positive_int(num_models, "num_models")
        in_features = check_positive_int(in_features, "in_features")
        hidden = check_positive_int(hidden, "hidden")
        num_classes = check_positive_int(num_classes, "num_classes")
        generator = _check_generator(generator)
        b1, b2 = 1.0 / math.sqrt(in_features), 1.0 / math.sqrt(hidden)
        self.w1 = _uniform((num_models, in_features, hidden), b1, generator)
        self.b1 = _uniform((num_models, 1, hidden), b1, generator)
        self.w2 = _uniform((num_models, hidden, num_classes), b2, generator)
        self.b2 = _uniform((num_models, 1, num_classes), b2, generator)
        self.num_models = num_models
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            h = torch.relu(torch.matmul(x, self.w1) + self.b1)
        else:
            h = torch.relu(torch.baddbmm(self.b1, x, self.w1))
        return torch.baddbmm(self.b2, h, self.w2)
