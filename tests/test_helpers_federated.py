"""helpers.federated: FedAvg aggregation, the server loop, DP-FedAvg's noise and ε, pairwise masks."""
from __future__ import annotations

import math

import numpy as np
import pytest

import helpers.federated as fed

torch = pytest.importorskip("torch")


def _weights(rng, scale=1.0):
    return {"w": (rng.normal(size=(3, 4)) * scale).astype(np.float32), "b": (rng.normal(size=4) * scale).astype(np.float32)}


# ----------------------------------------------------------------------------- aggregation


def test_weighted_average_exact_with_unequal_sizes():
    rng = np.random.default_rng(0)
    ws = [_weights(rng) for _ in range(3)]
    sizes = [1, 10, 89]
    got = fed.weighted_average(ws, sizes)
    for k in ws[0]:
        expected = (1 * ws[0][k].astype(np.float64) + 10 * ws[1][k] + 89 * ws[2][k]) / 100
        np.testing.assert_allclose(got[k], expected, rtol=1e-6, atol=1e-7)
        assert got[k].dtype == np.float32
    # unequal sizes: not the plain mean
    assert not np.allclose(got["w"], np.mean([w["w"] for w in ws], axis=0), atol=1e-3)
    # equal sizes: the plain mean
    np.testing.assert_allclose(fed.weighted_average(ws, [5, 5, 5])["b"], np.mean([w["b"] for w in ws], axis=0), rtol=1e-6)


def test_weighted_average_equals_pooled_gradient_step():
    # FedSGD identity: averaging one full-batch GD step per client by size = one GD step on the union
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=5)
    data = [(rng.normal(size=(n, 5)), rng.normal(size=n)) for n in (3, 17, 40)]
    grad = lambda w, x, y: x.T @ (x @ w - y) / len(y)  # noqa: E731
    steps = [{"w": w0 - 0.1 * grad(w0, x, y)} for x, y in data]
    got = fed.weighted_average(steps, [len(y) for _, y in data])["w"]
    x, y = np.vstack([d[0] for d in data]), np.concatenate([d[1] for d in data])
    np.testing.assert_allclose(got, w0 - 0.1 * grad(w0, x, y), rtol=1e-5)


@pytest.mark.parametrize("bad", [
    dict(num_examples=[1, 2]), dict(num_examples=[1, 0, 3]), dict(num_examples=[1.5, 2, 3]),
])
def test_weighted_average_validates(bad):
    ws = [_weights(np.random.default_rng(i)) for i in range(3)]
    with pytest.raises(ValueError):
        fed.weighted_average(ws, **bad)
    with pytest.raises(ValueError):
        fed.weighted_average([], [])
    with pytest.raises(ValueError):
        fed.weighted_average([ws[0], {"w": ws[1]["w"]}], [1, 1])


# ----------------------------------------------------------------------------- client update and server loop


def _tiny():
    from helpers import models

    return models.mlp(in_features=6, hidden=5, num_classes=3, generator=torch.Generator().manual_seed(0))


def _clients(rng, sizes=(7, 20, 33, 12)):
    out = []
    for n in sizes:
        x = rng.normal(size=(n, 6)).astype(np.float32)
        out.append((x, (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1)))
    return out


def test_client_update_leaves_model_alone_and_reproduces():
    model = _tiny()
    before = fed.get_weights(model)
    x, y = _clients(np.random.default_rng(0))[1]
    w1, n = fed.client_update(model, before, torch.tensor(x), torch.tensor(y), epochs=2, batch_size=4, lr=0.1,
                              generator=torch.Generator().manual_seed(3))
    w2, _ = fed.client_update(model, before, torch.tensor(x), torch.tensor(y), epochs=2, batch_size=4, lr=0.1,
                              generator=torch.Generator().manual_seed(3))
    assert n == 20
    for k in before:
        np.testing.assert_array_equal(fed.get_weights(model)[k], before[k])
        np.testing.assert_array_equal(w1[k], w2[k])
    assert any(not np.allclose(w1[k], before[k]) for k in before)


def test_client_update_is_fit_with_torch_sgd_bit_for_bit():
    """training.fit's default optimizer ("sgd", momentum 0) is helpers._plain_sgd.PlainSGD, not torch.optim.SGD
    (whose first use imports torch._dynamo: seconds per Flower ClientApp process); client_update (and so the
    lesson's exercise, Flower's clients and fedavg) must compute exactly what torch.optim.SGD computes."""
    import copy

    from helpers import training

    model = _tiny()
    rng = np.random.default_rng(5)
    start = {k: (v + rng.normal(size=v.shape) * 0.3).astype(np.float32) for k, v in fed.get_weights(model).items()}
    x, y = _clients(rng)[2]
    got, _ = fed.client_update(model, start, torch.tensor(x), torch.tensor(y), epochs=3, batch_size=5, lr=0.3,
                               generator=torch.Generator().manual_seed(9))
    local = copy.deepcopy(model)
    fed.set_weights(local, start)
    training.fit(local, torch.tensor(x), torch.tensor(y), epochs=3, batch_size=5, lr=0.3,
                 optimizer=torch.optim.SGD(local.parameters(), lr=0.3),
                 generator=torch.Generator().manual_seed(9), progress=False)
    assert any(not np.array_equal(got[k], start[k]) for k in start)
    for k, v in fed.get_weights(local).items():
        np.testing.assert_array_equal(got[k], v)


