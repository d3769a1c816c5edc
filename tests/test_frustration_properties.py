"""Model A, tiers 2 and 3: reference comparisons and hypothesis properties (spec §6 A7)."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from analysis import d_min
from minimal_models import coupling
from minimal_models import frustration as F
from simulations.flows import solve_flow, solve_flow_scipy


@st.composite
def coupled_systems(draw, max_samples=7, max_labels=4, max_dim=3):
    """A random non-negative coupling (sparse, arbitrary weights), rates, state and dimension."""
    N = draw(st.integers(1, max_samples))
    K = draw(st.integers(2, max_labels))
    d = draw(st.integers(1, max_dim))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    A = rng.uniform(0.1, 2.0, (N, K)) * (rng.random((N, K)) < draw(st.floats(0.2, 0.9)))
    eta_x = draw(st.floats(0.2, 5.0))
    eta_y = draw(st.floats(0.2, 5.0))
    Z0 = rng.standard_normal((N + K, d))
    return A, Z0, eta_x, eta_y


@given(coupled_systems(), st.floats(0.0, 20.0))
def test_conserved_quantity_per_component(system, t):
    A, Z0, ex, ey = system
    Z = F.closed_form(A, Z0, t, eta_x=ex, eta_y=ey)
    I0 = F.conserved_quantities(A, Z0, eta_x=ex, eta_y=ey)
    It = F.conserved_quantities(A, Z, eta_x=ex, eta_y=ey)
    np.testing.assert_allclose(It, I0, rtol=1e-10, atol=1e-10 * (1 + np.abs(I0).max()))


@given(coupled_systems())
def test_long_time_limit_is_the_component_weighted_mean(system):
    A, Z0, ex, ey = system
    positive = F.generator_spectrum(A, eta_x=ex, eta_y=ey)
    positive = positive[positive > 1e-8]
    assume(positive.size and positive[0] > 1e-3)
    Z = F.closed_form(A, Z0, 60.0 / positive[0], eta_x=ex, eta_y=ey)
    Zinf = F.fixed_point(A, Z0, eta_x=ex, eta_y=ey)
    np.testing.assert_allclose(Z, Zinf, atol=1e-9 * (1 + np.abs(Z0).max()))
    # and the limit is a fixed point: the vector field vanishes there
    np.testing.assert_allclose(F.vector_field(A, Zinf, eta_x=ex, eta_y=ey), 0.0, atol=1e-12)


@given(coupled_systems(max_samples=5, max_labels=3, max_dim=2))
def test_closed_form_matches_scipy_reference(system):
    A, Z0, ex, ey = system
    ts = np.array([0.0, 0.3, 1.0, 3.0])
    ref = solve_flow_scipy(lambda t, z, a: F.vector_field(A, z, eta_x=ex, eta_y=ey), Z0, ts,
                           method="DOP853", rtol=1e-12, atol=1e-13)
    Z = F.closed_form(A, Z0, ts, eta_x=ex, eta_y=ey)
    assert ref.result == 0
    np.testing.assert_allclose(Z, ref.zs, atol=1e-9 * (1 + np.abs(Z0).max()))


@given(coupled_systems(), st.floats(0.1, 10.0))
def test_loss_non_increasing_along_the_flow(system, nu):
    A, Z0, ex, ey = system
    ts = np.concatenate([[0.0], np.geomspace(1e-3, 50.0, 40)])
    Z = F.closed_form(A, Z0, ts, eta_x=ex, eta_y=ey, nu=nu)
    losses = np.array([F.loss(A, z, nu=nu) for z in Z])
    assert np.all(np.diff(losses) <= 1e-10 * (1 + losses[0]))


@given(st.integers(2, 5), st.integers(1, 6), st.integers(1, 4), st.integers(0, 10**6))
def test_no_collapse_without_frustration(K, n, d, seed):
    A = coupling.coupling_matrix(K, n, 0.0)
    Z0 = coupling.initial_state(K, n, d, seed=seed)
    Y = F.fixed_point(A, Z0)[K * n:]
    # clean data: each label ends at its own class's weighted mean, so labels stay distinct
    expected = np.array([(Z0[k * n:(k + 1) * n].sum(0) + Z0[K * n + k]) / (n + 1) for k in range(K)])
    np.testing.assert_allclose(Y, expected, atol=1e-12)
    assert float(d_min(Y)) > 0


@given(st.integers(2, 5), st.integers(2, 8), st.sampled_from(["hard", "soft"]),
       st.integers(0, 10**6))
def test_connected_frustrated_class_graph_collapses_completely(K, n, kind, seed):
    A = coupling.coupling_matrix(K, n, 0.5, seed=seed, kind=kind, pairing="ring")
    n_comp, _ = F.connected_components(A)
    assert n_comp == 1  # the ring pairing connects every class
    Y = F.fixed_point(A, coupling.initial_state(K, n, 3, seed=seed))[K * n:]
    assert float(d_min(Y)) < 1e-12


@given(coupled_systems(), st.randoms(use_true_random=False), st.floats(0.0, 5.0))
def test_label_permutation_symmetry(system, rnd, t):
    A, Z0, ex, ey = system
    N, K = A.shape
    perm = list(range(K))
    rnd.shuffle(perm)
    Z0p = np.concatenate([Z0[:N], Z0[N:][perm]])
    Z = F.closed_form(A, Z0, t, eta_x=ex, eta_y=ey)
    Zp = F.closed_form(A[:, perm], Z0p, t, eta_x=ex, eta_y=ey)
    np.testing.assert_allclose(Zp[:N], Z[:N], atol=1e-11)
    np.testing.assert_allclose(Zp[N:], Z[N:][perm], atol=1e-11)


@pytest.mark.slow
def test_closed_form_matches_diffrax_and_scipy_to_1e_8():
    A = coupling.coupling_matrix(4, 20, 0.1, seed=0)
    Z0 = coupling.initial_state(4, 20, 6, seed=1)
    ts = np.array([0.0, 0.01, 0.5, 1.0, 5.0, 20.0])
    cf = F.closed_form(A, Z0, ts)
    scale = np.abs(cf).max()
    vf = lambda t, z, a: F.vector_field(a, z)  # noqa: E731
    dx = solve_flow(vf, Z0, ts, args=A)
    sp = solve_flow_scipy(vf, Z0, ts, args=A, method="DOP853")
    restarted = solve_flow(vf, Z0, ts, args=A, restart_at_outputs=True)
    assert int(dx.result) == 0 and sp.result == 0 and int(restarted.result) == 0
    assert np.max(np.abs(np.asarray(dx.zs) - cf)) / scale <= 1e-8
    assert np.max(np.abs(np.asarray(restarted.zs) - cf)) / scale <= 1e-8
    assert np.max(np.abs(sp.zs - cf)) / scale <= 1e-8
    lsoda = solve_flow_scipy(vf, Z0, ts, args=A, method="LSODA", rtol=1e-11, atol=1e-13)
    assert np.max(np.abs(lsoda.zs - cf)) / scale <= 1e-8


@pytest.mark.slow
def test_diffrax_reports_failure_instead_of_raising():
    A = coupling.coupling_matrix(3, 4, 0.2)
    Z0 = coupling.initial_state(3, 4, 2)
    for restart in (False, True):
        sol = solve_flow(lambda t, z, a: F.vector_field(a, z), Z0, np.array([0.0, 50.0]),
                         args=A, max_steps=3, restart_at_outputs=restart)
        assert int(sol.result) != 0
        assert np.all(np.isnan(np.asarray(sol.zs)[1]))  # the unreached state is not a number


def test_vector_field_is_minus_gradient_of_loss():
    import jax

    A = coupling.coupling_matrix(3, 4, 0.5, kind="soft", q=0.3)
    Z = coupling.initial_state(3, 4, 2, seed=3)
    grad = np.asarray(jax.grad(lambda z: F.loss(A, z, nu=0.7))(Z))
    np.testing.assert_allclose(F.vector_field(A, Z, nu=0.7), -grad, atol=1e-13)
    # with rates the velocity is -H grad L
    v = F.vector_field(A, Z, eta_x=2.0, eta_y=0.5, nu=0.7)
    np.testing.assert_allclose(v[:12], -2.0 * grad[:12], atol=1e-13)
    np.testing.assert_allclose(v[12:], -0.5 * grad[12:], atol=1e-13)


def test_loss_and_vector_field_match_laplacian_form():
    A = coupling.coupling_matrix(3, 5, 0.4, seed=2)
    Z = coupling.initial_state(3, 5, 4, seed=2)
    L = F.laplacian(A)
    assert F.loss(A, Z) == pytest.approx(0.5 * np.trace(Z.T @ L @ Z), rel=1e-12)
    np.testing.assert_allclose(F.vector_field(A, Z), -L @ Z, atol=1e-12)
