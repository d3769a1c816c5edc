r"""Class/type-averaged mean-field closure of Model B (spec §3.5-§3.6).

Paper: arXiv:2604.09979.  CONFIRMED (abstract): the stop-gradient fixed points are analysed
through a *dynamical mean-field style self-consistency*.  The closure below is the
RECONSTRUCTION of ``shared/specs/minimal_collapse_model.md`` §3.5-§3.6.

The head W is the only shared object and sees the population only through the order
parameters (C, S); for fixed (W, Y) the sample equations are linear and identical inside a
*type* tau (identical coupling row a_tau and identically distributed initial conditions:
consistent samples of class k, and frustrated samples with ordered (primary a, partner b)).
Averaging therefore commutes with the flow, and with M = W^T W + beta I, P = W^T + beta W,
yhat_tau = sum_k a_tau,k y_k, h_k = sum_tau N_tau a_tau,k, xtilde_k = sum_tau N_tau a_tau,k xbar_tau:

    dxbar_tau/dt = -eta_x nu [ g_tau M xbar_tau - P yhat_tau ]
    dSigma_tau/dt = -eta_x nu g_tau [ M Sigma_tau + Sigma_tau M ]
    dy_k/dt      = -eta_y nu [ h_k M y_k - P xtilde_k ]
    dW/dt        = -eta_W nu [ W C - S ],
    C = sum_tau N_tau g_tau (xbar_tau xbar_tau^T + Sigma_tau) + sum_k h_k y_k y_k^T,
    S = sum_k (y_k xtilde_k^T + xtilde_k y_k^T).

Exact for any N from the empirical moments (:func:`empirical_init`).  Large-N form
(:func:`population_init`): xbar_tau(0) = mu_primary, one covariance Sigma_g(0) = sigma^2 I per
distinct degree g (types of equal degree share it for all t).  Covariances are stored per
*group*; in the exact mode every type is its own group.

State: dict ``{"xbar": (T, d), "Sigma": (G, d, d), "Y": (K, d), "W": (d, d)}``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import validation as check
from .coupling import validate_coupling
from .precision import require_x64

require_x64()

__all__ = [
    "TypeStructure",
    "type_structure",
    "empirical_init",
    "population_init",
    "uniform_type_proportions",
    "type_proportions",
    "closure_rhs",
    "type_means",
    "closure_order_parameters",
    "simulate_closure",
]


@dataclasses.dataclass(frozen=True)
class TypeStructure:
    """Types of a coupling graph: ``counts`` N_tau (T,), ``rows`` a_tau (T, K), ``primary`` and
    ``partner`` (T,) (partner -1 for consistent types), ``group`` (T,) index of the covariance
    slot each type uses, ``group_degree`` (G,), and ``sample_type`` (N,) when built from a
    concrete sample set (None for population types)."""

    counts: np.ndarray
    rows: np.ndarray
    primary: np.ndarray
    partner: np.ndarray
    group: np.ndarray
    group_degree: np.ndarray
    sample_type: np.ndarray | None = None

    @property
    def n_types(self) -> int:
        return len(self.counts)

    @property
    def group_onehot(self) -> np.ndarray:
        """(T, G) indicator of each type's covariance group."""
        return (self.group[:, None] == np.arange(len(self.group_degree))[None, :]).astype(float)

    def arrays(self) -> dict:
        """The float arrays :func:`closure_rhs` needs (JAX-friendly, no Python objects)."""
        return {"counts": np.asarray(self.counts, float), "rows": np.asarray(self.rows, float),
                "group_onehot": self.group_onehot,
                "group_degree": np.asarray(self.group_degree, float)}


def type_structure(A, classes, partner) -> TypeStructure:
    """Types of a concrete sample set: samples with identical (primary, partner, coupling row).
    Every type is its own covariance group (exact closure)."""
    A = validate_coupling(A)
    classes = np.asarray(classes)
    partner = np.asarray(partner)
    if classes.shape != (A.shape[0],) or partner.shape != (A.shape[0],):
        raise ValueError(f"classes and partner must have shape ({A.shape[0]},), got "
                         f"{classes.shape} and {partner.shape}")
    key = np.concatenate([classes[:, None], partner[:, None], A], axis=1)
    uniq, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)  # types in order of first appearance (class-major for the sampler)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    sample_type = rank[inverse.ravel()]
    uniq = uniq[order]
    counts = np.bincount(sample_type, minlength=len(uniq)).astype(float)
    rows = uniq[:, 2:]
    return TypeStructure(counts=counts, rows=rows, primary=uniq[:, 0].astype(int),
                         partner=uniq[:, 1].astype(int), group=np.arange(len(uniq)),
                         group_degree=rows.sum(axis=1), sample_type=sample_type)


