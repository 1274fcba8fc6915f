"""Federated learning figures for lesson 06 (prints a table; no asserts).

1. Rounds to a target test accuracy on full Fashion-MNIST (60,000 training images split among
   K = 100 clients of 600, C = 0.1 so 10 clients per round), after McMahan et al. 2017 (Table 2 /
   Figure 2, who report on IID MNIST with their CNN: 626 FedSGD rounds vs 20 FedAvg rounds (E = 5,
   B = 10) to 99%):

   * FedSGD (E = 1, B = ∞), FedAvg E = 1, B = 10 and FedAvg E = 5, B = 10;
   * IID (``helpers.partitions.iid_partition``) and McMahan's pathological non-IID split (label-sorted
     shards, 2 per client, ``helpers.partitions.shard_partition``).

   Model: ``helpers.models.mlp(hidden=128)`` (one hidden layer; not McMahan's 2NN or CNN), plain SGD,
   learning rates fixed (FedSGD 0.5, FedAvg 0.05; not tuned per configuration as in the paper), so the
   rounds are comparable between rows here, not with the paper's numbers. A run stops at the target or
   after ``--max-rounds`` (reported as "> max").

2. Wall time of the same FedAvg rounds on Flower's deployment engine (SuperLink + SuperNodes as
   processes on 127.0.0.1, ``helpers.flower.run_fedavg``) vs in-process (``helpers.federated.fedavg``),
   with ``--flower-clients`` clients of 600 images (default 2), all clients every round, and the maximal
   difference between the two final weights. ``--flower-clients 10`` is the per-round load of part 1
   (K = 100, C = 0.1: 10 clients per round). A deployment of all 100 clients would need 100 SuperNodes
   plus their 100 SuperExec processes on one machine; with C = 0.1 the 90 idle ones only poll, so the
   10-client deployment's round time is the one to compare (Flower's own client sampling is not
   ``helpers.federated.sample_clients``, so a 100-node run would not train on the same clients).

Needs Fashion-MNIST locally (``helpers.data.load_fashion_mnist``; Debian:
``apt-get install dataset-fashion-mnist``, or ``--data-dir``). Run it through the machine's heavy lock.

Usage::

    python benchmarks/federated.py                      # both parts, target 0.80, at most 300 rounds
    python benchmarks/federated.py --target 0.75 --max-rounds 100 --skip-flower
    python benchmarks/federated.py --only-flower --flower-rounds 3
    python benchmarks/federated.py --only-flower --flower-rounds 3 --flower-clients 10
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from helpers import data as hdata, federated as FL, models, partitions  # noqa: E402

CONFIGS = {
    "FedSGD (E=1, B=inf)": dict(epochs=1, batch_size=None, lr=0.5),
    "FedAvg E=1, B=10": dict(epochs=1, batch_size=10, lr=0.05),
    "FedAvg E=5, B=10": dict(epochs=5, batch_size=10, lr=0.05),
}


def load(data_dir: str | None):
    d = hdata.load_image_data(data_dir=data_dir, download=False)
    return d.name, torch.from_numpy(d.x_train), torch.from_numpy(d.y_train), torch.from_numpy(d.x_test), torch.from_numpy(d.y_test)


def rounds_to_target(args) -> None:
    name, x, y, xt, yt = load(args.data_dir)
    print(f"{name}: {len(x)} training images, {len(xt)} test images; K={args.clients}, C={args.fraction}, "
          f"target {args.target:.2f}, at most {args.max_rounds} rounds")
    splits = {
        "IID": partitions.iid_partition(len(x), num_parts=args.clients, rng=np.random.default_rng(0)),
        "non-IID (2 shards)": partitions.shard_partition(y.numpy(), num_parts=args.clients, shards_per_part=2,
                                                          rng=np.random.default_rng(0)),
    }
    model = models.mlp(hidden=128, generator=torch.Generator().manual_seed(0))
    rows = []
    for split, parts in splits.items():
        clients = [(x[p], y[p]) for p in parts]
        for cname, cfg in CONFIGS.items():
            if args.configs and not any(c in cname for c in args.configs):
                continue
            t0 = time.perf_counter()
            res = FL.fedavg(model, clients, rounds=args.max_rounds, client_fraction=args.fraction, seed=0,
                            eval_data=(xt, yt), target_accuracy=args.target, **cfg)
            secs = time.perf_counter() - t0
            reached = res.accuracy[-1] >= args.target
            r = len(res.accuracy) if reached else f"> {args.max_rounds}"
            rows.append((split, cname, r, max(res.accuracy), secs / len(res.accuracy), secs))
            print(f"  {split:20s} {cname:22s} rounds to {args.target:.2f}: {str(r):>7}   best acc {max(res.accuracy):.3f}"
                  f"   {secs / len(res.accuracy):.2f} s/round   {secs:.0f} s", flush=True)
    print("\n| split | algorithm | rounds to target | best test acc. | s / round | total s |")
    print("|---|---|---:|---:|---:|---:|")
    for split, cname, r, best, spr, secs in rows:
        print(f"| {split} | {cname} | {r} | {best:.3f} | {spr:.2f} | {secs:.0f} |")


def flower_vs_inprocess(args) -> None:
    from helpers import flower

    name, x, y, _, _ = load(args.data_dir)
    parts = partitions.iid_partition(len(x), num_parts=100, rng=np.random.default_rng(0))[:args.flower_clients]
    clients = [(x[p].numpy(), y[p].numpy()) for p in parts]
    model = models.mlp(hidden=128, generator=torch.Generator().manual_seed(0))
    w0 = FL.get_weights(model)
    hp = dict(epochs=1, batch_size=10, lr=0.05, seed=0)
    t0 = time.perf_counter()
    scratch = FL.fedavg(model, clients, rounds=args.flower_rounds, client_fraction=1.0, **hp).weights
    t_in = time.perf_counter() - t0
    got, timings = flower.run_fedavg(clients, initial_weights=w0, in_features=784, hidden=128, num_classes=10,
                                     rounds=args.flower_rounds, **hp)
    diff = max(float(np.abs(got[k] - scratch[k]).max()) for k in scratch)
    print(f"\nFlower vs in-process: {len(clients)} clients x 600 {name} images, {args.flower_rounds} rounds, E=1, B=10")
    # SuperNodes start while `flwr run` does: "nodes ready" overlaps "run" (submitted -> final weights).
    print("| engine | SuperLink up s | SuperNodes ready s | run s | s / round | total s |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| in-process (helpers.federated.fedavg) | – | – | {t_in:.2f} | {t_in / args.flower_rounds:.2f} | {t_in:.2f} |")
    print(f"| Flower 1.42 deployment, 127.0.0.1 | {timings['startup']:.1f} | {timings['nodes']:.1f} | {timings['run']:.1f} | "
          f"{timings['run'] / args.flower_rounds:.1f} | {timings['total']:.1f} |")
    print(f"max |Flower - in-process| over all weights: {diff:.1e}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("COURSE_DATA_DIR"))
    p.add_argument("--clients", type=int, default=100)
    p.add_argument("--fraction", type=float, default=0.1)
    p.add_argument("--target", type=float, default=0.80)
    p.add_argument("--max-rounds", type=int, default=300)
    p.add_argument("--configs", nargs="*", help="substrings of the configurations to run (default: all)")
    p.add_argument("--flower-rounds", type=int, default=3)
    p.add_argument("--flower-clients", type=int, default=2, help="SuperNodes (clients of 600 images), all in every round")
    p.add_argument("--skip-flower", action="store_true")
    p.add_argument("--only-flower", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(1)  # small MLP: one thread is much faster than two on a busy 2-core machine
    if not args.only_flower:
        rounds_to_target(args)
    if not args.skip_flower:
        flower_vs_inprocess(args)


if __name__ == "__main__":
    main()
