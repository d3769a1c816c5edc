"""Hamiltonian geometry (arXiv:2605.20107, spec §2 and check values T1-T4, T7-T10)."""

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st

from minimal_models import hamiltonian_geometry as hg
from analysis import spectra


def random_spd(rng, d, spread=3.0):
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (Q * np.exp(rng.uniform(-spread, spread, d))) @ Q.T


spd_cases = st.tuples(st.integers(1, 6), st.integers(0, 2**32 - 1))


def test_t1_minimax_and_price():
    H = np.diag([1.0, 2, 3, 4])
    S = hg.minimax_covariance(H, 2.0)
    np.testing.assert_allclose(S, np.diag([0.5, 0.25, 1 / 6, 0.125]), rtol=1e-14)
    assert np.trace(H @ S) == pytest.approx(2.0, rel=1e-14)
    assert hg.worst_case_variance(S, H) == pytest.approx(0.5, rel=1e-12)
    assert hg.worst_case_variance(0.2 * np.eye(4), H) == pytest.approx(0.8, rel=1e-12)
    assert hg.price_of_isotropy(H) == pytest.approx(1.6, rel=1e-12)


def test_t2_t3_price_values():
    assert hg.price_of_isotropy(np.diag([10.0, 1, 1, 1])) == pytest.approx(40 / 13, rel=1e-12)
    assert hg.worst_price_condition(4, 10) == pytest.approx(3.0769230769, rel=1e-9)
    L = 2 * np.eye(8) - np.roll(np.eye(8), 1, 0) - np.roll(np.eye(8), -1, 0)
    H = L + 0.1 * np.eye(8)
    np.testing.assert_allclose(np.linalg.eigvalsh(H), [0.1, 0.685786, 0.685786, 2.1, 2.1,
                                                       3.514214, 3.514214, 4.1], atol=5e-7)
    assert hg.price_of_isotropy(H) == pytest.approx(1.9523809524, rel=1e-9)


def test_t4_t5_entropies():
    H = np.diag([1.0, 2, 3, 4])
    assert hg.entropy_price(H) == pytest.approx(0.2435545486, rel=1e-9)
    S_star, S_iso = hg.minimax_covariance(H, 2.0), (2.0 / 10) * np.eye(4)
    kl = 0.5 * (np.trace(np.linalg.solve(S_star, S_iso)) - 4
                + np.linalg.slogdet(S_star)[1] - np.linalg.slogdet(S_iso)[1])
    assert np.trace(np.linalg.solve(S_star, S_iso)) == pytest.approx(4.0, rel=1e-12)
    assert kl == pytest.approx(hg.entropy_price(H), rel=1e-12)
    assert hg.maxent_entropy(H, 2.0) == pytest.approx(2.7004328565, rel=1e-9)
    assert hg.gaussian_entropy(S_star) == pytest.approx(hg.maxent_entropy(H, 2.0), rel=1e-12)


def test_t7_worst_case_geometry_values():
    rng = np.random.default_rng(3)
    Sigma0 = random_spd(rng, 5, 1.0)
    u = rng.standard_normal(5)
    for eps, expected in [(1, 1.6666666667), (0.1, 3.6666666667), (0.01, 4.8095238095),
                          (0.001, 4.9800995025)]:
        rho = hg.misalignment_ratio(hg.worst_case_geometry(Sigma0, eps, u), Sigma0)
        assert rho == pytest.approx(expected, rel=1e-9)
    assert hg.misalignment_ratio(np.linalg.inv(Sigma0), Sigma0) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("kappa,bound", [(2, 1.6667), (10, 3.5714), (100, 4.8077)])
def test_t8_bounded_condition_witness(kappa, bound):
    rng = np.random.default_rng(kappa)
    Sigma0 = random_spd(rng, 5, 1.0)
    v = np.linalg.eigh(Sigma0)[1][:, -1]
    H = np.eye(5) + (kappa - 1) * np.outer(v, v)
    assert hg.misalignment_ratio(H, Sigma0) >= bound - 1e-4
    assert hg.worst_price_condition(5, kappa) == pytest.approx(bound, abs=1e-4)


