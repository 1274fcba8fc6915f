"""The PyTorch side of the appendix A1's side-by-side (run in the main environment, .venv):

    python -m benchmarks.appendix_a1_torch            # COURSE_OFFLINE=1: the 4,000-image MNIST sample

Lesson 05's model (Tramèr & Boneh's CNN, tanh) trained with the course's DP-SGD engine
(helpers.dp_engine.DPSGD: per-example clipping, Gaussian noise, Poisson batches) at the appendix's
hyperparameters: C = 1.5, σ = 1.3, expected batch L = 250, SGD lr 0.25 without momentum, on the same
data as the notebook (load_image_data(prefer="mnist", mean=0, std=1): pixels in [0, 1], as the TF
tutorial scales them), for the same numbers of steps; test accuracy on the 1,000 test images, mean and
range over 3 seeds. The appendix notebook stores the printed figures with this description.
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

import helpers as H


def run(steps: int, seed: int, data) -> tuple[float, float, float]:
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = H.models.tramer_boneh_cnn()
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    engine = H.dp_engine.DPSGD(model, F.cross_entropy, max_norm=1.5, noise_multiplier=1.3,
                               sample_rate=250 / len(x), generator=gen)
    t0 = time.perf_counter()
    H.training.fit(model, x, y, epochs=1, batch_size=250, lr=0.25, momentum=0.0, engine=engine,
                   generator=gen, steps_per_epoch=steps, progress=False)
    seconds = time.perf_counter() - t0
    acc = float(H.training.accuracy(model, torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)))
    eps = engine.epsilon(delta=1e-5)
    return acc, seconds, eps


def main() -> None:
    torch.set_num_threads(2)
    data = H.data.load_image_data(prefer="mnist", mean=0.0, std=1.0)
    print(f"{data.name}: {len(data.x_train)} train / {len(data.x_test)} test; torch {torch.__version__}")
    for steps in (8, 48):
        runs = [run(steps, seed, data) for seed in (0, 1, 2)]
        accs = [r[0] for r in runs]
        print(f"steps {steps}: accuracy mean {np.mean(accs):.3f} (min {min(accs):.3f}, max {max(accs):.3f}); "
              f"{np.mean([r[1] for r in runs]):.2f} s per run; eps(delta=1e-5) {runs[0][2]:.4f}")


if __name__ == "__main__":
    main()
