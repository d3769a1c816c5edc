"""Figures of the encoder validation: Dataset -> Figure, no physics computed here."""

from __future__ import annotations

import numpy as np

from .style import label_figure, new_figure

__all__ = ["plot_theory_rates", "plot_method_comparison"]


def plot_theory_rates(rates, traj_a, traj_b, *, title="", status="RECONSTRUCTION"):
    """(a) measured collapse rate minus the p = 0 drift (markers, seed mean +- sd) vs the
    predicted rate (line, band = slowest..fastest slow mode; dashed: adiabatic bound) against p,
    per run, with Model B (head + SG) measured rates;
    (b, c) d_min(step) of the first run under Model A and Model B, one line per p (seed 0)."""
    fig, axes = new_figure(3, width=3.4)
    ax = axes[0][0]
    for i, run in enumerate(rates["run"].values):
        r = rates.sel(run=run)
        p = r["frustration"].values
        colour = f"C{i}"
        ax.plot(p, r["predicted"].mean("seed"), "-", color=colour, label=f"{run}: predicted")
        ax.fill_between(p, r["predicted_lo"].mean("seed"), r["predicted_hi"].mean("seed"),
                        color=colour, alpha=0.2, lw=0)
        if "predicted_adiabatic" in r:
            ax.plot(p, r["predicted_adiabatic"].mean("seed"), "--", color=colour, lw=1,
                    label=f"{run}: adiabatic bound")
        measured = r["excess"] if "excess" in r else r["measured"]
        ax.errorbar(p, measured.mean("seed"), yerr=measured.std("seed"), fmt="o",
                    ms=4, color=colour, label=f"{run}: Model A measured - drift")
        ax.errorbar(p, r["measured_model_b"].mean("seed"), yerr=r["measured_model_b"].std("seed"),
                    fmt="x", ms=5, color=colour, label=f"{run}: head + SG measured")
    ax.set_xlabel("label-noise frustration p")
    ax.set_ylabel("collapse rate of $d_{\\min}$ per step")
    ax.set_title("(a) rate vs p")
    ax.legend(fontsize=6)
    for ax, traj, name in ((axes[0][1], traj_a, "(b) Model A"), (axes[0][2], traj_b,
                                                                 "(c) head + SG (Model B)")):
        steps = traj["step"].values
        for p in traj["frustration"].values:
            d = traj["d_min"].sel(frustration=p).isel(seed=0).values
            ax.plot(steps, np.maximum(d, 1e-12), label=f"p={p:g}")
        ax.set_yscale("log")
        ax.set_xlabel("GD step")
        ax.set_ylabel("$d_{\\min}$ of the label embeddings")
        ax.set_title(f"{name}, seed 0")
        ax.legend(fontsize=6)
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
