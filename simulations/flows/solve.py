r"""Gradient-flow solvers for one parameter point.

:func:`solve_flow` integrates dz/dt = f(t, z, args) with diffrax (adaptive, float64) and returns
the trajectory on a requested time grid together with the solver status.  It is pure JAX, so
``jax.vmap`` batches it; with ``throw=False`` (the default) a failed point keeps its status
instead of raising, which is what a sweep needs.  :func:`solve_flow_scipy` is the reference
path through :func:`scipy.integrate.solve_ivp` (DOP853, LSODA, ...).

The state z may be any pytree of arrays (a dict or tuple of X, Y, W, ...): diffrax integrates
pytrees natively, and the SciPy path ravels the leaves into one vector and back.

Every path reports its status as a :class:`~simulations.flows.results.SolverResult` code (0 =
``SUCCESS``): diffrax's ``RESULTS`` are mapped onto it by name, SciPy's status and message
likewise, and the lean solver writes it itself.  ``NONFINITE`` marks a solve that NaN/inf
stopped (diffrax and SciPy on their own report the step-size loop that follows: max_steps, or
a step too small): on every path when the vector field is NaN/inf at the last accepted state
(NaN parameters, say); on the lean and SciPy paths also when the steps that failed met NaN/inf
(a blow-up, or a stall at the edge of the region where the vector field is finite), which
diffrax reports as ``MAX_STEPS_REACHED``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from minimal_models.precision import require_x64

require_x64()

from minimal_models import validation as check

from .results import SolverResult, from_diffrax, from_scipy

__all__ = ["FlowSolution", "SOLVERS", "solve_flow", "solve_flow_scipy", "SUCCESS", "SolverResult"]

SUCCESS = SolverResult.SUCCESS  # == 0; any other code marks a failed solve
DIFFRAX_SOLVERS = ("dopri8", "dopri5", "tsit5", "kvaerno5")
# simulations.flows.rk tableaus; the 5(4) pairs reuse their last stage (FSAL): 6 evaluations a step
LEAN_SOLVERS = {"dopri8-lean": "dop853", "dopri5-lean": "dopri5", "tsit5-lean": "tsit5"}
SOLVERS = DIFFRAX_SOLVERS + tuple(LEAN_SOLVERS)


class FlowSolution(NamedTuple):
    """Trajectory ``zs`` at times ``ts``: z0's pytree with a leading len(ts) axis on every leaf;
    ``result`` a :class:`~simulations.flows.results.SolverResult` code, 0 on success (otherwise
    ``zs`` holds NaN from the failed interval on); ``num_steps`` counts accepted and rejected
    steps (function evaluations on the SciPy path)."""

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
    applies per interval).  ``result`` is a :class:`~simulations.flows.results.SolverResult` code:
    0 on success, else the first failure's (diffrax's RESULTS mapped by name; ``NONFINITE``
    when the vector field is NaN/inf at the last accepted state); states from the failure on
    are NaN.  Works on concrete arrays and under ``jit``/``vmap`` (then ``ts`` must be an
    array argument of fixed length).

    ``solver``: a diffrax solver (``dopri8``, ``dopri5``, ``tsit5``, ``kvaerno5``), or a lean
    solver of :mod:`simulations.flows.rk` (``dopri8-lean``, ``dopri5-lean``, ``tsit5-lean``: the same
    tableaus in one small ``lax.while_loop`` that lands on every output time, the 5(4) pairs
    reusing their last stage as the next first (FSAL); fast to compile and cacheable across
    processes; ``dt0`` and ``restart_at_outputs`` do not apply).
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
        # a second save of t1 keeps the last accepted state: after a failure, where it stopped
        saveat = diffrax.SaveAt(subs=[diffrax.SubSaveAt(ts=ts), diffrax.SubSaveAt(t1=True)])
        sol = diffrax.diffeqsolve(term, stepper, t0=0.0, t1=ts[-1], dt0=dt0, y0=z0, args=args,
                                  saveat=saveat, stepsize_controller=controller,
                                  max_steps=max_steps, throw=throw)
        (ys, y_last), (_, t_last) = sol.ys, sol.ts
        # diffrax leaves inf at the times it did not reach; mark them as missing, not numbers
        zs = jax.tree_util.tree_map(lambda y: jnp.where(jnp.isfinite(y), y, jnp.nan), ys)
        z_last = jax.tree_util.tree_map(lambda y: y[0], y_last)
        result = _diffrax_result(sol.result, vector_field, t_last[0], z_last, args)
        return FlowSolution(ts=ts, zs=zs, result=result, num_steps=sol.stats["num_steps"])

    def interval(z, bounds):
        # one adaptive solve per output interval: the loop carries only the state, and every
        # saved state is a step end point (no dense-output interpolation error)
        t_start, t_end = bounds
        sol = diffrax.diffeqsolve(term, stepper, t0=t_start, t1=t_end, dt0=dt0, y0=z, args=args,
                                  saveat=diffrax.SaveAt(t1=True), stepsize_controller=controller,
                                  max_steps=max_steps, throw=throw)
        z_end = jax.tree_util.tree_map(lambda y: y[0], sol.ys)
        result = _diffrax_result(sol.result, vector_field, sol.ts[0], z_end, args)
        return z_end, (z_end, result, sol.stats["num_steps"])

    starts = jnp.concatenate([jnp.zeros(1, ts.dtype), ts[:-1]])
    _, (zs, results, steps) = jax.lax.scan(interval, z0, (starts, ts))
    failed = results != SUCCESS
    result = jnp.where(failed.any(), results[jnp.argmax(failed)], jnp.int32(SUCCESS))
    after_failure = jnp.cumsum(failed) > 0
    zs = jax.tree_util.tree_map(
        lambda y: jnp.where(after_failure.reshape((-1,) + (1,) * (y.ndim - 1)), jnp.nan, y), zs)
    return FlowSolution(ts=ts, zs=zs, result=result, num_steps=steps.sum())


def _diffrax_result(result, vector_field, t_last, z_last, args):
    """diffrax's RESULTS item -> SolverResult code; a failed solve whose vector field is NaN/inf
    at its last accepted state is NONFINITE (diffrax itself reports the max_steps that the
    rejected steps then run into)."""
    import jax
    import jax.numpy as jnp

    code = from_diffrax(result)
    f_last = jax.tree_util.tree_leaves(vector_field(t_last, z_last, args))
    finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in f_last]))
    return jnp.where((code != SUCCESS) & ~finite, jnp.int32(SolverResult.NONFINITE), code)


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
    ``result`` is a :class:`~simulations.flows.results.SolverResult`: ``SUCCESS``, ``NONFINITE``
    (a NaN/inf state, or a failure after the vector field returned NaN/inf),
    ``STEP_SIZE_TOO_SMALL`` (SciPy's step-size failure) or ``SOLVER_FAILED`` (any other);
    on failure ``zs`` is NaN.  ``num_steps`` counts function evaluations.
    """
    from scipy.integrate import solve_ivp

    check.choice("method", method, ("DOP853", "RK45", "RK23", "Radau", "BDF", "LSODA"))
    ts = np.asarray(ts, dtype=np.float64)
    _check_times(ts)
    ravel, unravel = _raveller(z0)

    saw_nonfinite = []  # SciPy only sees the step-size loop a NaN/inf vector field causes

    def rhs(t, y):
        dy = ravel(vector_field(t, unravel(y), args))
        if not saw_nonfinite and not np.all(np.isfinite(dy)):
            saw_nonfinite.append(t)
        return dy

    y0 = ravel(z0)
    if not np.all(np.isfinite(rhs(0.0, y0))):  # SciPy's step-size search loops forever on NaN
        nan = np.full((len(ts), y0.size), np.nan)
        return FlowSolution(ts=ts, zs=unravel(nan, batch=len(ts)), result=SolverResult.NONFINITE,
                            num_steps=1)
    if dense_output:
        out = solve_ivp(rhs, (0.0, ts[-1]), y0, method=method, t_eval=ts,
                        rtol=rtol, atol=atol)
        status, message, nfev, ys = out.status, out.message, out.nfev, out.y.T
    else:
        ys, y, t_prev, status, message, nfev = [], y0, 0.0, 0, "", 0
        for t in ts:
            if t > t_prev and status == 0 and np.all(np.isfinite(y)):  # else failed: stop
                out = solve_ivp(rhs, (t_prev, t), y, method=method, rtol=rtol, atol=atol)
                status, message = out.status, out.message
                nfev, y, t_prev = nfev + out.nfev, out.y[:, -1], t
            ys.append(y)
    ys = np.asarray(ys)
    nonfinite = not np.all(np.isfinite(ys)) or (status != 0 and bool(saw_nonfinite))
    result = from_scipy(status, message, nonfinite)
    if result != SUCCESS:
        ys = np.full((len(ts), y0.size), np.nan)
    zs = unravel(ys, batch=len(ts))
    return FlowSolution(ts=ts, zs=zs, result=result, num_steps=nfev)


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
