"""Output time grids shared by the sweepable flows: one log-spaced grid per point, padded to the
sweep's longest grid so every point of a chunk has one shape."""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["log_grid", "padded"]


@functools.lru_cache(maxsize=4096)  # many points of a grid share one (t_min, t_max, n_times)
def log_grid(t_min, t_max, n_times) -> tuple:
    """t = 0 followed by n_times - 1 log-spaced times in [t_min, t_max]."""
    return tuple(np.concatenate([[0.0], np.geomspace(t_min, t_max, n_times - 1)]))


def padded(ts, n) -> np.ndarray:
    """The grid with its last time repeated up to length n (padded entries are masked)."""
    return np.concatenate([ts, np.full(n - len(ts), ts[-1])])
