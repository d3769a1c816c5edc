r"""Model B: shared projection head with stop-gradient (partial-SG knob alpha).

Paper: L. H. Yao, Y. Li, S. Liu, "A Minimal Model of Representation Collapse: Frustration,
Stop-Gradient, and Dynamics", arXiv:2604.09979.

CONFIRMED (abstract, summaries, project page): a shared projection head plus stop-gradient
applied at the level of the training dynamics enables non-collapsed fixed points and
stabilises finite class separation under frustration; SG breaks the symmetry and opens a
non-collapsing subspace.  Everything in this module -- the loss, the flows, the conserved Q,
the fixed-point conditions and the K = 2 reduction -- is the RECONSTRUCTION of
``shared/specs/minimal_collapse_model.md`` §3 and §7.

Loss (default head ``cross_shared``, §3.1), written once in
:func:`minimal_models.objectives.collapse_models.model_b_loss`:

    l_ik = 1/2 ||W x_i - sg(y_k)||^2 + 1/2 ||W y_k - sg(x_i)||^2,   L_B = nu sum A_ik l_ik.

Flows (§3.2), beta = 1 - alpha (alpha = 1: exact SG; alpha = 0: full gradient of L_B):

    dx_i/dt = -eta_x nu sum_k A_ik [ W^T (W x_i - y_k) - beta (W y_k - x_i) ]
    dy_k/dt = -eta_y nu sum_i A_ik [ W^T (W y_k - x_i) - beta (W x_i - y_k) ]
    dW/dt   = -eta_W nu (W C - S),   C = X^T D_x X + Y^T D_y Y,   S = Y^T A^T X + X^T A Y.

The state is a dict ``{"X": (N, d), "Y": (K, d), "W": (d, d)}``; :func:`pack` stacks it into
one (N + K + d, d) array (every block has d columns) for solvers that want a single array.
Vector fields are pure array code: numpy in, numpy out; JAX in (traceable), JAX out.
"""

from __future__ import annotations

import numpy as np

from . import validation as check
from .coupling import validate_coupling
from .objectives.collapse_models import HEADS, model_b_loss
from .precision import require_x64

require_x64()

__all__ = [
    "HEADS",
    "check_alpha",
    "check_rates",
    "validate_state",
    "validate_embeddings",
    "pack",
    "unpack",
    "loss",
    "vector_field",
    "packed_vector_field",
    "invariant_Q",
    "class_difference_Q0",
    "order_parameters",
    "label_walk",
    "predicted_head_moduli",
    "fixed_point_conditions",
    "two_class_reduced_rhs",
    "two_class_invariant",
    "two_class_fixed_point",
    "two_class_threshold",
    "two_class_jacobian",
    "two_class_jacobian_eigenvalues",
    "two_class_collapsed_matrix",
    "two_class_collapse_rate",
]


# --------------------------------------------------------------------------- validation


def check_alpha(alpha) -> float:
    """alpha in [0, 1] (1: exact stop-gradient, 0: full gradient)."""
    return check.real("alpha", alpha, low=0.0, high=1.0)


def check_rates(eta_x, eta_y, eta_W, nu):
    """The four positive rates (ValueError naming the one that is not)."""
    return (check.positive("eta_x", eta_x), check.positive("eta_y", eta_y),
            check.positive("eta_W", eta_W), check.positive("nu", nu))


def validate_state(A, X, Y, W):
    """Check shapes and finiteness: A (N, K) >= 0, X (N, d), Y (K, d), W (d, d).  Returns
    float64 numpy copies (A, X, Y, W)."""
    A = validate_coupling(A)
    return (A,) + validate_embeddings(X, Y, W, n_samples=A.shape[0], n_classes=A.shape[1])


def validate_embeddings(X, Y, W, *, n_samples: int, n_classes: int, names=("X", "Y", "W")):
    """Check a Model B state without its coupling: finite X (N, d), Y (K, d), W (d, d) for
    N = ``n_samples``, K = ``n_classes``; ``names`` are the names the errors give the three
    arrays.  Returns float64 numpy copies (X, Y, W)."""
    nx, ny, nw = names
    X = check.finite_array(nx, X, ndim=2)
    d = X.shape[1]
    if X.shape[0] != n_samples:
        raise ValueError(f"{nx} must have shape (N, d) = ({n_samples}, d) for a coupling of "
                         f"N = {n_samples} samples, got {X.shape}")
    return X, check.finite_array(ny, Y, shape=(n_classes, d)), check.finite_array(nw, W,
                                                                               shape=(d, d))


