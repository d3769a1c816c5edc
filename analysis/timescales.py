"""Time-scale extraction from trajectories (spec §2.7, RECONSTRUCTION)."""

from __future__ import annotations

import numpy as np

__all__ = ["fit_decay_rate", "first_crossing_time"]


def fit_decay_rate(t, y, *, window=None) -> dict:
    r"""Fit y(t) ~ a exp(-lambda t) on a late window by least squares on log y.

    Returns ``{"rate": lambda, "amplitude": a, "rms_log_residual": ...}``.  ``window`` is
    (t_start, t_end); by default the last half of the time range.  Non-positive or non-finite
    samples are dropped (a collapsed d_min can underflow to 0).
    """
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if t.shape != y.shape or t.ndim != 1:
        raise ValueError(f"t and y must be 1-D arrays of equal shape, got {t.shape} and {y.shape}")
    if window is None:
        window = (0.5 * (t.min() + t.max()), t.max())
    lo, hi = window
    keep = (t >= lo) & (t <= hi) & np.isfinite(y) & (y > 0)
    if keep.sum() < 2:
        raise ValueError(f"window={window} holds fewer than two positive samples of y")
    slope, intercept = np.polyfit(t[keep], np.log(y[keep]), 1)
    residual = np.log(y[keep]) - (slope * t[keep] + intercept)
    return {"rate": -slope, "amplitude": float(np.exp(intercept)),
            "rms_log_residual": float(np.sqrt(np.mean(residual**2)))}


def first_crossing_time(t, y, level: float) -> float:
    """First t with y(t) >= level (e.g. t_acc: first time acc_cons reaches 1); NaN if never."""
    t = np.asarray(t, dtype=np.float64)
    hit = np.nonzero(np.asarray(y) >= level)[0]
    return float(t[hit[0]]) if hit.size else float("nan")
