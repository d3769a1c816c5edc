"""Type closure of Model B (spec §3.6, RECONSTRUCTION): exact at finite N from the empirical
type moments; the large-N form approaches the full model as n grows."""

import numpy as np
import pytest

from minimal_models import coupling
from minimal_models import meanfield as MF
from minimal_models import stopgrad as B
from simulations.flows import stopgrad as sgf

TS = np.array([0.0, 0.3, 1.0, 3.0, 10.0])


def problem(K=3, n=8, d=3, p=0.25, kind="hard", seed=0):
    A = coupling.coupling_matrix(K, n, p, seed=seed, kind=kind, q=0.3)
    classes = coupling.sample_classes(K, n)
    partner = coupling.partner_labels(A, classes)
    Z0 = coupling.initial_state(K, n, d, seed=seed + 1)
    return A, classes, partner, Z0[:K * n], Z0[K * n:]


def type_covariances(X, st):
    xbar = MF.type_means(X, st)
    dev = X - xbar[..., st.sample_type, :]
    onehot = st.sample_type[:, None] == np.arange(st.n_types)[None, :]
    return np.einsum("it,...id,...ie->...tde", onehot / st.counts, dev, dev)


@pytest.mark.parametrize("alpha,kind", [(1.0, "hard"), (0.0, "hard"), (0.5, "hard"),
                                        (1.0, "soft")])
def test_exact_closure_equals_type_averaged_simulation(alpha, kind):
    A, classes, partner, X0, Y0 = problem(kind=kind)
    d = X0.shape[1]
    W0 = np.eye(d) + 0.2 * np.random.default_rng(4).standard_normal((d, d))
    rates = dict(eta_x=1.3, eta_y=0.8, eta_W=1.1, nu=0.5)
    sim = sgf.simulate(A, X0, Y0, W0, TS, alpha=alpha, rtol=1e-11, atol=1e-13, **rates)
    st, s0 = MF.empirical_init(X0, A, classes, partner)
    assert st.counts.sum() == len(X0) and np.all(st.counts >= 1)
    s0.update(Y=Y0, W=W0)
    mf = MF.simulate_closure(st, s0, TS, alpha=alpha, rtol=1e-11, atol=1e-13, **rates)
    assert sim["result"] == 0 and mf["result"] == 0
    assert np.abs(MF.type_means(sim["X"], st) - mf["xbar"]).max() <= 1e-8
    assert np.abs(type_covariances(sim["X"], st) - mf["Sigma"]).max() <= 1e-8
    assert np.abs(sim["Y"] - mf["Y"]).max() <= 1e-8
    assert np.abs(sim["W"] - mf["W"]).max() <= 1e-8
    # the closure's (C, S) are the full model's order parameters
    C, S = MF.closure_order_parameters(st.arrays(), {k: mf[k][-1] for k in ("xbar", "Sigma", "Y")})
    C_full, S_full = B.order_parameters(A, sim["X"][-1], sim["Y"][-1])
    np.testing.assert_allclose(C, C_full, atol=1e-8)
    np.testing.assert_allclose(S, S_full, atol=1e-8)
    # and the dynamics did something (not a trivially static check)
    assert np.abs(mf["Y"][-1] - Y0).max() > 0.1


def test_types_are_ordered_primary_partner_pairs():
    A, classes, partner, X0, _ = problem(K=3, n=10, p=0.3)
    st = MF.type_structure(A, classes, partner)
    keys = set(zip(st.primary.tolist(), st.partner.tolist()))
    assert len(keys) == st.n_types  # (a -> b) and (b -> a) are distinct types
    for t in range(st.n_types):
        members = st.sample_type == t
        assert np.all(classes[members] == st.primary[t])
        assert np.all(A[members] == st.rows[t])
    assert st.counts.sum() == 30


def test_population_init():
    mu = np.arange(6.0).reshape(3, 2)
    pi = MF.uniform_type_proportions(3, 0.3)
    assert pi.sum() == pytest.approx(1.0) and pi[0, 0] == pytest.approx(0.7 / 3)
    st, s0 = MF.population_init(mu, 0.5, pi, n_samples=300)
    assert st.n_types == 9 and st.counts.sum() == pytest.approx(300)
    np.testing.assert_array_equal(st.group_degree, [1.0, 2.0])  # one covariance per degree
    np.testing.assert_allclose(s0["Sigma"], np.stack([0.25 * np.eye(2)] * 2))
    np.testing.assert_allclose(s0["xbar"], mu[st.primary])
    st_soft, s_soft = MF.population_init(mu, 0.5, pi, n_samples=300, kind="soft", q=0.2)
    assert len(st_soft.group_degree) == 1 and s_soft["Sigma"].shape == (1, 2, 2)


def test_large_n_closure_error_shrinks_with_n():
    """Large-N form (x̄_tau(0) = mu_primary, Sigma_g(0) = sigma^2 I) vs the full model started
    from a sample of that population: the label error shrinks ~ n^{-1/2} (measured slope
    -0.5 to -0.7 over n = 10..160, three seeds)."""
    K, d, p, ts = 3, 3, 0.2, np.array([0.0, 1.0, 3.0, 10.0])
    ns, errors = (10, 40, 160), []
    for n in ns:
        errs = []
        for seed in range(3):
            A = coupling.coupling_matrix(K, n, p, seed=seed)
            classes = coupling.sample_classes(K, n)
            partner = coupling.partner_labels(A, classes)
            rng = np.random.default_rng(100 + seed)
            mu = rng.standard_normal((K, d))
            X0 = mu[classes] + 0.3 * rng.standard_normal((K * n, d))
            Y0 = 0.1 * rng.standard_normal((K, d))
            rates = dict(eta_x=float(n), eta_y=1.0, eta_W=1.0, nu=1.0 / n)  # balanced preset
            sim = sgf.simulate(A, X0, Y0, np.eye(d), ts, **rates)
            st, s0 = MF.population_init(mu, 0.3, MF.type_proportions(A, classes, partner),
                                        n_samples=K * n)
            s0.update(Y=Y0, W=np.eye(d))
            mf = MF.simulate_closure(st, s0, ts, **rates)
            errs.append(np.abs(sim["Y"] - mf["Y"]).max())
        errors.append(np.mean(errs))
    slope = np.polyfit(np.log(ns), np.log(errors), 1)[0]
    assert errors[0] > errors[1] > errors[2]
    assert -0.9 < slope < -0.35, (slope, errors)