def orthogonal_and_its_map(rng, Sigma):
    """A random orthogonal Q and the deterministic map R = Sigma^1/2 Q Sigma^-1/2 it defines."""
    Q, _ = np.linalg.qr(rng.standard_normal(Sigma.shape))
    half = hg.sqrtm_spd(Sigma)
    return Q, half @ Q @ np.linalg.inv(half)


def test_t9_predictive_risk_at_fixed_marginals():
    rng = np.random.default_rng(0)
    Sigma = random_spd(rng, 4, 1.0)
    _, R = orthogonal_and_its_map(rng, Sigma)
    assert abs(hg.optimal_predictive_risk(Sigma, Sigma)) < 1e-10
    assert abs(hg.optimal_predictive_risk(Sigma, Sigma @ R.T)) < 1e-10
    assert hg.optimal_predictive_risk(Sigma, np.zeros((4, 4))) == pytest.approx(np.trace(Sigma))
    assert hg.optimal_predictive_risk(Sigma, 0.5 * Sigma) == pytest.approx(0.75 * np.trace(Sigma))
    with pytest.raises(ValueError, match="not a valid cross-covariance"):
        hg.optimal_predictive_risk(Sigma, 2.0 * Sigma)


def test_t10_spectral_summaries():
    lam = np.array([4.0, 2, 1, 1])
    assert spectra.effective_rank(lam) == pytest.approx(2**1.75, rel=1e-10)
    assert spectra.participation_ratio(lam) == pytest.approx(32 / 11, rel=1e-12)


@given(spd_cases, st.floats(0.1, 10.0))
def test_price_of_isotropy_bounds_and_c_independence(case, c):
    d, seed = case
    H = random_spd(np.random.default_rng(seed), d)
    rho = hg.price_of_isotropy(H)
    assert 1 - 1e-12 <= rho <= d + 1e-12
    iso = (c / np.trace(H)) * np.eye(d)
    ratio = hg.worst_case_variance(iso, H) / hg.worst_case_variance(hg.minimax_covariance(H, c), H)
    assert ratio == pytest.approx(rho, rel=1e-9)
    assert hg.price_of_isotropy(3.7 * np.eye(d)) == pytest.approx(1.0, rel=1e-12)


@given(spd_cases, st.integers(0, 2**32 - 1))
def test_minimax_covariance_beats_every_feasible_covariance(case, seed2):
    d, seed = case
    rng = np.random.default_rng(seed)
    H, c = random_spd(rng, d), 2.0
    S_star = hg.minimax_covariance(H, c)
    G = np.random.default_rng(seed2).standard_normal((d, d))
    S = G @ G.T + 1e-3 * np.eye(d)
    S = c * S / np.trace(H @ S)  # feasible: tr(H S) = c
    assert hg.worst_case_variance(S, H) >= c / d * (1 - 1e-10)
    assert hg.gaussian_entropy(S) <= hg.maxent_entropy(H, c) + 1e-10
    w = hg.worst_case_task(S, H)
    assert w @ np.linalg.solve(H, w) == pytest.approx(1.0, rel=1e-9)
    assert w @ S @ w == pytest.approx(hg.worst_case_variance(S, H), rel=1e-9)
    assert hg.worst_case_variance(S_star, H) == pytest.approx(c / d, rel=1e-10)


@given(spd_cases, st.floats(0.01, 100.0))
def test_misalignment_ratio_range_and_scale_invariance(case, scale):
    d, seed = case
    rng = np.random.default_rng(seed)
    H, Sigma0 = random_spd(rng, d), random_spd(rng, d, 1.0)
    rho = hg.misalignment_ratio(H, Sigma0)
    assert 1 - 1e-10 <= rho <= d + 1e-10
    assert hg.misalignment_ratio(scale * H, Sigma0) == pytest.approx(rho, rel=1e-10)
    assert hg.misalignment_ratio(H, np.eye(d)) == pytest.approx(hg.price_of_isotropy(H), rel=1e-10)
    S = random_spd(rng, d)
    np.testing.assert_allclose(hg.minimax_covariance(hg.oracle_geometry(S, 1.5), 1.5), S,
                               rtol=1e-8, atol=1e-12 * np.abs(S).max())


