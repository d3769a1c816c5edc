r"""Symplectic integrators for separable Hamiltonians H(q, p) = (1/2)||p||^2 + V(q), and the
diagnostics that tell a symplectic map from a non-symplectic one.

Paper: arXiv:2605.20107 (HamJEPA), spec ``shared/specs/hamiltonian_geometry.md`` §2.11-2.15, §3.
The leapfrog (kick-drift-kick) predictor and its properties (Thm 4.4, Cor 4.5, Lemma 4.7) are
CONFIRMED; the explicit modified-Hamiltonian h^2 terms and the exact quadratic flow are DERIVED.
Result numbers are the preprint's (spec); arXiv v1 numbers the leapfrog theorem A.4.
The author's physics-showcase metrics (:func:`momentum_flip_error` with ``metric="wrapped_l2"``,
:func:`showcase_energy_drift`, :func:`liouville_area_ratio`) are CONFIRMED in the author's code;
:func:`energy_drift` and the ``"max_abs"`` flip metric are ours.

All integrators take ``grad_V`` (q -> dV/dq, applied to the last axis) and arrays q, p of any
batch shape; they are pure JAX (jit, vmap and jacfwd work through them).
"""

from __future__ import annotations

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from . import validation as check

__all__ = [
    "J_matrix",
    "leapfrog",
    "leapfrog_dkd",
    "symplectic_euler",
    "explicit_euler",
    "SCHEMES",
    "HAMILTONIANS",
    "integrator",
    "learnable_hamiltonian",
    "nonseparable_leapfrog",
    "quadratic_exact_flow",
    "modified_hamiltonian",
    "flow_jacobian",
    "symplecticity_defect",
    "logabsdet",
    "sv_pairing_error",
    "inverse_error",
    "trajectory",
    "wrap_angle",
    "energy_drift",
    "showcase_energy_drift",
    "momentum_flip_error",
    "FLIP_METRICS",
    "liouville_area_ratio",
    "TRIANGULATIONS",
    "symplectic_factorisation",
    "pushforward_entropy",
    "approximation_bound",
]


def J_matrix(n: int) -> np.ndarray:
    """Canonical symplectic matrix J = [[0, I], [-I, 0]] of size 2n."""
    eye, zero = np.eye(n), np.zeros((n, n))
    return np.block([[zero, eye], [-eye, zero]])


def _iterate(step, q, p, n_steps: int):
    """Apply a one-step map (q, p) -> (q, p) n_steps times with lax.scan."""
    (q, p), _ = jax.lax.scan(lambda state, _: (step(*state), None),
                             (jnp.asarray(q), jnp.asarray(p)), None, length=n_steps)
    return q, p


def leapfrog(grad_V, q, p, dt, n_steps: int):
    r"""K-step kick-drift-kick leapfrog Phi^(K) = Psi_dt^K (Thm 4.4 of the preprint, Thm A.4 of
    arXiv v1; CONFIRMED):

        p <- p - (dt/2) grad V(q);   q <- q + dt p;   p <- p - (dt/2) grad V(q).

    Symplectic and symmetric: ``leapfrog(grad_V, *leapfrog(grad_V, q, p, dt, K), -dt, K)``
    returns (q, p) up to round-off.  Returns the final ``(q, p)``.
    """
    def step(q, p):
        p = p - 0.5 * dt * grad_V(q)
        q = q + dt * p
        return q, p - 0.5 * dt * grad_V(q)

    return _iterate(step, q, p, n_steps)


def leapfrog_dkd(grad_V, q, p, dt, n_steps: int):
    """Drift-kick-drift leapfrog: q += dt/2 p; p -= dt grad V(q); q += dt/2 p.

    Symplectic and symmetric like KDK, but with its own shadow Hamiltonian (the h^2
    coefficients of :func:`modified_hamiltonian` swap; spec §2.15, I7).  Not the author's
    predictor (that is KDK); a contrast, DERIVED."""
    def step(q, p):
        q = q + 0.5 * dt * p
        p = p - dt * grad_V(q)
        return q + 0.5 * dt * p, p

    return _iterate(step, q, p, n_steps)


def symplectic_euler(grad_V, q, p, dt, n_steps: int):
    """p <- p - dt grad V(q); q <- q + dt p (new p).  Order 1, symplectic, not symmetric."""
    def step(q, p):
        p = p - dt * grad_V(q)
        return q + dt * p, p

    return _iterate(step, q, p, n_steps)


