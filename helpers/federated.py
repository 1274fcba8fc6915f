r"""Federated learning from scratch: FedAvg, FedSGD, DP-FedAvg and secure aggregation in miniature.

Introduced in lesson 06. A model's weights travel as a ``dict[str, numpy.ndarray]`` (its
``state_dict`` as float32 arrays, :func:`get_weights`), so the server side is NumPy only and the
same functions serve the from-scratch loop, the Flower apps (:mod:`helpers.flower`) and the tests.

* :func:`weighted_average` — FedAvg's aggregation, :math:`w = \sum_k \frac{n_k}{n} w_k`;
* :func:`client_update` — one client's local training (E epochs of minibatch SGD with batch B,
  through :func:`helpers.training.fit`, the course's one training loop);
* :func:`fedavg` / :func:`fedsgd` — the server loop with client fraction C (McMahan et al. 2017);
* :func:`clip_update`, :func:`dp_fedavg_aggregate`, :func:`dp_fedavg`, :func:`dp_fedavg_epsilon` —
  DP-FedAvg (McMahan et al. 2018), user-level (ε, δ)-DP;
* :func:`mask_inputs`, :func:`unmask_sum`, :func:`quantize`, :func:`dequantize` — pairwise additive
  masks (the core of Bonawitz et al. 2017's secure aggregation, without key agreement or dropouts).

**What is and is not private here.** Plain FedAvg / FedSGD give *no* differential privacy: the
data stays on the clients, but each client's update (a function of its data) reaches the server
in the clear, and updates can leak training examples (Zhu et al. 2019; lesson 07). DP-FedAvg is
(ε, δ)-DP with respect to adding or removing **one client's entire dataset** (user-level DP) for
everything released after aggregation (every intermediate and the final global model) — provided
the server is trusted to clip and add the noise honestly: the server itself still sees each raw
update. Secure aggregation hides the individual updates from the server (it learns only the sum)
but is not DP: the sum itself can still reveal a client; the two are combined in practice.

References
----------
McMahan, Moore, Ramage, Hampson & Agüera y Arcas, "Communication-efficient learning of deep
networks from decentralized data", AISTATS 2017. McMahan, Ramage, Talwar & Zhang, "Learning
differentially private recurrent language models", ICLR 2018. Bonawitz et al., "Practical secure
aggregation for privacy-preserving machine learning", CCS 2017.
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import check_delta, check_nonnegative, check_positive, check_positive_int, check_probability

if TYPE_CHECKING:  # torch is imported on first use: the server side needs NumPy only
    import torch
    from torch import nn

__all__ = [
    "Weights",
    "get_weights",
    "set_weights",
    "weighted_average",
    "client_update",
    "client_seed",
    "sample_clients",
    "FederatedResult",
    "fedavg",
    "fedsgd",
    "update_norm",
    "clip_update",
    "dp_fedavg_aggregate",
    "dp_fedavg_epsilon",
    "dp_fedavg",
    "mask_inputs",
    "unmask_sum",
    "quantize",
    "dequantize",
]

Weights = dict[str, np.ndarray]
"""A model's weights: parameter name -> float32 array (the order of ``model.state_dict()``)."""


# ----------------------------------------------------------------------------- weights


def get_weights(model: nn.Module) -> Weights:
    """The model's ``state_dict`` as float32 NumPy copies (name -> array)."""
    return {k: v.detach().cpu().numpy().astype(np.float32, copy=True) for k, v in model.state_dict().items()}


def set_weights(model: nn.Module, weights: Mapping[str, np.ndarray]) -> None:
    """Load ``weights`` (name -> array, every key of the model's ``state_dict``) into ``model`` in place."""
    import torch

    state = model.state_dict()
    if set(weights) != set(state):
        raise ValueError(f"weights have keys {sorted(weights)}, the model has {sorted(state)}")
    model.load_state_dict({k: torch.as_tensor(np.asarray(weights[k]), dtype=state[k].dtype).reshape(state[k].shape)
                           for k in state})


