"""Distribution-level diagnostics of predicted states (spec hamiltonian_geometry §3.2)."""

from __future__ import annotations

import numpy as np

from minimal_models import validation as check

__all__ = ["convergence_order", "rollout_covariance_stats", "sliced_w1_profile",
           "whiten_by_reference"]


def whiten_by_reference(Z, Z_ref):
    """Centre by the reference mean and multiply by the inverse symmetric square root of the
    reference covariance, so every cloud is measured in the reference's units (the whitening of
    the Figs. 7-9 toy, our RECONSTRUCTION, spec §3.2)."""
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


def rollout_covariance_stats(states) -> dict:
    """Trace, log-determinant and smallest eigenvalue of the state cloud's covariance at every
    step of a rollout (spec §3.2): a volume-preserving predictor keeps log det constant for a
    linear map, so a falling log det or lambda_min locates collapse in the encoder (Prop 4.16).

    ``states`` has shape (n_steps, n_samples, dim); returns arrays of length n_steps.
    """
    states = np.asarray(states, dtype=np.float64)
    if states.ndim != 3 or states.shape[1] < 2:
        raise ValueError(f"states must have shape (n_steps, n_samples >= 2, dim), "
                         f"got {states.shape}")
    centred = states - states.mean(axis=1, keepdims=True)
    cov = np.einsum("tni,tnj->tij", centred, centred) / (states.shape[1] - 1)
    lam = np.linalg.eigvalsh(cov)
    return {"trace": lam.sum(axis=1), "logdet": np.linalg.slogdet(cov)[1],
            "lambda_min": lam[:, 0]}


def convergence_order(steps, errors) -> float:
    """Observed order p of a method whose error behaves as C h^p: the least-squares slope of
    log(error) against log(step).  Used to check Prop 4.6 (leapfrog: p = 2 in dt, p = 1 in the
    force error) and the shadow-Hamiltonian scaling."""
    h = check.finite_array("steps", steps, ndim=1)
    e = check.finite_array("errors", errors, shape=h.shape)
    if h.size < 2 or np.any(h <= 0) or np.any(e <= 0):
        raise ValueError("steps and errors need >= 2 entries, all > 0 (a log-log fit)")
    return float(np.polyfit(np.log(h), np.log(e), 1)[0])
