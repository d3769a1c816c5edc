"""Figures of the collapse models: trajectories, time scales, phase diagrams (Dataset -> Figure).

No physics is computed here beyond reductions for display (seed means, final/peak ratios).
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullFormatter, NullLocator

from .style import label_figure, new_figure

__all__ = ["plot_trajectories", "plot_collapse_timescales", "plot_phase_diagram",
           "plot_stopgrad_trajectories", "plot_two_class_reduction", "plot_teacher_student",
           "plot_alpha_phase_diagrams", "plot_sg_threshold"]

_LABELS = {
    "acc_all": "nearest-label accuracy",
    "acc_cons": "accuracy (consistent)",
    "loss": "loss $L_A$",
    "d_min": "$d_{\\min}$ (label embeddings)",
    "spread": "label spread tr $G_c$",
}


def _clip_loss_noise(ax, curves):
    """Stop a log loss axis at 1e-16 x max L, about the float64 resolution of the loss, when
    some curve rises while below it: the loss of a gradient flow never rises, so there it is
    numerical noise.  A curve that falls smoothly below the floor (a collapse shrinking every
    term, F3) keeps its axis."""
    values = [np.asarray(c, float) for c in curves]
    floor = 1e-16 * max(float(np.nanmax(v)) for v in values)
    noisy = any(np.any((np.diff(v) > 0) & (v[1:] < floor)) for v in values)
    bottom, top = ax.get_ylim()
    if noisy and bottom < floor:
        ax.set_ylim(floor, top)


def plot_trajectories(ds, *, variables=("acc_all", "loss", "d_min"), hue="frustration",
                      title="", status="RECONSTRUCTION", log_y=("loss", "d_min")):
    """One panel per variable against log t, one line per value of ``hue``.  A log loss axis
    stops at the noise floor 1e-16 x max L where a curve is noise below it (see
    :func:`_clip_loss_noise`)."""
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
        if var == "loss" and var in log_y:
            _clip_loss_noise(ax, [ds[var] if h is None else ds[var].sel({hue: h})
                                  for h in hues])
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
    # below the panel: the six entries are taller than the empty corner under the lines
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncols=2, fontsize=6,
              frameon=False)
    ax = axes[0][1]
    m = two_class["m"].values
    ax.plot(m, two_class["lambda_exact"], "-", color="k", label=r"exact $\lambda_-(n_c, m)$")
    ax.plot(m, two_class["lambda_eig"], "o", ms=5, mfc="none", label="Laplacian eigenvalue")
    ax.plot(m, two_class["lambda_fit"], "x", ms=5, label=r"fit to simulated $d_{\min}$")
    ax.set_xlabel("frustrated samples m")
    ax.set_ylabel(r"$\lambda_{slow}$")
    ax.set_title(f"(b) K = 2, n_c = {int(two_class.attrs.get('n_c', 0))}")
    ax.legend(loc="lower right")  # lambda rises from the lower left: that corner is empty
    label_figure(fig, title, status=status)
    return fig


def _edges(centres, *, log: bool = False) -> np.ndarray:
    """Cell edges around sorted cell centres: midpoints (geometric midpoints on a log axis),
    the outer cells as wide as their neighbours, so a non-uniform grid is drawn where it lies."""
    c = np.log(np.asarray(centres, float)) if log else np.asarray(centres, float)
    if len(c) == 1:
        e = np.array([c[0] - 0.5, c[0] + 0.5]) if not log else c[0] + np.array([-0.5, 0.5])
    else:
        mid = (c[1:] + c[:-1]) / 2
        e = np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])
    return np.exp(e) if log else e


def _numeric_axis(ax, which, values):
    """Scale and ticks of a grid axis drawn at its values: a positive axis spanning a decade or
    more is logarithmic; an integer axis (classes, samples) is ticked at its values; any other
    axis keeps matplotlib's round ticks.  Returns whether the axis is logarithmic."""
    values = np.asarray(values, float)
    log = bool(np.all(values > 0) and values.max() / values.min() >= 10)
    set_scale = ax.set_xscale if which == "x" else ax.set_yscale
    axis = ax.xaxis if which == "x" else ax.yaxis
    set_scale("log" if log else "linear")
    if np.all(values == np.round(values)):
        (ax.set_xticks if which == "x" else ax.set_yticks)(values, [f"{v:g}" for v in values])
        axis.set_minor_locator(NullLocator())
    return log


