"""Figures of the Hamiltonian-geometry paper (arXiv:2605.20107): Dataset -> Figure.

Nothing here computes physics; the figure configs of :mod:`paper_repro.hamiltonian` (with the
experiments of :mod:`simulations.experiments.symplectic_toys`) run the models and hand over
``xarray.Dataset``s whose variables and attrs say what each curve is and whether it is
CONFIRMED (the paper or the author's code), DERIVED or our RECONSTRUCTION.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullFormatter

from .style import label_figure, new_figure

__all__ = ["plot_price", "plot_integrators", "plot_risk", "plot_pendulum"]


def plot_price(ds, *, status="RECONSTRUCTION"):
    """(a) rho(H) of random spectra (markers: max over draws) under the envelope
    d kappa/(kappa + d - 1), one colour per d; (b) the misalignment ratio along the worst-case
    family H_eps against its closed form d(1 + eps)/(1 + d eps)."""
    fig, axes = new_figure(2, width=3.6)
    ax = axes[0][0]
    kappa = ds["kappa"].values
    for i, d in enumerate(ds["d"].values):
        ax.plot(kappa, ds["envelope"].sel(d=d), "-", color=f"C{i}",
                label=f"d={d}: d k/(k+d-1)")
        ax.plot(kappa, ds["sampled_max"].sel(d=d), ".", color=f"C{i}", ms=3)
    ax.set_xscale("log")
    ax.set_xlabel(r"condition number $\kappa(H)$")
    ax.set_ylabel(r"price of isotropy $\rho(H)$")
    ax.set_title("Thm 3.4 (CONFIRMED); envelope DERIVED")
    ax.legend()
    ax = axes[0][1]
    eps = ds["eps"].values
    ax.plot(eps, ds["misalignment"], "o", ms=3, label=r"$\rho(H_\epsilon;\Sigma_0)$")
    ax.plot(eps, ds["misalignment_closed_form"], "-", label=r"$d(1+\epsilon)/(1+d\epsilon)$")
    ax.axhline(ds.attrs["d_misalignment"], color="k", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel(r"$\epsilon$")
    ax.set_ylabel("misalignment ratio")
    ax.set_title("fixed-shape misalignment (RECONSTRUCTION)")
    ax.legend()
    label_figure(fig, "Price of isotropy and fixed-shape misalignment", status=status)
    return fig


def plot_integrators(ds, *, status="RECONSTRUCTION"):
    """(a) sliced-W1 profiles g(theta) of the Figs. 7-9 toy, with the paper's mean values as
    reference lines; (b) peak-to-peak error of H and of the shadow Hamiltonian against h."""
    fig, axes = new_figure(2, width=3.6)
    ax = axes[0][0]
    theta = ds["theta"].values
    for i, scheme in enumerate(ds["scheme"].values):
        g = ds["g"].sel(scheme=scheme)
        ax.plot(theta, g, color=f"C{i}", label=f"{scheme}: mean {float(g.mean()):.4g}")
        ax.axhline(float(ds["paper_mean"].sel(scheme=scheme)), color=f"C{i}", lw=0.8, ls=":")
    ax.plot([], [], "k:", lw=0.8, label="paper's mean g (Figs. 7-9)")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\theta$")
    ax.set_ylabel(r"sliced $W_1$, $g(\theta)$")
    ax.set_title(f"toy RECONSTRUCTION, n = {ds.attrs['n_samples']}, seed {ds.attrs['seed']}")
    ax.legend()
    ax = axes[0][1]
    h = ds["h"].values
    ax.loglog(h, ds["ptp_H"], "o-", label=f"H: slope {ds.attrs['slope_H']:.2f}")
    ax.loglog(h, ds["ptp_shadow"], "s-", label=f"shadow H~: slope {ds.attrs['slope_shadow']:.2f}")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(h, [f"{v:g}" for v in h])
    ax.set_xlabel(f"step h (pendulum KDK, T = {ds.attrs['T_shadow']:g})")
    ax.set_ylabel("peak-to-peak energy error")
    ax.set_title("Thm 4.8 (CONFIRMED); h^2 terms DERIVED")
    ax.legend()
    label_figure(fig, "Leapfrog vs Euler: Cramer-Wold toy and shadow Hamiltonian",
                 status=status)
    return fig


def plot_risk(ds, *, status="RECONSTRUCTION"):
    """(a) best-predictor risk over random contractions K at fixed marginals, the line C = a
    Sigma and Monte-Carlo points; (b) the quadratic lift's flow: closed-form risk, Monte-Carlo
    risk and the marginal budget."""
    fig, axes = new_figure(2, width=3.6)
    ax = axes[0][0]
    ax.plot(ds["contraction_size"], ds["contraction_risk"], ".", ms=2, alpha=0.5, color="C6",
            label=r"random $\|K\|_{op}\leq 1$")
    a2 = ds["a"].values ** 2
    ax.plot(a2, 1 - a2, "-", color="C0", label=r"$C = a\Sigma$: $1-a^2$")
    ax.plot(ds["mc_size"], ds["mc_risk"], "o", mfc="none", color="C1",
            label=f"Monte Carlo, n = {ds.attrs['n_samples']}")
    ax.set_xlabel(r"$\|K\|_F^2/d$,  $C = \Sigma^{1/2}K\Sigma^{1/2}$")
    ax.set_ylabel(r"$R^*(C)/\mathrm{tr}\,\Sigma$")
    ax.set_title(r"same marginals $N(0,\Sigma)$, risk spans $[0, \mathrm{tr}\,\Sigma]$")
    ax.legend()
    ax = axes[0][1]
    ax.plot(ds["t"], ds["lift_risk_closed_form"], "-",
            label=r"$R^*(t)/\mathrm{tr}\,\Sigma^*$ (closed form)")
    ax.plot(ds["t_mc"], ds["lift_risk_mc"], "o", mfc="none", label="Monte Carlo risk")
    ax.plot(ds["t_mc"], ds["lift_budget_mc"], "s", ms=3,
            label=r"$E[q_t^T H q_t]/c$ (marginal budget)")
    ax.set_xlabel("flow time t")
    ax.set_ylabel("normalised value")
    ax.set_ylim(-0.03, 1.75)
    ax.set_title(r"quadratic lift: $\pi_H$ invariant, coupling $\cos(\Omega t)\Sigma^*$")
    ax.legend(loc="upper center")
    label_figure(fig, "Coupling non-identifiability at fixed marginals", status=status)
    return fig


def plot_pendulum(ds, *, status="CONFIRMED"):
    """The author's physics showcase: (top) relative energy drift over the phase plane for each
    scheme on a shared SymLog scale, masked points black; (bottom left) median and interquartile
    band of the relative energy over time; (bottom right) the square blob and its images, with
    the grid-area ratio and the momentum-flip return error in the legend.  The bottom panels'
    legends sit below them (the curves fill both panels)."""
    import matplotlib
    import matplotlib.colors as mcolors

    fig, axes = new_figure(2, 2, width=3.6, height=2.9)
    schemes = list(ds["scheme"].values)
    drift = ds["drift"]
    finite = np.abs(drift.values[np.isfinite(drift.values)])
    vmax = max(float(np.quantile(finite, 0.995)) if finite.size else 1.0, 1e-3)
    norm = mcolors.SymLogNorm(linthresh=ds.attrs["heatmap_linthresh"], vmin=-vmax, vmax=vmax,
                              base=10)
    # masked points black: white would be confused with the neutral zero drift
    cmap = matplotlib.colormaps["coolwarm"].with_extremes(bad="black")
    for ax, scheme in zip(axes[0], schemes):
        image = ax.pcolormesh(ds["q0"], ds["p0"], drift.sel(scheme=scheme).transpose("p0", "q0"),
                              norm=norm, cmap=cmap, shading="auto", rasterized=True)
        ax.set_title(f"{scheme}: relative energy drift")
        ax.set_xlabel(r"$q_0$")
        ax.set_ylabel(r"$p_0$")
        ax.grid(False)
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8,
                 label=ds.attrs["heatmap_label"])

    ax = axes[1][0]
    for i, scheme in enumerate(schemes):
        band = ds["energy_quantiles"].sel(scheme=scheme)
        ax.fill_between(ds["time"], band.sel(quantile=0.25), band.sel(quantile=0.75),
                        color=f"C{i}", alpha=0.25, lw=0)
        ax.plot(ds["time"], band.sel(quantile=0.5), color=f"C{i}",
                label=f"{scheme} (median, 25-75%)")
    ax.set_yscale("symlog", linthresh=1e-4)
    ax.set_xlabel("time")
    ax.set_ylabel(ds.attrs["energy_label"])
    # below the panel: the two bands fill it from the first step to the last
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=6, frameon=False)

    ax = axes[1][1]
    ax.fill(ds["blob_q"].sel(scheme=schemes[0]).isel(time_index=0),
            ds["blob_p"].sel(scheme=schemes[0]).isel(time_index=0), color="0.6", alpha=0.6,
            label="t = 0")
    for i, scheme in enumerate(schemes):
        ax.plot(ds["blob_q"].sel(scheme=scheme).isel(time_index=-1),
                ds["blob_p"].sel(scheme=scheme).isel(time_index=-1), "-", lw=0.8,
                color=f"C{i}",
                label=f"{scheme}: area x{float(ds['area_ratio'].sel(scheme=scheme)):.4g}, "
                      f"flip error {float(ds['flip_error'].sel(scheme=scheme)):.2g}")
    ax.set_xlabel("q")
    ax.set_ylabel("p")
    ax.set_title(f"phase-space blob after T = {ds.attrs['T']:g}")
    # below the panel: the Euler image winds round the whole panel
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=6, frameon=False)
    label_figure(fig, ds.attrs["title"], status=status)
    return fig