# --------------------------------------------------------------------------- state layout


def pack(X, Y, W):
    """Stack (X, Y, W) into one (N + K + d, d) array (numpy or JAX, following the input)."""
    if all(isinstance(a, np.ndarray) for a in (X, Y, W)):
        return np.concatenate([X, Y, W], axis=0)
    import jax.numpy as jnp

    return jnp.concatenate([X, Y, W], axis=0)


def unpack(Z, n_samples: int, n_classes: int) -> dict:
    """Inverse of :func:`pack` along the second-to-last axis (a leading time axis is kept)."""
    N, K = n_samples, n_classes
    return {"X": Z[..., :N, :], "Y": Z[..., N:N + K, :], "W": Z[..., N + K:, :]}


# --------------------------------------------------------------------------- dynamics


def loss(A, state, *, nu=1.0, head="cross_shared"):
    """L_B of spec §3.1 at one state (its value does not depend on alpha): the single
    definition :func:`~minimal_models.objectives.collapse_models.model_b_loss`."""
    return model_b_loss(state["X"], state["Y"], state["W"], A, nu=nu, head=head)


def vector_field(A, state, *, alpha=1.0, eta_x=1.0, eta_y=1.0, eta_W=1.0, nu=1.0,
                 head="cross_shared", train_W=True):
    r"""Hand-derived velocity of Model B (spec §3.2, §7) [RECONSTRUCTION], a dict like ``state``.

    Row form (x_i are rows of X), g = A 1, h = A^T 1, beta = 1 - alpha:

    ``cross_shared``:
        dX = -eta_x nu [ g X W^T W - A Y W - beta (A Y W^T - g X) ]
        dY = -eta_y nu [ h Y W^T W - A^T X W - beta (A^T X W^T - h Y) ]
        dW = -eta_W nu ( W C - S )
    ``sample_side_only`` (l = 1/2 ||W x - sg(y)||^2):
        dX = -eta_x nu [ g X W^T W - A Y W ],  dY = -eta_y nu beta [ h Y - A^T X W^T ],
        dW = -eta_W nu [ W X^T D_x X - Y^T A^T X ]
    ``shared_both_sg_label_branch`` (l = 1/2 ||W x - sg(W y)||^2):
        dX = -eta_x nu (g X - A Y) W^T W,  dY = -eta_y nu beta (h Y - A^T X) W^T W,
        dW = -eta_W nu W [ X^T D_x X - beta X^T A Y - Y^T A^T X + beta Y^T D_y Y ]

    Each equals minus the rate-weighted gradient of
    :func:`~minimal_models.objectives.collapse_models.model_b_loss` (tested with ``jax.grad``).
    ``train_W=False`` freezes the head (with W = I and alpha = 1 the embedding equations are
    exactly Model A's, spec §3.2).  Rates and alpha may be traced arrays.
    """
    X, Y, W = state["X"], state["Y"], state["W"]
    beta = 1.0 - alpha
    g, h = A.sum(axis=1)[:, None], A.sum(axis=0)[:, None]
    AY, ATX = A @ Y, A.T @ X
    WtW = W.T @ W
    if head == "cross_shared":
        dX = -eta_x * nu * (g * (X @ WtW) - AY @ W - beta * (AY @ W.T - g * X))
        dY = -eta_y * nu * (h * (Y @ WtW) - ATX @ W - beta * (ATX @ W.T - h * Y))
        C = X.T @ (g * X) + Y.T @ (h * Y)
        S = Y.T @ ATX + X.T @ AY
        dW = -eta_W * nu * (W @ C - S)
    elif head == "sample_side_only":
        dX = -eta_x * nu * (g * (X @ WtW) - AY @ W)
        dY = -eta_y * nu * beta * (h * Y - ATX @ W.T)
        dW = -eta_W * nu * (W @ (X.T @ (g * X)) - Y.T @ ATX)
    elif head == "shared_both_sg_label_branch":
        dX = -eta_x * nu * ((g * X - AY) @ WtW)
        dY = -eta_y * nu * beta * ((h * Y - ATX) @ WtW)
        M = X.T @ (g * X) - beta * (X.T @ AY) - Y.T @ ATX + beta * (Y.T @ (h * Y))
        dW = -eta_W * nu * (W @ M)
    else:
        raise ValueError(f"head={head!r} is not one of {sorted(HEADS)}")
    if not train_W:
        dW = 0.0 * dW
    return {"X": dX, "Y": dY, "W": dW}