def test_fedavg_round_is_weighted_average_of_client_updates():
    model = _tiny()
    clients = _clients(np.random.default_rng(2))
    res = fed.fedavg(model, clients, rounds=1, client_fraction=1.0, epochs=1, batch_size=5, lr=0.1, seed=4)
    w0 = fed.get_weights(model)
    news = []
    for k, (x, y) in enumerate(clients):
        gen = torch.Generator().manual_seed(fed.client_seed(4, 1, k))
        news.append(fed.client_update(model, w0, torch.tensor(x), torch.tensor(y), epochs=1, batch_size=5, lr=0.1,
                                      generator=gen)[0])
    expected = fed.weighted_average(news, [len(c[1]) for c in clients])
    for k in expected:
        np.testing.assert_allclose(res.weights[k], expected[k], atol=1e-7)


def test_client_fraction_selects_m_clients():
    picks = fed.sample_clients(100, fraction=0.1, rng=np.random.default_rng(0))
    assert len(picks) == 10 and len(set(picks.tolist())) == 10
    assert len(fed.sample_clients(5, fraction=0.01, rng=np.random.default_rng(0))) == 1
    with pytest.raises(ValueError):
        fed.sample_clients(5, fraction=0.0)


def test_fedsgd_is_one_full_batch_step_per_client():
    model = _tiny()
    clients = _clients(np.random.default_rng(5))
    res = fed.fedsgd(model, clients, rounds=1, client_fraction=1.0, lr=0.5, seed=0)
    # one step of GD on the pooled data (mean cross-entropy) from the same start
    import torch.nn.functional as F

    ref = _tiny()
    x = torch.tensor(np.vstack([c[0] for c in clients]))
    y = torch.tensor(np.concatenate([c[1] for c in clients]))
    F.cross_entropy(ref(x), y).backward()
    with torch.no_grad():
        for p in ref.parameters():
            p -= 0.5 * p.grad
    for k, v in fed.get_weights(ref).items():
        np.testing.assert_allclose(res.weights[k], v, atol=1e-6)


# ----------------------------------------------------------------------------- DP-FedAvg


def test_clip_update_uses_the_global_norm():
    u = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}  # global norm 5; each layer < 5
    c = fed.clip_update(u, clip_norm=1.0)
    assert math.isclose(fed.update_norm(c), 1.0)
    np.testing.assert_allclose(c["a"], [0.6, 0.0])
    small = fed.clip_update(u, clip_norm=10.0)
    np.testing.assert_allclose(small["b"], [[4.0]])


def test_dp_aggregate_mean_and_noise_scale():
    rng = np.random.default_rng(0)
    ups = [{"w": rng.normal(size=2000) * s} for s in (0.01, 0.2, 5.0)]
    S, sigma, m = 0.5, 1.3, 4.0
    clipped_sum = sum(fed.clip_update(u, clip_norm=S)["w"] for u in ups)
    out = fed.dp_fedavg_aggregate(ups, clip_norm=S, noise_multiplier=sigma, expected_clients=m,
                                  rng=np.random.default_rng(7))
    noise = out["w"] * m - clipped_sum
    # std of N(0, (σS)^2) estimated from 2000 draws: SE of the std ≈ σS/sqrt(2·2000) (5 SE band)
    assert abs(noise.std() - sigma * S) < 5 * sigma * S / math.sqrt(4000)
    assert abs(noise.mean()) < 5 * sigma * S / math.sqrt(2000)
    # exactly one draw from the generator, on the sum
    expected = (clipped_sum + np.random.default_rng(7).normal(0.0, sigma * S, size=2000)) / m
    np.testing.assert_allclose(out["w"], expected, rtol=1e-12)
    # sensitivity: removing one client moves the noiseless sum by at most S
    assert fed.update_norm(fed.clip_update(ups[2], clip_norm=S)) <= S + 1e-12


def test_dp_fedavg_epsilon_matches_accounting_and_dp_accounting():
    from helpers import accounting

    dp_accounting = pytest.importorskip("dp_accounting")
    sigma, q, rounds, delta = 1.0, 0.1, 100, 1e-5
    eps = fed.dp_fedavg_epsilon(noise_multiplier=sigma, sample_rate=q, rounds=rounds, delta=delta)
    assert eps == accounting.epsilon(noise_multiplier=sigma, sample_rate=q, steps=rounds, delta=delta)
    acc = dp_accounting.rdp.RdpAccountant(list(accounting.DEFAULT_ORDERS))
    acc.compose(dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), rounds)
    assert abs(acc.get_epsilon(delta) - eps) / eps < 0.02


