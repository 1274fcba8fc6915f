"""PATE's teachers and student (torch; lesson 04): many small MLPs trained at once.

:func:`train_teachers` trains one :class:`helpers.models.BatchedMLP` holding every teacher, each on
its own disjoint shard (:func:`helpers.pate.assign_teachers`); :func:`train_student` trains the
student on public data labelled by the aggregator; :func:`predict` gives the ``(num_teachers,
num_queries)`` votes :func:`helpers.pate.vote_counts` counts. The privacy analysis (numpy) is in
:mod:`helpers.pate`, which also exposes these names (``H.pate.train_teachers``).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from . import training
from ._torchutils import check_generator
from ._validation import check_positive, check_positive_int, to_numpy
from .data import normalize_images
from .models import BatchedMLP
from .partitions import key_partition

__all__ = ["train_teachers", "train_student", "predict", "accuracy", "PerModelAdam"]

_PADDING = -100  # target of a padded place in a teacher's minibatch (cross_entropy's ignore_index)


def _features(x: Any) -> torch.Tensor:
    """Images or feature rows -> float32 ``(N, d)``; ``uint8`` pixels are scaled to [0, 1]
    (:func:`helpers.data.normalize_images` with mean 0, std 1), anything else is used as is."""
    if isinstance(x, torch.Tensor):
        t = x.detach()
        if t.dtype == torch.uint8:
            t = torch.from_numpy(normalize_images(t.numpy(), mean=0.0, std=1.0))
        t = t.float()
    else:
        arr = np.asarray(x)
        if arr.size == 0:
            raise ValueError("x must not be empty")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError("x contains NaN or infinity")
        arr = normalize_images(arr, mean=0.0, std=1.0) if arr.dtype == np.uint8 else arr.astype(np.float32, copy=False)
        t = torch.from_numpy(arr)
    if t.dim() < 2:
        raise ValueError(f"x must have shape (N, ...) with one row per example, got shape {tuple(t.shape)}")
    return t.reshape(t.shape[0], -1)


def train_teachers(x: Any, y: Any, num_teachers: int, *, teacher_of: Any | None = None, hidden: int = 128,
                   epochs: int = 30, batch_size: int = 32, lr: float = 1e-3, num_classes: int | None = None,
                   generator: Any | None = None, seed: int | None = 0, progress: bool = True,
                   num_threads: int | None = None) -> Any:
    """Train ``num_teachers`` MLPs, each on its own disjoint shard, as one batched model.

    All teachers share one set of stacked weights ``(num_teachers, …)`` and step together:
    minibatch ``j`` of every teacher is one ``(num_teachers, batch, 784)`` tensor, the forward
    pass is two ``torch.baddbmm`` calls, the loss is the sum of the teachers' mean
    cross-entropies (so each teacher gets exactly its own gradient) and :class:`PerModelAdam`
    (``torch.optim.Adam`` on each teacher's own slices, with its own step count).

    **No teacher's training depends on another teacher's data.** Teacher ``t`` takes
    ``ceil(|shard t| / batch_size)`` steps per epoch — a number set by its own shard — on
    minibatches of its own shard, shuffled by its own generator (seeded from ``generator``
    before any data is seen); in the steps of an epoch after its own it is idle (weights,
    Adam moments and step count untouched). So, for a fixed seed, teacher ``t``'s model is a
    function of its own shard and of public settings (``num_teachers``, ``hidden``, ``epochs``,
    ``batch_size``, ``lr``, ``num_classes``) only — in exact arithmetic; floating-point results
    can differ in the last bits with the padded width of the batched tensors. With shards that
    stay put when an example is added or removed (:func:`helpers.pate.assign_teachers`), adding
    or removing one example changes one teacher's model, hence at most one vote per query. PATE's
    privacy analysis allows *any* training algorithm for a teacher (it needs no property of the
    training, not even randomness); what it needs is this sensitivity — one vote — and that
    holds only if no teacher's training reads another teacher's data, not even its size (here:
    the step count). Pass ``num_classes``: the default ``max(y) + 1`` is read from every
    teacher's labels at once.

    With ``batch_size`` at least the largest shard (as lesson 04 does) every step is exactly
    full-batch Adam on each teacher's own data.
    Measured with equal shards of 240 Fashion-MNIST images, 250 teachers of 784-128-10, 30 epochs:
    about 12 s on 2 idle CPU cores; with one full-shard step per epoch and ``lr=3e-3`` (as lesson 04
    does) 33–52 s on a busy shared 2-core machine, mean teacher accuracy 74.5%, plurality vote
    80.5%. Hashed shards are padded to the largest one (about 280 of 60,000 / 250 = 240 on average),
    so expect up to ~20% more.

    Parameters
    ----------
    x, y
        Private training images (``uint8`` 0..255 are scaled to [0, 1]; anything else is used
        as is) and integer labels.
    num_teachers
        Number of teachers.
    teacher_of
        The teacher of every example, ``int`` array of shape ``(len(x),)`` with values
        ``0 .. num_teachers-1`` (default :func:`helpers.pate.assign_teachers` of the row numbers, seeded with
        ``seed``). Every teacher needs at least one example.
    hidden, epochs, batch_size, lr
        Architecture and Adam settings.
    num_classes
        Number of classes (default ``max(y) + 1``, which depends on all the private labels: pass it).
    generator, seed
        ``torch.Generator`` for the initial weights and the teachers' own shuffling generators
        (default: one seeded with ``seed``).
    progress
        Show a ``tqdm.auto`` bar over the steps (:func:`helpers.training.fit`'s).
    num_threads
        Torch CPU threads to use while training (restored afterwards); default: unchanged.
        Tiny models (the student) train faster on 1 thread: thread synchronisation costs more
        than it saves, a lot more on a busy machine.

    Returns
    -------
    torch.nn.Module
        A batched model: ``model(x)`` maps ``(batch, 784)`` to logits ``(num_teachers, batch, K)``;
        use :func:`predict` for labels.
    """
    feats = _features(x)
    labels = np.asarray(to_numpy(y))
    if labels.ndim != 1 or len(labels) != feats.shape[0]:
        raise ValueError(f"y must have shape ({feats.shape[0]},), got shape {labels.shape}")
    if labels.dtype.kind not in "iu" or (labels < 0).any():
        raise ValueError("y must hold integer labels >= 0")
    num_teachers = check_positive_int(num_teachers, "num_teachers")
    hidden = check_positive_int(hidden, "hidden")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_positive(lr, "lr")
    k = int(labels.max()) + 1 if num_classes is None else check_positive_int(num_classes, "num_classes")
    if labels.max() >= k:
        raise ValueError(f"y holds label {int(labels.max())} >= num_classes {k}")
    if teacher_of is None:
        teacher_of = key_partition(np.arange(len(labels)), num_parts=num_teachers, rng=seed)
    index, sizes = _padded_shards(teacher_of, num_teachers, len(labels))
    if check_generator(generator) is None:
        generator = torch.Generator().manual_seed(0 if seed is None else int(seed))

    model = BatchedMLP(num_teachers, feats.shape[1], hidden, k, generator=generator)
    # one generator per teacher for its shuffles, seeded from the shared one (T draws: no shard size enters)
    seeds = torch.randint(0, 2**62, (num_teachers,), generator=generator).tolist()
    own_generators = [torch.Generator().manual_seed(s) for s in seeds]
    xs = feats[torch.from_numpy(index)]  # (T, largest shard, d), each row padded by repeating an example
    ys = torch.from_numpy(labels.astype(np.int64))[torch.from_numpy(index)]
    opt = PerModelAdam(model.parameters(), num_models=num_teachers, lr=lr)
    previous_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(check_positive_int(num_threads, "num_threads"))
    try:
        steps, batches = _shard_batches(xs, ys, torch.from_numpy(sizes), batch_size, own_generators, opt)
        training.fit(model, epochs=epochs, lr=lr, optimizer=opt, loss_fn=_teachers_loss, batches=batches,
                     steps_per_epoch=steps, progress=progress, desc=f"training {num_teachers} models")
    finally:
        torch.set_num_threads(previous_threads)
    model.eval()
    return model


def _padded_shards(teacher_of: Any, num_teachers: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(index, sizes)``: row ``t`` of ``index`` lists teacher ``t``'s examples, padded to the largest shard
    by repeating its last one; ``sizes[t]`` is the shard's real size."""
    owner = np.asarray(teacher_of)
    if owner.shape != (n,):
        raise ValueError(f"teacher_of must have shape ({n},), one teacher per example, got shape {owner.shape}")
    if owner.dtype.kind not in "iu" or (owner < 0).any() or (owner >= num_teachers).any():
        raise ValueError(f"teacher_of must hold teacher numbers 0..{num_teachers - 1}")
    sizes = np.bincount(owner, minlength=num_teachers)
    if (sizes == 0).any():
        raise ValueError(f"teacher_of gives no example to teacher {int(np.argmin(sizes))}: use fewer teachers")
    order = np.argsort(owner, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.minimum(np.arange(sizes.max())[None, :], sizes[:, None] - 1)
    return order[starts[:, None] + pos].astype(np.int64), sizes.astype(np.int64)


def _teachers_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Sum over teachers of each teacher's mean cross-entropy; targets ``-100`` (padding) are left out.

    ``logits (T, B, K)``, ``targets (T, B)``. Each teacher's term depends only on its own weights,
    so the gradient of the sum gives every teacher exactly its own gradient.
    """
    k = logits.shape[-1]
    ce = F.cross_entropy(logits.reshape(-1, k), targets.reshape(-1), reduction="none",
                         ignore_index=_PADDING).reshape(targets.shape)
    valid = targets != _PADDING
    return ((ce * valid).sum(dim=1) / valid.sum(dim=1).clamp(min=1)).sum()


class PerModelAdam:
    """Adam for stacked models: every model (index 0 of each parameter) has its own moments and step count.

    Parameters have shape ``(num_models, ...)``. :meth:`step` updates only the models in ``active`` (a
    boolean tensor, default all): exactly ``torch.optim.Adam`` (default betas and eps, no weight decay,
    its fused CPU kernel) run on each active model's own slices, with that model's own step count in the
    bias correction; an inactive model's weights, moments and step count are left as they were. So a
    model that takes fewer steps than another is trained as if alone, not pushed by Adam's momentum in
    steps in which it has no data. It has the two methods :func:`helpers.training.fit` calls,
    ``zero_grad`` and ``step``, and is deliberately not a ``torch.optim.Optimizer``: that base class
    imports ``torch._dynamo`` when it is built (about 2 s, a tenth of lesson 04's quick run).
    """

    def __init__(self, params: Any, *, num_models: int, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        self.params = list(params)
        self.num_models = check_positive_int(num_models, "num_models")
        self.lr = check_positive(lr, "lr")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = check_positive(eps, "eps")
        self.active = torch.ones(self.num_models, dtype=torch.bool)
        self.model_steps = torch.zeros(self.num_models, dtype=torch.float32)
        self.state: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:  # noqa: ARG002 - torch's signature
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        models = torch.nonzero(torch.as_tensor(self.active)).flatten().tolist()
        params, grads, avgs, sqs, steps = [], [], [], [], []
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            if p.shape[0] != self.num_models:
                raise ValueError(f"parameters must have shape (num_models={self.num_models}, ...), got {tuple(p.shape)}")
            if i not in self.state:
                self.state[i] = (torch.zeros_like(p), torch.zeros_like(p))
            exp_avg, exp_avg_sq = self.state[i]
            for t in models:  # model t's slices, with a copy of model t's step count (Adam adds 1 to it)
                params.append(p[t])
                grads.append(p.grad[t])
                avgs.append(exp_avg[t])
                sqs.append(exp_avg_sq[t])
                steps.append(self.model_steps[t].clone())
        if params:
            beta1, beta2 = self.betas
            if hasattr(torch, "_fused_adam_"):  # what torch.optim.Adam(fused=True) runs, without its dynamo import
                torch._foreach_add_(steps, 1)
                torch._fused_adam_(params, grads, avgs, sqs, [], steps, amsgrad=False, lr=self.lr, beta1=beta1,
                                   beta2=beta2, weight_decay=0.0, eps=self.eps, maximize=False)
            else:  # pragma: no cover - a torch without the fused kernel
                from torch.optim.adam import adam

                adam(params, grads, avgs, sqs, [], steps, foreach=False, amsgrad=False, beta1=beta1, beta2=beta2,
                     lr=self.lr, weight_decay=0.0, eps=self.eps, maximize=False)
        self.model_steps[models] += 1


def _shard_batches(xs: torch.Tensor, ys: torch.Tensor, sizes: torch.Tensor, batch_size: int,
                   generators: list[torch.Generator], opt: PerModelAdam
                   ) -> tuple[int, Callable[[int], Iterator[tuple[torch.Tensor, torch.Tensor]]]]:
    """``(steps per epoch, batches)`` for :func:`helpers.training.fit`.

    Teacher ``t`` takes ``ceil(sizes[t] / batch_size)`` steps per epoch — a number that depends on its own
    shard only: every epoch it shuffles its own shard with its own generator and cuts it into that many
    nearly equal minibatches. The epoch lasts as many steps as the largest of these; in the steps after its
    own, a teacher is padded out (no example) and ``opt.active`` leaves it untouched. Minibatch ``s`` of
    all teachers is one ``(T, B, d)`` tensor, the places of teachers with fewer examples padded."""
    num_models, width = ys.shape
    rows = torch.arange(num_models)[:, None]
    own_steps = -(-sizes // batch_size)  # (T,): teacher t's minibatches per epoch, from its own shard size
    steps = int(own_steps.max())
    j = torch.arange(steps + 1)
    # teacher t's minibatch j: positions bounds[t, j] .. bounds[t, j+1] of its shuffled shard (empty for j >= own_steps)
    bounds = (torch.minimum(j[None, :], own_steps[:, None]) * sizes[:, None]) // own_steps[:, None]
    counts = bounds[:, 1:] - bounds[:, :-1]  # (T, steps), each at most batch_size
    cols = torch.arange(int(counts.max()))

    def batches(_epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = torch.zeros(num_models, width, dtype=torch.long)
        for t, g in enumerate(generators):
            order[t, : int(sizes[t])] = torch.randperm(int(sizes[t]), generator=g)
        for s in range(steps):
            pos = bounds[:, s, None] + cols[None, :]
            valid = cols[None, :] < counts[:, s, None]
            idx = order[rows, torch.minimum(pos, sizes[:, None] - 1)]
            opt.active = counts[:, s] > 0
            yield xs[rows, idx], torch.where(valid, ys[rows, idx], _PADDING)

    return steps, batches


def predict(model: Any, x: Any, *, batch_size: int = 2048) -> np.ndarray:
    """Labels predicted by every model of a batched model: ``int64`` array ``(num_models, N)``.

    Rows are models (teachers), columns queries: the layout :func:`helpers.pate.vote_counts`
    expects. :func:`helpers.training.predict` on PATE's features (``uint8`` images scaled to [0, 1]).
    """
    return training.predict(model, _features(x), batch_size=batch_size)


def train_student(x: Any, y: Any, *, hidden: int = 128, epochs: int = 60, batch_size: int = 64, lr: float = 1e-3,
                  num_classes: int | None = None, generator: torch.Generator | None = None, seed: int | None = 0,
                  progress: bool = False, num_threads: int | None = 1) -> Any:
    """Train the student: one MLP on public images ``x`` labelled by the aggregator (``y``).

    A single-model :func:`train_teachers` (same architecture and optimiser). The student sees
    only public data and the noisy labels, so by post-processing it inherits their (ε, δ).
    ``generator`` (``torch.Generator``) draws the initial weights and the shuffles; without one,
    a generator seeded with ``seed`` (the older, shorter spelling).
    """
    n = len(np.asarray(y))
    if n == 0:
        raise ValueError("y must not be empty")
    return train_teachers(x, y, 1, teacher_of=np.zeros(n, dtype=np.int64), hidden=hidden, epochs=epochs,
                          batch_size=batch_size, lr=lr, num_classes=num_classes, generator=generator, seed=seed,
                          progress=progress, num_threads=num_threads)


def accuracy(model: Any, x: Any, y: Any) -> Any:
    """Fraction of correct predictions of each model: a float for one model, else an array
    (:func:`helpers.training.accuracy` on PATE's features)."""
    return training.accuracy(model, _features(x), y, batch_size=2048)
