"""Tests for helpers.dpsgd: per-sample gradients, clipping, noise, ghost clipping, train_private."""
from __future__ import annotations

import importlib.util
import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import accounting
from helpers.checks import check_mean
from helpers import dpsgd as D


class EmbeddingModel(nn.Module):
    """Embedding (with padding) -> Linear on the sequence and on the flattened sequence."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(20, 8, padding_idx=0)
        self.per_token = nn.Linear(8, 3)
        self.flat = nn.Linear(8 * 5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.emb(x)
        return self.per_token(h).mean(1) + self.flat(torch.tanh(h).flatten(1))


class MixedModel(nn.Module):
    """RGB conv (grouped-conv path), dilated conv (unfold path), sequence Linear (ghost-norm path)."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1, stride=2)
        self.c2 = nn.Conv2d(8, 4, 3, dilation=2)
        self.seq = nn.Linear(16, 30)
        self.out = nn.Linear(30, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.c2(torch.tanh(self.c1(x))))  # (B, 4, 4, 4)
        return self.out(torch.tanh(self.seq(h.flatten(2)))).mean(1)


class NormModel(nn.Module):
    """Conv -> GroupNorm (what ModuleValidator.fix puts for BatchNorm) -> Linear on a sequence -> LayerNorm."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 6, 3, stride=2)
        self.gn = nn.GroupNorm(3, 6)
        self.seq = nn.Linear(6, 8)
        self.ln = nn.LayerNorm(8)
        self.out = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.gn(self.conv(x)))  # (B, 6, 4, 4)
        h = self.ln(torch.tanh(self.seq(h.flatten(2).transpose(1, 2))))  # (B, 16, 8)
        return self.out(h).mean(1)


def _case(name: str, dtype=torch.float64):
    torch.manual_seed(0)
    if name == "mlp":
        m, x, y = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 3)), torch.randn(7, 10), torch.randint(0, 3, (7,))
    elif name == "cnn":
        m, x, y = D.tramer_boneh_cnn(), torch.randn(6, 1, 28, 28), torch.randint(0, 10, (6,))
    elif name == "embedding":
        m, x, y = EmbeddingModel(), torch.randint(0, 20, (6, 5)), torch.randint(0, 3, (6,))
    elif name == "norms":
        m, x, y = NormModel(), torch.randn(6, 1, 9, 9), torch.randint(0, 3, (6,))
    else:
        m, x, y = MixedModel(), torch.randn(5, 3, 15, 15), torch.randint(0, 2, (5,))
    m = m.to(dtype)
    if x.is_floating_point():
        x = x.to(dtype)
    return m, x, y


ARCHS = ["mlp", "cnn", "embedding", "mixed", "norms"]


@pytest.mark.parametrize("arch", ARCHS)
def test_vmap_equals_loop(arch):
    # float32, the default dtype: agreement to 1e-6 (absolute) as the lesson states
    m, x, y = _case(arch, torch.float32)
    loop = D.per_sample_gradients_loop(m, F.cross_entropy, x, y)
    vec = D.per_sample_gradients(m, F.cross_entropy, x, y)
    assert list(loop) == [n for n, p in m.named_parameters()]
    for name, p in m.named_parameters():
        assert loop[name].shape == (x.shape[0], *p.shape)
        torch.testing.assert_close(vec[name], loop[name], rtol=1e-5, atol=1e-6)


def test_loop_sums_to_batch_gradient():
    # the mean of per-example gradients is the gradient of the mean loss (linearity)
    m, x, y = _case("mlp")
    grads = D.per_sample_gradients_loop(m, F.cross_entropy, x, y)
    F.cross_entropy(m(x), y).backward()
    for name, p in m.named_parameters():
        torch.testing.assert_close(grads[name].mean(0), p.grad, rtol=1e-10, atol=1e-12)


def test_frozen_parameters_are_skipped():
    m, x, y = _case("mlp")
    m[0].weight.requires_grad_(False)
    grads = D.per_sample_gradients(m, F.cross_entropy, x, y)
    assert "0.weight" not in grads and "0.bias" in grads
    dp = D.DPSGD(m, F.cross_entropy, torch.optim.SGD(m.parameters(), lr=0.1), max_norm=0.1, noise_multiplier=0,
                 expected_batch_size=1)
    summed, _ = dp.clipped_sum(x, y)
    ref = D.clip_gradients(D.per_sample_gradients_loop(m, F.cross_entropy, x, y), max_norm=0.1)
    for k in ref:
        torch.testing.assert_close(summed[k], ref[k].sum(0), rtol=0, atol=1e-10)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("method", ["bookkeeping", "ghost"])
def test_fast_clipping_equals_materialised(arch, method):
    # float64, σ = 0: the clipped sum without per-example gradients equals the materialised one to 1e-10
    m, x, y = _case(arch)
    per = D.per_sample_gradients_loop(m, F.cross_entropy, x, y)
    for max_norm in (1e-3, 0.05, 1e3):  # all clipped, some clipped, none clipped
        ref = {k: v.sum(0) for k, v in D.clip_gradients(per, max_norm=max_norm).items()}
        dp = D.DPSGD(m, F.cross_entropy, torch.optim.SGD(m.parameters(), lr=0.1), max_norm=max_norm,
                     noise_multiplier=0.0, expected_batch_size=1, method=method)
        got, _ = dp.clipped_sum(x, y)
        for k in ref:
            torch.testing.assert_close(got[k], ref[k], rtol=0, atol=1e-10)
        norms = torch.sqrt(sum((v.flatten(1) ** 2).sum(1) for v in per.values()))
        torch.testing.assert_close(D.per_sample_grad_norms(m, F.cross_entropy, x, y), norms, rtol=1e-10, atol=1e-12)


def test_dpsgd_step_equals_dp_sgd_step():
    # same generator, same noise order -> the optimized class and the readable function take the same step
    m1, x, y = _case("cnn")
    m2, _, _ = _case("cnn")
    o1, o2 = torch.optim.SGD(m1.parameters(), lr=0.5), torch.optim.SGD(m2.parameters(), lr=0.5)
    D.dp_sgd_step(m1, F.cross_entropy, x, y, optimizer=o1, max_norm=0.1, noise_multiplier=1.1,
                  expected_batch_size=8, generator=torch.Generator().manual_seed(5))
    dp = D.DPSGD(m2, F.cross_entropy, o2, max_norm=0.1, noise_multiplier=1.1, expected_batch_size=8,
                 generator=torch.Generator().manual_seed(5))
    dp.step(x, y)
    assert dp.steps == 1
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(p1, p2, rtol=0, atol=1e-10)


def test_clip_gradients_norms():
    g = torch.Generator().manual_seed(0)
    grads = {"a": torch.randn(50, 3, 4, generator=g), "b": torch.randn(50, 7, generator=g) * 0.01}
    out = D.clip_gradients(grads, max_norm=1.0)
    before = torch.sqrt(sum((v.flatten(1) ** 2).sum(1) for v in grads.values()))
    after = torch.sqrt(sum((v.flatten(1) ** 2).sum(1) for v in out.values()))
    torch.testing.assert_close(after, torch.clamp(before, max=1.0), rtol=1e-6, atol=1e-7)
    # one factor per example for all parameters: directions are preserved
    torch.testing.assert_close(out["a"] / grads["a"], (out["b"] / grads["b"])[:, :1, None].expand(50, 3, 4), rtol=1e-5, atol=0)


def test_add_noise_statistics_and_reproducibility():
    # noise std σC; the sample std of n Gaussians has standard error ≈ σC/√(2n); tolerance 5 standard errors
    sigma, c, n = 1.3, 0.7, 200_000
    zero = {"w": torch.zeros(n, dtype=torch.float64)}
    noisy = D.add_noise(zero, noise_multiplier=sigma, max_norm=c, generator=torch.Generator().manual_seed(0))["w"]
    std = sigma * c
    check_mean(noisy, 0.0, std=std, what="noise mean", n_se=5, quiet=True)
    assert abs(float(noisy.std()) - std) < 5 * std / math.sqrt(2 * n)
    again = D.add_noise(zero, noise_multiplier=sigma, max_norm=c, generator=torch.Generator().manual_seed(0))["w"]
    other = D.add_noise(zero, noise_multiplier=sigma, max_norm=c, generator=torch.Generator().manual_seed(1))["w"]
    assert torch.equal(noisy, again) and not torch.equal(noisy, other)
    # σ = 0 adds nothing; a bare tensor works too
    t = torch.arange(3.0)
    assert torch.equal(D.add_noise(t, noise_multiplier=0.0, max_norm=1.0), t)


def test_poisson_batches_rate():
    # each example is in a batch with prob. q: the total count over steps·n Bernoulli(q) trials is within
    # 5 standard errors sqrt(steps·n·q(1-q)) of steps·n·q
    n, q, steps = 1000, 0.03, 400
    sizes = [len(b) for b in D.poisson_batches(n, sample_rate=q, steps=steps, generator=torch.Generator().manual_seed(0))]
    total = sum(sizes)
    assert abs(total - steps * n * q) < 5 * math.sqrt(steps * n * q * (1 - q))
    b1 = list(D.poisson_batches(50, sample_rate=0.5, steps=3, generator=torch.Generator().manual_seed(7)))
    b2 = list(D.poisson_batches(50, sample_rate=0.5, steps=3, generator=torch.Generator().manual_seed(7)))
    assert all(torch.equal(a, b) for a, b in zip(b1, b2))
    assert all(int(b.max()) < 50 and bool((b[1:] > b[:-1]).all()) for b in b1)


def test_training_is_reproducible_with_the_same_generator():
    def run(seed):
        torch.manual_seed(0)  # same initial weights
        m = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
        x = torch.randn(64, 4, generator=torch.Generator().manual_seed(1))
        y = (x[:, 0] > 0).long()
        gen = torch.Generator().manual_seed(seed)
        dp = D.DPSGD(m, F.cross_entropy, torch.optim.SGD(m.parameters(), lr=0.5), max_norm=1.0,
                     noise_multiplier=1.0, expected_batch_size=16, generator=gen)
        for idx in D.poisson_batches(64, sample_rate=0.25, steps=5, generator=gen):
            dp.step(x[idx], y[idx])
        return torch.cat([p.detach().flatten() for p in m.parameters()])

    assert torch.equal(run(3), run(3)) and not torch.equal(run(3), run(4))


def test_empty_batch_is_pure_noise():
    m, x, y = _case("mlp")
    before = [p.detach().clone() for p in m.parameters()]
    g = D.dp_sgd_step(m, F.cross_entropy, x[:0], y[:0], optimizer=torch.optim.SGD(m.parameters(), lr=1.0),
                      max_norm=1.0, noise_multiplier=1.0, expected_batch_size=4, generator=torch.Generator().manual_seed(0))
    assert all(float(v.abs().sum()) > 0 for v in g.values())
    assert all(not torch.equal(b, p) for b, p in zip(before, m.parameters()))


def _toy(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    return x, y


def test_train_private_numpy_and_dataframe():
    x, y = _toy()
    torch.manual_seed(0)
    res = D.train_private(nn.Sequential(nn.Linear(5, 2)), x, y, target_epsilon=2.0, delta=1e-4, epochs=3,
                          batch_size=40, lr=0.5, generator=torch.Generator().manual_seed(0), progress=False)
    assert res.epsilon <= 2.0 + 1e-9 and res.epsilon > 1.5
    assert res.steps == res.planned_steps == 30 and res.sample_rate == pytest.approx(0.1)
    assert res.epsilon_of_steps_run == res.epsilon  # no early stopping: the planned schedule ran
    # the calibrated σ spends the target (within the bisection tolerance), cross-checked with the accountant
    assert accounting.epsilon(noise_multiplier=res.noise_multiplier, sample_rate=0.1, steps=30, delta=1e-4) <= 2.0
    model, eps = res
    assert eps == res.epsilon
    xt = torch.as_tensor(x)
    assert D.accuracy(model, xt, torch.as_tensor(y)) > 0.8
    df = pd.DataFrame(x, columns=list("abcde")).assign(label=y)
    res2 = D.train_private(nn.Sequential(nn.Linear(5, 2)), df, "label", target_epsilon=1.0, delta=1e-4, epochs=2,
                           batch_size=40, validation_split=0.25, early_stopping_patience=1,
                           generator=torch.Generator().manual_seed(0), progress=False)
    assert res2.epsilon_of_steps_run <= res2.epsilon <= 1.0 + 1e-9
    assert len(res2.history) <= 2 and "val_accuracy" in res2.history[0]
    # what is not private says so in its name
    assert set(res2.history[0]) == {"epoch", "epsilon_of_steps_run", "train_loss_not_private", "val_loss", "val_accuracy"}
    # about 25% held out (a keyed split, not a fixed count); q = L / (rows left for training)
    assert res2.sample_rate == pytest.approx(40 / (400 - len(res2.validation_rows))) and 60 < len(res2.validation_rows) < 140


def test_train_private_early_stopping_reports_the_planned_epsilon():
    # Early stopping chooses the length by looking at the model: the guarantee is the planned schedule's ε
    # (post-processing of the planned run); the steps actually run give a smaller number that is no guarantee.
    x, y = _toy()
    y = np.random.default_rng(1).integers(0, 2, size=len(y))  # pure noise labels: validation loss cannot improve long
    res = D.train_private(nn.Sequential(nn.Linear(5, 2)), x, y, target_epsilon=3.0, delta=1e-4, epochs=30,
                          batch_size=50, lr=0.5, validation_split=0.2, early_stopping_patience=1,
                          generator=torch.Generator().manual_seed(0), progress=False)
    n_train = 400 - len(res.validation_rows)  # about 320: the keyed split holds out each row with probability 0.2
    q, planned_steps = 50 / n_train, 30 * math.ceil(n_train / 50)
    assert res.stopped_early and res.steps < res.planned_steps == planned_steps and res.sample_rate == q
    assert res.epsilon_of_steps_run < res.epsilon <= 3.0 + 1e-9
    planned = accounting.epsilon(noise_multiplier=res.noise_multiplier, sample_rate=q, steps=planned_steps, delta=1e-4)
    assert res.epsilon == pytest.approx(planned, rel=1e-12)
    if importlib.util.find_spec("opacus") is not None:  # the guarantee by an independent accountant
        import warnings

        from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent

        orders = list(accounting.DEFAULT_ORDERS)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs, _ = get_privacy_spent(orders=orders, delta=1e-4, rdp=compute_rdp(
                q=q, noise_multiplier=res.noise_multiplier, steps=planned_steps, orders=orders))
        assert res.epsilon == pytest.approx(theirs, rel=1e-6)
    assert tuple(res)[1] == res.epsilon  # `model, eps = train_private(...)` unpacks the guarantee
    assert len(res.history) < 30


def test_early_stopping_closes_the_progress_bar_as_finished(monkeypatch):
    # tqdm's notebook bar turns red ("danger") when closed with n < total: an early stop must not look like a crash
    import tqdm.auto

    bars = []

    class Recording(tqdm.auto.tqdm):
        def close(self):
            bars.append((self.n, self.total))
            super().close()

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    x, y = _toy()
    y = np.random.default_rng(1).integers(0, 2, size=len(y))
    res = D.train_private(nn.Sequential(nn.Linear(5, 2)), x, y, target_epsilon=3.0, delta=1e-4, epochs=30,
                          batch_size=50, lr=0.5, validation_split=0.2, early_stopping_patience=1,
                          generator=torch.Generator().manual_seed(0), progress=True)
    assert res.stopped_early
    assert bars and bars[-1][0] == bars[-1][1] == res.steps


def _dpsgd(m, **kw):
    return D.DPSGD(m, F.cross_entropy, torch.optim.SGD(m.parameters(), lr=0.1), max_norm=kw.pop("max_norm", 0.05),
                   noise_multiplier=0.0, expected_batch_size=4, **kw)


def test_unsupported_layers_raise():
    bn = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    with pytest.raises(ValueError, match="BatchNorm2d.*ModuleValidator.fix"):
        D.check_supported(bn)
    for layer in (nn.Conv1d(4, 4, 1), nn.PReLU(), nn.Bilinear(4, 4, 4), nn.InstanceNorm1d(4, affine=True)):
        model = nn.Sequential(nn.Linear(3, 4), layer)
        with pytest.raises(ValueError, match=f"{type(layer).__name__}.*dp_sgd_step"):
            _dpsgd(model)
        for p in layer.parameters():  # a frozen unsupported layer is fine (it has no gradient to clip)
            p.requires_grad_(False)
        assert D.check_supported(model) == [model[0]]

    class MyLinear(nn.Linear):  # a supported type with a forward of its own: its norms would be wrong
        def forward(self, x):
            return super().forward(x) * self.weight.sum()

    with pytest.raises(ValueError, match="subclass of Linear with its own forward"):
        _dpsgd(nn.Sequential(MyLinear(3, 2)))


def test_batchnorm_fixed_by_opacus_is_supported():
    # The advice for BatchNorm (ModuleValidator.fix) must lead to a model DPSGD accepts, not back to an error
    pytest.importorskip("opacus")
    from opacus.validators import ModuleValidator

    torch.manual_seed(0)
    bn = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2)).double()
    with pytest.raises(ValueError, match="ModuleValidator.fix"):
        _dpsgd(bn)
    fixed = ModuleValidator.fix(bn).double()  # the GroupNorm it creates is float32
    assert isinstance(fixed[1], nn.GroupNorm)
    x, y = torch.randn(5, 1, 8, 8, dtype=torch.float64), torch.randint(0, 2, (5,))
    got, _ = _dpsgd(fixed).clipped_sum(x, y)
    ref = D.clip_gradients(D.per_sample_gradients_loop(fixed, F.cross_entropy, x, y), max_norm=0.05)
    for k in ref:
        torch.testing.assert_close(got[k], ref[k].sum(0), rtol=0, atol=1e-10)


class FunctionalCall(nn.Module):
    """Uses its output layer's weight through F.linear: no forward hook of that layer fires."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden, self.out = nn.Linear(4, 6), nn.Linear(6, 3)

    def forward(self, x):
        return F.linear(torch.tanh(self.hidden(x)), self.out.weight, self.out.bias)


