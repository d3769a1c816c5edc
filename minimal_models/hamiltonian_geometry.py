r"""Hamiltonian geometry of JEPA embeddings: minimax and maximum-entropy covariances.

Paper: R. Jenkinson Alvarez, "Beyond Isotropy in JEPAs: Hamiltonian Geometry and Symplectic
Prediction", arXiv:2605.20107.  Spec: ``shared/specs/hamiltonian_geometry.md`` §2.

Setting.  H (d x d, SPD) is the downstream geometry; linear tasks are w in
W_H = {w : w^T H^{-1} w <= 1}; embeddings have covariance Sigma under the energy budget
tr(H Sigma) = c.  Each public function names its result and whether it is CONFIRMED (stated in
the paper or the author's code), DERIVED (a consequence we worked out and check numerically)
or RECONSTRUCTION (our model of a result whose proof is not public).

Result numbers are those of the author's preprint (3 Mar 2026), as in the spec.  arXiv v1
moves the structural results (symplecticity, volume preservation, anti-collapse) into its
Appendix A -- e.g. the preprint's Thm 4.4 is v1's Thm A.4 -- and its numbers are cited where
known; the v1 numbers of Lemmas 4.10/4.12, Props 4.13/4.16, Thm 4.14/Cor 4.15 and Thm B.1 were
not checked.
"""

from __future__ import annotations

import numpy as np

from . import validation as check
from .precision import require_x64

require_x64()

__all__ = [
    "sqrtm_spd",
    "worst_case_variance",
    "worst_case_task",
    "minimax_covariance",
    "maxent_entropy",
    "gaussian_entropy",
    "price_of_isotropy",
    "worst_price_condition",
    "entropy_price",
    "h_whiten",
    "oracle_geometry",
    "misalignment_ratio",
    "worst_case_geometry",
    "optimal_predictive_risk",
    "coupling_from_contraction",
    "sample_coupled_views",
    "logdet_spike_spectrum",
    "projected_logdet",
    "logdet_trace_floor",
    "spectral_bounds",
    "predicted_covariance_logdet",
    "maxent_gibbs",
    "gibbs_lift_sample",
    "gibbs_partition",
]


def sqrtm_spd(M) -> np.ndarray:
    """Symmetric square root of an SPD matrix by eigendecomposition."""
    M = check.spd_matrix("M", M)
    lam, U = np.linalg.eigh(M)
    return (U * np.sqrt(lam)) @ U.T


def _pair(Sigma, H):
    H = check.spd_matrix("H", H)
    Sigma = check.finite_array("Sigma", Sigma, ndim=2)
    if Sigma.shape != H.shape:
        raise ValueError(f"Sigma must have the shape of H {H.shape}, got {Sigma.shape}")
    if not np.allclose(Sigma, Sigma.T, atol=1e-10 * max(1.0, np.abs(Sigma).max())):
        raise ValueError("Sigma must be symmetric")
    if np.linalg.eigvalsh(0.5 * (Sigma + Sigma.T))[0] < -1e-10 * max(1.0, np.abs(Sigma).max()):
        raise ValueError("Sigma must be positive semi-definite")
    return 0.5 * (Sigma + Sigma.T), H


def worst_case_variance(Sigma, H) -> float:
    r"""V(Sigma) = sup_{w in W_H} w^T Sigma w = lambda_max(H^{1/2} Sigma H^{1/2}).

    Lemma 3.1, CONFIRMED.  The supremum is attained at w* = H^{1/2} u*, u* the top unit
    eigenvector (see :func:`worst_case_task`).
    """
    Sigma, H = _pair(Sigma, H)
    R = sqrtm_spd(H)
    return float(np.linalg.eigvalsh(R @ Sigma @ R)[-1])


def worst_case_task(Sigma, H) -> np.ndarray:
    """The maximising task w* = H^{1/2} u* of Lemma 3.1 (w*^T H^{-1} w* = 1)."""
    Sigma, H = _pair(Sigma, H)
    R = sqrtm_spd(H)
    return R @ np.linalg.eigh(R @ Sigma @ R)[1][:, -1]


