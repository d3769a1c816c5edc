"""Model A, tier 1: closed forms and the check values of spec §6 (A1-A6)."""

import numpy as np
import pytest

from analysis import d_min
from minimal_models import coupling
from minimal_models import frustration as F


def two_class_coupling(n_c, m):
    A = np.zeros((2 * n_c + m, 2))
    A[:n_c, 0] = A[n_c:2 * n_c, 1] = 1.0
    A[2 * n_c:] = 1.0
    return A


def test_a1_two_class_rates_and_laplacian_eigenvalue():
    lam_minus, lam_plus = F.two_class_rates(50, 5)
    assert lam_minus == pytest.approx(0.0894285261, rel=1e-9)
    assert lam_plus == pytest.approx(55.9105714739, rel=1e-11)
    assert F.two_class_slow_rate(50, 5) == lam_minus
    eig = F.generator_spectrum(two_class_coupling(50, 5))
    assert abs(eig[1] - lam_minus) < 3e-15 * 10  # spec: to 3e-15; allow a few ulps of eigh
    assert np.min(np.abs(eig - lam_plus)) < 1e-12 * lam_plus  # lambda_+ is an eigenvalue
    assert F.two_class_rates(50, 5, nu=1 / 50, eta_x=50, eta_y=1)[0] == pytest.approx(
        0.0487507803, rel=1e-9)
    assert F.two_class_rates(50, 5, eta_x=2, eta_y=0.5)[0] == pytest.approx(0.1704766882, rel=1e-9)


@pytest.mark.parametrize("rates", [(1.0, 1.0, 1.0), (1 / 50, 50.0, 1.0), (1.0, 2.0, 0.5)])
def test_two_class_rates_match_spectrum_for_general_rates(rates):
    nu, ex, ey = rates
    A = two_class_coupling(20, 3)
    eig = F.generator_spectrum(A, eta_x=ex, eta_y=ey, nu=nu)
    lam_minus, lam_plus = F.two_class_rates(20, 3, eta_x=ex, eta_y=ey, nu=nu)
    assert np.isclose(eig[1], lam_minus, rtol=1e-11)
    assert np.min(np.abs(eig - lam_plus)) < 1e-11 * lam_plus


def test_a2_star_spectrum_formula_and_laplacian():
    expected = [0.0] + [1.3] * 6 + [6.2]
    np.testing.assert_allclose(F.star_spectrum(7, eta_x=1.3, eta_y=0.7), expected, rtol=1e-14)
    star = np.zeros((7, 2))
    star[:, 0] = 1.0  # one class of 7 samples; label 1 isolated (zero mode) is dropped below
    eig = F.generator_spectrum(star, eta_x=1.3, eta_y=0.7)
    np.testing.assert_allclose(eig[1:], expected, atol=1e-12)


def test_a3_reference_sampler_and_slow_modes():
    A = coupling.coupling_matrix(4, 50, 0.1, seed=0)
    classes = coupling.sample_classes(4, 50)
    partner = coupling.partner_labels(A, classes)
    counts = np.zeros((4, 4), int)
    np.add.at(counts, (classes[partner >= 0], partner[partner >= 0]), 1)
    np.testing.assert_array_equal(counts, [[0, 2, 2, 1], [4, 0, 0, 1], [0, 3, 0, 2], [0, 3, 2, 0]])
    slow = F.slow_eigenvalues(A)
    np.testing.assert_allclose(slow, [0.0851886, 0.1199964, 0.1620046], atol=5e-8)
    assert F.generator_spectrum(A)[-1] == pytest.approx(59.00846, abs=5e-6)
    assert F.first_order_slow_rate(4, 50, 0.1) == pytest.approx(0.130719, abs=5e-7)
    np.testing.assert_allclose(F.first_order_slow_rates(A), [0.0928, 0.1358, 0.1922], atol=5e-5)
    assert F.symmetric_cubic_slow_rate(4, 50, 0.1) == pytest.approx(0.12323, abs=5e-6)
    for lam in slow:  # every exact slow eigenvalue makes the Schur complement singular
        assert np.linalg.svd(F.schur_matrix(A, lam), compute_uv=False)[-1] < 1e-12
    # ... and a value between them does not
    assert np.linalg.svd(F.schur_matrix(A, 0.1), compute_uv=False)[-1] > 1e-4