@pytest.mark.parametrize("sigma", [0.5, 1.0])
@pytest.mark.parametrize("num_clients, rounds", [(1000, 8), (100, 2), (400, 8), (400, 2)])
def test_lesson_06_printed_epsilons_match_dp_accounting(sigma, num_clients, rounds):
    """The user-level ε lesson 06 prints (section 4: q = 0.1, δ = 0.1/K, σ ∈ {0.5, 1}) for its default
    run (10,000 Fashion-MNIST images -> K = 1000 clients of 10, 8 rounds), quick mode (K = 100, 2 rounds)
    and the offline MNIST-sample fallback (K = 400), against dp-accounting's RDP accountant (same orders)."""
    from helpers import accounting

    dp_accounting = pytest.importorskip("dp_accounting")
    q, delta = 0.1, 0.1 / num_clients
    eps = fed.dp_fedavg_epsilon(noise_multiplier=sigma, sample_rate=q, rounds=rounds, delta=delta)
    acc = dp_accounting.rdp.RdpAccountant(list(accounting.DEFAULT_ORDERS))
    acc.compose(dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), rounds)
    assert abs(acc.get_epsilon(delta) - eps) / eps < 1e-3


def test_dp_fedavg_runs_and_reports_epsilon():
    model = _tiny()
    clients = _clients(np.random.default_rng(3), sizes=(8,) * 10)
    res = fed.dp_fedavg(model, clients, rounds=3, sample_rate=0.5, clip_norm=0.1, noise_multiplier=1.0, delta=1e-3,
                        epochs=1, batch_size=4, lr=0.1, seed=1)
    assert res.epsilon == fed.dp_fedavg_epsilon(noise_multiplier=1.0, sample_rate=0.5, rounds=3, delta=1e-3)
    assert len(res.selected) == 3
    clip_only = fed.dp_fedavg(model, clients, rounds=1, sample_rate=0.5, clip_norm=0.1, noise_multiplier=0.0, delta=1e-3,
                              epochs=1, batch_size=4, lr=0.1, seed=1)
    assert clip_only.epsilon == math.inf  # no noise: no finite epsilon
    with pytest.raises(ValueError):
        fed.dp_fedavg(model, clients, rounds=1, sample_rate=0.0, clip_norm=0.1, noise_multiplier=1.0, delta=1e-3,
                      epochs=1, batch_size=4, lr=0.1)


# ----------------------------------------------------------------------------- secure aggregation


@pytest.mark.parametrize("bits", [8, 32, 64])
def test_masks_cancel(bits):
    rng = np.random.default_rng(bits)
    top = (1 << bits) - 1 if bits < 64 else np.iinfo(np.uint64).max
    xs = [rng.integers(0, top, size=50, dtype=np.uint64, endpoint=True) for _ in range(5)]
    masked = fed.mask_inputs(xs, bits=bits, rng=np.random.default_rng(0))
    total = sum(int(v) for x in xs for v in x[:1])
    assert int(fed.unmask_sum(masked, bits=bits)[0]) == total % (1 << bits)
    np.testing.assert_array_equal(fed.unmask_sum(masked, bits=bits), fed.unmask_sum(xs, bits=bits))
    assert all(m.dtype == np.uint64 for m in masked)
    assert not any(np.array_equal(m, x) for m, x in zip(masked, xs))


def test_server_view_of_one_client_is_uniform():
    # client 0's masked value, over many runs, for two very different inputs: both uniform on Z_16
    bits, runs = 4, 16_000
    rng = np.random.default_rng(0)
    for x0 in (0, 15):
        views = np.array([fed.mask_inputs([np.array([x0]), np.array([3]), np.array([9])], bits=bits, rng=rng)[0][0]
                          for _ in range(runs)])
        counts = np.bincount(views.astype(np.int64), minlength=16)
        chi2 = float(((counts - runs / 16) ** 2 / (runs / 16)).sum())
        assert chi2 < 50.0, chi2  # chi-square with 15 dof: P(> 50) ≈ 1e-5


def test_quantize_roundtrip_of_the_sum():
    rng = np.random.default_rng(0)
    xs = [rng.uniform(-1, 1, size=20) for _ in range(4)]
    qs = [fed.quantize(x, clip=1.0, bits=32, num_clients=4) for x in xs]
    masked = fed.mask_inputs(qs, bits=32, rng=rng)
    got = fed.dequantize(fed.unmask_sum(masked, bits=32), clip=1.0, bits=32, num_clients=4)
    np.testing.assert_allclose(got, np.sum(xs, axis=0), atol=4 * 2 / (2**30 - 1))


def test_mask_inputs_validates():
    with pytest.raises(ValueError):
        fed.mask_inputs([np.array([1])], bits=8)
    with pytest.raises(ValueError):
        fed.mask_inputs([np.array([1.5]), np.array([1.0])], bits=8)
    with pytest.raises(ValueError):
        fed.mask_inputs([np.array([256]), np.array([1])], bits=8)
    with pytest.raises(ValueError):
        fed.mask_inputs([np.array([1]), np.array([1])], bits=0)
