r"""Model B (shared head + stop-gradient) as a sweepable model for :mod:`simulations.sweep`.

One point = one coupling graph, one initial state, one gradient-flow solve of the Model B
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

The state integrated is the full one or, by default where it is smaller, the exact reduced
state of :mod:`minimal_models.stopgrad_reduced` (one mean per distinct coupling row, one
propagator per degree; every output is then computed from the reconstructed (X, Y, W) exactly
as on the full state): :mod:`simulations.flows.stopgrad_state`.  ``reduction="none"`` forces
the full state.

Where alpha goes: a field of :class:`ModelBSettings` (validated there), then one entry of
:class:`ModelBRates` -- the SG strength and the rates with the preset applied -- which
``prepare`` lays out among the point's inputs and ``evaluate`` takes back, named, to pass as
the ``alpha=`` keyword of the vector field.

Static fields: ``head``, ``train_W``, ``ode_solver``, ``max_steps``, ``save_state``,
``reduction``.  ``cost()``: the solver steps a point is expected to take, from its parameters
(OURS, :mod:`simulations.flows.stopgrad_cost`), by which a sweep sorts its points into chunks.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, NamedTuple

import numpy as np

from analysis import collapse
from minimal_models import coupling
from minimal_models import stopgrad as model_b
from minimal_models import validation as check
from minimal_models.objectives.collapse_models import model_b_loss

from .parts import (GRAPH_OUTPUTS, LABEL_OUTPUTS, STATUS_OUTPUTS, CouplingGraph, SolverSettings,
                    label_trajectory, pad_to, trajectory_outputs)
from .solve import solve_flow_scipy
from .stopgrad_state import FullState, ModelBLayout, ReducedState
from .time_grid import TimeGrid, _Part

__all__ = ["StopGradFlow", "ModelBSettings", "ModelBRates", "PRESETS", "REDUCTIONS",
           "simulate"]

PRESETS = ("balanced", "unit-sum", "custom")
REDUCTIONS = ("auto", "none")


class ModelBRates(NamedTuple):
    """The SG strength and the rates of one Model B point as its flow uses them (the preset
    applied): the keyword arguments ``alpha``, ``nu``, ``eta_x``, ``eta_y``, ``eta_W`` of
    :func:`minimal_models.stopgrad.vector_field` and of the reduced and closure fields."""

    alpha: Any
    nu: Any
    eta_x: Any
    eta_y: Any
    eta_W: Any


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
        """nu and the rates of the preset (spec §2.8): the values the flow uses."""
        if self.preset == "custom":
            return {"nu": self.nu, "eta_x": self.eta_x, "eta_y": self.eta_y, "eta_W": self.eta_W}
        r = coupling.preset(self.preset, self.n_per_class)
        r["nu"] = 1.0 / self.n_per_class if self.preset == "balanced" else 1.0
        return r

    def effective_parameters(self) -> dict:
        """The fields with ``nu``, ``eta_x``, ``eta_y``, ``eta_W`` as the preset sets them
        (``balanced``: nu = 1/n, eta_x = n), not the unused field values."""
        return {**super().effective_parameters(), **self.rates()}

    def rate_inputs(self) -> ModelBRates:
        """:class:`ModelBRates` of this point as float64 scalars: the input ``"rates"``."""
        r = self.rates()
        return ModelBRates(alpha=np.float64(self.alpha), nu=np.float64(r["nu"]),
                           eta_x=np.float64(r["eta_x"]), eta_y=np.float64(r["eta_y"]),
                           eta_W=np.float64(r["eta_W"]))


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
    strength (1 exact SG, 0 full gradient).  Outputs per time: d_min, spread, collapse ratio,
    head-space accuracies (acc_cons, acc_all, acc_frus), raw-space acc_cons_raw, loss, Q_drift
    (max |Q(t) - Q(0)|) and time; per point: solver status, Q0, rho, the effective frustration
    round(p n)/n and the final state.
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
        """Whether this point is solved on the reduced state on this layout (static: reads
        only ``reduction``).  A plain :class:`~simulations.flows.parts.GraphLayout` (no group
        counts) means full."""
        return (self.reduction == "auto" and isinstance(layout, ModelBLayout)
                and layout.reduced_pays())

    def prepare(self, layout) -> dict:
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
        state = (ReducedState.build(graph["A"], X0, Y0, W0, layout)
                 if self.uses_reduction(layout) else FullState(X0, Y0, W0))
        return {
            **graph, "state": state, "rates": self.rate_inputs(),
            **self.time_inputs(layout.time), **self.solver_inputs(),
            "Q0": np.float64(model_b.class_difference_Q0(Q, s["X"], classes, K)),
            "rho": np.float64(coupling.frustrated_link_share(A, classes)),
        }

    def shared_inputs(self, layout) -> dict:
        return {}

    def cost(self) -> float:
        """Estimated solver steps of this point from its parameters alone, no solve (OURS: a
        stiffness model with calibrated constants, :mod:`simulations.flows.stopgrad_cost`).
        The sweep plan sorts the points by it, so a vmapped chunk holds points of similar cost
        (alpha -> 1 at T = 3000 needs ~4x the steps of alpha = 0); results are written back in
        grid order."""
        from .stopgrad_cost import estimated_steps

        return estimated_steps(self)

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
            **GRAPH_OUTPUTS,
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

        head = self.head
        rates = inp["rates"]  # a ModelBRates; inp["state"]: a FullState or a ReducedState
        X, Y, W, sol = inp["state"].trajectory(self, inp, rates)
        A = inp["A"]

        def acc(R, Yt, head=None):
            return collapse.nearest_label_accuracy(
                R, Yt, inp["classes"], inp["frustrated"], head=head,
                sample_mask=inp["sample_mask"], label_mask=inp["label_mask"])

        head_acc = jax.vmap(lambda x, y, w: acc(x, y, head=w))(X, Y, W)
        raw_acc = jax.vmap(acc)(X, Y)
        Q = model_b.invariant_Q(X, Y, W, eta_x=rates.eta_x, eta_y=rates.eta_y,
                                eta_W=rates.eta_W)
        per_t = {
            **label_trajectory(Y, inp["label_mask"]),
            "acc_cons": head_acc["acc_cons"], "acc_all": head_acc["acc_all"],
            "acc_frus": head_acc["acc_frus"], "acc_cons_raw": raw_acc["acc_cons"],
            "loss": jax.vmap(lambda x, y, w: model_b_loss(x, y, w, A, nu=rates.nu,
                                                          head=head))(X, Y, W),
            "Q_drift": jnp.max(jnp.abs(Q - Q[0]), axis=(-1, -2)),
        }
        out, missing = trajectory_outputs(per_t, inp, sol.result, sol.num_steps)
        failed = sol.result != 0
        n_real = jnp.sum(inp["t_mask"]) - 1
        out.update(Q0=inp["Q0"], rho=inp["rho"], frustration_eff=inp["frustration_eff"],
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
