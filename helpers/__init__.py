"""helpers: the reference implementations and checks behind the privacy-preserving ML course.

Import it once at the top of a lesson::

    import helpers as H

Modules, one per concept, in the order the lessons introduce them:

==========================  =====================================================  ======
module                      concept                                                lesson
==========================  =====================================================  ======
``helpers.config``          quick mode (``COURSE_QUICK=1``) and course settings    all
``helpers.checks``          the checks that exercise test cells call               all
``helpers.databases``       toy databases and neighbouring databases               01
``helpers.sensitivity``     empirical and global sensitivity, differencing         01
``helpers.reconstruction``  Dinur-Nissim reconstruction from noisy subset sums     01
``helpers.randomized_response``  local DP by randomized response                   02
``helpers.mechanisms``      Laplace and Gaussian mechanisms (classic and analytic) 03
``helpers.composition``     sequential/parallel/advanced composition, budgets      03
``helpers.data``            MNIST / Fashion-MNIST / digits loaders (cached)        04
``helpers.pate``            PATE aggregation and its privacy analysis              04
``helpers.accounting``      RDP of the subsampled Gaussian, (ε, δ) conversion      05
``helpers.dpsgd``           per-sample gradients, clipping, DP-SGD (torch)         05
``helpers.audit``           ROC/AUC, empirical ε lower bounds, one-run audits      07
``helpers.attacks``         membership inference, inversion, gradient leakage      07
==========================  =====================================================  ======

The numpy-only modules are imported eagerly and their public names re-exported here
(``H.laplace_scale``). Modules that need torch are imported on first use
(``H.dpsgd``, ``H.train_private``) so that Part I lessons start fast.
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
from . import audit  # noqa: F401  (generic names such as `auc`: use H.audit.auc)

__version__ = "0.1.0"

# Modules (and names inside them) that import torch: loaded on first attribute access.
_LAZY_MODULES = ("data", "pate", "pate_teachers", "dpsgd", "dp_engine", "models", "training", "attacks")
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
