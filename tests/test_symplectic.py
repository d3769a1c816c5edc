"""Symplectic integrators and diagnostics (spec §3, check values I1, I3-I7)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minimal_models import symplectic as sp


def mlp_potential(seed, d=4, hidden=16, b=0.1, s=0.02):
    """HamJEPA-form potential V(q) = b/2 ||q||^2 + s f(q), f a random two-layer GELU MLP with
    the exact (erf) GELU, as torch's nn.GELU() in the author's code."""
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(seed), 3)
    W1 = jax.random.normal(k1, (hidden, d)) / np.sqrt(d)
    W2 = jax.random.normal(k2, (hidden, hidden)) / np.sqrt(hidden)
    w3 = jax.random.normal(k3, (hidden,)) / np.sqrt(hidden)

    def V(q):
        h = jax.nn.gelu(W2 @ jax.nn.gelu(W1 @ q, approximate=False), approximate=False)
        return 0.5 * b * q @ q + s * w3 @ h

    return V


@pytest.mark.slow
@settings(max_examples=12)  # each example compiles a new potential's Jacobian
@given(st.integers(0, 10**6), st.sampled_from([(0.05, 2), (0.1, 2), (0.5, 10)]))
def test_i1_leapfrog_on_mlp_potentials_is_symplectic_reversible_volume_preserving(seed, setting):
    dt, K = setting
    V = mlp_potential(seed)
    g = jax.grad(V)
    rng = np.random.default_rng(seed)
    q, p = jnp.asarray(rng.standard_normal(4)), jnp.asarray(rng.standard_normal(4))
    A = sp.flow_jacobian(sp.leapfrog, g, q, p, dt, K)
    assert sp.symplecticity_defect(A) <= 1e-13
    assert abs(sp.logabsdet(A)) <= 1e-13
    assert sp.sv_pairing_error(A) <= 1e-10
    assert sp.inverse_error(sp.leapfrog, g, q, p, dt, K) <= 1e-13


def test_i1_explicit_euler_fails_the_same_checks():
    V = mlp_potential(0)
    g = jax.grad(V)
    q, p = jnp.ones(4) * 0.3, jnp.ones(4) * -0.2
    A = sp.flow_jacobian(sp.explicit_euler, g, q, p, 0.05, 2)
    assert sp.symplecticity_defect(A) > 1e-5
    assert sp.logabsdet(A) > 1e-4
    assert sp.inverse_error(sp.explicit_euler, g, q, p, 0.05, 2) > 1e-5


def test_i3_hamjepa_defaults_quadratic_matrix():
    g = lambda q: 0.1 * q  # noqa: E731  b = 0.1, s = 0
    A = sp.flow_jacobian(sp.leapfrog, g, jnp.zeros(1), jnp.zeros(1), 0.05, 1)
    np.testing.assert_allclose(A, [[0.999875, 0.05], [-0.0049996875, 0.999875]], atol=1e-13)
    A2 = sp.flow_jacobian(sp.leapfrog, g, jnp.zeros(1), jnp.zeros(1), 0.05, 2)
    np.testing.assert_allclose(A2, [[0.99950003125, 0.0999875],
                                    [-0.009998125078125, 0.99950003125]], atol=1e-13)
    F = sp.quadratic_exact_flow(np.array([[0.1]]), 0.1)
    assert F[0, 0] == pytest.approx(0.9995000417, abs=1e-10)
    assert F[0, 1] == pytest.approx(0.0999833342, abs=1e-10)
    q, p = sp.leapfrog(lambda q: 0.0 * q, jnp.array([1.0]), jnp.array([2.0]), 0.05, 2)
    assert float(q[0]) == pytest.approx(1.2) and float(p[0]) == 2.0  # b = 0: the loophole


def test_i4_i5_i6_harmonic_oscillator():
    w, h = 1.3, 0.1
    g = lambda q: w**2 * q  # noqa: E731
    M = sp.flow_jacobian(sp.leapfrog, g, jnp.zeros(1), jnp.zeros(1), h, 1)
    np.testing.assert_allclose(M, [[0.99155, 0.1], [-0.168285975, 0.99155]], atol=1e-12)
    def step(state, _):
        q, p = state
        energies = (0.5 * p[0] ** 2 + 0.5 * w**2 * q[0] ** 2,
                    0.5 * p[0] ** 2 + 0.5 * w**2 * (1 - h**2 * w**2 / 4) * q[0] ** 2)
        return sp.leapfrog(g, q, p, h, 1), energies

    _, (H, shadow) = jax.lax.scan(step, (jnp.array([0.7]), jnp.array([0.2])), None,
                                  length=10_000)
    H, shadow = np.asarray(H), np.asarray(shadow)
    assert H[0] == pytest.approx(0.43405)
    assert np.ptp(H) == pytest.approx(1.8342e-3, rel=1e-2)
    assert np.ptp(shadow) <= 1e-13
    E = sp.flow_jacobian(sp.explicit_euler, g, jnp.zeros(1), jnp.zeros(1), h, 1)
    assert np.linalg.det(E) == pytest.approx(1.0169, rel=1e-12)
    q, p = sp.explicit_euler(g, jnp.array([0.7]), jnp.array([0.2]), h, 100)
    assert float(0.5 * p[0] ** 2 + 0.5 * w**2 * q[0] ** 2) / H[0] == pytest.approx(5.3434867,
                                                                                  rel=1e-7)
    S = sp.flow_jacobian(sp.symplectic_euler, g, jnp.zeros(1), jnp.zeros(1), h, 1)
    Q = np.array([[w**2, -0.5 * h * w**2], [-0.5 * h * w**2, 1.0]]) / 2
    assert np.linalg.det(S) == pytest.approx(1.0, abs=1e-15)
    assert np.abs(S.T @ Q @ S - Q).max() <= 1e-15


@pytest.mark.parametrize("h,H_ptp,shadow_ptp", [(0.2, 4.625e-3, 3.194e-5),
                                                (0.1, 1.156e-3, 1.993e-6)])
def test_i7_pendulum_modified_hamiltonian(h, H_ptp, shadow_ptp):
    V = lambda q: 1 - jnp.cos(q[0])  # noqa: E731
    g = jax.grad(V)
    n = int(round(200 / h))

    def step(state, _):
        q, p = sp.leapfrog(g, *state, h, 1)
        return (q, p), (0.5 * p @ p + V(q), sp.modified_hamiltonian(V, q, p, h))

    _, (H, Hs) = jax.lax.scan(step, (jnp.array([1.0]), jnp.array([0.3])), None, length=n)
    assert float(np.ptp(H)) == pytest.approx(H_ptp, rel=1e-2)
    assert float(np.ptp(Hs)) == pytest.approx(shadow_ptp, rel=1e-2)


def _pendulum_ptp(integrator, h, shadow_scheme, T=200.0):
    V = lambda q: 1 - jnp.cos(q[0])  # noqa: E731

    def step(state, _):
        q, p = integrator(jax.grad(V), *state, h, 1)
        return (q, p), (0.5 * p @ p + V(q), sp.modified_hamiltonian(V, q, p, h, scheme=shadow_scheme))

    _, (H, Hs) = jax.lax.scan(step, (jnp.array([1.0]), jnp.array([0.3])), None,
                              length=int(round(T / h)))
    return float(np.ptp(H)), float(np.ptp(Hs))


def test_i7_dkd_leapfrog_and_its_own_shadow_hamiltonian():
    H_ptp, shadow_ptp = _pendulum_ptp(sp.leapfrog_dkd, 0.2, "dkd")
    assert H_ptp == pytest.approx(4.229e-3, rel=1e-2)
    assert shadow_ptp == pytest.approx(2.159e-5, rel=1e-2)
    # negative control: the KDK coefficients do not cancel the DKD error
    _, wrong = _pendulum_ptp(sp.leapfrog_dkd, 0.2, "kdk")
    assert wrong > 10 * shadow_ptp
    # DKD is symplectic and symmetric as well
    g = jnp.sin
    q, p = jnp.array([0.7]), jnp.array([0.2])
    A = sp.flow_jacobian(sp.leapfrog_dkd, g, q, p, 0.2, 5)
    assert sp.symplecticity_defect(A) <= 1e-14
    assert sp.inverse_error(sp.leapfrog_dkd, g, q, p, 0.2, 5) <= 1e-14
    with pytest.raises(ValueError, match="scheme='rk4'"):
        sp.modified_hamiltonian(lambda q: q @ q, q, p, 0.1, scheme="rk4")


def test_exact_quadratic_flow_is_symplectic_and_preserves_the_gibbs_covariance():
    H = np.diag([1.0, 2, 3, 4])
    F = sp.quadratic_exact_flow(H, 0.7)
    assert sp.symplecticity_defect(F) <= 1e-14
    C = np.block([[np.linalg.inv(H), np.zeros((4, 4))], [np.zeros((4, 4)), np.eye(4)]])
    np.testing.assert_allclose(F @ C @ F.T, C, atol=1e-14)


def _pendulum_toy(seed, n=20_000):
    """Spec §3.2 toy: uniform start on [0.15, 0.85] x [-0.35, 0.35]; reference leapfrog
    dt = 0.01 x 2500; models Euler and leapfrog dt = 0.1 x 250; whitened by the reference."""
    from analysis import sliced_w1_profile, whiten_by_reference

    rng = np.random.default_rng(seed)
    q0 = jnp.asarray(rng.uniform(0.15, 0.85, n))
    p0 = jnp.asarray(rng.uniform(-0.35, 0.35, n))
    g = jnp.sin  # V = 1 - cos q, applied elementwise to the batch of 1-D states
    ref = np.stack(sp.leapfrog(g, q0, p0, 0.01, 2500), axis=1)
    thetas = np.linspace(0, np.pi, 180, endpoint=False)
    out = {}
    for name, integrator in [("euler", sp.explicit_euler), ("leapfrog", sp.leapfrog)]:
        model = np.stack(integrator(g, q0, p0, 0.1, 250), axis=1)
        out[name] = sliced_w1_profile(whiten_by_reference(model, ref),
                                      whiten_by_reference(ref, ref), thetas)
    return out


@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow),
                                  pytest.param(2, marks=pytest.mark.slow)])
def test_i9_cramer_wold_diagnostic_matches_the_paper_toy(seed):
    toy = _pendulum_toy(seed)
    assert 4.85 <= toy["euler"]["mean"] <= 5.05 and 7.15 <= toy["euler"]["max"] <= 7.40
    assert 0.0133 <= toy["leapfrog"]["mean"] <= 0.0141
    assert 0.0199 <= toy["leapfrog"]["max"] <= 0.0213


def test_sliced_w1_of_identical_clouds_is_zero_and_detects_a_shift():
    from analysis import sliced_w1_profile

    Z = np.random.default_rng(1).standard_normal((500, 2))
    thetas = np.linspace(0, np.pi, 30, endpoint=False)
    assert sliced_w1_profile(Z, Z, thetas)["max"] == 0.0
    shifted = sliced_w1_profile(Z + np.array([0.5, 0.0]), Z, thetas)
    assert shifted["max"] == pytest.approx(0.5, rel=1e-12)  # theta = 0: the full shift


def test_i10_momentum_flip_authors_metric_and_our_diagnostic():
    q, p = jnp.array([0.5]), jnp.array([0.3])
    for metric in sp.FLIP_METRICS:
        assert sp.momentum_flip_error(sp.leapfrog, jnp.sin, q, p, 0.1, 250, metric=metric) <= 1e-12
    author = sp.momentum_flip_error(sp.explicit_euler, jnp.sin, q, p, 0.1, 250, metric="wrapped_l2")
    ours = sp.momentum_flip_error(sp.explicit_euler, jnp.sin, q, p, 0.1, 250, metric="max_abs")
    assert author == pytest.approx(3.144, abs=1e-3)  # spec I10, the author's number
    assert ours == pytest.approx(16.19, abs=0.01)  # unwrapped max-abs: a different number
    # independently: the same rollouts by hand, then the author's formula
    q1, p1 = sp.explicit_euler(jnp.sin, q, p, 0.1, 250)
    q2, p2 = sp.explicit_euler(jnp.sin, q1, -p1, 0.1, 250)
    dq = float(q2[0] - q[0])
    dq_wrapped = dq - 2 * np.pi * np.round(dq / (2 * np.pi))
    assert author == pytest.approx(np.hypot(dq_wrapped, float(-p2[0] - p[0])), rel=1e-12)
    assert ours == pytest.approx(max(abs(dq), abs(float(-p2[0] - p[0]))), rel=1e-12)


def test_momentum_flip_error_is_per_state_for_a_batch():
    rng = np.random.default_rng(0)
    q, p = jnp.asarray(rng.uniform(-3, 3, (5, 1))), jnp.asarray(rng.uniform(-2, 2, (5, 1)))
    batch = sp.momentum_flip_error(sp.explicit_euler, jnp.sin, q, p, 0.1, 50, metric="wrapped_l2")
    assert batch.shape == (5,)
    single = [sp.momentum_flip_error(sp.explicit_euler, jnp.sin, q[i], p[i], 0.1, 50,
                                     metric="wrapped_l2") for i in range(5)]
    np.testing.assert_allclose(batch, single, rtol=1e-12)
    with pytest.raises(ValueError, match="metric='l2'"):
        sp.momentum_flip_error(sp.leapfrog, jnp.sin, q, p, 0.1, 5, metric="l2")


def test_wrap_angle_range_and_periodicity():
    x = jnp.asarray(np.linspace(-20, 20, 1001))
    w = np.asarray(sp.wrap_angle(x))
    assert w.min() >= -np.pi and w.max() < np.pi
    np.testing.assert_allclose(np.sin(w), np.sin(np.asarray(x)), atol=1e-12)
    np.testing.assert_allclose(np.cos(w), np.cos(np.asarray(x)), atol=1e-12)


def test_trajectory_matches_the_k_step_map_and_wrapping_keeps_the_pendulum_energy():
    q0, p0 = jnp.asarray([0.5, -2.0, 3.0]), jnp.asarray([2.4, 0.1, -1.9])
    qs, ps = sp.trajectory(sp.explicit_euler, jnp.sin, q0, p0, 0.1, 40)
    assert qs.shape == (41, 3)
    np.testing.assert_array_equal(qs[0], q0)
    q40, p40 = sp.explicit_euler(jnp.sin, q0, p0, 0.1, 40)
    np.testing.assert_allclose(qs[-1], q40, rtol=1e-12)
    np.testing.assert_allclose(ps[-1], p40, rtol=1e-12)
    qw, pw = sp.trajectory(sp.explicit_euler, jnp.sin, q0, p0, 0.1, 40, wrap_q=True)
    assert np.all(np.abs(np.asarray(qw)) <= np.pi)
    energy = lambda q, p: 0.5 * p**2 + 1 - np.cos(q)  # noqa: E731
    np.testing.assert_allclose(energy(np.asarray(qw), np.asarray(pw)),
                               energy(np.asarray(qs), np.asarray(ps)), rtol=1e-10)


def test_showcase_energy_drift_is_the_authors_definition():
    H0 = np.array([0.0, 0.004, 0.006, 1.0, 2.0])
    HT = np.array([0.1, 0.1, 0.1, 1.5, 1.0])
    d = sp.showcase_energy_drift(H0, HT)
    assert np.isnan(d[0]) and np.isnan(d[1])  # H_0 <= 5e-3 is masked
    np.testing.assert_allclose(d[2:], [(0.1 - 0.006) / 0.007, 0.5 / 1.001, -1.0 / 2.001],
                               rtol=1e-12)
    floor = sp.showcase_energy_drift(H0, HT, denominator="floor", mask_below=None)
    np.testing.assert_allclose(floor, [0.1 / 1e-3, 0.096 / 0.004, 0.094 / 0.006, 0.5, -0.5],
                               rtol=1e-12)
    ours = np.asarray(sp.energy_drift(jnp.asarray(H0[2:]), jnp.asarray(HT[2:])))
    assert not np.allclose(ours, d[2:])  # a different convention (|H_0| + 1e-12)
    with pytest.raises(ValueError, match="denominator='abs'"):
        sp.showcase_energy_drift(H0, HT, denominator="abs")


def _euler_exact_area_ratio(n=101, dt=0.1, n_steps=250):
    """Independent reference (numpy): the mean over the blob of det D Phi, with one explicit
    Euler step's determinant 1 + dt^2 cos q for the pendulum, on cell midpoints."""
    c = (np.arange(n) + 0.5) / n * 0.7 + 0.15
    q, p = np.meshgrid(c, c - 0.5, indexing="ij")
    det = np.ones_like(q)
    for _ in range(n_steps):
        det *= 1 + dt**2 * np.cos(q)
        q, p = q + dt * p, p - dt * np.sin(q)
    return float(det.mean())


