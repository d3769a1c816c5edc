"""Epps-Pulley, SIGReg and LeJEPA: spec check values E1-E7 (hamiltonian_geometry.md §7), the
SSL fixture A values (ssl_objectives_and_metrics.md §6), a SciPy quadrature of the integral
definition, and invariance properties."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import integrate, stats

from minimal_models.objectives import normality as nm

GRIDS = ("hamjepa", "official", "paper")
Z1 = np.array([[1, 0, 2], [0, 1, -1], [2, 1, 0], [-1, 2, 1]], float)
Z2 = np.array([[1, 1, 2], [0, 0, -1], [3, 1, 1], [-1, 2, 0]], float)


def ep(y, grid):
    t, w = nm.ep_grid(grid)
    return float(nm.epps_pulley_on_grid(jnp.asarray(y, float), t, w))


@pytest.mark.parametrize("grid, expected", list(zip(GRIDS, (1.0518887667, 1.0524641548,
                                                             1.0594231238))))
def test_E1_null_expectation(grid, expected):
    assert nm.epps_pulley_null_mean(grid) == pytest.approx(expected, rel=1e-9)


def test_E1_paper_grid_approaches_continuum():
    continuum = np.sqrt(2 * np.pi) * (1 - 1 / np.sqrt(3))
    assert continuum == pytest.approx(1.0594257655, rel=1e-9)
    assert abs(nm.epps_pulley_null_mean("paper") - continuum) < 3e-6


def test_hamjepa_grid_weights():
    t, w = nm.ep_grid("hamjepa")
    np.testing.assert_allclose(t, np.linspace(0, 3, 9))
    np.testing.assert_allclose(w, [0.375, 0.6990768693, 0.5661297015, 0.3983219933,
                                   0.2434893505, 0.1293162179, 0.0596696315, 0.0239210950,
                                   0.0041658737], rtol=1e-9)


@pytest.mark.parametrize("y, expected", [
    ([-1.0, 0.0, 1.0], (0.0327667791, 0.0329465003, 0.0350584623)),          # E2
    ([0.5, 1.5, -2.0, 0.25], (0.8518490644, 0.8522822752, 0.8576819974)),    # E3
])
def test_E2_E3(y, expected):
    for grid, value in zip(GRIDS, expected):
        assert ep(y, grid) == pytest.approx(value, abs=1e-10)


@pytest.mark.parametrize("n", [1, 4, 7])
def test_E4_zeros(n):
    for grid, per in zip(GRIDS, (0.4014957410, 0.4020475797, 0.4089207202)):
        assert ep(np.zeros(n), grid) == pytest.approx(n * per, rel=1e-9)
    assert float(nm.epps_pulley(jnp.zeros(4))) == pytest.approx(1.608190, rel=1e-6)


def test_public_signature_defaults_are_official_grid():
    y = jnp.array([0.5, 1.5, -2.0, 0.25])
    assert float(nm.epps_pulley(y)) == pytest.approx(0.8522822752, rel=1e-9)
    assert float(nm.epps_pulley(y, n_points=9)) == pytest.approx(0.8518490644, rel=1e-9)
    cols = nm.epps_pulley(jnp.stack([y, jnp.zeros(4)], axis=1))
    np.testing.assert_allclose(cols, [0.8522822752, 4 * 0.4020475797], rtol=1e-9)


def test_E5_null_monte_carlo():
    key = jax.random.PRNGKey(0)
    samples = jax.random.normal(key, (512, 400), dtype=jnp.float64)  # 400 columns of N = 512
    values = np.asarray(nm.epps_pulley(samples))
    mean, se = values.mean(), values.std(ddof=1) / np.sqrt(values.size)
    assert abs(mean - nm.epps_pulley_null_mean("official")) < 3 * se


@pytest.mark.slow
def test_E6_gaussian_vs_uniform():
    kz, ku, kd = jax.random.split(jax.random.PRNGKey(1), 3)
    dirs = nm.random_directions(kd, 128, 128, jnp.float64)
    gauss = float(nm.sigreg(jax.random.normal(kz, (512, 128), jnp.float64), dirs))
    unif = float(nm.sigreg(jax.random.uniform(ku, (512, 128), jnp.float64, -1, 1), dirs))
    assert 0.8 < gauss < 1.5
    assert unif > 30 * gauss and 40 < unif < 70


def test_E7_author_baseline_prediction_loss():
    views = jnp.array([[[1, 0], [0, 2]], [[3, 0], [0, 0]]], float)
    loss, logs = nm.lejepa(views, jnp.eye(2), lam=0.0, composition="hamjepa")
    assert float(loss) == pytest.approx(0.25, abs=1e-15)
    assert float(logs["pred"]) == pytest.approx(0.25, abs=1e-15)


def test_ssl_fixture_sigreg_and_lejepa():
    assert float(nm.sigreg(Z1, np.eye(3))) == pytest.approx(1.168266, rel=1e-6)
    assert float(nm.sigreg(Z2, np.eye(3))) == pytest.approx(1.223295, rel=1e-6)
    views = jnp.stack([Z1, Z2])
    loss, logs = nm.lejepa(views, np.eye(3))
    assert float(logs["sigreg"]) == pytest.approx(1.195781, rel=1e-6)
    assert float(logs["inv"]) == pytest.approx(5 / 48, rel=1e-12)
    assert float(loss) == pytest.approx(0.1259989, rel=1e-6)
    loss_h, _ = nm.lejepa(views, np.eye(3), composition="hamjepa")
    assert float(loss_h) == pytest.approx(0.0759989, rel=1e-6)


@pytest.mark.parametrize("y", [[0.3, -1.2, 2.0], [0.0, 0.0], [1.5, -0.5, 0.25, 0.8, -2.2]])
def test_epps_pulley_against_scipy_quadrature(y):
    """A fine folded trapezoid converges to N * int |phi_N - phi|^2 w over [-t_max, t_max]."""
    y = np.asarray(y, float)
    t_max = 3.0

    def integrand(t):
        cf = np.mean(np.exp(1j * t * y))
        return abs(cf - np.exp(-t * t / 2)) ** 2 * np.exp(-t * t / 2)

    ref = y.size * integrate.quad(integrand, -t_max, t_max, epsabs=1e-13, epsrel=1e-12)[0]
    fine = float(nm.epps_pulley(jnp.asarray(y), t_max=t_max, n_points=4001))
    assert fine == pytest.approx(ref, rel=1e-6, abs=1e-12)


def test_sigreg_normalises_directions_and_matches_loop():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(20, 5))
    a = rng.normal(size=(5, 7))
    loop = np.mean([float(nm.epps_pulley(jnp.asarray(z @ (a[:, m] / np.linalg.norm(a[:, m])))))
                    for m in range(7)])
    assert float(nm.sigreg(z, a)) == pytest.approx(loop, rel=1e-12)
    assert float(nm.sigreg(z, 3.7 * a)) == pytest.approx(loop, rel=1e-12)


_sigreg_jit = jax.jit(nm.sigreg)


@settings(max_examples=20)
@given(seed=st.integers(0, 2**31 - 1), d=st.sampled_from([1, 4]))
def test_sigreg_orthogonal_invariance(seed, d):
    """SIGReg(z Q, Q^T A) = SIGReg(z, A) for any orthogonal Q."""
    n, m = 10, 6
    rng = np.random.default_rng(seed)
    z, a = rng.normal(size=(n, d)), rng.normal(size=(d, m))
    q = stats.ortho_group.rvs(d, random_state=seed) if d > 1 else np.array([[-1.0]])
    assert float(_sigreg_jit(z @ q, q.T @ a)) == pytest.approx(float(_sigreg_jit(z, a)),
                                                               rel=1e-9)


@settings(max_examples=20)
@given(seed=st.integers(0, 2**31 - 1))
def test_sigreg_permutation_invariance_and_nonnegative(seed):
    n = 9
    rng = np.random.default_rng(seed)
    z, a = rng.normal(size=(n, 4)), rng.normal(size=(4, 3))
    base = float(_sigreg_jit(z, a))
    assert base >= 0
    assert float(_sigreg_jit(z[rng.permutation(n)], a)) == pytest.approx(base, rel=1e-12)


def test_lejepa_key_draws_fresh_slices_and_is_deterministic():
    views = jnp.asarray(np.random.default_rng(0).normal(size=(2, 16, 6)))
    l1 = nm.lejepa(views, key=jax.random.PRNGKey(0), num_slices=8)[0]
    l2 = nm.lejepa(views, key=jax.random.PRNGKey(0), num_slices=8)[0]
    l3 = nm.lejepa(views, key=jax.random.PRNGKey(1), num_slices=8)[0]
    assert float(l1) == float(l2) and float(l1) != float(l3)


def test_lejepa_global_views_only_define_the_centre():
    rng = np.random.default_rng(1)
    views = rng.normal(size=(3, 5, 2))
    inv = float(nm.lejepa_invariance(views, num_global_views=2))
    centre = views[:2].mean(0)
    assert inv == pytest.approx(np.mean((centre[None] - views) ** 2), rel=1e-12)


def test_gradients_finite_on_degenerate_batches():
    dirs = jnp.eye(3)
    g_sig = jax.jit(jax.grad(lambda x: nm.sigreg(x, dirs)))
    g_lej = jax.jit(jax.grad(lambda v: nm.lejepa(v, dirs)[0]))
    for z in (jnp.zeros((8, 3)), jnp.ones((8, 3)), jnp.tile(jnp.arange(3.0), (8, 1))):
        assert bool(jnp.all(jnp.isfinite(g_sig(z))))
        assert bool(jnp.all(jnp.isfinite(g_lej(jnp.stack([z, z])))))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="grid"):
        nm.ep_grid("simpson")
    with pytest.raises(ValueError, match="n_points"):
        nm.epps_pulley(jnp.zeros(3), n_points=1)
    with pytest.raises(ValueError, match="lam"):
        nm.lejepa(jnp.zeros((2, 3, 2)), jnp.eye(2), lam=1.5)
    with pytest.raises(ValueError, match="composition"):
        nm.lejepa(jnp.zeros((2, 3, 2)), jnp.eye(2), composition="sum")
    with pytest.raises(ValueError, match="directions"):
        nm.sigreg(jnp.zeros((3, 2)), jnp.eye(3))
    with pytest.raises(ValueError, match="key"):
        nm.lejepa(jnp.zeros((2, 3, 2)))
