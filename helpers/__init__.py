"""helpers: the reference implementations and checks behind the privacy-preserving ML course.

Import it once at the top of a lesson::

    import helpers as H

Modules, one per concept, in the order the lessons introduce them (the package map):

============================  ========================================================  ============
module                        concept                                                   lessons
============================  ========================================================  ============
``helpers.config``            quick mode (``COURSE_QUICK=1``) and course settings       all
``helpers.checks``            the checks that exercise test cells call                  all
``helpers.databases``         toy databases and neighbouring databases                  01
``helpers.sensitivity``       sensitivity: empirical (L1/L2) and global, differencing   01, 03
``helpers.reconstruction``    Dinur-Nissim reconstruction from noisy subset sums        01
``helpers.randomized_response``  local DP by randomized response                        02
``helpers.mechanisms``        Laplace and Gaussian mechanisms (classic and analytic)    03
``helpers.composition``       sequential/parallel/advanced composition, budgets         03
``helpers.accounting``        RDP of the subsampled Gaussian, (ε, δ) conversion,        05, 06
                              ``RDPAccountant``, ``DEFAULT_ORDERS``
``helpers.partitions``        disjoint splits: IID, label shards, Dirichlet(α), by key  04, 06, 07
``helpers.data``              MNIST / Fashion-MNIST / digits loaders, ``load_image_data``  04-07
                              and ``normalize_images`` (the one normalisation)
``helpers.pate``              PATE aggregation and its privacy analysis (numpy)         04
``helpers.pate_teachers``     PATE's teachers and student, trained as one batched model  04
``helpers.models``            the course's networks: Tramèr-Boneh CNN, MLP, BatchedMLP  04-07
``helpers.dpsgd``             DP-SGD from scratch: per-sample gradients, clipping,      05
                              noise, the step, Poisson batches
``helpers.dp_engine``         the fast DP-SGD engine (ghost clipping / book-keeping)    05, 06
                              with its own accountant
``helpers.training``          ``fit`` (one training loop, private or not),              05-07
                              ``accuracy``, ``predict``, ``train_private``
``helpers.federated``         FedAvg, FedSGD, DP-FedAvg (user-level), pairwise masks    06
``helpers.flower``            FedAvg on Flower's deployment engine (real processes)     06
``helpers.audit``             ROC/AUC, empirical ε lower bounds, one-run audits (numpy) 07
``helpers.attacks``           membership inference, inversion, gradient leakage         07
``helpers.remote``            remote data science with syft: the owner's harness        08
============================  ========================================================  ============

Layering: Part I (01-03) never imports torch; ``accounting``, ``partitions`` and ``pate`` are
numpy-only; ``models``/``dpsgd`` ← ``dp_engine`` ← ``training`` ← ``pate_teachers`` import torch;
the autograder never imports ``helpers``.

The numpy-only modules are imported eagerly and the Part I ones re-exported here
(``H.laplace_scale``); ``H.accounting`` and ``H.partitions`` keep their generic names in their
module. Modules that need torch are imported on first use (``H.training``, ``H.models``,
``H.dpsgd``, ``H.train_private``...) so that Part I lessons start fast; so are ``H.audit``
(scipy.stats) and ``H.remote`` (it imports syft only when a session starts).
"""
from __future__ import annotations

import importlib
from typing import Any

from . import checks, config
from .config import offline, pick, quick_mode

from .databases import *  # noqa: F401,F403
from .sensitivity import *  # noqa: F401,F403
from .reconstruction import *  # noqa: F401,F403
from .randomized_response import *  # noqa: F401,F403
from .mechanisms import *  # noqa: F401,F403
from .composition import *  # noqa: F401,F403
from . import accounting  # noqa: F401  (generic names such as `epsilon`: use H.accounting.epsilon)
from . import partitions  # noqa: F401  (H.partitions.iid_partition, ...)

__version__ = "0.1.0"

# Modules (and names inside them) that import torch: loaded on first attribute access.
# ``audit`` is numpy-only but imports scipy.stats (~1 s), which only lesson 07 needs: also loaded on first use.
_LAZY_MODULES = ("audit", "data", "pate", "pate_teachers", "dpsgd", "dp_engine", "models", "training", "federated",
                 "flower", "attacks", "remote")
_LAZY_NAMES = {
    "train_private": "training",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        module = importlib.import_module(f".{_LAZY_NAMES[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")
