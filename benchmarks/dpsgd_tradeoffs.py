"""Precompute lesson 05's privacy–utility figures: ``helpers/data/dpsgd_tradeoffs.npz``.

Lesson 05 shows what ε, the clipping norm, the batch size and the activation do to test accuracy,
and how far a properly trained non-private model gets. Training those ~40 models takes minutes, so
the lesson plots stored results (and can re-run any of them live). This script produces them with
*the lesson's own code*: it executes the lesson's import cell, data cell and recipe cell (the one
that defines ``train_dp`` and ``train_non_private``) from ``solutions/05_dp_sgd/05_dp_sgd.ipynb`` at
default settings, on Fashion-MNIST (the lesson's first 10,000 training and 2,000 test images),
for seeds 0, 1, 2:

* the ε sweep: ε ∈ {0.5, 1, 2, 3, 5, 8} (δ = 1e-5) and ε = ∞ (clipping without noise);
* the knobs at ε = 3: C ∈ {0.01, 0.1, 1}, L ∈ {64, 256, 1024}, tanh / ReLU;
* the non-private reference (``train_non_private``).

``tests/test_helpers_dpsgd.py`` checks the stored σ's against the accountant (ours, Opacus's and
dp-accounting's) and the figures' titles against the stored accuracies. About 15 minutes on 2 cores.

    python -m benchmarks.dpsgd_tradeoffs            # needs Fashion-MNIST (apt-get install dataset-fashion-mnist,
                                                    # or COURSE_DATA_DIR pointing at the four IDX files)
"""
from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "solutions" / "05_dp_sgd" / "05_dp_sgd.ipynb"
OUT = ROOT / "helpers" / "data" / "dpsgd_tradeoffs.npz"

EPSILONS = (0.5, 1.0, 2.0, 3.0, 5.0, 8.0, math.inf)
KNOB_EPSILON = 3.0
# (knob, label, keyword arguments of train_dp); the lesson's recipe is C = 0.1, L = 256, tanh
KNOBS = (
    ("clip C", "C = 0.01", dict(max_norm=0.01)),
    ("clip C", "C = 0.1", dict()),
    ("clip C", "C = 1", dict(max_norm=1.0)),
    ("batch L", "L = 64", dict(batch_size=64)),
    ("batch L", "L = 256", dict()),
    ("batch L", "L = 1024", dict(batch_size=1024)),
    ("activation", "tanh", dict()),
    ("activation", "ReLU", dict(activation="relu")),
)
SEEDS = (0, 1, 2)


def lesson_namespace() -> dict:
    """Run the lesson's import, data and recipe cells at default settings; return their namespace."""
    os.environ["COURSE_QUICK"] = "0"
    nb = nbformat.read(str(LESSON), as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    cells = [code[0]] + [next(s for s in code if marker in s) for marker in ("load_image_data(", "def train_dp(")]
    ns: dict = {"__name__": "lesson05"}
    for source in cells:
        exec(compile(source, str(LESSON), "exec"), ns)  # noqa: S102 - the course's own notebook
    if ns["DATASET"] != "Fashion-MNIST":
        raise SystemExit("Fashion-MNIST is not available: apt-get install dataset-fashion-mnist, or set COURSE_DATA_DIR")
    return ns


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=list(SEEDS))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    ns = lesson_namespace()
    import torch

    seeds = list(args.seeds)
    t0 = time.perf_counter()
    n = len(ns["X"])

    def schedule(batch_size: int) -> tuple[float, int]:  # as train_dp computes them
        q = batch_size / n
        return q, ns["EPOCHS"] * max(1, round(1 / q))

    eps_acc = np.zeros((len(EPSILONS), len(seeds)))
    eps_sigma = np.zeros(len(EPSILONS))
    for i, eps in enumerate(EPSILONS):
        for j, seed in enumerate(seeds):
            eps_acc[i, j], eps_sigma[i] = ns["train_dp"](epsilon=eps, seed=seed)
        print(f"ε = {eps:>4}: σ = {eps_sigma[i]:.3f}, accuracy {eps_acc[i].round(4)} ({time.perf_counter() - t0:.0f} s)",
              flush=True)
    knob_acc = np.zeros((len(KNOBS), len(seeds)))
    knob_sigma = np.zeros(len(KNOBS))
    knob_rate, knob_steps = np.zeros(len(KNOBS)), np.zeros(len(KNOBS), dtype=np.int64)
    base = EPSILONS.index(KNOB_EPSILON)
    for k, (knob, label, kw) in enumerate(KNOBS):
        knob_rate[k], knob_steps[k] = schedule(kw.get("batch_size", ns["BATCH"]))
        if not kw:  # the lesson's recipe: the ε = 3 runs above
            knob_acc[k], knob_sigma[k] = eps_acc[base], eps_sigma[base]
            continue
        for j, seed in enumerate(seeds):
            knob_acc[k, j], knob_sigma[k] = ns["train_dp"](epsilon=KNOB_EPSILON, seed=seed, **kw)
        print(f"{knob:>10} {label:>9}: σ = {knob_sigma[k]:.3f}, accuracy {knob_acc[k].round(4)} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    non_private = np.array([ns["train_non_private"](seed=seed) for seed in seeds])
    print(f"non-private reference: accuracy {non_private.round(4)} ({time.perf_counter() - t0:.0f} s)", flush=True)
    q, steps = schedule(ns["BATCH"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        dataset=np.array(ns["DATASET"]), n_train=n, n_test=len(ns["X_TEST"]), seeds=np.array(seeds),
        delta=ns["DELTA"], epochs=ns["EPOCHS"], batch_size=ns["BATCH"], orders=np.asarray(ns["ORDERS"]),
        sample_rate=q, steps=steps,
        epsilons=np.array(EPSILONS), eps_sigma=eps_sigma, eps_accuracy=eps_acc,
        knob_epsilon=KNOB_EPSILON, knob=np.array([k for k, _, _ in KNOBS]), knob_label=np.array([lab for _, lab, _ in KNOBS]),
        knob_max_norm=np.array([kw.get("max_norm", 0.1) for _, _, kw in KNOBS]),
        knob_batch_size=np.array([kw.get("batch_size", ns["BATCH"]) for _, _, kw in KNOBS]),
        knob_activation=np.array([kw.get("activation", "tanh") for _, _, kw in KNOBS]),
        knob_sample_rate=knob_rate, knob_steps=knob_steps, knob_sigma=knob_sigma, knob_accuracy=knob_acc,
        non_private_accuracy=non_private,
        produced_by=np.array(f"benchmarks/dpsgd_tradeoffs.py, torch {torch.__version__}, "
                             f"{time.perf_counter() - t0:.0f} s on {os.cpu_count()} cores"),
    )
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes) in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
