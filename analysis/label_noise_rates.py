r"""Measured and predicted collapse rates of encoders trained under label noise
(RECONSTRUCTION of arXiv:2604.09979 on real encoders, see :mod:`minimal_models.label_noise`).

Input: the dataset of :func:`simulations.encoders.label_noise.train_label_embeddings` (d_min
per step, confusion counts C, memorisation); output: per (frustration, seed) the fitted decay
rate of d_min beside the rigid-class prediction.  Then the comparison itself: the slope of
measured on predicted rates with its confidence interval (:func:`slope_through_origin`) and a
decision between a prediction and its rival (:func:`agreement_decision`).  Pure array
analysis; nothing is trained here.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .timescales import fit_decay_rate

__all__ = ["AGREEMENT_DECISIONS", "collapse_window", "measured_rate", "theory_rates_dataset",
           "slope_through_origin", "agreement_decision", "late_rate"]


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


# --- measured against predicted: a slope with its confidence interval, and a decision ------

AGREEMENT_DECISIONS = ("agrees", "rival", "unresolved")


def slope_through_origin(measured, predicted, *, confidence: float = 0.95) -> dict:
    r"""Least-squares slope of ``measured = s * predicted`` (no intercept: a rate predicted
    to vanish must vanish) with a heteroscedasticity-robust confidence interval
    [RECONSTRUCTION: the method is this toolkit's choice]:

        s = sum m_i q_i / sum q_i^2,   e_i = m_i - s q_i,   h_i = q_i^2 / sum q^2,
        Var(s) = sum q_i^2 e_i^2 / (1 - h_i)^2 / (sum q^2)^2     (HC3),
        CI = s -+ t_{n-1, (1+c)/2} sqrt(Var(s)),

    HC3 because rate errors grow with the rate.  Returns ``{"slope", "ci_low", "ci_high",
    "n"}``; non-finite pairs are dropped, fewer than 2 pairs or all q = 0 give NaN."""
    from scipy.special import stdtrit  # Student t quantile (scipy.stats costs ~2 s to import)

    c = float(confidence)
    if not 0.0 < c < 1.0:
        raise ValueError(f"confidence={confidence!r} is outside the allowed range (0, 1)")
    m = np.asarray(measured, dtype=np.float64).ravel()
    q = np.asarray(predicted, dtype=np.float64).ravel()
    if m.shape != q.shape:
        raise ValueError(f"measured and predicted must have the same size, got {m.size} and "
                         f"{q.size}")
    keep = np.isfinite(m) & np.isfinite(q)
    m, q = m[keep], q[keep]
    n = int(m.size)
    qq = float(np.sum(q * q))
    if n < 2 or qq <= 0.0:
        return {"slope": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": n}
    s = float(np.sum(m * q) / qq)
    e = m - s * q
    h = np.minimum(q * q / qq, 1.0 - 1e-12)
    se = float(np.sqrt(np.sum(q * q * e * e / (1.0 - h) ** 2)) / qq)
    half = float(stdtrit(n - 1, 0.5 + c / 2.0)) * se
    return {"slope": s, "ci_low": s - half, "ci_high": s + half, "n": n}


def agreement_decision(measured, predicted, rival, *, band=(0.8, 1.25),
                       confidence: float = 0.95) -> dict:
    r"""Does ``measured`` follow ``predicted`` rather than ``rival``?  [RECONSTRUCTION]

    Both models are fitted by :func:`slope_through_origin`.  A model's *implied slope* under
    the other is the slope the fit would show if the other model were the truth:
    s_rival|pred = sum a q / sum q^2 (a = rival, q = predicted) and s_pred|rival =
    sum q a / sum a^2.  Decision:

    - ``"agrees"``: the CI of the slope on ``predicted`` lies inside ``band`` *and* excludes
      s_rival|pred (the rival would have been told apart);
    - ``"rival"``: the same with the two models exchanged;
    - ``"unresolved"``: otherwise (a wide CI, a slope outside the band for both, or models
      the points cannot tell apart).

    Returns ``{"decision", "slope", "ci_low", "ci_high", "n", "rival_implied_slope",
    "rival_slope", "rival_ci_low", "rival_ci_high", "predicted_implied_slope", "band"}``."""
    lo_band, hi_band = (float(b) for b in band)
    if not 0.0 < lo_band < 1.0 < hi_band:
        raise ValueError(f"band={band!r} must be (low, high) with 0 < low < 1 < high")
    m = np.asarray(measured, dtype=np.float64).ravel()
    q = np.asarray(predicted, dtype=np.float64).ravel()
    a = np.asarray(rival, dtype=np.float64).ravel()
    if not (m.shape == q.shape == a.shape):
        raise ValueError(f"measured, predicted and rival must have the same size, got "
                         f"{m.size}, {q.size} and {a.size}")
    keep = np.isfinite(m) & np.isfinite(q) & np.isfinite(a)
    m, q, a = m[keep], q[keep], a[keep]
    fit = slope_through_origin(m, q, confidence=confidence)
    alt = slope_through_origin(m, a, confidence=confidence)
    implied_rival = float(np.sum(a * q) / np.sum(q * q)) if np.any(q) else float("nan")
    implied_pred = float(np.sum(q * a) / np.sum(a * a)) if np.any(a) else float("nan")

    def holds(f, implied):
        return bool(lo_band <= f["ci_low"] and f["ci_high"] <= hi_band
                    and not f["ci_low"] <= implied <= f["ci_high"])

    agrees, rival_wins = holds(fit, implied_rival), holds(alt, implied_pred)
    decision = ("agrees" if agrees and not rival_wins else
                "rival" if rival_wins and not agrees else "unresolved")
    return {"decision": decision, "slope": fit["slope"], "ci_low": fit["ci_low"],
            "ci_high": fit["ci_high"], "n": fit["n"], "rival_implied_slope": implied_rival,
            "rival_slope": alt["slope"], "rival_ci_low": alt["ci_low"],
            "rival_ci_high": alt["ci_high"], "predicted_implied_slope": implied_pred,
            "band": (lo_band, hi_band)}


def late_rate(y) -> float:
    """Per-step decay rate of a positive trajectory fitted on its last half (a drift, or a
    rate that is predicted to be zero); NaN for a non-finite trajectory."""
    y = np.asarray(y, dtype=np.float64)
    if not np.all(np.isfinite(y)) or y.size < 4:
        return float("nan")
    steps = np.arange(y.size, dtype=np.float64)
    return float(fit_decay_rate(steps, y, window=(y.size // 2, y.size - 1))["rate"])