def plot_phase_diagram(ds, *, x="frustration", y="n_classes", title="", status="RECONSTRUCTION"):
    """Colour: log10 of d_min(T) / max_t d_min(t) (seed mean of the log); lines: the same ratio
    predicted as exp(-lambda_pred T) at the levels of the colour bar.  Both axes are numeric:
    every grid point is drawn at its value."""
    fig, axes = new_figure(1, width=4.4, height=3.4)
    ax = axes[0][0]
    d = ds["d_min"]
    ratio = np.log10(d.isel(t=-1) / d.max("t"))
    extra = [dim for dim in ratio.dims if dim not in (x, y)]
    ratio = ratio.mean(extra).sortby(x).sortby(y).transpose(y, x)
    T = float(ds["t"].values[-1])
    pred = (-ds["lambda_pred"] * T / np.log(10)).mean(
        [e for e in extra if e in ds["lambda_pred"].dims])
    pred = pred.sortby(x).sortby(y).transpose(y, x)
    xs, ys = ratio[x].values.astype(float), ratio[y].values.astype(float)
    log_x, log_y = _numeric_axis(ax, "x", xs), _numeric_axis(ax, "y", ys)
    levels = [-8, -4, -2, -1, -0.3]
    vmin = max(float(ratio.min()), -12)
    mesh = ax.pcolormesh(_edges(xs, log=log_x), _edges(ys, log=log_y), ratio.values,
                         shading="flat", cmap="viridis", vmin=vmin, vmax=0)
    cs = ax.contour(xs, ys, pred.values, levels=levels, colors="w", linewidths=1,
                    linestyles="solid")
    ax.clabel(cs, fmt="%g", fontsize=6)
    ax.set_xlabel("frustration p" if x == "frustration" else x)
    ax.set_ylabel({"n_classes": "classes K", "n_per_class": "samples per class n"}.get(y, y))
    ax.grid(False)
    fig.colorbar(mesh, ax=ax, label=r"$\log_{10}\, d_{\min}(T)/\max_t d_{\min}$"
                 r" (white: $-\lambda_{pred}T/\ln 10$)")
    label_figure(fig, title, status=status)
    return fig


def _log_ratio(d_min):
    """log10 d_min(T) / max_t d_min(t) (0: no collapse), clipped at -12 for display."""
    return np.clip(np.log10(d_min.isel(t=-1) / d_min.max("t")), -12, 0)


def plot_stopgrad_trajectories(ds, *, title="", status="RECONSTRUCTION"):
    """Model B: d_min(t), head-space acc_cons(t) and max|Q(t) - Q(0)| against log t; colour:
    frustration p; solid: alpha = 1 (SG), dashed: alpha = 0 (no SG)."""
    fig, axes = new_figure(3, width=3.3)
    t = ds["t"].values
    keep = t > 0
    styles = {1.0: "-", 0.0: "--"}
    for j, var in enumerate(("d_min", "acc_cons", "Q_drift")):
        ax = axes[0][j]
        for i, p in enumerate(ds["frustration"].values):
            for a in ds["alpha"].values:
                y = ds[var].sel(frustration=p, alpha=a).values[keep]
                if var == "Q_drift":
                    y = np.maximum(y, 1e-16)
                ax.plot(t[keep], y, styles.get(float(a), ":"), color=f"C{i}",
                        label=f"p={p:g}, alpha={a:g}")
        ax.set_xscale("log")
        if var != "acc_cons":
            ax.set_yscale("log")
        ax.set_xlabel("t")
        ax.set_ylabel({"d_min": _LABELS["d_min"], "acc_cons": "head-space acc (consistent)",
                       "Q_drift": r"max $|Q(t) - Q(0)|$"}[var])
    axes[0][0].legend(fontsize=5)
    label_figure(fig, title, status=status)
    return fig


