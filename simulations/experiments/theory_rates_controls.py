r"""The controls, the Model B comparison and the rival substitutions of
:mod:`simulations.experiments.theory_rates` [RECONSTRUCTION; every bound is this toolkit's].

Each control has a prediction that can fail: flips confined to blocks of classes leave the
distance between blocks uncollapsed (an exact zero mode of L_G(C) for a disconnected class
graph) while each block collapses at its predicted rate; a frozen encoder leaves the labels
relaxing linearly, y_k <- (1 - nu eta_y n_k) y_k + nu eta_y sum_{i: l_i = k} x_i, at the
label-only rate -log|1 - nu eta_y n_k| with no collapse.  The substitutions put a wrong model
or a wrong run where the right one was: a decision that is still "agrees", or Model B
preconditions that still hold, would show that the test cannot tell them apart.
"""

from __future__ import annotations

import itertools

import numpy as np
import xarray as xr

from analysis.label_noise_rates import late_rate, measured_rate, slope_through_origin
from minimal_models import label_noise as theory

__all__ = ["PROTECTION_DECISIONS", "predicted_rates", "block_control", "frozen_control",
           "model_b_record", "experiment_checks"]

PROTECTION_DECISIONS = ("protects", "does not protect", "unresolved", "precondition failed")


def predicted_rates(C, kernel, *, eta_y: float, nu: float) -> dict:
    r"""Per-step collapse rates of the rigid-class model with class-node step matrix ``kernel``
    [RECONSTRUCTION/DERIVED, :func:`minimal_models.label_noise.kernel_rates`]:
    ``two_mode`` with the two-mode kernel of ``kernel``'s common and zero-sum steps
    (:func:`minimal_models.label_noise.kernel_modes`), ``full`` with ``kernel`` itself; each
    the mean over the collapsing modes (rate > 0: a disconnected class graph keeps its
    between-component modes at 0) of -log(1 - mu)."""
    K = np.shape(C)[0]
    eta_c, eta_z = theory.kernel_modes(kernel)
    out = {}
    for name, E in (("two_mode", theory.two_mode_kernel(K, eta_common=eta_c,
                                                        eta_zero_sum=eta_z)),
                    ("full", kernel)):
        mu = theory.kernel_rates(C, kernel=E, eta_y=eta_y, nu=nu)
        rates = theory.per_step_rate(mu)
        positive = rates[mu > 1e-9 * max(float(mu.max()), 1e-300)]
        out[name] = float(positive.mean()) if positive.size else 0.0
    return out


def _arm(table: xr.Dataset, **match) -> xr.Dataset:
    keep = np.ones(table.sizes["arm"], bool)
    for key, value in match.items():
        keep &= table[key].values == value
    if keep.sum() != 1:
        raise ValueError(f"expected one arm with {match}, found {int(keep.sum())}")
    return table.isel(arm=int(np.flatnonzero(keep)[0]))


def block_control(ds: xr.Dataset, table: xr.Dataset, settings) -> dict:
    """Flips inside ``settings.noise_blocks`` only.  Predictions: the smallest distance between
    block centroids of the labels has rate 0 (|late rate| <= ``drift_fraction`` x the
    within-block prediction), and inside each block the smallest label distance collapses at
    the predicted rate (slope of measured on predicted over (block, seed), reported: the
    two-mode kernel gives every block the same zero-sum step, the probed kernel does not)."""
    arm = _arm(table, noise_blocks=str(settings.noise_blocks))
    Y = ds["Y"].sel(arm=str(arm["arm"].values)).values                # (seed, step, K, d)
    blocks = [list(b) for b in settings.noise_blocks]
    within = np.stack([np.min([np.linalg.norm(Y[..., a, :] - Y[..., b, :], axis=-1)
                               for a, b in itertools.combinations(block, 2)], axis=0)
                       for block in blocks], axis=1)                  # (seed, block, step)
    cents = [Y[..., b, :].mean(axis=-2) for b in blocks]
    between = np.min([np.linalg.norm(cents[i] - cents[j], axis=-1)
                      for i, j in itertools.combinations(range(len(blocks)), 2)], axis=0)
    measured_within = np.array([[measured_rate(w) for w in row] for row in within])
    between_rate = np.array([late_rate(b) for b in between])
    predicted = arm["predicted"].values                               # (seed,)
    per_point = np.broadcast_to(predicted[:, None], measured_within.shape)
    fit = slope_through_origin(measured_within, per_point, confidence=settings.confidence)
    ratio = float(np.abs(between_rate).mean() / predicted.mean())
    lo, hi = settings.band
    return {"between_rate": float(between_rate.mean()), "between_ratio": ratio,
            "no_collapse_between": bool(ratio <= settings.drift_fraction),
            "within_measured": measured_within.tolist(),
            "within_predicted": float(predicted.mean()), "within_slope": fit["slope"],
            "within_ci": (fit["ci_low"], fit["ci_high"]),
            "within_agrees": bool(lo <= fit["ci_low"] and fit["ci_high"] <= hi),
            "prediction": "between-block distance rate 0; within-block rate as predicted"}


