"""Hypersolid (RECONSTRUCTION): fixtures H0, H1, H3 of ssl_objectives_and_metrics.md §6, the
exact gate, the guarded sqrt, the §1.5 invariances, and the heptagon capacity value (§1.4)."""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

hs = importlib.import_module("minimal_models.objectives.hypersolid")
# (importlib: the package may re-export the same-named functions)


H1 = np.array([[1, 0, 0], [0.8, 0.6, 0], [0.6, 0.8, 0], [0, 0.9, 0.5]])
H0 = np.array([[1, 0, 0], [0.9, 0.1, 0], [-1, 0, 0], [-0.9, 0, 0.1]])
H3 = np.array([[1, 0], [0, 1], [1, 1], [3, 0], [3, 2], [4, 0]], float)


def views(z, v=2):
    return hs.views_from_image_major(jnp.asarray(z), v)


def test_layout_round_trip():
    v = views(H3, 3)
    assert v.shape == (3, 2, 2)
    np.testing.assert_array_equal(v[:, 0], H3[:3])
    np.testing.assert_array_equal(hs.image_major_from_views(v), H3)


@pytest.mark.slow
def test_H1_values():
    loss, logs = hs.hypersolid(views(H1))
    assert float(logs["rep"]) == pytest.approx(0.1313903, rel=1e-6)
    assert float(logs["align"]) == pytest.approx(0.51, rel=1e-12)
    assert float(logs["norm"]) == pytest.approx(2.184930e-4, rel=1e-6)
    assert float(loss) == pytest.approx(0.6413925, rel=1e-6)
    assert float(logs["frac_violating"]) == 0.75
    assert float(logs["d_min_cross"]) == pytest.approx(0.2828427, rel=1e-6)
    assert float(logs["contacts_per_point"]) == pytest.approx(2 * 3 / 4)
    assert float(logs["overlap_max"]) == pytest.approx(1 - 0.2828427, rel=1e-6)
    assert float(hs.hypersolid(views(H1), p=1)[1]["rep"]) == pytest.approx(0.2081952, rel=1e-6)
    _, l5 = hs.hypersolid(views(H1), r=0.5)
    assert float(l5["rep"]) == pytest.approx(0.01178932, rel=1e-6)
    assert float(l5["frac_violating"]) == 0.25


@pytest.mark.parametrize("pool, value", [("max_pair", 0.51), ("max_centroid", 0.1275),
                                         ("max_sim", 0.51)])
def test_H1_align_pools(pool, value):
    assert float(hs.hypersolid(views(H1), align_pool=pool)[1]["align"]) == pytest.approx(value)


@pytest.mark.parametrize("norm, rep, align", [("batch", 0.1325552, 0.5024631),
                                              ("hard", 0.1315188, 0.5006742),
                                              ("clip", 0.1315188, 0.5006742)])
def test_H1_norm_modes(norm, rep, align):
    loss, logs = hs.hypersolid(views(H1), norm=norm)
    assert float(logs["rep"]) == pytest.approx(rep, rel=1e-6)
    assert float(logs["align"]) == pytest.approx(align, rel=1e-6)
    assert float(logs["norm"]) == 0.0
    assert float(loss) == pytest.approx(rep + align, rel=1e-6)   # lam_norm 0 outside ring


@pytest.mark.slow
def test_H1_repulsion_gradient():
    g = jax.grad(lambda v: hs.hypersolid(v)[1]["rep"])(views(H1))
    g_rep = jax.grad(lambda v: hs.hypersolid(v, lam_align=0.0, lam_norm=0.0)[0])(views(H1))
    want = np.array([[-0.0236068, 0.0472136, 0], [-0.2576144, 0.2550763, 0.0025381],
                     [0.2771602, -0.3007670, 0], [0.0040610, -0.0015229, -0.0025381]])
    np.testing.assert_allclose(hs.image_major_from_views(g_rep), want, atol=1e-7)
    np.testing.assert_allclose(np.sum(hs.image_major_from_views(g_rep), 0), 0, atol=1e-15)
    assert float(jnp.max(jnp.abs(g))) == 0.0     # logs carry no gradient


def test_H0_gate_is_exact():
    v = views(H0)
    loss, logs = hs.hypersolid(v)
    assert float(logs["d_min_cross"]) == pytest.approx(1.805547, rel=1e-6)
    assert float(logs["rep"]) == 0.0 and float(logs["frac_violating"]) == 0.0
    assert float(logs["align"]) == pytest.approx(0.02, rel=1e-12)
    assert float(logs["norm"]) == pytest.approx(0.004461486, rel=1e-6)
    assert float(loss) == pytest.approx(0.02004461, rel=1e-6)
    g = jax.grad(lambda x: hs.hypersolid(x, lam_align=0.0, lam_norm=0.0)[0])(v)
    assert np.all(np.asarray(g) == 0.0)


