"""Lesson 04, section 9: the total ε printed for releasing every student is the composition of their label sets.

Each student in the figure is trained on labels from the same teachers (same private examples, same queries);
the notebook's ``epsilon_all_released`` adds up their data-independent RDP and converts it (classic
conversion, as ``helpers.pate.gnmax_epsilon``). Here its RDP is rebuilt with Google's dp-accounting
(GaussianDpEvent: sensitivity 1, RDP α/(2z²); GNMax's histogram has L2 sensitivity √2, so z = σ/√2; the
Confident-GNMax threshold step has sensitivity 1, so z = σ₁) and converted by hand.
"""
from __future__ import annotations

import ast
import math

import numpy as np
import pytest

import helpers as H
import scenarios as S


def _notebook_function():
    nb = S.load_solution("04_pate")
    cells = [c.source for c in nb.cells if c.cell_type == "code" and "def epsilon_all_released" in c.source]
    assert len(cells) == 1, "the student figure's cell must define epsilon_all_released"
    tree = ast.parse(cells[0])
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "epsilon_all_released")
    namespace = {"np": np, "H": H}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), "<04_pate epsilon_all_released>", "exec"), namespace)
    return namespace["epsilon_all_released"]


def _independent(gnmax_sigmas, *, num_queries, sigma1, sigma2, delta):
    import dp_accounting

    orders = list(range(2, 201))
    acc = dp_accounting.rdp.RdpAccountant(orders)
    for s in gnmax_sigmas:
        acc.compose(dp_accounting.GaussianDpEvent(s / math.sqrt(2)), num_queries)
    acc.compose(dp_accounting.GaussianDpEvent(sigma1), num_queries)              # threshold step
    acc.compose(dp_accounting.GaussianDpEvent(sigma2 / math.sqrt(2)), num_queries)  # GNMax step
    rdp = np.asarray(acc._rdp)
    return float(np.min(rdp + math.log(1 / delta) / (np.asarray(orders) - 1.0)))


@pytest.mark.parametrize("teachers, num_queries, fractions", [
    (250, 1000, [0.05, 0.1, 0.2]),  # the default run
    (20, 200, [0.2]),               # the quick run (COURSE_QUICK=1)
    (80, 500, [0.05, 0.1, 0.2]),    # fewer teachers (a smaller private set)
])
def test_total_epsilon_of_all_students_is_the_composition(teachers, num_queries, fractions):
    fn = _notebook_function()
    sigmas = [f * teachers for f in fractions]
    kw = dict(num_queries=num_queries, sigma1=0.25 * teachers, sigma2=0.1 * teachers, delta=1e-5)
    total = fn(sigmas, **kw)
    assert total == pytest.approx(_independent(sigmas, **kw), rel=1e-9)
    # it is more than any one label set's own ε: each point of the figure holds for that student alone
    counts = np.tile([teachers, 0.0], (num_queries, 1))
    alone = [H.pate.gnmax_epsilon(counts, sigma=s, delta=1e-5, data_dependent=False)[0] for s in sigmas]
    alone.append(H.pate.confident_gnmax_epsilon(counts, threshold=0.7 * teachers, sigma1=kw["sigma1"],
                                                sigma2=kw["sigma2"], delta=1e-5, data_dependent=False)[0])
    assert total > max(alone)
