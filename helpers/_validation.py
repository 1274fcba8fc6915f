"""Input validation shared by every public ``helpers`` function.

Each check raises ``ValueError`` naming the parameter and the value it got, e.g.
``ValueError("epsilon must be > 0, got -1")``. Nothing is clamped silently.
"""
from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

__all__ = [
    "check_epsilon",
    "check_delta",
    "check_sensitivity",
    "check_probability",
    "check_positive",
    "check_positive_int",
    "check_nonnegative",
    "check_bounds",
    "check_neighbours",
    "NEIGHBOURS",
    "as_database",
    "as_rng",
    "to_numpy",
    "check_orders",
    "check_target_epsilon",
    "CONVERSIONS",
    "check_conversion",
    "check_value",
    "as_labels",
]

# The two neighbouring relations the course uses: remove-one (unbounded DP) and replace-one (bounded DP).
NEIGHBOURS = ("remove", "replace")


def _is_real(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def check_positive(value: Any, name: str) -> float:
    """Return ``float(value)`` if it is a finite real number > 0, else raise ``ValueError``."""
    if not _is_real(value) or not math.isfinite(float(value)) or float(value) <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_nonnegative(value: Any, name: str) -> float:
    """Return ``float(value)`` if it is a finite real number >= 0, else raise ``ValueError``."""
    if not _is_real(value) or not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_positive_int(value: Any, name: str) -> int:
    """Return ``int(value)`` if it is an integer >= 1, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def check_epsilon(epsilon: Any, name: str = "epsilon") -> float:
    """Privacy loss ε: a finite number > 0."""
    if not _is_real(epsilon) or not math.isfinite(float(epsilon)) or float(epsilon) <= 0:
        raise ValueError(f"{name} must be > 0, got {epsilon!r}")
    return float(epsilon)


def check_delta(delta: Any, name: str = "delta") -> float:
    """Failure probability δ: strictly inside (0, 1)."""
    if not _is_real(delta) or not (0.0 < float(delta) < 1.0):
        raise ValueError(f"{name} must be in the open interval (0, 1), got {delta!r}")
    return float(delta)


def check_sensitivity(sensitivity: Any, name: str = "sensitivity") -> float:
    """Sensitivity Δ: a finite number >= 0 (0 means the query ignores the data)."""
    if not _is_real(sensitivity) or not math.isfinite(float(sensitivity)) or float(sensitivity) < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {sensitivity!r}")
    return float(sensitivity)


def check_probability(p: Any, name: str, *, open_low: bool = False, open_high: bool = False) -> float:
    """A probability in [0, 1] (ends excluded on request)."""
    if not _is_real(p):
        raise ValueError(f"{name} must be a probability, got {p!r}")
    p = float(p)
    low_ok = p > 0 if open_low else p >= 0
    high_ok = p < 1 if open_high else p <= 1
    if not (low_ok and high_ok):
        lo = "(" if open_low else "["
        hi = ")" if open_high else "]"
        raise ValueError(f"{name} must be in {lo}0, 1{hi}, got {p!r}")
    return p


def check_neighbours(neighbours: Any) -> str:
    """A neighbouring relation: ``"remove"`` (add/remove one person) or ``"replace"`` (change one)."""
    if neighbours not in NEIGHBOURS:
        raise ValueError(f"neighbours must be 'remove' or 'replace', got {neighbours!r}")
    return str(neighbours)


def check_bounds(lower: Any, upper: Any, *, allow_equal: bool = True) -> tuple[float, float]:
    """Finite value bounds ``lower <= upper`` (``lower < upper`` with ``allow_equal=False``)."""
    for name, value in (("lower", lower), ("upper", upper)):
        if not _is_real(value) or not math.isfinite(float(value)):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if float(lower) > float(upper) or (not allow_equal and float(lower) == float(upper)):
        relation = "<=" if allow_equal else "<"
        raise ValueError(f"lower must be {relation} upper, got lower={lower!r}, upper={upper!r}")
    return float(lower), float(upper)


def as_database(db: Any, name: str = "db", *, binary: bool = False, allow_empty: bool = False) -> np.ndarray:
    """Return ``db`` as a 1-D numpy array, checking shape, emptiness and (optionally) 0/1 values.

    Raises
    ------
    ValueError
        If ``db`` is not one-dimensional, is empty (unless ``allow_empty``), holds NaN,
        or (with ``binary=True``) holds values other than 0 and 1.
    """
    arr = np.asarray(db)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of rows, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN (missing values); drop or impute them first")
    if binary and not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1, got values {np.unique(arr)[:5]}")
    return arr


def as_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    """Return a ``numpy.random.Generator``: ``None`` makes a fresh unseeded one, an int seeds one."""
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise ValueError(f"{name} must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")


def to_numpy(value: Any) -> Any:
    """Return a ``torch.Tensor`` as a numpy array (detached, on the CPU); anything else unchanged.

    Torch is never imported here: only code that already imported it can hand us a tensor,
    and a cold ``import torch`` costs seconds in a numpy-only lesson.
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


def check_orders(orders: Any, name: str = "orders") -> np.ndarray:
    """Return the orders as a 1-D float array; every order must be > 1 (``inf`` allowed)."""
    try:
        arr = np.atleast_1d(np.asarray(orders, dtype=float))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers > 1, got {orders!r}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if (arr <= 1).any():
        raise ValueError(f"{name} must all be > 1 (Rényi orders), got {arr[arr <= 1][:5].tolist()}")
    return arr


def check_target_epsilon(target_epsilon: Any) -> float:
    """A privacy budget to calibrate to: finite and > 0 (ε = ∞ would mean no noise and no guarantee)."""
    if isinstance(target_epsilon, (int, float, np.integer, np.floating)) and not isinstance(target_epsilon, bool) \
            and math.isinf(float(target_epsilon)) and float(target_epsilon) > 0:
        raise ValueError(
            "target_epsilon must be finite, got inf: ε = ∞ is no privacy guarantee at all, so there is no noise "
            "to calibrate. To train without privacy, train without DP-SGD's noise (noise_multiplier=0) and "
            "report no ε.")
    return check_epsilon(target_epsilon, "target_epsilon")


CONVERSIONS = ("improved", "classic")


def check_conversion(conversion: Any) -> str:
    if conversion not in CONVERSIONS:
        raise ValueError(f"conversion must be one of {CONVERSIONS}, got {conversion!r}")
    return conversion


def check_value(value: Any, name: str = "value") -> np.ndarray:
    arr = np.asarray(value, dtype=float) if not isinstance(value, np.ndarray) else value.astype(float)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or infinity), got {value!r}")
    return arr


