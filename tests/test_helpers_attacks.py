"""helpers.attacks on tiny data: each attack does what its docstring says, reproducibly."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import helpers.attacks as X
from helpers.models import mlp

torch.set_num_threads(1)  # tiny models: threads only add contention on a shared CPU


def _tiny_data(n=200, d=20, seed=0):
    g = np.random.default_rng(seed)
    y = g.integers(0, 3, n)
    centres = g.normal(0, 1, (3, d))
    x = (centres[y] + g.normal(0, 1.5, (n, d))).astype(np.float32)
    return x, y.astype(np.int64)


# ----------------------------------------------------------------------------- membership inference

def test_per_example_losses_and_logit_confidence_agree():
    torch.manual_seed(0)
    model = mlp(in_features=20, hidden=8, num_classes=3, generator=torch.Generator().manual_seed(0))
    x, y = _tiny_data(50)
    loss = X.per_example_losses(model, x, y)
    phi = X.logit_confidence(model, x, y)
    p = np.exp(-loss)  # p_y
    assert np.allclose(phi, np.log(p / (1 - p)), atol=1e-4)


def test_loss_threshold_attack_picks_first_maximiser_on_fit_data():
    fit_m, fit_n = np.array([0.1, 0.2, 0.9]), np.array([0.5, 1.0, 1.1, 1.3])
    tau, tpr, fpr = X.loss_threshold_attack(fit_m, fit_n, np.array([0.15, 0.3, 2.0, 0.19]), np.array([0.1, 3.0]))
    assert (tau, tpr, fpr) == (0.9, 0.75, 0.5)  # TPR - FPR: 2/3 at 0.2, 3/4 at 0.9
    # ties: the first (smallest) maximiser; 1 and 3 give TPR - FPR = 1/2 exactly
    assert X.loss_threshold_attack([1.0, 2.0], [2.0, 3.0], [1.0], [1.0])[0] == 1.0


def test_loss_threshold_attack_separates_shifted_losses():
    g = np.random.default_rng(1)
    m, n = g.exponential(0.5, 4000), g.exponential(1.0, 4000)
    tau, tpr, fpr = X.loss_threshold_attack(m[:2000], n[:2000], m[2000:], n[2000:])
    # best threshold for Exp(2) vs Exp(1): e^{-t} = 2 e^{-2t} -> t = log 2; TPR - FPR = 1/4
    assert abs(tau - math.log(2)) < 0.15 and abs((tpr - fpr) - 0.25) < 0.04


def test_lira_scores_rank_members_first():
    g = np.random.default_rng(2)
    k, n = 8, 300
    in_mask = g.random((k, n)).argsort(axis=0) < k // 2
    base = g.normal(0, 2, n)
    conf = base + 2.0 * in_mask + g.normal(0, 0.5, (k, n))
    member = g.random(n) < 0.5
    target = base + 2.0 * member + g.normal(0, 0.5, n)
    s = X.lira_scores(target, conf, in_mask)
    from helpers.audit import auc
    assert auc(s[member], s[~member]) > 0.95
    with pytest.raises(ValueError):
        X.lira_scores(target, conf, np.ones_like(in_mask))


def test_shadow_confidences_balanced_and_reproducible():
    x, y = _tiny_data(60)
    trainer = X.mlp_trainer(hidden=8, epochs=2, batch_size=16, lr=0.01, num_classes=3)
    c1, m1 = X.shadow_confidences(x, y, train=trainer, num_models=4, rng=np.random.default_rng(0), progress=False)
    c2, m2 = X.shadow_confidences(x, y, train=trainer, num_models=4, rng=np.random.default_rng(0), progress=False)
    assert np.array_equal(m1, m2) and np.allclose(c1, c2)
    assert (m1.sum(axis=0) == 2).all()


# ----------------------------------------------------------------------------- inversion

def test_total_variation_by_hand():
    x = torch.tensor([[[[0.0, 1.0], [3.0, 1.0]]]])
    # vertical |3-0| + |1-1| = 3; horizontal |1-0| + |1-3| = 3
    assert X.total_variation(x).tolist() == [6.0]
    with pytest.raises(ValueError):
        X.total_variation(torch.zeros(2, 2))


def test_inversion_loss_terms():
    model = mlp(in_features=4, hidden=3, num_classes=2, generator=torch.Generator().manual_seed(0))
    x = torch.randn(3, 1, 2, 2, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([0, 1, 1])
    ce = torch.nn.functional.cross_entropy(model(x), t)
    got = X.inversion_loss(model, x, t, tv_weight=0.5, l2_weight=0.25)
    want = ce + (0.5 * X.total_variation(x) + 0.25 * (x ** 2).sum(dim=(1, 2, 3))).mean()
    assert torch.allclose(got, want)


def test_invert_classes_raises_class_score_and_keeps_weights():
    model = mlp(in_features=16, hidden=8, num_classes=3, generator=torch.Generator().manual_seed(0))
    before = [p.clone() for p in model.parameters()]
    rec = X.invert_classes(model, [0, 1, 2], shape=(1, 4, 4), steps=100, lr=0.1, tv_weight=0.0, l2_weight=0.0,
                           generator=torch.Generator().manual_seed(0))
    assert (model(rec).argmax(1) == torch.tensor([0, 1, 2])).all()
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_pearson_and_inversion_similarity():
    assert X.pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    xs = np.stack([np.eye(4)[i].reshape(1, 2, 2) for i in range(4)])
    ys = np.array([0, 0, 1, 1])
    out = X.inversion_similarity(xs[[1, 2]], [0, 1], xs, ys)
    assert out["nearest_index"].tolist() == [1, 2] and np.allclose(out["r_nearest"], 1.0)


# ----------------------------------------------------------------------------- gradient leakage

def test_dlg_recovers_an_input_and_dp_noise_stops_it():
    model = mlp(in_features=16, hidden=32, num_classes=4, generator=torch.Generator().manual_seed(0))
    x = torch.randn(1, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([2])
    grads = X.shared_gradient(model, x, y)
    assert X.idlg_label(grads, model) == 2
    rec = X.gradient_leakage(model, grads, label=2, shape=(1, 1, 4, 4), steps=300, lr=0.1,
                             generator=torch.Generator().manual_seed(2))
    assert ((rec - x) ** 2).mean() < 0.01
    noisy = X.shared_gradient(model, x, y, max_norm=1.0, noise_multiplier=1.0, generator=torch.Generator().manual_seed(3))
    rec_dp = X.gradient_leakage(model, noisy, label=2, shape=(1, 1, 4, 4), steps=300, lr=0.1, max_norm=1.0,
                                generator=torch.Generator().manual_seed(2))
    assert ((rec_dp - x) ** 2).mean() > 10 * ((rec - x) ** 2).mean()


def test_shared_gradient_clipped_norm():
    model = mlp(in_features=16, hidden=8, num_classes=4, generator=torch.Generator().manual_seed(0))
    x = 10 * torch.randn(1, 16, generator=torch.Generator().manual_seed(1))
    g = X.shared_gradient(model, x, torch.tensor([1]), max_norm=0.5)
    assert float(torch.sqrt(sum((t ** 2).sum() for t in g))) == pytest.approx(0.5, rel=1e-5)
    with pytest.raises(ValueError):
        X.shared_gradient(model, x.repeat(2, 1), torch.tensor([1, 2]), max_norm=0.5)


# ----------------------------------------------------------------------------- synthetic data

def test_similarity_filter_and_dcr():
    real = np.array([[1.0, 0.0], [0.0, 1.0]])
    syn = np.array([[2.0, 0.01], [1.0, 1.0], [-1.0, 0.0]])
    sim, idx = X.nearest_record_similarity(syn, real)
    assert idx[0] == 0 and sim[1] == pytest.approx(1 / math.sqrt(2))
    assert X.similarity_filter(syn, real, threshold=0.99).tolist() == [True, False, False]
    d, _ = X.nearest_record_similarity(syn, real, metric="euclidean")
    assert d[2] == pytest.approx(math.sqrt(2))
    with pytest.raises(ValueError):
        X.similarity_filter(syn, real, threshold=2)
    with pytest.raises(ValueError):
        X.nearest_record_similarity(np.zeros((1, 2)), real)


def test_kde_sampler_small_bandwidth_copies_records():
    real = np.random.default_rng(0).normal(size=(50, 30))
    copies = X.kde_sampler(real, n=20, bandwidth=0.01, rng=np.random.default_rng(1))
    smooth = X.kde_sampler(real, n=20, bandwidth=2.0, rng=np.random.default_rng(1))
    assert X.similarity_filter(copies, real, threshold=0.95).all()
    assert not X.similarity_filter(smooth, real, threshold=0.95).any()
    assert np.array_equal(copies, X.kde_sampler(real, n=20, bandwidth=0.01, rng=np.random.default_rng(1)))


# ----------------------------------------------------------------------------- inversion in federated learning

def _federated_inversion_gain(seed, n=400, rounds=3, steps=40):
    """Lesson 07's federated-inversion cell, small: for each client, r(class mean) of its model's inversions
    minus the global model's, on the client's own classes and on the others."""
    import warnings

    import helpers.federated as fed
    from helpers.data import load_image_data
    from helpers.partitions import shard_partition

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # offline: the MNIST sample, with a warning that says so
        data = load_image_data()
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(data.x_train), size=n, replace=False)
    x, y = torch.from_numpy(data.x_train[idx]), torch.from_numpy(data.y_train[idx])
    clients = [(x[p], y[p]) for p in shard_partition(y.numpy(), num_parts=5, rng=rng)]
    arch = mlp(hidden=64, generator=torch.Generator().manual_seed(seed))
    local = dict(epochs=1, batch_size=32, lr=0.05)
    result = fed.fedavg(arch, clients, rounds=rounds, client_fraction=1.0, seed=seed, **local)
    classes = list(range(10))

    def r_of(weights):
        model = mlp(hidden=64)
        fed.set_weights(model, weights)
        inv = X.invert_classes(model, classes, steps=steps, lr=0.05, tv_weight=0.01, l2_weight=0.001,
                               bounds=(-1.0, 1.0), generator=torch.Generator().manual_seed(seed))
        return X.inversion_similarity(inv, classes, x, y)["r_class_mean"]

    r_global = r_of(result.weights)
    own_gain, other_gain = [], []
    for k, (xk, yk) in enumerate(clients):
        gen = torch.Generator().manual_seed(fed.client_seed(seed, rounds + 1, k))
        w, _ = fed.client_update(arch, result.weights, xk, yk, generator=gen, **local)
        r_client = r_of(w)
        own = np.bincount(yk.numpy(), minlength=10) >= 0.2 * len(yk)
        own_gain.append(r_client[own].mean() - r_global[own].mean())
        other_gain.append(r_client[~own].mean() - r_global[~own].mean())
    return np.array(own_gain), np.array(other_gain)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_client_model_inverts_to_its_own_classes_more_than_the_global_model(seed):
    # what lesson 07 shows about plain FedAvg: the model a client sends (trained on its own non-IID data from the
    # global weights) inverts to images more like ITS classes than the global model's inversions are, and less
    # like the classes it does not hold -- a property of the client's dataset the server learns without any image
    own_gain, other_gain = _federated_inversion_gain(seed)
    # (measured over seeds 0-7: mean own-class gain +0.35 to +0.50, other classes -0.09 to -0.21)
    assert own_gain.mean() > 0.2 and (own_gain > 0).all()
    assert other_gain.mean() < 0
