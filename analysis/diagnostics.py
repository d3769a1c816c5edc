"""Distribution-level diagnostics of predicted states (spec hamiltonian_geometry §3.2)."""

from __future__ import annotations

import numpy as np

__all__ = ["sliced_w1_profile", "whiten_by_reference"]


def whiten_by_reference(Z, Z_ref):
    """Centre by the reference mean and multiply by the inverse symmetric square root of the
    reference covariance, so every cloud is measured in the reference's units."""
    Z, Z_ref = np.asarray(Z, dtype=np.float64), np.asarray(Z_ref, dtype=np.float64)
    lam, U = np.linalg.eigh(np.cov(Z_ref.T))
    inv_sqrt = (U / np.sqrt(lam)) @ U.T
    return (Z - Z_ref.mean(axis=0)) @ inv_sqrt


def sliced_w1_profile(Z_model, Z_ref, thetas) -> dict:
    r"""The paper's Cramer-Wold diagnostic (Figs. 7-9, CONFIRMED):

        g(theta) = W1(<u(theta), Z_model>, <u(theta), Z_ref>),   u(theta) = (cos theta, sin theta),

    with W1 between equal-size samples = mean |sorted(a) - sorted(b)|.  Returns the profile
    ``g`` and its ``mean`` and ``max`` over ``thetas``.
    """
    Z_model, Z_ref = np.asarray(Z_model), np.asarray(Z_ref)
    if Z_model.shape != Z_ref.shape or Z_model.ndim != 2 or Z_model.shape[1] != 2:
        raise ValueError(f"Z_model and Z_ref must both have shape (n, 2), got {Z_model.shape} "
                         f"and {Z_ref.shape}")
    thetas = np.asarray(thetas, dtype=np.float64)
    U = np.stack([np.cos(thetas), np.sin(thetas)])  # (2, n_theta)
    a, b = np.sort(Z_model @ U, axis=0), np.sort(Z_ref @ U, axis=0)
    g = np.mean(np.abs(a - b), axis=0)
    return {"g": g, "mean": float(g.mean()), "max": float(g.max())}