def test_i11_liouville_area_ratio():
    leap41 = sp.liouville_area_ratio(sp.leapfrog, jnp.sin)
    leap81 = sp.liouville_area_ratio(sp.leapfrog, jnp.sin, n_grid=81)
    assert leap41 == pytest.approx(0.99976, abs=1e-5)
    assert leap81 == pytest.approx(0.99994, abs=1e-5)
    assert abs(leap81 - 1) < abs(leap41 - 1)  # discretisation error of the area, not of the map
    assert sp.liouville_area_ratio(sp.leapfrog, jnp.sin, triangulation="main") == pytest.approx(
        leap41, abs=1e-12)
    # explicit Euler: the author's triangulation and ours differ, both tend to the exact ratio
    exact = _euler_exact_area_ratio()
    assert exact == pytest.approx(6.3695, abs=1e-3)
    author = [sp.liouville_area_ratio(sp.explicit_euler, jnp.sin, n_grid=g) for g in (41, 81)]
    main = [sp.liouville_area_ratio(sp.explicit_euler, jnp.sin, n_grid=g, triangulation="main")
            for g in (41, 81)]
    assert author[0] == pytest.approx(6.7086, abs=1e-3) and main[0] == pytest.approx(7.7881, abs=1e-3)
    for values in (author, main):
        assert exact < values[1] < values[0]  # refining the grid approaches the exact ratio
    with pytest.raises(ValueError, match="triangulation='diag'"):
        sp.liouville_area_ratio(sp.leapfrog, jnp.sin, triangulation="diag")


