r"""Monte Carlo experiments on the predictive risk of coupled views with fixed marginals
(arXiv:2605.20107; RECONSTRUCTION of the v1-abstract non-identifiability, spec T9 / §2.9).

The closed forms are theory (:func:`minimal_models.hamiltonian_geometry.optimal_predictive_risk`,
``coupling_from_contraction``, ``sample_coupled_views``, ``gibbs_lift_sample``;
:func:`minimal_models.symplectic.quadratic_exact_flow`); this module draws couplings and
samples, fits the best linear predictor by least squares, and returns the measured risks.
Every function takes the caller's ``numpy.random.Generator`` and consumes it in a fixed order,
so a figure's draws are reproducible.  Used by figure HG_risk.
"""

from __future__ import annotations

import numpy as np

from minimal_models import hamiltonian_geometry as hg
from minimal_models import symplectic as sp

__all__ = ["random_contraction", "contraction_risks", "monte_carlo_risk", "lift_risk"]


def random_contraction(d: int, rng: np.random.Generator) -> np.ndarray:
    """K = U diag(s) V^T with Haar-like U, V (QR of Gaussians) and singular values
    s = u^a, u ~ U(0, 1)^d, a ~ U(0.2, 3): contractions of every size (||K||_2 <= 1)."""
    U, _ = np.linalg.qr(rng.standard_normal((d, d)))
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (U * rng.uniform(0, 1, d) ** rng.uniform(0.2, 3)) @ V.T


def contraction_risks(Sigma, Ks):
    r"""For each contraction K: its size |K|_F^2 / d (mean squared singular value) and the
    best-predictor risk R*(C_K) / tr Sigma of the coupling C_K = Sigma^1/2 K Sigma^1/2.
    Returns (sizes, risks) lists."""
    d, trace = Sigma.shape[0], np.trace(Sigma)
    size = [np.sum(K**2) / d for K in Ks]
    risk = [hg.optimal_predictive_risk(Sigma, hg.coupling_from_contraction(Sigma, K)) / trace
            for K in Ks]
    return size, risk


def monte_carlo_risk(Sigma, K, n: int, rng: np.random.Generator) -> tuple:
    """n samples of the views coupled by C_K: (closed-form R*, least-squares risk of the best
    linear predictor of Z_b from Z_a, max |Cov(Z_b) - Sigma|, |K|_F^2 / d)."""
    d = Sigma.shape[0]
    C = hg.coupling_from_contraction(Sigma, K)
    Za, Zb = hg.sample_coupled_views(Sigma, C, n, rng)
    B = np.linalg.lstsq(Za, Zb, rcond=None)[0]  # the best predictor of Z_b is linear
    return (hg.optimal_predictive_risk(Sigma, C),
            float(np.mean(np.sum((Zb - Za @ B) ** 2, axis=1))),
            float(np.max(np.abs(np.cov(Zb.T) - Sigma))), float(np.sum(K**2) / d))


def lift_risk(H, c: float, n: int, t_mc, key) -> np.ndarray:
    r"""The quadratic lift: q_0 ~ pi_H = N(0, (c/d) H^-1) (with its momentum) pushed by the exact
    flow of H; per t of ``t_mc`` the rows (risk of the best linear predictor of q_t from q_0
    / tr Sigma*, E[q_t^T H q_t], max |E q_t q_0^T - cos(Omega t) Sigma*|), Omega = H^1/2."""
    d = H.shape[0]
    Sigma_H = hg.minimax_covariance(H, c)
    lam = np.diag(H)
    q0, p0 = hg.gibbs_lift_sample(H, c, n, key)
    lift = []
    for t in t_mc:
        qt = np.concatenate([q0, p0], axis=1) @ sp.quadratic_exact_flow(H, t).T[:, :d]
        B = np.linalg.lstsq(q0, qt, rcond=None)[0]
        lift.append((float(np.mean(np.sum((qt - q0 @ B) ** 2, axis=1))) / np.trace(Sigma_H),
                     float(np.mean(np.einsum("ni,ij,nj->n", qt, H, qt))),
                     float(np.max(np.abs(qt.T @ q0 / n - np.diag(np.cos(np.sqrt(lam) * t))
                                         @ Sigma_H)))))
    return np.array(lift)