class Tied(nn.Module):
    """Embedding and output layer share one weight (weight tying, as in language models)."""

    def __init__(self) -> None:
        super().__init__()
        self.emb, self.out = nn.Embedding(10, 6), nn.Linear(6, 10, bias=False)
        self.out.weight = self.emb.weight

    def forward(self, x):
        return self.out(torch.tanh(self.emb(x)).mean(1))


class CalledTwice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.out = nn.Linear(4, 4), nn.Linear(4, 3)

    def forward(self, x):
        return self.out(torch.tanh(self.a(torch.tanh(self.a(x)))))


class AlsoUsedOutside(nn.Module):
    """Calls its layer once and uses the layer's weight again outside the call."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.out = nn.Linear(4, 4), nn.Linear(4, 3)

    def forward(self, x):
        return self.out(torch.tanh(self.a(x))) + x @ self.a.weight[:3].t()


class ForwardCalledDirectly(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.out = nn.Linear(4, 4), nn.Linear(4, 3)

    def forward(self, x):
        return self.out(torch.tanh(self.a.forward(x)))  # .forward() skips the hooks


class UnusedLayer(nn.Module):
    """A layer that the forward pass never uses: its gradient is zero, which is right, and allowed."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.spare, self.out = nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 3)

    def forward(self, x):
        return self.out(torch.tanh(self.a(x)))


