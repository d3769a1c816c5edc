r"""Solves of the exactly solvable K = 2 reduction of Model B (spec §3.7, RECONSTRUCTION of
arXiv:2604.09979): the SG fixed line, the partial-SG decay and the (rho, Q0) phase plane.

The reduced vector field, its invariant and its fixed points are theory
(:func:`minimal_models.stopgrad.two_class_reduced_rhs`, ``two_class_invariant``,
``two_class_fixed_point``); this module integrates them with SciPy's DOP853 at rtol 1e-11
(three scalar ODEs: a reference solve, not a sweep) and returns ``xarray.Dataset``s.  Used by
figure F6.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from minimal_models import stopgrad as model_b

__all__ = ["solve_two_class", "two_class_fixed_line", "two_class_decay",
           "two_class_phase_plane"]


def solve_two_class(n, m, alpha, start, T, t_eval=None):
    """Integrate (v, u, w) of the K = 2 reduction from ``start`` to time T (DOP853, rtol 1e-11;
    atol 1e-300 so that a collapsing u is followed down to round-off).  Returns SciPy's
    ``OdeResult`` (``.t``, ``.y`` of shape (3, len(t)))."""
    from scipy.integrate import solve_ivp

    return solve_ivp(model_b.two_class_reduced_rhs, (0.0, T), list(start), args=(n, m, alpha),
                     method="DOP853", rtol=1e-11, atol=1e-300, t_eval=t_eval)


def two_class_fixed_line(ms, *, n=1, start=(0.1, 1.0, 1.0), T: float = 80.0) -> xr.Dataset:
    r"""alpha = 1 end points over m: closed form (u*, w*) selected by Q0 = Q(start)
    (``u_closed``, ``w_closed``) beside the ODE state at T (``u_ode``, ``w_ode``)."""
    Q0 = model_b.two_class_invariant(start, n)
    closed = np.array([model_b.two_class_fixed_point(n, m, Q0) for m in ms])
    ode = np.array([solve_two_class(n, m, 1.0, start, T).y[[1, 2], -1] for m in ms])
    return xr.Dataset({"u_closed": ("m", closed[:, 0]), "w_closed": ("m", closed[:, 1]),
                       "u_ode": ("m", ode[:, 0]), "w_ode": ("m", ode[:, 1])},
                      coords={"m": ms}, attrs={"Q0": Q0, "reconstruction": 1})


def two_class_decay(alphas, t, *, n=1, m=0.1, start=(0.1, 1.0, 1.0)) -> xr.Dataset:
    """u(t) of the reduction for each SG strength alpha (partial SG collapses at a rate that
    grows with 1 - alpha)."""
    u = np.array([solve_two_class(n, m, a, start, t[-1], t_eval=t).y[1] for a in alphas])
    return xr.Dataset({"u": (("alpha", "t"), u)}, coords={"alpha": list(alphas), "t": t})


def two_class_phase_plane(rhos, Q0s, *, T: float = 400.0) -> xr.Dataset:
    r"""|u(T)| over (rho, Q0) with full SG (n = 1, m = rho/(1 - rho)), from v = u = a, w = 1 with
    a = sqrt((Q0 + 1/2)/2) so that Q(0) = Q0.  The reduction predicts separation (u(T) > 0)
    iff rho < 1 + 2 Q0."""
    uT = np.zeros((len(rhos), len(Q0s)))
    for i, rho in enumerate(rhos):
        m = rho / (1 - rho)  # n = 1
        for j, q0 in enumerate(Q0s):
            a = np.sqrt((q0 + 0.5) / 2)  # v = u = a, w = 1: Q0 = a^2 + a^2 - 1/2
            uT[i, j] = abs(solve_two_class(1, m, 1.0, (a, a, 1.0), T).y[1, -1])
    return xr.Dataset({"u_T": (("rho", "Q0"), uT)}, coords={"rho": rhos, "Q0": Q0s},
                      attrs={"n": 1, "alpha": 1.0, "T": T, "reconstruction": 1,
                             "description": "K = 2 reduction: |u(T)| over (rho, Q0), SG"})