@given(spd_cases, st.floats(0.1, 10.0))
def test_h_whitening_exact_identities(case, c):
    d, seed = case
    rng = np.random.default_rng(seed)
    H = random_spd(rng, d, 1.0)
    Z = rng.standard_normal((50, d)) @ random_spd(rng, d, 1.0)
    root = scipy.linalg.sqrtm(H).real  # independent square root (Schur method)
    W = hg.h_whiten(Z, H)
    # Lemma 4.1: the batch map Z H^1/2 is the per-sample map z' = H^1/2 z
    np.testing.assert_allclose(W, np.array([root @ z for z in Z]), rtol=1e-10, atol=1e-12)
    # Prop 3.5: Cov(Z H^1/2) = H^1/2 Cov(Z) H^1/2, exactly for the sample covariance
    np.testing.assert_allclose(np.cov(W.T).reshape(d, d), root @ np.cov(Z.T).reshape(d, d) @ root,
                               rtol=1e-9, atol=1e-12)
    # and Sigma* = (c/d) H^-1 is whitened to (c/d) I exactly
    np.testing.assert_allclose(root @ hg.minimax_covariance(H, c) @ root, (c / d) * np.eye(d),
                               rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="columns to match H"):
        hg.h_whiten(np.ones((3, d + 1)), H)


