"""The computations that the figure configs call (simulations.experiments): each checked
against its closed form."""

import numpy as np
import pytest

from minimal_models import stopgrad as model_b


def test_two_class_fixed_line_reaches_the_closed_form():
    from simulations.experiments.two_class_reduction import two_class_fixed_line

    ds = two_class_fixed_line(np.array([0.0, 0.5, 2.0]))
    assert ds.attrs["Q0"] == pytest.approx(model_b.two_class_invariant((0.1, 1.0, 1.0), 1))
    np.testing.assert_allclose(ds["u_ode"], ds["u_closed"], atol=1e-6)
    np.testing.assert_allclose(ds["w_ode"], ds["w_closed"], atol=1e-6)


def test_two_class_decay_rate_and_phase_plane():
    from simulations.experiments.two_class_reduction import two_class_decay, two_class_phase_plane

    t = np.linspace(0, 1500, 151)
    u = two_class_decay((0.0,), t)["u"].values[0]
    late = t >= 750
    rate = -np.polyfit(t[late], np.log(u[late]), 1)[0]
    assert rate == pytest.approx(9.52e-2, rel=2e-3)  # spec §5 F6(b), alpha = 0, m = 0.1
    rhos, Q0s = np.array([0.2, 0.8]), np.array([-0.4, 0.4])
    uT = two_class_phase_plane(rhos, Q0s)["u_T"].values
    # separated iff rho < 1 + 2 Q0: (0.2, 0.4), (0.8, 0.4) separate, (0.8, -0.4) collapses
    assert uT[0, 1] > 1e-3 and uT[1, 1] > 1e-3 and uT[1, 0] < 1e-3


def test_shadow_hamiltonian_scaling_slopes():
    from analysis.diagnostics import convergence_order
    from simulations.experiments.symplectic_toys import shadow_scaling

    hs = np.array([0.2, 0.1, 0.05])
    ptp_H, ptp_shadow = shadow_scaling(hs)
    assert convergence_order(hs, ptp_H) == pytest.approx(2.0, rel=0.03)
    assert convergence_order(hs, ptp_shadow) == pytest.approx(4.0, rel=0.05)


def test_rigid_class_rate_matches_the_prediction():
    from simulations.experiments.rigid_class import rigid_class_rates

    r = rigid_class_rates(4, 30, 5, 0.3, steps=60)
    assert r["fit"] / r["predicted"] == pytest.approx(1.0, rel=1e-3)
    assert r["d_min"].shape == (60,) and r["d_min"][-1] < r["d_min"][30]


def test_two_class_rate_fit_matches_the_exact_rate():
    from analysis.collapse_rates import two_class_dataset

    ds = two_class_dataset(50, (1, 5))
    np.testing.assert_allclose(ds["lambda_eig"], ds["lambda_exact"], rtol=1e-12)
    np.testing.assert_allclose(ds["lambda_fit"], ds["lambda_exact"], rtol=1e-3)


def test_coupling_risk_monte_carlo_matches_the_closed_form():
    from simulations.experiments.coupling_risk import monte_carlo_risk, random_contraction

    rng = np.random.default_rng(0)
    Sigma = np.diag([1.0, 2.0, 3.0])
    K = random_contraction(3, rng)
    assert np.linalg.norm(K, 2) <= 1 + 1e-12
    Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))  # orthogonal: Z_b determined, R* = 0
    for K in (np.zeros((3, 3)), 0.5 * np.eye(3), K, Q):
        closed, measured, cov_err, _ = monte_carlo_risk(Sigma, K, 20000, rng)
        assert measured == pytest.approx(closed, rel=0.03, abs=1e-9)
        assert cov_err < 0.2
    assert monte_carlo_risk(Sigma, np.zeros((3, 3)), 10, rng)[0] == pytest.approx(6.0)
