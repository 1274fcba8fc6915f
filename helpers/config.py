"""Course-wide settings read from the environment.

``COURSE_QUICK=1`` switches every lesson to *quick mode*: small data, few epochs, few
repetitions, so that the test-suite and the autograder can run a whole notebook in
seconds. Notebooks read it through :func:`pick`::

    n_people = H.pick(default=10_000, quick=500)

Nothing here is cached at import time: the environment is read on every call, so a test
can flip quick mode with ``monkeypatch.setenv`` without reloading the package.
"""
from __future__ import annotations

import os
from typing import TypeVar

__all__ = ["QUICK_ENV", "OFFLINE_ENV", "DATA_DIR_ENV", "quick_mode", "offline", "pick"]

QUICK_ENV = "COURSE_QUICK"
OFFLINE_ENV = "COURSE_OFFLINE"
DATA_DIR_ENV = "COURSE_DATA_DIR"

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _flag(env: str) -> bool:
    raw = os.environ.get(env, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{env} must be 1/0 (or true/false), got {raw!r}")


def offline() -> bool:
    """Return True when ``COURSE_OFFLINE=1`` forbids downloads (the tests set it).

    Data loaders then use a local copy or the data that ships inside an installed package.
    """
    return _flag(OFFLINE_ENV)


def quick_mode() -> bool:
    """Return True when ``COURSE_QUICK`` asks for quick mode.

    Raises
    ------
    ValueError
        If the variable holds something other than a yes/no value, so that a typo such
        as ``COURSE_QUICK=ture`` is not silently read as "off".
    """
    return _flag(QUICK_ENV)


def pick(*, default: T, quick: T) -> T:
    """Return ``quick`` in quick mode and ``default`` otherwise.

    Parameters
    ----------
    default
        The value a student's run uses (still CPU-friendly).
    quick
        The value tests and the autograder use (``COURSE_QUICK=1``).
    """
    return quick if quick_mode() else default