@pytest.mark.parametrize("method", ["bookkeeping", "ghost"])
@pytest.mark.parametrize("model_cls, message", [
    (FunctionalCall, "'out.weight' is used outside a call of its layer"),
    (AlsoUsedOutside, "'a.weight' is used outside a call of its layer"),
    (ForwardCalledDirectly, "'a.weight' is used outside a call of its layer"),
    (CalledTwice, "called twice"),
])
def test_parameters_not_covered_exactly_once_raise(model_cls, message, method):
    # Before: the forward hook never fired for F.linear(x, layer.weight), so that parameter was silently left
    # out of each example's norm, and one example could move the clipped sum by more than C.
    torch.manual_seed(0)
    m = model_cls().double()
    x, y = torch.randn(6, 4, dtype=torch.float64), torch.randint(0, 3, (6,))
    dp = _dpsgd(m, method=method)
    before = [p.detach().clone() for p in m.parameters()]
    with pytest.raises(ValueError, match=message):
        dp.step(x, y)
    with pytest.raises(ValueError, match=message):
        D.per_sample_grad_norms(m, F.cross_entropy, x, y)
    # nothing moved, and the layers are left as they were (no alias left behind)
    assert all(torch.equal(b, p) for b, p in zip(before, m.parameters()))
    assert all(isinstance(p, nn.Parameter) for mod in m.modules() for p in mod._parameters.values() if p is not None)
    # the readable vmap version handles the model: it is the way out the message names
    ref = D.clip_gradients(D.per_sample_gradients_loop(m, F.cross_entropy, x, y), max_norm=0.05)
    vec = D.clip_gradients(D.per_sample_gradients(m, F.cross_entropy, x, y), max_norm=0.05)
    for k in ref:
        torch.testing.assert_close(vec[k], ref[k], rtol=1e-9, atol=1e-12)


