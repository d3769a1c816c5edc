"""The lean Runge-Kutta solver (simulations.rk) against closed forms, SciPy and diffrax."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minimal_models import coupling as C
from minimal_models import frustration as F
from simulations import SolverResult, solve_flow, solve_flow_scipy
from simulations.rk import solve_rk

TS = np.concatenate([[0.0], np.geomspace(1e-2, 20.0, 15)])


@pytest.mark.parametrize("solver,tol", [("dopri8-lean", 1e-8), ("dopri5-lean", 1e-7)])
def test_model_a_flow_matches_the_closed_form(solver, tol):
    A = C.coupling_matrix(4, 5, 0.2, seed=0)
    Z0 = C.initial_state(4, 5, 3, seed=1)
    sol = solve_flow(lambda t, z, a: F.vector_field(A, z), Z0, TS, solver=solver, rtol=1e-10,
                     atol=1e-12)
    assert int(sol.result) == 0 and int(sol.num_steps) > 0
    np.testing.assert_allclose(np.asarray(sol.zs), F.closed_form(A, Z0, TS), atol=tol)


def test_error_shrinks_with_the_tolerance_at_the_tableau_order():
    """Global error ~ tol: tightening rtol by 1e4 must cut the error by orders of magnitude,
    and the step count must grow as tol^(-1/8) for the 8th-order tableau (within a factor)."""
    A = C.coupling_matrix(3, 4, 0.3, seed=2)
    Z0 = C.initial_state(3, 4, 2, seed=3)
    exact = F.closed_form(A, Z0, TS)
    errs, steps = [], []
    for tol in (1e-5, 1e-9):
        sol = solve_flow(lambda t, z, a: F.vector_field(A, z), Z0, TS, solver="dopri8-lean",
                         rtol=tol, atol=tol * 1e-2)
        errs.append(float(np.max(np.abs(np.asarray(sol.zs) - exact))))
        steps.append(int(sol.num_steps))
    assert errs[1] < errs[0] / 100
    assert 1.0 < steps[1] / steps[0] < 5.0 * (1e4) ** (1 / 8)


def test_pytree_nonlinear_state_matches_scipy_and_diffrax():
    """Lotka-Volterra on {"prey": (), "pred": ()} plus a decoupled Riccati leaf of shape (2,)."""

    def rhs(t, z, a):
        x, y, r = z["prey"], z["pred"], z["r"]
        return {"prey": a * x - x * y, "pred": x * y - y, "r": -r * r}

    z0 = {"prey": np.float64(1.5), "pred": np.float64(0.7), "r": np.array([0.5, 2.0])}
    ts = np.linspace(0.0, 5.0, 11)
    lean = solve_flow(rhs, z0, ts, args=1.2, solver="dopri8-lean", rtol=1e-11, atol=1e-13)
    dfx = solve_flow(rhs, z0, ts, args=1.2, solver="dopri8", rtol=1e-11, atol=1e-13)
    ref = solve_flow_scipy(rhs, z0, ts, args=1.2, rtol=1e-12, atol=1e-14)
    assert int(lean.result) == 0
    for key in z0:
        np.testing.assert_allclose(np.asarray(lean.zs[key]), ref.zs[key], atol=1e-9)
        np.testing.assert_allclose(np.asarray(lean.zs[key]), np.asarray(dfx.zs[key]), atol=1e-9)
    np.testing.assert_allclose(np.asarray(lean.zs["r"]),
                               z0["r"] / (1 + np.outer(ts, z0["r"])), atol=1e-10)


def test_repeated_and_zero_output_times_and_traced_tolerances_under_vmap():
    ts = np.array([0.0, 0.0, 0.5, 0.5, 10.0])

    def one(rate, rtol):
        return solve_flow(lambda t, z, a: -a * z, jnp.ones(2), ts, args=rate,
                          solver="dopri8-lean", rtol=rtol, atol=1e-14)

    sol = jax.jit(jax.vmap(one))(jnp.array([0.5, 0.5]), jnp.array([1e-12, 1e-3]))
    assert np.all(np.asarray(sol.result) == 0)
    exact = np.exp(-0.5 * ts)[:, None] * np.ones(2)
    err = np.abs(np.asarray(sol.zs) - exact).max(axis=(1, 2))
    assert err[0] < 1e-10 and err[1] < 1e-2
    assert int(sol.num_steps[0]) > int(sol.num_steps[1])  # each point used its own rtol
    assert err[0] < err[1]


def test_failures_are_status_codes_with_nan_not_exceptions():
    ts = np.linspace(0.0, 1.0, 5)
    short = solve_rk(lambda t, z, a: -z, jnp.ones(3), ts, max_steps=2)
    assert int(short[1]) == SolverResult.MAX_STEPS_REACHED == 1
    assert np.isnan(np.asarray(short[0])[-1]).all()
    blow = solve_rk(lambda t, z, a: z * z, jnp.ones(1), np.array([0.0, 0.5, 2.0]),
                    max_steps=5_000)  # y = 1/(1 - t) blows up at t = 1
    assert int(blow[1]) in (SolverResult.MAX_STEPS_REACHED, SolverResult.NONFINITE)
    np.testing.assert_allclose(np.asarray(blow[0])[1], [2.0], rtol=1e-8)
    assert np.isnan(np.asarray(blow[0])[2]).all()


@settings(max_examples=15, deadline=None)
@given(st.floats(0.05, 3.0), st.floats(-2.0, 2.0), st.floats(0.1, 4.0))
def test_linear_rotation_with_decay_is_exact_to_tolerance(decay, omega, t_end):
    M = np.array([[-decay, -omega], [omega, -decay]])
    ts = np.linspace(0.0, t_end, 6)
    sol = solve_flow(lambda t, z, a: a @ z, np.array([1.0, 0.0]), ts, args=M,
                     solver="dopri8-lean", rtol=1e-11, atol=1e-13)
    exact = np.exp(-decay * ts)[:, None] * np.stack([np.cos(omega * ts), np.sin(omega * ts)], -1)
    np.testing.assert_allclose(np.asarray(sol.zs), exact, atol=1e-9)


def test_large_state_matches_the_exact_solution_and_diffrax():
    """A state of 400 entries (Model B's size): the sparse stage combination is exact to the
    tolerance and takes about as many steps as diffrax's Dopri8 with the same tableau."""
    rates = np.linspace(0.1, 3.0, 400)
    ts = np.linspace(0.0, 2.0, 5)
    rhs = lambda t, z, a: -a * z  # noqa: E731
    lean = solve_flow(rhs, jnp.ones(400), ts, args=jnp.asarray(rates), solver="dopri8-lean",
                      rtol=1e-10, atol=1e-12)
    dfx = solve_flow(rhs, jnp.ones(400), ts, args=jnp.asarray(rates), solver="dopri8",
                     rtol=1e-10, atol=1e-12)
    assert int(lean.result) == 0
    np.testing.assert_allclose(np.asarray(lean.zs), np.exp(-np.outer(ts, rates)), atol=1e-9)
    assert 0.5 < int(lean.num_steps) / int(dfx.num_steps) < 2.0
