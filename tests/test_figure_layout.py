"""Layout of the F2, F4, PD_threshold and HG_pendulum figures: legends off the data, the loss
axis stopped at its noise floor, the SG-threshold panels showing every point, the boundary fit
and the K = 4 brackets."""

import os

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from figures.collapse import plot_collapse_timescales, plot_sg_threshold, plot_trajectories
from figures.hamiltonian import plot_pendulum

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _below_axes(fig, ax):
    """Whether the axes' legend lies wholly below the axes' frame (in display pixels)."""
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    return legend.y1 <= ax.get_window_extent().y0


def _loss_dataset(tail):
    t = np.concatenate([[0.0], np.geomspace(1e-3, 100, 60)])
    loss = 1e3 * np.exp(-2 * t)
    loss[t > 20] = tail(t[t > 20])
    ones = np.ones_like(t)
    return xr.Dataset({"loss": ("t", loss), "acc_all": ("t", ones), "d_min": ("t", ones)},
                      coords={"t": t})


def test_loss_axis_stops_at_the_floor_where_the_loss_is_noise():
    """Noise (a loss that rises below 1e-16 L(0)) is cut off; a loss that keeps falling
    smoothly below the floor keeps its axis."""
    rng = np.random.default_rng(0)
    noisy = _loss_dataset(lambda t: 10.0 ** rng.uniform(-23, -17, t.size))
    fig = plot_trajectories(noisy, hue=None)
    assert fig.axes[1].get_ylim()[0] == pytest.approx(1e-13, rel=1e-9, abs=0)
    plt.close(fig)
    smooth = _loss_dataset(lambda t: 1e3 * np.exp(-2 * t))
    fig = plot_trajectories(smooth, hue=None)
    assert fig.axes[1].get_ylim()[0] < 1e-30
    plt.close(fig)


def _threshold_dataset():
    """Two K, three rho, six Q0 with collapse below the K = 2 line; boundary variables as
    sg_threshold writes them (K = 4 has one rho without a bracket)."""
    Q0 = np.array([-0.49, -0.45, -0.4, -0.3, 0.36, 1.31])
    rho = np.array([0.11, 0.27, 0.46])
    sep = (1 + 2 * Q0[None, :] - rho[:, None]) > 0
    d_T = np.where(sep, 1.0, 1e-14)
    d = np.stack([np.ones_like(d_T), d_T], axis=-1)
    dims = ("n_classes", "frustration", "init_scale")
    both = lambda a: np.stack([a, a])  # noqa: E731
    line = (rho - 1) / 2
    return xr.Dataset(
        {"d_min": (dims + ("t",), both(d)), "Q0": (dims, both(np.tile(Q0, (3, 1)))),
         "rho": (dims, both(np.tile(rho[:, None], (1, 6)))),
         "boundary_fit": (dims[:2], np.stack([line + 0.01, line - 0.1])),
         "boundary_lo": (dims[:2], np.array([[-0.45, -0.4, -0.3], [-0.49, -0.45, np.nan]])),
         "boundary_hi": (dims[:2], np.array([[-0.4, -0.3, 0.36], [-0.45, -0.4, np.nan]]))},
        coords={"n_classes": [2, 4], "frustration": [0.05, 0.15, 0.3],
                "init_scale": np.arange(6), "t": [0.0, 1000.0]})


def test_sg_threshold_shows_every_point_the_fit_and_the_brackets_with_legends_outside():
    ds = _threshold_dataset()
    fig = plot_sg_threshold(ds, title="test")
    k2, k4 = fig.axes[0], fig.axes[1]
    for ax in (k2, k4):
        low, high = ax.get_ylim()
        assert low < ds["Q0"].min() and ds["Q0"].max() < high
        assert _below_axes(fig, ax)
    fits = [line for line in k2.get_lines() if len(line.get_ydata()) == 3
            and np.allclose(line.get_ydata(), ds["boundary_fit"].sel(n_classes=2))]
    assert len(fits) == 1
    assert not any(np.allclose(line.get_ydata(), ds["boundary_fit"].sel(n_classes=4))
                   for line in k4.get_lines() if len(line.get_ydata()) == 3)
    # the bracket: one vertical segment per rho with both ends, from lo to hi
    segments = [s for c in k4.collections for s in getattr(c, "get_segments", list)()]
    spans = sorted((round(s[0][1], 6), round(s[1][1], 6)) for s in segments if len(s) == 2)
    assert spans == [(-0.49, -0.45), (-0.45, -0.4)]
    plt.close(fig)


def test_f4_timescale_legend_sits_below_panel_a():
    p = np.array([0.02, 0.1, 0.3])
    lam = xr.DataArray(np.outer([1.0, 1.1], 1 / (40 * p)), dims=("n_per_class", "frustration"))
    rates = xr.Dataset({"lambda_mean": lam, "lambda_std": 0.01 * lam, "lambda_cubic": lam,
                        "lambda_first": 1.05 * lam},
                       coords={"n_per_class": [50, 200], "frustration": p},
                       attrs={"n_classes": 4})
    m = np.array([1.0, 5.0, 30.0])
    two = xr.Dataset({k: ("m", np.sqrt(m) / 15) for k in ("lambda_exact", "lambda_eig",
                                                          "lambda_fit")},
                     coords={"m": m}, attrs={"n_c": 50})
    fig = plot_collapse_timescales(rates, two)
    assert _below_axes(fig, fig.axes[0])
    plt.close(fig)


def test_pendulum_legends_sit_below_panels_c_and_d():
    ds = xr.load_dataset(os.path.join(ROOT, "paper_repro", "results", "full", "HG_pendulum",
                                      "HG_pendulum.nc"))
    fig = plot_pendulum(ds)
    panels = [ax for ax in fig.axes if ax.get_legend() is not None]
    assert len(panels) == 2
    assert all(_below_axes(fig, ax) for ax in panels)
    plt.close(fig)
