"""HamSIGReg, HamJEPA and MLP-HJEPA: spec check values R1-R5, S1, I3 (hamiltonian_geometry.md
§7), dense-matrix references for the matrix-free H^{1/2}, symplecticity of the trained
predictor's map, and the structure of the loss (weights, stop-gradient, rows used)."""

import equinox as eqx
import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.special import erf

from minimal_models import symplectic
from minimal_models.objectives import normality as nm

hj = importlib.import_module("minimal_models.objectives.hamjepa")
hsr = importlib.import_module("minimal_models.objectives.hamsigreg")
# (importlib: the package may re-export the same-named functions)

KEY = jax.random.PRNGKey(0)


def centred_orthonormal(n, d, seed=0):
    """(n, d) with orthonormal columns orthogonal to the ones vector."""
    a = np.random.default_rng(seed).normal(size=(n, d))
    a -= a.mean(0)
    return np.linalg.qr(a)[0][:, :d]


def batch_with_covariance(eigs, n=64, seed=0):
    """Rows whose (N - 1) sample covariance is exactly diag(eigs)."""
    u = centred_orthonormal(n, len(eigs), seed) * np.sqrt(n - 1)
    return u * np.sqrt(np.asarray(eigs))


def phase_views(n_views=2, n=6, d0=8, seed=0):
    rng = np.random.default_rng(seed)
    return (jnp.asarray(rng.normal(size=(n_views, n, d0))),
            jnp.asarray(rng.normal(size=(n_views, n, d0))))


# ----------------------------------------------------------------------------- regularisers

def test_R1_variance_floor():
    x = np.tile(np.array([[0.1], [-0.1]]), (4, 5))       # biased sd exactly 0.1
    assert float(hj.variance_floor(x)) == pytest.approx(0.0099004975, abs=5e-11)
    assert float(hj.variance_floor(np.ones((8, 5)))) == pytest.approx(0.0361, rel=1e-12)


@pytest.mark.parametrize("s2, ell, loss", [(1.0, 9.9995e-5, 0.0),
                                           (np.exp(-2.0), -1.9992613672, 0.2492619128)])
@pytest.mark.parametrize("seed", [1, 2])
def test_R2_logdet_floor_isotropic(s2, ell, loss, seed):
    x = batch_with_covariance(np.full(32, s2), n=64)
    r = hj.orthonormal_projection(jax.random.PRNGKey(seed), 32, 32, jnp.float64)
    value, st = hj.projected_logdet_floor(x, r, tau=-1.5, prn_floor=0.12, fmax_ceil=0.35)
    assert float(st["ell"]) == pytest.approx(ell, rel=1e-6)
    assert float(st["prn"]) == pytest.approx(1.0, rel=1e-9)      # PR = 32 = k
    assert float(st["fmax"]) == pytest.approx(1 / 32, rel=1e-9)
    assert float(value) == pytest.approx(loss, rel=1e-9, abs=1e-15)


def test_R3_rank_one_line():
    a = np.random.default_rng(0).normal(size=(512, 1))
    x = a * 0.3 * np.ones((1, 128))
    assert float(hj.variance_floor(x, floor=0.1)) == 0.0
    r = np.asarray(hj.orthonormal_projection(jax.random.PRNGKey(3), 128, 32, jnp.float64))
    value, st = hj.projected_logdet_floor(x, r, tau=-2.0)
    lam1 = np.var(a, ddof=1) * 0.09 * np.sum((np.ones(128) @ r) ** 2)
    ell = (31 / 32) * np.log(1e-4) + np.log(lam1 + 1e-4) / 32
    assert float(st["ell"]) == pytest.approx(ell, rel=1e-9)
    assert float(value) == pytest.approx((-2.0 - ell) ** 2, rel=1e-9)
    assert 45 < float(value) < 50                                  # spec: about 47.6


def test_R4_budget():
    assert float(hj.energy_budget(np.ones((3, 4)), 2 * np.ones((3, 4)))) == 9.0


