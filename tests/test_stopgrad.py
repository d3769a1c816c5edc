"""Model B (stop-gradient projected model), RECONSTRUCTION of spec §3: conservation of Q,
fixed-point conditions, the K = 2 reduction (closed forms and check values B1-B5) and the
identity with Model A."""

import jax
import numpy as np
import pytest
from hypothesis import given, strategies as st
from scipy.integrate import solve_ivp

from minimal_models import coupling
from minimal_models import frustration as model_a
from minimal_models import stopgrad as B


def integrate(A, X, Y, W, T, *, rtol=1e-11, atol=1e-13, t_eval=None, **kw):
    N, K = A.shape
    sol = solve_ivp(lambda t, z: B.packed_vector_field(A, z.reshape(-1, X.shape[1]), **kw).ravel(),
                    (0.0, T), B.pack(X, Y, W).ravel(), method="DOP853", rtol=rtol, atol=atol,
                    t_eval=t_eval)
    assert sol.status == 0
    return [B.unpack(z.reshape(-1, X.shape[1]), N, K) for z in sol.y.T]


@st.composite
def problems(draw):
    N, K, d = draw(st.integers(1, 6)), draw(st.integers(2, 3)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    A = rng.random((N, K)) * (rng.random((N, K)) < 0.7)
    X, Y = rng.standard_normal((N, d)), rng.standard_normal((K, d))
    W = np.eye(d) + 0.5 * rng.standard_normal((d, d))
    rates = {k: draw(st.floats(0.3, 3.0)) for k in ("eta_x", "eta_y", "eta_W", "nu")}
    return A, X, Y, W, rates


def q_scale(s, r):
    return max(np.abs(s["X"].T @ s["X"]).max() / r["eta_x"], np.abs(s["Y"].T @ s["Y"]).max()
               / r["eta_y"], np.abs(s["W"].T @ s["W"]).max() / r["eta_W"], 1e-300)


def q_drift(traj, r):
    Qs = [B.invariant_Q(s["X"], s["Y"], s["W"], eta_x=r["eta_x"], eta_y=r["eta_y"],
                        eta_W=r["eta_W"]) for s in traj]
    return max(np.abs(Q - Qs[0]).max() for Q in Qs) / q_scale(traj[0], r)


@given(problems())
def test_q_is_conserved_by_the_sg_flow(problem):
    A, X, Y, W, r = problem
    traj = integrate(A, X, Y, W, 1.5, t_eval=[0.5, 1.5], alpha=1.0, **r)
    traj.insert(0, {"X": X, "Y": Y, "W": W})
    assert q_drift(traj, r) <= 1e-8


def test_q_drifts_without_full_stop_gradient():
    """Negative control: the same flow with alpha < 1 does not conserve Q."""
    rng = np.random.default_rng(0)
    A = coupling.coupling_matrix(3, 4, 0.25, seed=1)
    X, Y, W = rng.standard_normal((12, 3)), rng.standard_normal((3, 3)), np.eye(3)
    r = dict(eta_x=1.0, eta_y=1.0, eta_W=1.0, nu=1.0)
    for alpha in (0.0, 0.5, 0.9):
        traj = integrate(A, X, Y, W, 2.0, t_eval=[0.0, 2.0], alpha=alpha, **r)
        assert q_drift(traj, r) > 1e-3, alpha
    assert q_drift(integrate(A, X, Y, W, 2.0, t_eval=[0.0, 2.0], alpha=1.0, **r), r) < 1e-9


def test_invariant_q_formula():
    rng = np.random.default_rng(1)
    X, Y, W = rng.standard_normal((5, 3)), rng.standard_normal((2, 3)), rng.standard_normal((3, 3))
    Q = B.invariant_Q(X, Y, W, eta_x=2.0, eta_y=0.5, eta_W=4.0)
    np.testing.assert_allclose(Q, X.T @ X / 2 + 2 * Y.T @ Y - W.T @ W / 4, rtol=1e-14)
    np.testing.assert_allclose(Q, Q.T, atol=1e-14)


def test_head_frozen_at_identity_is_model_a():
    """With W = I frozen and alpha = 1 the embedding equations are exactly Model A's."""
    rng = np.random.default_rng(2)
    A = coupling.coupling_matrix(3, 5, 0.4, seed=2, kind="soft", q=0.3)
    X, Y = rng.standard_normal((15, 4)), rng.standard_normal((3, 4))
    r = dict(eta_x=1.7, eta_y=0.6, nu=0.4)
    v = B.vector_field(A, {"X": X, "Y": Y, "W": np.eye(4)}, alpha=1.0, eta_W=1.0,
                       train_W=False, **r)
    va = model_a.vector_field(A, np.concatenate([X, Y]), **r)
    np.testing.assert_allclose(v["X"], va[:15], atol=1e-15)
    np.testing.assert_allclose(v["Y"], va[15:], atol=1e-15)
    assert np.all(v["W"] == 0)
    # and the trajectories agree (spec §6 B9)
    Z0 = np.concatenate([X, Y])
    traj = integrate(A, X, Y, np.eye(4), 3.0, t_eval=[3.0], alpha=1.0, eta_W=1.0, train_W=False,
                     **r)
    Za = model_a.closed_form(A, Z0, 3.0, **r)
    np.testing.assert_allclose(np.concatenate([traj[0]["X"], traj[0]["Y"]]), Za, rtol=1e-9,
                               atol=1e-10)


def test_fixed_point_conditions_at_converged_sg_state():
    """Converged alpha = 1 state: W x_i = ybar_i, W y_k = xbar_k, W^2 Y^T = Y^T T^T, W C = S
    (all <= 1e-8), the flow is stationary, and every |eig W| is one of the sqrt(tau_j) of the
    label walk (the head contracts exactly the frustrated directions, spec §3.4)."""
    K, n, d = 3, 4, 2
    A = coupling.coupling_matrix(K, n, 0.25, seed=0)
    Z0 = coupling.initial_state(K, n, d, seed=1)
    X0, Y0 = Z0[:K * n], Z0[K * n:]
    kw = dict(alpha=1.0, eta_x=1.0, eta_y=1.0, eta_W=1.0, nu=1.0)
    end = integrate(A, X0, Y0, np.eye(d), 300.0, t_eval=[300.0], **kw)[0]
    res = B.fixed_point_conditions(A, end["X"], end["Y"], end["W"])
    assert max(res.values()) <= 1e-8, res
    v = B.vector_field(A, end, **kw)
    assert max(np.abs(v[k]).max() for k in "XYW") <= 1e-8
    tau = np.sort(np.linalg.eigvals(B.label_walk(A)).real)
    assert tau[-1] == pytest.approx(1.0, abs=1e-12) and np.all(tau[:-1] < 1)
    predicted = B.predicted_head_moduli(A)
    for modulus in np.abs(np.linalg.eigvals(end["W"])):
        assert np.min(np.abs(predicted - modulus)) < 1e-7, (modulus, predicted)
    assert np.min(np.abs(np.abs(np.linalg.eigvals(end["W"])) - predicted[:-1])) < 1e-7
    # the SG head keeps a finite class distance
    D = np.linalg.norm(end["Y"][:, None] - end["Y"][None], axis=-1)
    assert D[~np.eye(K, dtype=bool)].min() > 0.1
    # a singular head is refused (the stationarity equivalence needs W invertible)
    with pytest.raises(ValueError, match="W must be invertible"):
        B.fixed_point_conditions(A, end["X"], end["Y"], np.zeros((d, d)))


# --------------------------------------------------------------------------- K = 2 reduction

START = (0.1, 1.0, 1.0)


def reduced(n, m, alpha, start, T, t_eval=None, atol=1e-14):
    sol = solve_ivp(B.two_class_reduced_rhs, (0.0, T), list(start), args=(n, m, alpha),
                    method="DOP853", rtol=1e-12, atol=atol, t_eval=t_eval)
    assert sol.status == 0
    return sol


B1 = {0.0: (0.710634, 1.0, 0.710634), 0.1: (0.677722, 0.953463, 0.710801),
      0.3: (0.623669, 0.877058, 0.711092), 1.0: (0.503322, 0.707107, 0.711805)}


@pytest.mark.parametrize("m", sorted(B1))
def test_b1_reduction_converges_to_closed_form(m):
    Q0 = B.two_class_invariant(START, 1)
    assert Q0 == pytest.approx(0.51, abs=1e-15)
    u_star, w_star = B.two_class_fixed_point(1, m, Q0)
    u, w, v = B1[m]
    assert (u_star, w_star, u_star / w_star) == pytest.approx((u, w, v), abs=1e-6)
    sol = reduced(1, m, 1.0, START, 60.0)
    end = sol.y[:, -1]
    assert np.abs(end - [u_star / w_star, u_star, w_star]).max() < 1e-6
    drift = max(abs(B.two_class_invariant(z, 1) - Q0) for z in sol.y.T)
    assert drift < 2e-11


@pytest.mark.parametrize("n,m,start,eig", [
    (1, 0.0, START, (0, -2, -2.02)), (1, 0.1, START, (0, -1.90909, -2.02095)),
    (1, 0.3, START, (0, -1.76923, -2.02261)), (1, 1.0, START, (0, -1.5, -2.02667)),
    (3, 0.5, (0.3, 1, 1), (0, -3.85714, -3.72889)), (10, 2.0, (0.3, 1, 1), (0, -10.83333, -6.70769)),
])
def test_b2_jacobian_eigenvalues(n, m, start, eig):
    Q0 = B.two_class_invariant(start, n)
    closed = B.two_class_jacobian_eigenvalues(n, m, Q0)
    np.testing.assert_allclose(closed, eig, atol=1e-5)
    J = B.two_class_jacobian(n, m, Q0)
    np.testing.assert_allclose(np.sort(np.linalg.eigvals(J).real), np.sort(closed), atol=1e-10)
    u, w = B.two_class_fixed_point(n, m, Q0)
    J_ad = jax.jacfwd(lambda z: B.two_class_reduced_rhs(0.0, z, n, m))(np.array([u / w, u, w]))
    np.testing.assert_allclose(np.asarray(J_ad), J, atol=1e-12)


def test_b2_other_starts_fixed_points():
    for n, m, start, u_ref, w_ref in [(3, 0.5, (0.3, 1, 1), 0.516090, 0.925820),
                                      (10, 2.0, (0.3, 1, 1), 0.373823, 0.912871)]:
        Q0 = B.two_class_invariant(start, n)
        assert B.two_class_fixed_point(n, m, Q0) == pytest.approx((u_ref, w_ref), abs=1e-6)
        end = reduced(n, m, 1.0, start, 40.0).y[:, -1]
        assert end[1] == pytest.approx(u_ref, abs=1e-6)


@pytest.mark.parametrize("m,u10,w_inf", [(0.05, 0.3252, 0.97590), (0.1, 0.1998, 0.95303),
                                         (0.3, 0.03459, 0.86044), (1.0, 4.68e-4, 0.68989)])
def test_b3_without_sg_u_goes_to_zero(m, u10, w_inf):
    sol = reduced(1, m, 0.0, START, 400.0, t_eval=[10.0, 400.0])
    assert sol.y[1, 0] == pytest.approx(u10, rel=2e-3)
    assert abs(sol.y[1, 1]) < 1e-6
    assert sol.y[2, 1] == pytest.approx(w_inf, abs=1e-5)


def test_b3_no_frustration_no_collapse_and_late_rate():
    end = reduced(1, 0.0, 0.0, START, 200.0).y[:, -1]
    assert end[1] == pytest.approx(0.541196, abs=1e-6) and end[2] == pytest.approx(1.0, abs=1e-6)
    sol = reduced(1, 0.1, 0.0, START, 200.0, t_eval=[120.0, 200.0])
    rate = -np.log(sol.y[1, 1] / sol.y[1, 0]) / 80.0
    assert rate == pytest.approx(0.095233, rel=1e-4)
    assert rate == pytest.approx(B.two_class_collapse_rate(1, 0.1, 0.0, w=sol.y[2, 1]), rel=1e-5)


@pytest.mark.parametrize("m,alpha,rate", [
    (0.1, 0.99, 9.5237e-4), (0.1, 0.9, 9.5236e-3), (0.1, 0.5, 4.7616e-2),
    (1.0, 0.99, 6.6594e-3), (1.0, 0.9, 6.6062e-2), (1.0, 0.5, 0.31163)])
def test_b4_partial_sg_collapse_rate(m, alpha, rate):
    """Late decay of u equals the collapsed-point linearisation at the head value reached."""
    beta = 1 - alpha
    T1 = 40.0 / (2 * beta * m / (1 + m + 1))  # ~40 e-folds of the approximate rate, so the
    T0 = 0.75 * T1                             # head has frozen (its drift is O(u^2))
    sol = reduced(1, m, alpha, START, T1, t_eval=[T0, T1], atol=1e-40)
    fit = -np.log(sol.y[1, 1] / sol.y[1, 0]) / (T1 - T0)
    lin = B.two_class_collapse_rate(1, m, alpha, w=sol.y[2, 1])
    assert fit == pytest.approx(lin, rel=1e-5)
    assert fit == pytest.approx(rate, rel=2e-4)
    assert B.two_class_collapse_rate(1, m, alpha) == pytest.approx(
        2 * beta * m / (1 + m + 1), rel=0.02 if m < 1 else 0.07)


@pytest.mark.parametrize("start,m_c,cases,w_c", [
    ((0.1, 0.1, 1.0), 0.041667, {0.020833: 0.069624, 0.0375: 0.030759, 0.045833: 0.0,
                                 0.083333: 0.0}, np.sqrt(0.96)),
    ((0.3, 0.3, 1.0), 0.5625, {0.28125: 0.17548, 0.50625: 0.069052, 0.61875: 0.0,
                               1.125: 0.0}, 0.8),
])
def test_b5_threshold(start, m_c, cases, w_c):
    Q0 = B.two_class_invariant(start, 1)
    assert B.two_class_threshold(1, Q0) == pytest.approx(m_c, abs=1e-6)
    for m, u_ref in cases.items():
        u_star, w_star = B.two_class_fixed_point(1, m, Q0)
        assert u_star == pytest.approx(u_ref, abs=1e-5)
        if u_ref == 0.0:
            assert w_star == pytest.approx(w_c, abs=1e-6)
            # the collapsed point is linearly stable exactly beyond the threshold
            assert np.all(np.linalg.eigvals(B.two_class_collapsed_matrix(1, m, w_c, 1.0)).real < 0)
    assert B.two_class_threshold(1, 0.2) == np.inf and B.two_class_threshold(1, -0.6) == 0.0


def test_reduction_is_the_full_model_on_the_separation_axis():
    """Full Model B with K = 2, all embeddings along e and W e = w e: the velocities are the
    reduced ones (frustrated samples linked to both labels sit at 0)."""
    n, m, d = 3, 2, 3
    A = np.zeros((2 * n + m, 2))
    A[:n, 0] = A[n:2 * n, 1] = 1.0
    A[2 * n:] = 1.0
    e = np.array([0.6, 0.8, 0.0])
    v, u, w = 0.4, 0.7, 0.9
    X = np.concatenate([np.tile(v * e, (n, 1)), np.tile(-v * e, (n, 1)), np.zeros((m, d))])
    Y = np.stack([u * e, -u * e])
    W = w * np.outer(e, e) + 1.3 * (np.eye(d) - np.outer(e, e))
    for alpha in (1.0, 0.4, 0.0):
        full = B.vector_field(A, {"X": X, "Y": Y, "W": W}, alpha=alpha)
        dv, du, dw = B.two_class_reduced_rhs(0.0, (v, u, w), n, m, alpha)
        np.testing.assert_allclose(full["X"][0], dv * e, atol=1e-14)
        np.testing.assert_allclose(full["Y"][0], du * e, atol=1e-14)
        np.testing.assert_allclose(e @ full["W"] @ e, dw, atol=1e-14)
        np.testing.assert_allclose(full["X"][2 * n:], 0.0, atol=1e-14)
    Q = B.invariant_Q(X, Y, W)
    assert e @ Q @ e == pytest.approx(2 * B.two_class_invariant((v, u, w), n), rel=1e-14)


def test_link_share_and_class_difference_Q0_closed_forms():
    # hard K = 2 with f frustrated samples per class: rho = 2f/(n + f)
    n, p = 10, 0.3
    A = coupling.coupling_matrix(2, n, p)
    f = coupling.frustrated_count(n, p)
    rho = coupling.frustrated_link_share(A, coupling.sample_classes(2, n))
    assert rho == pytest.approx(2 * f / (n + f), rel=1e-14)
    # K = 2: Q0 = e^T Q e / 2 along the unit class-mean difference e
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 3))
    classes = np.repeat([0, 1], 4)
    M = rng.standard_normal((3, 3))
    Q = M @ M.T
    e = X[classes == 1].mean(0) - X[classes == 0].mean(0)
    e /= np.linalg.norm(e)
    assert B.class_difference_Q0(Q, X, classes, 2) == pytest.approx(0.5 * e @ Q @ e)


def test_state_checks_are_one_definition_for_both_state_forms():
    """validate_state (full flow) and reduced_initial_state (reduced flow) check X, Y, W with
    the same function, each naming its own arrays."""
    from minimal_models import stopgrad_reduced as RB

    A = coupling.coupling_matrix(2, 3, 0.34)
    rng = np.random.default_rng(0)
    X, Y, W = rng.standard_normal((6, 2)), rng.standard_normal((2, 2)), np.eye(2)
    groups = RB.reduce_coupling(A)
    for bad, name in (((X[:-1], Y, W), "X"), ((X, Y[:, :1], W), "Y"), ((X, Y, np.eye(3)), "W"),
                      ((np.where(X > 0, np.nan, X), Y, W), "X")):
        with pytest.raises(ValueError, match=rf"^{name}\b"):
            B.validate_state(A, *bad)
        with pytest.raises(ValueError, match=rf"^{name}0\b"):
            RB.reduced_initial_state(groups, *bad)
    with pytest.raises(ValueError, match=r"X must have shape \(N, d\) = \(6, d\)"):
        B.validate_embeddings(X[:2], Y, W, n_samples=6, n_classes=2)
