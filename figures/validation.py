"""Figures of the encoder validation: Dataset -> Figure, no physics computed here."""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .style import label_figure, new_figure

__all__ = ["plot_rate_agreement", "plot_method_comparison"]


def _main_arms(ds, objective="model_a"):
    """Boolean mask of the main-grid arms of one objective (trained encoder, sample inputs,
    flips to any class)."""
    return ((ds["objective"] == objective) & (ds["encoder"] == "trained")
            & (ds["inputs"] == "samples") & (ds["noise_blocks"] == "None")).values


def _log_ticks(ax, which="xy"):
    """Log axes over less than two decades: ticks at 1, 2, 5 x 10^k written as plain numbers
    (the default minor labels overlap)."""
    for name in which:
        axis = getattr(ax, f"{name}axis")
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())


def _decision_text(attrs) -> str:
    return (f"{attrs.get('decision', '?')}: slope {attrs.get('slope', np.nan):.3f} "
            f"[{attrs.get('slope_ci_low', np.nan):.3f}, {attrs.get('slope_ci_high', np.nan):.3f}]"
            f"\nadiabatic would give {attrs.get('adiabatic_implied_slope', np.nan):.2f}")


def plot_rate_agreement(ds, *, title="", status="RECONSTRUCTION"):
    r"""The label-noise collapse rate of trained encoders against the rigid-class model, from
    the dataset of :func:`simulations.experiments.theory_rates.run_theory_rates` (attrs
    ``base_label_step`` and ``sweep_frustration`` name the p grid's eta_y and the eta_y
    sweep's p).

    (a) measured vs predicted per-step rate, one point per (arm, seed) of the main grid in
    regime: filled = two-mode kernel prediction, hollow = adiabatic (eta_x -> inf); squares
    the class-mean-input control; grey the arms out of regime; y = x and the band
    [0.8, 1.25] x; grey crosses the noisy arms of the memorising setting where the dataset
    holds them (``memorising_measured`` / ``memorising_predicted``: outside the regime).
    (b) rate vs eta_y at the swept p: measured (seed mean +- sd), two-mode prediction (line)
    and adiabatic prediction (dashed), the probed zero-sum step dotted.
    (c, d) d_min(step) of Model A and Model B (shared head + stop-gradient) at the base eta_y,
    one line per p (seed 0), on one y scale."""
    fig, axes = new_figure(2, 2, width=4.2, height=3.4)
    ax = axes[0][0]
    base = float(ds.attrs["base_label_step"])
    p_sweep = float(ds.attrs["sweep_frustration"])
    main = _main_arms(ds) & (ds["frustration"].values > 0)
    regime = ds["in_regime"].values.astype(bool)
    etas = sorted({float(e) for e in ds["lr_labels"].values[main]})
    colour = {e: f"C{i}" for i, e in enumerate(etas)}
    points = []
    for i in np.flatnonzero(main):
        arm = ds.isel(arm=i)
        m, q, a = (arm[k].values for k in ("measured", "predicted", "predicted_adiabatic"))
        c = colour[float(arm["lr_labels"])] if regime[i] else "0.6"
        ax.plot(q, m, "o", ms=4, color=c, alpha=0.85)
        ax.plot(a, m, "o", ms=4, mfc="none", color=c, alpha=0.85)
        points += [q, a, m]
    rigid = (ds["inputs"] == "class_means").values & (ds["objective"] == "model_a").values
    for i in np.flatnonzero(rigid):
        arm = ds.isel(arm=i)
        c = colour.get(float(arm["lr_labels"]), "k")
        ax.plot(arm["predicted"].values, arm["measured"].values, "s", ms=4, color=c, mec="k",
                mew=0.5)
        ax.plot(arm["predicted_adiabatic"].values, arm["measured"].values, "s", ms=4,
                mfc="none", color=c)
    memorising = "memorising_measured" in ds
    if memorising:
        q, m = ds["memorising_predicted"].values, ds["memorising_measured"].values
        ax.plot(q.ravel(), m.ravel(), "x", ms=4, color="0.35")
        points += [q, m]
    flat = np.concatenate([np.ravel(v) for v in points]) if points else np.array([1e-3, 1.0])
    flat = flat[np.isfinite(flat) & (flat > 0)]
    lo, hi = flat.min() / 1.5, flat.max() * 1.5
    x = np.geomspace(lo, hi, 50)
    ax.fill_between(x, 0.8 * x, 1.25 * x, color="0.85", lw=0, zorder=0)
    ax.plot(x, x, "k-", lw=0.8, zorder=1)
    ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi),
           xlabel="predicted rate per step", ylabel="measured rate of $d_{\\min}$ per step",
           title="(a) measured vs predicted")
    _log_ticks(ax)
    handles = [Line2D([], [], ls="", marker="o", color=colour[e], label=f"$\\eta_y$={e:g}")
               for e in etas]
    handles += [Line2D([], [], ls="", marker="o", color="k", label="two-mode kernel"),
                Line2D([], [], ls="", marker="o", mfc="none", color="k", label="adiabatic"),
                Line2D([], [], ls="", marker="s", color="k", label="class-mean inputs"),
                Patch(color="0.85", label="y = x, band [0.8, 1.25]")]
    if not regime[main].all():
        handles.append(Line2D([], [], ls="", marker="o", color="0.6", label="out of regime"))
    if memorising:
        handles.append(Line2D([], [], ls="", marker="x", color="0.35",
                              label="memorising encoder"))
    ax.legend(handles=handles, fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0)
    ax.text(0.03, 0.97, _decision_text(ds.attrs), transform=ax.transAxes, va="top",
            fontsize=6.5, bbox={"fc": "white", "ec": "0.7", "alpha": 0.9})

    ax = axes[0][1]
    sweep = _main_arms(ds) & (ds["frustration"].values == p_sweep)
    sub = ds.isel(arm=np.flatnonzero(sweep)).sortby("lr_labels")
    eta = sub["lr_labels"].values
    ax.errorbar(eta, sub["measured"].mean("seed"), yerr=sub["measured"].std("seed"), fmt="o",
                ms=4, color="C0", capsize=2, label="measured")
    ax.plot(eta, sub["predicted"].mean("seed"), "-", color="C1", label="two-mode prediction")
    ax.plot(eta, sub["predicted_adiabatic"].mean("seed"), "--", color="C1", lw=1,
            label="adiabatic prediction")
    if "eta_zero_sum" in ds:
        z = float(ds["eta_zero_sum"].sel(inputs_probed="samples").mean())
        ax.axvline(z, color="0.4", ls=":", lw=1, label=f"zero-sum step {z:.2f}")
    ax.set(xscale="log", yscale="log", xlabel="label step $\\eta_y$",
           ylabel="rate of $d_{\\min}$ per step", title=f"(b) rate vs $\\eta_y$ at p={p_sweep:g}")
    _log_ticks(ax, "y")
    ax.set_xticks(eta, [f"{e:g}" for e in eta])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=6, loc="upper left")

    grid = [(axes[1][0], "model_a", "(c) Model A"),
            (axes[1][1], "model_b", "(d) Model B (head + SG)")]
    at_base = ds["lr_labels"].values == base
    ps = sorted({float(p) for p in ds["frustration"].values[_main_arms(ds) & at_base]})
    for ax, objective, name in grid:
        steps = ds["step"].values
        for i in np.flatnonzero(_main_arms(ds, objective) & at_base):
            arm = ds.isel(arm=i)
            p = float(arm["frustration"])
            d = arm["d_min"].isel(seed=0).values
            ax.plot(steps, np.maximum(d, 1e-12), color=f"C{ps.index(p) % 7}", label=f"p={p:g}")
        ax.set(yscale="log", xlabel="GD step", ylabel="$d_{\\min}$ of the labels",
               title=f"{name}, $\\eta_y$={base:g}, seed 0")
        ax.legend(fontsize=6, loc="lower left")
    ylims = [ax.get_ylim() for ax, _, _ in grid]
    for ax, _, _ in grid:
        ax.set_ylim(min(y[0] for y in ylims), max(y[1] for y in ylims))
    label_figure(fig, title, status=status)
    return fig