@pytest.mark.parametrize("call,match", [
    (lambda: hg.price_of_isotropy(np.array([[1.0, 2], [0, 1]])), "H must be symmetric"),
    (lambda: hg.price_of_isotropy(np.diag([1.0, -1])), "H must be positive definite"),
    (lambda: hg.minimax_covariance(np.eye(2), 0.0), r"c=0.0 is outside"),
    (lambda: hg.worst_case_variance(np.eye(3), np.eye(2)), "Sigma must have the shape of H"),
    (lambda: hg.misalignment_ratio(np.eye(2), np.eye(3)), "Sigma0 must have the shape of H"),
    (lambda: hg.worst_case_geometry(np.eye(2), -1.0), "eps=-1.0"),
    (lambda: hg.price_of_isotropy(np.full((2, 2), np.nan)), "H contains NaN"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@given(st.integers(2, 8), st.integers(0, 2**32 - 1))
def test_r5_anti_collapse_bounds_hold_for_random_spd(k, seed):
    rng = np.random.default_rng(seed)
    lam = np.exp(rng.uniform(-4, 2, k))
    tau = np.mean(np.log(lam))  # the tightest floor this Sigma satisfies
    c = lam.sum()
    r0 = spectra.participation_ratio(lam)
    assert lam.min() >= hg.logdet_trace_floor(k, tau, c) * (1 - 1e-10)
    b = hg.spectral_bounds(c, r0, k, tau)
    assert lam.max() <= b["lambda_max"] * (1 + 1e-12)
    assert lam.min() >= b["lambda_min"] * (1 - 1e-10)
    assert lam.max() / lam.min() <= b["kappa"] * (1 + 1e-10)


def test_r5_log_det_floor_alone_admits_a_spike():
    # Lemma 4.10 (spec R5: k = 8, tau = 0): l = 0 and PR -> 1; more in test_hamiltonian_results
    lam = hg.logdet_spike_spectrum(8, 0.0, 1e-3)
    assert np.mean(np.log(lam)) == pytest.approx(0.0, abs=1e-12)
    assert spectra.participation_ratio(lam) < 1 + 1e-9
    # a trace budget admits rank 1 (Prop 4.9) and PR is scale invariant (Prop 4.11)
    assert spectra.participation_ratio(np.array([2.0, 0, 0])) == 1.0
    lam = np.array([3.0, 1.0, 0.5])
    assert spectra.participation_ratio(7 * lam) == pytest.approx(spectra.participation_ratio(lam))


def test_t5_gibbs_lift_moments_and_partition():
    import jax

    H = np.diag([1.0, 2, 3, 4])
    assert hg.gibbs_partition(H, 2.0) == pytest.approx(19.8835474451, rel=1e-9)
    q, p = hg.gibbs_lift_sample(H, 2.0, 400_000, jax.random.PRNGKey(0))
    assert np.mean(np.einsum("ni,ij,nj->n", q, H, q)) == pytest.approx(2.0, rel=1e-2)
    assert np.mean(np.sum(p**2, axis=1)) == pytest.approx(2.0, rel=1e-2)
    np.testing.assert_allclose(np.cov(q.T), hg.minimax_covariance(H, 2.0), atol=5e-3)
    # the partition function is the normaliser: a 1-D check by quadrature
    from scipy.integrate import dblquad

    val, _ = dblquad(lambda p_, q_: np.exp(-(1 / 0.5) * (0.5 * 3.0 * q_**2 + 0.5 * p_**2)),
                     -10, 10, -10, 10)
    assert val == pytest.approx(hg.gibbs_partition(np.array([[3.0]]), 0.5), rel=1e-8)


def random_contraction(rng, d):
    U, _ = np.linalg.qr(rng.standard_normal((d, d)))
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (U * rng.uniform(0, 1, d)) @ V.T


@given(st.integers(0, 10**6))
def test_every_contraction_coupling_keeps_risk_in_range(seed):
    rng = np.random.default_rng(seed)
    Sigma = random_spd(rng, 4, 1.0)
    risk = hg.optimal_predictive_risk(Sigma, hg.coupling_from_contraction(Sigma, random_contraction(rng, 4)))
    assert -1e-10 <= risk <= np.trace(Sigma) * (1 + 1e-12)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))  # orthogonal K: a deterministic map
    assert abs(hg.optimal_predictive_risk(Sigma, hg.coupling_from_contraction(Sigma, Q))) < 1e-9


def test_orthogonal_contraction_is_the_map_sigma_r_transpose():
    rng = np.random.default_rng(1)
    Sigma = random_spd(rng, 4, 1.0)
    Q, R = orthogonal_and_its_map(rng, Sigma)
    np.testing.assert_allclose(hg.coupling_from_contraction(Sigma, Q.T), Sigma @ R.T, atol=1e-12)
    with pytest.raises(ValueError, match="operator norm"):
        hg.coupling_from_contraction(Sigma, 1.5 * Q)


def test_sampled_views_have_fixed_marginals_and_the_predicted_risk():
    rng = np.random.default_rng(2)
    Sigma = random_spd(rng, 3, 1.0)
    n = 40000
    for K in (np.zeros((3, 3)), 0.5 * np.eye(3), random_contraction(rng, 3)):
        C = hg.coupling_from_contraction(Sigma, K)
        Za, Zb = hg.sample_coupled_views(Sigma, C, n, rng)
        scale = np.abs(Sigma).max()
        np.testing.assert_allclose(np.cov(Za.T), Sigma, atol=0.05 * scale)
        np.testing.assert_allclose(np.cov(Zb.T), Sigma, atol=0.05 * scale)
        np.testing.assert_allclose(Za.T @ Zb / n, C, atol=0.05 * scale)
        B = np.linalg.lstsq(Za, Zb, rcond=None)[0]  # the best predictor is linear here
        empirical = np.mean(np.sum((Zb - Za @ B) ** 2, axis=1))
        assert empirical == pytest.approx(hg.optimal_predictive_risk(Sigma, C), rel=0.03)
    with pytest.raises(ValueError, match="not a valid cross-covariance"):
        hg.sample_coupled_views(Sigma, 2 * Sigma, 10, rng)