def test_weight_tying_raises_and_vmap_handles_it():
    torch.manual_seed(0)
    m = Tied().double()
    with pytest.raises(ValueError, match="weight tying.*dp_sgd_step"):
        _dpsgd(m)
    x, y = torch.randint(0, 10, (5, 3)), torch.randint(0, 10, (5,))
    ref = D.per_sample_gradients_loop(m, F.cross_entropy, x, y)
    assert list(ref) == ["emb.weight"]  # one parameter, two uses
    vec = D.per_sample_gradients(m, F.cross_entropy, x, y)
    torch.testing.assert_close(vec["emb.weight"], ref["emb.weight"], rtol=1e-9, atol=1e-12)


def test_unused_layer_is_allowed_and_gets_zero_gradient():
    torch.manual_seed(0)
    m = UnusedLayer().double()
    x, y = torch.randn(6, 4, dtype=torch.float64), torch.randint(0, 3, (6,))
    got, _ = _dpsgd(m).clipped_sum(x, y)
    ref = D.clip_gradients(D.per_sample_gradients_loop(m, F.cross_entropy, x, y), max_norm=0.05)
    for k in ref:
        torch.testing.assert_close(got[k], ref[k].sum(0), rtol=0, atol=1e-12)
    assert float(got["spare.weight"].abs().sum()) == 0.0


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("method", ["bookkeeping", "ghost"])
def test_one_example_moves_the_clipped_sum_by_at_most_c(arch, method):
    # The sensitivity the noise is calibrated to (add/remove one example): for every model DPSGD accepts,
    # removing example i changes the clipped sum by at most C in L2 norm (and by exactly its clipped gradient).
    m, x, y = _case(arch)
    c = 0.05
    dp = _dpsgd(m, max_norm=c, method=method)
    full, _ = dp.clipped_sum(x, y)
    for i in range(x.shape[0]):
        keep = torch.arange(x.shape[0]) != i
        without, _ = dp.clipped_sum(x[keep], y[keep])
        change = torch.sqrt(sum(((full[k] - without[k]) ** 2).sum() for k in full))
        assert float(change) <= c * (1 + 1e-9)


