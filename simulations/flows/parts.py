r"""The parts every sweepable gradient-flow model is built from, each defined once.

A flow model of :mod:`simulations.sweep` is a frozen dataclass with *flat* fields (users write
``FrustrationFlow(dim=8, frustration=0.1)`` and sweep ``frustration``).  The fields that several
models share come from the dataclass parts below, by inheritance, each with its validation, its
share of the layout, its padded inputs and its output coordinate:

- :class:`CouplingGraph`: the coupling graph and the initial embeddings of Models A and B
  (:mod:`minimal_models.coupling`, RECONSTRUCTION of arXiv:2604.09979 spec §2.2, §2.8);
- :class:`~simulations.flows.time_grid.TimeGrid`: the output grid t = 0 followed by log-spaced
  times, padded to the sweep's longest grid (the coordinate ``t``);
- :class:`SolverSettings`: the ODE solver, its tolerances and step budget.

A model lists its parts as bases, last part first: a dataclass puts the fields of the last
base first, so ``class M(SolverSettings, TimeGrid, CouplingGraph)`` reads graph, time grid,
solver settings, then the model's own fields.  A model changes a part's default by declaring
the field again (it keeps its place).  Validation is cooperative: every ``__post_init__``
calls ``super().__post_init__()`` first.

Layouts are named tuples (hashable: the engine caches by them):
:class:`~simulations.flows.time_grid.TimeLayout` for the time grid, and one per shape family
(:class:`GraphLayout` here; Model B, the closure and the teacher-student task define their
own), each carrying its ``time``.

Outputs several models share are declared once here: :data:`LABEL_OUTPUTS` (d_min, spread and
the collapse ratio of :func:`analysis.collapse.collapse_ratio`, computed together by
:func:`label_trajectory`), :data:`GRAPH_OUTPUTS` (the effective frustration round(p n)/n) and
:data:`STATUS_OUTPUTS` (time, solver status).  Every part answers
``effective_parameters()``: its fields, with the values actually used where a field is a rule
(a rate preset), which is what a dataset's ``parameters`` should record.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, NamedTuple

import numpy as np

from analysis import collapse
from minimal_models import coupling
from minimal_models import validation as check

from .solve import SOLVERS, solve_flow
from .time_grid import TimeLayout, _Part

__all__ = ["GraphLayout", "CouplingGraph", "SolverSettings", "LABEL_OUTPUTS", "GRAPH_OUTPUTS",
           "STATUS_OUTPUTS", "pad_to", "label_trajectory", "trajectory_outputs"]


def _shape(shape, dtype):
    import jax

    return jax.ShapeDtypeStruct(shape, np.dtype(dtype))


class GraphLayout(NamedTuple):
    """Shapes of a coupling-graph sweep: the largest N, K and d of the grid, and its time axis."""

    n_samples: int
    n_classes: int
    dim: int
    time: TimeLayout

    @classmethod
    def of(cls, models) -> "GraphLayout":
        return cls(max(m.n_samples for m in models), max(m.n_classes for m in models),
                   max(m.dim for m in models), TimeLayout.of(models))


def pad_to(a, into: np.ndarray) -> np.ndarray:
    """``into`` (the padded array: zeros, -1 labels, an identity head) with ``a`` written into
    its leading corner.

    Why this is exact: a padded sample or label has zero degree and never moves, a padded
    component stays 0 (or, for a head, decouples on its own identity block)."""
    into[tuple(slice(0, n) for n in np.shape(a))] = a
    return into


@dataclasses.dataclass(frozen=True)
class CouplingGraph(_Part):
    """Coupling graph A (N = n_classes * n_per_class samples, K = n_classes labels) of the
    reference sampler (:func:`minimal_models.coupling.coupling_matrix`: ``frustration``,
    ``kind``, ``q``, ``pairing``, ``seed_A``) and initial embeddings Z0 = [X0; Y0] in R^dim
    (:func:`minimal_models.coupling.initial_state`: ``init``, ``sigma``, ``s_y``, ``s_x``,
    ``seed_init``).  RECONSTRUCTION (spec §2.2, §2.8)."""

    n_classes: int = 4
    n_per_class: int = 50
    frustration: float = 0.1
    dim: int = 16
    kind: str = "hard"
    q: float = 0.5
    pairing: str = "uniform"
    seed_A: int = 0
    seed_init: int = 1
    init: str = "clustered"
    sigma: float = 0.3
    s_y: float = 0.1
    s_x: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        check.integer("n_classes", self.n_classes, minimum=2)
        check.integer("n_per_class", self.n_per_class, minimum=1)
        check.real("frustration", self.frustration, low=0.0, high=1.0)
        check.integer("dim", self.dim, minimum=1)
        check.choice("kind", self.kind, coupling.KINDS)
        if self.kind == "soft":
            check.real("q", self.q, low=0.0, high=0.5, low_open=True)
        check.choice("pairing", self.pairing, coupling.PAIRINGS)
        check.integer("seed_A", self.seed_A, minimum=0)
        check.integer("seed_init", self.seed_init, minimum=0)
        check.choice("init", self.init, coupling.INITS)
        for name in ("sigma", "s_y", "s_x"):
            check.real(name, getattr(self, name), low=0.0)

    @property
    def n_samples(self) -> int:
        return self.n_classes * self.n_per_class

    def coupling(self) -> np.ndarray:
        """A (N x K) of this point."""
        return coupling.coupling_matrix(self.n_classes, self.n_per_class, self.frustration,
                                        seed=self.seed_A, kind=self.kind, q=self.q,
                                        pairing=self.pairing)

    def effective_frustration(self) -> float:
        """The share of frustrated samples per class in :meth:`coupling`, round(p n)/n
        (:func:`minimal_models.coupling.effective_frustration`): frustration is quantised."""
        return coupling.effective_frustration(self.n_per_class, self.frustration, self.kind)

    def initial_embeddings(self) -> np.ndarray:
        """Z0 = [X0; Y0] of shape (N + K, dim)."""
        return coupling.initial_state(self.n_classes, self.n_per_class, self.dim,
                                      init=self.init, sigma=self.sigma, s_y=self.s_y,
                                      s_x=self.s_x, seed=self.seed_init)

    def graph_inputs(self, layout: GraphLayout) -> dict:
        """The graph padded to the layout: ``A`` (N_max, K_max), ``classes`` (-1: padding),
        ``frustrated``, ``sample_mask``, ``label_mask``; and ``frustration_eff``."""
        N_max, K_max = layout.n_samples, layout.n_classes
        N, K = self.n_samples, self.n_classes
        A = pad_to(self.coupling(), np.zeros((N_max, K_max)))
        classes = pad_to(coupling.sample_classes(K, self.n_per_class), np.full(N_max, -1))
        frustrated = pad_to(coupling.partner_labels(A[:N, :K], classes[:N]) >= 0,
                            np.zeros(N_max, bool))
        return {"A": A, "classes": classes, "frustrated": frustrated,
                "sample_mask": np.arange(N_max) < N, "label_mask": np.arange(K_max) < K,
                "frustration_eff": np.float64(self.effective_frustration())}

    @staticmethod
    def graph_input_shapes(layout: GraphLayout) -> dict:
        """Shapes of :meth:`graph_inputs`, known without building the coupling (memory
        estimates of huge grids)."""
        N, K = layout.n_samples, layout.n_classes
        return {"A": _shape((N, K), np.float64), "classes": _shape((N,), np.int64),
                "frustrated": _shape((N,), np.bool_), "sample_mask": _shape((N,), np.bool_),
                "label_mask": _shape((K,), np.bool_), "frustration_eff": _shape((), np.float64)}


@dataclasses.dataclass(frozen=True)
class SolverSettings(_Part):
    """ODE solver (any of :data:`simulations.flows.solve.SOLVERS`; static), tolerances ``rtol`` and
    ``atol`` (inputs: sweepable without recompiling), step budget ``max_steps`` (static)."""

    ode_solver: str = "dopri8-lean"
    rtol: float = 1e-10
    atol: float = 1e-12
    max_steps: int = 200_000

    STATIC: ClassVar[tuple[str, ...]] = ("ode_solver", "max_steps")

    def __post_init__(self):
        super().__post_init__()
        for name in ("rtol", "atol"):
            check.positive(name, getattr(self, name))
        check.choice("ode_solver", self.ode_solver, SOLVERS)
        check.integer("max_steps", self.max_steps, minimum=1)

    def solver_inputs(self) -> dict:
        return {"rtol": np.float64(self.rtol), "atol": np.float64(self.atol)}

    @staticmethod
    def solver_input_shapes() -> dict:
        return {"rtol": _shape((), np.float64), "atol": _shape((), np.float64)}

    def solve(self, field, z0, inputs, args=None):
        """:func:`simulations.flows.solve.solve_flow` of ``field(t, z, args)`` (default
        ``args``: ``inputs``) on ``inputs["ts"]`` with this point's tolerances (static view:
        reads only static fields)."""
        return solve_flow(field, z0, inputs["ts"], args=inputs if args is None else args,
                          solver=self.ode_solver, rtol=inputs["rtol"], atol=inputs["atol"],
                          max_steps=self.max_steps)


# Output declarations (dims, units, description) that every label-embedding flow shares.
LABEL_OUTPUTS = {
    "d_min": (("t",), "embedding units", "minimum distance between label embeddings"),
    "spread": (("t",), "embedding units^2", "label spread tr G_c"),
    "collapse_ratio": (("t",), "1", "d_min(t) / max_{s <= t} d_min(s) "
                                    "(analysis.collapse.collapse_ratio): 1 while the labels "
                                    "separate, -> 0 under collapse"),
}
GRAPH_OUTPUTS = {
    "frustration_eff": ((), "1", "effective frustration round(p n)/n: the share of frustrated "
                                 "samples per class in the coupling (frustration is the "
                                 "nominal p; slow-rate predictions take this one)"),
}
STATUS_OUTPUTS = {
    "time": (("t",), "time", "output time of each t index (NaN: padding)"),
    "result": ((), "1", "solver status (simulations.SolverResult: codes in flag_values, "
                        "flag_meanings)"),
    "num_steps": ((), "1", "solver steps"),
}


def label_trajectory(Y, label_mask=None) -> dict:
    """The :data:`LABEL_OUTPUTS` of label embeddings Y(t) (T, K, d), padded labels masked."""
    d_min = collapse.d_min(Y, label_mask)
    return {"d_min": d_min, "spread": collapse.label_spread(Y, label_mask),
            "collapse_ratio": collapse.collapse_ratio(d_min)}


def trajectory_outputs(per_t: dict, inputs: dict, result, num_steps):
    """Per-time outputs NaN where the solve failed or the time is padding (never store junk),
    plus ``time``, ``result`` and ``num_steps``.  Returns (outputs, missing mask)."""
    import jax.numpy as jnp

    missing = (result != 0) | ~inputs["t_mask"]
    out = {k: jnp.where(missing, jnp.nan, v) for k, v in per_t.items()}
    out["time"] = jnp.where(inputs["t_mask"], inputs["ts"], jnp.nan)
    out.update(result=jnp.asarray(result, jnp.int32), num_steps=jnp.asarray(num_steps, jnp.int32))
    return out, missing
