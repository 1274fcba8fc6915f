"""Lesson 07's benchmark: membership inference and audits vs the accountant's ε, and inversion similarity.

The lesson's recipe (``solutions/07_attacks/07_attacks.ipynb``, section 1): a pool of images, each a member
with probability ½ (independent coins); the course's MLP (``helpers.models.mlp``, 784 → 256 → 10) trained on
the members by the course's trainer — non-privately with Adam (ε = ∞), or with DP-SGD
(``helpers.training.train_private``, δ = 1e-5, add/remove-one example) at ε ∈ {1, 3, 8}. For each model:

* loss-threshold attack: AUC and TPR at 1 % FPR over the whole pool;
* empirical ε lower bound (Clopper–Pearson, 95 %, threshold chosen on a held-out half of the pool);
* the one-run audit of Steinke, Nasr & Jagielski (2023) with k₊ = k₋ = m/10 guesses by loss;
* for the non-private model, LiRA with 8 shadow models (AUC, TPR at 1 % FPR, seconds);
* model inversion of the 10 classes: mean Pearson r with the class mean and with the nearest training image,
  for the non-private model, the same model with N(0, 0.02²) added to its weights, and the DP models.

    python benchmarks/attacks.py                  # Fashion-MNIST if available (COURSE_DATA_DIR), else MNIST
    python benchmarks/attacks.py --pool 2000 --seeds 0 1 2
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import helpers as H  # noqa: E402
import helpers.attacks  # noqa: E402,F401
import helpers.models  # noqa: E402,F401
import helpers.training  # noqa: E402,F401

DELTA = 1e-5
EPSILONS = (1.0, 3.0, 8.0, math.inf)


def train_plain(x, y, seed, epochs):
    g = torch.Generator().manual_seed(seed)
    model = H.models.mlp(hidden=256, generator=g)
    H.training.fit(model, x, y, epochs=epochs, batch_size=64, lr=1e-3, optimizer="adam", generator=g, progress=False)
    return model


def train_dp(x, y, epsilon, seed, epochs):
    g = torch.Generator().manual_seed(seed)
    model = H.models.mlp(hidden=256, generator=g)
    result = H.training.train_private(model, x.numpy(), y.numpy(), target_epsilon=epsilon, delta=DELTA, epochs=epochs,
                                      batch_size=64, max_norm=1.0, lr=0.05, momentum=0.9, generator=g, progress=False)
    return result.model, result.epsilon


def run(seed: int, pool_size: int, epochs: int, dp_epochs: int, shadows: int) -> list[dict]:
    data = H.data.load_image_data()
    rng = np.random.default_rng(seed)
    pool = rng.choice(len(data.x_train), size=pool_size, replace=False)
    xp, yp = torch.from_numpy(data.x_train[pool]), torch.from_numpy(data.y_train[pool])
    member = rng.random(pool_size) < 0.5
    x_in, y_in = xp[member], yp[member]
    x_test, y_test = torch.from_numpy(data.x_test[:2000]), torch.from_numpy(data.y_test[:2000])
    rows = []
    plain = None
    for eps in EPSILONS:
        t0 = time.perf_counter()
        if math.isinf(eps):
            model, acc_eps = train_plain(x_in, y_in, seed, epochs), math.inf
            plain = model
        else:
            model, acc_eps = train_dp(x_in, y_in, eps, seed + 1, dp_epochs)
        train_s = time.perf_counter() - t0
        loss = H.attacks.per_example_losses(model, xp, yp)
        auc, tpr = H.audit.roc_summary(-loss[member], -loss[~member], fpr=0.01)
        lb, _ = H.audit.epsilon_lower_bound_from_scores(-loss[member], -loss[~member], delta=DELTA,
                                                        rng=np.random.default_rng(seed + 3))
        k = pool_size // 10
        order = np.argsort(loss)
        v = int(member[order[:k]].sum() + (~member[order[-k:]]).sum())
        one_run = H.audit.one_run_epsilon_lower_bound(m=pool_size, r=2 * k, v=v, delta=DELTA)
        inv = H.attacks.invert_classes(model, range(10), steps=300, lr=0.05, tv_weight=0.01, l2_weight=0.001,
                                       bounds=(-1.0, 1.0), generator=torch.Generator().manual_seed(6))
        sim = H.attacks.inversion_similarity(inv, list(range(10)), x_in, y_in)
        rows.append(dict(seed=seed, model="non-private" if math.isinf(eps) else f"DP eps={eps:g}", eps=acc_eps,
                         test_acc=H.training.accuracy(model, x_test, y_test), auc=auc, tpr1=tpr, lb=lb,
                         one_run=one_run, r_mean=float(sim["r_class_mean"].mean()),
                         r_nearest=float(sim["r_nearest"].mean()), train_s=train_s, data=data.name))
    # weights + noise
    noisy = H.models.mlp(hidden=256)
    noisy.load_state_dict(plain.state_dict())
    with torch.no_grad():
        g = torch.Generator().manual_seed(5)
        for p in noisy.parameters():
            p.add_(0.02 * torch.randn(p.shape, generator=g))
    inv = H.attacks.invert_classes(noisy, range(10), steps=300, lr=0.05, tv_weight=0.01, l2_weight=0.001,
                                   bounds=(-1.0, 1.0), generator=torch.Generator().manual_seed(6))
    sim = H.attacks.inversion_similarity(inv, list(range(10)), x_in, y_in)
    loss = H.attacks.per_example_losses(noisy, xp, yp)
    auc, tpr = H.audit.roc_summary(-loss[member], -loss[~member], fpr=0.01)
    rows.append(dict(seed=seed, model="weights+noise", eps=math.nan, test_acc=H.training.accuracy(noisy, x_test, y_test),
                     auc=auc, tpr1=tpr, lb=math.nan, one_run=math.nan, r_mean=float(sim["r_class_mean"].mean()),
                     r_nearest=float(sim["r_nearest"].mean()), train_s=0.0, data=data.name))
    if shadows:
        t0 = time.perf_counter()
        conf, inm = H.attacks.shadow_confidences(
            xp, yp, train=lambda x, y, g: train_plain(x, y, int(torch.randint(0, 2**31, (1,), generator=g)), epochs),
            num_models=shadows, rng=np.random.default_rng(seed + 2), progress=False)
        scores = H.attacks.lira_scores(H.attacks.logit_confidence(plain, xp, yp), conf, inm)
        auc, tpr = H.audit.roc_summary(scores[member], scores[~member], fpr=0.01)
        lb, _ = H.audit.epsilon_lower_bound_from_scores(scores[member], scores[~member], delta=DELTA,
                                                        rng=np.random.default_rng(seed + 3))
        rows.append(dict(seed=seed, model=f"LiRA ({shadows} shadows) on non-private", eps=math.inf, test_acc=math.nan,
                         auc=auc, tpr1=tpr, lb=lb, one_run=math.nan, r_mean=math.nan, r_nearest=math.nan,
                         train_s=time.perf_counter() - t0, data=data.name))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--dp-epochs", type=int, default=30)
    parser.add_argument("--shadows", type=int, default=8)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = [r for s in args.seeds for r in run(s, args.pool, args.epochs, args.dp_epochs, args.shadows)]
    ceiling = H.audit.max_certifiable_epsilon(args.pool // 4, delta=DELTA)
    print(f"data: {rows[0]['data']}; pool {args.pool} (members ~{args.pool // 2}); δ = {DELTA}; "
          f"the eval half can certify at most ε ≈ {ceiling:.2f}")
    print(f"{'seed':>4s} {'model':34s} {'acct ε':>6s} {'test acc':>8s} {'AUC':>6s} {'TPR@1%':>7s} {'ε_lb':>6s} "
          f"{'1-run':>6s} {'r mean':>6s} {'r near':>6s} {'s':>5s}")
    for r in rows:
        print(f"{r['seed']:4d} {r['model']:34s} {r['eps']:6.2f} {r['test_acc']:8.1%} {r['auc']:6.3f} {r['tpr1']:7.1%} "
              f"{r['lb']:6.2f} {r['one_run']:6.2f} {r['r_mean']:6.2f} {r['r_nearest']:6.2f} {r['train_s']:5.1f}")


if __name__ == "__main__":
    main()