def _noiseless_epsilon(m, x, y):
    dp = D.DPSGD(m, F.cross_entropy, torch.optim.SGD(m.parameters(), lr=0.1), max_norm=1.0, noise_multiplier=0.0,
                 expected_batch_size=4)
    dp.step(x, y)
    return dp.epsilon(delta=1e-5, sample_rate=0.1)  # no noise: no finite ε, a clear error (not inf)


def test_value_errors():
    m, x, y = _case("mlp")
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    grads = D.per_sample_gradients(m, F.cross_entropy, x, y)
    bad = [
        lambda: D.per_sample_gradients(m, F.cross_entropy, x, y[:3]),  # lengths differ
        lambda: D.per_sample_gradients_loop(m, F.cross_entropy, x.numpy(), y),  # not tensors
        lambda: D.per_sample_gradients(m, F.cross_entropy, x * float("nan"), y),  # NaN
        lambda: D.clip_gradients(grads, max_norm=0.0),
        lambda: D.clip_gradients(grads, max_norm=-1.0),
        lambda: D.clip_gradients({}, max_norm=1.0),
        lambda: D.clip_gradients({"a": torch.ones(3, 2), "b": torch.ones(4)}, max_norm=1.0),
        lambda: D.add_noise(grads, noise_multiplier=-1.0, max_norm=1.0),
        lambda: D.add_noise(grads, noise_multiplier=1.0, max_norm=0.0),
        lambda: D.add_noise(grads, noise_multiplier=1.0, max_norm=1.0, generator=np.random.default_rng(0)),
        lambda: D.dp_sgd_step(m, F.cross_entropy, x, y, optimizer=opt, max_norm=1.0, noise_multiplier=1.0,
                              expected_batch_size=0),
        lambda: list(D.poisson_batches(10, sample_rate=0.0, steps=1)),
        lambda: list(D.poisson_batches(10, sample_rate=1.5, steps=1)),
        lambda: list(D.poisson_batches(0, sample_rate=0.5, steps=1)),
        lambda: D.DPSGD(m, F.cross_entropy, opt, max_norm=1.0, noise_multiplier=1.0, expected_batch_size=4,
                        method="magic"),
    ]
    xs, ys = _toy(100)
    lin = nn.Sequential(nn.Linear(5, 2))
    kw = dict(delta=1e-4, epochs=1, batch_size=10, progress=False)
    bad += [
        lambda: D.train_private(lin, xs, ys, target_epsilon=0.0, **kw),
        lambda: D.train_private(lin, xs, ys, target_epsilon=-1.0, **kw),
        lambda: D.train_private(lin, xs, ys, target_epsilon=1.0, **{**kw, "delta": 0.0}),
        lambda: D.train_private(lin, xs, ys, target_epsilon=1.0, **{**kw, "delta": 1.0}),
        lambda: D.train_private(lin, xs, ys[:50], target_epsilon=1.0, **kw),  # lengths differ
        lambda: D.train_private(lin, xs[:, 0], ys, target_epsilon=1.0, **kw),  # not 2-D
        lambda: D.train_private(lin, np.where(xs > 2, np.nan, xs), ys, target_epsilon=1.0, **kw),  # NaN
        lambda: D.train_private(lin, xs[:0], ys[:0], target_epsilon=1.0, **kw),  # empty
        lambda: D.train_private(lin, xs, ys, target_epsilon=1.0, **{**kw, "batch_size": 1000}),
        lambda: D.train_private(lin, xs, ys, target_epsilon=1.0, **kw, early_stopping_patience=2),
        lambda: D.train_private(lin, xs, ys, target_epsilon=1.0, **kw, validation_split=1.0),
        lambda: D.train_private(lin, pd.DataFrame(xs), "missing", target_epsilon=1.0, **kw),
        lambda: D.train_private(lin, xs, None, target_epsilon=1.0, **kw),
        lambda: D.train_private(lin, xs, ys, target_epsilon=math.inf, **kw),  # ε = ∞: nothing to calibrate
        lambda: _noiseless_epsilon(m, x, y),
    ]
    for i, fn in enumerate(bad):
        with pytest.raises(ValueError):
            fn()
            pytest.fail(f"case {i} did not raise")


