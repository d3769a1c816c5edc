r"""Collapse rates of Model A over a parameter grid: the exact slow eigenvalues beside their
predictions (spec §2.6, RECONSTRUCTION of arXiv:2604.09979), and the K = 2 rate measured on
the closed-form trajectory.

These are array analyses of the theory (closed forms and spectra of
:mod:`minimal_models.frustration`); no solver runs here.  Used by figure F4.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from minimal_models import coupling
from minimal_models import frustration as model_a

from .collapse import d_min
from .timescales import fit_decay_rate

__all__ = ["rate_dataset", "two_class_coupling", "two_class_dataset"]


def rate_dataset(ps, ns, seeds, K: int = 4) -> xr.Dataset:
    r"""Slow collapse rates of hard two-label frustration over (n_per_class, frustration).

    ``lambda_mean`` / ``lambda_std``: mean / sd over ``seeds`` of the mean of the K - 1 slow
    eigenvalues of the generator (exact, spec §2.6(d)); ``lambda_cubic``: the symmetric cubic
    root (spec §2.6(e)); ``lambda_first``: the first-order estimate, both at the effective
    frustration ``frustration_eff`` = round(p n)/n the coupling draws.  RECONSTRUCTION.
    """
    lam = np.array([[[model_a.slow_eigenvalues(coupling.coupling_matrix(K, n, p, seed=s)).mean()
                      for s in seeds] for p in ps] for n in ns])
    # the coupling draws round(p n) frustrated samples per class: predict at that share
    p_eff = np.array([[coupling.effective_frustration(n, p) for p in ps] for n in ns])
    cubic = np.array([[model_a.symmetric_cubic_slow_rate(K, n, pe) for pe in row]
                      for n, row in zip(ns, p_eff)])
    first = np.array([[model_a.first_order_slow_rate(K, n, pe) for pe in row]
                      for n, row in zip(ns, p_eff)])
    dims = ("n_per_class", "frustration")
    return xr.Dataset(
        {"lambda_mean": (dims, lam.mean(-1)), "lambda_std": (dims, lam.std(-1)),
         "lambda_cubic": (dims, cubic), "lambda_first": (dims, first),
         "frustration_eff": (dims, p_eff, {"description": "effective frustration round(p n)/n "
                                                          "at which the predictions are taken"})},
        coords={"n_per_class": list(ns), "frustration": list(ps)},
        attrs={"n_classes": K, "seeds": len(seeds), "reconstruction": 1})


def two_class_coupling(n_c: int, m: int) -> np.ndarray:
    """K = 2 coupling: n_c consistent samples per class, then m samples linked to both labels
    (spec §2.6, the exactly solvable case)."""
    A = np.zeros((2 * n_c + m, 2))
    A[:n_c, 0] = A[n_c:2 * n_c, 1] = 1.0
    A[2 * n_c:] = 1.0
    return A


def two_class_dataset(n_c: int, ms, dim: int = 8) -> xr.Dataset:
    r"""K = 2 rates over the number m of doubly linked samples: ``lambda_exact`` (lambda_-,
    closed form), ``lambda_eig`` (the generator's Laplacian eigenvalue) and ``lambda_fit`` (a
    decay fit of d_min on the closed-form trajectory, over a late window placed by the
    first-order estimate m/(n_c + m + 1), not by the exact rate).  RECONSTRUCTION."""
    exact, eig, fit = [], [], []
    rng = np.random.default_rng(0)
    for m in ms:
        estimate = m / (n_c + m + 1)
        times = np.linspace(4.0 / estimate, 12.0 / estimate, 25)
        A = two_class_coupling(n_c, m)
        exact.append(model_a.two_class_slow_rate(n_c, m))
        eig.append(model_a.generator_spectrum(A)[1])
        mu = rng.standard_normal((2, dim))
        X0 = np.concatenate([mu[0] + 0.3 * rng.standard_normal((n_c, dim)),
                             mu[1] + 0.3 * rng.standard_normal((n_c, dim)),
                             mu[0] + 0.3 * rng.standard_normal((m, dim))])
        Z0 = np.concatenate([X0, 0.1 * rng.standard_normal((2, dim))])
        Z = model_a.closed_form(A, Z0, times)
        fit.append(fit_decay_rate(times, np.asarray(d_min(Z[:, -2:])))["rate"])
    return xr.Dataset({"lambda_exact": ("m", exact), "lambda_eig": ("m", eig),
                       "lambda_fit": ("m", fit)}, coords={"m": list(ms)},
                      attrs={"n_c": n_c, "reconstruction": 1})
