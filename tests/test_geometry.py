"""Geometry diagnostics (analysis.geometry) against the check values of the SSL spec §6."""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from scipy.stats import ortho_group

from analysis import geometry as G
from analysis.spectra import effective_rank, participation_ratio

Z1 = np.array([[1, 0, 2], [0, 1, -1], [2, 1, 0], [-1, 2, 1]], float)
B = np.array([[1, 0], [0.8, 0.6], [0, 1], [0.6, 0.8], [-1, 0], [-0.8, -0.6]])
YB = np.array([0, 0, 1, 1, 2, 2])
C = np.array([[[0, 0], [2, 0], [0, 2]], [[0.2, 0], [2, 0.2], [0.2, 2.2]]])  # (V, N, D)


def test_fixture_a_metrics():
    assert G.rankme(Z1) == pytest.approx(2.985728, rel=1e-6)
    np.testing.assert_allclose(np.linalg.svd(Z1, compute_uv=False),
                               [2.722905, 2.449490, 2.141445], rtol=1e-6)
    lam = G.covariance_spectrum(Z1)
    np.testing.assert_allclose(lam, [2.064194, 1.666667, 0.2691392], rtol=1e-6)
    s = G.spectrum_summary(Z1)
    assert s["erank"] == pytest.approx(2.429687, rel=1e-6)
    assert s["pr"] == pytest.approx(2.25, rel=1e-12)
    assert s["lambda_max_frac"] == pytest.approx(0.5160485, rel=1e-6)
    assert G.feature_correlation(Z1) == pytest.approx(0.3162278, rel=1e-6)
    assert G.mean_pairwise_cosine(Z1) == pytest.approx(0.09250359, rel=1e-6)
    assert G.std_l2(Z1) == pytest.approx(0.5344282, rel=1e-6)


def test_rankme_limits():
    assert G.rankme(np.eye(3)) == pytest.approx(3.000000089, abs=1e-9)
    assert G.rankme(np.outer([1, 2, 3, 4], [1, 0.5, 2])) == pytest.approx(1.000003124, abs=1e-9)
    x = np.random.default_rng(0).standard_normal((100_000, 16))
    assert G.rankme(x) > 15.99
    m = G.collapse_monitor(x)
    assert m["erank"] > 15.99 and m["pr"] > 15.98 and not m["collapsed"]
    assert m["std_l2"] == pytest.approx(0.25, abs=1e-3)


def test_fixture_b_class_metrics():
    assert G.centroid_separation(B, YB) == pytest.approx(4 / 3, rel=1e-12)
    assert G.fisher_ratio(B, YB) == pytest.approx(8.0, rel=1e-12)
    assert G.intra_class_diversity(B, YB)["ratio"] == pytest.approx(0.4158050, rel=1e-6)
    assert G.local_purity(B, YB, k=1) == pytest.approx(2 / 3)
    assert G.local_purity(B, YB, k=2) == pytest.approx(1 / 2)
    assert G.mean_pairwise_cosine(B) == pytest.approx(-0.08, abs=1e-12)


def test_fixture_c_augmentation_diversity():
    out = G.augmentation_diversity(C)
    assert out["ratio"] == pytest.approx(0.05880959, rel=1e-6)
    assert out["radius"] == pytest.approx(0.1138071, rel=1e-6)
    assert out["nn_distance"] == pytest.approx(1.935180, rel=1e-6)


def test_spectrum_reuses_spectra_module_and_randomized_agrees():
    x = np.random.default_rng(1).standard_normal((300, 20)) @ np.diag(np.linspace(1, 3, 20))
    lam = G.covariance_spectrum(x)
    np.testing.assert_allclose(lam, np.sort(np.linalg.eigvalsh(np.cov(x, rowvar=False)))[::-1],
                               rtol=1e-10)
    s = G.spectrum_summary(x)
    assert s["erank"] == pytest.approx(effective_rank(lam))
    assert s["pr"] == pytest.approx(participation_ratio(lam))
    # randomized PCA (power iterations) approximates the top of the spectrum
    np.testing.assert_allclose(G.covariance_spectrum(x, top_k=5, method="randomized"), lam[:5],
                               rtol=1e-4)


def test_random_pair_cosines_and_histogram():
    x = np.random.default_rng(2).standard_normal((50, 8)) + 3.0   # a cone: high mean cosine
    c = G.random_pair_cosines(x, n_pairs=5000)
    assert c.shape == (5000,) and np.all(np.abs(c) <= 1 + 1e-12)
    assert abs(c.mean() - G.mean_pairwise_cosine(x)) < 0.02
    h = G.cosine_histogram(x, n_pairs=5000, bins=20)
    assert h["counts"].sum() == 5000 and h["mean"] > 0.7
    assert not np.any(np.isclose(c, 1.0))  # never a pair of a row with itself (rows distinct)


def test_collapse_monitor_flags_collapse():
    collapsed = np.tile([[1.0, 2.0, 3.0]], (10, 1))
    m = G.collapse_monitor(collapsed)
    assert m["collapsed"] and m["std_l2"] < 1e-12 and m["mean_cosine"] == pytest.approx(1.0)
    line = np.outer(np.linspace(-1, 1, 20), [1.0, 1.0, 0.0]) + 1e-9
    assert G.collapse_monitor(line)["collapsed"]        # dimensional collapse to one direction


def test_feature_norms():
    out = G.feature_norms(np.array([[3.0, 4.0], [0.0, 1.0]]))
    np.testing.assert_allclose(out["norms"], [5.0, 1.0])
    assert out["mean"] == 3.0


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="two classes"):
        G.fisher_ratio(B, np.zeros(6, int))
    with pytest.raises(ValueError, match="NaN"):
        G.rankme(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="k=6"):
        G.local_purity(B, YB, k=6)
    with pytest.raises(ValueError, match="method"):
        G.covariance_spectrum(Z1, method="lanczos")


@given(st.integers(0, 10_000))
def test_metrics_invariant_under_rotation(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((30, 5))
    y = np.repeat([0, 1, 2], 10)
    q = ortho_group.rvs(5, random_state=seed)
    assert G.rankme(x @ q) == pytest.approx(G.rankme(x), rel=1e-9)
    assert G.fisher_ratio(x @ q, y) == pytest.approx(G.fisher_ratio(x, y), rel=1e-9)
    assert G.mean_pairwise_cosine(x @ q) == pytest.approx(G.mean_pairwise_cosine(x), abs=1e-12)
    np.testing.assert_allclose(G.covariance_spectrum(x @ q), G.covariance_spectrum(x),
                               rtol=1e-9, atol=1e-12)
    # Fisher ratio is scale-invariant
    assert G.fisher_ratio(3.0 * x, y) == pytest.approx(G.fisher_ratio(x, y), rel=1e-9)
