"""Encoders, augmentations and training precision (simulations.encoders)."""

import colorsys
import subprocess
import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy import ndimage

from simulations.encoders import augment as aug
from simulations.encoders.networks import apply_encoder, build_encoder
from simulations.encoders.precision import cast_floating

KEY = jax.random.key(0, impl="rbg")  # rbg: threefry sampling compiles slowly on CPU


def _float_dtypes(tree):
    return {leaf.dtype for leaf in jax.tree.leaves(eqx.filter(tree, eqx.is_inexact_array))}


def test_x64_is_on_in_this_process():
    # the precision tests below are only meaningful when x64 is on (tests/conftest.py)
    assert jax.config.jax_enable_x64


@pytest.mark.slow
@pytest.mark.parametrize("name, shape, z_dim, q_shape", [
    ("mlp", (7,), 64, (32,)),
    ("digits_cnn", (1, 8, 8), 256, (16, 8)),
])
def test_encoder_outputs_and_float32_under_x64(name, shape, z_dim, q_shape):
    model, state = build_encoder(name, input_shape=shape, key=KEY, out_dim=64)
    x = jax.random.normal(KEY, (5, *shape), dtype=jnp.float32)
    out, _ = eqx.filter_jit(apply_encoder)(model, state, x)
    assert out["z"].shape == (5, z_dim)
    assert out["q"].shape == (5, *q_shape) and out["p"].shape == (5, *q_shape)
    # z is [flatten q ; flatten p]
    np.testing.assert_array_equal(out["z"], jnp.concatenate(
        [out["q"].reshape(5, -1), out["p"].reshape(5, -1)], axis=1))
    assert _float_dtypes(model) == {jnp.dtype(jnp.float32)}
    assert {v.dtype for v in out.values()} == {jnp.dtype(jnp.float32)}


def test_token_protocol_split_is_per_token_channel_split():
    model, state = build_encoder("digits_cnn", input_shape=(1, 8, 8), key=KEY)
    x = jax.random.normal(KEY, (3, 1, 8, 8), dtype=jnp.float32)
    out, _ = eqx.filter_jit(apply_encoder)(model, state, x)
    tokens = out["tokens"]                                   # (B, h, w, d_f)
    assert tokens.shape == (3, 4, 4, 16)
    np.testing.assert_array_equal(out["q"], tokens[..., :8].reshape(3, 16, 8))
    np.testing.assert_array_equal(out["p"], tokens[..., 8:].reshape(3, 16, 8))


@pytest.mark.slow
def test_resnet18_token_shapes_and_parameter_count():
    model, state = build_encoder("resnet18_tokens", input_shape=(3, 32, 32), key=KEY)
    shapes, _ = eqx.filter_eval_shape(apply_encoder, model, state,
                                      jax.ShapeDtypeStruct((2, 3, 32, 32), jnp.float32))
    assert shapes["tokens"].shape == (2, 8, 8, 32)           # layer3: 8x8 tokens, d_f = 32
    assert shapes["q"].shape == (2, 64, 16) and shapes["z"].shape == (2, 2048)
    n = sum(x.size for x in jax.tree.leaves(eqx.filter(model, eqx.is_inexact_array)))
    # CIFAR stem (conv 3*64*9 + BN 2*64) and layer1-3 of ResNet-18 counted by hand:
    # layer1 2*(2*64*64*9 + 2*128); layer2 (64*128*9 + 128*128*9 + 64*128 + 3*256) +
    # (2*128*128*9 + 2*256); layer3 likewise with 128 -> 256; then the 1x1 conv 256 -> 32 + BN
    stem = 3 * 64 * 9 + 128
    layer1 = 2 * (2 * 64 * 64 * 9 + 2 * 128)
    layer2 = (64 * 128 * 9 + 128 * 128 * 9 + 64 * 128 + 3 * 256) + (2 * 128 * 128 * 9 + 512)
    layer3 = (128 * 256 * 9 + 256 * 256 * 9 + 128 * 256 + 3 * 512) + (2 * 256 * 256 * 9 + 1024)
    assert n == stem + layer1 + layer2 + layer3 + 256 * 32 + 2 * 32


@pytest.mark.parametrize("name, shape", [("digits_cnn", (1, 8, 8)), ("mlp", (6,))])
def test_bfloat16_compute_gives_bfloat16_activations(name, shape):
    model, state = build_encoder(name, input_shape=shape, key=KEY)
    low = cast_floating(model, jnp.bfloat16)
    assert _float_dtypes(low) == {jnp.dtype(jnp.bfloat16)}
    assert _float_dtypes(model) == {jnp.dtype(jnp.float32)}      # master copy untouched
    out, _ = eqx.filter_jit(apply_encoder)(low, state, jnp.ones((2, *shape), jnp.bfloat16))
    assert {v.dtype for v in out.values()} == {jnp.dtype(jnp.bfloat16)}