def plot_two_class_reduction(fixed, decay, phase, *, title="", status="RECONSTRUCTION"):
    """K = 2 reduction: (a) u*(m), w*(m) closed form (lines) vs ODE end points (markers);
    (b) u(t) for several alpha (log y, down to the float64 resolution of the state); (c)
    simulated u(T) over (rho, Q0) with the threshold rho = 1 + 2 Q0."""
    fig, axes = new_figure(3, width=3.3)
    ax = axes[0][0]
    m = fixed["m"].values
    ax.plot(m, fixed["u_closed"], "-", color="C0", label=r"$u^*$ closed form")
    ax.plot(m, fixed["w_closed"], "-", color="C1", label=r"$w^*$ closed form")
    ax.plot(m, fixed["u_ode"], "o", ms=3, color="C0", mfc="none", label="u(T) ODE")
    ax.plot(m, fixed["w_ode"], "s", ms=3, color="C1", mfc="none", label="w(T) ODE")
    ax.set_xlabel("frustrated weight m")
    ax.set_title("(a) SG fixed point, n = 1, Q0 = 0.51")
    ax.legend()
    ax = axes[0][1]
    u = decay["u"]
    # float64 resolves u only to ~eps times the state's scale (v, w ~ 1 here): the axis stops at
    # that floor instead of following the exact decay down to 1e-130
    floor = np.finfo(np.float64).eps * max(float(np.abs(u).max()), 1.0)
    for i, a in enumerate(decay["alpha"].values):
        ax.plot(decay["t"], u.sel(alpha=a), color=f"C{i}", label=f"alpha={a:g}")
    ax.axhline(floor, color="0.5", ls=":", lw=1, label="float64 resolution")
    ax.set_yscale("log")
    ax.set_ylim(floor / 10, 10 * float(np.abs(u).max()))
    ax.set_xlabel("t")
    ax.set_ylabel("u(t)")
    ax.set_title("(b) m = 0.1")
    # below the panel: the curves fill it from u(0) down to the floor, so a legend inside
    # would cover some of them
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncols=3, fontsize=6,
              frameon=False)
    ax = axes[0][2]
    rho, Q0 = phase["rho"].values, phase["Q0"].values
    mesh = ax.pcolormesh(rho, Q0, phase["u_T"].transpose("Q0", "rho").values, shading="nearest",
                         cmap="viridis")
    ax.plot(rho, (rho - 1) / 2, "w-", lw=1.5)
    ax.set_xlabel(r"$\rho = m/(n+m)$")
    ax.set_ylabel(r"$Q_0$")
    ax.set_title(r"(c) separated iff $\rho < 1 + 2Q_0$ (white line)")
    ax.grid(False)
    fig.colorbar(mesh, ax=ax, label="u(T) (SG)")
    label_figure(fig, title, status=status)
    return fig