def minimax_covariance(H, c: float) -> np.ndarray:
    r"""Sigma* = (c/d) H^{-1}: the unique minimiser of V over {Sigma >= 0 : tr(H Sigma) = c},
    with value V(Sigma*) = c/d.  Theorem 3.2, CONFIRMED."""
    H = check.spd_matrix("H", H)
    c = check.positive("c", c)
    return (c / H.shape[0]) * np.linalg.inv(H)


def gaussian_entropy(Sigma) -> float:
    """Differential entropy of N(0, Sigma): (1/2) log((2 pi e)^d det Sigma)."""
    Sigma = check.spd_matrix("Sigma", Sigma)
    d = Sigma.shape[0]
    return 0.5 * (d * np.log(2 * np.pi * np.e) + np.linalg.slogdet(Sigma)[1])


def maxent_entropy(H, c: float) -> float:
    r"""h* = (1/2) log((2 pi e)^d (c/d)^d / det H), the entropy of the unique maximiser
    N(0, (c/d) H^{-1}) under E Z = 0, E[Z^T H Z] = c.  Theorem 3.3 CONFIRMED; closed form
    DERIVED."""
    H = check.spd_matrix("H", H)
    c = check.positive("c", c)
    d = H.shape[0]
    return 0.5 * (d * np.log(2 * np.pi * np.e * c / d) - np.linalg.slogdet(H)[1])


def price_of_isotropy(H) -> float:
    r"""rho(H) = V(Sigma_iso)/V(Sigma*) = d lambda_max(H) / tr H, with Sigma_iso = (c/tr H) I.

    Theorem 3.4, CONFIRMED: independent of c, 1 <= rho <= d, rho = 1 iff H is proportional to I.
    """
    H = check.spd_matrix("H", H)
    lam = np.linalg.eigvalsh(H)
    return float(H.shape[0] * lam[-1] / lam.sum())


def worst_price_condition(d: int, kappa: float) -> float:
    r"""sup {rho(H) : kappa(H) <= kappa} = d kappa / (kappa + d - 1), attained at the spectrum
    (kappa m, m, ..., m).  DERIVED."""
    d = check.integer("d", d, minimum=1)
    kappa = check.real("kappa", kappa, low=1.0)
    return d * kappa / (kappa + d - 1)


def entropy_price(H) -> float:
    r"""h(N(0, Sigma*)) - h(N(0, Sigma_iso)) = KL(N(0, Sigma_iso) || N(0, Sigma*))
    = (d/2) log(AM/GM) of the eigenvalues of H.  DERIVED (tr(Sigma*^{-1} Sigma_iso) = d)."""
    H = check.spd_matrix("H", H)
    lam = np.linalg.eigvalsh(H)
    return float(0.5 * len(lam) * (np.log(lam.mean()) - np.mean(np.log(lam))))


def h_whiten(Z, H) -> np.ndarray:
    r"""Z' = Z H^{1/2} on a batch (rows are samples): Cov(Z') = H^{1/2} Sigma H^{1/2}, so
    Sigma = alpha H^{-1} iff the whitened covariance is alpha I.  Prop. 3.5 / Lemma 4.1,
    CONFIRMED."""
    H = check.spd_matrix("H", H)
    Z = check.finite_array("Z", Z, ndim=2)
    if Z.shape[1] != H.shape[0]:
        raise ValueError(f"Z must have {H.shape[0]} columns to match H, got {Z.shape}")
    return Z @ sqrtm_spd(H)


def oracle_geometry(S, c: float) -> np.ndarray:
    r"""H = (c/d) S^{-1}, for which Sigma*(H) = S: the oracle family spans the SPD cone.
    Prop. 3.7, CONFIRMED."""
    S = check.spd_matrix("S", S)
    c = check.positive("c", c)
    return (c / S.shape[0]) * np.linalg.inv(S)