def packed_vector_field(A, Z, **kwargs):
    """:func:`vector_field` on the packed (N + K + d, d) state of :func:`pack`."""
    N, K = A.shape
    v = vector_field(A, unpack(Z, N, K), **kwargs)
    return pack(v["X"], v["Y"], v["W"])


# --------------------------------------------------------------------------- invariants


def invariant_Q(X, Y, W, *, eta_x=1.0, eta_y=1.0, eta_W=1.0):
    r"""Q = X^T X / eta_x + Y^T Y / eta_y - W^T W / eta_W (d x d), spec §3.3 [RECONSTRUCTION].

    Conserved by the alpha = 1 flow of the ``cross_shared`` head for every coupling A and every
    nu: d/dt (X^T X/eta_x + Y^T Y/eta_y) = -nu (W^T Gamma + Gamma^T W) = d/dt (W^T W)/eta_W.
    Not conserved for alpha < 1.  Leading axes of X, Y, W (e.g. time) are kept.  numpy or JAX.
    """
    if all(isinstance(a, np.ndarray) for a in (X, Y, W)):
        for name, value in (("eta_x", eta_x), ("eta_y", eta_y), ("eta_W", eta_W)):
            check.positive(name, value)
    tr = lambda M: np.swapaxes(M, -1, -2) if isinstance(M, np.ndarray) else M.swapaxes(-1, -2)  # noqa: E731
    return tr(X) @ X / eta_x + tr(Y) @ Y / eta_y - tr(W) @ W / eta_W


def class_difference_Q0(Q, X, classes, n_classes) -> float:
    r"""Half the smallest eigenvalue of Q restricted to the span of the class-mean differences
    of X (K - 1 directions) [RECONSTRUCTION, spec §3.7]:

        Q0 = (1/2) min eig(B^T Q B),   B = orthonormal basis of {xbar_k - xbar_0, k = 1..K-1}.

    For K = 2 this is Q0 = e^T Q e / 2 of the two-class reduction."""
    means = np.stack([X[classes == k].mean(axis=0) for k in range(n_classes)])
    diffs = (means[1:] - means[0]).T  # d x (K - 1)
    basis, _ = np.linalg.qr(diffs)
    return 0.5 * float(np.linalg.eigvalsh(basis.T @ Q @ basis)[0])


def order_parameters(A, X, Y):
    r"""Mean-field order parameters (C, S) of spec §3.2/§3.5 [RECONSTRUCTION]:

        C = sum_i g_i x_i x_i^T + sum_k h_k y_k y_k^T,   S = sum_{i,k} A_ik (y_k x_i^T + x_i y_k^T).

    The head couples to the population only through them: dW/dt = -eta_W nu (W C - S).
    """
    g, h = A.sum(axis=1)[:, None], A.sum(axis=0)[:, None]
    C = X.T @ (g * X) + Y.T @ (h * Y)
    S = Y.T @ (A.T @ X) + X.T @ (A @ Y)
    return C, S


def label_walk(A) -> np.ndarray:
    r"""T = D_y^{-1} A^T D_x^{-1} A (K x K): the label -> sample -> label walk of spec §2.6c.
    Eigenvalue 1 on the common mode; tau_j in [0, 1) on frustrated label-difference modes."""
    A = validate_coupling(A)
    g, h = A.sum(axis=1), A.sum(axis=0)
    if np.any(g <= 0) or np.any(h <= 0):
        raise ValueError("A has a sample or label of zero degree; the label walk needs g, h > 0")
    return (A.T @ (A / g[:, None])) / h[:, None]


