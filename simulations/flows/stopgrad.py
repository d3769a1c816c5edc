r"""Model B (shared head + stop-gradient) as a sweepable model for :mod:`simulations.sweep`.

One point = one coupling graph, one initial state, one gradient-flow solve of the full Model B
flow (:func:`minimal_models.stopgrad.vector_field`) on a log-spaced time grid, with the label
geometry, head-space accuracies, loss and the drift of Q along it.  RECONSTRUCTION of
arXiv:2604.09979 (spec §3); every free choice of spec §7 is a field.

Defaults: the F5 settings (balanced preset, K = 4, n = 50, d = 8, W(0) = I, clustered init with
seed_init = 3, seed_A = 0).  ``init_scale`` multiplies X(0) and Y(0) (not W(0)) and so moves
Q(0) = X^T X/eta_x + Y^T Y/eta_y - W^T W/eta_W; ``Q0`` reports half the smallest eigenvalue of
Q(0) on the class-mean-difference subspace (for K = 2 exactly the Q0 of the reduction, spec
§3.7) and ``rho`` the frustrated share of the label links, so the K = 2 prediction
rho < 1 + 2 eta_W Q0 can be drawn on a sweep.

Grids over sizes are zero-padded: padded samples and labels have zero degree and never move;
padded dimensions carry W = I on their own block and zero embeddings, which decouple exactly.

Exact reduced state (``reduction="auto"``, the default): samples with the same coupling row
follow the same affine ODE in the head W(t), so the solve integrates one row mean per distinct
coupling row and one propagator per degree (:mod:`minimal_models.stopgrad_reduced`, a DERIVED
change of variables, exact for every head and alpha) and reconstructs X(t) = xbar_r(t) +
U_g(t) delta_i(0) at the output times; every output is then computed from (X, Y, W) exactly as
on the full state.  The choice is made once per sweep from the layout (largest N, number of
distinct rows R and of degrees G over the grid): reduced iff R d + G d^2 < N d.  F5: 304
numbers instead of 1,696.  ``reduction="none"`` forces the full state.

Static fields: ``head``, ``train_W``, ``ode_solver``, ``max_steps``, ``save_state``,
``reduction``.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, NamedTuple

import numpy as np

from analysis import collapse
from minimal_models import coupling
from minimal_models import stopgrad as model_b
from minimal_models import stopgrad_reduced as reduced
from minimal_models import validation as check
from minimal_models.objectives.collapse_models import model_b_loss

from .solve import solve_flow_scipy
from .parts import (LABEL_OUTPUTS, STATUS_OUTPUTS, CouplingGraph, GraphLayout, SolverSettings,
                         TimeGrid, _Part, pad_to, trajectory_outputs)
from .time_grid import TimeLayout

# the theory helpers live in minimal_models; re-exported from their first home
class_difference_Q0 = model_b.class_difference_Q0
frustrated_link_share = coupling.frustrated_link_share

__all__ = ["StopGradFlow", "ModelBSettings", "ModelBLayout", "PRESETS", "REDUCTIONS",
           "class_difference_Q0", "frustrated_link_share", "simulate"]

PRESETS = ("balanced", "unit-sum", "custom")
REDUCTIONS = ("auto", "none")


class ModelBLayout(NamedTuple):
    """Shapes of a Model B sweep: those of :class:`~simulations.flows.parts.GraphLayout` plus
    the largest number of distinct coupling rows ``n_groups`` and of distinct degrees
    ``n_degrees`` over the grid, counted on the couplings padded to (n_samples, n_classes)
    (padded samples form one more zero row of degree 0)."""

    n_samples: int
    n_classes: int
    dim: int
    time: TimeLayout
    n_groups: int
    n_degrees: int

    @classmethod
    def of(cls, models) -> "ModelBLayout":
        graph = GraphLayout.of(models)
        R = G = 1
        for m in models:
            groups = reduced.reduce_coupling(_padded_coupling(m, graph), require_repeats=False)
            R, G = max(R, groups.n_groups), max(G, groups.n_degrees)
        return cls(*graph, n_groups=R, n_degrees=G)

    def reduced_pays(self) -> bool:
        """R d + G d^2 < N d: the reduced state (row means, labels, head, propagators) is
        smaller than the full one (samples, labels, head)."""
        d = self.dim
        return self.n_groups * d + self.n_degrees * d * d < self.n_samples * d


def _padded_coupling(model, layout) -> np.ndarray:
    return pad_to(model.coupling(), np.zeros((layout.n_samples, layout.n_classes)))


@dataclasses.dataclass(frozen=True)
class ModelBSettings(_Part):
    """The Model B fields the full flow and its type closure share (RECONSTRUCTION, spec §2.8,
    §3): ``init_scale`` (multiplies X(0) and Y(0), not W(0)), the rate ``preset``
    (``balanced``: nu = 1/n, eta_x = n, eta_y = eta_W = 1; ``unit-sum``: all 1; ``custom``:
    ``nu``, ``eta_x``, ``eta_y``, ``eta_W`` as given) and the SG strength ``alpha``."""

    init_scale: float = 1.0
    preset: str = "balanced"
    nu: float = 1.0
    eta_x: float = 1.0
    eta_y: float = 1.0
    eta_W: float = 1.0
    alpha: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        check.positive("init_scale", self.init_scale)
        check.choice("preset", self.preset, PRESETS)
        for name in ("nu", "eta_x", "eta_y", "eta_W"):
            check.positive(name, getattr(self, name))
        if self.preset != "custom":  # the preset sets the rates: refuse, never ignore, others
            for name in ("nu", "eta_x", "eta_y", "eta_W"):
                if getattr(self, name) != 1.0:
                    raise ValueError(f"{name}={getattr(self, name)!r} applies only with "
                                     f"preset='custom' (preset={self.preset!r} sets the rates)")
        model_b.check_alpha(self.alpha)

    def rates(self) -> dict:
        """nu and the rates of the preset (spec §2.8)."""
        if self.preset == "custom":
            return {"nu": self.nu, "eta_x": self.eta_x, "eta_y": self.eta_y, "eta_W": self.eta_W}
        r = coupling.preset(self.preset, self.n_per_class)
        r["nu"] = 1.0 / self.n_per_class if self.preset == "balanced" else 1.0
        return r

    def rate_inputs(self) -> dict:
        r = self.rates()
        return {"alpha": np.float64(self.alpha), "nu": np.float64(r["nu"]),
                "eta_x": np.float64(r["eta_x"]), "eta_y": np.float64(r["eta_y"]),
                "eta_W": np.float64(r["eta_W"])}


@dataclasses.dataclass(frozen=True)
class StopGradFlow(ModelBSettings, SolverSettings, TimeGrid, CouplingGraph):
    """Model B gradient flow at one parameter point (RECONSTRUCTION, spec §3).

    Fields: the coupling graph and initial state (:class:`~simulations.flows.parts.CouplingGraph`),
    the time grid, the ODE solver, :class:`ModelBSettings` (``init_scale``, ``preset``, rates,
    ``alpha``), then the head's: ``W_init`` (``identity`` | ``orthogonal`` | ``gaussian``,
    scale ``s_W``, seed ``seed_W``), ``head`` (``cross_shared`` | ``sample_side_only`` |
    ``shared_both_sg_label_branch``), ``train_W``, ``save_state`` and ``reduction``
    (``auto``: solve the exact reduced state of :mod:`minimal_models.stopgrad_reduced` when it
    is smaller than the full one, the default; ``none``: always the full state -- both give
    the same outputs to solver tolerance).

    ``preset``: ``balanced`` (nu = 1/n, eta_x = n, eta_y = eta_W = 1; default), ``unit-sum``
    (all 1) or ``custom`` (``nu``, ``eta_x``, ``eta_y``, ``eta_W`` as given).  ``alpha``: SG
    strength (1 exact SG, 0 full gradient).  Outputs per time: d_min, spread, head-space
    accuracies (acc_cons, acc_all, acc_frus), raw-space acc_cons_raw, loss, Q_drift
    (max |Q(t) - Q(0)|) and time; per point: solver status, Q0, rho and the final state.
    """

    # Model B's defaults where they differ from the parts' (F5 settings)
    dim: int = 8
    seed_init: int = 3
    t_max: float = 3e4

    W_init: str = "identity"
    s_W: float = 1.0
    seed_W: int = 0
    head: str = "cross_shared"
    train_W: bool = True
    save_state: bool = False
    reduction: str = "auto"

    reconstruction: ClassVar[bool] = True
    static_fields: ClassVar[tuple[str, ...]] = ("head", "train_W") + SolverSettings.STATIC + (
        "save_state", "reduction")

    def __post_init__(self):
        super().__post_init__()
        check.choice("W_init", self.W_init, coupling.HEAD_INITS)
        check.real("s_W", self.s_W, low=0.0)
        check.integer("seed_W", self.seed_W, minimum=0)
        check.choice("head", self.head, model_b.HEADS)
        if not isinstance(self.train_W, bool):
            raise ValueError(f"train_W={self.train_W!r} must be a bool")
        check.choice("reduction", self.reduction, REDUCTIONS)

    # ------------------------------------------------------------------ host side

    def initial_state(self) -> dict:
        """{"X", "Y", "W"} at t = 0 (embeddings scaled by ``init_scale``)."""
        Z = self.initial_embeddings()
        N = self.n_samples
        W = coupling.head_init(self.dim, init=self.W_init, s_W=self.s_W, seed=self.seed_W)
        return {"X": self.init_scale * Z[:N], "Y": self.init_scale * Z[N:], "W": W}

    def layout(self, models) -> ModelBLayout:
        return ModelBLayout.of(models)

    def uses_reduction(self, layout) -> bool:
        """Whether :meth:`evaluate` solves the reduced state on this layout (static: reads
        only ``reduction``).  A plain :class:`GraphLayout` (no group counts) means full."""
        return (self.reduction == "auto" and isinstance(layout, ModelBLayout)
                and layout.reduced_pays())

    def _reduced_inputs(self, layout, X0, Y0, W0) -> dict:
        # group the padded coupling, so padded samples (zero row, zero X0) are one inert group
        A = _padded_coupling(self, layout)
        groups = reduced.reduce_coupling(A, require_repeats=False)
        state0, structure = reduced.reduced_initial_state(
            groups, X0, Y0, W0, n_groups=layout.n_groups, n_degrees=layout.n_degrees)
        return {"Xbar0": state0["Xbar"], **structure}

    def prepare(self, layout: GraphLayout) -> dict:
        N_max, K_max, d_max = layout.n_samples, layout.n_classes, layout.dim
        N, K = self.n_samples, self.n_classes
        graph = self.graph_inputs(layout)
        s = self.initial_state()
        r = self.rates()
        Q = model_b.invariant_Q(s["X"], s["Y"], s["W"], eta_x=r["eta_x"], eta_y=r["eta_y"],
                                eta_W=r["eta_W"])
        A, classes = graph["A"][:N, :K], graph["classes"][:N]
        X0 = pad_to(s["X"], np.zeros((N_max, d_max)))
        Y0 = pad_to(s["Y"], np.zeros((K_max, d_max)))
        W0 = pad_to(s["W"], np.eye(d_max))
        red = self._reduced_inputs(layout, X0, Y0, W0) if self.uses_reduction(layout) else {}
        return {
            **graph, "X0": X0, "Y0": Y0, "W0": W0, **red,
            **self.rate_inputs(), **self.time_inputs(layout.time), **self.solver_inputs(),
            "Q0": np.float64(model_b.class_difference_Q0(Q, s["X"], classes, K)),
            "rho": np.float64(coupling.frustrated_link_share(A, classes)),
        }

    def shared_inputs(self, layout) -> dict:
        return {}

    def outputs(self, layout) -> dict:
        per_t = ("t",)
        out = {
            **LABEL_OUTPUTS,
            "acc_cons": (per_t, "1", "head-space nearest-label accuracy, consistent samples"),
            "acc_all": (per_t, "1", "head-space nearest-label accuracy, all samples"),
            "acc_frus": (per_t, "1", "head-space accuracy of frustrated samples vs primary"),
            "acc_cons_raw": (per_t, "1", "raw-space accuracy (readout x), consistent samples"),
            "loss": (per_t, "1", "loss L_B"),
            "Q_drift": (per_t, "embedding units^2", "max |Q(t) - Q(0)|"),
            **STATUS_OUTPUTS,
            "Q0": ((), "embedding units^2", "half the smallest eigenvalue of Q(0) on the "
                                            "class-mean-difference subspace"),
            "rho": ((), "1", "frustrated share of the label links"),
            "X_T": (("sample", "component"), "embedding units", "sample embeddings at t_max"),
            "Y_T": (("label", "component"), "embedding units", "label embeddings at t_max"),
            "W_T": (("component", "component_in"), "1", "head at t_max"),
        }
        if self.save_state:
            out["X"] = (("t", "sample", "component"), "embedding units", "X(t)")
            out["Y"] = (("t", "label", "component"), "embedding units", "Y(t)")
            out["W"] = (("t", "component", "component_in"), "1", "W(t)")
        return out

    # ------------------------------------------------------------------ one point, pure JAX

    def evaluate(self, inp) -> dict:
        import jax
        import jax.numpy as jnp

        head, train_W = self.head, self.train_W

        if "S0" in inp:  # prepare() chose the reduced state for this layout (static: shapes)
            def field(t, z, a):
                return reduced.reduced_vector_field(t, z, a, head=head, train_W=train_W)

            d, G = inp["W0"].shape[-1], inp["degrees"].shape[-1]
            z0 = {"Xbar": inp["Xbar0"], "Y": inp["Y0"], "W": inp["W0"],
                  "U": jnp.broadcast_to(jnp.eye(d), (G, d, d))}
            sol = self.solve(field, z0, inp)
            # exact per-sample state at the output times: x_i = xbar_r + U_g delta_i(0)
            X = reduced.reconstruct(sol.zs, inp)["X"]
            Y, W = sol.zs["Y"], sol.zs["W"]
        else:
            def field(t, z, a):
                return model_b.vector_field(a["A"], z, alpha=a["alpha"], eta_x=a["eta_x"],
                                            eta_y=a["eta_y"], eta_W=a["eta_W"], nu=a["nu"],
                                            head=head, train_W=train_W)

            z0 = {"X": inp["X0"], "Y": inp["Y0"], "W": inp["W0"]}
            sol = self.solve(field, z0, inp)
            X, Y, W = sol.zs["X"], sol.zs["Y"], sol.zs["W"]
        A = inp["A"]

        def acc(R, Yt, head=None):
            return collapse.nearest_label_accuracy(
                R, Yt, inp["classes"], inp["frustrated"], head=head,
                sample_mask=inp["sample_mask"], label_mask=inp["label_mask"])

        head_acc = jax.vmap(lambda x, y, w: acc(x, y, head=w))(X, Y, W)
        raw_acc = jax.vmap(acc)(X, Y)
        Q = model_b.invariant_Q(X, Y, W, eta_x=inp["eta_x"], eta_y=inp["eta_y"],
                                eta_W=inp["eta_W"])
        per_t = {
            "d_min": collapse.d_min(Y, inp["label_mask"]),
            "spread": collapse.label_spread(Y, inp["label_mask"]),
            "acc_cons": head_acc["acc_cons"], "acc_all": head_acc["acc_all"],
            "acc_frus": head_acc["acc_frus"], "acc_cons_raw": raw_acc["acc_cons"],
            "loss": jax.vmap(lambda x, y, w: model_b_loss(x, y, w, A, nu=inp["nu"],
                                                          head=head))(X, Y, W),
            "Q_drift": jnp.max(jnp.abs(Q - Q[0]), axis=(-1, -2)),
        }
        out, missing = trajectory_outputs(per_t, inp, sol.result, sol.num_steps)
        failed = sol.result != 0
        n_real = jnp.sum(inp["t_mask"]) - 1
        out.update(Q0=inp["Q0"], rho=inp["rho"],
                   X_T=jnp.where(failed, jnp.nan, X[n_real]),
                   Y_T=jnp.where(failed, jnp.nan, Y[n_real]),
                   W_T=jnp.where(failed, jnp.nan, W[n_real]))
        if self.save_state:
            out.update(X=jnp.where(missing[:, None, None], jnp.nan, X),
                       Y=jnp.where(missing[:, None, None], jnp.nan, Y),
                       W=jnp.where(missing[:, None, None], jnp.nan, W))
        return out


def simulate(A, X0, Y0, W0, ts, *, alpha=1.0, eta_x=1.0, eta_y=1.0, eta_W=1.0, nu=1.0,
             head="cross_shared", train_W=True, method="DOP853", rtol=1e-10, atol=1e-12):
    """Reference solve of one Model B flow (:mod:`minimal_models.stopgrad`, RECONSTRUCTION)
    with SciPy (:func:`simulations.flows.solve.solve_flow_scipy`), inputs validated; returns a dict
    of trajectories ``X`` (T, N, d), ``Y`` (T, K, d), ``W`` (T, d, d), ``ts`` and ``result``
    (0 on success)."""
    A, X0, Y0, W0 = model_b.validate_state(A, X0, Y0, W0)
    alpha = model_b.check_alpha(alpha)
    eta_x, eta_y, eta_W, nu = model_b.check_rates(eta_x, eta_y, eta_W, nu)
    check.choice("head", head, model_b.HEADS)
    kw = dict(alpha=alpha, eta_x=eta_x, eta_y=eta_y, eta_W=eta_W, nu=nu, head=head,
              train_W=train_W)
    sol = solve_flow_scipy(lambda t, z, a: model_b.packed_vector_field(A, z, **kw),
                           model_b.pack(X0, Y0, W0), ts, method=method, rtol=rtol, atol=atol)
    out = model_b.unpack(np.asarray(sol.zs), *A.shape)
    out.update(ts=np.asarray(sol.ts), result=sol.result)
    return out