def test_R5_spectral_bounds_hold_for_the_floor_statistics():
    """Prop 4.13 / Thm 4.14 / Cor 4.15 in terms of the floor's (ell, PR, tr) on random batches."""
    rng = np.random.default_rng(5)
    k = 6
    eye = np.eye(k)
    for _ in range(200):
        eigs = np.exp(rng.uniform(-3, 2, size=k))
        x = batch_with_covariance(eigs, n=20, seed=int(rng.integers(1 << 30)))
        _, st = hj.projected_logdet_floor(x, eye, tau=0.0, eps=0.0)
        ell, pr = float(st["ell"]), float(st["prn"]) * k
        cov = np.diag(eigs)
        c = np.trace(cov)
        lmin, lmax = eigs.min(), eigs.max()
        tol = 1 + 1e-9
        assert lmin * tol >= np.exp(k * ell) * (k - 1) ** (k - 1) / c ** (k - 1)   # Prop 4.13
        assert lmax <= c / np.sqrt(pr) * tol                                      # Thm 4.14
        assert lmin * tol >= np.exp(k * ell) * (np.sqrt(pr) / c) ** (k - 1)
        assert lmax / lmin <= np.exp(-k * ell) * (c / np.sqrt(pr)) ** k * tol     # Cor 4.15


def test_R5_spike_passes_a_logdet_floor():
    k, e = 8, 0.1
    eigs = np.array([np.exp(0.0) * e ** (-(k - 1))] + [e] * (k - 1))
    x = batch_with_covariance(eigs, n=40)
    _, st = hj.projected_logdet_floor(x, np.eye(k), tau=0.0, eps=0.0)
    assert float(st["ell"]) == pytest.approx(0.0, abs=1e-9)
    assert float(st["prn"]) * k == pytest.approx(1.0, abs=1e-6)