def misalignment_ratio(H, Sigma0) -> float:
    r"""rho(H; Sigma0) = V(Sigma0^H)/V(Sigma*) = d lambda_max(Sigma0^{1/2} H Sigma0^{1/2}) / tr(H Sigma0),
    the price of a fixed covariance shape Sigma0 rescaled to the budget.

    RECONSTRUCTION of the v1-abstract result on the non-canonicity of fixed marginals
    (spec §2.8): rho in [1, d], rho = 1 iff H is proportional to Sigma0^{-1}; invariant to
    scaling H; Sigma0 = I gives :func:`price_of_isotropy`.
    """
    H = check.spd_matrix("H", H)
    Sigma0 = check.spd_matrix("Sigma0", Sigma0)
    if Sigma0.shape != H.shape:
        raise ValueError(f"Sigma0 must have the shape of H {H.shape}, got {Sigma0.shape}")
    R = sqrtm_spd(Sigma0)
    lam = np.linalg.eigvalsh(R @ H @ R)
    return float(H.shape[0] * lam[-1] / lam.sum())


def worst_case_geometry(Sigma0, eps: float, u=None) -> np.ndarray:
    r"""H_eps = Sigma0^{-1/2} (u u^T + eps I) Sigma0^{-1/2}, with rho(H_eps; Sigma0)
    = d (1 + eps)/(1 + d eps) -> d as eps -> 0: every fixed shape can be made to pay the
    full price d.  RECONSTRUCTION (spec §2.8, claim 2); u defaults to e_1."""
    Sigma0 = check.spd_matrix("Sigma0", Sigma0)
    eps = check.positive("eps", eps)
    d = Sigma0.shape[0]
    if u is None:
        u = np.eye(d)[0]
    u = check.finite_array("u", u, shape=(d,))
    norm = np.linalg.norm(u)
    if norm == 0:
        raise ValueError("u must be a non-zero vector")
    u = u / norm
    lam, U = np.linalg.eigh(Sigma0)
    inv_sqrt = (U / np.sqrt(lam)) @ U.T
    H = inv_sqrt @ (np.outer(u, u) + eps * np.eye(d)) @ inv_sqrt
    return 0.5 * (H + H.T)


def optimal_predictive_risk(Sigma, C) -> float:
    r"""R*(C) = min_g E ||Z_b - g(Z_a)||^2 = tr(Sigma - C^T Sigma^{-1} C) for jointly Gaussian
    views with marginals N(0, Sigma) and cross-covariance C = Cov(Z_a, Z_b).

    RECONSTRUCTION of the v1-abstract coupling non-identifiability (spec §2.9): every
    admissible C = Sigma^{1/2} K Sigma^{1/2}, ||K||_op <= 1, has the same marginals (so the same
    value of any marginal regulariser) while R* ranges over [0, tr Sigma].
    """
    Sigma = check.spd_matrix("Sigma", Sigma)
    C = check.finite_array("C", C, shape=Sigma.shape)
    lam, U = np.linalg.eigh(Sigma)
    inv_sqrt = (U / np.sqrt(lam)) @ U.T
    K = inv_sqrt @ C @ inv_sqrt
    if np.linalg.norm(K, 2) > 1 + 1e-9:
        raise ValueError(f"C is not a valid cross-covariance for marginals Sigma: "
                         f"||Sigma^-1/2 C Sigma^-1/2||_op = {np.linalg.norm(K, 2):.6g} > 1")
    return float(np.trace(Sigma - C.T @ np.linalg.solve(Sigma, C)))


def coupling_from_contraction(Sigma, K) -> np.ndarray:
    r"""C = Sigma^{1/2} K Sigma^{1/2}: every Gaussian coupling of two N(0, Sigma) views, for
    ||K||_op <= 1 (RECONSTRUCTION, spec §2.9).  K = Q orthogonal gives a deterministic map."""
    Sigma = check.spd_matrix("Sigma", Sigma)
    K = check.finite_array("K", K, shape=Sigma.shape)
    if np.linalg.norm(K, 2) > 1 + 1e-9:
        raise ValueError(f"K has operator norm {np.linalg.norm(K, 2):.6g}; allowed: <= 1")
    root = sqrtm_spd(Sigma)
    return root @ K @ root


