"""The lean Runge-Kutta solver (simulations.flows.rk) against closed forms, SciPy and diffrax."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minimal_models import coupling as C
from minimal_models import frustration as F
from simulations.flows import SolverResult, solve_flow, solve_flow_scipy
from simulations.flows.rk import TABLEAUS, _tableau, solve_rk

LEAN = ["dopri8-lean", "dopri5-lean", "tsit5-lean"]
TS = np.concatenate([[0.0], np.geomspace(1e-2, 20.0, 15)])


@pytest.mark.slow
@pytest.mark.parametrize("solver,tol", [("dopri8-lean", 1e-8), ("dopri5-lean", 1e-7),
                                        ("tsit5-lean", 1e-7)])
def test_model_a_flow_matches_the_closed_form(solver, tol):
    A = C.coupling_matrix(4, 5, 0.2, seed=0)
    Z0 = C.initial_state(4, 5, 3, seed=1)
    sol = solve_flow(lambda t, z, a: F.vector_field(A, z), Z0, TS, solver=solver, rtol=1e-10,
                     atol=1e-12)
    assert int(sol.result) == 0 and int(sol.num_steps) > 0
    np.testing.assert_allclose(np.asarray(sol.zs), F.closed_form(A, Z0, TS), atol=tol)


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.parametrize("solver", LEAN)
def test_repeated_and_zero_output_times_and_traced_tolerances_under_vmap(solver):
    ts = np.array([0.0, 0.0, 0.5, 0.5, 10.0])

    def one(rate, rtol):
        return solve_flow(lambda t, z, a: -a * z, jnp.ones(2), ts, args=rate,
                          solver=solver, rtol=rtol, atol=1e-14)

    sol = jax.jit(jax.vmap(one))(jnp.array([0.5, 0.5]), jnp.array([1e-12, 1e-3]))
    assert np.all(np.asarray(sol.result) == 0)
    exact = np.exp(-0.5 * ts)[:, None] * np.ones(2)
    err = np.abs(np.asarray(sol.zs) - exact).max(axis=(1, 2))
    assert err[0] < 1e-10 and err[1] < 1e-2
    assert int(sol.num_steps[0]) > int(sol.num_steps[1])  # each point used its own rtol
    assert err[0] < err[1]


@pytest.mark.slow
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


@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(st.floats(0.05, 3.0), st.floats(-2.0, 2.0), st.floats(0.1, 4.0))
def test_linear_rotation_with_decay_is_exact_to_tolerance(decay, omega, t_end):
    M = np.array([[-decay, -omega], [omega, -decay]])
    ts = np.linspace(0.0, t_end, 6)
    sol = solve_flow(lambda t, z, a: a @ z, np.array([1.0, 0.0]), ts, args=M,
                     solver="dopri8-lean", rtol=1e-11, atol=1e-13)
    exact = np.exp(-decay * ts)[:, None] * np.stack([np.cos(omega * ts), np.sin(omega * ts)], -1)
    np.testing.assert_allclose(np.asarray(sol.zs), exact, atol=1e-9)


@pytest.mark.slow
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


# ---------------------------------------------------------------- FSAL and the 5(4) tableaus

def _lotka_volterra(t, z, a):
    return jnp.stack([a * z[0] - z[0] * z[1], z[0] * z[1] - z[1]])


LV0, LV_TS = np.array([1.5, 0.7]), np.linspace(0.0, 10.0, 6)


def _pulse(t, z, a):
    """dz/dt = -z + 40 exp(-((t - 3)/0.05)^2): a narrow pulse the step size must shrink for
    (steps run into it and are rejected), then grow again."""
    return -z + 40.0 * jnp.exp(-(((t - 3.0) / 0.05) ** 2)) * jnp.ones_like(z)


def _pulse_exact(ts):
    """z(0) = 1: z(t) = e^-t + int_0^t e^-(t-s) 40 exp(-((s-3)/0.05)^2) ds (erf form)."""
    from scipy.special import erf

    w = 0.05
    # e^{s} e^{-((s-3)/w)^2} = e^{3 + w^2/4} e^{-((s - 3 - w^2/2)/w)^2}
    m = 3.0 + w * w / 2
    g = 40.0 * np.exp(3.0 + w * w / 4) * w * np.sqrt(np.pi) / 2 * (erf((ts - m) / w)
                                                                 - erf((0 - m) / w))
    return np.exp(-ts) * (1.0 + g)


def test_tableaus_are_read_with_their_fsal_structure():
    """All three are first-same-as-last: c_s = 1, a_s = b; Dopri8's 14th stage feeds nothing
    else, so without FSAL it is skipped (13 stages), the 5(4) pairs need all 7."""
    expected = {"dop853": (14, 13, 9), "dopri5": (7, 7, 6), "tsit5": (7, 7, 6)}
    assert set(TABLEAUS) == set(expected)
    for name, (s, used, order) in expected.items():
        tab = _tableau(name)
        assert (len(tab.c), tab.n_used, tab.order, tab.fsal) == (s, used, order, True)
        np.testing.assert_allclose(tab.A.sum(axis=1), tab.c, atol=1e-14)  # row-sum condition
        assert abs(tab.b.sum() - 1.0) < 1e-14 and abs(tab.e.sum()) < 1e-13


@pytest.mark.slow
@pytest.mark.parametrize("tableau", TABLEAUS)
@pytest.mark.parametrize("problem", ["lotka_volterra", "pulse"])
def test_fsal_and_recomputed_first_stage_give_the_same_solution(tableau, problem):
    """Reusing k_s = f(t + h, y1) as the next k_1 is f at the same point: FSAL and non-FSAL
    take the same steps and land on the same states (to rounding), and both meet the
    reference.  The pulse forces rejected steps, which must keep k_1."""
    if problem == "pulse":
        rhs, z0, ts, args = _pulse, np.ones(2), np.array([0.0, 2.9, 3.0, 3.2, 6.0]), None
        ref = np.repeat(_pulse_exact(ts)[:, None], 2, axis=1)
    else:
        rhs, z0, ts, args = _lotka_volterra, LV0, LV_TS, 1.2
        ref = solve_flow_scipy(lambda t, z, a: np.array(_lotka_volterra(t, z, a)), z0, ts,
                               args=args, rtol=1e-13, atol=1e-15).zs
    out = {}
    for fsal in (True, False):
        zs, result, n, evals = solve_rk(rhs, jnp.asarray(z0), ts, args=args, tableau=tableau,
                                        rtol=1e-10, atol=1e-12, fsal=fsal,
                                        return_num_evals=True)
        assert int(result) == 0
        np.testing.assert_allclose(np.asarray(zs), ref, atol=2e-8, rtol=1e-8)
        out[fsal] = (np.asarray(zs), int(n), int(evals))
    np.testing.assert_allclose(out[True][0], out[False][0], atol=1e-12, rtol=1e-12)
    assert out[True][1] == out[False][1]
    # FSAL saves one evaluation a step except for Dopri8 (13 either way: see above)
    saved = out[False][2] - out[True][2]
    assert saved == (0 if tableau == "dop853" else out[True][1])


@pytest.mark.slow
@pytest.mark.parametrize("tableau,per_step", [("dop853", 13), ("dopri5", 6), ("tsit5", 6)])
def test_evaluations_per_step_are_s_minus_one_with_fsal(tableau, per_step):
    """num_evals counts the evaluations in the traced program: two for the first-step
    estimate (f(0, y0) is reused as the first k_1), then s - 1 per step, accepted or not."""
    _, result, n, evals = solve_rk(_pulse, jnp.ones(3), np.array([0.0, 6.0]), tableau=tableau,
                                   rtol=1e-9, atol=1e-11, return_num_evals=True)
    assert int(result) == 0 and int(n) > 10
    assert int(evals) == 2 + per_step * int(n)
    _, _, n2, evals2 = solve_rk(_pulse, jnp.ones(3), np.array([0.0, 6.0]), tableau=tableau,
                                rtol=1e-9, atol=1e-11, fsal=False, return_num_evals=True)
    assert int(evals2) == 2 + _tableau(tableau).n_used * int(n2)


@pytest.mark.slow
@pytest.mark.parametrize("tableau,p", [("dop853", 8), ("dopri5", 5), ("tsit5", 5)])
def test_step_count_scales_with_the_tableau_order(tableau, p):
    """With err ~ C h^p per step held at tol, steps ~ tol^(-1/p): the fitted slope of
    log(steps) against log(tol) tells an order-5 pair (-0.2) from an order-8 one (-0.125);
    the global error follows the tolerance (slope ~1).  A wrong stage reused by FSAL drops
    the order and breaks both."""
    ref = solve_flow_scipy(lambda t, z, a: np.array(_lotka_volterra(t, z, a)), LV0, LV_TS,
                           args=1.2, rtol=1e-13, atol=1e-15).zs
    tols = np.array([1e-6, 1e-8, 1e-10])
    steps, errs = [], []
    for tol in tols:
        zs, result, n = solve_rk(_lotka_volterra, jnp.asarray(LV0), LV_TS, args=1.2,
                                 tableau=tableau, rtol=tol, atol=tol)
        assert int(result) == 0
        steps.append(int(n))
        errs.append(float(np.max(np.abs(np.asarray(zs) - ref))))
    slope = np.polyfit(np.log(tols), np.log(steps), 1)[0]
    assert -1.4 / p < slope < -0.7 / p, slope
    err_slope = np.polyfit(np.log(tols), np.log(errs), 1)[0]
    assert 0.8 < err_slope < 1.2, err_slope


@pytest.mark.parametrize("solver", ["dopri5-lean", "tsit5-lean"])
def test_tsit5_and_dopri5_match_scipy_on_a_pytree(solver):
    def rhs(t, z, a):
        x, y, r = z["prey"], z["pred"], z["r"]
        return {"prey": a * x - x * y, "pred": x * y - y, "r": -r * r}

    z0 = {"prey": np.float64(1.5), "pred": np.float64(0.7), "r": np.array([0.5, 2.0])}
    ts = np.linspace(0.0, 5.0, 11)
    lean = solve_flow(rhs, z0, ts, args=1.2, solver=solver, rtol=1e-11, atol=1e-13)
    ref = solve_flow_scipy(rhs, z0, ts, args=1.2, rtol=1e-12, atol=1e-14)
    assert int(lean.result) == 0
    for key in z0:
        np.testing.assert_allclose(np.asarray(lean.zs[key]), ref.zs[key], atol=1e-9)
    np.testing.assert_allclose(np.asarray(lean.zs["r"]),
                               z0["r"] / (1 + np.outer(ts, z0["r"])), atol=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("tableau", TABLEAUS)
def test_vmap_with_different_step_counts_equals_one_solve_at_a_time(tableau):
    """Under vmap the points take different numbers of steps (the loop runs until the slowest
    is done; the others are frozen, their FSAL stage too): each equals its own solve."""
    rates = jnp.array([0.2, 1.0, 8.0, 30.0])
    ts = np.array([0.0, 0.1, 0.1, 1.0, 3.0])

    def one(rate):
        return solve_rk(lambda t, z, a: -a * z + jnp.sin(t), jnp.ones(3), ts, args=rate,
                        tableau=tableau, rtol=1e-9, atol=1e-12)

    zs, result, n = jax.jit(jax.vmap(one))(rates)
    assert np.all(np.asarray(result) == 0)
    assert len(set(np.asarray(n).tolist())) == len(rates)  # different step counts
    for k, rate in enumerate(rates):
        z1, _, n1 = one(rate)
        assert int(n1) == int(n[k])
        np.testing.assert_allclose(np.asarray(zs[k]), np.asarray(z1), rtol=1e-12, atol=1e-14)
        # closed form of z' = -a z + sin t, z(0) = 1
        a = float(rate)
        part = (a * np.sin(ts) - np.cos(ts)) / (1 + a * a)
        exact = (1 - part[0]) * np.exp(-a * ts) + part
        np.testing.assert_allclose(np.asarray(zs[k])[:, 0], exact, atol=1e-7)


def test_unknown_tableau_is_refused():
    with pytest.raises(ValueError, match="tableau='rk4'"):
        solve_rk(lambda t, z, a: -z, jnp.ones(1), np.array([0.0, 1.0]), tableau="rk4")