def plot_teacher_student(ds, *, title="", status="RECONSTRUCTION"):
    """Model C: d_min(t) and accuracy against the true class; colour: p; line style: student
    (plain solid, SG head dashed, head without SG dotted)."""
    fig, axes = new_figure(2, width=3.6)
    t = ds["t"].values
    keep = t > 0
    students = [("plain", 1.0, "-", "plain"), ("head", 1.0, "--", "SG head"),
                ("head", 0.0, ":", "head, no SG")]
    for j, var in enumerate(("d_min", "acc_true")):
        ax = axes[0][j]
        for i, p in enumerate(ds["frustration"].values):
            for student, a, style, name in students:
                y = ds[var].sel(frustration=p, student=student, alpha=a).values[keep]
                ax.plot(t[keep], y, style, color=f"C{i}", label=f"p={p:g}, {name}")
        ax.set_xscale("log")
        if var == "d_min":
            ax.set_yscale("log")
        ax.set_xlabel("t")
        ax.set_ylabel({"d_min": _LABELS["d_min"], "acc_true": "accuracy vs true class"}[var])
    axes[0][0].legend(fontsize=5)
    label_figure(fig, title, status=status)
    return fig


def _alpha_panel(ax, ratio, title, *, vmin=-12):
    """log10 collapse ratio over (p, 1 - alpha): p linear, 1 - alpha logarithmic, every grid
    point drawn at its value.  Exact SG (alpha = 1, 1 - alpha = 0) has no place on a log axis:
    it is drawn as its own row below the smallest 1 - alpha, across a blank break."""
    ratio = ratio.sortby("frustration")
    ps = ratio["frustration"].values.astype(float)
    gaps = 1.0 - ratio["alpha"].values.astype(float)
    x_edges = _edges(ps)
    positive = gaps > 0
    order = np.argsort(gaps[positive])
    g = gaps[positive][order]
    values = ratio.transpose("alpha", "frustration").values
    mesh = None
    ticks, labels = [], []
    if len(g):
        y_edges = _edges(g, log=True)
        mesh = ax.pcolormesh(x_edges, y_edges, values[positive][order], shading="flat",
                             cmap="viridis", vmin=vmin, vmax=0)
        low, high = np.ceil(np.log10(y_edges[0])), np.floor(np.log10(y_edges[-1]))
        ticks = [10.0**k for k in np.arange(low, high + 1)]
        labels = [f"$10^{{{int(k)}}}$" for k in np.arange(low, high + 1)]
        bottom = y_edges[0]
    else:
        bottom = 1.0
    if (~positive).any():  # exact SG: a row of its own, 0.2 decade below a blank break
        sg = np.array([bottom / 10**0.7, bottom / 10**0.2])
        mesh = ax.pcolormesh(x_edges, sg, values[~positive][:1], shading="flat",
                             cmap="viridis", vmin=vmin, vmax=0)
        ticks.insert(0, float(np.sqrt(sg[0] * sg[1])))
        labels.insert(0, "exact SG")
    ax.set_yscale("log")
    ax.set_yticks(ticks, labels)
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xlim(x_edges[0], x_edges[-1])
    ax.grid(False)
    ax.set_xlabel("frustration p")
    ax.set_ylabel(r"$1 - \alpha$")
    ax.set_title(title)
    return mesh


def plot_alpha_phase_diagrams(full, meanfield, *, title="", status="RECONSTRUCTION"):
    """Model B phase diagram over (p, 1 - alpha): colour log10 d_min(T)/max_t d_min for the
    full model (left) and the type closure (right); p on a linear axis, 1 - alpha on a log
    axis with exact SG (alpha = 1) as its own bottom row."""
    fig, axes = new_figure(2, width=3.9, height=3.2)
    _alpha_panel(axes[0][0], _log_ratio(full["d_min"]), "full Model B")
    mesh = _alpha_panel(axes[0][1], _log_ratio(meanfield["d_min"]), "mean-field closure")
    fig.colorbar(mesh, ax=axes[0][1], label=r"$\log_{10} d_{\min}(T)/\max_t d_{\min}$")
    label_figure(fig, title, status=status)
    return fig