def empirical_init(X0, A, c, partner):
    r"""Exact closure from a concrete initial condition (spec §3.6) [RECONSTRUCTION]:
    x̄_tau(0) and Sigma_tau(0) = N_tau^{-1} sum_{i in tau} (x_i - x̄_tau)(x_i - x̄_tau)^T from
    X0 (N, d).  Returns ``(structure, {"xbar": (T, d), "Sigma": (T, d, d)})``; add ``Y`` and
    ``W`` to complete the state."""
    A = validate_coupling(A)
    X0 = check.finite_array("X0", X0, ndim=2)
    if X0.shape[0] != A.shape[0]:
        raise ValueError(f"X0 must have {A.shape[0]} rows (one per sample of A), got {X0.shape}")
    st = type_structure(A, c, partner)
    onehot = (st.sample_type[:, None] == np.arange(st.n_types)[None, :]).astype(float)
    xbar = onehot.T @ X0 / st.counts[:, None]
    dev = X0 - xbar[st.sample_type]
    Sigma = np.einsum("it,id,ie->tde", onehot, dev, dev) / st.counts[:, None, None]
    return st, {"xbar": xbar, "Sigma": Sigma}


def uniform_type_proportions(n_classes: int, frustration: float) -> np.ndarray:
    r"""Population proportions pi (K x K) under uniform pairing (spec §3.6): pi_aa = (1 - p)/K
    (consistent samples of class a), pi_ab = p/(K (K - 1)) (frustrated a -> b)."""
    K = check.integer("n_classes", n_classes, minimum=2)
    p = check.real("frustration", frustration, low=0.0, high=1.0)
    pi = np.full((K, K), p / (K * (K - 1)))
    np.fill_diagonal(pi, (1.0 - p) / K)
    return pi


def type_proportions(A, classes, partner) -> np.ndarray:
    """Empirical proportions pi (K x K) of a sample set (diagonal: consistent; (a, b):
    frustrated with primary a and partner b)."""
    A = validate_coupling(A)
    K = A.shape[1]
    classes, partner = np.asarray(classes), np.asarray(partner)
    col = np.where(partner < 0, classes, partner)
    pi = np.zeros((K, K))
    np.add.at(pi, (classes, col), 1.0)
    return pi / A.shape[0]


def population_init(mu, sigma, pi, *, n_samples: int, kind: str = "hard", q: float = 0.5):
    r"""Large-N closure (spec §3.6) [RECONSTRUCTION]: types (a -> b) with N_tau = N pi_ab
    (types with pi_ab = 0 dropped), x̄_tau(0) = mu_a (primary class mean), and one covariance
    Sigma_g(0) = sigma^2 I per distinct degree g (hard: g in {1, 2}; soft: one).

    ``mu`` (K, d) class means, ``sigma`` >= 0, ``pi`` (K, K) proportions (diagonal consistent,
    off-diagonal ordered frustrated types; see :func:`uniform_type_proportions`,
    :func:`type_proportions`), ``kind`` "hard" (rows e_a + e_b) or "soft" ((1-q) e_a + q e_b).
    Returns ``(structure, {"xbar", "Sigma"})`` as :func:`empirical_init`.
    """
    mu = check.finite_array("mu", mu, ndim=2)
    K, d = mu.shape
    sigma = check.real("sigma", sigma, low=0.0)
    pi = check.finite_array("pi", pi, shape=(K, K))
    if np.any(pi < 0) or abs(pi.sum() - 1.0) > 1e-9:
        raise ValueError(f"pi must be non-negative and sum to 1 (sum {pi.sum():.6g})")
    n_samples = check.integer("n_samples", n_samples, minimum=1)
    check.choice("kind", kind, ("hard", "soft"))
    if kind == "soft":
        q = check.real("q", q, low=0.0, high=0.5, low_open=True)
    counts, rows, primary, partner = [], [], [], []
    for a in range(K):
        for b in range(K):
            if pi[a, b] <= 0:
                continue
            row = np.zeros(K)
            if a == b:
                row[a] = 1.0
            elif kind == "hard":
                row[a] = row[b] = 1.0
            else:
                row[a], row[b] = 1.0 - q, q
            counts.append(n_samples * pi[a, b])
            rows.append(row)
            primary.append(a)
            partner.append(-1 if a == b else b)
    rows = np.array(rows)
    degree = rows.sum(axis=1)
    levels = np.unique(np.round(degree, 12))
    group = np.searchsorted(levels, np.round(degree, 12))
    st = TypeStructure(counts=np.array(counts), rows=rows, primary=np.array(primary),
                       partner=np.array(partner), group=group, group_degree=levels)
    xbar = mu[st.primary]
    Sigma = np.repeat((sigma**2 * np.eye(d))[None], len(levels), axis=0)
    return st, {"xbar": xbar, "Sigma": Sigma}