def _random_symplectic(rng, n):
    S1, S2 = rng.standard_normal((2, n, n))
    S1, S2 = S1 + S1.T, S2 + S2.T
    M = rng.standard_normal((n, n)) + 3 * np.eye(n)
    eye, zero = np.eye(n), np.zeros((n, n))
    upper = np.block([[eye, S1], [zero, eye]])
    lower = np.block([[eye, zero], [S2, eye]])
    scale = np.block([[np.linalg.inv(M).T, zero], [zero, M]])
    return upper @ scale @ lower @ upper


@given(st.integers(0, 10**6))
def test_i8_symplectic_factorisation(seed):
    A = _random_symplectic(np.random.default_rng(seed), 3)
    assert sp.symplecticity_defect(A) <= 1e-9 * np.abs(A).max() ** 2
    B, d, C = sp.symplectic_factorisation(A)
    scale = max(1.0, np.abs(A).max())
    assert np.abs(B - B.T).max() <= 1e-12 * scale and np.abs(C - C.T).max() <= 1e-12 * scale
    n, eye, zero = 3, np.eye(3), np.zeros((3, 3))
    rebuilt = (np.block([[eye, B], [zero, eye]]) @ np.block([[np.linalg.inv(d).T, zero], [zero, d]])
               @ np.block([[eye, zero], [C, eye]]))
    assert np.abs(rebuilt - A).max() <= 1e-12 * scale  # spec I8: <= 1e-12, relative to |A|