# ----------------------------------------------------------------------------- lesson 05's stored runs
# helpers/data/dpsgd_tradeoffs.npz is produced by benchmarks/dpsgd_tradeoffs.py with the lesson's own train_dp;
# every σ in it is recomputed here, and the ε it spends is checked with two independent accountants.


def _independent_epsilons(sigma, q, steps, delta, orders):
    """ε of `steps` Poisson-subsampled Gaussian steps by Opacus's and dp-accounting's RDP accountants."""
    import logging
    import warnings

    import dp_accounting
    from dp_accounting.rdp import RdpAccountant
    from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent

    logging.getLogger("absl").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opacus_eps, _ = get_privacy_spent(orders=list(orders), rdp=compute_rdp(q=q, noise_multiplier=sigma, steps=steps,
                                                                                 orders=list(orders)), delta=delta)
    acc = RdpAccountant(orders=[float(a) for a in orders])
    acc.compose(dp_accounting.PoissonSampledDpEvent(float(q), dp_accounting.GaussianDpEvent(float(sigma))), int(steps))
    return float(opacus_eps), float(acc.get_epsilon(delta))


def test_stored_runs_sigmas_spend_their_target():
    pytest.importorskip("opacus")
    pytest.importorskip("dp_accounting")
    runs = D.load_privacy_utility_runs()
    orders, delta, n = runs["orders"], runs["delta"], runs["n_train"]
    assert runs["dataset"] == "Fashion-MNIST" and n == 10_000 and runs["n_test"] == 2_000 and delta == 1e-5
    q, steps = runs["batch_size"] / n, runs["epochs"] * round(n / runs["batch_size"])
    assert (runs["sample_rate"], runs["steps"]) == (q, steps)  # the schedule train_dp uses
    settings = [(e, s, q, steps) for e, s in zip(runs["epsilons"], runs["eps_sigma"])]
    for b, s, kq, ks in zip(runs["knob_batch_size"], runs["knob_sigma"], runs["knob_sample_rate"], runs["knob_steps"]):
        assert (kq, ks) == (b / n, runs["epochs"] * round(n / b))
        settings.append((runs["knob_epsilon"], s, kq, ks))
    for target, sigma, rate, t in settings:
        if math.isinf(target):
            assert sigma == 0.0  # ε = ∞: clipping without noise, no guarantee claimed
            continue
        # the σ train_dp calibrates (bisection, tol 0.01, the lesson's integer orders)
        assert sigma == accounting.noise_multiplier(target_epsilon=target, delta=delta, sample_rate=rate, steps=t,
                                                    orders=orders, tol=0.01)
        ours = accounting.epsilon(noise_multiplier=sigma, sample_rate=rate, steps=t, delta=delta, orders=orders)
        opacus_eps, dpacc_eps = _independent_epsilons(sigma, rate, t, delta, orders)
        for eps in (opacus_eps, dpacc_eps):
            assert eps == pytest.approx(ours, rel=1e-6)
            assert 0.9 * target < eps <= target * (1 + 1e-9), (target, sigma, eps)


