"""Input validation shared by every package (theory, solvers, sweeps, training configs).

Every check raises ``ValueError`` naming the parameter, the offending value and what is
allowed, so a bad call fails before anything is computed or written.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def _fmt(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def integer(name: str, value, *, minimum: int | None = None) -> int:
    # type(...) is int: a fast path (sweeps validate every point), the ABC check otherwise
    if type(value) is not int and (isinstance(value, bool)
                                   or not isinstance(value, numbers.Integral)):
        raise ValueError(f"{name}={_fmt(value)} must be an integer")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}={value} must be an integer >= {minimum}")
    return int(value)


def real(name: str, value, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """A finite real number in [low, high] (ends opened by ``low_open``/``high_open``)."""
    if type(value) is not float and type(value) is not int and (
            isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise ValueError(f"{name}={_fmt(value)} must be a finite real number")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}={_fmt(value)} must be a finite real number")
    lo_ok = low is None or (value > low if low_open else value >= low)
    hi_ok = high is None or (value < high if high_open else value <= high)
    if not (lo_ok and hi_ok):
        lb = "-inf" if low is None else f"{low}"
        hb = "inf" if high is None else f"{high}"
        interval = ("(" if low_open or low is None else "[") + f"{lb}, {hb}" + (
            ")" if high_open or high is None else "]"
        )
        raise ValueError(f"{name}={value!r} is outside the allowed range {interval}")
    return value


def positive(name: str, value) -> float:
    return real(name, value, low=0.0, low_open=True)


def choice(name: str, value, allowed) -> str:
    if value not in allowed:
        raise ValueError(f"{name}={_fmt(value)} is not one of {sorted(allowed)}")
    return value


def finite_array(name: str, value, *, ndim: int | None = None, shape=None) -> np.ndarray:
    """A float64 array with no NaN/inf, optionally of a given ndim or exact shape."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real array ({exc})") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; all entries must be finite")
    return arr


def spd_matrix(name: str, value, *, rtol: float = 1e-10) -> np.ndarray:
    """A symmetric positive-definite matrix (symmetry to ``rtol`` of its largest entry)."""
    arr = finite_array(name, value, ndim=2)
    if arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square matrix, got shape {arr.shape}")
    scale = max(np.max(np.abs(arr)), 1.0)
    if not np.allclose(arr, arr.T, rtol=0.0, atol=rtol * scale):
        raise ValueError(f"{name} must be symmetric (max |{name} - {name}.T| = "
                         f"{np.max(np.abs(arr - arr.T)):.3g})")
    arr = 0.5 * (arr + arr.T)
    lam_min = np.linalg.eigvalsh(arr)[0]
    if lam_min <= 0:
        raise ValueError(f"{name} must be positive definite (smallest eigenvalue {lam_min:.3g} <= 0)")
    return arr