def _check_weights_list(weights: Any, name: str) -> list[Mapping[str, np.ndarray]]:
    if not isinstance(weights, Sequence) or isinstance(weights, (str, bytes)) or len(weights) == 0:
        raise ValueError(f"{name} must be a non-empty list of dicts name -> array, got {type(weights).__name__}")
    keys = None
    for i, w in enumerate(weights):
        if not isinstance(w, Mapping):
            raise ValueError(f"{name}[{i}] must be a dict name -> array, got {type(w).__name__}")
        if keys is None:
            keys = list(w)
        elif set(w) != set(keys):
            raise ValueError(f"{name}[{i}] has keys {sorted(w)}, {name}[0] has {sorted(keys)}")
        for k in keys:
            if np.shape(w[k]) != np.shape(weights[0][k]):
                raise ValueError(f"{name}[{i}][{k!r}] has shape {np.shape(w[k])}, {name}[0] has {np.shape(weights[0][k])}")
    return list(weights)


# ----------------------------------------------------------------------------- FedAvg


def weighted_average(client_weights: Sequence[Mapping[str, np.ndarray]], num_examples: Sequence[int]) -> Weights:
    r"""FedAvg's aggregation: the average of the clients' weights, weighted by their data sizes.

    .. math::  w = \sum_{k} \frac{n_k}{n}\, w_k, \qquad n = \sum_k n_k

    (McMahan et al. 2017, Algorithm 1). With equal sizes this is the plain mean; with unequal sizes a
    client with more examples counts more, which makes FedAvg with E = 1, B = ∞ one step of
    full-batch gradient descent on the union of the clients' data (FedSGD).

    No privacy guarantee: the server computes this from every client's weights in the clear.

    Parameters
    ----------
    client_weights
        One dict name -> array per client, all with the same keys and shapes.
    num_examples
        :math:`n_k`, the number of training examples of each client (integers >= 1).

    Returns
    -------
    dict[str, numpy.ndarray]
        name -> float32 array (computed in float64, then cast).

    Raises
    ------
    ValueError
        If the lists are empty or of different lengths, keys or shapes differ, or a size is < 1.
    """
    client_weights = _check_weights_list(client_weights, "client_weights")
    sizes = np.asarray(num_examples)
    if sizes.ndim != 1 or len(sizes) != len(client_weights):
        raise ValueError(f"num_examples must have one entry per client ({len(client_weights)}), got {num_examples!r}")
    if sizes.dtype.kind not in "iu" or np.any(sizes < 1):
        raise ValueError(f"num_examples must be integers >= 1, got {num_examples!r}")
    share = sizes.astype(np.float64) / sizes.sum()
    return {k: sum(p * np.asarray(w[k], dtype=np.float64) for p, w in zip(share, client_weights)).astype(np.float32)
            for k in client_weights[0]}


def client_update(
    model: nn.Module,
    weights: Mapping[str, np.ndarray],
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    generator: torch.Generator | None = None,
) -> tuple[Weights, int]:
    """One client's local update: start from the global weights, run E epochs of minibatch SGD.

    A copy of ``model`` (the architecture; it is not modified) gets ``weights``, is trained on the
    client's ``(x, y)`` with :func:`helpers.training.fit` (plain SGD, learning rate ``lr``, batches of
    ``batch_size`` in an order drawn from ``generator``), and its new weights are returned with the
    client's number of examples, which the server uses as the client's weight (McMahan et al. 2017,
    Algorithm 1, ClientUpdate).

    No privacy guarantee: the returned weights are a function of the client's data.

    Returns
    -------
    (dict[str, numpy.ndarray], int)
        The trained weights (float32) and ``len(x)``.
    """
    from . import training

    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_positive(lr, "lr")
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be non-empty and of the same length, got {len(x)} and {len(y)}")
    local = copy.deepcopy(model)
    set_weights(local, weights)
    training.fit(local, x, y, epochs=epochs, batch_size=batch_size, lr=lr, generator=generator, progress=False)
    return get_weights(local), len(x)


