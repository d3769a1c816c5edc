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

from .flow import SOLVERS, solve_flow
from .time_grid import log_grid, padded

__all__ = ["FrustrationFlow"]


# Host-side helpers shared by many points of a grid (every seed of one (K, n, p)): cached.
@functools.lru_cache(maxsize=4096)
def _predicted_slow_rate(kind, K, n, p, q, eta_x, eta_y, nu):
    rates = dict(eta_x=eta_x, eta_y=eta_y, nu=nu)
    if kind == "clean" or p == 0:
        return 0.0
    if kind == "soft":
        return model_a.first_order_slow_rate(K, n, p, j=q * (1 - q), **rates)
    return model_a.symmetric_cubic_slow_rate(K, n, p, **rates)


@dataclasses.dataclass(frozen=True)
class FrustrationFlow:
    """Model A gradient flow at one parameter point (defaults: unit-sum preset, F3 settings).

    ``solver="ode"`` integrates dZ/dt = -nu H L_G Z with ``ode_solver`` at ``rtol``/``atol``
    (default the lean Dormand-Prince 8 of :mod:`simulations.rk`, which compiles ~3x faster
    than diffrax's and is cacheable across processes; any of :data:`simulations.flow.SOLVERS`);
    ``solver="closed_form"`` uses the eigendecomposition.  Outputs per time: d_min,
    label spread, nearest-label accuracies, loss; per point: the solver status (``result``,
    ``num_steps``), the predicted slow rate (symmetric cubic for hard pairs, first-order estimate
    for soft splits) and, with ``spectrum=True``, the exact mean of the K - 1 slow eigenvalues.
    ``save_state=True`` also returns the full trajectory Z(t).
    """

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
    normalisation: object = "sum"
    eta_x: float = 1.0
    eta_y: float = 1.0
    t_min: float = 1e-3
    t_max: float = 100.0
    n_times: int = 61
    solver: str = "ode"
    ode_solver: str = "dopri8-lean"
    rtol: float = 1e-10
    atol: float = 1e-12
    max_steps: int = 100_000
    spectrum: bool = True
    save_state: bool = False

    reconstruction: ClassVar[bool] = True
    static_fields: ClassVar[tuple[str, ...]] = ("solver", "ode_solver", "max_steps", "spectrum",
                                                "save_state")

    def __post_init__(self):
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
        coupling.normalisation_factor(self.normalisation, 1, 2)
        for name in ("eta_x", "eta_y", "t_min", "t_max", "rtol", "atol"):
            check.positive(name, getattr(self, name))
        if self.t_min >= self.t_max:
            raise ValueError(f"t_min={self.t_min} must be smaller than t_max={self.t_max}")
        check.integer("n_times", self.n_times, minimum=2)
        check.choice("solver", self.solver, ("ode", "closed_form"))
        check.choice("ode_solver", self.ode_solver, SOLVERS)
        check.integer("max_steps", self.max_steps, minimum=1)

    # ------------------------------------------------------------------ host side

    @property
    def n_samples(self) -> int:
        return self.n_classes * self.n_per_class

    def times(self) -> np.ndarray:
        """Output grid: t = 0 followed by n_times - 1 log-spaced times in [t_min, t_max]."""
        return np.array(log_grid(self.t_min, self.t_max, self.n_times))

    def layout(self, models) -> tuple:
        """(N_max, K_max, d_max, n_times_max, common time grid or None)."""
        grids = {(m.t_min, m.t_max, m.n_times) for m in models}
        common = log_grid(*grids.pop()) if len(grids) == 1 else None
        return (max(m.n_samples for m in models), max(m.n_classes for m in models),
                max(m.dim for m in models), max(m.n_times for m in models), common)

    def coupling(self) -> np.ndarray:
        return coupling.coupling_matrix(self.n_classes, self.n_per_class, self.frustration,
                                       seed=self.seed_A, kind=self.kind, q=self.q,
                                       pairing=self.pairing)

    def initial_state(self) -> np.ndarray:
        return coupling.initial_state(self.n_classes, self.n_per_class, self.dim, init=self.init,
                                     sigma=self.sigma, s_y=self.s_y, s_x=self.s_x,
                                     seed=self.seed_init)

    def nu(self) -> float:
        return coupling.normalisation_factor(self.normalisation, self.n_samples, self.n_classes)

    def predicted_slow_rate(self) -> float:
        return _predicted_slow_rate(self.kind, self.n_classes, self.n_per_class,
                                    self.frustration, self.q, self.eta_x, self.eta_y, self.nu())

    def prepare(self, layout) -> dict:
        N_max, K_max, d_max, n_t, _ = layout
        N, K, d = self.n_samples, self.n_classes, self.dim
        A = np.zeros((N_max, K_max))
        A[:N, :K] = self.coupling()
        Z0 = np.zeros((N_max + K_max, d_max))
        z = self.initial_state()
        Z0[:N, :d], Z0[N_max:N_max + K, :d] = z[:N], z[N:]
        classes = np.full(N_max, -1)
        classes[:N] = coupling.sample_classes(K, self.n_per_class)
        frustrated = np.zeros(N_max, bool)
        frustrated[:N] = coupling.partner_labels(A[:N, :K], classes[:N]) >= 0
        return {
            "A": A, "Z0": Z0, "classes": classes, "frustrated": frustrated,
            "sample_mask": np.arange(N_max) < N, "label_mask": np.arange(K_max) < K,
            "eta_x": np.float64(self.eta_x), "eta_y": np.float64(self.eta_y),
            "nu": np.float64(self.nu()), "ts": padded(self.times(), n_t),
            "t_mask": np.arange(n_t) < self.n_times,
            "rtol": np.float64(self.rtol), "atol": np.float64(self.atol),
            "n_pad_zeros": np.int64((N_max - N) + (K_max - K)), "n_labels": np.int64(K),
            "lambda_pred": np.float64(self.predicted_slow_rate()),
        }

    def outputs(self, layout) -> dict:
        per_t = ("t",)
        out = {
            "d_min": (per_t, "embedding units", "minimum distance between label embeddings"),
            "spread": (per_t, "embedding units^2", "label spread tr G_c"),
            "acc_all": (per_t, "1", "nearest-label accuracy, all samples"),
            "acc_cons": (per_t, "1", "nearest-label accuracy, consistent samples"),
            "acc_frus": (per_t, "1", "nearest-label accuracy of frustrated samples vs primary"),
            "loss": (per_t, "1", "loss L_A"),
            "result": ((), "1", "solver status: 0 = success"),
            "num_steps": ((), "1", "solver steps (0 for the closed form)"),
            "lambda_pred": ((), "1/time", "predicted slow rate (cubic or first order)"),
            "time": (per_t, "time", "output time of each t index (NaN: padding)"),
        }
        if self.spectrum:
            out["lambda_slow"] = ((), "1/time", "mean of the K - 1 slow eigenvalues of nu H L_G")
            out["lambda_slowest"] = ((), "1/time", "smallest slow eigenvalue: late decay rate")
        if self.save_state:
            out["Z"] = (("t", "node", "component"), "embedding units", "state [X; Y]")
        return out

    def coords(self, layout) -> dict:
        common = layout[4]
        return {"t": np.array(common) if common is not None else np.arange(layout[3])}

    def shared_inputs(self, layout) -> dict:
        return {}

    # ------------------------------------------------------------------ one point, pure JAX

    def _generator(self, inp):
        import jax.numpy as jnp

        A = inp["A"]
        N, K = A.shape
        L = jnp.block([[jnp.diag(A.sum(1)), -A], [-A.T, jnp.diag(A.sum(0))]])
        sqrt_h = jnp.sqrt(jnp.concatenate([jnp.full(N, inp["eta_x"]), jnp.full(K, inp["eta_y"])]))
        return sqrt_h[:, None] * L * sqrt_h[None, :], sqrt_h

    def evaluate(self, inp) -> dict:
        import jax
        import jax.numpy as jnp

        A, ts = inp["A"], inp["ts"]
        N = A.shape[0]
        lam = None  # eigenvalues of H^{1/2} L_G H^{1/2}, when the closed form computed them
        if self.solver == "ode":
            sol = solve_flow(
                lambda t, z, a: model_a.vector_field(a["A"], z, eta_x=a["eta_x"],
                                                     eta_y=a["eta_y"], nu=a["nu"]),
                inp["Z0"], ts, args=inp, solver=self.ode_solver, rtol=inp["rtol"],
                atol=inp["atol"], max_steps=self.max_steps)
            Zt, result, num_steps = sol.zs, sol.result, sol.num_steps
        else:
            S, sqrt_h = self._generator(inp)
            lam, U = jnp.linalg.eigh(S)
            modes = U.T @ (inp["Z0"] / sqrt_h[:, None])
            decay = jnp.exp(-inp["nu"] * jnp.outer(ts, jnp.clip(lam, 0.0)))
            Zt = sqrt_h[None, :, None] * jnp.einsum("im,tm,md->tid", U, decay, modes)
            result, num_steps = jnp.int32(0), jnp.int32(0)

        Y = Zt[:, N:]
        acc = jax.vmap(lambda Z: collapse.nearest_label_accuracy(
            Z[:N], Z[N:], inp["classes"], inp["frustrated"], sample_mask=inp["sample_mask"],
            label_mask=inp["label_mask"]))(Zt)
        failed = result != 0
        missing = failed | ~inp["t_mask"]  # a failed solve, or a padded output time
        per_t = {
            "d_min": collapse.d_min(Y, inp["label_mask"]),
            "spread": collapse.label_spread(Y, inp["label_mask"]),
            "acc_all": acc["acc_all"], "acc_cons": acc["acc_cons"], "acc_frus": acc["acc_frus"],
            "loss": jax.vmap(lambda Z: model_a.loss(A, Z, nu=inp["nu"]))(Zt),
        }
        out = {k: jnp.where(missing, jnp.nan, v) for k, v in per_t.items()}  # never store junk
        out["time"] = jnp.where(inp["t_mask"], ts, jnp.nan)
        out.update(result=jnp.asarray(result, jnp.int32),
                   num_steps=jnp.asarray(num_steps, jnp.int32), lambda_pred=inp["lambda_pred"])
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
