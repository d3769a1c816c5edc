"""Shared by the figure configs of the minimal collapse model: the paper, the status, and two
readers of a trajectory dataset at a given time."""

from __future__ import annotations

import numpy as np

PAPER = "Minimal model of representation collapse (arXiv:2604.09979)"
STATUS = "RECONSTRUCTION"


def value_at(ds, var, t, **sel):
    """var at time t: the grid value, or log-log interpolation between grid points."""
    da = ds[var].sel(**sel)
    ts = ds["t"].values
    if np.any(np.isclose(ts, t, rtol=1e-12)):
        return float(da.values[np.argmin(np.abs(ts - t))])
    keep = ts > 0
    return float(np.exp(np.interp(np.log(t), np.log(ts[keep]), np.log(da.values[keep]))))


def min_at(ds, var, t):
    """The smallest value of var over all points at the grid time nearest to t."""
    i = int(np.argmin(np.abs(ds["t"].values - t)))
    return float(ds[var].isel(t=i).min())
