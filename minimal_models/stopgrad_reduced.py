r"""Exact reduced state of Model B: one row mean per distinct coupling row, one propagator per
degree.

Paper: L. H. Yao, Y. Li, S. Liu, "A Minimal Model of Representation Collapse: Frustration,
Stop-Gradient, and Dynamics", arXiv:2604.09979.  CONFIRMED (abstract): the stop-gradient
dynamics is analysed through a *dynamical mean-field style self-consistency*.  The flows below
are the RECONSTRUCTION of ``shared/specs/minimal_collapse_model.md`` §3.2/§7 (the three heads of
:func:`minimal_models.stopgrad.vector_field`); the reduction is DERIVED from them exactly -- it
is a change of variables, not an approximation, so it holds at every finite N.

Why it is exact.  For every head the sample equation is affine in x_i with a linear part that
depends on the sample only through its degree g_i = sum_k A_ik and a forcing that depends on it
only through its coupling row a_i (column vectors, beta = 1 - alpha):

    dx_i/dt = -eta_x nu [ g_i M(t) x_i - P(t) yhat_i ],      yhat_i = sum_k A_ik y_k,

    head                          M(t)              P(t) yhat_i
    ``cross_shared``              W^T W + beta I    (W^T + beta W) yhat_i
    ``sample_side_only``          W^T W             W^T yhat_i
    ``shared_both_sg_label_branch`` W^T W           W^T W yhat_i

(M = W^T W + beta I for ``cross_shared``; for the other two heads beta does not enter M).
Group the samples by coupling row: r = 1..R distinct rows a_r with n_r members.  With xbar_r
the group mean and delta_i = x_i - xbar_r, every member obeys the same affine equation, so
xbar_r obeys it too and the deviations obey the homogeneous one,
d delta_i/dt = -eta_x nu g_r M(t) delta_i.  Groups of equal degree g share the propagator

    dU_g/dt = -eta_x nu g M(t) U_g,   U_g(0) = I,        x_i(t) = xbar_r(t) + U_g(t) delta_i(0).

The labels and the head see the samples only through the first moments xtilde_k =
sum_i A_ik x_i = sum_r n_r a_rk xbar_r (the deviations sum to zero in a group) and the degree-
weighted second moment

    C_x = sum_i g_i x_i x_i^T = sum_r n_r g_r xbar_r xbar_r^T + sum_g g U_g S0_g U_g^T,
    S0_g = sum_{i: g_i = g} delta_i(0) delta_i(0)^T,

so the reduced state (xbar_r, y_k, W, U_g) closes, with h_k = sum_r n_r a_rk:

    ``cross_shared``:
        dxbar_r/dt = -eta_x nu [ g_r (W^T W + beta I) xbar_r - (W^T + beta W) yhat_r ]
        dy_k/dt    = -eta_y nu [ h_k (W^T W + beta I) y_k - (W^T + beta W) xtilde_k ]
        dW/dt      = -eta_W nu [ W (C_x + sum_k h_k y_k y_k^T)
                                 - sum_k (y_k xtilde_k^T + xtilde_k y_k^T) ]
    ``sample_side_only``:
        dxbar_r/dt = -eta_x nu [ g_r W^T W xbar_r - W^T yhat_r ]
        dy_k/dt    = -eta_y nu beta [ h_k y_k - W xtilde_k ]
        dW/dt      = -eta_W nu [ W C_x - sum_k y_k xtilde_k^T ]
    ``shared_both_sg_label_branch``:
        dxbar_r/dt = -eta_x nu W^T W (g_r xbar_r - yhat_r)
        dy_k/dt    = -eta_y nu beta W^T W (h_k y_k - xtilde_k)
        dW/dt      = -eta_W nu W [ C_x - beta sum_k xtilde_k y_k^T - sum_k y_k xtilde_k^T
                                   + beta sum_k h_k y_k y_k^T ]

and dU_g/dt as above (M of the head).  ``train_W=False`` sets dW/dt = 0 (U_g still moves).
All three heads of :data:`minimal_models.stopgrad.HEADS` reduce exactly, for every alpha and
every non-negative coupling; any other head is refused (ValueError), and the caller falls back
to the full state.  State size R d + K d + d^2 + G d^2, independent of N (F5: R = 10, K = 4,
d = 8, G = 2 -> 304 numbers instead of N d + K d + d^2 = 1696).  It pays iff
(N - R) d > G d^2 (:meth:`CouplingGroups.pays`); with all rows distinct it never does and
:func:`reduce_coupling` refuses.

Relation to :mod:`minimal_models.meanfield` (spec §3.6): that closure evolves covariances
Sigma_tau of types, which gives C but not the samples; the propagators here keep the
per-sample state, so :func:`reconstruct` returns X(t) exactly and every per-sample output
(head-space accuracies, the loss, Q) is the full model's.

Conventions as in :mod:`minimal_models.stopgrad`: rows of X, Y are embeddings (row form in the
code: xbar_r^T = row r of ``Xbar``; U_g acts on columns, so a row transforms as delta^T U_g^T).
The vector field uses array operators only: numpy in, numpy out (SciPy reference); JAX in,
JAX out (jit/vmap-able, one parameter point, rates may be traced).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import numpy as np

from . import validation as check
from .coupling import validate_coupling
from .objectives.collapse_models import HEADS
from .precision import require_x64
from .stopgrad import validate_embeddings

require_x64()

__all__ = [
    "REDUCIBLE_HEADS",
    "CouplingGroups",
    "ReducedStructure",
    "reduce_coupling",
    "reduced_initial_state",
    "reduced_vector_field",
    "reconstruct",
    "sample_moments",
    "reduced_invariant_Q",
]

# Every head of Model B has a sample equation affine in x_i with a degree-only linear part
# (derivation in the module docstring); a new head must be derived before it is listed here.
REDUCIBLE_HEADS = ("cross_shared", "sample_side_only", "shared_both_sg_label_branch")


def _check_head(head):
    check.choice("head", head, HEADS)
    if head not in REDUCIBLE_HEADS:  # pragma: no cover - every current head reduces
        raise ValueError(f"head={head!r} has no exact reduced state; use the full flow "
                         f"(reducible heads: {list(REDUCIBLE_HEADS)})")
    return head


# --------------------------------------------------------------------------- structure


@dataclasses.dataclass(frozen=True)
class CouplingGroups:
    """Samples grouped by identical coupling row (exact float equality).

    ``rows`` a_r (R, K), ``counts`` n_r (R,), ``group`` r(i) of each sample (N,), ``degrees`` the
    distinct g (G,), ``degree_of_group`` (R,) the index into ``degrees`` of g_r = sum_k a_rk.
    """

    rows: np.ndarray
    counts: np.ndarray
    group: np.ndarray
    degrees: np.ndarray
    degree_of_group: np.ndarray

    @property
    def n_samples(self) -> int:
        return int(self.group.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.rows.shape[1])

    @property
    def n_groups(self) -> int:
        return int(self.rows.shape[0])

    @property
    def n_degrees(self) -> int:
        return int(self.degrees.shape[0])

    def coupling(self) -> np.ndarray:
        """The full A (N, K) = rows[group] (inverse of :func:`reduce_coupling`)."""
        return self.rows[self.group]

    def state_size(self, dim: int) -> int:
        """Numbers in the reduced state: R d + K d + d^2 + G d^2."""
        d = check.integer("dim", dim, minimum=1)
        return (self.n_groups + self.n_classes) * d + (1 + self.n_degrees) * d * d

    def full_state_size(self, dim: int) -> int:
        """Numbers in the full state: N d + K d + d^2."""
        d = check.integer("dim", dim, minimum=1)
        return (self.n_samples + self.n_classes) * d + d * d

    def pays(self, dim: int) -> bool:
        """True iff the reduced state is smaller than the full one, (N - R) d > G d^2."""
        return self.state_size(dim) < self.full_state_size(dim)


def reduce_coupling(A, *, require_repeats: bool = True) -> CouplingGroups:
    r"""Group the samples of a coupling A (N, K) by identical row [DERIVED, exact].

    Rows are compared bit for bit (after mapping -0.0 to 0.0) and the degrees g_r = sum_k a_rk
    are computed exactly as :func:`minimal_models.stopgrad.vector_field` computes g_i, so the
    reduced flow sees the same numbers as the full one.  With ``require_repeats`` (default), a
    coupling whose N rows are all distinct is refused with ValueError: the reduced state would
    only add propagators, so the caller should use the full flow.
    """
    A = validate_coupling(A) + 0.0  # + 0.0 maps -0.0 to 0.0 so equal rows compare equal
    rows, group = np.unique(A, axis=0, return_inverse=True)
    group = np.asarray(group).reshape(-1)
    N, R = A.shape[0], rows.shape[0]
    if require_repeats and R == N:
        raise ValueError(f"A has {R} distinct rows out of N = {N}: no two samples share a "
                         "coupling row, so the reduced state does not pay; use the full flow "
                         "(minimal_models.stopgrad.vector_field) or require_repeats=False")
    counts = np.bincount(group, minlength=R).astype(np.float64)
    degrees, degree_of_group = np.unique(rows.sum(axis=1), return_inverse=True)
    return CouplingGroups(rows=rows, counts=counts, group=group, degrees=degrees,
                          degree_of_group=np.asarray(degree_of_group).reshape(-1))


class ReducedStructure(NamedTuple):
    """The constant arrays of the reduced flow (a JAX pytree; R, G padded as asked).

    For the vector field: ``rows`` a_r (R, K), ``counts`` n_r (R,), ``degrees`` g (G,), ``S0``
    (G, d, d) = sum_{i: g_i = g} delta_i(0) delta_i(0)^T.  For :func:`reconstruct`: ``group``
    r(i) (N,), ``degree_of_sample`` the index into ``degrees`` of g_i (N,), ``D0`` = delta(0)
    (N, d)."""

    rows: Any
    counts: Any
    degrees: Any
    S0: Any
    group: Any
    degree_of_sample: Any
    D0: Any


def reduced_initial_state(groups: CouplingGroups, X0, Y0, W0, *, n_groups: int | None = None,
                          n_degrees: int | None = None):
    r"""Reduced initial state and the constant structure of the reduced flow [DERIVED, exact].

    xbar_r(0) = (1/n_r) sum_{i in r} x_i(0),  delta_i(0) = x_i(0) - xbar_{r(i)}(0),  U_g(0) = I,
    S0_g = sum_{i: g_i = g} delta_i(0) delta_i(0)^T.

    ``n_groups``/``n_degrees`` pad R and G to fixed sizes (a sweep compiles once per shape):
    padded groups have a zero row and zero count, padded degrees g = 0 and S0 = 0; both leave
    the flow unchanged.

    Returns ``(state0, structure)``: ``state0 = {"Xbar": (R, d), "Y": (K, d), "W": (d, d),
    "U": (G, d, d)}`` and the :class:`ReducedStructure` that :func:`reduced_vector_field` and
    :func:`reconstruct` take.
    """
    N, K, R, G = groups.n_samples, groups.n_classes, groups.n_groups, groups.n_degrees
    X0, Y0, W0 = validate_embeddings(X0, Y0, W0, n_samples=N, n_classes=K,
                                     names=("X0", "Y0", "W0"))
    d = X0.shape[1]
    R_pad = R if n_groups is None else check.integer("n_groups", n_groups, minimum=R)
    G_pad = G if n_degrees is None else check.integer("n_degrees", n_degrees, minimum=G)

    Xbar = np.zeros((R_pad, d))
    np.add.at(Xbar, groups.group, X0)
    Xbar[:R] /= groups.counts[:, None]
    D0 = X0 - Xbar[groups.group]
    deg_of_sample = groups.degree_of_group[groups.group]
    S0 = np.zeros((G_pad, d, d))
    np.add.at(S0, deg_of_sample, D0[:, :, None] * D0[:, None, :])

    rows = np.zeros((R_pad, K))
    rows[:R] = groups.rows
    counts = np.zeros(R_pad)
    counts[:R] = groups.counts
    degrees = np.zeros(G_pad)
    degrees[:G] = groups.degrees
    state0 = {"Xbar": Xbar, "Y": Y0.copy(), "W": W0.copy(),
              "U": np.broadcast_to(np.eye(d), (G_pad, d, d)).copy()}
    structure = ReducedStructure(rows=rows, counts=counts, degrees=degrees, S0=S0,
                                 group=groups.group.copy(), degree_of_sample=deg_of_sample,
                                 D0=D0)
    return state0, structure


# --------------------------------------------------------------------------- dynamics


def _swap(M):
    return M.swapaxes(-1, -2)  # numpy and JAX arrays both have .swapaxes


def sample_moments(state, structure):
    r"""Sample moments from the reduced state [DERIVED, exact]:

        X^T X      = sum_r n_r xbar_r xbar_r^T + sum_g U_g S0_g U_g^T,
        X^T D_x X  = sum_r n_r g_r xbar_r xbar_r^T + sum_g g U_g S0_g U_g^T   (= C_x),

    (the cross terms vanish because deviations sum to zero in each group).  Leading axes of the
    state (e.g. time) are kept.  Returns ``(XtX, C_x)``.
    """
    Xbar, U = state["Xbar"], state["U"]
    dev = U @ structure.S0 @ _swap(U)  # (..., G, d, d): U_g S0_g U_g^T
    XtX = _swap(Xbar) @ (structure.counts[:, None] * Xbar) + dev.sum(axis=-3)
    return XtX, _weighted_moment(Xbar, dev, structure)


def _weighted_moment(Xbar, dev, structure):
    # C_x = sum_r n_r g_r xbar_r xbar_r^T + sum_g g U_g S0_g U_g^T (dev = U_g S0_g U_g^T)
    ng = structure.counts * structure.rows.sum(axis=-1)
    return (_swap(Xbar) @ (ng[:, None] * Xbar)
            + (structure.degrees[:, None, None] * dev).sum(axis=-3))


def reduced_vector_field(structure: ReducedStructure, state, *, alpha=1.0, eta_x=1.0,
                         eta_y=1.0, eta_W=1.0, nu=1.0, head="cross_shared", train_W=True):
    r"""Velocity of the reduced Model B state (module docstring) [RECONSTRUCTION flow, exact
    DERIVED reduction], a dict like ``state`` = {"Xbar", "Y", "W", "U"}.

    Row form, line for line with the code (g_r = a_r 1, h = rows^T n, AY = rows Y (yhat_r^T as
    rows), ATX = rows^T (n * Xbar) (xtilde_k^T as rows), C_x of :func:`sample_moments`):

    ``cross_shared``:
        dXbar = -eta_x nu [ g Xbar W^T W - AY W - beta (AY W^T - g Xbar) ]
        dY    = -eta_y nu [ h Y W^T W - ATX W - beta (ATX W^T - h Y) ]
        dW    = -eta_W nu ( W (C_x + Y^T D_y Y) - (Y^T ATX + ATX^T Y) )
    ``sample_side_only``:
        dXbar = -eta_x nu [ g Xbar W^T W - AY W ],  dY = -eta_y nu beta [ h Y - ATX W^T ]
        dW    = -eta_W nu [ W C_x - Y^T ATX ]
    ``shared_both_sg_label_branch``:
        dXbar = -eta_x nu (g Xbar - AY) W^T W,   dY = -eta_y nu beta (h Y - ATX) W^T W
        dW    = -eta_W nu W [ C_x - beta ATX^T Y - Y^T ATX + beta Y^T D_y Y ]
    and for every head  dU_g = -eta_x nu g M U_g  with M = W^T W + beta I (``cross_shared``) or
    W^T W (the other two).

    Arguments as those of :func:`minimal_models.stopgrad.vector_field`, with the
    :class:`ReducedStructure` of :func:`reduced_initial_state` in place of A (only ``rows``,
    ``counts``, ``degrees``, ``S0`` are read); ``alpha`` and the rates may be traced,
    ``head`` and ``train_W`` are static.
    """
    _check_head(head)
    Xbar, Y, W, U = state["Xbar"], state["Y"], state["W"], state["U"]
    rows, n = structure.rows, structure.counts
    deg = structure.degrees[:, None, None]
    beta = 1.0 - alpha
    g = rows.sum(axis=1)[:, None]  # same sum as stopgrad.vector_field's g_i
    h = (rows.T @ n)[:, None]
    AY = rows @ Y
    ATX = rows.T @ (n[:, None] * Xbar)  # deviations sum to zero in each group
    WtW = W.T @ W
    Cx = _weighted_moment(Xbar, U @ structure.S0 @ _swap(U), structure)
    if head == "cross_shared":
        dXbar = -eta_x * nu * (g * (Xbar @ WtW) - AY @ W - beta * (AY @ W.T - g * Xbar))
        dY = -eta_y * nu * (h * (Y @ WtW) - ATX @ W - beta * (ATX @ W.T - h * Y))
        C = Cx + Y.T @ (h * Y)
        S = Y.T @ ATX + ATX.T @ Y
        dW = -eta_W * nu * (W @ C - S)
        MU = WtW @ U + beta * U
    elif head == "sample_side_only":
        dXbar = -eta_x * nu * (g * (Xbar @ WtW) - AY @ W)
        dY = -eta_y * nu * beta * (h * Y - ATX @ W.T)
        dW = -eta_W * nu * (W @ Cx - Y.T @ ATX)
        MU = WtW @ U
    else:  # shared_both_sg_label_branch
        dXbar = -eta_x * nu * ((g * Xbar - AY) @ WtW)
        dY = -eta_y * nu * beta * ((h * Y - ATX) @ WtW)
        Mw = Cx - beta * (ATX.T @ Y) - Y.T @ ATX + beta * (Y.T @ (h * Y))
        dW = -eta_W * nu * (W @ Mw)
        MU = WtW @ U
    dU = -eta_x * nu * deg * MU
    if not train_W:
        dW = 0.0 * dW
    return {"Xbar": dXbar, "Y": dY, "W": dW, "U": dU}


# --------------------------------------------------------------------------- outputs


def reconstruct(state, structure) -> dict:
    r"""Per-sample state from the reduced one [DERIVED, exact]:

        x_i(t) = xbar_{r(i)}(t) + U_{g(i)}(t) delta_i(0)     (row form: + delta_i(0)^T U^T).

    ``state`` may carry leading axes (e.g. the time axis of a solver's output).  Returns
    ``{"X": (..., N, d), "Y": (..., K, d), "W": (..., d, d)}``, numpy or JAX following the input,
    so the full model's metric code (accuracies, loss, Q, d_min) runs on it unchanged.
    """
    Xbar, U = state["Xbar"], state["U"]
    D0 = structure.D0
    U_i = U[..., structure.degree_of_sample, :, :]  # (..., N, d, d)
    X = Xbar[..., structure.group, :] + (U_i @ D0[:, :, None])[..., 0]
    return {"X": X, "Y": state["Y"], "W": state["W"]}


def reduced_invariant_Q(state, structure, *, eta_x=1.0, eta_y=1.0, eta_W=1.0):
    r"""Q = X^T X/eta_x + Y^T Y/eta_y - W^T W/eta_W (spec §3.3) from the reduced state, with
    X^T X of :func:`sample_moments` [RECONSTRUCTION; exact, no per-sample reconstruction].
    Conserved by the alpha = 1 ``cross_shared`` flow.  Leading axes are kept."""
    XtX, _ = sample_moments(state, structure)
    Y, W = state["Y"], state["W"]
    return XtX / eta_x + _swap(Y) @ Y / eta_y - _swap(W) @ W / eta_W