@pytest.mark.slow
@pytest.mark.parametrize("norm", ["batch", "hard", "clip"])
def test_H0_gate_is_exact_in_every_norm_mode(norm):
    g = jax.grad(lambda x: hs.hypersolid(x, norm=norm, lam_align=0.0)[0])(views(H0))
    assert np.all(np.asarray(g) == 0.0)


def test_H3_three_views():
    v = views(H3, 3)
    for pool, value in (("max_pair", 3.5), ("max_centroid", 11 / 9), ("max_sim", 1.5)):
        _, logs = hs.hypersolid(v, align_pool=pool)
        assert float(logs["align"]) == pytest.approx(value, rel=1e-12)
        assert float(logs["rep"]) == 0.0


def test_single_view_is_pure_packing():
    z = np.random.default_rng(0).normal(size=(1, 5, 3))
    assert float(hs.hypersolid(z)[1]["align"]) == 0.0


@pytest.mark.slow
def test_coincident_pair_adds_r_to_the_p_with_finite_zero_gradient():
    z = views(np.array([[0.5, 0, 0], [0.5, 0, 0], [0.5, 0, 0], [0.5, 0, 0]]))
    p, r = 1, 0.75
    _, logs = hs.hypersolid(z, p=p, r=r, norm="batch")
    # 4 unordered coincident cross-image pairs, normaliser 1/M = 1/4
    assert float(logs["rep"]) == pytest.approx(4 * r**p / 4)
    g = jax.grad(lambda x: hs.hypersolid(x, p=p, r=r, lam_align=0.0, norm="batch")[0])(z)
    assert bool(jnp.all(jnp.isfinite(g)))
    assert float(jnp.max(jnp.abs(g))) == 0.0


def test_single_image_batch_is_refused_separated_images_do_not_repel():
    # one image has no cross-image pairs: a repulsion loss cannot score it
    with pytest.raises(ValueError, match=r"hypersolid needs a batch of N >= 2 samples, got N=1"):
        hs.hypersolid(jnp.ones((2, 1, 3)))
    z = jnp.stack([jnp.array([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0]])] * 2)  # farther apart than r
    loss, logs = hs.hypersolid(z)
    assert float(logs["rep"]) == 0.0 and float(logs["frac_violating"]) == 0.0
    g = jax.grad(lambda x: hs.hypersolid(x)[0])(jnp.zeros((2, 3, 3)))   # all at the origin
    assert bool(jnp.all(jnp.isfinite(g)))


@pytest.mark.slow
@pytest.mark.parametrize("norm", ["batch", "hard", "clip"])
def test_finite_gradient_at_the_origin_in_every_norm_mode(norm):
    g = jax.grad(lambda x: hs.hypersolid(x, norm=norm)[0])(jnp.zeros((2, 3, 3)))
    assert bool(jnp.all(jnp.isfinite(g)))


def test_heptagon_capacity_value():
    """The regular heptagon (N = 7 > kissing number 6 in D = 2, r = 1, hard): spec §1.4."""
    ang = 2 * np.pi * np.arange(7) / 7
    z = np.stack([np.cos(ang), np.sin(ang)], 1)[None]
    delta = 1 - 2 * np.sin(np.pi / 7)
    for p, value in ((1, 0.1322325), (2, 0.0174854)):
        _, logs = hs.hypersolid(z, norm="hard", p=p)
        assert float(logs["rep"]) == pytest.approx(delta**p, rel=1e-12)
        assert float(logs["rep"]) == pytest.approx(value, abs=5e-8)
        assert float(hs.hypersolid(z, norm="hard", viol_tol=0.0)[1]["frac_violating"]) == \
            pytest.approx(1 / 3)
    hexagon = np.stack([np.cos(np.arange(6) * np.pi / 3), np.sin(np.arange(6) * np.pi / 3)], 1)
    assert float(hs.hypersolid(hexagon[None] * 1.0001, norm="ring")[1]["rep"]) == 0.0


@pytest.mark.slow
def test_gram_distance_matches_diff():
    z = np.random.default_rng(1).normal(size=(3, 6, 4)) * 0.4
    for pool in ("max_pair", "max_sim"):       # max_centroid does not use pair distances
        a = hs.hypersolid(z, align_pool=pool, distance="diff")[0]
        b = hs.hypersolid(z, align_pool=pool, distance="gram")[0]
        assert float(a) == pytest.approx(float(b), rel=1e-10)
    assert float(hs.hypersolid(z)[0]) == float(hs.hypersolid(z, distance="diff")[0])  # auto
    big = jnp.asarray(np.random.default_rng(2).normal(size=(2, 100, 512)) * 0.03, jnp.float32)
    auto = hs.hypersolid(big)[1]                                          # auto -> gram
    exact = hs.hypersolid(big, distance="diff")[1]
    assert float(exact["rep"]) > 0
    assert float(auto["rep"]) == pytest.approx(float(exact["rep"]), rel=1e-4)