def client_seed(seed: int, round_: int, client: int) -> int:
    """The seed of client ``client``'s generator in round ``round_`` (1-based) of a run with ``seed``.

    One function, so that the from-scratch loop and the Flower ClientApp draw the same minibatches.
    """
    return int(np.random.SeedSequence([int(seed), int(round_), int(client)]).generate_state(1, np.uint32)[0])


def sample_clients(num_clients: int, *, fraction: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """FedAvg's client selection: m = max(1, round(C·K)) distinct clients, uniformly at random.

    (McMahan et al. 2017: "a random fraction C of clients is selected" each round.) Sorted int64 ids.
    """
    num_clients = check_positive_int(num_clients, "num_clients")
    fraction = check_probability(fraction, "fraction", open_low=True)
    rng = rng if rng is not None else np.random.default_rng()
    m = max(1, int(round(fraction * num_clients)))
    return np.sort(rng.choice(num_clients, size=m, replace=False)).astype(np.int64)


@dataclass
class FederatedResult:
    """What a federated run returns.

    ``accuracy[t]`` is the global model's test accuracy after round t+1 (empty without eval data);
    ``selected[t]`` the clients of round t+1; ``epsilon`` the user-level ε of DP-FedAvg (None otherwise).
    """

    weights: Weights
    accuracy: list[float] = field(default_factory=list)
    selected: list[np.ndarray] = field(default_factory=list)
    seconds: float = 0.0
    epsilon: float | None = None
    delta: float | None = None


def _as_tensors(x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    return torch.as_tensor(np.asarray(x), dtype=torch.float32), torch.as_tensor(np.asarray(y), dtype=torch.long)


def _check_clients(clients: Any) -> list[tuple[Any, Any]]:
    if not isinstance(clients, Sequence) or len(clients) == 0:
        raise ValueError("clients must be a non-empty list of (x, y) pairs")
    for k, c in enumerate(clients):
        if len(c) != 2 or len(c[0]) != len(c[1]) or len(c[0]) == 0:
            raise ValueError(f"clients[{k}] must be a pair (x, y) of the same non-zero length")
    return list(clients)


def _evaluate(model: nn.Module, weights: Weights, eval_data: Any) -> float:
    from . import training

    set_weights(model, weights)
    x, y = _as_tensors(*eval_data)
    return float(training.accuracy(model, x, y))


def fedavg(
    model: nn.Module,
    clients: Sequence[tuple[Any, Any]],
    *,
    rounds: int,
    client_fraction: float,
    epochs: int,
    batch_size: int | None,
    lr: float,
    seed: int = 0,
    initial_weights: Mapping[str, np.ndarray] | None = None,
    eval_data: tuple[Any, Any] | None = None,
    target_accuracy: float | None = None,
    progress: bool = False,
) -> FederatedResult:
    """Federated averaging (McMahan et al. 2017, Algorithm 1), simulated in one process.

    Each round t = 1..T: select m = max(1, round(C·K)) clients (:func:`sample_clients`, generator
    ``default_rng([seed, t])``); each runs :func:`client_update` from the global weights with a
    generator seeded by :func:`client_seed` ``(seed, t, k)``; the server replaces the global weights
    by :func:`weighted_average` of the returned weights, weighted by the clients' sizes.
    ``batch_size=None`` means the whole client dataset (B = ∞); a client with fewer than B examples
    takes one batch of all of them.

    No privacy guarantee: data stays on the clients, but the server sees every client's weights.

    Parameters
    ----------
    model
        The architecture (and, without ``initial_weights``, the initial weights); not modified.
    clients
        One ``(x, y)`` pair (arrays or tensors) per client.
    rounds, client_fraction, epochs, batch_size, lr
        T, C, E, B and the clients' SGD learning rate.
    seed
        Seeds client selection and every client's minibatch order.
    eval_data
        ``(x_test, y_test)``: the global model's accuracy is recorded after every round.
    target_accuracy
        Stop after the first round whose test accuracy reaches it (needs ``eval_data``).
    """
    clients = _check_clients(clients)
    rounds = check_positive_int(rounds, "rounds")
    client_fraction = check_probability(client_fraction, "client_fraction", open_low=True)
    tensors = [_as_tensors(x, y) for x, y in clients]
    work = copy.deepcopy(model)
    weights = dict(initial_weights) if initial_weights is not None else get_weights(model)
    result = FederatedResult(weights=weights)
    start = time.perf_counter()
    iterator: Any = range(1, rounds + 1)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="FedAvg rounds", leave=False)
    for t in iterator:
        chosen = sample_clients(len(clients), fraction=client_fraction, rng=np.random.default_rng([seed, t]))
        new, sizes = [], []
        for k in chosen:
            import torch

            x, y = tensors[k]
            gen = torch.Generator().manual_seed(client_seed(seed, t, int(k)))
            w, n = client_update(work, weights, x, y, epochs=epochs, batch_size=min(batch_size or len(x), len(x)), lr=lr,
                                 generator=gen)
            new.append(w)
            sizes.append(n)
        weights = weighted_average(new, sizes)
        result.selected.append(chosen)
        if eval_data is not None:
            result.accuracy.append(_evaluate(work, weights, eval_data))
            if target_accuracy is not None and result.accuracy[-1] >= target_accuracy:
                break
    result.weights = weights
    result.seconds = time.perf_counter() - start
    return result


def fedsgd(model: nn.Module, clients: Sequence[tuple[Any, Any]], *, rounds: int, client_fraction: float, lr: float,
           **kwargs: Any) -> FederatedResult:
    """FedSGD: :func:`fedavg` with E = 1 and B = ∞ (one full-batch gradient step per selected client).

    Averaging the clients' one-step weights by size equals one gradient step on the selected
    clients' pooled data (McMahan et al. 2017, §2). No privacy guarantee.
    """
    return fedavg(model, clients, rounds=rounds, client_fraction=client_fraction, epochs=1, batch_size=None, lr=lr,
                  **kwargs)


# ----------------------------------------------------------------------------- DP-FedAvg


def update_norm(update: Mapping[str, np.ndarray]) -> float:
    """The L2 norm of a whole update: all of its arrays flattened into one vector."""
    return float(math.sqrt(sum(float(np.sum(np.square(np.asarray(v, dtype=np.float64)))) for v in update.values())))


def clip_update(update: Mapping[str, np.ndarray], *, clip_norm: float) -> Weights:
    r"""Scale a client's update to L2 norm at most S: :math:`\Delta\cdot\min(1, S/\lVert\Delta\rVert_2)`.

    The norm is over the *whole* update (every layer together), so the clipped update — one client's
    entire contribution to a round — has norm <= S. Float64 arrays.
    """
    clip_norm = check_positive(clip_norm, "clip_norm")
    norm = update_norm(update)
    factor = min(1.0, clip_norm / norm) if norm > 0 else 1.0
    return {k: np.asarray(v, dtype=np.float64) * factor for k, v in update.items()}


def dp_fedavg_aggregate(
    updates: Sequence[Mapping[str, np.ndarray]],
    *,
    clip_norm: float,
    noise_multiplier: float,
    expected_clients: float,
    rng: np.random.Generator | None = None,
) -> Weights:
    r"""DP-FedAvg's aggregation: clip each client's update, add Gaussian noise once to the sum.

    .. math::  \tilde\Delta = \frac{1}{qK}\Big(\sum_{k} \operatorname{clip}_S(\Delta_k) + \mathcal N(0, \sigma^2 S^2 I)\Big)

    (McMahan et al. 2018, Algorithm 1 with the fixed-denominator estimator and equal client weights).
    Adding or removing one client changes the clipped sum by at most S in L2 norm, so the noisy sum
    is a Gaussian mechanism with noise multiplier σ; dividing by the *expected* number of clients qK
    (a public constant, not the realised count) keeps it so. The noise is drawn with
    ``rng.normal(0.0, noise_multiplier * clip_norm, size=shape)`` once per array, in key order.

    Guarantee: one round is user-level DP (neighbours differ in one client's whole dataset); over
    rounds with Poisson-sampled clients see :func:`dp_fedavg_epsilon`.

    Returns
    -------
    dict[str, numpy.ndarray]
        The noisy average update (float64); the server adds it to the global weights.
    """
    updates = _check_weights_list(updates, "updates")
    clip_norm = check_positive(clip_norm, "clip_norm")
    noise_multiplier = check_nonnegative(noise_multiplier, "noise_multiplier")
    expected_clients = check_positive(expected_clients, "expected_clients")
    rng = rng if rng is not None else np.random.default_rng()
    clipped = [clip_update(u, clip_norm=clip_norm) for u in updates]
    return _noisy_mean(clipped, updates[0], clip_norm, noise_multiplier, expected_clients, rng)


def _noisy_mean(clipped: list[Weights], template: Mapping[str, np.ndarray], clip_norm: float, sigma: float,
                expected: float, rng: np.random.Generator) -> Weights:
    out = {}
    for k, v in template.items():
        total = sum((c[k] for c in clipped), np.zeros(np.shape(v), dtype=np.float64))
        out[k] = (total + rng.normal(0.0, sigma * clip_norm, size=np.shape(v))) / expected
    return out


def dp_fedavg_epsilon(*, noise_multiplier: float, sample_rate: float, rounds: int, delta: float) -> float:
    r"""User-level ε of DP-FedAvg after ``rounds`` rounds, at δ.

    Each round is a Poisson-subsampled Gaussian mechanism on the clipped sum (each client joins
    independently with probability q, sensitivity S, noise σS), exactly DP-SGD's step with clients in
    place of examples; ε is :func:`helpers.accounting.epsilon` (RDP of the subsampled Gaussian,
    Mironov, Talwar & Zhang 2019, converted to (ε, δ)). Privacy unit: adding or removing one client
    with all of its data (McMahan et al. 2018). Holds for everything the server releases after
    aggregation (all intermediate global models), not against the server, which sees raw updates.
    """
    from . import accounting

    return accounting.epsilon(noise_multiplier=noise_multiplier, sample_rate=sample_rate, steps=rounds, delta=delta)


def dp_fedavg(
    model: nn.Module,
    clients: Sequence[tuple[Any, Any]],
    *,
    rounds: int,
    sample_rate: float,
    clip_norm: float,
    noise_multiplier: float,
    delta: float,
    epochs: int,
    batch_size: int,
    lr: float,
    server_lr: float = 1.0,
    seed: int = 0,
    initial_weights: Mapping[str, np.ndarray] | None = None,
    eval_data: tuple[Any, Any] | None = None,
    progress: bool = False,
) -> FederatedResult:
    r"""DP-FedAvg (McMahan et al. 2018): user-level (ε, δ)-DP federated averaging.

    Each round: every client joins independently with probability q (Poisson sampling, generator
    ``default_rng([seed, t])``); each participant trains locally (:func:`client_update`) and sends
    :math:`\Delta_k = w_k - w`; the server adds ``server_lr`` × :func:`dp_fedavg_aggregate`
    (clip to S, one draw of :math:`\mathcal N(0,\sigma^2S^2)` on the sum, divide by qK), noise
    included even in a round where nobody was sampled.

    Guarantee: (ε, δ)-DP with ε = :func:`dp_fedavg_epsilon` (stored in the result; ``inf`` for
    ``noise_multiplier=0``, which only clips) with respect to
    adding or removing one client's entire dataset, for the sequence of global models. The server is
    trusted: it sees each Δ_k before clipping. Local training itself is not private.
    """
    clients = _check_clients(clients)
    rounds = check_positive_int(rounds, "rounds")
    q = check_probability(sample_rate, "sample_rate", open_low=True)
    clip_norm = check_positive(clip_norm, "clip_norm")
    sigma = check_nonnegative(noise_multiplier, "noise_multiplier")
    delta = check_delta(delta)
    tensors = [_as_tensors(x, y) for x, y in clients]
    work = copy.deepcopy(model)
    weights = {k: np.asarray(v, dtype=np.float32) for k, v in (initial_weights or get_weights(model)).items()}
    result = FederatedResult(weights=weights, delta=delta)
    start = time.perf_counter()
    iterator: Any = range(1, rounds + 1)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="DP-FedAvg rounds", leave=False)
    import torch

    for t in iterator:
        rng = np.random.default_rng([seed, t])
        chosen = np.flatnonzero(rng.random(len(clients)) < q).astype(np.int64)
        clipped = []
        for k in chosen:
            x, y = tensors[k]
            gen = torch.Generator().manual_seed(client_seed(seed, t, int(k)))
            w, _ = client_update(work, weights, x, y, epochs=epochs, batch_size=min(batch_size, len(x)), lr=lr,
                                 generator=gen)
            clipped.append(clip_update({n: w[n].astype(np.float64) - weights[n] for n in weights}, clip_norm=clip_norm))
        noisy = _noisy_mean(clipped, weights, clip_norm, sigma, q * len(clients), rng)
        weights = {n: (weights[n] + server_lr * noisy[n]).astype(np.float32) for n in weights}
        result.selected.append(chosen)
        if eval_data is not None:
            result.accuracy.append(_evaluate(work, weights, eval_data))
    result.weights = weights
    result.seconds = time.perf_counter() - start
    # σ = 0 (clipping only) releases the clipped sum exactly: no finite ε
    result.epsilon = (dp_fedavg_epsilon(noise_multiplier=sigma, sample_rate=q, rounds=rounds, delta=delta)
                      if sigma > 0 else math.inf)
    return result


