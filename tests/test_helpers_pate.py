"""Tests for helpers.pate: aggregation, the 2017 moments analysis, GNMax RDP, batched teachers."""
from __future__ import annotations

import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import special, stats

import helpers.pate as P
from helpers.checks import check_mean

N_SE = 5  # statistical checks: |estimate − truth| ≤ 5 standard errors (two-sided p ≈ 6e-7)


# ----------------------------------------------------------------------------- partition and votes


def test_assign_teachers_is_the_documented_universal_hash():
    keys = np.arange(1000)
    teacher = P.assign_teachers(keys, num_teachers=7, rng=np.random.default_rng(0))
    assert teacher.shape == (1000,) and teacher.dtype == np.int64
    rng = np.random.default_rng(0)  # the documented recipe: a, then b, then ((a k + b) mod p) mod T
    a, b = int(rng.integers(1, 2**31 - 1)), int(rng.integers(0, 2**31 - 1))
    np.testing.assert_array_equal(teacher, [((a * k + b) % (2**31 - 1)) % 7 for k in range(1000)])
    np.testing.assert_array_equal(teacher, P.assign_teachers(keys, num_teachers=7, rng=0))
    assert not np.array_equal(teacher, P.assign_teachers(keys, num_teachers=7, rng=1))
    # the largest keys do not overflow int64 (a k < 2**62), and int32 keys give the same teachers
    big = np.array([2**31 - 2, 2**31 - 3, 0], dtype=np.int64)
    expected = [((a * k + b) % (2**31 - 1)) % 250 for k in big.tolist()]
    np.testing.assert_array_equal(P.assign_teachers(big, num_teachers=250, rng=0), expected)
    np.testing.assert_array_equal(P.assign_teachers(keys.astype(np.int32), num_teachers=7, rng=0), teacher)


