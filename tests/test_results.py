"""One solver status code (simulations.flows.results.SolverResult) on every solver path."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simulations.flows import SUCCESS, SolverResult, solve_flow, solve_flow_scipy
from simulations.flows.results import from_diffrax, from_scipy, result_attrs

R = SolverResult
TS = np.linspace(0.0, 1.0, 5)


def decay(t, z, a):
    """dz/dt = -rate z, NaN for t > t_nan: a = (rate, t_nan); rate = NaN makes it NaN
    everywhere (a bad parameter point), t_nan = 0.3 a stall at the edge of a NaN region."""
    return {"z": jnp.where(t > a[1], jnp.nan, -a[0] * z["z"])}


def decay_np(t, z, a):
    return {"z": np.where(t > a[1], np.nan, -a[0] * z["z"])}


Z0 = {"z": np.ones(2)}
OK, NAN_EVERYWHERE, NAN_AFTER = (1.0, 9.0), (np.nan, 9.0), (1.0, 0.3)

# (solver, restart_at_outputs): every path of solve_flow
PATHS = [("dopri8", False), ("dopri8", True), ("dopri8-lean", False), ("dopri5-lean", False),
         ("tsit5-lean", False)]


def _solve(solver, restart, args, max_steps=2_000):
    return solve_flow(decay, Z0, TS, args=jnp.asarray(args), solver=solver, rtol=1e-8,
                      atol=1e-10, max_steps=max_steps, restart_at_outputs=restart)


@pytest.mark.slow
@pytest.mark.parametrize("solver,restart", PATHS)
def test_success_max_steps_and_nan_parameters_on_every_jax_path(solver, restart):
    ok = _solve(solver, restart, OK)
    assert int(ok.result) == R.SUCCESS == SUCCESS
    np.testing.assert_allclose(np.asarray(ok.zs["z"])[:, 0], np.exp(-TS), rtol=1e-6)
    short = _solve(solver, restart, OK, max_steps=2)
    assert int(short.result) == R.MAX_STEPS_REACHED
    assert np.isnan(np.asarray(short.zs["z"])[-1]).all()
    bad = _solve(solver, restart, NAN_EVERYWHERE)
    assert int(bad.result) == R.NONFINITE
    assert np.isnan(np.asarray(bad.zs["z"])[-1]).all()


@pytest.mark.parametrize("solver", ["dopri8-lean", "dopri5-lean", "tsit5-lean"])
def test_lean_solver_stops_at_once_on_a_nan_vector_field_and_names_a_nan_stall(solver):
    bad = _solve(solver, False, NAN_EVERYWHERE)
    assert int(bad.num_steps) == 1  # no step size helps: it does not spin until max_steps
    stall = _solve(solver, False, NAN_AFTER)
    assert int(stall.result) == R.NONFINITE and int(stall.num_steps) == 2_000
    np.testing.assert_allclose(np.asarray(stall.zs["z"])[1, 0], np.exp(-0.25), rtol=1e-7)
    assert np.isnan(np.asarray(stall.zs["z"])[2:]).all()


def test_diffrax_reports_a_nan_stall_as_max_steps():
    """The documented limit: diffrax only rejects steps that meet NaN, and its vector field is
    finite at the last accepted state, so the stall stays MAX_STEPS_REACHED."""
    stall = _solve("dopri8", False, NAN_AFTER)
    assert int(stall.result) == R.MAX_STEPS_REACHED


@pytest.mark.parametrize("solver", ["dopri8-lean", "tsit5-lean"])
def test_codes_under_vmap_are_per_point(solver):
    rates = jnp.array([1.0, jnp.nan, 2.0])

    def one(rate):
        return solve_flow(decay, {"z": jnp.ones(2)}, TS, args=jnp.stack([rate, 9.0]),
                          solver=solver, rtol=1e-8, atol=1e-10, max_steps=500).result

    np.testing.assert_array_equal(jax.jit(jax.vmap(one))(rates),
                                  [R.SUCCESS, R.NONFINITE, R.SUCCESS])


@pytest.mark.parametrize("method", ["DOP853", "LSODA"])
@pytest.mark.parametrize("dense", [False, True])
def test_scipy_success_nonfinite_and_step_size(method, dense):
    ok = solve_flow_scipy(decay_np, Z0, TS, args=OK, method=method, rtol=1e-10, atol=1e-12,
                          dense_output=dense)
    assert ok.result is R.SUCCESS
    np.testing.assert_allclose(ok.zs["z"][:, 0], np.exp(-TS), rtol=1e-7)
    for args in (NAN_EVERYWHERE, NAN_AFTER):
        bad = solve_flow_scipy(decay_np, Z0, TS, args=args, method=method, dense_output=dense)
        assert bad.result is R.NONFINITE and np.isnan(bad.zs["z"]).all()


def test_scipy_blow_up_is_a_step_size_failure():
    """y' = y^2, y(0) = 1 blows up at t = 1: DOP853's step size collapses before any NaN."""
    sol = solve_flow_scipy(lambda t, y, a: y * y, np.ones(1), [0.0, 0.5, 2.0])
    assert sol.result is R.STEP_SIZE_TOO_SMALL and np.isnan(sol.zs).all()


def test_diffrax_results_are_mapped_by_name():
    import diffrax

    expected = {"successful": R.SUCCESS, "max_steps_reached": R.MAX_STEPS_REACHED,
                "nonfinite": R.NONFINITE, "dt_min_reached": R.STEP_SIZE_TOO_SMALL,
                "nonlinear_divergence": R.IMPLICIT_SOLVE_FAILED,
                "singular": R.IMPLICIT_SOLVE_FAILED, "event_occurred": R.SOLVER_FAILED,
                "internal_error": R.SOLVER_FAILED}
    mapped = jax.jit(from_diffrax)
    for name, code in expected.items():
        assert int(mapped(getattr(diffrax.RESULTS, name))) == code, name


def test_scipy_statuses_are_mapped_by_status_and_message():
    from scipy.integrate import OdeSolver

    assert from_scipy(0, "done", False) is R.SUCCESS
    assert from_scipy(-1, OdeSolver.TOO_SMALL_STEP, False) is R.STEP_SIZE_TOO_SMALL
    assert from_scipy(-1, "Unexpected istate in LSODA.", False) is R.SOLVER_FAILED
    assert from_scipy(-1, OdeSolver.TOO_SMALL_STEP, True) is R.NONFINITE
    assert from_scipy(0, "done", True) is R.NONFINITE


def test_enumeration_and_its_attributes_agree():
    codes = list(R)
    assert [int(c) for c in codes] == list(range(len(codes))) and R.SUCCESS == 0
    assert all(c.message and c.message != codes[0].message for c in codes[1:])
    attrs = result_attrs(np.int32)
    assert attrs["flag_values"].dtype == np.int32
    meanings = attrs["flag_meanings"].split()
    messages = json.loads(attrs["flag_messages"])
    assert len(meanings) == len(attrs["flag_values"]) == len(messages) == len(codes)
    for value, meaning in zip(attrs["flag_values"], meanings):
        assert R(int(value)).name.lower() == meaning
        assert messages[str(value)] == f"{meaning}: {R(int(value)).message}"
