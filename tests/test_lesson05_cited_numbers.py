"""The accountant values lesson 05 quotes in "One run, three ε", recomputed with the libraries it names.

Setting: σ = 1.3, Poisson rate q = 250/60,000, 3,600 steps (15 epochs), δ = 1e-5, add/remove-one; and Opacus's
MNIST example (examples/mnist_README.md: -sr=0.004, σ = 1.3, 15 epochs, "ε = 1.16, δ = 1e-05").
"""
from __future__ import annotations

import warnings

import pytest

import helpers as H
import scenarios as S

Q, STEPS, DELTA = 250 / 60_000, 3600, 1e-5


def _text() -> str:
    nb = S.load_solution("05_dp_sgd")
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_pld_at_two_discretisations_and_prv():
    dp_accounting = pytest.importorskip("dp_accounting")
    pytest.importorskip("opacus")
    from dp_accounting.pld import pld_privacy_accountant
    from opacus.accountants import PRVAccountant

    text = _text()
    for interval, quoted in [(1e-3, "0.858"), (1e-4, "0.853")]:
        pld = pld_privacy_accountant.PLDAccountant(value_discretization_interval=interval)
        pld.compose(dp_accounting.PoissonSampledDpEvent(Q, dp_accounting.GaussianDpEvent(1.3)), STEPS)
        assert f"{pld.get_epsilon(DELTA):.3f}" == quoted
        assert quoted in text
    prv = PRVAccountant()
    prv.history = [(1.3, Q, STEPS)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert f"{prv.get_epsilon(delta=DELTA, eps_error=0.01):.3f}" == "0.863"
    assert "0.863" in text and "≈ 0.85–0.86" in text


def test_opacus_mnist_example_is_classic_rdp():
    # 15 epochs of 1/0.004 = 250 Poisson-sampled steps; the README's 1.16 is RDP with the classic conversion
    eps = H.accounting.epsilon(noise_multiplier=1.3, sample_rate=0.004, steps=15 * 250, delta=DELTA, conversion="classic")
    assert round(eps, 2) == 1.16
    assert "rate 0.004" in _text() and "ε = 1.16" in _text()