def explicit_euler(grad_V, q, p, dt, n_steps: int):
    """q+ = q + dt p, p+ = p - dt grad V(q) from the old state: the non-symplectic contrast
    (det of the step Jacobian = det(I + dt^2 Hess V) != 1)."""
    return _iterate(lambda q, p: (q + dt * p, p - dt * grad_V(q)), q, p, n_steps)


SCHEMES = {"kdk": leapfrog, "dkd": leapfrog_dkd, "symplectic_euler": symplectic_euler,
           "explicit_euler": explicit_euler}
HAMILTONIANS = ("separable", "quadratic", "learnable_nonseparable")


def integrator(scheme: str = "kdk", *, hamiltonian: str = "separable"):
    """The K-step map ``(grad_V, q, p, dt, n_steps) -> (q, p)`` named by ``scheme``.

    The separable schemes need H = (1/2)||p||^2 + V(q) ("separable", or its "quadratic" special
    case).  For the author's ``learnable_nonseparable`` H the explicit splitting is not
    symplectic, so it is refused here; use :func:`nonseparable_leapfrog` to study it on purpose.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme={scheme!r} is not one of {sorted(SCHEMES)}")
    if hamiltonian not in HAMILTONIANS:
        raise ValueError(f"hamiltonian={hamiltonian!r} is not one of {list(HAMILTONIANS)}")
    if hamiltonian == "learnable_nonseparable":
        raise ValueError(
            f"hamiltonian={hamiltonian!r} with scheme={scheme!r}: explicit splitting of a "
            "non-separable H(q, p) is not symplectic; allowed hamiltonians for these schemes "
            "are 'separable' and 'quadratic' (nonseparable_leapfrog runs it with a warning)")
    return SCHEMES[scheme]


def learnable_hamiltonian(f, s):
    """The author's non-separable ``LearnableHamiltonian`` (CONFIRMED in code):
    H(q, p) = (1/2)(||q||^2 + ||p||^2) + s f([q, p])."""
    def H(q, p):
        return 0.5 * (q @ q + p @ p) + s * f(jnp.concatenate([q, p]))

    return H


def nonseparable_leapfrog(H, q, p, dt, n_steps: int, *, allow_nonsymplectic: bool = False):
    r"""Explicit kick-drift-kick applied to a general H(q, p) (1-D q, p):

        p <- p - (dt/2) dH/dq(q, p);   q <- q + dt dH/dp(q, p);   p <- p - (dt/2) dH/dq(q, p).

    When H is not separable the kick depends on p, its Jacobian is no longer a symmetric shear,
    and the map is NOT symplectic (spec §3.1; the author's code warns likewise, CONFIRMED in
    code).  Refused with ``ValueError`` unless
    ``allow_nonsymplectic=True``, which runs it with a ``UserWarning`` (for diagnostics only).
    """
    if not allow_nonsymplectic:
        raise ValueError("allow_nonsymplectic=False: explicit leapfrog on a non-separable "
                         "Hamiltonian is not symplectic; pass allow_nonsymplectic=True to run "
                         "it anyway (allowed: True or False)")
    warnings.warn("explicit leapfrog on a non-separable Hamiltonian is not symplectic",
                  UserWarning, stacklevel=2)
    dH_dq, dH_dp = jax.grad(H, argnums=0), jax.grad(H, argnums=1)

    def step(q, p):
        p = p - 0.5 * dt * dH_dq(q, p)
        q = q + dt * dH_dp(q, p)
        return q, p - 0.5 * dt * dH_dq(q, p)

    return _iterate(step, q, p, n_steps)


def quadratic_exact_flow(H, t) -> np.ndarray:
    r"""Exact flow of the quadratic lift q' = p, p' = -H q (Prop. 3.6; DERIVED):
    F(t) = [[cos Omega t, Omega^{-1} sin Omega t], [-Omega sin Omega t, cos Omega t]], Omega = H^{1/2}."""
    H = check.spd_matrix("H", H)
    lam, U = np.linalg.eigh(H)
    w = np.sqrt(lam)
    f = lambda values: (U * values) @ U.T  # noqa: E731  (a function of H in its eigenbasis)
    return np.block([[f(np.cos(w * t)), f(np.sin(w * t) / w)],
                     [f(-w * np.sin(w * t)), f(np.cos(w * t))]])


def modified_hamiltonian(V, q, p, h, *, scheme: str = "kdk"):
    r"""Shadow Hamiltonian to O(h^4) (Thm 4.8 CONFIRMED; h^2 coefficients DERIVED):

        KDK: H~ = H + h^2 [ (1/12) p^T Hess V p - (1/24) ||grad V||^2 ]
        DKD: H~ = H + h^2 [ -(1/24) p^T Hess V p + (1/12) ||grad V||^2 ]
    """
    if scheme not in ("kdk", "dkd"):
        raise ValueError(f"scheme={scheme!r} is not one of ['dkd', 'kdk']")
    g = jax.grad(V)(q)
    pHp = p @ jax.jvp(jax.grad(V), (q,), (p,))[1]
    a, b = (1 / 12, -1 / 24) if scheme == "kdk" else (-1 / 24, 1 / 12)
    return 0.5 * p @ p + V(q) + h**2 * (a * pHp + b * g @ g)


def flow_jacobian(integrator, grad_V, q, p, dt, n_steps: int) -> np.ndarray:
    """D Phi at (q, p) for a single state (1-D q, p), by forward-mode autodiff."""
    n = q.shape[-1]

    def phi(s):
        q1, p1 = integrator(grad_V, s[:n], s[n:], dt, n_steps)
        return jnp.concatenate([q1, p1])

    return np.asarray(jax.jacfwd(phi)(jnp.concatenate([q, p])))


def symplecticity_defect(A, *, norm: str = "max") -> float:
    """||A^T J A - J|| (max-abs entries, or Frobenius with ``norm="fro"``)."""
    A = np.asarray(A)
    J = J_matrix(A.shape[0] // 2)
    D = A.T @ J @ A - J
    return float(np.abs(D).max() if norm == "max" else np.linalg.norm(D))


def logabsdet(A) -> float:
    """log |det A| (0 for a volume-preserving map)."""
    return float(np.linalg.slogdet(np.asarray(A))[1])


def sv_pairing_error(A) -> float:
    """max_i |sigma_i sigma_{2n+1-i} - 1|: symplectic matrices pair singular values (Lemma 4.7)."""
    s = np.linalg.svd(np.asarray(A), compute_uv=False)
    return float(np.max(np.abs(s * s[::-1] - 1)))


def inverse_error(integrator, grad_V, q, p, dt, n_steps: int) -> float:
    """max |Phi(Phi(s; +dt); -dt) - s|: zero for a symmetric (time-reversible) scheme."""
    q1, p1 = integrator(grad_V, q, p, dt, n_steps)
    q0, p0 = integrator(grad_V, q1, p1, -dt, n_steps)
    return float(max(jnp.abs(q0 - q).max(), jnp.abs(p0 - p).max()))


def trajectory(integrator, grad_V, q, p, dt, n_steps: int, *, wrap_q: bool = False):
    """All states of an ``n_steps`` rollout, one step at a time: arrays of shape
    (n_steps + 1, *q.shape) for q and p, the start included.

    ``wrap_q=True`` wraps q to [-pi, pi) after every step, as the author's showcase does for the
    pendulum (its angle q): for a 2 pi-periodic potential the dynamics are unchanged, but in
    float32 a wrapped q keeps its precision when the trajectory winds many times."""
    return _compiled(_trajectory, integrator, grad_V, n_steps, wrap_q)(jnp.asarray(q),
                                                                       jnp.asarray(p), dt)


def _trajectory(integrator, grad_V, n_steps, wrap_q):
    def run(q, p, dt):
        def step(state, _):
            q, p = integrator(grad_V, *state, dt, 1)
            q = wrap_angle(q) if wrap_q else q
            return (q, p), (q, p)

        _, (qs, ps) = jax.lax.scan(step, (q, p), None, length=n_steps)
        return jnp.concatenate([q[None], qs]), jnp.concatenate([p[None], ps])

    return run


@functools.lru_cache(maxsize=64)
def _cached_jit(builder, *key):
    return jax.jit(builder(*key))


def _compiled(builder, *key):
    """jit(builder(*key)), cached per key: repeated rollouts of the same integrator and
    potential compile once per shape (dt is a traced argument, so any dt reuses it)."""
    try:
        return _cached_jit(builder, *key)
    except TypeError:  # an unhashable grad_V: compile without the cache
        return jax.jit(builder(*key))


def wrap_angle(x):
    """Angle wrapped to [-pi, pi): (x + pi) mod 2 pi - pi, as in the author's showcase.
    (Where the spec writes (-pi, pi], only the sign of a value at exactly +-pi differs, which no
    norm sees.)"""
    return (x + jnp.pi) % (2 * jnp.pi) - jnp.pi


def energy_drift(H_start, H_end, eps: float = 1e-12):
    """Relative energy drift (H_T - H_0)/(|H_0| + eps).  OUR convention (a near-exact relative
    error); the author's showcase uses :func:`showcase_energy_drift` instead."""
    return (H_end - H_start) / (jnp.abs(H_start) + eps)