def test_bfloat16_parameters_when_configured():
    model, _ = build_encoder("mlp", input_shape=(8,), key=KEY, dtype=jnp.bfloat16)
    assert _float_dtypes(model) == {jnp.dtype(jnp.bfloat16)}


@pytest.mark.slow
def test_importing_encoders_and_objectives_leaves_x64_off():
    code = ("import jax, simulations.encoders, simulations.encoders.train, "
            "simulations.encoders.evaluate, minimal_models.objectives, "
            "minimal_models.objectives.normality, minimal_models.objectives.hamjepa, "
            "minimal_models.objectives.registry, simulations.encoders.objectives, "
            "simulations.encoders.recipes, simulations.encoders.checkpoint, "
            "simulations.encoders.label_noise; "
            "print(jax.config.jax_enable_x64)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_resample_matches_map_coordinates():
    img = jax.random.uniform(KEY, (3, 9, 7))
    m = jnp.array([[0.9, 0.2], [-0.1, 1.1]])
    o = jnp.array([0.3, -0.7])
    ii, jj = jnp.meshgrid(jnp.arange(9.0), jnp.arange(7.0), indexing="ij")
    coords = [m[0, 0] * ii + m[0, 1] * jj + o[0], m[1, 0] * ii + m[1, 1] * jj + o[1]]
    ref = jnp.stack([ndimage.map_coordinates(c, coords, order=1, mode="constant", cval=0.0)
                     for c in img])
    np.testing.assert_allclose(aug._affine_resample(img, m, o), ref, atol=1e-12)


def test_hsv_round_trip_and_reference():
    rgb = jax.random.uniform(KEY, (3, 4, 5))
    hsv = aug.rgb_to_hsv(rgb)
    np.testing.assert_allclose(aug.hsv_to_rgb(hsv), rgb, atol=1e-12)
    r, g, b = np.asarray(rgb[:, 1, 2])
    np.testing.assert_allclose(np.asarray(hsv[:, 1, 2]), colorsys.rgb_to_hsv(r, g, b),
                               atol=1e-12)


def test_blur_keeps_constant_images_and_smooths_an_impulse():
    const = jnp.full((3, 6, 6), 0.4)
    np.testing.assert_allclose(aug._blur(const, 1.3), const, atol=1e-12)
    impulse = jnp.zeros((1, 5, 5)).at[0, 2, 2].set(1.0)
    out = aug._blur(impulse, 1.0)
    w = np.exp(-0.5 * np.array([1.0, 0.0, 1.0]))
    w /= w.sum()
    np.testing.assert_allclose(np.asarray(out[0, 1:4, 1:4]), np.outer(w, w), atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("name, shape, dtype", [
    ("digits", (1, 8, 8), jnp.float32), ("digits", (1, 8, 8), jnp.bfloat16),
    ("cifar", (3, 32, 32), jnp.float32),
    pytest.param("cifar", (3, 32, 32), jnp.bfloat16, marks=pytest.mark.slow),
    ("noise", (12,), jnp.float32), ("noise", (12,), jnp.bfloat16)])
def test_augment_views_shape_dtype_determinism(name, shape, dtype):
    x = jax.random.uniform(KEY, (4, *shape), dtype=jnp.float32).astype(dtype)
    f = jax.jit(aug.make_augment(name, 2))
    k = jax.random.key(3, impl="rbg")
    v1, v2 = f(k, x), f(k, x)
    assert v1.shape == (2, 4, *shape) and v1.dtype == dtype
    np.testing.assert_array_equal(v1, v2)                    # same key, same views
    assert not np.array_equal(np.asarray(v1[0], np.float32), np.asarray(v1[1], np.float32))
    assert np.all(np.isfinite(np.asarray(v1, np.float32)))


@pytest.mark.slow
def test_cifar_views_stay_in_unit_range_and_standardise():
    x = jax.random.uniform(KEY, (8, 3, 32, 32), dtype=jnp.float32)
    raw = jax.jit(aug.make_augment("cifar", 2))(jax.random.key(1, impl="rbg"), x)
    assert float(raw.min()) >= 0.0 and float(raw.max()) <= 1.0
    std = jax.jit(aug.make_augment("cifar", 2, mean=0.5, std=0.25))(
        jax.random.key(1, impl="rbg"), x)
    np.testing.assert_allclose(std, (raw - 0.5) / 0.25, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_digits_view_without_randomness_effects_is_near_identity():
    # u = (0.5, 0.5 -> shift 0; 0.5 -> angle 0; 0.5 -> scale 1; 0.5 -> contrast 1, brightness 0;
    # no erasing): the view equals the image
    img = jax.random.uniform(KEY, (1, 8, 8), dtype=jnp.float32)
    u = jnp.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.9], jnp.float32)
    out = aug.digits_view(u, jnp.zeros_like(img), img)
    np.testing.assert_allclose(out, img, atol=1e-6)


def test_unknown_augmentation_is_refused():
    with pytest.raises(ValueError, match="augment='flip'"):
        aug.make_augment("flip", 2)
