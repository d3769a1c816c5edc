"""VICReg, Barlow Twins, SimSiam, BYOL, NT-Xent, MMCR, MCR^2, KoLeo: fixture A and the limits of
ssl_objectives_and_metrics.md §6, numpy reference implementations, invariances and finite
gradients on degenerate batches."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from minimal_models.objectives import coding_rate as cr
from minimal_models.objectives import contrastive as ct
from minimal_models.objectives import predictive as pr
from minimal_models.objectives import redundancy as rd
from minimal_models.objectives import uniformity as un

Z1 = np.array([[1, 0, 2], [0, 1, -1], [2, 1, 0], [-1, 2, 1]], float)
Z2 = np.array([[1, 1, 2], [0, 0, -1], [3, 1, 1], [-1, 2, 0]], float)
W = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float)


def val(x):
    return float(x)


# ----------------------------------------------------------------------------- fixture A

def test_vicreg_fixture_A():
    loss, logs = rd.vicreg(Z1, Z2)
    assert val(logs["inv"]) == pytest.approx(5 / 12, rel=1e-12)
    assert val(logs["var"]) == pytest.approx(0.06114739, rel=1e-6)
    assert val(logs["cov"]) == pytest.approx(1.425926, rel=1e-6)
    assert val(loss) == pytest.approx(13.37128, rel=1e-6)
    loss_s, logs_s = rd.vicreg(Z1, Z2, var_convention="solo")
    assert val(logs_s["var"]) == pytest.approx(0.1222948, rel=1e-6)
    assert val(loss_s) == pytest.approx(14.89996, rel=1e-6)
    assert val(rd.vicreg(0.1 * Z1, 0.1 * Z2)[0]) == pytest.approx(22.08742, rel=1e-6)
    assert val(rd.vicreg(0.1 * Z1, 0.1 * Z2, var_convention="solo")[0]) == \
        pytest.approx(44.07053, rel=1e-6)


def test_barlow_fixture_A():
    loss, logs = rd.barlow_twins(Z1, Z2)
    assert val(logs["on_diag"]) == pytest.approx(0.2903118, rel=1e-6)
    assert val(logs["off_diag"]) == pytest.approx(1.494249, rel=1e-6)
    assert val(loss) == pytest.approx(0.2979325, rel=1e-6)
    assert val(rd.barlow_twins(Z1, Z2, lam=5e-3, scale=0.025)[0]) == \
        pytest.approx(0.007444576, rel=1e-6)


def test_simsiam_byol_fixture_A():
    loss, logs = pr.simsiam(Z1, Z2, Z1, Z2)
    assert val(loss) == pytest.approx(-0.8691821, rel=1e-6)
    cos = np.sum(Z1 * Z2, 1) / np.linalg.norm(Z1, axis=1) / np.linalg.norm(Z2, axis=1)
    np.testing.assert_allclose(cos, [0.9128709, 0.7071068, 0.9438798, 0.9128709], rtol=1e-6)
    assert val(pr.byol(Z1, Z2, Z1, Z2)[0]) == pytest.approx(0.5232716, rel=1e-6)
    assert val(pr.byol(Z1, Z2, Z1, Z2, form="negcos")[0]) == pytest.approx(-0.8691821, rel=1e-6)


@pytest.mark.parametrize("tau, official, lib", [(0.1, 0.2468687, 0.1234343),
                                                (0.5, 1.843228, 0.9216140)])
def test_nt_xent_fixture_A(tau, official, lib):
    assert val(ct.nt_xent(Z1, Z2, temperature=tau)[0]) == pytest.approx(official, rel=1e-6)
    assert val(ct.nt_xent(Z1, Z2, temperature=tau, reduction="mean")[0]) == \
        pytest.approx(lib, rel=1e-6)


def test_nt_xent_against_numpy_loop():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    h = np.concatenate([a / np.linalg.norm(a, axis=1, keepdims=True),
                        b / np.linalg.norm(b, axis=1, keepdims=True)])
    tau, n = 0.3, 5
    total = 0.0
    for i in range(2 * n):
        pos = (i + n) % (2 * n)
        logits = np.array([h[i] @ h[j] / tau for j in range(2 * n) if j != i])
        others = [j for j in range(2 * n) if j != i]
        total += -(h[i] @ h[pos] / tau) + np.log(np.sum(np.exp(logits)))
        assert pos in others
    assert val(ct.nt_xent(a, b, temperature=tau, reduction="mean")[0]) == \
        pytest.approx(total / (2 * n), rel=1e-12)


def test_mmcr_fixture_A():
    views = np.stack([Z1, Z2])
    assert val(cr.mmcr(views)[0]) == pytest.approx(-3.307186, rel=1e-6)
    assert val(cr.mmcr(views, lam=5e-3)[0]) == pytest.approx(-3.298642, rel=1e-6)


def test_mcr2_fixture_A():
    _, logs = cr.mcr2(Z1, np.array([0, 0, 1, 1]), num_classes=2)
    assert val(logs["R"]) == pytest.approx(1.633738, rel=1e-6)
    assert val(logs["R_c"]) == pytest.approx(1.322571, rel=1e-6)
    assert val(logs["delta_R"]) == pytest.approx(0.3111664, rel=1e-6)


def test_koleo_fixture_A():
    loss, _ = un.koleo(Z1)
    assert val(loss) == pytest.approx(-0.1287726, rel=1e-6)
    xh = Z1 / np.linalg.norm(Z1, axis=1, keepdims=True)
    dots = xh @ xh.T - 3 * np.eye(4)
    np.testing.assert_array_equal(np.argmax(dots, 1), [2, 2, 0, 1])


# ----------------------------------------------------------------------------- limits

def test_invariances_and_limits():
    assert val(rd.vicreg(Z1, Z1)[1]["inv"]) == 0.0
    assert val(rd.vicreg(W, W)[0]) == 0.0
    assert val(rd.barlow_twins(W, W)[0]) == pytest.approx(3 * (1 - 1 / (1 + 1e-5)) ** 2,
                                                          rel=1e-9)
    assert val(rd.barlow_twins(W, W, bn_eps=0.0)[0]) == pytest.approx(0.0, abs=1e-28)
    assert val(pr.simsiam(Z1, Z2, Z2, Z1)[0]) == pytest.approx(-1.0, rel=1e-12)   # p1||z2
    assert val(pr.byol(Z1, Z1, 3 * Z1, Z1)[0]) == pytest.approx(0.0, abs=1e-12)
    collapsed = np.ones((4, 3))
    assert val(ct.nt_xent(collapsed, collapsed)[0]) == pytest.approx(2 * np.log(7), rel=1e-12)
    assert val(cr.mcr2_coding_rate(np.eye(3))) == pytest.approx(1.5 * np.log(3), rel=1e-12)
    assert val(un.koleo(np.array([[1.0, 0.0], [-1.0, 0.0]]))[0]) == \
        pytest.approx(-np.log(2), abs=1e-8)
    taus = [val(pr.byol_tau(k, 4)) for k in (0, 1, 2, 4)]
    np.testing.assert_allclose(taus, [0.996, 0.9965858, 0.998, 1.0], atol=1e-7)


def test_mmcr_orthonormal_centroids_bound():
    q = np.linalg.qr(np.random.default_rng(0).normal(size=(6, 4)))[0]   # N = 4 <= D = 6
    views = np.stack([q.T, q.T])
    assert val(cr.mmcr(views)[0]) == pytest.approx(-4.0, rel=1e-12)
    rng = np.random.default_rng(1)
    for _ in range(5):
        v = rng.normal(size=(2, 5, 3))
        assert -val(cr.mmcr(v)[0]) <= np.sqrt(5 * 3) + 1e-12


def test_ema_update():
    t = {"w": jnp.ones(3)}
    o = {"w": jnp.zeros(3)}
    np.testing.assert_allclose(pr.ema_update(t, o, 0.9)["w"], 0.9)


# ----------------------------------------------------------------------------- gradients

def _finite(g):
    return all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(g))


DEGENERATE = {"identical": np.tile([[0.3, -1.0, 2.0]], (4, 1)), "zeros": np.zeros((4, 3)),
              "W": W}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(DEGENERATE))
def test_finite_gradients_on_degenerate_batches(name):
    z = jnp.asarray(DEGENERATE[name])
    labels1 = jnp.zeros(4, int)   # a single class (and one empty class below)
    grads = [
        jax.grad(lambda a: rd.vicreg(a, a)[0])(z),
        jax.grad(lambda a: rd.barlow_twins(a, a)[0])(z),
        jax.grad(lambda a: pr.simsiam(a, a, a, a)[0])(z),
        jax.grad(lambda a: pr.byol(a, a, a, a)[0])(z),
        jax.grad(lambda a: ct.nt_xent(a, a)[0])(z),
        jax.grad(lambda a: cr.mmcr(jnp.stack([a, a]))[0])(z),
        jax.grad(lambda a: cr.mcr2(a, labels1, num_classes=2)[0])(z),
        jax.grad(lambda a: un.koleo(a)[0])(z),
    ]
    assert all(_finite(g) for g in grads)


def test_mmcr_gradient_at_repeated_singular_values():
    z = np.stack([np.eye(3), np.eye(3)])           # all singular values equal to 1
    g = jax.grad(lambda v: cr.mmcr(v, lam=5e-3)[0])(jnp.asarray(z))
    assert _finite(g)


# ----------------------------------------------------------------------------- properties

_batch_losses = {
    "vicreg": jax.jit(lambda a, b: rd.vicreg(a, b)[0]),
    "barlow": jax.jit(lambda a, b: rd.barlow_twins(a, b)[0]),
    "simsiam": jax.jit(lambda a, b: pr.simsiam(b, a, a, b)[0]),
    "byol": jax.jit(lambda a, b: pr.byol(b, a, a, b)[0]),
    "nt_xent": jax.jit(lambda a, b: ct.nt_xent(a, b, temperature=0.5)[0]),
    "mmcr": jax.jit(lambda a, b: cr.mmcr(jnp.stack([a, b]), lam=5e-3)[0]),
    "mcr2": jax.jit(lambda a, b: cr.mcr2_views(jnp.stack([a, b]))[0]),
    "koleo": jax.jit(lambda a, b: un.koleo(jnp.concatenate([a, b]))[0]),
}


@settings(max_examples=15)
@given(seed=st.integers(0, 2**31 - 1))
def test_batch_objectives_are_permutation_invariant(seed):
    """Relabelling the images (the same permutation of both views) leaves every loss fixed."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    perm = rng.permutation(6)
    for name, f in _batch_losses.items():
        assert val(f(a[perm], b[perm])) == pytest.approx(val(f(a, b)), rel=1e-9, abs=1e-12), name


@settings(max_examples=15)
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(0.1, 10.0))
def test_cosine_objectives_are_scale_invariant(seed, scale):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    for name in ("simsiam", "byol", "nt_xent", "mmcr", "mcr2", "koleo"):
        f = _batch_losses[name]
        assert val(f(scale * a, scale * b)) == pytest.approx(val(f(a, b)), rel=1e-9), name


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="var_convention"):
        rd.vicreg(Z1, Z2, var_convention="lightly")
    with pytest.raises(ValueError, match="shape"):
        rd.vicreg(Z1, Z2[:3])
    with pytest.raises(ValueError, match="temperature"):
        ct.nt_xent(Z1, Z2, temperature=0.0)
    with pytest.raises(ValueError, match="reduction"):
        ct.nt_xent(Z1, Z2, reduction="sum")
    with pytest.raises(ValueError, match="form"):
        pr.byol(Z1, Z2, Z1, Z2, form="mse")
    with pytest.raises(ValueError, match="labels"):
        cr.mcr2(Z1, np.zeros(3, int), num_classes=2)
    with pytest.raises(ValueError, match="N >= 2"):
        un.koleo(Z1[:1])