def test_integrator_registry_and_bad_names():
    assert sp.integrator("kdk") is sp.leapfrog
    assert sp.integrator("explicit_euler", hamiltonian="quadratic") is sp.explicit_euler
    with pytest.raises(ValueError, match="scheme='rk4'"):
        sp.integrator("rk4")
    with pytest.raises(ValueError, match="hamiltonian='nonsep'"):
        sp.integrator("kdk", hamiltonian="nonsep")


@pytest.mark.slow
def test_learnable_nonseparable_hamiltonian_is_refused_and_really_not_symplectic():
    with pytest.raises(ValueError, match="not symplectic"):
        sp.integrator("kdk", hamiltonian="learnable_nonseparable")
    f = mlp_potential(3, d=8, b=0.0, s=1.0)  # an MLP on the joint state [q, p]
    q, p = jnp.full(4, 0.3), jnp.full(4, -0.2)
    with pytest.raises(ValueError, match="allow_nonsymplectic"):
        sp.nonseparable_leapfrog(sp.learnable_hamiltonian(f, 0.2), q, p, 0.1, 2)

    def jacobian(s):
        H = sp.learnable_hamiltonian(f, s)
        phi = lambda z: jnp.concatenate(  # noqa: E731
            sp.nonseparable_leapfrog(H, z[:4], z[4:], 0.1, 2, allow_nonsymplectic=True))
        return np.asarray(jax.jacfwd(phi)(jnp.concatenate([q, p])))

    with pytest.warns(UserWarning, match="not symplectic"):
        coupled = jacobian(0.2)
    with pytest.warns(UserWarning):
        separable = jacobian(0.0)  # s = 0 is the separable harmonic case: symplectic again
    assert sp.symplecticity_defect(separable) <= 1e-14
    assert sp.symplecticity_defect(coupled) > 1e-5
    assert abs(sp.logabsdet(coupled)) > 1e-5