def test_assign_teachers_adding_or_removing_one_example_changes_exactly_one_shard():
    # The privacy unit of lesson 04: one training example added or removed. With 60,000 examples
    # and 250 teachers, cutting a seeded permutation into slices keeps 0 of the 250 shards when
    # one example is added; assigning by key keeps 249 and adds the new example to the 250th.
    n, t = 60_000, 250
    before = P.assign_teachers(np.arange(n), num_teachers=t, rng=np.random.default_rng(0))
    after = P.assign_teachers(np.arange(n + 1), num_teachers=t, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(after[:n], before)
    shards_before = [set(np.flatnonzero(before == i)) for i in range(t)]
    shards_after = [set(np.flatnonzero(after == i)) for i in range(t)]
    changed = [i for i in range(t) if shards_before[i] != shards_after[i]]
    assert changed == [int(after[n])] and shards_after[after[n]] == shards_before[after[n]] | {n}
    removed = np.delete(np.arange(n), 123)  # remove one example: its key disappears, nothing else moves
    np.testing.assert_array_equal(P.assign_teachers(removed, num_teachers=t, rng=np.random.default_rng(0)),
                                  np.delete(before, 123))
    slices = [set(r) for r in np.random.default_rng(0).permutation(n)[: t * 240].reshape(t, 240)]
    slices_plus = [set(r) for r in np.random.default_rng(0).permutation(n + 1)[: t * 240].reshape(t, 240)]
    assert sum(a == b for a, b in zip(slices, slices_plus)) == 0  # the old recipe: every shard moves


def test_assign_teachers_balanced_shards():
    # each example lands in teacher i with probability ~1/T: shard sizes are Binomial(n, 1/T)-like
    n, t = 60_000, 250
    sizes = np.bincount(P.assign_teachers(np.arange(n), num_teachers=t, rng=0), minlength=t)
    sd = math.sqrt(n / t * (1 - 1 / t))
    assert abs(sizes.mean() - n / t) < 1e-9
    assert sizes.min() > n / t - 5 * sd and sizes.max() < n / t + 5 * sd  # 5 SD, union over 250 shards


@pytest.mark.parametrize("keys, t, match", [
    (np.array([-1, 2]), 3, "keys"),
    (np.array([2**31 - 1]), 3, "keys"),
    (np.array([[0, 1]]), 3, "keys"),
    (np.array([]), 3, "keys"),
    (np.array([0.0, 1.0]), 3, "integers"),
    (np.arange(5), 0, "num_teachers"),
    (np.arange(5), 2.0, "num_teachers"),
])
def test_assign_teachers_rejects(keys, t, match):
    with pytest.raises(ValueError, match=match):
        P.assign_teachers(keys, num_teachers=t, rng=0)


def test_vote_counts():
    preds = np.array([[0, 1, 2], [0, 1, 1], [3, 1, 0]])  # 3 teachers, 3 queries
    counts = P.vote_counts(preds, num_classes=5)
    np.testing.assert_array_equal(counts, [[2, 0, 0, 1, 0], [0, 3, 0, 0, 0], [1, 1, 1, 0, 0]])
    rng = np.random.default_rng(3)
    preds = rng.integers(0, 10, size=(50, 200))
    counts = P.vote_counts(preds, num_classes=10)
    loop = np.stack([np.bincount(preds[:, i], minlength=10) for i in range(200)])
    np.testing.assert_array_equal(counts, loop)
    assert (counts.sum(axis=1) == 50).all()


@pytest.mark.parametrize("preds, k, match", [
    (np.array([0, 1, 2]), 3, "teacher_preds"),          # 1-D
    (np.zeros((0, 4), int), 3, "empty"),
    (np.array([[0, 3]]), 3, "outside"),
    (np.array([[0, -1]]), 3, ">= 0"),
    (np.array([[0.5, 1.0]]), 3, "integer"),
    (np.array([[np.nan, 1.0]]), 3, "NaN"),
    (np.array([[0, 1]]), 0, "num_classes"),
])
def test_vote_counts_rejects(preds, k, match):
    with pytest.raises(ValueError, match=match):
        P.vote_counts(preds, num_classes=k)


# ----------------------------------------------------------------------------- noisy argmax


def test_laplace_noisy_argmax_exact_flip_probability():
    # Two classes, gap d: the runner-up wins iff Lap₂ − Lap₁ > d; for the difference of two
    # Lap(b) variables Pr[D > d] = (2 + d/b) e^{−d/b} / 4 (Papernot et al. 2017; exact for K = 2).
    gamma, d, n = 0.5, 3.0, 40_000
    counts = np.tile([d, 0.0], (n, 1))
    labels = P.laplace_noisy_argmax(counts, gamma=gamma, rng=np.random.default_rng(11))
    p = (2 + gamma * d) * math.exp(-gamma * d) / 4
    check_mean(labels, p, std=math.sqrt(p * (1 - p)), what="flip rate", n_se=N_SE, quiet=True)
    assert p == pytest.approx(P.compute_q_noisy_max(np.array([d, 0.0]), gamma=gamma))


def test_gaussian_noisy_argmax_exact_flip_probability():
    sigma, d, n = 2.0, 3.0, 40_000
    counts = np.tile([d, 0.0], (n, 1))
    labels = P.gaussian_noisy_argmax(counts, sigma=sigma, rng=np.random.default_rng(12))
    p = stats.norm.sf(d / (math.sqrt(2) * sigma))  # N(0,σ²) − N(0,σ²) = N(0, 2σ²)
    check_mean(labels, p, std=math.sqrt(p * (1 - p)), what="flip rate", n_se=N_SE, quiet=True)
    assert p == pytest.approx(P.gnmax_q_bound(np.array([d, 0.0]), sigma=sigma))


def test_noisy_argmax_shapes_reproducible_and_rejects():
    counts = np.array([5, 1, 0])
    assert isinstance(P.laplace_noisy_argmax(counts, gamma=1.0, rng=0), int)
    many = np.random.default_rng(0).integers(0, 20, (30, 4))
    a = P.laplace_noisy_argmax(many, gamma=0.3, rng=np.random.default_rng(5))
    b = P.laplace_noisy_argmax(many, gamma=0.3, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    noise = np.random.default_rng(5).laplace(0.0, 1 / 0.3, size=many.shape)  # the documented draw
    np.testing.assert_array_equal(a, np.argmax(many + noise, axis=1))
    for fn, kw in ((P.laplace_noisy_argmax, "gamma"), (P.gaussian_noisy_argmax, "sigma")):
        for bad in (0, -1.0, float("nan")):
            with pytest.raises(ValueError, match=kw):
                fn(counts, **{kw: bad})
        with pytest.raises(ValueError, match="counts"):
            fn(np.array([1.0, np.nan]), **{kw: 1.0})
        with pytest.raises(ValueError, match="counts"):
            fn(np.array([3]), **{kw: 1.0})
        with pytest.raises(ValueError, match="counts"):
            fn(np.array([-1, 2]), **{kw: 1.0})


def test_q_bounds_upper_bound_the_error_rate():
    # Monte Carlo: the union bounds must be at least the true Pr[answer ≠ plurality] (minus 5 SE).
    counts = np.array([30.0, 22.0, 20.0, 5.0, 0.0])
    n = 20_000
    rng = np.random.default_rng(7)
    lab = P.laplace_noisy_argmax(np.tile(counts, (n, 1)), gamma=0.2, rng=rng)
    q_emp = (lab != 0).mean()
    assert P.compute_q_noisy_max(counts, gamma=0.2) >= q_emp - N_SE * math.sqrt(q_emp * (1 - q_emp) / n)
    lab = P.gaussian_noisy_argmax(np.tile(counts, (n, 1)), sigma=4.0, rng=rng)
    q_emp = (lab != 0).mean()
    assert P.gnmax_q_bound(counts, sigma=4.0) >= q_emp - N_SE * math.sqrt(q_emp * (1 - q_emp) / n)


def test_q_bounds_closed_forms():
    # Papernot et al. 2017: Σ_{j≠j*} (2 + γΔ_j) / (4 e^{γΔ_j}), capped at 1 − 1/K
    counts, g = np.array([10.0, 4.0, 0.0]), 0.5
    expected = sum((2 + g * d) / (4 * math.exp(g * d)) for d in (6.0, 10.0))
    assert P.compute_q_noisy_max(counts, gamma=g) == pytest.approx(expected, rel=1e-12)
    assert P.compute_q_noisy_max(np.array([3.0, 3.0, 3.0]), gamma=1.0) == pytest.approx(2 / 3)
    # Papernot et al. 2018, Prop. 7: Σ_{i≠i*} ½ erfc((n* − n_i)/(2σ)), capped at 1 − 1/K
    s = 3.0
    expected = 0.5 * special.erfc(6 / (2 * s)) + 0.5 * special.erfc(10 / (2 * s))
    assert P.gnmax_q_bound(counts, sigma=s) == pytest.approx(expected, rel=1e-12)
    assert P.gnmax_q_bound(np.array([3.0, 3.0, 3.0]), sigma=1.0) == pytest.approx(2 / 3)
    assert P.gnmax_log_q(np.array([250.0, 0, 0]), sigma=1.0) < -1e4  # stable far in the tail
    with pytest.raises(ValueError, match="counts"):
        P.gnmax_q_bound(np.ones((2, 3)), sigma=1.0)


# ----------------------------------------------------------------------------- moments accountant (2017)


def test_data_independent_log_moment_and_epsilon_closed_forms():
    # α(l) ≤ min(ε² l(l+1)/2, ε l) with ε = 2γ (Papernot et al. 2017, Thm 2)
    assert P.data_independent_log_moment(2, gamma=0.1) == pytest.approx(0.5 * 0.04 * 6)
    assert P.data_independent_log_moment(3, gamma=1.0) == pytest.approx(6.0)
    # legacy PySyft perform_analysis, data-independent ε: min_l (T α(l) + ln 1/δ) / l
    assert P.data_independent_epsilon(100, gamma=0.1, delta=1e-5) == 11.756462732485115
    assert P.data_independent_epsilon(60000, gamma=1.0, delta=1e-5, moments=2) == 120005.75646273249
    for kwargs, match in [
        (dict(num_queries=0, gamma=0.1, delta=1e-5), "num_queries"),
        (dict(num_queries=10, gamma=0.0, delta=1e-5), "gamma"),
        (dict(num_queries=10, gamma=0.1, delta=1.0), "delta"),
        (dict(num_queries=10, gamma=0.1, delta=0.0), "delta"),
        (dict(num_queries=10, gamma=0.1, delta=1e-5, moments=0), "moments"),
    ]:
        with pytest.raises(ValueError, match=match):
            P.data_independent_epsilon(**kwargs)
    with pytest.raises(ValueError, match="l must"):
        P.data_independent_log_moment(0, gamma=0.1)
    with pytest.raises(ValueError, match="gamma"):
        P.data_independent_log_moment(1, gamma=-1)


def test_log_moment_bound_theorem_3():
    g, l = 0.1, 4.0
    eps = 2 * g
    q = 0.01  # < (e^ε − 1)/(e^{2ε} − 1) ≈ 0.45
    expected = math.log((1 - q) * ((1 - q) / (1 - math.exp(eps) * q)) ** l + q * math.exp(eps * l))
    assert P.log_moment_bound(q, l, gamma=g) == pytest.approx(expected, rel=1e-12)
    indep = P.data_independent_log_moment(l, gamma=g)
    assert P.log_moment_bound(0.46, l, gamma=g) == pytest.approx(indep)  # condition fails → data-independent
    qs = np.linspace(0, 1, 50)
    vals = P.log_moment_bound(qs, l, gamma=g)
    assert (vals <= indep + 1e-15).all() and (vals >= 0).all()
    assert P.log_moment_bound(0.0, l, gamma=g) == pytest.approx(0.0, abs=1e-15)
    for bad in (-0.1, 1.1, float("nan")):
        with pytest.raises(ValueError, match="q must"):
            P.log_moment_bound(bad, l, gamma=g)


def test_perform_analysis_pinned_legacy_values():
    preds = np.random.default_rng(0).integers(0, 10, size=(10, 100))
    labels = np.random.default_rng(1).integers(0, 10, size=100)
    dd, di = P.perform_analysis(preds, labels, 0.1, delta=1e-5)
    assert di == 11.756462732485115  # legacy PySyft value
    assert dd <= di
    preds = np.random.default_rng(0).integers(0, 10, size=(3, 60000))
    dd, di = P.perform_analysis(preds, preds[0], 1.0, delta=1e-5, moments=2)
    assert di == 120005.75646273249  # legacy PySyft value


def test_perform_analysis_analyses_every_query_not_label_values():
    rng = np.random.default_rng(4)
    agree = np.zeros((250, 10), dtype=int)  # queries 0..9: unanimous
    split = rng.integers(0, 10, size=(250, 90))  # queries 10..99: random votes
    preds = np.concatenate([agree, split], axis=1)
    labels = rng.integers(0, 10, size=100)
    dd, di = P.perform_analysis(preds, labels, 0.05)
    # the released labels do not enter the bound (the legacy code used them as query indices)
    assert P.perform_analysis(preds, (labels + 3) % 10, 0.05) == (dd, di)
    perm = rng.permutation(100)
    assert P.perform_analysis(preds[:, perm], labels[perm], 0.05)[0] == pytest.approx(dd, rel=1e-12)
    # only unanimous queries (what the legacy loop looked at) are far cheaper than the mix
    dd_agree, _ = P.perform_analysis(np.zeros((250, 100), dtype=int), labels, 0.05)
    assert dd_agree < dd <= di
    # strong agreement: the data-dependent ε is much smaller than the data-independent one
    assert dd_agree < 0.5 * di


@pytest.mark.parametrize("kwargs, match", [
    (dict(teacher_preds=np.zeros(5, int), indices=np.zeros(5, int), noise_eps=0.1), "teacher_preds"),
    (dict(teacher_preds=np.zeros((3, 5), int), indices=np.zeros(4, int), noise_eps=0.1), "indices"),
    (dict(teacher_preds=np.zeros((3, 5), int), indices=-np.ones(5, int), noise_eps=0.1), "indices"),
    (dict(teacher_preds=np.zeros((3, 5), int), indices=np.zeros(5, int), noise_eps=0.0), "noise_eps"),
    (dict(teacher_preds=np.zeros((3, 5), int), indices=np.zeros(5, int), noise_eps=0.1, delta=0), "delta"),
    (dict(teacher_preds=np.zeros((3, 5), int), indices=np.zeros(5, int), noise_eps=0.1, delta=1.5), "delta"),
    (dict(teacher_preds=np.zeros((3, 5), int), indices=np.zeros(5, int), noise_eps=0.1, moments=0), "moments"),
    (dict(teacher_preds=np.zeros((3, 5), int), indices=np.zeros(5, int), noise_eps=0.1, beta=-1), "beta"),
    (dict(teacher_preds=np.full((3, 5), np.nan), indices=np.zeros(5, int), noise_eps=0.1), "NaN"),
])
def test_perform_analysis_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        P.perform_analysis(**kwargs)


# ----------------------------------------------------------------------------- GNMax RDP (2018)


def test_gnmax_data_independent_pinned():
    # σ = 40, 640 queries, δ = 1e-5, integer orders 2..200, classic conversion:
    # ε = min_α 640 α/1600 + ln(1e5)/(α − 1) = 2.4 + ln(1e5)/5 at α = 6 → 4.7026
    counts = np.tile([200.0, 50.0, 0.0], (640, 1))
    eps, order = P.gnmax_epsilon(counts, sigma=40, delta=1e-5, data_dependent=False, conversion="classic")
    assert eps == pytest.approx(2.4 + math.log(1e5) / 5, rel=1e-12)
    assert eps == pytest.approx(4.7026, abs=5e-5) and order == 6
    np.testing.assert_allclose(P.rdp_gnmax_data_independent([2, 10], sigma=2.0), [0.5, 2.5])


def test_gnmax_rdp_matches_dp_accounting():
    # GNMax adds N(0, σ²) to a histogram whose L2 sensitivity is √2 (one count −1, one +1).
    # dp-accounting's GaussianDpEvent(z) is the sensitivity-1 Gaussian with noise std z, RDP
    # α/(2z²). Rescaling the query by 1/√2 gives sensitivity 1 and noise std σ/√2, so
    # z = σ/√2 and α/(2z²) = α/σ², GNMax's data-independent RDP.
    import dp_accounting

    orders = list(range(2, 201))
    for sigma, n_queries in [(40.0, 640), (10.0, 100), (150.0, 3000)]:
        acc = dp_accounting.rdp.RdpAccountant(orders)
        acc.compose(dp_accounting.GaussianDpEvent(sigma / math.sqrt(2)), n_queries)
        np.testing.assert_allclose(acc._rdp, n_queries * P.rdp_gnmax_data_independent(orders, sigma=sigma),
                                   rtol=1e-10)
        counts = np.tile([5.0, 4.0], (n_queries, 1))
        eps, _ = P.gnmax_epsilon(counts, sigma=sigma, delta=1e-5, orders=orders, data_dependent=False,
                                 conversion="improved")
        assert eps == pytest.approx(acc.get_epsilon(1e-5), rel=1e-9)
        eps_c, _ = P.gnmax_epsilon(counts, sigma=sigma, delta=1e-5, orders=orders, data_dependent=False,
                                   conversion="classic")
        rdp = n_queries * np.array(orders) / sigma**2
        assert eps_c == pytest.approx(min(rdp - math.log(1e-5) / (np.array(orders) - 1)), rel=1e-12)


def theorem6_direct(q: float, sigma: float, lam: float) -> float:
    """Papernot et al. 2018, Thm 6 with Prop. 10's μ₂ = σ√(ln 1/q), μ₁ = μ₂ + 1, written out plainly."""
    mu2 = sigma * math.sqrt(math.log(1 / q))
    mu1 = mu2 + 1
    e1, e2 = mu1 / sigma**2, mu2 / sigma**2
    a = (1 - q) / (1 - (q * math.exp(e2)) ** ((mu2 - 1) / mu2))
    b = math.exp(e1) / q ** (1 / (mu1 - 1))
    return math.log((1 - q) * a ** (lam - 1) + q * b ** (lam - 1)) / (lam - 1)


def test_gnmax_data_dependent_theorem_6():
    counts, sigma = np.array([200.0, 50.0, 10.0, 0.0]), 40.0
    q = P.gnmax_q_bound(counts, sigma=sigma)
    mu1 = sigma * math.sqrt(math.log(1 / q)) + 1
    orders = np.array([2.0, 5.0, 10.0, 20.0])
    assert orders.max() < mu1
    got = P.rdp_gnmax_data_dependent(counts, sigma=sigma, orders=orders)
    expected = [min(theorem6_direct(q, sigma, lam), lam / sigma**2) for lam in orders]
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert (got < orders / sigma**2).all()  # strong agreement helps at every order here
    # weak agreement: the theorem's conditions fail, the data-independent bound is returned
    weak = P.rdp_gnmax_data_dependent(np.array([60.0, 50.0, 40.0]), sigma=sigma, orders=orders)
    np.testing.assert_allclose(weak, orders / sigma**2)
    # never above α/σ², and a larger gap never costs more
    rng = np.random.default_rng(9)
    all_orders = P.GNMAX_ORDERS
    for _ in range(30):
        c = rng.integers(0, 250, size=10).astype(float)
        r = P.rdp_gnmax_data_dependent(c, sigma=rng.uniform(5, 60), orders=all_orders)
        assert (r >= 0).all() and (r <= all_orders / 1.0 + 1e-12).all()
    prev = None
    for top in (100.0, 150.0, 200.0, 250.0):
        r = P.rdp_gnmax_data_dependent(np.array([top, 250 - top + 0.0, 0.0]) if top < 250 else
                                       np.array([250.0, 0.0, 0.0]), sigma=sigma, orders=orders)
        if prev is not None:
            assert (r <= prev + 1e-12).all()
        prev = r


def test_gnmax_epsilon_data_dependent_is_smaller_when_teachers_agree():
    agree = np.tile([230.0, 10.0, 10.0], (640, 1))
    eps_dd, _ = P.gnmax_epsilon(agree, sigma=40, delta=1e-5)
    eps_di, _ = P.gnmax_epsilon(agree, sigma=40, delta=1e-5, data_dependent=False)
    assert eps_dd < 0.25 * eps_di
    split = np.tile([90.0, 80.0, 80.0], (640, 1))
    assert P.gnmax_epsilon(split, sigma=40, delta=1e-5)[0] == pytest.approx(eps_di)
    for kwargs, match in [
        (dict(sigma=0.0, delta=1e-5), "sigma"),
        (dict(sigma=40.0, delta=2.0), "delta"),
        (dict(sigma=40.0, delta=1e-5, orders=[1.0, 2.0]), "orders"),
        (dict(sigma=40.0, delta=1e-5, conversion="fancy"), "conversion"),
    ]:
        with pytest.raises(ValueError, match=match):
            P.gnmax_epsilon(agree, **kwargs)
    with pytest.raises(ValueError, match="counts"):
        P.gnmax_epsilon(agree[0], sigma=40.0, delta=1e-5)


# ----------------------------------------------------------------------------- batched teachers (torch)


def test_batched_loss_gives_each_teacher_its_own_gradient():
    import torch
    from helpers.models import BatchedMLP

    torch.manual_seed(0)
    model = BatchedMLP(3, 6, 5, 4, generator=torch.Generator().manual_seed(1))
    x = torch.randn(3, 8, 6)
    y = torch.randint(0, 4, (3, 8))
    loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, 4), y.reshape(-1)) * 3
    loss.backward()
    for t in range(3):
        w1 = model.w1[t].detach().clone().requires_grad_(True)
        h = torch.relu(x[t] @ w1 + model.b1[t].detach())
        own = torch.nn.functional.cross_entropy(h @ model.w2[t].detach() + model.b2[t].detach(), y[t])
        (g,) = torch.autograd.grad(own, w1)
        torch.testing.assert_close(model.w1.grad[t], g)