def closure_order_parameters(struct: dict, state: dict):
    """(C, S) of the closure (spec §3.6) from the type moments and labels."""
    counts, rows = struct["counts"], struct["rows"]
    xbar, Sigma, Y = state["xbar"], state["Sigma"], state["Y"]
    Ng = counts * rows.sum(axis=1)
    wG = struct["group_onehot"].T @ Ng  # total N_tau g_tau of each covariance group
    h = rows.T @ counts
    xt = rows.T @ (counts[:, None] * xbar)
    C = xbar.T @ (Ng[:, None] * xbar) + (wG[:, None, None] * Sigma).sum(axis=0) \
        + Y.T @ (h[:, None] * Y)
    S = Y.T @ xt + xt.T @ Y
    return C, S


def closure_rhs(struct: dict, state: dict, *, alpha=1.0, eta_x=1.0, eta_y=1.0, eta_W=1.0,
                nu=1.0):
    r"""Right-hand side of the type closure (spec §3.6) [RECONSTRUCTION]; ``struct`` is
    :meth:`TypeStructure.arrays`, ``state`` a dict (xbar, Sigma, Y, W).  Pure array code
    (numpy or JAX; rates and alpha may be traced)."""
    counts, rows = struct["counts"], struct["rows"]
    xbar, Sigma, Y, W = state["xbar"], state["Sigma"], state["Y"], state["W"]
    beta = 1.0 - alpha
    d = W.shape[0]
    M = W.T @ W + beta * np.eye(d)
    P = W.T + beta * W
    g = rows.sum(axis=1)[:, None]
    yhat = rows @ Y
    h = (rows.T @ counts)[:, None]
    xt = rows.T @ (counts[:, None] * xbar)
    dxbar = -eta_x * nu * (g * (xbar @ M) - yhat @ P.T)
    gG = struct["group_degree"][:, None, None]
    dSigma = -eta_x * nu * gG * (M @ Sigma + Sigma @ M)
    dY = -eta_y * nu * (h * (Y @ M) - xt @ P.T)
    C, S = closure_order_parameters(struct, state)
    dW = -eta_W * nu * (W @ C - S)
    return {"xbar": dxbar, "Sigma": dSigma, "Y": dY, "W": dW}


def type_means(X, structure: TypeStructure):
    """Type means x̄_tau of sample embeddings X (..., N, d) -> (..., T, d): the class/type
    average of a full simulation, to compare with the closure."""
    if structure.sample_type is None:
        raise ValueError("structure has no sample_type (population types); build it with "
                         "type_structure or empirical_init")
    onehot = (structure.sample_type[:, None] == np.arange(structure.n_types)[None, :])
    return np.einsum("it,...id->...td", onehot / structure.counts[None, :], np.asarray(X))


_KEYS = ("xbar", "Sigma", "Y", "W")


def simulate_closure(structure: TypeStructure, state0: dict, ts, *, alpha=1.0, eta_x=1.0,
                     eta_y=1.0, eta_W=1.0, nu=1.0, method="DOP853", rtol=1e-10, atol=1e-12):
    """Reference solve of the closure with SciPy (restarting at every output time, so each
    saved state is a step end point).  ``state0`` holds xbar, Sigma, Y, W; returns a dict of
    trajectories with a leading time axis plus ``ts`` and ``result`` (0 on success)."""
    from scipy.integrate import solve_ivp

    from .stopgrad import check_alpha

    alpha = check_alpha(alpha)
    rates = {name: check.positive(name, value) for name, value in
             (("eta_x", eta_x), ("eta_y", eta_y), ("eta_W", eta_W), ("nu", nu))}
    for key in _KEYS:
        check.finite_array(key, state0[key])
    arr = structure.arrays()
    shapes = [np.shape(state0[k]) for k in _KEYS]
    sizes = [int(np.prod(sh)) for sh in shapes]

    def unflat(z):
        parts, o = {}, 0
        for key, sh, size in zip(_KEYS, shapes, sizes):
            parts[key], o = z[o:o + size].reshape(sh), o + size
        return parts

    def rhs(t, z):
        v = closure_rhs(arr, unflat(z), alpha=alpha, **rates)
        return np.concatenate([np.ravel(v[k]) for k in _KEYS])

    ts = np.asarray(ts, dtype=float)
    z, t_prev, ok, out = np.concatenate([np.ravel(state0[k]) for k in _KEYS]), 0.0, True, []
    for t in ts:
        if t > t_prev:
            sol = solve_ivp(rhs, (t_prev, t), z, method=method, rtol=rtol, atol=atol)
            ok, z, t_prev = ok and sol.status == 0, sol.y[:, -1], t
        out.append(z)
    out = np.asarray(out)
    offsets = np.cumsum([0] + sizes)
    traj = {k: out[:, offsets[i]:offsets[i + 1]].reshape((len(ts),) + shapes[i])
            for i, k in enumerate(_KEYS)}
    traj.update(ts=ts, result=0 if ok else 1)
    return traj
