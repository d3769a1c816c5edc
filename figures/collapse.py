"""Figures of the collapse models: trajectories, time scales, phase diagrams (Dataset -> Figure).

No physics is computed here beyond reductions for display (seed means, final/peak ratios).
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullFormatter

from .style import label_figure, new_figure

__all__ = ["plot_trajectories", "plot_collapse_timescales", "plot_phase_diagram"]

_LABELS = {
    "acc_all": "nearest-label accuracy",
    "acc_cons": "accuracy (consistent)",
    "loss": "loss $L_A$",
    "d_min": "$d_{\\min}$ (label embeddings)",
    "spread": "label spread tr $G_c$",
}


def plot_trajectories(ds, *, variables=("acc_all", "loss", "d_min"), hue="frustration",
                      title="", status="RECONSTRUCTION", log_y=("loss", "d_min")):
    """One panel per variable against log t, one line per value of ``hue``."""
    fig, axes = new_figure(len(variables))
    t = ds["t"].values
    keep = t > 0
    hues = ds[hue].values if hue in ds.dims else [None]
    for ax, var in zip(axes[0], variables):
        for h in hues:
            da = ds[var] if h is None else ds[var].sel({hue: h})
            ax.plot(t[keep], da.values[keep], label=None if h is None else f"{hue}={h:g}")
        ax.set_xscale("log")
        if var in log_y:
            ax.set_yscale("log")
        ax.set_xlabel("t")
        ax.set_ylabel(_LABELS.get(var, var))
    if hues[0] is not None:
        axes[0][0].legend()
    label_figure(fig, title, status=status)
    return fig


def plot_collapse_timescales(rates, two_class, *, title="", status="RECONSTRUCTION"):
    """(a) tau = 1/lambda_slow vs p: exact seed means (markers), symmetric cubic (lines),
    first-order estimate (dashed); (b) K = 2: exact lambda_-(m) (line) vs the Laplacian
    eigenvalue and the rate fitted to simulated d_min (markers)."""
    fig, axes = new_figure(2, width=3.6)
    ax = axes[0][0]
    p = rates["frustration"].values
    for i, n in enumerate(rates["n_per_class"].values):
        r = rates.sel(n_per_class=n)
        colour = f"C{i}"
        ax.errorbar(p, 1 / r["lambda_mean"], yerr=r["lambda_std"] / r["lambda_mean"] ** 2,
                    fmt="o", ms=3, color=colour, label=f"n={n}: mean slow eigenvalue")
        ax.plot(p, 1 / r["lambda_cubic"], "-", color=colour, label=f"n={n}: symmetric cubic")
        ax.plot(p, 1 / r["lambda_first"], "--", color=colour, lw=1, label=f"n={n}: first order")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())  # label only the simulated p values
    ax.set_xticks(p, [f"{v:g}" for v in p])
    ax.set_xlabel("frustration p")
    ax.set_ylabel(r"$\tau_{collapse} = 1/\lambda_{slow}$")
    ax.set_title(f"(a) K = {int(rates.attrs.get('n_classes', 0))}")
    ax.legend()
    ax = axes[0][1]
    m = two_class["m"].values
    ax.plot(m, two_class["lambda_exact"], "-", color="k", label=r"exact $\lambda_-(n_c, m)$")
    ax.plot(m, two_class["lambda_eig"], "o", ms=5, mfc="none", label="Laplacian eigenvalue")
    ax.plot(m, two_class["lambda_fit"], "x", ms=5, label=r"fit to simulated $d_{\min}$")
    ax.set_xlabel("frustrated samples m")
    ax.set_ylabel(r"$\lambda_{slow}$")
    ax.set_title(f"(b) K = 2, n_c = {int(two_class.attrs.get('n_c', 0))}")
    ax.legend()
    label_figure(fig, title, status=status)
    return fig


def plot_phase_diagram(ds, *, x="frustration", y="n_classes", title="", status="RECONSTRUCTION"):
    """Colour: log10 of d_min(T) / max_t d_min(t) (seed mean of the log); lines: the same ratio
    predicted as exp(-lambda_pred T) at the levels of the colour bar."""
    fig, axes = new_figure(1, width=4.4, height=3.4)
    ax = axes[0][0]
    d = ds["d_min"]
    ratio = np.log10(d.isel(t=-1) / d.max("t"))
    extra = [dim for dim in ratio.dims if dim not in (x, y)]
    ratio = ratio.mean(extra).transpose(y, x)
    T = float(ds["t"].values[-1])
    pred = (-ds["lambda_pred"] * T / np.log(10)).mean([e for e in extra if e in ds["lambda_pred"].dims])
    pred = pred.transpose(y, x)
    xs, ys = ds[x].values, ds[y].values
    levels = [-8, -4, -2, -1, -0.3]
    vmin = max(float(ratio.min()), -12)
    mesh = ax.pcolormesh(np.arange(len(xs)), np.arange(len(ys)), ratio.values, shading="nearest",
                         cmap="viridis", vmin=vmin, vmax=0)
    cs = ax.contour(np.arange(len(xs)), np.arange(len(ys)), pred.values, levels=levels,
                    colors="w", linewidths=1, linestyles="solid")
    ax.clabel(cs, fmt="%g", fontsize=6)
    ax.set_xticks(np.arange(len(xs)), [f"{v:g}" for v in xs], rotation=90)
    ax.set_yticks(np.arange(len(ys)), [f"{v:g}" for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    fig.colorbar(mesh, ax=ax, label=r"$\log_{10}\, d_{\min}(T)/\max_t d_{\min}$"
                 r" (white: $-\lambda_{pred}T/\ln 10$)")
    label_figure(fig, title, status=status)
    return fig
