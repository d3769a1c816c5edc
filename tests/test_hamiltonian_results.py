"""Results of arXiv:2605.20107 that had no code before: each against an independent computation.

Lemma 4.10 (log-det spike), Lemma 4.12 (projected log-det with eps and rank deficiency),
Cor 4.3 (entropy under a diffeomorphism), Prop 4.6 (leapfrog approximation orders), Prop 4.16
(a symplectic predictor keeps the covariance volume), Thm B.1 (maximum-entropy Gibbs law),
and the feasibility guard of Thm 4.14 (r0 <= k).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.optimize import minimize

from analysis import spectra
from analysis.diagnostics import convergence_order
from minimal_models import hamiltonian_geometry as hg
from minimal_models import symplectic as sp


def random_symplectic(rng, n):
    """A random element of Sp(2n) as a product of symplectic shears and a block scaling."""
    S1, S2 = rng.standard_normal((2, n, n))
    S1, S2 = (S1 + S1.T) / 4, (S2 + S2.T) / 4
    M = rng.standard_normal((n, n)) + 3 * np.eye(n)
    eye, zero = np.eye(n), np.zeros((n, n))
    return (np.block([[eye, S1], [zero, eye]]) @ np.block([[np.linalg.inv(M).T, zero], [zero, M]])
            @ np.block([[eye, zero], [S2, eye]]))


# ---- Lemma 4.10: the log-det floor alone admits a spike -------------------------------------

@pytest.mark.parametrize("k,tau", [(2, 0.0), (8, 0.0), (8, -1.5), (32, 0.3)])
def test_lemma_4_10_spike_meets_the_floor_and_collapses(k, tau):
    prs = []
    for eps in (1e-1, 1e-2, 1e-3):
        lam = hg.logdet_spike_spectrum(k, tau, eps)
        assert lam.shape == (k,)
        # independent: log det of the diagonal covariance by slogdet
        assert np.linalg.slogdet(np.diag(lam))[1] / k == pytest.approx(tau, abs=1e-10)
        pr = spectra.participation_ratio(lam)
        closed = (lam[0] + (k - 1) * eps) ** 2 / (lam[0] ** 2 + (k - 1) * eps**2)
        assert pr == pytest.approx(closed, rel=1e-12)
        prs.append(pr)
    assert prs == sorted(prs, reverse=True) and prs[-1] < 1 + 1e-5  # PR -> 1


# ---- Lemma 4.12: projected log-det with eps and rank deficiency -----------------------------

def _orthonormal(rng, d, k):
    return np.linalg.qr(rng.standard_normal((d, k)))[0]


@settings(max_examples=30)
@given(st.integers(0, 10**6), st.integers(1, 6), st.sampled_from([1e-4, 1e-2, 1.0]))
def test_lemma_4_12_projected_logdet_equals_slogdet_and_rank_is_bounded(seed, rank, eps):
    rng = np.random.default_rng(seed)
    d, k = 10, 6
    A = rng.standard_normal((d, rank))
    Sigma_Q = A @ A.T  # rank-deficient content covariance
    R = _orthonormal(rng, d, k)
    out = hg.projected_logdet(Sigma_Q, R, eps)
    assert out["rank"] <= min(rank, k)
    assert out["rank"] == np.linalg.matrix_rank(R.T @ Sigma_Q @ R)  # numpy's own rank test
    direct = np.linalg.slogdet(R.T @ Sigma_Q @ R + eps * np.eye(k))[1]
    assert out["logdet"] == pytest.approx(direct, rel=1e-10, abs=1e-10)


def test_lemma_4_12_rank_one_line_is_spec_r3():
    # spec R3: a rank-1 batch along 1_128, k = 32, eps = 1e-4:
    # (1/k) log det = (31/32) log 1e-4 + log(lambda_1 + eps)/32
    rng = np.random.default_rng(0)
    a = rng.standard_normal(512)
    X = np.outer(a * 0.3, np.ones(128))
    Sigma_Q = np.cov(X.T)
    R = _orthonormal(rng, 128, 32)
    out = hg.projected_logdet(Sigma_Q, R, 1e-4)
    lam1 = out["eigenvalues"][-1]
    assert out["rank"] == 1
    assert out["logdet"] / 32 == pytest.approx((31 / 32) * np.log(1e-4) + np.log(lam1 + 1e-4) / 32,
                                               rel=1e-12)
    assert out["logdet"] / 32 < -8.0  # the floor tau = -2 is violated by far


def test_projected_logdet_bad_input():
    with pytest.raises(ValueError, match="orthonormal"):
        hg.projected_logdet(np.eye(3), np.ones((3, 2)), 1e-3)
    with pytest.raises(ValueError, match="eps=0.0"):
        hg.projected_logdet(np.eye(3), np.eye(3)[:, :2], 0.0)
    with pytest.raises(ValueError, match="positive semi-definite"):
        hg.projected_logdet(-np.eye(3), np.eye(3)[:, :2], 1e-3)
    with pytest.raises(ValueError, match="R must have shape"):
        hg.projected_logdet(np.eye(3), np.eye(4)[:, :2], 1e-3)


# ---- Thm 4.14 / Cor 4.15 refuse an infeasible participation-ratio floor ---------------------

def test_spectral_bounds_refuse_r0_above_k():
    hg.spectral_bounds(1.0, 4.0, 4, -1.0)  # r0 = k is the isotropic limit, allowed
    with pytest.raises(ValueError, match=r"r0=4.5 is outside the allowed range \[1.0, 4.0\]"):
        hg.spectral_bounds(1.0, 4.5, 4, -1.0)


def test_spectral_bounds_hold_at_the_largest_allowed_floor_r0_equal_k():
    # the isotropic spectrum (c/k) 1 has PR = k exactly: the extreme feasible r0
    k, c = 5, 2.0
    lam = np.full(k, c / k)
    b = hg.spectral_bounds(c, spectra.participation_ratio(lam), k, float(np.mean(np.log(lam))))
    assert lam.max() <= b["lambda_max"] and lam.min() >= b["lambda_min"] * (1 - 1e-12)
    assert b["kappa"] >= 1 - 1e-12


# ---- Cor 4.3 / Thm 4.2: entropy under a diffeomorphism --------------------------------------

def test_cor_4_3_linear_map_on_a_gaussian():
    rng = np.random.default_rng(0)
    d = 3
    Sigma = np.cov(rng.standard_normal((20, d)).T)
    A = rng.standard_normal((d, d)) + 2 * np.eye(d)
    X = rng.multivariate_normal(np.zeros(d), Sigma, size=50)
    h_X = hg.gaussian_entropy(Sigma)
    h_AX = sp.pushforward_entropy(lambda x: jnp.asarray(A) @ x, X, h_X)
    # independent: the entropy of N(0, A Sigma A^T) in closed form
    assert h_AX == pytest.approx(hg.gaussian_entropy(A @ Sigma @ A.T), rel=1e-12)


def test_cor_4_3_nonlinear_map_against_scipy_lognormal():
    # X ~ N(m, s^2), F = exp: F(X) is log-normal; E log|F'(X)| = E X = m
    m, s = 0.7, 0.5
    rng = np.random.default_rng(1)
    X = rng.normal(m, s, (200_000, 1))
    h = sp.pushforward_entropy(jnp.exp, X, scipy.stats.norm(m, s).entropy())
    reference = scipy.stats.lognorm(s, scale=np.exp(m)).entropy()
    assert h == pytest.approx(reference, abs=4 * s / np.sqrt(len(X)))  # Monte-Carlo error of E X


def test_cor_4_3_leapfrog_keeps_the_entropy_and_euler_does_not():
    V = lambda q: 0.5 * 0.3 * q @ q + 0.1 * jnp.sum(jnp.cos(2 * q))  # noqa: E731
    g = jax.grad(V)

    def flow(integrator):
        return lambda s: jnp.concatenate(integrator(g, s[:2], s[2:], 0.2, 5))

    X = np.random.default_rng(2).standard_normal((40, 4))
    assert sp.pushforward_entropy(flow(sp.leapfrog), X, 1.234) == pytest.approx(1.234, abs=1e-12)
    assert sp.pushforward_entropy(flow(sp.explicit_euler), X, 1.234) > 1.234 + 1e-3
    with pytest.raises(ValueError, match="samples must have shape"):
        sp.pushforward_entropy(jnp.exp, np.ones(3), 0.0)


# ---- Prop 4.16: a symplectic predictor keeps the covariance volume --------------------------

@given(st.integers(0, 10**6))
def test_prop_4_16_symplectic_predictor_preserves_logdet(seed):
    rng = np.random.default_rng(seed)
    n = 3
    A = random_symplectic(rng, n)
    G = rng.standard_normal((2 * n, 2 * n))
    Sigma = G @ G.T + 0.1 * np.eye(2 * n)
    base = np.linalg.slogdet(Sigma)[1]
    assert hg.predicted_covariance_logdet(A, Sigma) == pytest.approx(base, abs=1e-8)
    B = A @ np.diag(rng.uniform(0.5, 2.0, 2 * n))  # not symplectic: volume changes
    expected = base + 2 * np.log(np.abs(np.linalg.det(B)))
    assert hg.predicted_covariance_logdet(B, Sigma) == pytest.approx(expected, abs=1e-8)


def test_prop_4_16_on_a_sampled_state_cloud_through_the_exact_flow():
    H = np.diag([0.5, 2.0])
    rng = np.random.default_rng(3)
    S = rng.standard_normal((100_000, 4)) @ np.diag([1.0, 0.3, 0.5, 2.0])
    F = sp.quadratic_exact_flow(H, 1.3)
    Sigma = np.cov(S.T)
    # independent: the covariance of the pushed samples themselves
    assert np.linalg.slogdet(np.cov((S @ F.T).T))[1] == pytest.approx(
        hg.predicted_covariance_logdet(F, Sigma), abs=1e-9)
    assert hg.predicted_covariance_logdet(F, Sigma) == pytest.approx(np.linalg.slogdet(Sigma)[1],
                                                                     abs=1e-9)
    with pytest.raises(ValueError, match="invertible"):
        hg.predicted_covariance_logdet(np.zeros((4, 4)), Sigma)


# ---- Prop 4.6: approximation orders (dt^2 and the force error) ------------------------------

def _exact_pendulum(q0, p0, T, force_error=0.0):
    """Independent reference: SciPy DOP853 at tight tolerance."""
    sol = solve_ivp(lambda t, y: [y[1], -np.sin(y[0]) - force_error * np.cos(y[0])], (0, T),
                    [q0, p0], method="DOP853", rtol=1e-13, atol=1e-13)
    return sol.y[:, -1]


def _leapfrog_endpoint(dt, T, force_error=0.0):
    g = lambda q: jnp.sin(q) + force_error * jnp.cos(q)  # noqa: E731
    q, p = sp.leapfrog(g, jnp.array([1.0]), jnp.array([0.3]), dt, int(round(T / dt)))
    return np.array([float(q[0]), float(p[0])])


def test_prop_4_6_leapfrog_error_is_second_order_in_dt():
    T = 2.0
    exact = _exact_pendulum(1.0, 0.3, T)
    dts = np.array([0.1, 0.05, 0.025, 0.0125])
    errors = [np.linalg.norm(_leapfrog_endpoint(dt, T) - exact) for dt in dts]
    assert convergence_order(dts, errors) == pytest.approx(2.0, abs=0.05)
    # halving dt at fixed T divides the endpoint error by about 4
    np.testing.assert_allclose(np.array(errors[:-1]) / np.array(errors[1:]), 4.0, rtol=0.05)


def test_prop_4_6_error_is_first_order_in_the_force_error_and_within_the_bound():
    T, dt = 2.0, 0.002
    exact = _exact_pendulum(1.0, 0.3, T)
    deltas = np.array([0.01, 0.02, 0.04, 0.08])
    errors = [np.linalg.norm(_leapfrog_endpoint(dt, T, delta) - exact) for delta in deltas]
    assert convergence_order(deltas, errors) == pytest.approx(1.0, abs=0.05)
    # the bound with L = 1 (|D(p, -sin q)| <= 1) and the local constant measured on one step
    one_step = max(np.linalg.norm(_leapfrog_endpoint(h, h) - _exact_pendulum(1.0, 0.3, h)) / h**3
                   for h in (0.05, 0.1))
    for delta, err in zip(deltas, errors):
        assert err <= sp.approximation_bound(1.0, T, delta, dt, one_step)
    bound = sp.approximation_bound(1.0, T, 0.0, 0.1, 2.0)
    assert bound == pytest.approx(2.0 * np.expm1(T) * 0.01, rel=1e-12)
    with pytest.raises(ValueError, match="lipschitz=0.0"):
        sp.approximation_bound(0.0, T, 0.0, 0.1, 1.0)


def test_convergence_order_recovers_a_power_law_and_refuses_bad_input():
    h = np.geomspace(1e-3, 1e-1, 7)
    assert convergence_order(h, 3.0 * h**2.5) == pytest.approx(2.5, rel=1e-12)
    with pytest.raises(ValueError, match="> 0"):
        convergence_order([0.1, 0.2], [0.0, 1.0])


# ---- Thm B.1: the Gibbs law is the maximum-entropy law at fixed mean energy -----------------

def test_thm_b1_gibbs_matches_a_constrained_entropy_maximisation():
    rng = np.random.default_rng(4)
    E = rng.uniform(0, 3, 7)
    c = 1.1
    gibbs = hg.maxent_gibbs(E, c)
    assert gibbs["p"] @ E == pytest.approx(c, rel=1e-10)

    # independent: maximise -sum p log p subject to sum p = 1, sum p E = c (SciPy SLSQP)
    def neg_entropy(p):
        p = np.clip(p, 1e-300, None)
        return np.sum(p * np.log(p))

    res = minimize(neg_entropy, np.full(7, 1 / 7), method="SLSQP", bounds=[(0, 1)] * 7,
                   constraints=[{"type": "eq", "fun": lambda p: p.sum() - 1},
                                {"type": "eq", "fun": lambda p: p @ E - c}],
                   options={"ftol": 1e-14, "maxiter": 500})
    assert res.success
    np.testing.assert_allclose(gibbs["p"], res.x, atol=1e-6)
    assert gibbs["entropy"] == pytest.approx(-res.fun, abs=1e-9)


def test_thm_b1_quadratic_lift_has_beta_d_over_c():
    # H = (1/2) h q^2 + (1/2) p^2 (d = 1) on a fine grid: beta = d/c (Prop 3.6), and the
    # entropy is that of N(0, diag(1/(beta h), 1/beta))
    x = np.linspace(-12, 12, 801)
    Q, P = np.meshgrid(x, x)
    h, c = 3.0, 0.8
    E = (0.5 * h * Q**2 + 0.5 * P**2).ravel()
    out = hg.maxent_gibbs(E, c, np.full(E.size, (x[1] - x[0]) ** 2))
    assert out["beta"] == pytest.approx(1 / c, rel=1e-6)
    assert out["entropy"] == pytest.approx(hg.gaussian_entropy(np.diag([c / h, c])), abs=1e-4)


def test_thm_b1_other_laws_with_the_same_mean_energy_have_less_entropy():
    rng = np.random.default_rng(5)
    E = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    gibbs = hg.maxent_gibbs(E, 1.2)
    # perturb inside {sum dp = 0, sum dp E = 0}: the null space of [1; E]
    null = np.linalg.svd(np.vstack([np.ones(5), E]))[2][2:]
    for _ in range(50):
        p = gibbs["p"] + 0.02 * rng.standard_normal(3) @ null
        if np.any(p <= 0):
            continue
        assert -np.sum(p * np.log(p)) < gibbs["entropy"]
    with pytest.raises(ValueError, match="c=5.0 is outside"):
        hg.maxent_gibbs(E, 5.0)