def as_labels(values: Any, name: str = "labels", *, ndim: int = 1, shape: str | None = None) -> np.ndarray:
    """Class labels as an ``int64`` array of ``ndim`` dimensions: integers >= 0 (integer-valued floats too).

    ``shape`` names the expected shape in the error message (default "a non-empty {ndim}-D array").
    """
    arr = np.asarray(to_numpy(values))
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape or f'of a {ndim}-D array'}, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinity; it must hold integer labels")
        if not np.array_equal(arr, np.round(arr)):
            raise ValueError(f"{name} must hold integer labels, got non-integer values")
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"{name} must hold integer labels, got dtype {arr.dtype}")
    if (arr < 0).any():
        raise ValueError(f"{name} must hold labels >= 0, got {int(arr.min())}")
    return arr.astype(np.int64)


def as_table_arrays(data: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` as numpy arrays from a DataFrame and a target column name, or from two arrays.

    Raises a ``ValueError`` that names the problem: a missing column, non-numeric columns,
    mismatched lengths, fewer than 2 examples, NaN.
    """
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    if pd is not None and isinstance(data, pd.DataFrame):
        if isinstance(target, str):
            if target not in data.columns:
                raise ValueError(f"target column {target!r} is not in the DataFrame (columns: {list(data.columns)})")
            y = data[target].to_numpy()
            data = data.drop(columns=[target])
        elif target is None:
            raise ValueError("target must be a column name or an array of labels")
        else:
            y = np.asarray(target)
        non_numeric = [c for c in data.columns if not pd.api.types.is_numeric_dtype(data[c])]
        if non_numeric:
            raise ValueError(f"data columns {non_numeric} are not numeric; encode them first (e.g. pd.get_dummies)")
        x = data.to_numpy(dtype=np.float32)
    else:
        if target is None or isinstance(target, str):
            raise ValueError("target must be an array of labels when data is an array")
        x = np.asarray(data)
        y = np.asarray(target)
    if x.ndim < 2:
        raise ValueError(f"data must have shape (n, features...), got {x.shape}")
    if y.ndim != 1:
        raise ValueError(f"target must be one-dimensional, got shape {y.shape}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"data and target must have the same length, got {x.shape[0]} and {y.shape[0]}")
    if x.shape[0] < 2:
        raise ValueError(f"data must hold at least 2 examples, got {x.shape[0]}")
    if x.dtype.kind not in "biuf" or y.dtype.kind not in "biuf":
        raise ValueError("data and target must be numeric")
    if np.isnan(x.astype(float)).any():
        raise ValueError("data contains NaN (missing values); drop or impute them first")
    if np.isnan(y.astype(float)).any():
        raise ValueError("target contains NaN")
    return x, y
