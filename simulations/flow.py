r"""Gradient-flow solvers for one parameter point.

:func:`solve_flow` integrates dz/dt = f(t, z, args) with diffrax (adaptive, float64) and returns
the trajectory on a requested time grid together with the solver status.  It is pure JAX, so
``jax.vmap`` batches it; with ``throw=False`` (the default) a failed point keeps its status
instead of raising, which is what a sweep needs.  :func:`solve_flow_scipy` is the reference
path through :func:`scipy.integrate.solve_ivp` (DOP853, LSODA, ...).

The state z may be any pytree of arrays (a dict or tuple of X, Y, W, ...): diffrax integrates
pytrees natively, and the SciPy path ravels the leaves into one vector and back.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from minimal_models.precision import require_x64

require_x64()

from minimal_models import validation as check

__all__ = ["FlowSolution", "SOLVERS", "solve_flow", "solve_flow_scipy", "SUCCESS"]

SUCCESS = 0  # diffrax's RESULTS.successful; any other code marks a failed solve
DIFFRAX_SOLVERS = ("dopri8", "dopri5", "tsit5", "kvaerno5")
LEAN_SOLVERS = {"dopri8-lean": "dop853", "dopri5-lean": "dopri5"}  # simulations.rk
SOLVERS = DIFFRAX_SOLVERS + tuple(LEAN_SOLVERS)


class FlowSolution(NamedTuple):
    """Trajectory ``zs`` at times ``ts``: z0's pytree with a leading len(ts) axis on every leaf; ``result`` is 0 on success
    (diffrax's RESULTS code otherwise, and then ``zs`` holds NaN from the failed interval on);
    ``num_steps`` counts accepted and rejected steps."""

    ts: object
    zs: object
    result: object
    num_steps: object


def _diffrax_solver(name):
    import diffrax

    return {"dopri8": diffrax.Dopri8, "dopri5": diffrax.Dopri5, "tsit5": diffrax.Tsit5,
            "kvaerno5": diffrax.Kvaerno5}[name]()


def _check_times(ts):
    ts = np.asarray(ts)
    if ts.ndim != 1 or ts.size == 0:
        raise ValueError(f"ts must be a non-empty 1-D array of output times, got shape {ts.shape}")
    if not np.all(np.isfinite(ts)) or ts[0] < 0 or np.any(np.diff(ts) < 0):
        raise ValueError("ts must be finite, start at t >= 0 and be non-decreasing")


def solve_flow(
    vector_field: Callable,
    z0,
    ts,
    *,
    args=None,
    solver: str = "dopri8",
    rtol: float = 1e-10,
    atol: float = 1e-12,
    dt0: float | None = None,
    max_steps: int = 200_000,
    throw: bool = False,
    restart_at_outputs: bool = False,
) -> FlowSolution:
    """Integrate ``dz/dt = vector_field(t, z, args)`` from t = 0 to ``ts[-1]``, saving at ``ts``.

    Adaptive steps with a PID controller at ``rtol``/``atol``.  By default one solve saves at
    ``ts`` through the solver's dense output.  ``restart_at_outputs=True`` restarts the solve
    at every output time instead, so each saved state is a step end point (``max_steps`` then
    applies per interval).  ``result`` is 0 on success, else the first failure's diffrax
    RESULTS code; states from the failure on are NaN.  Works on concrete arrays and under
    ``jit``/``vmap`` (then ``ts`` must be an array argument of fixed length).

    ``solver``: a diffrax solver (``dopri8``, ``dopri5``, ``tsit5``, ``kvaerno5``), or a lean
    solver of :mod:`simulations.rk` (``dopri8-lean``, ``dopri5-lean``: the same tableaus in one
    small ``lax.while_loop`` that lands on every output time; fast to compile and cacheable
    across processes; ``result`` 1 = max_steps reached, 2 = non-finite state; ``dt0`` and
    ``restart_at_outputs`` do not apply).
    """
    import jax
    import jax.numpy as jnp

    check.choice("solver", solver, SOLVERS)
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if not isinstance(tol, jax.core.Tracer):  # traced tolerances: checked by their caller
            check.positive(name, float(tol))
    check.integer("max_steps", max_steps, minimum=1)
    if not isinstance(ts, jax.core.Tracer):  # traced times are validated by their caller
        _check_times(np.asarray(ts))
    ts = jnp.asarray(ts)
    z0 = jax.tree_util.tree_map(jnp.asarray, z0)
    if solver in LEAN_SOLVERS:
        from .rk import solve_rk

        zs, result, num_steps = solve_rk(vector_field, z0, ts, args=args,
                                         tableau=LEAN_SOLVERS[solver], rtol=rtol, atol=atol,
                                         max_steps=max_steps)
        return FlowSolution(ts=ts, zs=zs, result=result, num_steps=num_steps)
    import diffrax
    term, stepper = diffrax.ODETerm(vector_field), _diffrax_solver(solver)
    controller = diffrax.PIDController(rtol=rtol, atol=atol)
    if not restart_at_outputs:
        sol = diffrax.diffeqsolve(term, stepper, t0=0.0, t1=ts[-1], dt0=dt0, y0=z0, args=args,
                                  saveat=diffrax.SaveAt(ts=ts), stepsize_controller=controller,
                                  max_steps=max_steps, throw=throw)
        # diffrax leaves inf at the times it did not reach; mark them as missing, not numbers
        zs = jax.tree_util.tree_map(lambda y: jnp.where(jnp.isfinite(y), y, jnp.nan), sol.ys)
        return FlowSolution(ts=ts, zs=zs, result=sol.result._value,
                            num_steps=sol.stats["num_steps"])

    def interval(z, bounds):
        # one adaptive solve per output interval: the loop carries only the state, and every
        # saved state is a step end point (no dense-output interpolation error)
        t_start, t_end = bounds
        sol = diffrax.diffeqsolve(term, stepper, t0=t_start, t1=t_end, dt0=dt0, y0=z, args=args,
                                  saveat=diffrax.SaveAt(t1=True), stepsize_controller=controller,
                                  max_steps=max_steps, throw=throw)
        z_end = jax.tree_util.tree_map(lambda y: y[0], sol.ys)
        return z_end, (z_end, sol.result._value, sol.stats["num_steps"])

    starts = jnp.concatenate([jnp.zeros(1, ts.dtype), ts[:-1]])
    _, (zs, results, steps) = jax.lax.scan(interval, z0, (starts, ts))
    failed = results != 0
    result = jnp.where(failed.any(), results[jnp.argmax(failed)], 0)
    after_failure = jnp.cumsum(failed) > 0
    zs = jax.tree_util.tree_map(
        lambda y: jnp.where(after_failure.reshape((-1,) + (1,) * (y.ndim - 1)), jnp.nan, y), zs)
    return FlowSolution(ts=ts, zs=zs, result=result, num_steps=steps.sum())


def solve_flow_scipy(
    vector_field: Callable,
    z0,
    ts,
    *,
    args=None,
    method: str = "DOP853",
    rtol: float = 1e-10,
    atol: float = 1e-12,
    dense_output: bool = False,
) -> FlowSolution:
    """Reference solve with :func:`scipy.integrate.solve_ivp` on flattened numpy state.

    ``vector_field(t, z, args)`` receives and must return numpy pytrees of ``z0``'s structure
    (a plain array is the one-leaf case); the leaves are raveled into one vector for SciPy.
    By default the solve restarts at every output time, so each saved state is a step end
    point accurate to ``rtol``; ``dense_output=True`` uses SciPy's interpolant via ``t_eval``
    instead (one solve, but DOP853's interpolant can be far less accurate than its steps).
    ``result`` is 0 on success and 1 otherwise; ``num_steps`` counts function evaluations.
    """
    from scipy.integrate import solve_ivp

    check.choice("method", method, ("DOP853", "RK45", "RK23", "Radau", "BDF", "LSODA"))
    ts = np.asarray(ts, dtype=np.float64)
    _check_times(ts)
    ravel, unravel = _raveller(z0)

    def rhs(t, y):
        return ravel(vector_field(t, unravel(y), args))

    y0 = ravel(z0)
    if dense_output:
        out = solve_ivp(rhs, (0.0, ts[-1]), y0, method=method, t_eval=ts,
                        rtol=rtol, atol=atol)
        ok, nfev, ys = out.status == 0, out.nfev, out.y.T
    else:
        ys, y, t_prev, ok, nfev = [], y0, 0.0, True, 0
        for t in ts:
            if t > t_prev:
                out = solve_ivp(rhs, (t_prev, t), y, method=method, rtol=rtol, atol=atol)
                ok, nfev, y, t_prev = ok and out.status == 0, nfev + out.nfev, out.y[:, -1], t
            ys.append(y)
    ys = np.asarray(ys) if ok else np.full((len(ts), y0.size), np.nan)
    zs = unravel(ys, batch=len(ts))
    return FlowSolution(ts=ts, zs=zs, result=0 if ok else 1, num_steps=nfev)


def _raveller(z0):
    """(ravel, unravel) between a pytree of float64 arrays shaped like ``z0`` and one vector
    (``unravel(y, batch=n)`` also takes an (n, size) stack of vectors)."""
    import jax

    leaves, treedef = jax.tree_util.tree_flatten(z0)
    leaves = [np.asarray(leaf, dtype=np.float64) for leaf in leaves]
    shapes = [leaf.shape for leaf in leaves]
    bounds = np.cumsum([0] + [leaf.size for leaf in leaves])

    def ravel(tree):
        parts = jax.tree_util.tree_leaves(tree)
        if len(parts) != len(shapes):
            raise ValueError(f"vector_field returned {len(parts)} leaves, the state has "
                             f"{len(shapes)}")
        return np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in parts])

    def unravel(y, batch=None):
        lead = () if batch is None else (batch,)
        parts = [y[..., bounds[i]:bounds[i + 1]].reshape(lead + shape)
                 for i, shape in enumerate(shapes)]
        return jax.tree_util.tree_unflatten(treedef, parts)

    return ravel, unravel
