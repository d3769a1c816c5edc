"""The coupling sampler, presets and initial states shared by Models A, B and C (spec §2.2,
§2.8, RECONSTRUCTION)."""

import numpy as np
import pytest

from minimal_models import coupling


def test_coupling_kinds_and_pairings():
    soft = coupling.coupling_matrix(3, 10, 0.3, kind="soft", q=0.25, seed=4)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0)
    assert set(np.unique(soft)) == {0.0, 0.25, 0.75, 1.0}
    hard = coupling.coupling_matrix(3, 10, 0.3, seed=4)
    assert np.all(hard.sum(axis=1)[coupling.frustrated_mask(3, 10, 0.3)] == 2)
    assert coupling.frustrated_count(10, 0.3) == 3 and coupling.frustrated_count(10, 0.25) == 3
    ring = coupling.coupling_matrix(3, 4, 0.5, pairing="ring")
    assert ring[0, 1] == 1 and ring[4, 2] == 1 and ring[8, 0] == 1
    pairs = coupling.coupling_matrix(5, 2, 0.5, pairing="fixed_pair")
    partner = coupling.partner_labels(pairs, coupling.sample_classes(5, 2))
    assert list(partner[::2]) == [1, 0, 3, 2, 3] and np.all(partner[1::2] == -1)
    clean = coupling.coupling_matrix(3, 4, 0.9, kind="clean")
    np.testing.assert_array_equal(clean, np.repeat(np.eye(3), 4, axis=0))


def test_initial_state_draw_order_and_variants():
    rng = np.random.default_rng(7)
    mu, xi, zeta = rng.standard_normal((3, 2)), rng.standard_normal((6, 2)), \
        rng.standard_normal((3, 2))
    Z = coupling.initial_state(3, 2, 2, seed=7, sigma=0.5, s_y=0.2)
    np.testing.assert_allclose(Z[:6], mu[[0, 0, 1, 1, 2, 2]] + 0.5 * xi)
    np.testing.assert_allclose(Z[6:], 0.2 * zeta)
    np.testing.assert_allclose(coupling.initial_state(3, 2, 2, seed=7, init="iid", s_x=2.0)[:6], 2 * xi)
    assert np.all(coupling.initial_state(3, 2, 2, seed=7, init="zero_labels")[6:] == 0)


def test_presets_and_normalisation():
    assert coupling.preset("unit-sum", 50) == {"nu": 1.0, "eta_x": 1.0, "eta_y": 1.0, "eta_W": 1.0}
    assert coupling.preset("balanced", 50) == {"nu": 0.02, "eta_x": 50.0, "eta_y": 1.0,
                                               "eta_W": 1.0}
    assert coupling.normalisation_factor("per_class", 200, 4) == pytest.approx(1 / 50)
    assert coupling.normalisation_factor("mean", 200, 4) == pytest.approx(1 / 200)
    assert coupling.normalisation_factor(0.3, 200, 4) == 0.3


def test_head_init_variants():
    np.testing.assert_array_equal(coupling.head_init(3), np.eye(3))
    np.testing.assert_array_equal(coupling.head_init(2, s_W=0.5), 0.5 * np.eye(2))
    R = coupling.head_init(5, init="orthogonal", s_W=2.0, seed=3)
    np.testing.assert_allclose(R.T @ R, 4.0 * np.eye(5), atol=1e-12)
    G = coupling.head_init(4, init="gaussian", seed=1)
    np.testing.assert_allclose(G, np.random.default_rng(1).standard_normal((4, 4)) / 2)
    with pytest.raises(ValueError, match="init='ones'"):
        coupling.head_init(3, init="ones")
    with pytest.raises(ValueError, match="s_W=-1.0"):
        coupling.head_init(3, s_W=-1.0)


def test_validate_coupling_and_partners():
    A = coupling.coupling_matrix(4, 5, 0.4, seed=2)
    assert coupling.validate_coupling(A) is not None
    partner = coupling.partner_labels(A, coupling.sample_classes(4, 5))
    assert np.all((partner >= 0) == coupling.frustrated_mask(4, 5, 0.4))
    classes = coupling.sample_classes(4, 5)
    assert np.all(partner[partner >= 0] != classes[partner >= 0])
    with pytest.raises(ValueError, match="non-negative"):
        coupling.validate_coupling(-A)


def test_effective_frustration_is_the_drawn_share():
    """Frustration is quantised to multiples of 1/n: the effective share is what the sampler
    draws, f/n with f = floor(p n + 1/2), and 0 for the clean coupling."""
    for n, p, f in ((50, 0.05, 3), (50, 0.065, 3), (50, 0.07, 4), (50, 0.1, 5), (20, 0.025, 1),
                    (10, 0.0, 0)):
        A = coupling.coupling_matrix(4, n, p, seed=1)
        drawn = coupling.frustrated_mask(4, n, p).reshape(4, n).sum(axis=1)
        assert np.all(drawn == f) and np.sum((A > 0).sum(axis=1) == 2) == 4 * f
        assert coupling.effective_frustration(n, p) == f / n
        assert coupling.effective_frustration(n, p, "soft") == f / n
    assert coupling.effective_frustration(50, 0.3, "clean") == 0.0
    # p = 0.05 and 0.065 give the same coupling at n = 50
    np.testing.assert_array_equal(coupling.coupling_matrix(4, 50, 0.05),
                                  coupling.coupling_matrix(4, 50, 0.065))
    with pytest.raises(ValueError, match=r"kind='bogus'"):
        coupling.effective_frustration(50, 0.1, "bogus")
    with pytest.raises(ValueError, match=r"frustration=1.5"):
        coupling.effective_frustration(50, 1.5)


@pytest.mark.slow
def test_package_face_imports_only_the_numpy_modules():
    """``import minimal_models`` gives the numpy modules at once and the float64/JAX ones on
    first use: a float32 training run that imports minimal_models.objectives keeps float32."""
    import subprocess
    import sys

    code = ("import sys, minimal_models as mm; assert 'jax' not in sys.modules; "
            "assert mm.coupling.frustrated_count(50, 0.05) == 3; "
            "assert set(mm.__all__) >= {'coupling', 'stopgrad', 'objectives', 'symplectic'}; "
            "import minimal_models.objectives, jax; assert not jax.config.jax_enable_x64; "
            "mm.stopgrad.check_alpha(0.5); assert jax.config.jax_enable_x64")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
