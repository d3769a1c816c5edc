r"""Model A (embedding-only frustration model) as a sweepable model for :mod:`simulations.sweep`.

One point = one coupling graph, one initial state, one gradient-flow solve on a log-spaced time
grid, and the collapse order parameters along it.  RECONSTRUCTION of arXiv:2604.09979 (see
:mod:`minimal_models.frustration`).

Points with different class counts, class sizes or dimensions share one compiled shape: the
coupling matrix is zero-padded to the largest (N, K) of the grid and the state to the largest d.
Padded samples and labels have zero degree, so the flow leaves them where they start (at 0);
padded columns stay 0; masks keep them out of every metric.  The padded dynamics therefore
equal the unpadded ones exactly.  Output grids of different lengths are padded the same way:
the last time is repeated and the padded entries are NaN.  When the points of a sweep do not
share one time grid (t_min, t_max or n_times swept), ``t`` is an index and the per-point
times are the output ``time``.

Static fields (one compiled program each): ``solver``, ``ode_solver``, ``max_steps``,
``spectrum``, ``save_state``.  Every other field, tolerances included, is an array input.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import numpy as np

from analysis import collapse
from minimal_models import validation as check
from minimal_models import coupling
from minimal_models import frustration as model_a

from .parts import (GRAPH_OUTPUTS, LABEL_OUTPUTS, STATUS_OUTPUTS, CouplingGraph, GraphLayout,
                    SolverSettings, label_trajectory, pad_to, trajectory_outputs)
from .time_grid import TimeGrid

__all__ = ["FrustrationFlow"]


# Host-side helpers shared by many points of a grid (every seed of one (K, n, p)): cached.
# ``p`` is the effective share of frustrated samples, the one the predictions are written for.
@functools.lru_cache(maxsize=4096)
def _predicted_slow_rate(kind, K, n, p, q, eta_x, eta_y, nu):
    rates = dict(eta_x=eta_x, eta_y=eta_y, nu=nu)
    if kind == "clean" or p == 0:
        return 0.0
    if kind == "soft":
        return model_a.first_order_slow_rate(K, n, p, j=q * (1 - q), **rates)
    return model_a.symmetric_cubic_slow_rate(K, n, p, **rates)


@dataclasses.dataclass(frozen=True)
class FrustrationFlow(SolverSettings, TimeGrid, CouplingGraph):
    """Model A gradient flow at one parameter point (defaults: unit-sum preset, F3 settings).

    Fields: the coupling graph and initial state (:class:`~simulations.flows.parts.CouplingGraph`),
    the time grid (:class:`~simulations.flows.time_grid.TimeGrid`), the ODE solver
    (:class:`~simulations.flows.parts.SolverSettings`), then Model A's own: ``normalisation``
    (nu), ``eta_x``, ``eta_y``, ``solver``, ``spectrum``, ``save_state``.

    ``solver="ode"`` integrates dZ/dt = -nu H L_G Z with ``ode_solver`` at ``rtol``/``atol``
    (default the lean Dormand-Prince 8 of :mod:`simulations.flows.rk`, which compiles ~3x faster
    than diffrax's and is cacheable across processes; any of :data:`simulations.flows.solve.SOLVERS`);
    ``solver="closed_form"`` uses the eigendecomposition
    (:func:`minimal_models.frustration.closed_form_solution`).  Outputs per time: d_min,
    label spread, collapse ratio, nearest-label accuracies, loss; per point: the solver status
    (``result``, ``num_steps``), the effective frustration ``frustration_eff`` = round(p n)/n,
    the predicted slow rate at that effective p (symmetric cubic for hard pairs, first-order
    estimate for soft splits) and, with ``spectrum=True``, the exact mean of the K - 1 slow
    eigenvalues.
    ``save_state=True`` also returns the full trajectory Z(t).
    """

    # Model A's defaults where they differ from the parts' (F3 settings)
    t_min: float = 1e-3
    max_steps: int = 100_000

    normalisation: object = "sum"
    eta_x: float = 1.0
    eta_y: float = 1.0
    solver: str = "ode"
    spectrum: bool = True
    save_state: bool = False

    reconstruction: ClassVar[bool] = True
    static_fields: ClassVar[tuple[str, ...]] = ("solver",) + SolverSettings.STATIC + (
        "spectrum", "save_state")

    def __post_init__(self):
        super().__post_init__()
        coupling.normalisation_factor(self.normalisation, 1, 2)
        for name in ("eta_x", "eta_y"):
            check.positive(name, getattr(self, name))
        check.choice("solver", self.solver, ("ode", "closed_form"))

    # ------------------------------------------------------------------ host side

    def layout(self, models) -> GraphLayout:
        return GraphLayout.of(models)

    def initial_state(self) -> np.ndarray:
        return self.initial_embeddings()

    def nu(self) -> float:
        return coupling.normalisation_factor(self.normalisation, self.n_samples, self.n_classes)

    def effective_parameters(self) -> dict:
        """The fields, and the normalisation factor ``nu`` the rule ``normalisation`` gives."""
        return {**super().effective_parameters(), "nu": self.nu()}

    def predicted_slow_rate(self) -> float:
        """Slow rate predicted at the effective frustration round(p n)/n."""
        return _predicted_slow_rate(self.kind, self.n_classes, self.n_per_class,
                                    self.effective_frustration(), self.q, self.eta_x,
                                    self.eta_y, self.nu())

    def prepare(self, layout: GraphLayout) -> dict:
        N_max, K_max, d_max = layout.n_samples, layout.n_classes, layout.dim
        N, K = self.n_samples, self.n_classes
        z = self.initial_state()
        Z0 = np.concatenate([pad_to(z[:N], np.zeros((N_max, d_max))),
                             pad_to(z[N:], np.zeros((K_max, d_max)))])
        return {
            **self.graph_inputs(layout), "Z0": Z0,
            "eta_x": np.float64(self.eta_x), "eta_y": np.float64(self.eta_y),
            "nu": np.float64(self.nu()), **self.time_inputs(layout.time),
            **self.solver_inputs(),
            "n_pad_zeros": np.int64((N_max - N) + (K_max - K)), "n_labels": np.int64(K),
            "lambda_pred": np.float64(self.predicted_slow_rate()),
        }

    def input_shapes(self, layout: GraphLayout) -> dict:
        """Shapes and dtypes of :meth:`prepare`'s inputs, from the layout alone: the sweep's
        memory estimate uses them, so a grid too large to fit is refused before any initial
        state is built (the engine holds ``prepare`` to this declaration)."""
        import jax

        N, K, d = layout.n_samples, layout.n_classes, layout.dim
        f64, i64 = np.dtype(np.float64), np.dtype(np.int64)
        scalar = jax.ShapeDtypeStruct((), f64)
        return {**self.graph_input_shapes(layout), "Z0": jax.ShapeDtypeStruct((N + K, d), f64),
                "eta_x": scalar, "eta_y": scalar, "nu": scalar,
                **self.time_input_shapes(layout.time), **self.solver_input_shapes(),
                "n_pad_zeros": jax.ShapeDtypeStruct((), i64),
                "n_labels": jax.ShapeDtypeStruct((), i64), "lambda_pred": scalar}

    def outputs(self, layout) -> dict:
        per_t = ("t",)
        out = {
            **LABEL_OUTPUTS,
            "acc_all": (per_t, "1", "nearest-label accuracy, all samples"),
            "acc_cons": (per_t, "1", "nearest-label accuracy, consistent samples"),
            "acc_frus": (per_t, "1", "nearest-label accuracy of frustrated samples vs primary"),
            "loss": (per_t, "1", "loss L_A"),
            **STATUS_OUTPUTS,
            "num_steps": ((), "1", "solver steps (0 for the closed form)"),
            "lambda_pred": ((), "1/time", "predicted slow rate at frustration_eff (cubic or "
                                          "first order)"),
            **GRAPH_OUTPUTS,
        }
        if self.spectrum:
            out["lambda_slow"] = ((), "1/time", "mean of the K - 1 slow eigenvalues of nu H L_G")
            out["lambda_slowest"] = ((), "1/time", "smallest slow eigenvalue: late decay rate")
        if self.save_state:
            out["Z"] = (("t", "node", "component"), "embedding units", "state [X; Y]")
        return out

    def shared_inputs(self, layout) -> dict:
        return {}

    # ------------------------------------------------------------------ one point, pure JAX

    def _generator(self, inp):
        return model_a.symmetric_generator(inp["A"], eta_x=inp["eta_x"], eta_y=inp["eta_y"])

    def evaluate(self, inp) -> dict:
        import jax
        import jax.numpy as jnp

        A, ts = inp["A"], inp["ts"]
        N = A.shape[0]
        lam = None  # eigenvalues of H^{1/2} L_G H^{1/2}, when the closed form computed them
        if self.solver == "ode":
            sol = self.solve(lambda t, z, a: model_a.vector_field(
                a["A"], z, eta_x=a["eta_x"], eta_y=a["eta_y"], nu=a["nu"]), inp["Z0"], inp)
            Zt, result, num_steps = sol.zs, sol.result, sol.num_steps
        else:
            Zt, lam = model_a.closed_form_solution(A, inp["Z0"], ts, eta_x=inp["eta_x"],
                                                   eta_y=inp["eta_y"], nu=inp["nu"])
            result, num_steps = jnp.int32(0), jnp.int32(0)

        Y = Zt[:, N:]
        acc = jax.vmap(lambda Z: collapse.nearest_label_accuracy(
            Z[:N], Z[N:], inp["classes"], inp["frustrated"], sample_mask=inp["sample_mask"],
            label_mask=inp["label_mask"]))(Zt)
        per_t = {
            **label_trajectory(Y, inp["label_mask"]),
            "acc_all": acc["acc_all"], "acc_cons": acc["acc_cons"], "acc_frus": acc["acc_frus"],
            "loss": jax.vmap(lambda Z: model_a.loss(A, Z, nu=inp["nu"]))(Zt),
        }
        out, missing = trajectory_outputs(per_t, inp, result, num_steps)
        out.update(lambda_pred=inp["lambda_pred"], frustration_eff=inp["frustration_eff"])
        if self.spectrum:
            if lam is None:
                lam = jnp.linalg.eigvalsh(self._generator(inp)[0])
            lam = inp["nu"] * lam
            # padded nodes add exact zeros at the bottom; the slow modes follow the true zero mode
            idx = jnp.arange(lam.shape[0]) - inp["n_pad_zeros"]
            slow = (idx >= 1) & (idx <= inp["n_labels"] - 1)
            out["lambda_slow"] = jnp.sum(jnp.where(slow, lam, 0.0)) / (inp["n_labels"] - 1)
            out["lambda_slowest"] = jnp.sum(jnp.where(idx == 1, lam, 0.0))
        if self.save_state:
            out["Z"] = jnp.where(missing[:, None, None], jnp.nan, Zt)
        return out