def sample_coupled_views(Sigma, C, n: int, rng):
    r"""n joint draws of (Z_a, Z_b) with both marginals N(0, Sigma) and Cov(Z_a, Z_b) = C:

        Z_a ~ N(0, Sigma),   Z_b = Z_a Sigma^{-1} C + E,   E ~ N(0, Sigma - C^T Sigma^{-1} C).

    RECONSTRUCTION setting of spec §2.9.  The residual covariance may be singular (a
    deterministic coupling); its square root is taken on the clipped spectrum.  ``rng`` is a
    numpy Generator.  Returns two (n, d) arrays."""
    Sigma = check.spd_matrix("Sigma", Sigma)
    C = check.finite_array("C", C, shape=Sigma.shape)
    n = check.integer("n", n, minimum=1)
    residual = Sigma - C.T @ np.linalg.solve(Sigma, C)
    lam, U = np.linalg.eigh(0.5 * (residual + residual.T))
    if lam[0] < -1e-9 * np.abs(Sigma).max():
        raise ValueError("C is not a valid cross-covariance for marginals Sigma "
                         f"(Sigma - C^T Sigma^-1 C has eigenvalue {lam[0]:.3g} < 0)")
    d = Sigma.shape[0]
    Z_a = rng.standard_normal((n, d)) @ sqrtm_spd(Sigma)
    noise = rng.standard_normal((n, d)) @ ((U * np.sqrt(np.clip(lam, 0, None))) @ U.T)
    return Z_a, Z_a @ np.linalg.solve(Sigma, C) + noise


def logdet_spike_spectrum(k: int, tau: float, eps: float) -> np.ndarray:
    r"""Lemma 4.10 (CONFIRMED): a log-det floor alone does not prevent collapse.  The spectrum

        lambda_1 = e^{k tau} eps^{-(k-1)},   lambda_2 = ... = lambda_k = eps

    meets (1/k) log det Sigma = tau exactly for every eps > 0, while its participation ratio
    (lambda_1 + (k-1) eps)^2 / (lambda_1^2 + (k-1) eps^2) -> 1 as eps -> 0: one direction
    carries all the variance.  Returns the k eigenvalues, largest first."""
    k = check.integer("k", k, minimum=2)
    tau = check.real("tau", tau)
    eps = check.positive("eps", eps)
    return np.array([np.exp(k * tau - (k - 1) * np.log(eps))] + [eps] * (k - 1))


def _psd(name, S):
    """A symmetric positive semi-definite matrix (to round-off), symmetrised."""
    S = check.finite_array(name, S, ndim=2)
    scale = max(1.0, np.abs(S).max()) if S.size else 1.0
    if S.shape[0] != S.shape[1] or not np.allclose(S, S.T, atol=1e-10 * scale):
        raise ValueError(f"{name} must be a symmetric square matrix, got shape {S.shape}")
    S = 0.5 * (S + S.T)
    if np.linalg.eigvalsh(S)[0] < -1e-10 * scale:
        raise ValueError(f"{name} must be positive semi-definite (smallest eigenvalue "
                         f"{np.linalg.eigvalsh(S)[0]:.3g} < 0)")
    return S