def test_i2_author_unit_test_bounds():
    V = mlp_potential(7, b=1.0, s=0.01)
    q, p = jnp.full(4, 0.4), jnp.full(4, 0.1)
    A = sp.flow_jacobian(sp.leapfrog, jax.grad(V), q, p, 0.1, 2)
    assert sp.symplecticity_defect(A) < 1e-3
    assert abs(np.linalg.det(A) - 1) < 1e-2


def test_rollout_covariance_stats_volume_preservation_under_a_linear_symplectic_map():
    from analysis import rollout_covariance_stats

    H = np.diag([0.5, 2.0])
    rng = np.random.default_rng(0)
    s0 = rng.standard_normal((2000, 4)) @ np.diag([1.0, 0.3, 0.5, 2.0])
    states = [s0 @ sp.quadratic_exact_flow(H, t).T for t in np.linspace(0, 3, 7)]
    stats = rollout_covariance_stats(np.stack(states))
    np.testing.assert_allclose(stats["logdet"], stats["logdet"][0], atol=1e-10)  # det F = 1
    assert not np.allclose(stats["trace"], stats["trace"][0], rtol=1e-3)  # but not isotropic
    damped = rollout_covariance_stats(np.stack([s0 * np.exp(-t) for t in range(3)]))
    np.testing.assert_allclose(np.diff(damped["logdet"]), -8.0, atol=1e-10)  # log det(e^-1 I_4)^2
    with pytest.raises(ValueError, match="n_samples"):
        rollout_covariance_stats(np.zeros((3, 4)))