def test_train_teachers_learns_on_digits():
    from helpers.data import load_digits

    (x, y), (xt, yt) = load_digits()
    model = P.train_teachers(x, y, 4, epochs=15, batch_size=32, lr=3e-3, hidden=32, progress=False, seed=0)
    preds = P.predict(model, xt)
    assert preds.shape == (4, len(xt)) and preds.dtype == np.int64
    acc = P.accuracy(model, xt, yt)
    assert acc.shape == (4,) and acc.min() > 0.7  # chance is 0.1
    votes = P.vote_counts(preds, num_classes=10)
    assert (votes.argmax(axis=1) == yt).mean() > 0.8
    again = P.predict(P.train_teachers(x, y, 4, epochs=15, batch_size=32, lr=3e-3, hidden=32,
                                       progress=False, seed=0), xt)
    np.testing.assert_array_equal(preds, again)  # reproducible with a seed
    student = P.train_student(xt[:300], yt[:300], hidden=32, epochs=30, lr=3e-3)
    assert isinstance(P.accuracy(student, x, y), float) and P.accuracy(student, x, y) > 0.7
    with pytest.raises(ValueError, match="y must"):
        P.train_teachers(x, y[:-1], 2, progress=False)
    with pytest.raises(ValueError, match="num_teachers"):
        P.train_teachers(x, y, 0, progress=False)
    with pytest.raises(ValueError, match="teacher_of"):
        P.train_teachers(x, y, 2, teacher_of=np.zeros(3, int), progress=False)
    with pytest.raises(ValueError, match="no example to teacher 1"):
        P.train_teachers(x, y, 2, teacher_of=np.zeros(len(y), int), progress=False)
    with pytest.raises(ValueError, match="teacher_of"):
        P.train_teachers(x, y, 2, teacher_of=np.full(len(y), 2), progress=False)
    with pytest.raises(ValueError, match="NaN"):
        P.train_teachers(np.full((10, 4), np.nan), np.zeros(10, int), 2, progress=False)