def showcase_energy_drift(H_start, H_end, *, eps: float = 1e-3, mask_below: float | None = 5e-3,
                          denominator: str = "shift"):
    r"""The author's relative energy drift (physics showcase, CONFIRMED in the author's code,
    spec §3.2):

        heatmap (``denominator="shift"``, defaults):  (H_T - H_0) / (H_0 + 1e-3),
                                                      NaN where H_0 <= 5e-3 (masked);
        energy-vs-time bands (``denominator="floor"``, ``mask_below=None``):
                                                      (H_T - H_0) / max(H_0, 1e-3).

    The showcase evaluates it in float32 on rollouts that wrap q every step; both are the
    caller's choice of inputs (see :func:`trajectory`).  Returns a float64 numpy array."""
    if denominator not in ("shift", "floor"):
        raise ValueError(f"denominator={denominator!r} is not one of ['floor', 'shift']")
    H0, HT = np.asarray(H_start, dtype=np.float64), np.asarray(H_end, dtype=np.float64)
    base = H0 + eps if denominator == "shift" else np.maximum(H0, eps)
    drift = (HT - H0) / base
    if mask_below is not None:
        drift = np.where(H0 > mask_below, drift, np.nan)
    return drift


FLIP_METRICS = ("wrapped_l2", "max_abs")


