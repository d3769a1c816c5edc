r"""The type closure of Model B (spec §3.6) as a sweepable model for :mod:`simulations.sweep`.

One point = one coupling graph's type structure and one solve of the closure ODEs
(:func:`minimal_models.meanfield.closure_rhs`) for type means, covariances, labels and head.
RECONSTRUCTION of the paper's "dynamical mean-field style self-consistency" (arXiv:2604.09979).

``mode="exact"`` starts from the empirical type moments of the same initial state as
:class:`simulations.stopgrad_flow.StopGradFlow` (then the closure equals the class-averaged
full model); ``mode="large_N"`` uses the population moments (x̄_tau(0) = class mean mu_a,
one covariance sigma^2 I per degree) with the graph's type counts.  Types and covariance
groups are zero-padded to the largest counts of the grid (a padded type has N_tau = 0 and a
padded group degree 0, so neither moves nor enters C and S).

Static fields: ``ode_solver``, ``max_steps``.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from analysis import collapse
from minimal_models import coupling
from minimal_models import meanfield as mf
from minimal_models import stopgrad as model_b
from minimal_models import validation as check

from .flow import solve_flow
from .stopgrad_flow import PRESETS, StopGradFlow
from .time_grid import log_grid, padded

__all__ = ["MeanFieldFlow", "MODES"]

MODES = ("exact", "large_N")


@dataclasses.dataclass(frozen=True)
class MeanFieldFlow:
    """Model B type closure at one parameter point (defaults: F5 settings, exact mode).

    Fields as :class:`~simulations.stopgrad_flow.StopGradFlow` (cross-shared head, trained),
    plus ``mode``.  Outputs per time: d_min, spread, Q_drift (closure Q) and time; per point:
    status, number of types, final labels and head.
    """

    n_classes: int = 4
    n_per_class: int = 50
    frustration: float = 0.1
    dim: int = 8
    kind: str = "hard"
    q: float = 0.5
    pairing: str = "uniform"
    seed_A: int = 0
    seed_init: int = 3
    sigma: float = 0.3
    s_y: float = 0.1
    init_scale: float = 1.0
    preset: str = "balanced"
    nu: float = 1.0
    eta_x: float = 1.0
    eta_y: float = 1.0
    eta_W: float = 1.0
    alpha: float = 1.0
    mode: str = "exact"
    t_min: float = 1e-2
    t_max: float = 3e4
    n_times: int = 61
    ode_solver: str = "dopri8-lean"
    rtol: float = 1e-10
    atol: float = 1e-12
    max_steps: int = 200_000

    reconstruction: ClassVar[bool] = True
    static_fields: ClassVar[tuple[str, ...]] = ("ode_solver", "max_steps")

    def __post_init__(self):
        check.choice("mode", self.mode, MODES)
        check.choice("preset", self.preset, PRESETS)
        if self.kind == "clean":
            raise ValueError("kind='clean' is not supported by the closure; use frustration=0")
        self._full()  # validates every shared field with the full model's rules

    def _full(self) -> StopGradFlow:
        """The full model of the same point (same graph, initial state and rates)."""
        return StopGradFlow(
            n_classes=self.n_classes, n_per_class=self.n_per_class,
            frustration=self.frustration, dim=self.dim, kind=self.kind, q=self.q,
            pairing=self.pairing, seed_A=self.seed_A, seed_init=self.seed_init,
            sigma=self.sigma, s_y=self.s_y, init_scale=self.init_scale, preset=self.preset,
            nu=self.nu, eta_x=self.eta_x, eta_y=self.eta_y, eta_W=self.eta_W, alpha=self.alpha,
            t_min=self.t_min, t_max=self.t_max, n_times=self.n_times, ode_solver=self.ode_solver,
            rtol=self.rtol, atol=self.atol, max_steps=self.max_steps)

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

    @staticmethod
    def _sizes(model):
        st, _ = model.closure_init()
        return st.n_types, len(st.group_degree)

    def layout(self, models) -> tuple:
        grids = {(m.t_min, m.t_max, m.n_times) for m in models}
        common = log_grid(*grids.pop()) if len(grids) == 1 else None
        sizes = [self._sizes(m) for m in models]
        return (max(s[0] for s in sizes), max(s[1] for s in sizes),
                max(m.n_classes for m in models), max(m.dim for m in models),
                max(m.n_times for m in models), common)

    def prepare(self, layout) -> dict:
        T_max, G_max, K_max, d_max, n_t, _ = layout
        st, s = self.closure_init()
        T, G, K, d = st.n_types, len(st.group_degree), self.n_classes, self.dim
        counts, rows = np.zeros(T_max), np.zeros((T_max, K_max))
        counts[:T], rows[:T, :K] = st.counts, st.rows
        onehot, degree = np.zeros((T_max, G_max)), np.zeros(G_max)
        onehot[:T, :G], degree[:G] = st.group_onehot, st.group_degree
        xbar, Sigma = np.zeros((T_max, d_max)), np.zeros((G_max, d_max, d_max))
        Y, W = np.zeros((K_max, d_max)), np.eye(d_max)
        xbar[:T, :d], Sigma[:G, :d, :d], Y[:K, :d], W[:d, :d] = s["xbar"], s["Sigma"], s["Y"], \
            s["W"]
        r = self._full().rates()
        return {"counts": counts, "rows": rows, "group_onehot": onehot, "group_degree": degree,
                "xbar0": xbar, "Sigma0": Sigma, "Y0": Y, "W0": W,
                "label_mask": np.arange(K_max) < K, "alpha": np.float64(self.alpha),
                "nu": np.float64(r["nu"]), "eta_x": np.float64(r["eta_x"]),
                "eta_y": np.float64(r["eta_y"]), "eta_W": np.float64(r["eta_W"]),
                "ts": padded(np.array(log_grid(self.t_min, self.t_max, self.n_times)), n_t),
                "t_mask": np.arange(n_t) < self.n_times, "rtol": np.float64(self.rtol),
                "atol": np.float64(self.atol), "n_types": np.int64(T)}

    def shared_inputs(self, layout) -> dict:
        return {}

    def outputs(self, layout) -> dict:
        per_t = ("t",)
        return {
            "d_min": (per_t, "embedding units", "minimum distance between label embeddings"),
            "spread": (per_t, "embedding units^2", "label spread tr G_c"),
            "Q_drift": (per_t, "embedding units^2", "max |Q(t) - Q(0)| of the closure"),
            "time": (per_t, "time", "output time of each t index (NaN: padding)"),
            "result": ((), "1", "solver status: 0 = success"),
            "num_steps": ((), "1", "solver steps"),
            "n_types": ((), "1", "number of sample types"),
            "Y_T": (("label", "component"), "embedding units", "label embeddings at t_max"),
            "W_T": (("component", "component_in"), "1", "head at t_max"),
        }

    def coords(self, layout) -> dict:
        common = layout[5]
        return {"t": np.array(common) if common is not None else np.arange(layout[4])}

    def evaluate(self, inp) -> dict:
        import jax.numpy as jnp

        struct = {k: inp[k] for k in ("counts", "rows", "group_onehot", "group_degree")}

        def field(t, z, a):
            return mf.closure_rhs(struct, z, alpha=a["alpha"], eta_x=a["eta_x"],
                                  eta_y=a["eta_y"], eta_W=a["eta_W"], nu=a["nu"])

        z0 = {"xbar": inp["xbar0"], "Sigma": inp["Sigma0"], "Y": inp["Y0"], "W": inp["W0"]}
        sol = solve_flow(field, z0, inp["ts"], args=inp, solver=self.ode_solver,
                         rtol=inp["rtol"], atol=inp["atol"], max_steps=self.max_steps)
        xbar, Sigma, Y, W = (sol.zs[k] for k in ("xbar", "Sigma", "Y", "W"))
        counts = inp["counts"]
        wG = inp["group_onehot"].T @ counts  # samples per covariance group
        XtX = jnp.einsum("t,stc,ste->sce", counts, xbar, xbar) + jnp.einsum("g,sgce->sce", wG,
                                                                             Sigma)
        Q = model_b.invariant_Q(jnp.zeros_like(Y), Y, W, eta_x=1.0, eta_y=inp["eta_y"],
                                eta_W=inp["eta_W"]) + XtX / inp["eta_x"]
        failed = sol.result != 0
        missing = failed | ~inp["t_mask"]
        per_t = {"d_min": collapse.d_min(Y, inp["label_mask"]),
                 "spread": collapse.label_spread(Y, inp["label_mask"]),
                 "Q_drift": jnp.max(jnp.abs(Q - Q[0]), axis=(-1, -2))}
        out = {k: jnp.where(missing, jnp.nan, v) for k, v in per_t.items()}
        n_real = jnp.sum(inp["t_mask"]) - 1
        out.update(time=jnp.where(inp["t_mask"], inp["ts"], jnp.nan),
                   result=jnp.asarray(sol.result, jnp.int32),
                   num_steps=jnp.asarray(sol.num_steps, jnp.int32), n_types=inp["n_types"],
                   Y_T=jnp.where(failed, jnp.nan, Y[n_real]),
                   W_T=jnp.where(failed, jnp.nan, W[n_real]))
        return out