# ----------------------------------------------------------------------------- secure aggregation (toy)


def _check_bits(bits: Any) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 64:
        raise ValueError(f"bits must be an integer in [1, 64], got {bits!r}")
    return int(bits)


def _modmask(bits: int) -> np.uint64:
    return np.uint64((1 << bits) - 1)


def mask_inputs(values: Sequence[np.ndarray], *, bits: int, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    r"""Pairwise additive masking (Bonawitz et al. 2017, the dropout-free core), modulo :math:`2^b`.

    Every pair of clients i < j shares a mask :math:`m_{ij}` uniform on :math:`\{0,\dots,2^b-1\}`;
    client i sends :math:`y_i = x_i + \sum_{j>i} m_{ij} - \sum_{j<i} m_{ji} \bmod 2^b`. The masks cancel
    in :math:`\sum_i y_i`, so the server learns :math:`\sum_i x_i \bmod 2^b` (:func:`unmask_sum`), while
    each :math:`y_i` alone (n >= 2) is uniform on :math:`\{0,\dots,2^b-1\}` whatever :math:`x_i` is.

    Toy: the masks come from one generator (the real protocol derives :math:`m_{ij}` from a key the two
    clients agree on, and secret-shares keys so that dropouts can be handled). Masks are drawn with
    ``rng.integers(0, 2**bits, size=shape, dtype=np.uint64)`` for the pairs in the order
    (0,1), (0,2), ..., (1,2), ...

    Guarantee (information-theoretic, against the server alone, honest clients): the server's view is
    the masked vectors, whose joint distribution depends only on the sum. Not differential privacy:
    the sum itself is revealed exactly.

    Parameters
    ----------
    values
        One integer array per client (same shape), entries in [0, 2**bits).
    bits
        The modulus is 2**bits (1..64).

    Returns
    -------
    list[numpy.ndarray]
        The masked uint64 arrays, one per client.
    """
    bits = _check_bits(bits)
    if not isinstance(values, Sequence) or len(values) < 2:
        raise ValueError("values must be a list of at least 2 integer arrays (one per client)")
    arrays = [np.asarray(v) for v in values]
    for i, a in enumerate(arrays):
        if a.dtype.kind not in "iu":
            raise ValueError(f"values[{i}] must be an integer array, got dtype {a.dtype}")
        if a.shape != arrays[0].shape:
            raise ValueError(f"values[{i}] has shape {a.shape}, values[0] has {arrays[0].shape}")
        if a.size and (a.min() < 0 or (bits < 64 and int(a.max()) >= 1 << bits)):
            raise ValueError(f"values[{i}] has entries outside [0, 2**{bits})")
    rng = rng if rng is not None else np.random.default_rng()
    top = _modmask(bits)
    out = [a.astype(np.uint64) for a in arrays]
    n = len(out)
    for i in range(n):
        for j in range(i + 1, n):
            m = rng.integers(0, 1 << bits, size=out[0].shape, dtype=np.uint64, endpoint=False) if bits < 64 else \
                rng.integers(0, np.iinfo(np.uint64).max, size=out[0].shape, dtype=np.uint64, endpoint=True)
            out[i] = out[i] + m  # uint64 arithmetic wraps modulo 2**64, a multiple of 2**bits
            out[j] = out[j] - m
    return [o & top for o in out]


def unmask_sum(masked: Sequence[np.ndarray], *, bits: int) -> np.ndarray:
    """The server's step: add the masked vectors modulo 2**bits; the pairwise masks cancel (uint64)."""
    bits = _check_bits(bits)
    if len(masked) == 0:
        raise ValueError("masked must be a non-empty list of arrays")
    total = np.zeros(np.shape(masked[0]), dtype=np.uint64)
    for m in masked:
        total = total + np.asarray(m, dtype=np.uint64)
    return total & _modmask(bits)


def quantize(x: np.ndarray, *, clip: float, bits: int, num_clients: int) -> np.ndarray:
    r"""Fixed-point encoding of a float vector into :math:`\{0,\dots,2^b-1\}` for masked summation.

    Clips to [-clip, clip], maps to integers with step :math:`2\,\mathrm{clip}/(2^{b'}-1)` where
    :math:`b' = b - \lceil\log_2 n\rceil` leaves room for the sum of ``num_clients`` values not to wrap.
    Deterministic rounding (a toy; production systems use randomized rounding).
    """
    bits = _check_bits(bits)
    num_clients = check_positive_int(num_clients, "num_clients")
    clip = check_positive(clip, "clip")
    room = bits - math.ceil(math.log2(num_clients)) if num_clients > 1 else bits
    if room < 2:
        raise ValueError(f"bits={bits} leaves no room for the sum of {num_clients} clients")
    levels = (1 << room) - 1
    z = (np.clip(np.asarray(x, dtype=np.float64), -clip, clip) + clip) / (2 * clip) * levels
    return np.rint(z).astype(np.uint64)


def dequantize(total: np.ndarray, *, clip: float, bits: int, num_clients: int) -> np.ndarray:
    """Decode the sum of ``num_clients`` :func:`quantize` outputs back to the sum of the floats."""
    bits = _check_bits(bits)
    num_clients = check_positive_int(num_clients, "num_clients")
    clip = check_positive(clip, "clip")
    room = bits - math.ceil(math.log2(num_clients)) if num_clients > 1 else bits
    levels = (1 << room) - 1
    return np.asarray(total, dtype=np.float64) / levels * (2 * clip) - num_clients * clip
