r"""Symplectic integrators for separable Hamiltonians H(q, p) = (1/2)||p||^2 + V(q), and the
diagnostics that tell a symplectic map from a non-symplectic one.

Paper: arXiv:2605.20107 (HamJEPA), spec ``shared/specs/hamiltonian_geometry.md`` §2.11-2.15, §3.
The leapfrog (kick-drift-kick) predictor and its properties (Thm 4.4, Cor 4.5, Lemma 4.7) are
CONFIRMED; the explicit modified-Hamiltonian h^2 terms and the exact quadratic flow are DERIVED.

All integrators take ``grad_V`` (q -> dV/dq, applied to the last axis) and arrays q, p of any
batch shape; they are pure JAX (jit, vmap and jacfwd work through them).
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np

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
    "energy_drift",
    "momentum_flip_error",
    "liouville_area_ratio",
    "symplectic_factorisation",
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
    r"""K-step kick-drift-kick leapfrog Phi^(K) = Psi_dt^K (Thm 4.4, CONFIRMED):

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
    """Drift-kick-drift leapfrog: q += dt/2 p; p -= dt grad V(q); q += dt/2 p."""
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
    from . import validation as check

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


def energy_drift(H_start, H_end, eps: float = 1e-12):
    """Relative energy drift (H_T - H_0)/(|H_0| + eps)."""
    return (H_end - H_start) / (jnp.abs(H_start) + eps)


def momentum_flip_error(integrator, grad_V, q, p, dt, n_steps: int) -> float:
    """Run forward, flip p, run forward again, flip p: a reversible scheme returns to (q, p)."""
    q1, p1 = integrator(grad_V, q, p, dt, n_steps)
    q2, p2 = integrator(grad_V, q1, -p1, dt, n_steps)
    return float(max(jnp.abs(q2 - q).max(), jnp.abs(-p2 - p).max()))


def liouville_area_ratio(integrator, grad_V, *, centre=(0.5, 0.0), half_width=0.35,
                         n_grid: int = 41, dt=0.1, n_steps: int = 250) -> float:
    """Phase-space area of a mapped square blob over its initial area (1 for area-preserving
    maps).  The blob is an n_grid x n_grid lattice; each mapped cell is split into two
    triangles whose areas are summed (spec §3.2 showcase)."""
    qs = np.linspace(centre[0] - half_width, centre[0] + half_width, n_grid)
    ps = np.linspace(centre[1] - half_width, centre[1] + half_width, n_grid)
    Q, P = np.meshgrid(qs, ps, indexing="ij")
    q1, p1 = integrator(grad_V, jnp.asarray(Q), jnp.asarray(P), dt, n_steps)

    def area(x, y):
        def tri(i0, j0, i1, j1, i2, j2):
            ax, ay = x[i1, j1] - x[i0, j0], y[i1, j1] - y[i0, j0]
            bx, by = x[i2, j2] - x[i0, j0], y[i2, j2] - y[i0, j0]
            return 0.5 * np.abs(ax * by - ay * bx)

        s0, s1 = slice(0, -1), slice(1, None)
        return float(np.sum(tri(s0, s0, s1, s0, s1, s1)) + np.sum(tri(s0, s0, s1, s1, s0, s1)))

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