def projected_logdet(Sigma_Q, R, eps: float, *, rank_tol: float | None = None) -> dict:
    r"""The projected log-det of HamJEPA's volume floor with its epsilon (Lemma 4.12 of the
    author's preprint, CONFIRMED; the floor itself is spec §4.1, eq. of L_vol):

        Sigma_Y = R^T Sigma_Q R  (R: d x k, orthonormal columns),   rank Sigma_Y = r <= rank Sigma_Q,
        log det(Sigma_Y + eps I_k) = sum_{i <= r} log(lambda_i + eps) + (k - r) log eps,

    lambda_1..r the non-zero eigenvalues of Sigma_Y.  A rank-deficient content covariance
    therefore pays (k - r) log eps, which dominates the floor as eps -> 0 (spec R3).

    Returns ``{"logdet", "rank", "eigenvalues"}`` (eigenvalues of Sigma_Y, ascending).
    Eigenvalues below ``rank_tol`` (default: k * machine eps * max(lambda_max, eps)) count as
    zero.  (arXiv v1 renumbers the structural results; its number for this lemma was not
    checked.)"""
    Sigma_Q = _psd("Sigma_Q", Sigma_Q)
    R = check.finite_array("R", R, ndim=2)
    if R.shape[0] != Sigma_Q.shape[0] or R.shape[1] > R.shape[0] or R.shape[1] < 1:
        raise ValueError(f"R must have shape (d, k) with d = {Sigma_Q.shape[0]} and "
                         f"1 <= k <= d, got {R.shape}")
    if not np.allclose(R.T @ R, np.eye(R.shape[1]), atol=1e-8):
        raise ValueError("R must have orthonormal columns (max |R^T R - I| = "
                         f"{np.abs(R.T @ R - np.eye(R.shape[1])).max():.3g}; allowed <= 1e-8)")
    eps = check.positive("eps", eps)
    k = R.shape[1]
    lam = np.clip(np.linalg.eigvalsh(R.T @ Sigma_Q @ R), 0.0, None)
    if rank_tol is None:
        rank_tol = k * np.finfo(np.float64).eps * max(lam[-1], eps)
    rank_tol = check.real("rank_tol", rank_tol, low=0.0)
    nonzero = lam[lam > rank_tol]
    r = int(nonzero.size)
    return {"logdet": float(np.sum(np.log(nonzero + eps)) + (k - r) * np.log(eps)),
            "rank": r, "eigenvalues": lam}


def logdet_trace_floor(k: int, tau: float, m: float) -> float:
    r"""Prop. 4.13 (CONFIRMED): log det Sigma >= k tau and tr Sigma <= m imply

        lambda_min >= e^{k tau} (k - 1)^{k - 1} / m^{k - 1}

    (the other k - 1 eigenvalues multiply to at most (m/(k - 1))^{k - 1} by AM-GM)."""
    k = check.integer("k", k, minimum=2)
    tau = check.real("tau", tau)
    m = check.positive("m", m)
    return float(np.exp(k * tau + (k - 1) * (np.log(k - 1) - np.log(m))))


def spectral_bounds(c: float, r0: float, k: int, tau: float) -> dict:
    r"""Thm 4.14 / Cor 4.15 (CONFIRMED): a k x k Sigma with tr Sigma = c, PR(Sigma) >= r0 and
    (1/k) log det Sigma >= tau satisfies

        lambda_max <= c / sqrt(r0),   lambda_min >= e^{k tau} (sqrt(r0)/c)^{k-1},
        kappa <= e^{-k tau} (c / sqrt(r0))^k.

    Requires 1 <= r0 <= k (the participation ratio never exceeds the rank; r0 > k is refused).
    """
    c = check.positive("c", c)
    k = check.integer("k", k, minimum=1)
    r0 = check.real("r0", r0, low=1.0, high=float(k))  # PR <= rank <= k: r0 > k is infeasible
    tau = check.real("tau", tau)
    root = np.sqrt(r0)
    return {"lambda_max": c / root,
            "lambda_min": float(np.exp(k * tau) * (root / c) ** (k - 1)),
            "kappa": float(np.exp(-k * tau) * (c / root) ** k)}


def predicted_covariance_logdet(A, Sigma) -> float:
    r"""log det(A Sigma A^T) for states with covariance Sigma pushed through a linear(ised)
    predictor A: equals log det Sigma + 2 log|det A|.

    Prop 4.16 (CONFIRMED): a symplectic predictor has det A = 1 (Cor 4.5), so it leaves the
    covariance volume of the states unchanged; a falling log det between views must come from
    the encoder, not the predictor.  Computed from A Sigma A^T itself (slogdet), so the
    identity is a check, not an assumption."""
    Sigma = check.spd_matrix("Sigma", Sigma)
    A = check.finite_array("A", A, shape=Sigma.shape)
    sign, logdet = np.linalg.slogdet(A @ Sigma @ A.T)
    if sign <= 0:
        raise ValueError("A must be invertible (A Sigma A^T is singular)")
    return float(logdet)