def _q0_axis(ax):
    """Q0 >= -1/2 on a scale logarithmic in Q0 + 1/2 (the sweep's geometric initial scales
    set Q0 + 1/2 ~ s^2, so the points spread evenly), ticked in Q0 itself; call it after
    plotting."""
    ax.set_yscale("function", functions=(lambda v: np.log(np.maximum(v + 0.5, 1e-300)),
                                         lambda z: np.exp(z) - 0.5))
    ax.set_ylim(*ax.get_ylim())  # autoscaled in the new scale; ticks must not widen it
    lo, hi = ax.get_ylim()
    ticks = [m * 10.0**k - 0.5 for k in range(-4, 2) for m in (1, 2, 5)
             if lo <= m * 10.0**k - 0.5 <= hi]
    ax.set_yticks(ticks, [f"{v:g}" for v in ticks])
    ax.yaxis.set_minor_locator(NullLocator())


def plot_sg_threshold(ds, *, title="", status="RECONSTRUCTION"):
    """SG threshold in the full Model B: one panel per K; markers at (rho, Q0) coloured by
    log10 d_min(T)/max_t d_min; line: the K = 2 prediction rho = 1 + 2 Q0.  K = 2 adds the
    fitted boundary (``boundary_fit``, zero of d_min(T)^2 against Q0), K > 2 the grid bracket
    of the boundary (``boundary_lo`` to ``boundary_hi``).  The Q0 axis is logarithmic in
    Q0 + 1/2; the legends sit below the panels."""
    Ks = ds["n_classes"].values
    fig, axes = new_figure(len(Ks), width=3.6, height=3.6)
    ratio = _log_ratio(ds["d_min"])
    for ax, K in zip(axes[0], Ks):
        r = ratio.sel(n_classes=K)
        rho, Q0 = ds["rho"].sel(n_classes=K), ds["Q0"].sel(n_classes=K)
        sc = ax.scatter(rho.values.ravel(), Q0.values.ravel(), c=r.values.ravel(), s=18,
                        cmap="viridis", vmin=-12, vmax=0)
        # one rho per frustration (it does not depend on the initial scale)
        rho_p = rho.isel(init_scale=0).values
        # the line Q0 = (rho - 1)/2 meets Q0 = -1/2 at rho = 0, off a log axis: start it inside
        grid = np.linspace(0.5 * float(rho.min()), 1.05 * float(rho.max()), 50)
        ax.plot(grid, (grid - 1) / 2, "k-", lw=1, label=r"K = 2 theory: $\rho = 1 + 2Q_0$")
        if int(K) == 2 and "boundary_fit" in ds:
            fit = ds["boundary_fit"].sel(n_classes=K).values
            ax.plot(rho_p, fit, "*--", color="C1", ms=8, lw=0.8,
                    label=r"fitted boundary (zero of $d_{\min}(T)^2$ vs $Q_0$)")
        elif int(K) != 2 and "boundary_lo" in ds:
            lo = ds["boundary_lo"].sel(n_classes=K).values
            hi = ds["boundary_hi"].sel(n_classes=K).values
            keep = np.isfinite(lo) & np.isfinite(hi)
            bottom, top = np.minimum(lo, hi)[keep], np.maximum(lo, hi)[keep]
            # beside the markers of the same rho, so neither hides the other
            dx = 0.025 * (float(rho.max()) - float(rho.min()))
            ax.errorbar(rho_p[keep] + dx, bottom, yerr=[np.zeros(keep.sum()), top - bottom],
                        fmt="none", ecolor="C1", elinewidth=1.5, capsize=3,
                        label="boundary bracket: last collapsed to first separated $Q_0$")
        _q0_axis(ax)
        ax.set_xlabel(r"frustrated link share $\rho$")
        ax.set_ylabel(r"$Q_0$ (class-difference subspace)")
        ax.set_title(f"K = {int(K)}" + (" (spec §3.7 reduction)" if int(K) == 2
                                         else " (beyond the paper)"))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=6, frameon=False)
    fig.colorbar(sc, ax=axes[0][-1], label=r"$\log_{10} d_{\min}(T)/\max_t d_{\min}$")
    label_figure(fig, title, status=status)
    return fig