def test_stored_runs_back_the_lesson_figures():
    # the claims the lesson's figure titles and summary make about these numbers
    runs = D.load_privacy_utility_runs()
    acc, eps = runs["eps_accuracy"], runs["epsilons"]
    assert acc.shape == (len(eps), len(runs["seeds"])) and ((acc > 0.1) & (acc < 1)).all()
    mean = acc.mean(1)
    finite = np.isfinite(eps)
    assert (np.diff(mean[finite]) > 0).all(), "title: 'Accuracy rises with ε'"
    non_private = runs["non_private_accuracy"].mean()
    assert non_private > mean.max(), "the non-private reference is above every DP-SGD run"
    knob_mean = runs["knob_accuracy"].mean(1)
    label = list(runs["knob_label"])
    # "What you learned": tanh beats ReLU, and the recipe's C = 0.1 beats C = 1 at ε = 3 (learning rate fixed)
    assert knob_mean[label.index("tanh")] > knob_mean[label.index("ReLU")]
    assert knob_mean[label.index("C = 0.1")] > max(knob_mean[label.index("C = 1")], knob_mean[label.index("C = 0.01")])
    # the numbers "What you learned" quotes: about 50 % at ε = 0.5, 78 % at ε = 8, 88 % non-private, knobs up to 30 points
    assert mean[0] == pytest.approx(0.50, abs=0.01) and mean[list(eps).index(8.0)] == pytest.approx(0.78, abs=0.01)
    assert non_private == pytest.approx(0.88, abs=0.01)
    assert knob_mean.max() - knob_mean.min() == pytest.approx(0.30, abs=0.01)
    # the ε = 3 recipe rows of the knobs are the ε sweep's ε = 3 runs
    three = list(eps).index(3.0)
    for lab in ("C = 0.1", "L = 256", "tanh"):
        np.testing.assert_array_equal(runs["knob_accuracy"][label.index(lab)], acc[three])