def plot_method_comparison(ds, *, metrics=("knn20", "knn_best", "linear", "erank"),
                           paper=None, title="", status="RECONSTRUCTION"):
    """One panel per metric: our seed mean +- sd per method (bars); the paper's CIFAR-100 value
    (``paper``: {metric: {method: value}}) as a hollow marker on a twin axis, since the scales
    differ (scaled-down analogue vs the paper)."""
    has_spec = "spectrum" in ds
    fig, axes = new_figure(len(metrics) + has_spec, width=2.8)
    methods = list(ds["model"].values)
    x = np.arange(len(methods))
    for ax, metric in zip(axes[0], metrics):
        da = ds[metric]
        ax.bar(x, da.mean("seed"), yerr=da.std("seed"), color=[f"C{i}" for i in x], alpha=0.8,
               capsize=2)
        ax.set_xticks(x, methods, rotation=20, fontsize=7)
        ax.set_title(metric)
        lo = float((da.mean("seed") - 2 * da.std("seed")).min())
        hi = float((da.mean("seed") + 2 * da.std("seed")).max())
        ax.set_ylim(max(0.0, lo - 0.1 * (hi - lo + 1e-9)), hi + 0.1 * (hi - lo + 1e-9))
        ref = (paper or {}).get(metric, {})
        if ref:
            twin = ax.twinx()
            for i, m in enumerate(methods):
                if m in ref:
                    twin.plot([i], [ref[m]], "D", mfc="none", color="k", ms=6)
            twin.set_ylabel("paper, CIFAR-100 (◇)", fontsize=7)
            twin.grid(False)
    if has_spec:  # normalised covariance spectrum (seed mean) per method, log scale
        ax = axes[0][-1]
        for i, m in enumerate(methods):
            lam = np.asarray(ds["spectrum"].values[i]).ravel()
            if np.all(np.isnan(lam)):
                continue
            ax.plot(np.arange(1, lam.size + 1), np.maximum(lam, 1e-12), color=f"C{i}", label=m)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("component")
        ax.set_ylabel("eigenvalue / trace")
        ax.set_title("spectrum")
        ax.legend(fontsize=6)
    label_figure(fig, title, status=status)
    return fig
