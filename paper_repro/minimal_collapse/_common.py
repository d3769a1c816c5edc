"""Shared by the figure configs of the minimal collapse model: the paper, the status, the
plain-value form of a figure's settings (grids as specs, sweeps as axes and fields), and two
readers of a trajectory dataset at a given time."""

from __future__ import annotations

import numpy as np

PAPER = "Minimal model of representation collapse (arXiv:2604.09979)"
STATUS = "RECONSTRUCTION"

_SPACINGS = {"geomspace": np.geomspace, "linspace": np.linspace}


def spaced(spec: dict) -> np.ndarray:
    """The grid a settings entry names: ``{"geomspace": [lo, hi, n]}`` or
    ``{"linspace": [lo, hi, n]}`` (kept as its three numbers so the settings stay short)."""
    (kind, (lo, hi, n)), = spec.items()
    return _SPACINGS[kind](lo, hi, n)


def plain_table(table: dict) -> list:
    """An expected-value table keyed by numbers or tuples as ``[[*key, *values], ...]`` rows
    (JSON keys must be strings)."""
    rows = []
    for key, values in table.items():
        key = list(key) if isinstance(key, tuple) else [key]
        values = list(values) if isinstance(values, tuple) else [values]
        rows.append(key + values)
    return rows


def scalar(value):
    """A numpy scalar as the Python number it holds (settings are plain JSON values)."""
    return value.item() if isinstance(value, np.generic) else value


def sweep_settings(config, quick: bool, model: dict) -> dict:
    """The settings of a figure that runs a named sweep: its name, axes and the model's
    fields (``model``, the dict the sweep's model is built from)."""
    return {"sweep": config.name,
            "axes": [[field, [scalar(v) for v in values]] for field, values in config.axes(quick)],
            "model": model}


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