def momentum_flip_error(integrator, grad_V, q, p, dt, n_steps: int, *, metric: str):
    r"""Momentum-flip return error: run forward n_steps, flip p, run forward again, flip p; a
    time-reversible scheme returns to (q, p).  States have shape (..., d); one error per state.

    ``metric="wrapped_l2"`` is the author's showcase metric (CONFIRMED in the author's code,
    spec §3.2, I10) for an angle q:  sqrt(sum_i wrap(q2 - q0)_i^2 + (p2 - p0)_i^2), with the
    difference in q wrapped to [-pi, pi) (Euler from (0.5, 0.3), dt 0.1, 250 steps: 3.144).
    ``metric="max_abs"`` is OUR diagnostic: max |.| over the unwrapped q and p differences
    (16.19 for the same run); a different number, not the author's.

    Returns a float for a single state (1-D q), else an array of shape q.shape[:-1].
    """
    if metric not in FLIP_METRICS:
        raise ValueError(f"metric={metric!r} is not one of {list(FLIP_METRICS)}")
    q, p = jnp.asarray(q), jnp.asarray(p)
    if q.ndim == 0:
        raise ValueError(f"q must have a last axis of state coordinates (shape (..., d)), "
                         f"got shape {q.shape}")
    dq, dp = _compiled(_flip_return, integrator, grad_V, n_steps)(q, p, dt)
    if metric == "wrapped_l2":
        err = jnp.sqrt(jnp.sum(wrap_angle(dq) ** 2 + dp**2, axis=-1))
    else:
        err = jnp.maximum(jnp.abs(dq).max(axis=-1), jnp.abs(dp).max(axis=-1))
    err = np.asarray(err)
    return float(err) if err.ndim == 0 else err


TRIANGULATIONS = ("author", "main")