def frozen_control(ds: xr.Dataset, table: xr.Dataset, settings) -> dict:
    """Encoder frozen.  Predictions: ||Y(t) - Y(end)|| decays at the label-only rate
    -log|1 - nu eta_y n_k| (n_k the label counts; exact, the label update is linear), and
    d_min does not collapse (|late rate| <= ``drift_fraction`` x the rate Model A would
    have at this p and eta_y with the probed kernel)."""
    arm = _arm(table, encoder="frozen")
    name = str(arm["arm"].values)
    nu, eta_y = float(table.attrs["nu"]), float(arm["lr_labels"].values)
    Y = ds["Y"].sel(arm=name).values                                  # (seed, step, K, d)
    C = ds["C"].sel(arm=name).values                                  # (seed, K, K)
    measured, predicted = [], []
    for Ys, Cs in zip(Y, C):
        r = np.linalg.norm((Ys - Ys[-1]).reshape(len(Ys), -1), axis=1)
        end = int(np.argmax(r < 1e-3 * r[0])) or len(r) // 2       # before float32 round-off
        t = np.arange(end + 1, dtype=np.float64)
        measured.append(-np.polyfit(t, np.log(r[:end + 1]), 1)[0])
        predicted.append(float(theory.per_step_rate(nu * eta_y * Cs.sum(axis=0)).mean()))
    d_late = np.array([late_rate(d) for d in ds["d_min"].sel(arm=name).values])
    model_a = _arm(table, frustration=float(arm["frustration"].values), lr_labels=eta_y,
                   encoder="trained", inputs="samples", noise_blocks="None")
    ratio = float(np.abs(d_late).mean() / model_a["predicted"].values.mean())
    return {"label_rate_measured": float(np.mean(measured)),
            "label_rate_predicted": float(np.mean(predicted)),
            "label_rate_ratio": float(np.mean(measured) / np.mean(predicted)),
            "d_min_late_rate": float(d_late.mean()), "collapse_ratio": ratio,
            "no_collapse": bool(ratio <= settings.drift_fraction),
            "prediction": "labels relax at the label-only rate; no collapse"}


def model_b_record(b: xr.Dataset, a: xr.Dataset, settings) -> dict:
    """Model B's preconditions and protection claim on rate tables of the same (p, seed) runs
    (``b`` Model B, ``a`` Model A; arms matched by name, p > 0 only).

    Preconditions: ``encoder_trains`` (smallest encoder shift >= ``min_shift``),
    ``head_trains`` (smallest head shift >= ``min_shift``), ``classifies`` (smallest
    consistent accuracy at the start of the rate window >= ``separation_accuracy``),
    ``rates_measured`` (every rate finite, >= 2 seeds, Model A's rates > 0).  Protection:
    slope of Model B's on Model A's measured rates with its CI (the ratio of rates); "protects"
    when the CI lies below ``protection_ratio``, "does not protect" when above, else
    "unresolved"; "precondition failed" when a precondition does not hold."""
    b = b.where(b["frustration"] > 0, drop=True)
    names = [str(n) for n in b["arm"].values]
    a = a.sel(arm=names)
    rb, ra = b["measured"].values, a["measured"].values
    pre = {"encoder_trains": float(np.nanmin(b["encoder_shift"].values)) >= settings.min_shift,
           "head_trains": float(np.nanmin(b["head_shift"].values)) >= settings.min_shift,
           "classifies": float(np.nanmin(b["acc_window"].values))
           >= settings.separation_accuracy,
           "rates_measured": bool(np.all(np.isfinite(rb)) and np.all(np.isfinite(ra))
                                  and b.sizes["seed"] >= 2 and np.all(ra > 0))}
    fit = slope_through_origin(rb, ra, confidence=settings.confidence)
    if not all(pre.values()):
        decision = "precondition failed"
    elif fit["ci_high"] < settings.protection_ratio:
        decision = "protects"
    elif fit["ci_low"] > settings.protection_ratio:
        decision = "does not protect"
    else:
        decision = "unresolved"
    by_p = {}
    for p in np.unique(b["frustration"].values):
        at = b["frustration"].values == p
        mean = slope_through_origin(rb[at], np.ones_like(rb[at]),
                                    confidence=settings.confidence)   # the mean, with its CI
        by_p[float(p)] = (mean["slope"], mean["ci_low"], mean["ci_high"])
    return {"decision": decision, "ratio": fit["slope"], "ci_low": fit["ci_low"],
            "ci_high": fit["ci_high"], "n": fit["n"], "preconditions": pre,
            "preconditions_hold": bool(all(pre.values())),
            "encoder_shift_min": float(np.nanmin(b["encoder_shift"].values)),
            "head_shift_min": float(np.nanmin(b["head_shift"].values)),
            "acc_window_min": float(np.nanmin(b["acc_window"].values)),
            "rate_b_mean": float(np.nanmean(rb)), "rate_a_mean": float(np.nanmean(ra)),
            "rate_b_by_p": by_p,
            "protection_ratio": settings.protection_ratio}