def predicted_head_moduli(A) -> np.ndarray:
    r"""sqrt(tau_j) for the eigenvalues tau_j of the label walk T (ascending), spec §3.4
    [RECONSTRUCTION]: at an SG fixed point W^2 maps span Y into itself with the spectrum of T,
    so W has eigenvalues +-sqrt(tau_j) there -- the head contracts exactly the frustrated
    difference directions."""
    tau = np.sort(np.linalg.eigvals(label_walk(A)).real)
    return np.sqrt(np.clip(tau, 0.0, None))


def fixed_point_conditions(A, X, Y, W) -> dict:
    r"""Residuals of the alpha = 1 fixed-point conditions (spec §3.4) [RECONSTRUCTION]:

    - ``sample``:  max_i |W x_i - ybar_i|,   ybar_i = (1/g_i) sum_k A_ik y_k;
    - ``label``:   max_k |W y_k - xbar_k|,   xbar_k = (1/h_k) sum_i A_ik x_i;
    - ``walk``:    max |W^2 Y^T - Y^T T^T|  (self-consistency, T the label walk);
    - ``head``:    max |W C - S|  (the W condition; W = S C^{-1} is NOT implied, C is singular
      for d > 2K).

    With W invertible, dx/dt = dy/dt = 0 iff ``sample`` = ``label`` = 0, and then dW/dt = 0;
    a singular (or non-finite) W is refused because that equivalence fails.
    """
    A, X, Y, W = validate_state(A, X, Y, W)
    sv = np.linalg.svd(W, compute_uv=False)
    if sv[-1] <= 1e-12 * max(sv[0], 1.0):
        raise ValueError(f"W must be invertible for the fixed-point conditions (smallest singular "
                         f"value {sv[-1]:.3g})")
    g, h = A.sum(axis=1), A.sum(axis=0)
    ybar = (A @ Y) / g[:, None]
    xbar = (A.T @ X) / h[:, None]
    C, S = order_parameters(A, X, Y)
    T = label_walk(A)
    return {
        "sample": float(np.max(np.abs(X @ W.T - ybar))),
        "label": float(np.max(np.abs(Y @ W.T - xbar))),
        "walk": float(np.max(np.abs(W @ W @ Y.T - Y.T @ T.T))),
        "head": float(np.max(np.abs(W @ C - S))),
    }


# --------------------------------------------------------------------------- K = 2 reduction


def _stack(parts):
    if any(type(p).__module__.startswith("jax") for p in parts):
        import jax.numpy as jnp

        return jnp.stack(parts)
    return np.array(parts, dtype=np.float64)


def two_class_reduced_rhs(t, state, n, m, alpha=1.0):
    r"""Right-hand side of the exactly solvable K = 2 reduction (spec §3.7) [RECONSTRUCTION].

    Unit-sum, unit rates; n consistent samples per class at +-v e, m frustrated samples linked
    to both labels at 0, labels +-u e, W e = w e (n and m are real link weights here);
    beta = 1 - alpha:

        dv/dt = -w (w v - u) + beta (w u - v)
        du/dt = -w [(n + m) w u - n v] + beta [n (w v - u) - m u]
        dw/dt = -2n [(w v - u) v + (w u - v) u] - 2 m w u^2

    ``state`` = (v, u, w); returns an array (numpy, or JAX for traced input) of length 3.
    """
    v, u, w = state[0], state[1], state[2]
    beta = 1.0 - alpha
    dv = -w * (w * v - u) + beta * (w * u - v)
    du = -w * ((n + m) * w * u - n * v) + beta * (n * (w * v - u) - m * u)
    dw = -2.0 * n * ((w * v - u) * v + (w * u - v) * u) - 2.0 * m * w * u**2
    return _stack([dv, du, dw])


def two_class_invariant(state, n):
    """Q = n v^2 + u^2 - w^2/2 of the K = 2 reduction (conserved for alpha = 1; equals
    1/2 e^T Q e of :func:`invariant_Q`)."""
    v, u, w = state[0], state[1], state[2]
    return n * v**2 + u**2 - 0.5 * w**2