_hs_jit = jax.jit(lambda z: hs.hypersolid(z)[0])
_hs_grad_ring = jax.jit(jax.grad(lambda z: hs.hypersolid(z, lam_norm=0.0)[0]))
_hs_grad_hard = jax.jit(jax.grad(lambda z: hs.hypersolid(z, norm="hard")[0]))
_hs_grad_batch = jax.jit(jax.grad(lambda z: hs.hypersolid(z, norm="batch")[0]))


@pytest.mark.slow
@settings(max_examples=15)
@given(seed=st.integers(0, 2**31 - 1))
def test_invariances(seed):
    """Permutation of images and of views, rotation z -> zQ; ring: translation invariance
    (forces sum to 0); hard: gradients tangent to the sphere; batch: radial component 0."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(3, 5, 4)) * 0.5
    base = float(_hs_jit(z))
    assert base >= 0
    perm_i, perm_v = rng.permutation(5), rng.permutation(3)
    assert float(_hs_jit(z[:, perm_i])) == pytest.approx(base, rel=1e-10)
    assert float(_hs_jit(z[perm_v])) == pytest.approx(base, rel=1e-10)
    q = stats.ortho_group.rvs(4, random_state=seed % (2**32 - 1))
    assert float(_hs_jit(z @ q)) == pytest.approx(base, rel=1e-10)
    g = np.asarray(_hs_grad_ring(z))
    np.testing.assert_allclose(g.reshape(-1, 4).sum(0), 0, atol=1e-12)
    g = np.asarray(_hs_grad_hard(z))
    np.testing.assert_allclose(np.sum(g * z, -1), 0, atol=1e-12)
    g = np.asarray(_hs_grad_batch(z))
    assert abs(np.sum(g * z)) < 1e-9


@pytest.mark.slow
def test_scaling_z_and_r_scales_repulsion_by_s_to_the_p():
    z = np.random.default_rng(2).normal(size=(2, 6, 3)) * 0.3
    for p in (1, 2):
        a = hs.hypersolid(z, r=0.8, p=p)[1]["rep"]
        b = hs.hypersolid(2.5 * z, r=2.0, p=p)[1]["rep"]
        assert float(b) == pytest.approx(2.5**p * float(a), rel=1e-10)


def test_bad_arguments_raise():
    z = np.zeros((2, 3, 2))
    with pytest.raises(ValueError, match="norm"):
        hs.hypersolid(z, norm="sphere")
    with pytest.raises(ValueError, match="align_pool"):
        hs.hypersolid(z, align_pool="mean")
    with pytest.raises(ValueError, match="r="):
        hs.hypersolid(z, r=-1.0)
    with pytest.raises(ValueError, match="views"):
        hs.hypersolid(np.zeros((3, 2)))


def _packing_run(n, d, p, seed, *, norm="hard", steps=20000, lr=0.1):
    """Embedding-only gradient descent of spec §1.4 item 3 (V = 1, r = 1, init e1 + 0.3 N(0, I))."""
    z0 = jnp.zeros((n, d)).at[:, 0].set(1.0) + 0.3 * jax.random.normal(
        jax.random.PRNGKey(seed), (n, d), jnp.float64)
    grad = jax.grad(lambda z: hs.hypersolid(z[None], norm=norm, p=p)[0])
    z = jax.jit(lambda z: jax.lax.fori_loop(0, steps, lambda i, z: z - lr * grad(z), z))(z0)
    return hs.hypersolid(z[None], norm=norm, p=p, viol_tol=0.0)[1]


@pytest.mark.slow
def test_packing_below_capacity_reaches_zero_and_heptagon_above_it():
    logs = _packing_run(5, 2, 1, seed=0)                # 5 <= kissing number 6: exact zero
    assert float(logs["rep"]) == 0.0 and float(logs["d_min_cross"]) >= 1.0
    logs = _packing_run(7, 2, 2, seed=0)                # 7 > 6: the regular heptagon
    assert float(logs["d_min_cross"]) == pytest.approx(2 * np.sin(np.pi / 7), rel=1e-6)
    assert float(logs["rep"]) == pytest.approx(0.0174854, rel=1e-5)
    assert float(logs["frac_violating"]) == pytest.approx(1 / 3)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_packing_reference_runs(seed):
    assert float(_packing_run(12, 3, 1, seed)["rep"]) == 0.0          # kissing number 12
    assert float(_packing_run(13, 3, 1, seed)["rep"]) > 0.0           # 13 > 12
    heptagon = _packing_run(7, 2, 1, seed)
    assert float(heptagon["rep"]) == pytest.approx(0.1322325, rel=1e-5)
    ring = _packing_run(7, 2, 1, seed, norm="ring")                  # soft capacity
    assert float(ring["rep"]) == 0.0 and 0.05 < float(ring["norm"]) < 0.25
