"""helpers: the reference implementations and checks behind the privacy-preserving ML course.

Import it once at the top of a lesson::

    import helpers as H

Modules, one per concept, in the order the lessons introduce them (the package map):

============================  ========================================================  ====="""
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
_LAZY_MODULES = ("data", "pate", "pate_teachers", "dpsgd", "dp_engine", "models", "training", "federated",
                 "flower", "remote")
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