@pytest.mark.parametrize("K,n,p,mean,root", [
    (4, 50, 0.1, 0.12212, 0.12323),
    (4, 50, 0.2, 0.23274, 0.23395),
    (4, 50, 0.3, 0.33343, 0.33524),
    (4, 200, 0.1, 0.12450, 0.12475),
    (8, 100, 0.1, 0.10695, 0.10745),
    (3, 100, 0.2, 0.26040, 0.26089),
])
@pytest.mark.slow
def test_a4_cubic_root_matches_disorder_average(K, n, p, mean, root):
    measured = np.mean([F.slow_eigenvalues(coupling.coupling_matrix(K, n, p, seed=s)).mean()
                        for s in range(10)])
    cubic = F.symmetric_cubic_slow_rate(K, n, p)
    assert cubic == pytest.approx(root, abs=5e-6)
    assert measured == pytest.approx(mean, abs=5e-6)
    assert abs(measured / cubic - 1) < 0.02


def test_cubic_factorises_for_two_classes():
    # K = 2: the smallest root is the exact lambda_- with m = m' = 2pn frustrated samples
    n, p = 50, 0.1
    m = int(2 * p * n)
    n_c = int(n * (1 - p))
    assert F.symmetric_cubic_slow_rate(2, n, p) == pytest.approx(F.two_class_rates(n_c, m)[0],
                                                                 rel=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("p,q", [(0.2, 0.3), (0.2, 0.5), (0.1, 0.1)])
def test_a5_soft_split_first_order_estimate(p, q):
    measured = np.mean([F.slow_eigenvalues(coupling.coupling_matrix(4, 200, p, seed=s, kind="soft",
                                                             q=q)).mean() for s in range(10)])
    estimate = F.first_order_slow_rate(4, 200, p, j=q * (1 - q))
    assert abs(measured / estimate - 1) < 1e-3


@pytest.mark.slow
def test_a5_balanced_preset():
    rates = coupling.preset("balanced", 200)
    A = coupling.coupling_matrix(4, 200, 0.1, seed=0)
    nu = coupling.normalisation_factor("per_class", 800, 4)
    assert nu == rates["nu"] == 1 / 200
    seed0 = F.slow_eigenvalues(A, nu=nu, eta_x=rates["eta_x"]).mean()
    assert seed0 == pytest.approx(0.066693, abs=5e-7)
    estimate = F.first_order_slow_rate(4, 200, 0.1, nu=nu, eta_x=200)
    assert estimate == pytest.approx(0.0666667, abs=1e-7)
    measured = np.mean([F.slow_eigenvalues(coupling.coupling_matrix(4, 200, 0.1, seed=s), nu=nu,
                                           eta_x=rates["eta_x"]).mean() for s in range(10)])
    assert abs(measured / estimate - 1) < 1e-3
    assert A.shape == (800, 4)


def test_a6_f2_f3_numbers():
    Z0 = coupling.initial_state(4, 50, 16, seed=1)
    clean = coupling.coupling_matrix(4, 50, 0.0)
    Z = F.closed_form(clean, Z0, np.array([0.0, 100.0]))
    np.testing.assert_allclose(np.asarray(d_min(Z[:, 200:])), [0.5475, 3.4691], rtol=1e-3)
    assert F.loss(clean, Z0) == pytest.approx(1347.85, rel=1e-5)
    for p, expected in [(0.04, 1.266), (0.1, 0.268), (0.2, 0.0235)]:
        A = coupling.coupling_matrix(4, 50, p, seed=0)
        Y20 = F.closed_form(A, Z0, 20.0)[200:]
        assert float(d_min(Y20)) == pytest.approx(expected, rel=2.5e-3)


def test_max_stable_step_separates_stable_and_unstable_gd():
    A = coupling.coupling_matrix(3, 5, 0.2)
    Z = coupling.initial_state(3, 5, 2)
    L = F.laplacian(A)
    eta = F.max_stable_step(A)
    for factor, grows in [(0.95, False), (1.05, True)]:
        step = np.eye(len(L)) - factor * eta * L
        Zs = np.linalg.matrix_power(step, 400) @ Z
        assert (np.abs(Zs).max() > 10 * np.abs(Z).max()) == grows