def test_S1_residual_scale_warmup():
    got = [float(hj.residual_scale_schedule(e)) for e in range(1, 15)]
    want = [0.002 * e if e <= 10 else 0.02 for e in range(1, 15)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert float(hj.residual_scale_schedule(3, warmup_epochs=0)) == 0.02
    # the trainer's continuous form: a float32 step clock and a non-integer warm-up length
    s = hj.residual_scale_schedule(jnp.float32(5.0), warmup_epochs=12.5)
    assert s.dtype == jnp.float32 and float(s) == pytest.approx(0.02 * 5 / 12.5, rel=1e-6)
    with pytest.raises(ValueError, match="warmup_epochs"):
        hj.residual_scale_schedule(1, warmup_epochs=-1)


def test_mean_penalty():
    z = np.array([[1.0, 2.0], [3.0, -2.0]])
    assert float(hj.mean_penalty(z)) == pytest.approx((2.0**2 + 0.0) / 2)


def test_projection_key_refreshes_every_16_steps():
    r = [hj.orthonormal_projection(hj.projection_key(KEY, s), 10, 3) for s in (0, 15, 16)]
    np.testing.assert_array_equal(r[0], r[1])
    assert not np.allclose(r[0], r[2])
    np.testing.assert_allclose(r[0].T @ r[0], np.eye(3), atol=1e-6)


# ----------------------------------------------------------------------------- HamSIGReg

def dense_sqrt_h(kind, d, *, kappa=1.0, eps=1e-3, beta=1.0, normalize="trace", h=None, w=None,
                 d_f=None):
    if kind == "diag":
        v = np.linspace(1, 2, d)
        return np.diag(np.sqrt(v / np.exp(np.mean(np.log(v)))))
    if kind == "chain":
        lap = 2 * np.eye(d) - np.roll(np.eye(d), 1, 0) - np.roll(np.eye(d), -1, 0)
        half = kappa * (2 - 2 * np.cos(2 * np.pi * np.arange(d // 2 + 1) / d)) + eps
        H = kappa * lap + eps * np.eye(d)
    else:
        def ring(n):
            return 2 * np.eye(n) - np.roll(np.eye(n), 1, 0) - np.roll(np.eye(n), -1, 0)
        grid = np.kron(ring(h), np.eye(w)) + np.kron(np.eye(h), ring(w))
        H = np.kron(kappa * grid + eps * np.eye(h * w), np.eye(d_f))
        half = np.linalg.eigvalsh(kappa * grid + eps * np.eye(h * w))
    scale = half.mean() if normalize == "trace" else np.exp(np.mean(np.log(half)))
    H = (1 - beta) * np.eye(d) + beta * H / scale
    lam, vec = np.linalg.eigh(H)
    return vec @ np.diag(np.sqrt(lam)) @ vec.T


@pytest.mark.parametrize("kind, kw", [
    ("diag", {}),
    ("chain", {}),
    ("chain", dict(d=7, beta=0.6, normalize="geometric", kappa=2.0, eps=0.05)),
    ("grid_chain", dict(h=3, w=4, d_f=2, d=24)),
    ("grid_chain", dict(h=2, w=3, d_f=1, d=6, beta=0.5, normalize="geometric")),
])
def test_sqrt_h_matches_dense_matrix(kind, kw):
    kw = dict(kw)
    d = kw.pop("d", 8)
    z = np.random.default_rng(0).normal(size=(5, d))
    got = np.asarray(hsr.apply_sqrt_h(z, kind, **kw))
    np.testing.assert_allclose(got, z @ dense_sqrt_h(kind, d, **kw), atol=1e-12)


def test_ham_sigreg_is_sigreg_of_whitened_embeddings():
    rng = np.random.default_rng(1)
    z, a = rng.normal(size=(30, 8)), rng.normal(size=(8, 5))
    for kind in ("identity", "diag", "chain"):
        ref = float(nm.sigreg(z @ (np.eye(8) if kind == "identity" else
                                   dense_sqrt_h(kind, 8)), a))
        assert float(hsr.ham_sigreg(z, a, kind=kind)) == pytest.approx(ref, rel=1e-10)
    views = np.stack([z, 2 * z])
    mean = 0.5 * (float(hsr.ham_sigreg(z, a)) + float(hsr.ham_sigreg(2 * z, a)))
    assert float(hsr.ham_sigreg(views, a)) == pytest.approx(mean, rel=1e-12)


def test_ham_sigreg_loss_reduces_to_lejepa_for_identity():
    views = np.random.default_rng(2).normal(size=(2, 10, 6))
    a = np.random.default_rng(3).normal(size=(6, 4))
    for comp in ("hamjepa", "convex"):
        got, logs = hsr.ham_sigreg_loss(views, a, kind="identity", composition=comp)
        want, wlogs = nm.lejepa(views, a, composition=comp)
        assert float(got) == pytest.approx(float(want), rel=1e-12)
        assert float(logs["ham_sigreg"]) == pytest.approx(float(wlogs["sigreg"]), rel=1e-12)
    _, logs = hsr.ham_sigreg_loss(views, a)          # chain H: a different regulariser value
    assert float(logs["ham_sigreg"]) == pytest.approx(
        float(nm.sigreg_views(views @ dense_sqrt_h("chain", 6), a)), rel=1e-10)


def test_ham_sigreg_bad_options():
    with pytest.raises(ValueError, match="kind"):
        hsr.apply_sqrt_h(np.ones((2, 4)), "learnable")
    with pytest.raises(ValueError, match="h\\*w\\*d_f"):
        hsr.apply_sqrt_h(np.ones((2, 8)), "grid_chain", h=2, w=2, d_f=3)
    with pytest.raises(ValueError, match="beta"):
        hsr.apply_sqrt_h(np.ones((2, 8)), "chain", beta=1.5)


# ----------------------------------------------------------------------------- predictor

def test_split_qp_token_protocol():
    t = np.arange(2 * 3 * 3 * 4, dtype=float).reshape(2, 3, 3, 4)   # (B, h, w, d_f)
    q, p = hj.split_qp(t)
    np.testing.assert_array_equal(q, t[..., :2].reshape(2, -1))
    np.testing.assert_array_equal(p, t[..., 2:].reshape(2, -1))
    q2, _ = hj.split_qp(np.stack([t, t]), batch_ndim=2)
    assert q2.shape == (2, 2, 18)
    with pytest.raises(ValueError, match="even"):
        hj.split_qp(np.ones((2, 3, 3)))


@pytest.mark.slow
def test_potential_uses_exact_gelu_and_base_term():
    m = hj.init_hamjepa(KEY, dim=4, hidden=8, dtype=jnp.float64)
    q = np.random.default_rng(0).normal(size=(3, 4))
    x = q
    for i, layer in enumerate(m.mlp.layers):
        x = x @ np.asarray(layer.weight).T + np.asarray(layer.bias)
        if i < len(m.mlp.layers) - 1:
            x = 0.5 * x * (1 + erf(x / np.sqrt(2)))
    want = 0.5 * 0.1 * np.sum(q**2, axis=1) + 0.02 * x.reshape(-1)
    np.testing.assert_allclose(hj.potential(m, q), want, rtol=1e-12)
    assert len(m.mlp.layers) == 3 and m.mlp.layers[0].weight.shape == (8, 4)


@pytest.mark.slow
def test_I3_quadratic_predictor_matrix():
    """s = 0 (b = 0.1, dt = 0.05, K = 2): per coordinate the map is M^2 of the spec."""
    m = hj.init_hamjepa(KEY, dim=3, hidden=4, dtype=jnp.float64)
    q, p = np.random.default_rng(2).normal(size=(2, 5, 3))
    qh, ph = hj.hamjepa_predict(m, q, p, residual_scale=0.0)
    m2 = np.array([[0.99950003125, 0.0999875], [-0.009998125078125, 0.99950003125]])
    np.testing.assert_allclose(qh, m2[0, 0] * q + m2[0, 1] * p, atol=1e-14)
    np.testing.assert_allclose(ph, m2[1, 0] * q + m2[1, 1] * p, atol=1e-14)
    qb, pb = hj.hamjepa_predict(m, q, p, residual_scale=0.0, base_coeff=0.0)   # the loophole
    np.testing.assert_allclose(qb, q + 0.1 * p, atol=1e-14)
    np.testing.assert_allclose(pb, p, atol=1e-14)


@pytest.mark.slow
def test_I1_trained_predictor_is_symplectic_and_reversible():
    m = hj.init_hamjepa(KEY, dim=4, hidden=16, dtype=jnp.float64)
    s0 = np.random.default_rng(3).normal(size=8)

    @jax.jit
    def phi(s, dt):   # dt traced: one compilation for every step size
        qh, ph = hj.hamjepa_predict(m, s[None, :4], s[None, 4:], dt=dt)
        return jnp.concatenate([qh[0], ph[0]])

    jac = jax.jit(jax.jacfwd(phi))
    for dt in (0.05, 0.5):
        dt = jnp.asarray(dt)
        A = np.asarray(jac(jnp.asarray(s0), dt))
        assert symplectic.symplecticity_defect(A) <= 1e-13
        assert abs(symplectic.logabsdet(A)) <= 1e-13
        back = phi(phi(jnp.asarray(s0), dt), -dt)
        np.testing.assert_allclose(back, s0, atol=1e-13)


@eqx.filter_jit
def _jacobian(module, s, dt):
    def phi(x):
        qh, ph = hj.hamjepa_predict(module, x[None, :3], x[None, 3:], dt=dt)
        return jnp.concatenate([qh[0], ph[0]])
    return jax.jacfwd(phi)(s)


@settings(max_examples=20)
@given(seed=st.integers(0, 2**31 - 1), dt=st.floats(-0.5, 0.5))
def test_predictor_jacobian_is_symplectic_for_any_potential(seed, dt):
    """Thm 4.4 / Cor 4.5 / Lemma 4.7 for random f_phi, states and step sizes."""
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    m = hj.init_hamjepa(k1, dim=3, hidden=8, dtype=jnp.float64)
    s = jax.random.normal(k2, (6,), jnp.float64)
    A = np.asarray(_jacobian(m, s, jnp.asarray(dt)))
    assert symplectic.symplecticity_defect(A) <= 1e-12
    assert abs(symplectic.logabsdet(A)) <= 1e-12
    assert symplectic.sv_pairing_error(A) <= 1e-9


@eqx.filter_jit
def _loss_and_permuted(module, q, p, perm):
    a = hj.hamjepa(module, q, p, key=KEY)[0]
    return a, hj.hamjepa(module, q[:, perm], p[:, perm], key=KEY)[0]


@pytest.mark.slow
@settings(max_examples=10)
@given(seed=st.integers(0, 2**31 - 1))
def test_hamjepa_is_invariant_to_relabelling_images(seed):
    m = hj.init_hamjepa(KEY, dim=8, hidden=8, dtype=jnp.float64)
    q, p = phase_views(seed=seed)
    perm = jnp.asarray(np.random.default_rng(seed).permutation(q.shape[1]))
    a, b = _loss_and_permuted(m, q, p, perm)
    assert float(b) == pytest.approx(float(a), rel=1e-10)


# ----------------------------------------------------------------------------- HamJEPA loss

@pytest.mark.slow
def test_prediction_term_closed_form_at_zero_residual():
    m = hj.init_hamjepa(KEY, dim=8, hidden=8, dtype=jnp.float64)
    q, p = (np.asarray(a) for a in phase_views())
    _, logs = hj.hamjepa(m, q, p, residual_scale=0.0, lam_logdet=0.0)
    a, b, c = 0.99950003125, 0.0999875, -0.009998125078125
    qh, ph = a * q[0] + b * p[0], c * q[0] + a * p[0]            # +dt
    qr, pr = a * q[1] - b * p[1], -c * q[1] + a * p[1]           # -dt: inverse of M^2
    l_ab = np.mean((qh - q[1]) ** 2) + 0.2 * np.mean((ph - p[1]) ** 2)
    l_ba = np.mean((qr - q[0]) ** 2) + 0.2 * np.mean((pr - p[0]) ** 2)
    assert float(logs["pred"]) == pytest.approx(0.5 * (l_ab + l_ba), rel=1e-12)
    _, logs_z = hj.hamjepa(m, q, p, residual_scale=0.0, lam_logdet=0.0, match="z",
                           reverse_dt_sign=1, bidirectional=False)
    want = 0.5 * (np.mean((qh - q[1]) ** 2) + np.mean((ph - p[1]) ** 2))
    assert float(logs_z["pred"]) == pytest.approx(want, rel=1e-12)


@pytest.mark.slow
def test_total_is_the_weighted_sum_and_regularisers_use_all_rows():
    m = hj.init_hamjepa(KEY, dim=8, hidden=8, dtype=jnp.float64)
    q, p = phase_views(n_views=3)
    loss, logs = hj.hamjepa(m, q, p, key=KEY)
    total = (logs["pred"] + 0.2 * logs["budget"] + 0.5 * logs["var"] + 0.5 * logs["logdet"]
             + 0.05 * logs["mean"])
    assert float(loss) == pytest.approx(float(total), rel=1e-12)
    q_all, p_all = np.reshape(q, (-1, 8)), np.reshape(p, (-1, 8))
    assert float(logs["budget"]) == pytest.approx(
        float(hj.energy_budget(q_all, p_all)), rel=1e-12)
    # the third view changes the regularisers, not the prediction pair
    q3 = q.at[2].multiply(3.0)
    _, logs3 = hj.hamjepa(m, q3, p, key=KEY)
    assert float(logs3["pred"]) == float(logs["pred"])
    assert float(logs3["budget"]) != float(logs["budget"])


@pytest.mark.slow
def test_targets_are_detached_and_f_phi_is_trained():
    m = hj.init_hamjepa(KEY, dim=8, hidden=8, dtype=jnp.float64)
    q, p = phase_views()
    zero_reg = dict(lam_budget=0.0, lam_var=0.0, lam_logdet=0.0, lam_mean=0.0,
                    bidirectional=False)

    @eqx.filter_jit
    def grads(args, s):   # s traced: one compilation serves both residual scales
        return eqx.filter_grad(lambda a: hj.hamjepa(*a, residual_scale=s, **zero_reg)[0])(args)

    gm, gq, gp = grads((m, q, p), jnp.asarray(0.02))
    assert float(jnp.max(jnp.abs(gq[1]))) == 0.0 and float(jnp.max(jnp.abs(gp[1]))) == 0.0
    assert float(jnp.max(jnp.abs(gq[0]))) > 0.0
    assert float(jnp.max(jnp.abs(gm.mlp.layers[0].weight))) > 0.0   # second-order path
    gm0, _, _ = grads((m, q, p), jnp.asarray(0.0))
    assert float(jnp.max(jnp.abs(gm0.mlp.layers[0].weight))) == 0.0


@pytest.mark.slow
def test_imagenet_preset_uses_plus_dt_both_ways_and_var_on_q():
    m = hj.init_hamjepa(KEY, dim=8, hidden=8, dtype=jnp.float64)
    q, p = phase_views()
    preset = {**hj.HAMJEPA_PRESETS["imagenet"], "lam_logdet": 0.0}
    _, a = hj.hamjepa(m, q, p, **preset)
    _, b = hj.hamjepa(m, q, p, **{**preset, "reverse_dt_sign": -1})
    assert float(a["pred_ab"]) == float(b["pred_ab"])
    assert float(a["pred_ba"]) != float(b["pred_ba"])
    assert float(a["var"]) == float(a["var_q"])


@pytest.mark.slow
def test_presets_run_with_all_terms():
    m = hj.init_hamjepa(KEY, dim=8, hidden=8, dtype=jnp.float64)
    q, p = phase_views()
    for preset in hj.HAMJEPA_PRESETS.values():
        loss, logs = hj.hamjepa(m, q, p, key=KEY, **preset)
        assert np.isfinite(float(loss)) and float(logs["logdet"]) >= 0


@pytest.mark.slow
def test_explicit_projections_equal_keyed_draw():
    m = hj.init_hamjepa(KEY, dim=8, hidden=8, dtype=jnp.float64)
    q, p = phase_views()
    kq, kp = jax.random.split(KEY)
    k = min(128, 8, 11)
    rs = (hj.orthonormal_projection(kq, 8, k, jnp.float64),
          hj.orthonormal_projection(kp, 8, k, jnp.float64))
    assert float(hj.hamjepa(m, q, p, key=KEY)[0]) == float(hj.hamjepa(m, q, p,
                                                                      projections=rs)[0])


def _all_finite(tree):
    return all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(eqx.filter(tree,
                                                                                 eqx.is_array)))


@pytest.mark.slow
def test_finite_gradients_on_degenerate_batches():
    m = hj.init_hamjepa(KEY, dim=8, hidden=8, dtype=jnp.float64)
    mm = hj.init_mlp_hjepa(KEY, dim=16, hidden=8, dtype=jnp.float64)
    g_ham = eqx.filter_jit(eqx.filter_grad(
        lambda a: hj.hamjepa(*a, key=KEY, fmax_ceil=(0.0, 0.0))[0]))
    # the regularisers are shared code, exercised above through hamjepa
    g_mlp = eqx.filter_jit(eqx.filter_grad(lambda a: hj.mlp_hjepa(*a, lam_logdet=0.0)[0]))
    for q, p in ((jnp.ones((2, 6, 8)), jnp.ones((2, 6, 8))),
                 (jnp.zeros((2, 6, 8)), jnp.zeros((2, 6, 8)))):
        assert _all_finite(g_ham((m, q, p)))
        assert _all_finite(g_mlp((mm, q, p)))


@pytest.mark.slow
def test_mlp_hjepa_predictor_forms():
    q, p = (np.asarray(a[0]) for a in phase_views(d0=4))
    mm = hj.init_mlp_hjepa(KEY, dim=8, hidden=8, dtype=jnp.float64)
    g = jax.vmap(mm.forward)
    z = np.concatenate([q, p], axis=1)
    z1 = z + 0.05 * np.asarray(g(z))
    z2 = z1 + 0.05 * np.asarray(g(z1))
    qh, ph = hj.mlp_hjepa_predict(mm, q, p)
    np.testing.assert_allclose(np.concatenate([qh, ph], 1), z2, rtol=1e-12)
    qb, pb = hj.mlp_hjepa_predict(mm, q, p, direction=-1, n_steps=1)
    np.testing.assert_allclose(np.concatenate([qb, pb], 1), z - 0.05 * np.asarray(g(z)),
                               rtol=1e-12)
    qr, pr = hj.mlp_hjepa_predict(mm, q, p, form="plain_residual")
    np.testing.assert_allclose(np.concatenate([qr, pr], 1), z + np.asarray(g(z)), rtol=1e-12)
    sep = hj.init_mlp_hjepa(KEY, dim=8, hidden=8, reverse="separate_head", dtype=jnp.float64)
    qs, ps = hj.mlp_hjepa_predict(sep, q, p, direction=-1, n_steps=1)
    np.testing.assert_allclose(np.concatenate([qs, ps], 1),
                               z + 0.05 * np.asarray(jax.vmap(sep.backward)(z)), rtol=1e-12)
    loss, logs = hj.mlp_hjepa(mm, *phase_views(d0=4), lam_logdet=0.0)
    assert np.isfinite(float(loss)) and "pred_ba" in logs


@pytest.mark.slow
def test_bad_arguments_raise():
    m = hj.init_hamjepa(KEY, dim=8, hidden=8, dtype=jnp.float64)
    q, p = phase_views()
    with pytest.raises(ValueError, match="match"):
        hj.hamjepa(m, q, p, key=KEY, match="p")
    with pytest.raises(ValueError, match="reverse_dt_sign"):
        hj.hamjepa(m, q, p, key=KEY, reverse_dt_sign=0)
    with pytest.raises(ValueError, match="key"):
        hj.hamjepa(m, q, p)
    with pytest.raises(ValueError, match="V >= 2"):
        hj.hamjepa(m, q[:1], p[:1], key=KEY)
    with pytest.raises(ValueError, match="unknown keywords"):
        hj.mlp_hjepa(hj.init_mlp_hjepa(KEY, dim=16), q, p, key=KEY, dtt=0.1)


# ----------------------------------------------------------------------- defaults, presets

def test_cifar_preset_is_the_functions_default_and_mlp_hjepa_shares_the_loss_keywords():
    import inspect

    sig = {n: p.default for n, p in inspect.signature(hj.hamjepa).parameters.items()}
    for k, v in hj.HAMJEPA_PRESETS["cifar"].items():
        assert sig[k] == v, k
    # MLP-HJEPA takes exactly HamJEPA's loss keywords (not the leapfrog's)
    assert set(hj.PHASE_SPACE_DEFAULTS) == set(sig) - {"module", "q", "p", "dt", "n_steps",
                                                        "base_coeff", "residual_scale"}
    assert all(hj.PHASE_SPACE_DEFAULTS[k] == sig[k] for k in hj.PHASE_SPACE_DEFAULTS)
    assert hj.projection_key.__kwdefaults__["refresh"] == hj.LOGDET_REFRESH == 16


def test_preset_by_name():
    got = hj.hamjepa_preset("imagenet")
    assert got == hj.HAMJEPA_PRESETS["imagenet"] and got is not hj.HAMJEPA_PRESETS["imagenet"]
    with pytest.raises(ValueError, match="preset='tiny'"):
        hj.hamjepa_preset("tiny")


@pytest.mark.slow
@pytest.mark.parametrize("bidirectional", [True, False])
def test_energy_term_averages_both_directions(bidirectional):
    """With energy_weight w the loss gains w * 1/2 (e_ab + e_ba) (bidirectional, as the
    author's code) or w * e_ab, e_xy = mean (H(Phi(s_x)) - H(s_x))^2 with the prediction of each direction."""
    m = hj.init_hamjepa(KEY, dim=8, hidden=8, dtype=jnp.float64)
    q, p = phase_views()
    # a coarse step (dt = 0.8) so that leapfrog's energy error is far from round-off
    kw = dict(lam_logdet=0.0, residual_scale=0.3, bidirectional=bidirectional, dt=0.8)
    base, _ = hj.hamjepa(m, q, p, **kw)
    loss, logs = hj.hamjepa(m, q, p, energy_weight=0.7, **kw)

    def energy(q_, p_):
        return 0.5 * jnp.sum(p_ * p_, -1) + hj.potential(m, q_, residual_scale=0.3)

    def drift(qs, ps, dt):
        qh, ph = hj.hamjepa_predict(m, qs, ps, dt=dt, residual_scale=0.3)
        return float(jnp.mean((energy(qh, ph) - energy(qs, ps)) ** 2))

    e_ab, e_ba = drift(q[0], p[0], 0.8), drift(q[1], p[1], -0.8)
    assert e_ab > 1e-6 and e_ba > 1e-6 and abs(e_ab - e_ba) > 0.1 * e_ab  # tell them apart
    want = 0.5 * (e_ab + e_ba) if bidirectional else e_ab
    assert float(logs["energy"]) == pytest.approx(want, rel=1e-12, abs=0)
    assert float(loss - base) == pytest.approx(0.7 * want, rel=1e-9, abs=0)