def liouville_area_ratio(integrator, grad_V, *, centre=(0.5, 0.0), half_width=0.35,
                         n_grid: int = 41, dt=0.1, n_steps: int = 250,
                         triangulation: str = "author") -> float:
    """Phase-space area of a mapped square blob over its initial area (1 for area-preserving
    maps).  The blob is an n_grid x n_grid lattice (q unwrapped); each mapped cell is split into
    two triangles whose areas are summed.

    ``triangulation="author"`` splits every cell along its (q_{i+1}, p_j)-(q_i, p_{j+1})
    diagonal, as the author's showcase does (CONFIRMED in the author's code, spec §3.2, I11);
    ``"main"`` splits along (q_i, p_j)-(q_{i+1}, p_{j+1}) (ours).  For the leapfrog both give the
    same ratio (0.99976 at 41^2); for explicit Euler they differ (6.71 vs 7.79 at 41^2, both
    tending to the exact mean Jacobian determinant 6.37 as the grid refines)."""
    if triangulation not in TRIANGULATIONS:
        raise ValueError(f"triangulation={triangulation!r} is not one of {list(TRIANGULATIONS)}")
    qs = np.linspace(centre[0] - half_width, centre[0] + half_width, n_grid)
    ps = np.linspace(centre[1] - half_width, centre[1] + half_width, n_grid)
    Q, P = np.meshgrid(qs, ps, indexing="ij")
    q1, p1 = integrator(grad_V, jnp.asarray(Q), jnp.asarray(P), dt, n_steps)

    def area(x, y):
        def tri(a, b, c):  # |cross product| / 2 of the triangle with corners a, b, c
            return 0.5 * np.abs((x[b] - x[a]) * (y[c] - y[a]) - (y[b] - y[a]) * (x[c] - x[a]))

        lo, hi = slice(0, -1), slice(1, None)
        c00, c10, c01, c11 = (lo, lo), (hi, lo), (lo, hi), (hi, hi)  # (q index, p index)
        if triangulation == "author":
            return float(np.sum(tri(c00, c10, c01)) + np.sum(tri(c10, c11, c01)))
        return float(np.sum(tri(c00, c10, c11)) + np.sum(tri(c00, c11, c01)))

    return area(np.asarray(q1), np.asarray(p1)) / area(Q, P)


def symplectic_factorisation(A):
    r"""Prop. B.3 (CONFIRMED): A = [[a, b], [c, d]] symplectic with d invertible factorises as

        A = [[I, B], [0, I]] [[d^{-T}, 0], [0, d]] [[I, 0], [C, I]],  B = b d^{-1}, C = d^{-1} c,

    with B and C symmetric.  Returns (B, d, C)."""
    A = np.asarray(A, dtype=np.float64)
    n = A.shape[0] // 2
    b, c, d = A[:n, n:], A[n:, :n], A[n:, n:]
    d_inv = np.linalg.inv(d)
    return b @ d_inv, d, d_inv @ c


def _flip_return(integrator, grad_V, n_steps):
    def run(q, p, dt):  # forward, flip p, forward, flip p: the return displacement
        q1, p1 = integrator(grad_V, q, p, dt, n_steps)
        q2, p2 = integrator(grad_V, q1, -p1, dt, n_steps)
        return q2 - q, -p2 - p

    return run


def pushforward_entropy(F, samples, h_X: float) -> float:
    r"""Differential entropy of F(X) from that of X (Cor 4.3, CONFIRMED; Thm 4.2 gives the
    symplectic case): for a C^1 diffeomorphism F,

        h(F(X)) = h(X) + E log |det DF(X)|,

    with the expectation estimated on ``samples`` (shape (n, d), draws of X) and DF by
    ``jax.jacfwd``.  ``F`` maps one state (d,) to (d,).  A symplectic F has det DF = 1, so it
    leaves the entropy unchanged (Prop 4.16: a symplectic predictor cannot collapse)."""
    samples = jnp.asarray(samples)
    if samples.ndim != 2:
        raise ValueError(f"samples must have shape (n, d), got {samples.shape}")
    logdets = jax.vmap(lambda x: jnp.linalg.slogdet(jax.jacfwd(F)(x))[1])(samples)
    return float(h_X + jnp.mean(logdets))


def approximation_bound(lipschitz: float, T: float, grad_error: float, dt: float,
                        local_constant: float) -> float:
    r"""Prop 4.6 (CONFIRMED): for K steps of size dt = T/K of leapfrog with a learned potential
    V_phi against the exact flow of V, on a compact set,

        sup ||Phi_phi^(K)(s) - Phi^V_T(s)|| <= C_1 sup||grad V_phi - grad V|| + C_2 dt^2,
        C_1 = (e^{L T} - 1)/L                     (Groenwall, the force error),
        C_2 = (C_loc / L)(e^{L T} - 1)            (Strang splitting + discrete Groenwall),

    L the Lipschitz constant of the Hamiltonian vector field and C_loc the local-error constant
    (one step errs by <= C_loc dt^3).  The paper's C (delta + dt^2) with C = C_1 + C_2 or
    max(C_1, C_2) is looser than this sum.  The error is first order in the force error and
    second order in dt; tests measure both orders."""
    L = check.positive("lipschitz", lipschitz)
    T = check.positive("T", T)
    delta = check.real("grad_error", grad_error, low=0.0)
    dt = check.positive("dt", dt)
    c_loc = check.real("local_constant", local_constant, low=0.0)
    growth = np.expm1(L * T) / L
    return float(growth * delta + c_loc * growth * dt**2)