def _check(quantity, expected, measured, *, kind="close", rtol=1e-3, source=""):
    return {"quantity": quantity, "expected": float(expected), "measured": float(measured),
            "kind": kind, "rtol": rtol,
            "source": source or "RECONSTRUCTION: theory_rates design; bound OURS"}


def experiment_checks(settings, flags: xr.Dataset, substitutions: dict, controls: dict,
                      model_b: dict) -> list:
    """Every check of the experiment, as dicts with the fields of
    :class:`paper_repro.base.Check`: the regime rules, the substitutions (each must turn the
    decision away from "agrees", or fail the Model B preconditions), Model B's preconditions
    and the exact predictions of the frozen and block controls."""
    main = flags.where(flags["frustration"] > 0, drop=True)
    checks = [
        _check("regime: largest |p=0 drift rate| / smallest predicted rate over eta_y",
               settings.drift_fraction, float(np.nanmax(flags["drift_ratio"].values)),
               kind="max"),
        _check("regime: smallest p=0 nearest-label accuracy over eta_y (classes separate)",
               settings.separation_accuracy, float(np.nanmin(flags["p0_accuracy"].values)),
               kind="min"),
        _check("regime: largest memorisation index of flipped samples over the arms "
               "(0 rigid class, 1 memorised)", settings.memorisation_max,
               float(np.nanmax(main["memorisation_mean"].values)), kind="max"),
    ]
    for name, rec in substitutions.items():
        if "preconditions" in rec:
            failed = [k for k, v in rec["preconditions"].items() if not v]
            checks.append(_check(f"substitution '{name}' fails the Model B preconditions "
                                 f"(fails: {', '.join(failed) or 'none'}): 1 if they hold",
                                 0.0, float(rec["preconditions_hold"]), kind="max"))
        else:
            checks.append(_check(f"substitution '{name}' turns the decision away from "
                                 f"'agrees' (got '{rec['decision']}', slope "
                                 f"{rec['slope']:.2f}): 1 if it still agrees", 0.0,
                                 float(rec["decision"] == "agrees"), kind="max"))
    checks.append(_check("Model B preconditions hold on the Model B runs (encoder and head "
                         "train, classes learned, rates measured)", 1.0,
                         float(model_b["preconditions_hold"]), kind="min"))
    fr, bl = controls["frozen_encoder"], controls["noise_blocks"]
    checks += [
        _check("frozen encoder: measured / predicted label-only relaxation rate", 1.0,
               fr["label_rate_ratio"], rtol=0.02,
               source="RECONSTRUCTION: exact (the label update is linear); rtol for float32"),
        _check("frozen encoder: |late d_min rate| / Model A's predicted rate (no collapse)",
               settings.drift_fraction, fr["collapse_ratio"], kind="max"),
        _check("noise in two class blocks: |between-block rate| / within-block prediction "
               "(no collapse between blocks)", settings.drift_fraction, bl["between_ratio"],
               kind="max"),
    ]
    return checks