def two_class_fixed_point(n, m, Q0):
    r"""The alpha = 1 end point (u*, w*) selected by the invariant Q0 (spec §3.7) [RECONSTRUCTION].

    Separated branch (exists iff Q0 > -n/(2(n+m)), i.e. rho = m/(n+m) < 1 + 2 Q0):

        w*^2 = n/(n+m),   u*^2 = (Q0 + n/(2(n+m))) / (n+m+1),   v* = u*/w*,

    class separation 2u*.  Beyond the threshold the flow ends at the collapsed point
    (v, u, w) = (0, 0, w_c), w_c = sqrt(-2 Q0); this function then returns (0.0, w_c).
    """
    n = check.positive("n", n)
    m = check.real("m", m, low=0.0)
    Q0 = check.real("Q0", Q0)
    u2 = (Q0 + n / (2.0 * (n + m))) / (n + m + 1.0)
    if u2 > 0:
        return float(np.sqrt(u2)), float(np.sqrt(n / (n + m)))
    return 0.0, float(np.sqrt(-2.0 * Q0))


def two_class_threshold(n, Q0) -> float:
    r"""Critical frustration m_c of the SG separated branch (spec §3.7) [RECONSTRUCTION]:
    separated iff m < m_c = n (1/(-2 Q0) - 1) (rho < rho_c = 1 + 2 Q0).  Q0 >= 0: inf (every
    m separates); Q0 <= -1/2: 0 (every m > 0 collapses)."""
    n = check.positive("n", n)
    Q0 = check.real("Q0", Q0)
    if Q0 >= 0:
        return float("inf")
    if Q0 <= -0.5:
        return 0.0
    return n * (1.0 / (-2.0 * Q0) - 1.0)


def two_class_jacobian(n, m, Q0) -> np.ndarray:
    r"""Jacobian of :func:`two_class_reduced_rhs` (alpha = 1) at the separated fixed point
    (spec §3.7) [RECONSTRUCTION], variables (v, u, w):

        J = [[ -w*^2, w*, -u* ], [ n w*, -(n+m) w*^2, -n u*/w* ], [ 0, 0, -4 (n+m) u*^2 ]].
    """
    u, w = two_class_fixed_point(n, m, Q0)
    if u == 0.0:
        raise ValueError(f"Q0={Q0} is beyond the threshold for n={n}, m={m}: no separated "
                         "fixed point")
    return np.array([[-w**2, w, -u],
                     [n * w, -(n + m) * w**2, -n * u / w],
                     [0.0, 0.0, -4.0 * (n + m) * u**2]])


def two_class_jacobian_eigenvalues(n, m, Q0) -> np.ndarray:
    """Closed-form eigenvalues {0, -n(n+m+1)/(n+m), -4(n+m)u*^2} of :func:`two_class_jacobian`:
    neutral along the fixed line, attracting across it (spec §3.7)."""
    u, _ = two_class_fixed_point(n, m, Q0)
    return np.array([0.0, -n * (n + m + 1.0) / (n + m), -4.0 * (n + m) * u**2])


def two_class_collapsed_matrix(n, m, w, alpha) -> np.ndarray:
    r"""Linearisation of (v, u) at the collapsed point u = v = 0, head w fixed, general
    beta = 1 - alpha (spec §3.7) [RECONSTRUCTION]:

        [[ -(w^2 + beta), w (1 + beta) ], [ n w (1 + beta), -(n+m) (w^2 + beta) ]].

    Stable iff (n+m)(w^2 + beta)^2 > n w^2 (1 + beta)^2.
    """
    beta = 1.0 - check_alpha(alpha)
    return np.array([[-(w**2 + beta), w * (1 + beta)],
                     [n * w * (1 + beta), -(n + m) * (w**2 + beta)]])


def two_class_collapse_rate(n, m, alpha, w=None) -> float:
    r"""Late collapse rate of partial SG: minus the larger eigenvalue of
    :func:`two_class_collapsed_matrix` at w (default w* = sqrt(n/(n+m)), the SG manifold that
    partial SG approaches first), spec §3.7 / §6 B4 [RECONSTRUCTION]; approximately
    2 beta m / (n + m + 1).  Returned as det/(-tr)-stable root of the 2 x 2 characteristic
    polynomial."""
    n = check.positive("n", n)
    m = check.real("m", m, low=0.0)
    if w is None:
        w = np.sqrt(n / (n + m))
    J = two_class_collapsed_matrix(n, m, w, alpha)
    tr, det = np.trace(J), np.linalg.det(J)
    disc = np.sqrt(max(tr * tr - 4 * det, 0.0))
    return float(2.0 * det / (-tr + disc))  # smaller-magnitude root without cancellation
