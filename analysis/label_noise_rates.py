r"""Measured and predicted collapse rates of encoders trained under label noise
(RECONSTRUCTION of arXiv:2604.09979 on real encoders, see :mod:`minimal_models.label_noise`).

Input: the dataset of :func:`simulations.label_training.train_label_embeddings` (d_min per
step, confusion counts C, memorisation); output: per (frustration, seed) the fitted decay
rate of d_min beside the rigid-class prediction.  Pure array analysis; nothing is trained here.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .timescales import fit_decay_rate

__all__ = ["collapse_window", "measured_rate", "theory_rates_dataset"]


def collapse_window(d_min, *, upper: float = 0.7, lower: float = 0.05):
    """Fit window of the slow phase: from the first step with d_min <= upper x d_min(0) to the
    first step with d_min <= lower x d_min(0) (or the end).  RECONSTRUCTION: the run starts at
    the slow phase (labels at their class means), so d_min(0) is the separated level."""
    d = np.asarray(d_min)
    below_u = np.flatnonzero(d <= upper * d[0])
    below_l = np.flatnonzero(d <= lower * d[0])
    start = int(below_u[0]) if below_u.size else len(d) - 1
    end = int(below_l[0]) if below_l.size else len(d) - 1
    return start, end


def measured_rate(d_min) -> float:
    r"""Per-step decay rate r of d_min(step) ~ exp(-r step), fitted on :func:`collapse_window`.

    When the window holds fewer than 5 steps (no collapse phase reached) the last half is
    fitted; a diverged run (non-finite, or d_min(0) <= 0) gives NaN."""
    d = np.asarray(d_min, dtype=np.float64)
    if not np.all(np.isfinite(d)) or d[0] <= 0:
        return float("nan")  # a diverged run is marked, never fitted
    start, end = collapse_window(d)
    if end - start < 5:
        # never fell to 70 %: fit the last half (a slow drift, or a protected run)
        start, end = len(d) // 2, len(d) - 1
    steps = np.arange(len(d), dtype=np.float64)
    return float(fit_decay_rate(steps, d, window=(start, end))["rate"])


def theory_rates_dataset(ds: xr.Dataset, lr_labels: float, eta_x: float = np.inf) -> xr.Dataset:
    r"""Measured and predicted rates per (frustration, seed) (RECONSTRUCTION).

    ``measured`` (:func:`measured_rate` of d_min), ``excess`` (minus the same seed's p = 0
    rate), ``predicted`` (per-step rate -log|1 - mu| of the slow modes mu of the step map
    nu H L_G(C) for the run's confusion counts C, label step ``lr_labels`` and class-node step
    ``eta_x`` -- inf: adiabatic -- mean of the K - 1 modes), ``predicted_lo``/``_hi`` (slowest /
    fastest mode), ``predicted_adiabatic`` (eta_x = inf), ``memorisation`` at the end of the
    fit window, ``d_min_end_ratio`` = d_min(end) / d_min(0)."""
    from minimal_models import label_noise  # theory module (float64): imported on use

    nu = float(ds.attrs["nu"])
    shape = (ds.sizes["frustration"], ds.sizes["seed"])
    out = {k: np.zeros(shape) for k in ("measured", "predicted", "predicted_lo",
                                        "predicted_hi", "predicted_adiabatic",
                                        "memorisation", "d_min_end_ratio")}
    for i, p in enumerate(ds["frustration"].values):
        for j, s in enumerate(ds["seed"].values):
            d = ds["d_min"].values[i, j]
            out["measured"][i, j] = measured_rate(d)
            C = ds["C"].values[i, j]
            rates = label_noise.per_step_rate(
                label_noise.class_node_rates(C, eta_x=eta_x, eta_y=lr_labels, nu=nu))
            out["predicted"][i, j] = rates.mean()
            out["predicted_adiabatic"][i, j] = label_noise.per_step_rate(
                label_noise.adiabatic_rates(C, eta_y=lr_labels, nu=nu)).mean()
            out["predicted_lo"][i, j], out["predicted_hi"][i, j] = rates.min(), rates.max()
            _, end = collapse_window(d)
            out["memorisation"][i, j] = ds["memorisation"].values[i, j, end]
            out["d_min_end_ratio"][i, j] = d[-1] / d[0]
    if 0.0 in ds["frustration"].values:
        # label-noise part of the rate: minus the same seed's p = 0 drift (capacity frustration)
        i0 = int(np.flatnonzero(ds["frustration"].values == 0.0)[0])
        out["excess"] = out["measured"] - out["measured"][i0][None, :]
    return xr.Dataset({k: (("frustration", "seed"), v) for k, v in out.items()},
                      coords={"frustration": ds["frustration"], "seed": ds["seed"]},
                      attrs={"reconstruction": 1, "lr_labels": lr_labels, "nu": nu,
                             "eta_x": eta_x})
