r"""The state a Model B sweep integrates -- full or exactly reduced -- and the layout that picks it.

A Model B point can be solved on its full state (X, Y, W) or on the exact reduced state of
:mod:`minimal_models.stopgrad_reduced`: samples with the same coupling row follow the same affine
ODE in the head W(t), so one row mean per distinct coupling row and one propagator per degree
carry every sample, and X(t) = xbar_r(t) + U_g(t) delta_i(0) is reconstructed exactly at the
output times (a DERIVED change of variables, exact for every head and alpha).  Both forms give
the same outputs to solver tolerance; the reduced one is smaller when few rows are distinct
(F5: 304 numbers instead of 1,696).

The choice is made once per sweep: :class:`ModelBLayout` counts the largest N, number of
distinct rows R and of degrees G over the grid, and the reduced state is used iff the model's
``reduction`` is ``"auto"`` and R d + G d^2 < N d
(:meth:`simulations.flows.stopgrad.StopGradFlow.uses_reduction`).

:class:`FullState` and :class:`ReducedState` are the two forms, as named tuples: ``prepare``
builds one (host side) and hands it to the engine as the input ``"state"`` (the engine
stacks any pytree of arrays along the chunk axis); ``evaluate`` calls its ``trajectory``
(pure JAX).  Which form a point has is its pytree type, fixed per sweep, so each compiled
chunk function serves one form.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from minimal_models import stopgrad as model_b
from minimal_models import stopgrad_reduced as reduced

from .parts import GraphLayout, pad_to
from .time_grid import TimeLayout

__all__ = ["ModelBLayout", "FullState", "ReducedState"]


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
            A = pad_to(m.coupling(), np.zeros((graph.n_samples, graph.n_classes)))
            groups = reduced.reduce_coupling(A, require_repeats=False)
            R, G = max(R, groups.n_groups), max(G, groups.n_degrees)
        return cls(*graph, n_groups=R, n_degrees=G)

    def reduced_pays(self) -> bool:
        """R d + G d^2 < N d: the reduced state (row means, labels, head, propagators) is
        smaller than the full one (samples, labels, head)."""
        d = self.dim
        return self.n_groups * d + self.n_degrees * d * d < self.n_samples * d


class FullState(NamedTuple):
    """The full Model B state at t = 0, padded: ``X0`` (N, d), ``Y0`` (K, d), ``W0`` (d, d)."""

    X0: Any
    Y0: Any
    W0: Any

    def trajectory(self, flow, inputs: dict, rates):
        """(X(t), Y(t), W(t), solution) of :func:`minimal_models.stopgrad.vector_field` with
        the coupling ``inputs["A"]``, the :class:`~simulations.flows.stopgrad.ModelBRates`
        ``rates`` and the flow's static ``head``, ``train_W`` and solver."""
        head, train_W = flow.head, flow.train_W

        def field(t, z, args):
            A, r = args
            return model_b.vector_field(A, z, **r._asdict(), head=head, train_W=train_W)

        z0 = {"X": self.X0, "Y": self.Y0, "W": self.W0}
        sol = flow.solve(field, z0, inputs, args=(inputs["A"], rates))
        return sol.zs["X"], sol.zs["Y"], sol.zs["W"], sol


class ReducedState(NamedTuple):
    """The reduced Model B state at t = 0: row means ``Xbar0`` (R, d), ``Y0``, ``W0`` and the
    constant :class:`~minimal_models.stopgrad_reduced.ReducedStructure` (R, G padded to the
    layout; the propagators start at U_g = I)."""

    Xbar0: Any
    Y0: Any
    W0: Any
    structure: reduced.ReducedStructure

    @classmethod
    def build(cls, A, X0, Y0, W0, layout: ModelBLayout) -> "ReducedState":
        """From the padded coupling and state: padded samples (zero row, zero X0) form one more
        inert group."""
        groups = reduced.reduce_coupling(A, require_repeats=False)
        state0, structure = reduced.reduced_initial_state(
            groups, X0, Y0, W0, n_groups=layout.n_groups, n_degrees=layout.n_degrees)
        return cls(state0["Xbar"], state0["Y"], state0["W"], structure)

    def trajectory(self, flow, inputs: dict, rates):
        """(X(t), Y(t), W(t), solution): :func:`minimal_models.stopgrad_reduced.
        reduced_vector_field` integrated, X(t) reconstructed as x_i = xbar_r + U_g delta_i(0)."""
        import jax.numpy as jnp

        head, train_W = flow.head, flow.train_W

        def field(t, z, args):
            structure, r = args
            return reduced.reduced_vector_field(structure, z, **r._asdict(), head=head,
                                                train_W=train_W)

        d, G = self.W0.shape[-1], self.structure.degrees.shape[-1]
        z0 = {"Xbar": self.Xbar0, "Y": self.Y0, "W": self.W0,
              "U": jnp.broadcast_to(jnp.eye(d), (G, d, d))}
        sol = flow.solve(field, z0, inputs, args=(self.structure, rates))
        X = reduced.reconstruct(sol.zs, self.structure)["X"]
        return X, sol.zs["Y"], sol.zs["W"], sol