def test_padded_shards_hold_each_teachers_examples():
    import helpers.pate_teachers as PT

    owner = np.array([2, 0, 2, 1, 2, 0])
    index, sizes = PT._padded_shards(owner, 3, 6)
    np.testing.assert_array_equal(sizes, [2, 1, 3])
    assert index.shape == (3, 3)
    for t in range(3):
        assert set(index[t, : sizes[t]]) == set(np.flatnonzero(owner == t))
        assert set(index[t]) == set(np.flatnonzero(owner == t))  # padding repeats the teacher's own examples


@pytest.mark.parametrize("batch_size", [1000, 16])
def test_adding_one_example_changes_one_teacher_only(batch_size):
    """The privacy unit end to end: add one private example; with key-based shards, every teacher but
    the one that receives it trains exactly as before (full-shard steps and minibatches alike)."""
    import torch
    import helpers.pate_teachers as PT

    from helpers.data import load_digits

    (x, y), (xt, _) = load_digits()
    x, y = x[:400], y[:400]
    kwargs = dict(epochs=3, batch_size=batch_size, lr=3e-3, hidden=16, progress=False, seed=0, num_classes=10)
    base = P.assign_teachers(np.arange(399), num_teachers=5, rng=np.random.default_rng(0))
    plus = P.assign_teachers(np.arange(400), num_teachers=5, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(plus[:399], base)
    got = int(plus[399])
    queries = PT._features(xt[:200])
    model_before = P.train_teachers(x[:399], y[:399], 5, teacher_of=base, **kwargs)
    model_after = P.train_teachers(x, y, 5, teacher_of=plus, **kwargs)
    with torch.no_grad():
        before, after = model_before(queries), model_after(queries)
    for t in range(5):
        same = torch.allclose(before[t], after[t], rtol=1e-5, atol=1e-6)
        assert same == (t != got), f"teacher {t} ({'received' if t == got else 'did not receive'} the example)"


def test_a_teachers_step_count_depends_on_its_own_shard_only():
    """With minibatches smaller than the shards, the example added to the largest shard gives that teacher
    one more step per epoch (33 examples in batches of 16: 3 steps instead of 2). The other teachers must
    train exactly as before: their step counts, Adam's bias correction and their shuffles come from their own
    shards (in floating point up to summation order, hence allclose)."""
    import torch
    import helpers.pate_teachers as PT

    from helpers.data import load_digits

    (x, y), (xt, _) = load_digits()
    sizes = [32, 20, 9, 17]  # teacher 0 is the largest; teacher 3 also takes 2 steps, teacher 2 one
    base = np.repeat(np.arange(4), sizes)
    plus = np.concatenate([base, [0]])
    n = len(base)
    kwargs = dict(epochs=4, batch_size=16, lr=3e-3, hidden=16, progress=False, seed=0, num_classes=10)
    queries = PT._features(xt[:200])
    model_before = P.train_teachers(x[:n], y[:n], 4, teacher_of=base, **kwargs)
    model_after = P.train_teachers(x[: n + 1], y[: n + 1], 4, teacher_of=plus, **kwargs)
    with torch.no_grad():
        before, after = model_before(queries), model_after(queries)
    assert not torch.allclose(before[0], after[0], rtol=1e-5, atol=1e-6)
    for t in (1, 2, 3):
        torch.testing.assert_close(before[t], after[t], rtol=1e-5, atol=1e-6, msg=f"teacher {t} moved")


def test_per_model_adam_is_torch_adam_on_each_model_with_its_own_steps():
    """Stacked models updated by PerModelAdam, some skipping steps, equal each model trained alone by
    torch.optim.Adam on the steps it took (an idle step leaves weights, moments and step count alone)."""
    import torch
    import helpers.pate_teachers as PT

    g = torch.Generator().manual_seed(0)
    w = torch.randn(3, 4, 2, generator=g)
    grads = [torch.randn(3, 4, 2, generator=g) for _ in range(5)]
    active = [[1, 1, 1], [1, 0, 1], [1, 0, 0], [1, 1, 0], [0, 1, 1]]
    stacked = w.clone().requires_grad_(True)
    opt = PT.PerModelAdam([stacked], num_models=3, lr=0.01)
    for gr, act in zip(grads, active):
        stacked.grad = gr * torch.tensor(act, dtype=torch.float32)[:, None, None]  # idle: zero gradient as in training
        opt.active = torch.tensor(act, dtype=torch.bool)
        opt.step()
    for t in range(3):
        alone = w[t].clone().requires_grad_(True)
        ref = torch.optim.Adam([alone], lr=0.01)
        for gr, act in zip(grads, active):
            if act[t]:
                alone.grad = gr[t].clone()
                ref.step()
        torch.testing.assert_close(stacked.detach()[t], alone.detach())
    assert [int(s) for s in opt.model_steps] == [4, 3, 3]
    with pytest.raises(ValueError, match="num_models"):
        bad = torch.zeros(2, 3, requires_grad=True)
        bad.grad = torch.ones(2, 3)
        PT.PerModelAdam([bad], num_models=3, lr=0.1).step()


# ----------------------------------------------------------------------------- the reference implementation
#
# tests/reference_pate_2018/ holds unmodified copies of core.py and smooth_sensitivity.py from
# tensorflow/privacy research/pate_2018 (commit 03035d5d, Apache-2.0), the code behind Papernot et
# al. 2018. helpers.pate is a vectorised, log-space port; below, (1) the reference's own test values
# (core_test.py, smooth_sensitivity_test.py) are pinned on our functions and (2) ours and the
# reference are run side by side on many random vote histograms.

REFERENCE_DIR = Path(__file__).resolve().parent / "reference_pate_2018"


@pytest.fixture(scope="module")
def ref():
    pytest.importorskip("absl")  # the reference imports absl.app (installed with dp-accounting)
    pytest.importorskip("sympy")  # and sympy (installed with torch)
    sys.path.insert(0, str(REFERENCE_DIR))
    try:
        import core
        import smooth_sensitivity
    finally:
        sys.path.remove(str(REFERENCE_DIR))
    assert Path(core.__file__).parent == REFERENCE_DIR
    return SimpleNamespace(core=core, ss=smooth_sensitivity)


def test_reference_values_local_sensitivity_gnmax():
    # smooth_sensitivity_test.py, test_compute_local_sensitivity_bounds_gnmax ("going right")
    answer1 = np.array([3.13503646e-17, 1.60178280e-08, 5.90681786e-03] + [5.99981308e+00] * 7)
    out1 = P.local_sensitivity_gnmax(np.array([10, 0, 0]), sigma=0.5, order=1.5)
    np.testing.assert_allclose(out1, answer1, rtol=1e-8, atol=0)
    # ... ("going left")
    answer2 = np.array([0.] * 298 + [2.77693450548e-7, 2.10853979548e-6] + [2.73113623988e-6] * 1700)
    out2 = P.local_sensitivity_gnmax(np.array([1000, 500, 300, 200, 0]), sigma=250.0, order=10.0)
    np.testing.assert_allclose(out2, answer2, rtol=1e-8, atol=0)


def test_reference_values_local_sensitivity_threshold():
    # smooth_sensitivity_test.py, test_compute_local_sensitivity_bounds_threshold: counts [20, 10, 0],
    # 30 teachers, sigma 2, order 10. Ours has one more entry, distance T = 30: the reference stops at
    # distance max(v, T - v) - 1 = 19 and so omits v = 0 at distance 20 (our entry 20, which equals the
    # reference's LS at v = 1: |rdp(1) - rdp(0)|). Elsewhere the values agree to 1e-8, except entries 7
    # and 8 of answer1: the test file has 9.01543247e-02 and 1.16054002e-01 there, but running the
    # reference itself today (scipy 1.17) gives 0.0901543266 and 0.1160540003 (its own test fails at
    # rtol 1e-8; the same values appear at entries 15 and 16 of answer1), so these two use rtol 1e-7.
    counts = np.array([20, 10, 0])
    answer1 = np.array([0] * 3 + [
        1.48454129e-04, 1.47826870e-02, 3.94153241e-02, 6.45775697e-02,
        9.01543247e-02, 1.16054002e-01, 1.42180452e-01, 1.42180452e-01,
        1.48454129e-04, 1.47826870e-02, 3.94153241e-02, 6.45775697e-02,
        9.01543266e-02, 1.16054000e-01, 1.42180452e-01, 1.68302106e-01,
        1.93127860e-01
    ] + [0] * 10)
    out1 = P.local_sensitivity_threshold(counts, threshold=16, sigma1=2, order=10)
    assert out1.shape == (31,)
    exact = np.ones(30, dtype=bool)
    exact[[7, 8, 20]] = False
    np.testing.assert_allclose(out1[:30][exact], answer1[exact], rtol=1e-8, atol=0)
    np.testing.assert_allclose(out1[[7, 8]], answer1[[7, 8]], rtol=1e-7, atol=0)
    assert out1[20] == pytest.approx(answer1[19], rel=1e-8) and out1[30] == 0
    answer2 = np.array([
        1.60212079e-01, 2.07021132e-01, 2.07021132e-01, 1.93127860e-01,
        1.68302106e-01, 1.42180452e-01, 1.16054002e-01, 9.01543247e-02,
        6.45775697e-02, 3.94153241e-02, 1.47826870e-02, 1.48454129e-04
    ] + [0] * 18)
    out2 = P.local_sensitivity_threshold(counts, threshold=2, sigma1=2, order=10)
    exact = np.ones(30, dtype=bool)
    exact[[6, 7]] = False  # the same two values as above (rtol 1e-7)
    np.testing.assert_allclose(out2[:30][exact], answer2[exact], rtol=1e-8, atol=0)
    np.testing.assert_allclose(out2[[6, 7]], answer2[[6, 7]], rtol=1e-7, atol=0)
    answer3 = np.array([
        1.35750725752e-19, 1.88990500499e-17, 2.05403154065e-15,
        1.74298153642e-13, 1.15489723995e-11, 5.97584949325e-10,
        2.41486826748e-08, 7.62150641922e-07, 1.87846248741e-05,
        0.000360973025976, 0.000360973025976, 2.76377015215e-50,
        1.00904975276e-53, 2.87254164748e-57, 6.37583360761e-61,
        1.10331620211e-64, 1.48844393335e-68, 1.56535552444e-72,
        1.28328011060e-76, 8.20047697109e-81
    ] + [0] * 10)
    out3 = P.local_sensitivity_threshold(counts, threshold=50, sigma1=2, order=10)
    exact = np.ones(30, dtype=bool)
    exact[20] = False  # v = 0 at distance 20 (see above): tiny here, 4.1e-85
    np.testing.assert_allclose(out3[:30][exact], answer3[exact], rtol=1e-8, atol=0)
    assert 0 < out3[20] < 1e-80
    # (answer4 of that test uses fractional, negative "votes" of Interactive GNMax, which the course
    # does not implement: our functions take integer vote counts.)


def test_reference_values_smooth_sensitivity_conditions():
    # smooth_sensitivity_test.py, test_check_conditions
    assert P.smooth_sensitivity_conditions(sigma=20, num_classes=10, order=25.0) == (True, False)
    assert P.smooth_sensitivity_conditions(sigma=30, num_classes=10, order=25.0) == (True, True)


def test_reference_values_rdp_gaussian_as_function_of_q():
    # core_test.py, _test_rdp_gaussian_as_function_of_q: hand-calculated -log(q0) for orders
    # 1.1, 2.5, 32, 250 and sigmas 1.5, 15, 1500, 15000 (sigma-major): below q0 the bound strictly
    # decreases as q halves; above q0 it is constant (the data-independent bound).
    neglogq0s = [2.8, 2.6, 427, None, 4.8, 4.0, 4.7, 275, 9.6, 8.8, 6.0, 4, 12, 11.2, 8.6, 6.4]
    cases = [(s, o) for s in (1.5, 15, 1500, 15000) for o in (1.1, 2.5, 32, 250)]
    for (sigma, order), neglogq0 in zip(cases, neglogq0s):
        if neglogq0 is None:
            continue
        def rdp(logq):
            return float(P.rdp_gnmax_from_log_q(logq, sigma=sigma, orders=[order])[0])
        dds = -neglogq0 - np.log([1, 2, 4, 8])
        assert all(rdp(a) > rdp(b) for a, b in zip(dds[:-1], dds[1:])), (sigma, order)
        for q in np.exp(-neglogq0) + np.array([0.1, 0.2, 0.3, 0.4]):
            assert rdp(math.log(q)) == rdp(-neglogq0), (sigma, order, q)
    # core_test.py, _test_rdp_gaussian_value_errors
    for log_q, sigma, orders in [(1.0, 1.0, [2, 3, 4]), (math.log(0.5), -1.0, [2, 3, 4]), (math.log(0.5), 1.0, [1, 3, 4])]:
        with pytest.raises(ValueError):
            P.rdp_gnmax_from_log_q(log_q, sigma=sigma, orders=orders)


def _random_votes(rng: np.random.Generator, teachers: tuple[int, int] = (5, 300)) -> np.ndarray:
    t = int(rng.integers(*teachers))
    k = int(rng.integers(2, 12))
    return rng.multinomial(t, rng.dirichlet(np.full(k, rng.uniform(0.05, 2.0))))


def test_gnmax_and_threshold_rdp_match_the_reference(ref):
    # compute_logq_gaussian, rdp_gaussian (data-dependent, Thm 6), rdp_data_independent_gaussian,
    # compute_logpr_answered, compute_rdp_threshold, compute_rdp_data_independent_threshold
    rng = np.random.default_rng(20)
    orders = np.concatenate([np.arange(1.5, 100.5, 0.5), [150.0, 250.0, 500.0]])
    for _ in range(200):
        votes = _random_votes(rng)
        sigma = float(rng.uniform(1, 80))
        logq = ref.core.compute_logq_gaussian(votes, sigma)
        assert P.gnmax_log_q(votes, sigma=sigma) == pytest.approx(logq, rel=1e-12)
        np.testing.assert_allclose(P.rdp_gnmax_data_dependent(votes, sigma=sigma, orders=orders),
                                   ref.core.rdp_gaussian(logq, sigma, orders), rtol=1e-11, atol=0)
        np.testing.assert_allclose(P.rdp_gnmax_data_independent(orders, sigma=sigma),
                                   ref.core.rdp_data_independent_gaussian(sigma, orders), rtol=1e-14)
        threshold, sigma1 = float(rng.uniform(0, votes.sum())), float(rng.uniform(1, 100))
        logp = ref.core.compute_logpr_answered(threshold, sigma1, votes)
        assert P.log_pr_answered(votes, threshold=threshold, sigma1=sigma1) == pytest.approx(logp, rel=1e-12)
        np.testing.assert_allclose(P.rdp_threshold_data_dependent(votes, threshold=threshold, sigma1=sigma1, orders=orders),
                                   ref.core.compute_rdp_threshold(logp, sigma1, orders), rtol=1e-11, atol=0)
        np.testing.assert_allclose(P.rdp_threshold_data_independent(orders, sigma1=sigma1),
                                   ref.core.compute_rdp_data_independent_threshold(sigma1, orders), rtol=1e-14)


def test_smooth_sensitivity_pieces_match_the_reference(ref):
    # compute_logq0_gnmax, compute_local_sensitivity_bounds_gnmax / _threshold, compute_discounted_max,
    # compute_rdp_of_smooth_sensitivity_gaussian (Thm 23), compute_params_for_ss_release
    rng = np.random.default_rng(21)
    for _ in range(60):
        votes = _random_votes(rng, (5, 200))
        t = int(votes.sum())
        order = float(rng.choice([1.5, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0]))
        sigma2 = float(rng.uniform(max(order / 2, 1.0), 100))
        assert P.gnmax_log_q0(sigma=sigma2, order=order) == pytest.approx(ref.ss.compute_logq0_gnmax(sigma2, order),
                                                                         rel=1e-10)
        np.testing.assert_allclose(P.local_sensitivity_gnmax(votes, sigma=sigma2, order=order),
                                   ref.ss.compute_local_sensitivity_bounds_gnmax(votes, t, sigma2, order),
                                   rtol=1e-9, atol=1e-300)
        threshold, sigma1 = float(rng.uniform(0, 1.2 * t)), float(rng.uniform(1, 100))
        ours = P.local_sensitivity_threshold(votes, threshold=threshold, sigma1=sigma1, order=order)
        theirs = ref.ss.compute_local_sensitivity_bounds_threshold(votes, t, threshold, sigma1, order)
        reach = max(int(votes.max()), t - int(votes.max()))  # the reference stops one distance early
        np.testing.assert_allclose(ours[:reach], theirs[:reach], rtol=1e-9, atol=0)
        assert (ours[reach + 1:] == 0).all() and (theirs[reach:] == 0).all()
        beta = float(rng.uniform(1e-3, 0.49 / order))
        sigma_ss = float(rng.uniform(1, 100))
        assert P.rdp_smooth_sensitivity_release(beta=beta, sigma=sigma_ss, order=order) == pytest.approx(
            ref.ss.compute_rdp_of_smooth_sensitivity_gaussian(beta, sigma_ss, order), rel=1e-13)
        ls = rng.exponential(size=t)
        assert P.smooth_sensitivity(ls, beta=beta) == pytest.approx(ref.ss.compute_discounted_max(beta, ls), rel=1e-13)
        eps, delta = float(rng.uniform(0.1, 10)), float(10 ** rng.uniform(-10, -2))
        np.testing.assert_allclose(P.smooth_sensitivity_release_params(epsilon=eps, delta=delta),
                                   ref.ss.compute_params_for_ss_release(eps, delta), rtol=1e-13)


def test_local_sensitivity_of_many_queries_at_once_matches_the_reference(ref):
    # the release computes the bounds of all answered queries in one batch
    rng = np.random.default_rng(23)
    votes = np.stack([rng.multinomial(120, rng.dirichlet(np.full(10, rng.uniform(0.05, 1.0)))) for _ in range(80)])
    for sigma, order in [(12.0, 4.0), (30.0, 10.0), (3.0, 2.0)]:
        expected = np.stack([ref.ss.compute_local_sensitivity_bounds_gnmax(v, 120, sigma, order) for v in votes])
        np.testing.assert_allclose(P._ls_gnmax_many(votes, sigma, order), expected, rtol=1e-9, atol=1e-300)
        expected = np.stack([ref.ss.compute_local_sensitivity_bounds_threshold(v, 120, 70.0, 25.0, order) for v in votes])
        got = P._ls_threshold_many(votes, 70.0, 25.0, order)
        for g, e, v in zip(got, expected, votes):
            reach = max(int(v.max()), 120 - int(v.max()))
            np.testing.assert_allclose(g[:reach], e[:reach], rtol=1e-9, atol=0)


@pytest.mark.parametrize("sigma, num_classes, order", [(20, 10, 25.0), (10, 10, 20.0), (40, 10, 20.0), (8, 10, 6.0)])
def test_smooth_sensitivity_conditions_match_the_reference(ref, sigma, num_classes, order):
    # the reference decides C5-C6 with a symbolic derivative (sympy); ours samples the functions
    assert P.smooth_sensitivity_conditions(sigma=sigma, num_classes=num_classes, order=order) == tuple(
        bool(c) for c in ref.ss.check_conditions(sigma, num_classes, order))


def test_local_sensitivity_bounds_hold_on_neighbours():
    """A derivation-free check: one changed vote moves the data-dependent RDP by at most LS(0), and every
    histogram d votes away has a local sensitivity at most the bound at distance d."""
    rng = np.random.default_rng(22)
    sigma, order = 20.0, 8.0
    assert P.smooth_sensitivity_conditions(sigma=sigma, num_classes=4, order=order) == (True, True)
    for _ in range(20):
        votes = rng.multinomial(100, rng.dirichlet(np.full(4, 0.3)))
        bound = P.local_sensitivity_gnmax(votes, sigma=sigma, order=order)
        tbound = P.local_sensitivity_threshold(votes, threshold=60.0, sigma1=15.0, order=order)
        base = P.rdp_gnmax_data_dependent(votes, sigma=sigma, orders=[order])[0]
        tbase = P.rdp_threshold_data_dependent(votes, threshold=60.0, sigma1=15.0, orders=[order])[0]
        for i in range(4):
            for j in range(4):
                if i == j or votes[i] == 0:
                    continue
                other = votes.copy()
                other[i] -= 1
                other[j] += 1
                assert abs(P.rdp_gnmax_data_dependent(other, sigma=sigma, orders=[order])[0] - base) <= bound[0] + 1e-12
                assert abs(P.rdp_threshold_data_dependent(other, threshold=60.0, sigma1=15.0, orders=[order])[0]
                           - tbase) <= tbound[0] + 1e-12
        walk = votes.copy()
        for d in range(1, 30):  # a random walk of single vote changes: at distance <= d from votes
            i = rng.choice(np.flatnonzero(walk > 0))
            j = rng.choice([c for c in range(4) if c != i])
            walk[i] -= 1
            walk[j] += 1
            assert P.local_sensitivity_gnmax(walk, sigma=sigma, order=order)[0] <= bound[: d + 1].max() + 1e-12
            assert P.local_sensitivity_threshold(walk, threshold=60.0, sigma1=15.0, order=order)[0] <= \
                tbound[: d + 1].max() + 1e-12



# ----------------------------------------------------------------------------- Confident-GNMax and the release


def test_confident_gnmax_draws_and_answer_rate():
    counts = np.random.default_rng(0).multinomial(50, [0.6, 0.3, 0.1], size=40)
    labels = P.confident_gnmax(counts, threshold=30.0, sigma1=5.0, sigma2=4.0, rng=np.random.default_rng(3))
    rng = np.random.default_rng(3)  # the documented draws: step-1 noise per query, then step-2 noise per count
    selected = counts.max(axis=1) + rng.normal(0, 5.0, size=40) >= 30.0
    expected = np.where(selected, np.argmax(counts + rng.normal(0, 4.0, size=counts.shape), axis=1), -1)
    np.testing.assert_array_equal(labels, expected)
    assert labels.dtype == np.int64 and isinstance(P.confident_gnmax(counts[0], threshold=30.0, sigma1=5.0,
                                                                      sigma2=4.0, rng=0), int)
    # Pr[answered] = Pr[max + N(0, σ₁²) >= T] = exp(log_pr_answered); 5 standard errors of a Bernoulli mean
    n = 40_000
    many = np.tile([27, 15, 8], (n, 1))
    answered = P.confident_gnmax(many, threshold=30.0, sigma1=5.0, sigma2=4.0, rng=np.random.default_rng(4)) >= 0
    p = math.exp(P.log_pr_answered(np.array([27, 15, 8]), threshold=30.0, sigma1=5.0))
    assert p == pytest.approx(stats.norm.sf(3.0 / 5.0), rel=1e-12)
    check_mean(answered.astype(float), p, std=math.sqrt(p * (1 - p)), what="answer rate", n_se=N_SE, quiet=True)
    for kwargs, match in [(dict(threshold=30.0, sigma1=0.0, sigma2=4.0), "sigma1"),
                          (dict(threshold=30.0, sigma1=5.0, sigma2=-1.0), "sigma2"),
                          (dict(threshold=float("nan"), sigma1=5.0, sigma2=4.0), "threshold")]:
        with pytest.raises(ValueError, match=match):
            P.confident_gnmax(counts, **kwargs, rng=0)


def test_confident_gnmax_rdp(ref):
    rng = np.random.default_rng(5)
    counts = rng.multinomial(100, [0.7, 0.2, 0.05, 0.05], size=30)
    counts[:5] = rng.multinomial(100, [0.3, 0.3, 0.2, 0.2], size=5)
    kw = dict(threshold=60.0, sigma1=20.0, sigma2=10.0)
    answered = P.confident_gnmax(counts, **kw, rng=np.random.default_rng(6)) >= 0
    orders = P.GNMAX_ORDERS
    # worst case: every query pays the threshold step and GNMax (how many are answered depends on the data)
    np.testing.assert_allclose(P.confident_gnmax_rdp(counts, **kw, orders=orders, data_dependent=False),
                               30 * (orders / (2 * 20.0**2) + orders / 10.0**2), rtol=1e-14)
    # data-dependent, with the reference's functions: threshold on every query + GNMax on the answered ones
    expected = sum(ref.core.compute_rdp_threshold(ref.core.compute_logpr_answered(60.0, 20.0, c), 20.0, orders)
                   for c in counts)
    expected = expected + sum(ref.core.rdp_gaussian(ref.core.compute_logq_gaussian(c, 10.0), 10.0, orders)
                              for c in counts[answered])
    got = P.confident_gnmax_rdp(counts, answered, **kw, orders=orders)
    np.testing.assert_allclose(got, expected, rtol=1e-11)
    assert (got <= P.confident_gnmax_rdp(counts, **kw, orders=orders, data_dependent=False) + 1e-12).all()
    eps, order = P.confident_gnmax_epsilon(counts, answered, **kw, delta=1e-5, orders=orders, conversion="classic")
    assert (eps, order) == pytest.approx(ref.core.compute_eps_from_delta(orders, expected, 1e-5), rel=1e-11)
    with pytest.raises(ValueError, match="answered"):
        P.confident_gnmax_rdp(counts, answered.astype(int), **kw)
    with pytest.raises(ValueError, match="answered"):
        P.confident_gnmax_rdp(counts, answered[:-1], **kw)


def test_release_epsilon_smooth_sensitivity_composes_the_reference(ref):
    rng = np.random.default_rng(7)
    counts = rng.multinomial(100, [0.75, 0.15, 0.05, 0.05], size=40)
    kw = dict(threshold=60.0, sigma1=20.0)
    answered = P.confident_gnmax(counts, **kw, sigma2=10.0, rng=np.random.default_rng(8)) >= 0
    order, beta, sigma_ss, delta = 8.0, 0.4 / 8.0, 10.0, 1e-5
    out = P.release_epsilon_smooth_sensitivity(counts, answered, sigma2=10.0, delta=delta, order=order, beta=beta,
                                               sigma_ss=sigma_ss, **kw, rng=np.random.default_rng(9))
    # the reference's pieces, composed as smooth_sensitivity_table.py does, with the realised answers
    rdp = sum(ref.core.compute_rdp_threshold(ref.core.compute_logpr_answered(60.0, 20.0, c), 20.0, order) for c in counts)
    rdp += sum(ref.core.rdp_gaussian(ref.core.compute_logq_gaussian(c, 10.0), 10.0, order) for c in counts[answered])
    ls_ref = sum(ref.ss.compute_local_sensitivity_bounds_threshold(c, 100, 60.0, 20.0, order) for c in counts)
    ls_ref = ls_ref + sum(ref.ss.compute_local_sensitivity_bounds_gnmax(c, 100, 10.0, order) for c in counts[answered])
    # ours also covers what the reference omits: the threshold step's farthest distance max(v, T - v),
    # and distance T = 100 for GNMax (bounded by the largest per-distance bound)
    full = np.append(ls_ref, 0.0)
    for c in counts:
        far = max(int(c.max()), 100 - int(c.max()))
        full[far] += P.local_sensitivity_threshold(c, threshold=60.0, sigma1=20.0, order=order)[far]
    full[100] += sum(ref.ss.compute_local_sensitivity_bounds_gnmax(c, 100, 10.0, order).max() for c in counts[answered])
    tail = math.log(1 / delta) / (order - 1)
    assert out.raw_epsilon == pytest.approx(rdp + tail, rel=1e-11)
    assert out.smooth_sensitivity == pytest.approx(ref.ss.compute_discounted_max(beta, full), rel=1e-9)
    assert out.smooth_sensitivity >= ref.ss.compute_discounted_max(beta, ls_ref) * (1 - 1e-9)
    cost = ref.ss.compute_rdp_of_smooth_sensitivity_gaussian(beta, sigma_ss, order)
    assert out.rdp_release_cost == pytest.approx(cost, rel=1e-13)
    z = np.random.default_rng(9).normal(0.0, sigma_ss)  # the documented draw
    assert out.epsilon == pytest.approx(max(0.0, rdp + out.smooth_sensitivity * z) + cost + tail, rel=1e-11)
    assert out.noise_std == pytest.approx(out.smooth_sensitivity * sigma_ss)
    assert out.num_answered == int(answered.sum())
    # plain GNMax (no threshold): every query answered; here the two smooth sensitivities coincide exactly
    out2 = P.release_epsilon_smooth_sensitivity(counts, sigma2=10.0, delta=delta, order=order, beta=beta,
                                                sigma_ss=sigma_ss, rng=0)
    ls2 = sum(ref.ss.compute_local_sensitivity_bounds_gnmax(c, 100, 10.0, order) for c in counts)
    assert out2.smooth_sensitivity == pytest.approx(
        max(ref.ss.compute_discounted_max(beta, ls2), math.exp(-beta * 100) * ls2.max()), rel=1e-9)


def test_release_epsilon_smooth_sensitivity_statistics_and_errors():
    counts = np.random.default_rng(10).multinomial(100, [0.8, 0.1, 0.05, 0.05], size=20)
    kw = dict(sigma2=10.0, delta=1e-5, order=8.0, beta=0.05, sigma_ss=10.0)
    first = P.release_epsilon_smooth_sensitivity(counts, **kw, rng=0)
    tail = math.log(1e5) / 7
    assert first.epsilon >= first.rdp_release_cost + tail  # the RDP part is clipped at 0 (post-processing)
    for seed in range(10):  # one Gaussian draw of std SS·σ_ss from the given generator, nothing else
        z = np.random.default_rng(seed).normal(0.0, 10.0)
        got = P.release_epsilon_smooth_sensitivity(counts, **kw, rng=np.random.default_rng(seed)).epsilon
        assert got == pytest.approx(max(0.0, first.raw_epsilon - tail + first.smooth_sensitivity * z)
                                    + first.rdp_release_cost + tail, rel=1e-12)
    for bad, match in [(dict(order=25.0, beta=0.01), "C5-C6"),  # sigma2 = 10 is too small for order 25
                       (dict(beta=0.1), "order must be <"),  # 8 >= 1/(2·0.1)
                       (dict(sigma_ss=0.0), "sigma_ss"),
                       (dict(delta=0.0), "delta")]:
        with pytest.raises(ValueError, match=match):
            P.release_epsilon_smooth_sensitivity(counts, **{**kw, **bad}, rng=0)
    with pytest.raises(ValueError, match="both threshold and sigma1"):
        P.release_epsilon_smooth_sensitivity(counts, **kw, threshold=50.0, rng=0)
    uneven = counts.copy()
    uneven[0, 0] += 1
    with pytest.raises(ValueError, match="same number of teachers"):
        P.release_epsilon_smooth_sensitivity(uneven, **kw, rng=0)


def test_lnmax_epsilon_is_perform_analysis_with_keyword_only_privacy_parameters():
    preds = np.random.default_rng(0).integers(0, 3, size=(50, 40))
    labels = P.vote_counts(preds, num_classes=3).argmax(axis=1)
    assert P.lnmax_epsilon(preds, labels, gamma=0.1, delta=1e-5) == P.perform_analysis(preds, labels, 0.1, delta=1e-5)
    with pytest.raises(TypeError):
        P.lnmax_epsilon(preds, labels, 0.1, 1e-5)  # privacy parameters are keyword-only
    with pytest.raises(ValueError, match="noise_eps"):
        P.perform_analysis(preds, labels, -1.0)  # the legacy wrapper names its own parameters
