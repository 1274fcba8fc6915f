"""helpers.models, helpers.training, helpers.dp_engine and data.normalize_images / load_image_data."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import accounting, data, dpsgd, models, training
from helpers.dp_engine import DPSGD
from test_helpers_dpsgd import _toy  # the same toy classification data




# ----------------------------------------------------------------------------- models


def test_mlp_is_reproducible_from_its_generator_and_has_linear_init():
    a = models.mlp(in_features=20, hidden=8, num_classes=3, generator=torch.Generator().manual_seed(0))
    b = models.mlp(in_features=20, hidden=8, num_classes=3, generator=torch.Generator().manual_seed(0))
    c = models.mlp(in_features=20, hidden=8, num_classes=3, generator=torch.Generator().manual_seed(1))
    flat = lambda m: torch.cat([p.detach().flatten() for p in m.parameters()])  # noqa: E731
    assert torch.equal(flat(a), flat(b)) and not torch.equal(flat(a), flat(c))
    assert float(a[1].weight.detach().abs().max()) <= 1 / math.sqrt(20)
    assert float(a[3].weight.detach().abs().max()) <= 1 / math.sqrt(8)
    assert a(torch.zeros(4, 4, 5)).shape == (4, 3)  # Flatten first


def test_tramer_boneh_cnn_has_26010_parameters_and_old_name_works():
    m = models.tramer_boneh_cnn()
    assert sum(p.numel() for p in m.parameters()) == 26_010
    assert dpsgd.tramer_boneh_cnn is models.tramer_boneh_cnn
    with pytest.raises(ValueError):
        models.tramer_boneh_cnn(activation="sigmoid")


def test_batched_mlp_equals_its_models_one_by_one():
    g = torch.Generator().manual_seed(0)
    m = models.BatchedMLP(3, 6, 5, 4, generator=g)
    x = torch.randn(7, 6, generator=g)
    out = m(x)
    assert out.shape == (3, 7, 4)
    for t in range(3):
        ref = torch.relu(x @ m.w1[t] + m.b1[t]) @ m.w2[t] + m.b2[t]
        torch.testing.assert_close(out[t], ref)


# ----------------------------------------------------------------------------- accuracy / predict


def test_accuracy_and_predict_for_a_model_and_a_batched_model():
    lin = nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.eye(2))
        lin.bias.zero_()
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0]])
    y = torch.tensor([0, 1, 1, 1])
    assert training.predict(lin, x).tolist() == [0, 1, 0, 1]
    assert training.accuracy(lin, x, y) == 0.75
    assert training.accuracy(lin, x.numpy(), y.numpy(), batch_size=1) == 0.75  # numpy in, any batch size
    lin.train()
    training.accuracy(lin, x, y)
    assert lin.training  # mode restored
    bm = models.BatchedMLP(2, 2, 3, 2, generator=torch.Generator().manual_seed(0))
    preds = training.predict(bm, x)
    assert preds.shape == (2, 4) and preds.dtype == np.int64
    acc = training.accuracy(bm, x, y)
    assert acc.shape == (2,) and np.allclose(acc, (preds == y.numpy()).mean(axis=1))
    assert dpsgd.accuracy is training.accuracy
    with pytest.raises(ValueError):
        training.accuracy(lin, x, y[:3])
    with pytest.raises(ValueError):
        training.accuracy(lin, x[:0], y[:0])


# ----------------------------------------------------------------------------- fit


def test_fit_non_private_learns_and_reproduces():
    x, y = _toy()

    def run(seed):
        torch.manual_seed(0)
        m = nn.Sequential(nn.Linear(5, 2))
        h = training.fit(m, x, y, epochs=3, batch_size=32, lr=0.1, generator=torch.Generator().manual_seed(seed),
                         eval_data=(x, y), progress=False)
        return m, h

    m, h = run(0)
    assert h.epoch == [1, 2, 3] and len(h.train_loss) == 3 and h.steps == 3 * math.ceil(400 / 32)
    assert h.test_accuracy[-1] > 0.9 and h.epsilon == []
    m2, _ = run(0)
    m3, _ = run(1)
    assert torch.equal(m[0].weight, m2[0].weight) and not torch.equal(m[0].weight, m3[0].weight)
    ha = training.fit(nn.Sequential(nn.Linear(5, 2)), x, y, epochs=1, batch_size=50, lr=1e-2, optimizer="adam",
                      progress=False)
    assert ha.steps == 8


def test_fit_private_equals_the_hand_written_loop_and_accounts():
    x, y = _toy()
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)

    def by_hand():
        torch.manual_seed(0)
        m = nn.Sequential(nn.Linear(5, 2))
        gen = torch.Generator().manual_seed(3)
        dp = DPSGD(m, F.cross_entropy, torch.optim.SGD(m.parameters(), lr=0.5, momentum=0.9), max_norm=1.0,
                   noise_multiplier=1.1, expected_batch_size=40, generator=gen)
        for _ in range(2):
            for idx in dpsgd.poisson_batches(400, sample_rate=0.1, steps=10, generator=gen):
                dp.step(xt[idx], yt[idx])
        return m, dp

    def with_fit():
        torch.manual_seed(0)
        m = nn.Sequential(nn.Linear(5, 2))
        gen = torch.Generator().manual_seed(3)
        dp = DPSGD(m, max_norm=1.0, noise_multiplier=1.1, generator=gen)
        h = training.fit(m, x, y, epochs=2, batch_size=40, lr=0.5, momentum=0.9, engine=dp, generator=gen,
                         delta=1e-5, progress=False)
        return m, dp, h

    m1, dp1 = by_hand()
    m2, dp2, h = with_fit()
    assert torch.equal(m1[0].weight, m2[0].weight) and torch.equal(m1[0].bias, m2[0].bias)
    assert dp2.sample_rate == 0.1 and dp2.expected_batch_size == 40 and dp2.steps == 20 == h.steps
    expected = accounting.epsilon(noise_multiplier=1.1, sample_rate=0.1, steps=20, delta=1e-5)
    assert h.epsilon[-1] == dp2.epsilon(delta=1e-5) == expected
    assert dp1.epsilon(delta=1e-5, sample_rate=0.1) == expected  # the legacy call (q given at the end)
    assert h.epsilon[0] == accounting.epsilon(noise_multiplier=1.1, sample_rate=0.1, steps=10, delta=1e-5)


def test_engine_accounts_changing_sample_rates():
    m = nn.Sequential(nn.Linear(5, 2))
    x, y = (torch.as_tensor(a) for a in _toy(20))
    dp = DPSGD(m, max_norm=1.0, noise_multiplier=1.0, sample_rate=0.1, expected_batch_size=2,
               optimizer=torch.optim.SGD(m.parameters(), lr=0.1))
    for _ in range(3):
        dp.step(x[:2], y[:2])
    dp.sample_rate = 0.2
    dp.step(x[:4], y[:4])
    ref = accounting.RDPAccountant()
    ref.step(noise_multiplier=1.0, sample_rate=0.1, steps=3)
    ref.step(noise_multiplier=1.0, sample_rate=0.2)
    assert dp.epsilon(delta=1e-5) == ref.get_epsilon(delta=1e-5)
    with pytest.raises(ValueError, match="differs"):
        dp.epsilon(delta=1e-5, sample_rate=0.3)
    bare = DPSGD(nn.Sequential(nn.Linear(5, 2)), max_norm=1.0, noise_multiplier=1.0, expected_batch_size=2)
    bare.noisy_gradient(x[:2], y[:2])
    with pytest.raises(ValueError, match="sample_rate"):
        bare.epsilon(delta=1e-5)
    with pytest.raises(ValueError, match="optimizer"):
        bare.step(x[:2], y[:2])


@pytest.mark.parametrize("kwargs", [
    dict(epochs=0), dict(batch_size=0), dict(batch_size=10_000), dict(lr=0.0), dict(optimizer="rmsprop"),
    dict(momentum=1.0), dict(steps_per_epoch=3), dict(eval_data=(1, 2, 3)), dict(generator=np.random.default_rng()),
    dict(batch_size=None), dict(batches=lambda epoch: iter(())),
])
def test_fit_rejects_bad_arguments(kwargs):
    x, y = _toy(50)
    args = dict(epochs=1, batch_size=10, lr=0.1, progress=False) | kwargs
    with pytest.raises(ValueError):
        training.fit(nn.Sequential(nn.Linear(5, 2)), x, y, **args)


def test_fit_rejects_an_engine_of_another_model_or_rate():
    x, y = _toy(50)
    m = nn.Sequential(nn.Linear(5, 2))
    other = DPSGD(nn.Sequential(nn.Linear(5, 2)), max_norm=1.0, noise_multiplier=1.0)
    with pytest.raises(ValueError, match="model"):
        training.fit(m, x, y, epochs=1, batch_size=10, lr=0.1, engine=other, progress=False)
    wrong_rate = DPSGD(m, max_norm=1.0, noise_multiplier=1.0, sample_rate=0.5)
    with pytest.raises(ValueError, match="sample_rate"):
        training.fit(m, x, y, epochs=1, batch_size=10, lr=0.1, engine=wrong_rate, progress=False)


# ----------------------------------------------------------------------------- images


def test_normalize_images_is_the_three_old_normalisations():
    x = np.arange(256, dtype=np.uint8).reshape(16, 16)
    sym = data.normalize_images(x)
    assert sym.dtype == np.float32 and sym.min() == -1.0 and sym.max() == 1.0
    np.testing.assert_allclose(sym, x.astype(np.float32) / 127.5 - 1.0, atol=1e-6)  # lesson 05's old formula
    unit = data.normalize_images(x, mean=0.0, std=1.0)
    assert np.array_equal(unit, x.astype(np.float32) / np.float32(255.0))  # PATE's, bit for bit
    tb = data.normalize_images(x, mean=0.2860, std=0.3530)
    np.testing.assert_allclose(tb, (x / 255.0 - 0.2860) / 0.3530, rtol=1e-5, atol=1e-5)  # the benchmark's
    with pytest.raises(ValueError):
        data.normalize_images(x, std=0.0)
    with pytest.raises(ValueError):
        data.normalize_images(np.array(["a"]))


def test_load_image_data_falls_back_offline_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "none")
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d = data.load_image_data()
    assert any("Fashion-MNIST" in str(w.message) and "MNIST instead" in str(w.message) for w in caught)
    assert d.name == "MNIST sample"
    assert d.x_train.shape == (4000, 1, 28, 28) and d.x_train.dtype == np.float32
    assert d.x_train.min() >= -1.0 and d.x_train.max() <= 1.0 and d.y_train.dtype == np.int64
    assert d.x_test.shape == (1000, 1, 28, 28) and d.y_test.shape == (1000,)
    with pytest.raises(ValueError):
        data.load_image_data(prefer="cifar")


def test_fit_with_caller_chosen_batches():
    x, y = (torch.as_tensor(a) for a in _toy(64))
    seen = []

    def batches(epoch):
        seen.append(epoch)
        for i in range(0, 64, 16):
            yield x[i:i + 16], y[i:i + 16]

    m = nn.Sequential(nn.Linear(5, 2))
    h = training.fit(m, epochs=2, lr=0.1, batches=batches, steps_per_epoch=4, progress=False)
    assert seen == [1, 2] and h.steps == 8 and len(h.train_loss) == 2
    with pytest.raises(ValueError, match="batches"):
        training.fit(m, epochs=1, lr=0.1, batches=batches, engine=DPSGD(m, max_norm=1.0, noise_multiplier=1.0))