def test_train_private_validation_split_is_keyed_on_each_row():
    # The privacy unit is one training row: for the neighbour (one row added or removed) the other rows must keep
    # their side of the split, so that the two runs differ by exactly that row (a random permutation moved ~20%).
    from helpers.training import keyed_validation_split

    x, y = _toy()
    split = lambda xs, ys, seed=0: keyed_validation_split(  # noqa: E731
        xs, ys, fraction=0.2, generator=torch.Generator().manual_seed(seed))
    full = split(x, y)
    np.testing.assert_array_equal(split(x[:-1], y[:-1]), full[:-1])  # remove the last row
    for i in (0, 17, 399):  # remove a row anywhere: the others keep their side although their positions shift
        np.testing.assert_array_equal(split(np.delete(x, i, axis=0), np.delete(y, i)), np.delete(full, i))
    new_x, new_y = np.ones((1, 5), np.float32), np.array([1])
    np.testing.assert_array_equal(split(np.concatenate([new_x, x]), np.concatenate([new_y, y]))[1:], full)
    assert abs(full.mean() - 0.2) < 4 * math.sqrt(0.2 * 0.8 / 400)  # each row held out with probability 0.2
    masks = [split(x, y, seed).tobytes() for seed in range(4)]
    assert len(set(masks)) == 4 and split(x, y, 3).tobytes() == masks[3]  # the generator draws the hash
    # end to end: the rows held out are reported, and adding one row leaves the others where they were
    kw = dict(target_epsilon=1.0, delta=1e-4, epochs=1, batch_size=40, validation_split=0.2, progress=False)
    r_minus = D.train_private(nn.Sequential(nn.Linear(5, 2)), x[:-1], y[:-1], generator=torch.Generator().manual_seed(0), **kw)
    r_plus = D.train_private(nn.Sequential(nn.Linear(5, 2)), x, y, generator=torch.Generator().manual_seed(0), **kw)
    np.testing.assert_array_equal(r_plus.validation_rows, np.flatnonzero(full))
    assert set(r_plus.validation_rows) - {399} == set(r_minus.validation_rows)
    assert r_plus.sample_rate == 40 / (400 - full.sum())
