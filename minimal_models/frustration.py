r"""Model A: the embedding-only frustration model.

Paper: L. H. Yao, Y. Li, S. Liu, "A Minimal Model of Representation Collapse: Frustration,
Stop-Gradient, and Dynamics", arXiv:2604.09979.

CONFIRMED (abstract, summaries): sample and label embeddings are optimised directly under a
mean-squared-error objective; perfectly classifiable data do not collapse; a small fraction of
frustrated samples induces collapse on an additional slow time scale after the early
performance gain.  Everything else in this module -- the exact loss, normalisation, sampler,
closed form and time-scale formulas -- is the RECONSTRUCTION of
``shared/specs/minimal_collapse_model.md`` (§2), worked out analytically and checked numerically.

Notation (spec §2).  N samples with embeddings x_i (rows of X, N x d), K labels with embeddings
y_k (rows of Y, K x d); coupling A >= 0 (N x K); degrees g_i = sum_k A_ik, h_k = sum_i A_ik.
The state is Z = [X; Y] of shape (N + K, d): samples first, then labels.  The coupling
sampler, presets and initial states shared with Models B and C live in
:mod:`minimal_models.coupling`; the loss as a function of the embeddings is also written in
:mod:`minimal_models.objectives.collapse_models` (tested equal to this vector field).

    L_A(X, Y)  = (nu / 2) sum_{i,k} A_ik ||x_i - y_k||^2
    dx_i/dt    = -eta_x nu sum_k A_ik (x_i - y_k)
    dy_k/dt    = -eta_y nu sum_i A_ik (y_k - x_i)
    dZ/dt      = -nu H L_G Z,   L_G = [[D_x, -A], [-A^T, D_y]],   H = diag(eta_x I_N, eta_y I_K)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

from . import validation as check
from .coupling import validate_coupling
from .precision import require_x64

require_x64()

__all__ = [
    "split_state",
    "loss",
    "vector_field",
    "laplacian",
    "symmetric_generator",
    "closed_form_solution",
    "closed_form",
    "connected_components",
    "conserved_quantities",
    "fixed_point",
    "generator_spectrum",
    "slow_eigenvalues",
    "star_spectrum",
    "two_class_rates",
    "two_class_slow_rate",
    "schur_matrix",
    "effective_label_operator",
    "first_order_slow_rates",
    "first_order_slow_rate",
    "symmetric_cubic_slow_rate",
    "max_stable_step",
]


# --------------------------------------------------------------------------- state


def split_state(Z, n_samples: int):
    """(X, Y) = (Z[:N], Z[N:]) along the second-to-last axis (works with a leading time axis)."""
    return Z[..., :n_samples, :], Z[..., n_samples:, :]


def _check_state(A, Z0, eta_x, eta_y):
    A = validate_coupling(A)
    N, K = A.shape
    Z0 = check.finite_array("Z0", Z0, ndim=2)
    if Z0.shape[0] != N + K:
        raise ValueError(f"Z0 must have shape (N + K, d) = ({N + K}, d) for A of shape {A.shape}, "
                         f"got {Z0.shape}")
    return A, Z0, check.positive("eta_x", eta_x), check.positive("eta_y", eta_y)


# --------------------------------------------------------------------------- dynamics


def loss(A, Z, *, nu: float = 1.0):
    r"""L_A = (nu/2) sum_{i,k} A_ik ||x_i - y_k||^2 (spec §2.3) at one state Z = [X; Y]: the
    single definition :func:`~minimal_models.objectives.collapse_models.model_a_loss`
    (numpy or JAX, following the input)."""
    from .objectives.collapse_models import model_a_loss

    X, Y = split_state(Z, A.shape[0])
    return model_a_loss(X, Y, A, nu=nu)


def vector_field(A, Z, *, eta_x=1.0, eta_y=1.0, nu=1.0):
    r"""Gradient-flow velocity dZ/dt = -nu H L_G Z (spec §2.4), without forming L_G:

        dX/dt = -eta_x nu (D_x X - A Y),    dY/dt = -eta_y nu (D_y Y - A^T X).

    Pure array code: numpy in, numpy out; JAX (traceable, vmappable) in, JAX out.
    """
    N, K = A.shape
    X, Y = Z[:N], Z[N:]
    if isinstance(Z, np.ndarray) or N + K > _UNROLL_LIMIT:
        AY, ATX = A @ Y, A.T @ X  # (unrolling large graphs would bloat the compile)
    else:
        # under vmap on XLA:CPU a batch of tiny matmuls runs ~5x slower than the same
        # products as unrolled, fused elementwise sums (sweeps are batches of small graphs)
        AY = sum(A[:, k, None] * Y[k] for k in range(K))
        ATX = sum(A[i][:, None] * X[i] for i in range(N))
    dX = -eta_x * nu * (A.sum(axis=1)[:, None] * X - AY)
    dY = -eta_y * nu * (A.sum(axis=0)[:, None] * Y - ATX)
    if isinstance(Z, np.ndarray):
        return np.concatenate([dX, dY], axis=0)
    import jax.numpy as jnp  # lazily, so numpy callers never touch JAX

    return jnp.concatenate([dX, dY], axis=0)


_UNROLL_LIMIT = 64  # N + K up to which the JAX vector field unrolls A Y and A^T X


def _array_module(x):
    """numpy for host arrays, jax.numpy for JAX arrays and tracers (imported lazily, so numpy
    callers never touch JAX)."""
    if isinstance(x, (np.ndarray, np.generic)):
        return np
    import jax.numpy as jnp

    return jnp


def laplacian(A) -> np.ndarray:
    """L_G = [[D_x, -A], [-A^T, D_y]]: Laplacian of the bipartite sample-label graph."""
    return _laplacian(validate_coupling(A))


def _laplacian(A):
    xp = _array_module(A)
    return xp.block([[xp.diag(A.sum(axis=1)), -A], [-A.T, xp.diag(A.sum(axis=0))]])


def symmetric_generator(A, *, eta_x=1.0, eta_y=1.0):
    r"""(S, h) with S = H^{1/2} L_G H^{1/2} and h = diag(H)^{1/2} (spec §2.4).

    S is symmetric and similar to H L_G, so ``eigh`` gives the spectrum of the flow.  Array-
    generic and unvalidated (numpy in, numpy out; JAX in, JAX out): the flows call it on
    traced, padded couplings.
    """
    xp = _array_module(A)
    N, K = A.shape
    sqrt_h = xp.sqrt(xp.concatenate([xp.full(N, eta_x), xp.full(K, eta_y)]))
    return sqrt_h[:, None] * _laplacian(A) * sqrt_h[None, :], sqrt_h


def closed_form_solution(A, Z0, ts, *, eta_x=1.0, eta_y=1.0, nu=1.0):
    r"""The one definition of the closed form (spec §2.4) [RECONSTRUCTION], array-generic:

        H^{1/2} L_G H^{1/2} = U Lambda U^T,
        Z(t) = H^{1/2} U exp(-nu max(Lambda, 0) t) U^T H^{-1/2} Z(0)

    for the 1-D times ``ts``: returns (Z (T, N + K, d), Lambda (N + K,) unclipped, ascending).
    Unvalidated and pure array code (numpy or JAX, following A): :func:`closed_form` validates
    and calls it; :class:`simulations.flows.FrustrationFlow` calls it under ``jit(vmap)``.
    """
    xp = _array_module(A)
    S, sqrt_h = symmetric_generator(A, eta_x=eta_x, eta_y=eta_y)
    lam, U = xp.linalg.eigh(S)
    modes = U.T @ (Z0 / sqrt_h[:, None])
    # L_G is PSD: clip round-off below 0 so that large t cannot blow up
    decay = xp.exp(-nu * xp.outer(ts, xp.clip(lam, 0.0, None)))  # (T, modes)
    return sqrt_h[:, None] * xp.einsum("im,tm,md->tid", U, decay, modes), lam


def closed_form(A, Z0, t, *, eta_x: float = 1.0, eta_y: float = 1.0, nu: float = 1.0):
    r"""Exact solution Z(t) of the linear flow (spec §2.4) [RECONSTRUCTION], inputs validated:

        H^{1/2} L_G H^{1/2} = U Lambda U^T,
        Z(t) = H^{1/2} U exp(-nu Lambda t) U^T H^{-1/2} Z(0).

    ``t`` is a scalar (result (N + K, d)) or a 1-D array (result (T, N + K, d)).  The
    computation is :func:`closed_form_solution`.
    """
    A, Z0, eta_x, eta_y = _check_state(A, Z0, eta_x, eta_y)
    nu = check.positive("nu", nu)
    t_arr = check.finite_array("t", t)
    if t_arr.ndim > 1 or np.any(t_arr < 0):
        raise ValueError(f"t must be a non-negative scalar or 1-D array, got shape {t_arr.shape}")
    Z, _ = closed_form_solution(A, Z0, np.atleast_1d(t_arr), eta_x=eta_x, eta_y=eta_y, nu=nu)
    return Z[0] if t_arr.ndim == 0 else Z


def connected_components(A) -> tuple[int, np.ndarray]:
    """Components of the bipartite graph G(A): (count, label of each of the N + K nodes)."""
    A = validate_coupling(A)
    N, K = A.shape
    adj = scipy.sparse.bmat([[None, scipy.sparse.csr_matrix(A > 0)],
                             [scipy.sparse.csr_matrix((A > 0).T), None]])
    return scipy.sparse.csgraph.connected_components(adj, directed=False)


def conserved_quantities(A, Z, *, eta_x: float = 1.0, eta_y: float = 1.0) -> np.ndarray:
    r"""I_C = sum_{i in C} x_i/eta_x + sum_{k in C} y_k/eta_y for every component C (spec §2.5).

    Returns an array (n_components, d), in the order of :func:`connected_components`.
    ``Z`` may carry a leading time axis, giving (T, n_components, d).
    """
    A = validate_coupling(A)
    N, K = A.shape
    n_comp, labels = connected_components(A)
    weights = np.concatenate([np.full(N, 1.0 / eta_x), np.full(K, 1.0 / eta_y)])
    onehot = (labels[None, :] == np.arange(n_comp)[:, None]) * weights[None, :]
    return np.einsum("cn,...nd->...cd", onehot, np.asarray(Z, dtype=np.float64))


def fixed_point(A, Z0, *, eta_x: float = 1.0, eta_y: float = 1.0) -> np.ndarray:
    r"""The t -> infinity limit (spec §2.5) [RECONSTRUCTION]: every node of a component C ends at

        z_inf(C) = I_C / (|C_x|/eta_x + |C_y|/eta_y).

    Clean data: one component per class, separated labels.  A connected frustrated class
    graph: one component, every label at the same point (complete collapse).
    """
    A, Z0, eta_x, eta_y = _check_state(A, Z0, eta_x, eta_y)
    N, K = A.shape
    _, labels = connected_components(A)
    I = conserved_quantities(A, Z0, eta_x=eta_x, eta_y=eta_y)
    weights = np.concatenate([np.full(N, 1.0 / eta_x), np.full(K, 1.0 / eta_y)])
    mass = np.bincount(labels, weights=weights)
    return (I / mass[:, None])[labels]


# --------------------------------------------------------------------------- spectrum


def generator_spectrum(A, *, eta_x: float = 1.0, eta_y: float = 1.0, nu: float = 1.0) -> np.ndarray:
    """Eigenvalues of nu H L_G in ascending order (all real and >= 0)."""
    A = validate_coupling(A)
    eta_x, eta_y = check.positive("eta_x", eta_x), check.positive("eta_y", eta_y)
    S, _ = symmetric_generator(A, eta_x=eta_x, eta_y=eta_y)
    return np.clip(check.positive("nu", nu) * np.linalg.eigvalsh(S), 0.0, None)


def slow_eigenvalues(A, *, eta_x: float = 1.0, eta_y: float = 1.0, nu: float = 1.0) -> np.ndarray:
    """The K - 1 slow collapse rates: eigenvalues 2..K of nu H L_G (spec §2.6c).

    For a connected frustrated graph these are the label-difference modes; a disconnected
    class graph shows up as zeros among them.
    """
    K = validate_coupling(A).shape[1]
    return generator_spectrum(A, eta_x=eta_x, eta_y=eta_y, nu=nu)[1:K]


def star_spectrum(n_k: int, *, eta_x: float = 1.0, eta_y: float = 1.0) -> np.ndarray:
    r"""Spectrum of H L_G for one clean class with n_k samples (spec §2.6a):
    0 (class mean), eta_x (x (n_k - 1), within-class spread), eta_x + n_k eta_y (alignment)."""
    n_k = check.integer("n_k", n_k, minimum=1)
    eta_x, eta_y = check.positive("eta_x", eta_x), check.positive("eta_y", eta_y)
    return np.array([0.0] + [eta_x] * (n_k - 1) + [eta_x + n_k * eta_y])


def two_class_rates(n_c: int, m: int, *, eta_x: float = 1.0, eta_y: float = 1.0,
                    nu: float = 1.0) -> tuple[float, float]:
    r"""Exact (lambda_-, lambda_+) for K = 2 (spec §2.6b) [RECONSTRUCTION]: n_c consistent
    samples per class and m frustrated samples each linked to both labels (hard):

        lambda_pm = (nu/2) [ s pm sqrt(s^2 - 4 eta_x eta_y m) ],   s = eta_x + eta_y (n_c + m).

    lambda_- is evaluated as 2 nu eta_x eta_y m / (s + sqrt(.)) to avoid cancellation.
    """
    n_c = check.integer("n_c", n_c, minimum=0)
    m = check.integer("m", m, minimum=0)
    eta_x, eta_y, nu = (check.positive("eta_x", eta_x), check.positive("eta_y", eta_y),
                        check.positive("nu", nu))
    s = eta_x + eta_y * (n_c + m)
    root = np.sqrt(s * s - 4.0 * eta_x * eta_y * m)
    return nu * 2.0 * eta_x * eta_y * m / (s + root), nu * 0.5 * (s + root)


def two_class_slow_rate(n: int, m: int) -> float:
    """Exact slow rate lambda_- for two classes of n consistent samples each and m frustrated
    samples linked to both labels, unit rates (spec §2.6b): 1/lambda_- is the collapse time."""
    return two_class_rates(n, m)[0]


def schur_matrix(A, lam: float, *, eta_x: float = 1.0, eta_y: float = 1.0) -> np.ndarray:
    r"""Schur complement whose singularity defines the slow modes exactly (spec §2.6c, nu = 1):

        S(lambda) = D_y - A^T (D_x - (lambda/eta_x) I)^{-1} A - (lambda/eta_y) I.
    """
    A = validate_coupling(A)
    g, h = A.sum(axis=1), A.sum(axis=0)
    return np.diag(h) - A.T @ (A / (g - lam / eta_x)[:, None]) - (lam / eta_y) * np.eye(A.shape[1])


def effective_label_operator(A, *, eta_x: float = 1.0, eta_y: float = 1.0):
    r"""First-order pencil (L_eff, M) of the slow modes (spec §2.6c, nu = 1):

        L_eff = D_y - A^T D_x^{-1} A = D_y (I - T),   M = I/eta_y + A^T D_x^{-2} A / eta_x.

    A frustrated sample with weights (w1, w2) adds j (e_a - e_b)(e_a - e_b)^T to L_eff with
    j = w1 w2/(w1 + w2): a ferromagnetic label-label coupling.
    """
    A = validate_coupling(A)
    g = A.sum(axis=1)
    if np.any(g <= 0):
        raise ValueError("A has samples with zero degree; the label pencil needs every g_i > 0")
    L_eff = np.diag(A.sum(axis=0)) - A.T @ (A / g[:, None])
    M = np.eye(A.shape[1]) / eta_y + A.T @ (A / (g**2)[:, None]) / eta_x
    return L_eff, M


def first_order_slow_rates(A, *, eta_x: float = 1.0, eta_y: float = 1.0, nu: float = 1.0) -> np.ndarray:
    """The K - 1 non-trivial generalised eigenvalues of L_eff y = lambda M y, times nu."""
    import scipy.linalg

    L_eff, M = effective_label_operator(A, eta_x=eta_x, eta_y=eta_y)
    return nu * np.clip(scipy.linalg.eigh(L_eff, M, eigvals_only=True), 0.0, None)[1:]


def first_order_slow_rate(n_classes: int, n_per_class: int, frustration: float, *,
                          j: float = 0.5, eta_x: float = 1.0, eta_y: float = 1.0,
                          nu: float = 1.0) -> float:
    r"""Mean slow rate under uniform random pairing, first order (spec §2.6d) [RECONSTRUCTION]:

        lambda_slow ~ nu 2 j K p n / ((K - 1) (n/eta_x + 1/eta_y)),

    j = 1/2 for hard pairs, q(1 - q) for a soft split.  Hard, nu = eta = 1: ~ pK/(K - 1).

    ``frustration`` is the share of frustrated samples per class in the coupling: for the
    reference sampler pass p_eff = round(p n)/n (:func:`minimal_models.coupling.
    effective_frustration`), not the nominal p (see :func:`symmetric_cubic_slow_rate`).
    """
    K = check.integer("n_classes", n_classes, minimum=2)
    n = check.integer("n_per_class", n_per_class, minimum=1)
    p = check.real("frustration", frustration, low=0.0, high=1.0)
    j = check.positive("j", j)
    eta_x, eta_y, nu = (check.positive("eta_x", eta_x), check.positive("eta_y", eta_y),
                        check.positive("nu", nu))
    return nu * 2.0 * j * K * p * n / ((K - 1) * (n / eta_x + 1.0 / eta_y))


def symmetric_cubic_slow_rate(n_classes: int, n_per_class: int, frustration: float, *,
                              eta_x: float = 1.0, eta_y: float = 1.0, nu: float = 1.0) -> float:
    r"""Exact slow rate when every class pair is joined by m' = 2pn/(K - 1) frustrated samples
    (hard), spec §2.6e [RECONSTRUCTION]: nu times the smallest positive root of

        lambda^3 - [3 eta_x + eta_y (n_c + (K-1) m')] lambda^2
                 + [2 eta_x^2 + eta_x eta_y (2 n_c + (2K-1) m')] lambda - K eta_x^2 eta_y m' = 0,

    n_c = n (1 - p).  For K = 2 it factorises into (lambda - 2 eta_x) times the §2.6b quadratic.

    ``frustration`` is the share of frustrated samples per class in the coupling, p = f/n.  The
    reference sampler draws f = floor(p n + 1/2) of them, so pass the effective share p_eff =
    :func:`minimal_models.coupling.effective_frustration` (n, p), not the nominal p: at K = 4,
    n = 50, nominal p = 0.05 (f = 3, p_eff = 0.06; seed 0, unit-sum) the mean slow eigenvalue
    is 0.0745, the cubic gives 0.0634 at the nominal p (15 % low) and 0.0756 at p_eff (1.5 %).
    """
    K = check.integer("n_classes", n_classes, minimum=2)
    n = check.integer("n_per_class", n_per_class, minimum=1)
    p = check.real("frustration", frustration, low=0.0, high=1.0)
    ex, ey, nu = (check.positive("eta_x", eta_x), check.positive("eta_y", eta_y),
                  check.positive("nu", nu))
    if p == 0.0:
        return 0.0
    m = 2.0 * p * n / (K - 1)
    n_c = n * (1.0 - p)
    coeffs = [1.0,
              -(3 * ex + ey * (n_c + (K - 1) * m)),
              2 * ex**2 + ex * ey * (2 * n_c + (2 * K - 1) * m),
              -K * ex**2 * ey * m]
    roots = np.roots(coeffs)
    real = roots[np.abs(roots.imag) < 1e-9 * np.abs(roots).max()].real
    return nu * float(real[real > 0].min())


def max_stable_step(A, *, eta_x: float = 1.0, eta_y: float = 1.0, nu: float = 1.0) -> float:
    """Largest step eta for discrete GD Z <- (I - eta nu H L_G) Z to be stable: 2/lambda_max."""
    return 2.0 / generator_spectrum(A, eta_x=eta_x, eta_y=eta_y, nu=nu)[-1]