def maxent_gibbs(energies, c: float, weights=None) -> dict:
    r"""Thm B.1 (CONFIRMED): among laws with E[H] = c, the unique entropy maximiser is the
    Gibbs law p_beta ~ e^{-beta H}, with beta fixed by E_beta[H] = c.

    On a discretised state space -- cell energies H_i, cell volumes ``weights`` w_i (default 1)
    -- p_i = w_i e^{-beta H_i} / Z, and beta solves E_beta[H] = c (a unique root: the mean
    energy falls strictly in beta, with slope -Var_beta(H)), so c must lie strictly between
    min H and max H.  For the quadratic lift (Prop 3.6) beta = d/c.  Returns
    ``{"beta", "p", "entropy"}``, entropy = -sum p_i log(p_i / w_i) (differential entropy of
    the piecewise-constant density)."""
    from scipy.optimize import brentq
    from scipy.special import logsumexp

    E = check.finite_array("energies", energies, ndim=1)
    w = np.ones_like(E) if weights is None else check.finite_array("weights", weights,
                                                                   shape=E.shape)
    if np.any(w <= 0):
        raise ValueError("weights must all be > 0")
    c = check.real("c", c, low=float(E.min()), high=float(E.max()), low_open=True,
                   high_open=True)

    def probs(beta):  # log-sum-exp keeps large |beta| finite
        logits = np.log(w) - beta * E
        return np.exp(logits - logsumexp(logits))

    def excess(beta):
        return probs(beta) @ E - c

    scale = 1.0 / max(np.ptp(E), 1e-300)
    lo, hi = -scale, scale
    while excess(lo) < 0:
        lo *= 2
    while excess(hi) > 0:
        hi *= 2
    beta = brentq(excess, lo, hi, xtol=1e-14 * scale, rtol=1e-14, maxiter=500)
    p = probs(beta)
    keep = p > 0
    return {"beta": float(beta), "p": p,
            "entropy": float(-np.sum(p[keep] * np.log(p[keep] / w[keep])))}


def gibbs_lift_sample(H, c: float, n: int, key):
    r"""Exact samples of the quadratic lift's Gibbs law pi_H ~ exp(-(d/c) H_H(q, p)),
    H_H = (1/2) q^T H q + (1/2)||p||^2: independent q ~ N(0, (c/d) H^{-1}), p ~ N(0, (c/d) I),
    so E[q^T H q] = E||p||^2 = c.  Prop. 3.6, CONFIRMED.  ``key`` is a JAX PRNG key; returns
    (q, p) as numpy arrays of shape (n, d)."""
    import jax

    H = check.spd_matrix("H", H)
    c = check.positive("c", c)
    n = check.integer("n", n, minimum=1)
    d = H.shape[0]
    kq, kp = jax.random.split(key)
    lam, U = np.linalg.eigh(H)
    cov_sqrt = (U / np.sqrt(lam)) @ U.T * np.sqrt(c / d)
    q = np.asarray(jax.random.normal(kq, (n, d), dtype=np.float64)) @ cov_sqrt
    p = np.sqrt(c / d) * np.asarray(jax.random.normal(kp, (n, d), dtype=np.float64))
    return q, p


def gibbs_partition(H, c: float) -> float:
    r"""Z_H = integral of exp(-(d/c) H_H) = (2 pi c/d)^d det(H)^{-1/2}.  Prop. 3.6, CONFIRMED."""
    H = check.spd_matrix("H", H)
    c = check.positive("c", c)
    d = H.shape[0]
    return float(np.exp(d * np.log(2 * np.pi * c / d) - 0.5 * np.linalg.slogdet(H)[1]))
