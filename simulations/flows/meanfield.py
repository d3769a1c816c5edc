r"""The type closure of Model B (spec §3.6) as a sweepable model for :mod:`simulations.sweep`.

One point = one coupling graph's type structure and one solve of the closure ODEs
(:func:`minimal_models.meanfield.closure_rhs`) for type means, covariances, labels and head.
RECONSTRUCTION of the paper's "dynamical mean-field style self-consistency" (arXiv:2604.09979).

``mode="exact"`` starts from the empirical type moments of the same initial state as
:class:`simulations.flows.stopgrad.StopGradFlow` (then the closure equals the class-averaged
full model); ``mode="large_N"`` uses the population moments (x̄_tau(0) = class mean mu_a,
one covariance sigma^2 I per degree) with the graph's type counts.  Types and covariance
groups are zero-padded to the largest counts of the grid (a padded type has N_tau = 0 and a
padded group degree 0, so neither moves nor enters C and S).

Static fields: ``ode_solver``, ``max_steps``.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, NamedTuple

import numpy as np

from minimal_models import coupling
from minimal_models import meanfield as mf
from minimal_models import stopgrad as model_b
from minimal_models import validation as check

from .parts import (GRAPH_OUTPUTS, LABEL_OUTPUTS, STATUS_OUTPUTS, CouplingGraph, SolverSettings,
                    label_trajectory, pad_to, trajectory_outputs)
from .stopgrad import ModelBSettings, StopGradFlow
from .time_grid import TimeGrid, TimeLayout

__all__ = ["MeanFieldFlow", "MODES", "ClosureLayout"]

MODES = ("exact", "large_N")


class ClosureLayout(NamedTuple):
    """Shapes of a closure sweep: the largest numbers of types, covariance groups, labels and
    dimensions of the grid, and its time axis."""

    n_types: int
    n_groups: int
    n_classes: int
    dim: int
    time: TimeLayout


@dataclasses.dataclass(frozen=True)
class MeanFieldFlow(ModelBSettings, SolverSettings, TimeGrid, CouplingGraph):
    """Model B type closure at one parameter point (defaults: F5 settings, exact mode).

    Fields: those of :class:`~simulations.flows.stopgrad.StopGradFlow` that the closure uses
    (coupling graph and initial state, time grid, ODE solver, :class:`ModelBSettings`; the head
    is the cross-shared one, W(0) = I, trained), plus ``mode``.  ``mode="large_N"`` draws X(0)
    from the clustered population, so it refuses ``init="iid"``.  Outputs per time: d_min,
    spread, collapse ratio, Q_drift (closure Q) and time; per point: status, number of types,
    the effective frustration round(p n)/n, final labels and head.
    """

    # Model B's defaults where they differ from the parts' (F5 settings)
    dim: int = 8
    seed_init: int = 3
    t_max: float = 3e4

    mode: str = "exact"

    reconstruction: ClassVar[bool] = True
    static_fields: ClassVar[tuple[str, ...]] = SolverSettings.STATIC

    def __post_init__(self):
        super().__post_init__()
        check.choice("mode", self.mode, MODES)
        if self.kind == "clean":
            raise ValueError("kind='clean' is not supported by the closure; use frustration=0")
        if self.mode == "large_N" and self.init == "iid":
            raise ValueError("init='iid' is not supported with mode='large_N' (the population "
                             "moments are those of the clustered initial state); allowed: "
                             "'clustered', 'zero_labels'")

    def _full(self) -> StopGradFlow:
        """The full model of the same point (same graph, initial state and rates)."""
        return StopGradFlow(**{name: getattr(self, name) for name in _SHARED_WITH_FULL})

    def closure_init(self):
        """(TypeStructure, initial closure state {xbar, Sigma, Y, W})."""
        full = self._full()
        A = full.coupling()
        classes = coupling.sample_classes(self.n_classes, self.n_per_class)
        partner = coupling.partner_labels(A, classes)
        s = full.initial_state()
        if self.mode == "exact":
            st, state = mf.empirical_init(s["X"], A, classes, partner)
        else:
            # the class means mu: the first draw of coupling.initial_state's clustered stream,
            # i.e. the population the sample came from
            mu = np.random.default_rng(self.seed_init).standard_normal((self.n_classes,
                                                                        self.dim))
            st, state = mf.population_init(self.init_scale * mu, self.init_scale * self.sigma,
                                           mf.type_proportions(A, classes, partner),
                                           n_samples=full.n_samples, kind=self.kind, q=self.q)
        state.update(Y=s["Y"], W=s["W"])
        return st, state

    def layout(self, models) -> ClosureLayout:
        sizes = [m.closure_init()[0] for m in models]
        return ClosureLayout(max(st.n_types for st in sizes),
                             max(len(st.group_degree) for st in sizes),
                             max(m.n_classes for m in models), max(m.dim for m in models),
                             TimeLayout.of(models))

    def prepare(self, layout: ClosureLayout) -> dict:
        T_max, G_max, K_max, d_max = (layout.n_types, layout.n_groups, layout.n_classes,
                                      layout.dim)
        st, s = self.closure_init()
        return {"counts": pad_to(st.counts, np.zeros(T_max)),
                "rows": pad_to(st.rows, np.zeros((T_max, K_max))),
                "group_onehot": pad_to(st.group_onehot, np.zeros((T_max, G_max))),
                "group_degree": pad_to(st.group_degree, np.zeros(G_max)),
                "xbar0": pad_to(s["xbar"], np.zeros((T_max, d_max))),
                "Sigma0": pad_to(s["Sigma"], np.zeros((G_max, d_max, d_max))),
                "Y0": pad_to(s["Y"], np.zeros((K_max, d_max))),
                "W0": pad_to(s["W"], np.eye(d_max)),
                "label_mask": np.arange(K_max) < self.n_classes, "rates": self.rate_inputs(),
                **self.time_inputs(layout.time), **self.solver_inputs(),
                "n_types": np.int64(st.n_types),
                "frustration_eff": np.float64(self.effective_frustration())}

    def shared_inputs(self, layout) -> dict:
        return {}

    def outputs(self, layout) -> dict:
        per_t = ("t",)
        return {
            **LABEL_OUTPUTS,
            "Q_drift": (per_t, "embedding units^2", "max |Q(t) - Q(0)| of the closure"),
            **STATUS_OUTPUTS,
            "n_types": ((), "1", "number of sample types"),
            **GRAPH_OUTPUTS,
            "Y_T": (("label", "component"), "embedding units", "label embeddings at t_max"),
            "W_T": (("component", "component_in"), "1", "head at t_max"),
        }

    def evaluate(self, inp) -> dict:
        import jax.numpy as jnp

        struct = {k: inp[k] for k in ("counts", "rows", "group_onehot", "group_degree")}
        rates = inp["rates"]

        def field(t, z, args):
            struct, r = args
            return mf.closure_rhs(struct, z, **r._asdict())

        z0 = {"xbar": inp["xbar0"], "Sigma": inp["Sigma0"], "Y": inp["Y0"], "W": inp["W0"]}
        sol = self.solve(field, z0, inp, args=(struct, rates))
        xbar, Sigma, Y, W = (sol.zs[k] for k in ("xbar", "Sigma", "Y", "W"))
        counts = inp["counts"]
        wG = inp["group_onehot"].T @ counts  # samples per covariance group
        XtX = jnp.einsum("t,stc,ste->sce", counts, xbar, xbar) + jnp.einsum("g,sgce->sce", wG,
                                                                             Sigma)
        Q = model_b.invariant_Q(jnp.zeros_like(Y), Y, W, eta_x=1.0, eta_y=rates.eta_y,
                                eta_W=rates.eta_W) + XtX / rates.eta_x
        per_t = {**label_trajectory(Y, inp["label_mask"]),
                 "Q_drift": jnp.max(jnp.abs(Q - Q[0]), axis=(-1, -2))}
        out, _ = trajectory_outputs(per_t, inp, sol.result, sol.num_steps)
        failed = sol.result != 0
        n_real = jnp.sum(inp["t_mask"]) - 1
        out.update(n_types=inp["n_types"], frustration_eff=inp["frustration_eff"], Y_T=jnp.where(failed, jnp.nan, Y[n_real]),
                   W_T=jnp.where(failed, jnp.nan, W[n_real]))
        return out


# every field of the closure but ``mode`` is a field of the full model, with the same meaning
_SHARED_WITH_FULL = tuple(f.name for f in dataclasses.fields(MeanFieldFlow)
                          if f.name in {g.name for g in dataclasses.fields(StopGradFlow)})
