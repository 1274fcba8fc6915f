"""Tests for helpers.pate: aggregation, the 2017 moments analysis, GNMax RDP, batched teachers."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

import helpers.pate as P
from helpers.checks import check_mean

N_SE = 5  # statistical checks: |estimate − truth| ≤ 5 standard errors (two-sided p ≈ 6e-7)


# ----------------------------------------------------------------------------- partition and votes


def test_partition_indices_disjoint_equal_reproducible():
    shards = P.partition_indices(103, 10, rng=np.random.default_rng(0))
    assert shards.shape == (10, 10) and shards.dtype == np.int64
    assert len(np.unique(shards)) == 100 and shards.min() >= 0 and shards.max() < 103
    again = P.partition_indices(103, 10, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(shards, again)
    expected = np.random.default_rng(0).permutation(103)[:100].reshape(10, 10)  # the documented recipe
    np.testing.assert_array_equal(shards, expected)
    assert not np.array_equal(shards, P.partition_indices(103, 10, rng=1))


@pytest.mark.parametrize("args", [(0, 1), (10, 0), (5, 6), (10.0, 2), (10, 2.5), (True, 1)])
def test_partition_indices_rejects(args):
    with pytest.raises(ValueError, match="num_"):
        P.partition_indices(*args, rng=0)


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
        eps_c, _ = P.gnmax_epsilon(counts, sigma=sigma, delta=1e-5, orders=orders, data_dependent=False)
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
    all_orders = P.DEFAULT_ORDERS
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

    torch.manual_seed(0)
    model = P._make_batched_mlp(3, 6, 5, 4, torch.Generator().manual_seed(1))
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
    with pytest.raises(ValueError, match="shards"):
        P.train_teachers(x, y, 2, shards=np.zeros((3, 4), int), progress=False)
    with pytest.raises(ValueError, match="NaN"):
        P.train_teachers(np.full((10, 4), np.nan), np.zeros(10, int), 2, progress=False)
