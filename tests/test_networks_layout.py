"""The channels-last encoders compute the same function as equinox's channels-first layers.

networks.py keeps PyTorch/equinox parameter layouts but runs its convolutions and norms on
(H, W, C) activations (faster on XLA:CPU).  The reference here is the straightforward
channels-first forward pass through the very same ``eqx.nn`` layers (``Conv2d.__call__``,
``BatchNorm.__call__``, ``GroupNorm.__call__``); outputs, BatchNorm running statistics (train and
inference mode) and parameter gradients must agree; the comparison runs in float64 (x64 is on in
the tests) so that a tight tolerance separates a wrong layout or statistic from rounding.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simulations.encoders.networks import apply_encoder, build_encoder

KEY = jax.random.key(3)


def _ref_norm(norm, x, state):
    if norm.stateful:
        return norm.layer(x, state)
    return norm.layer(x), state


def _ref_outputs(t, pooled):
    t = jnp.transpose(t, (1, 2, 0))
    h, w, d_f = t.shape
    q, p = t[..., :d_f // 2].reshape(h * w, -1), t[..., d_f // 2:].reshape(h * w, -1)
    return {"z": jnp.concatenate([q.reshape(-1), p.reshape(-1)]), "q": q, "p": p,
            "tokens": t, "pooled": pooled}


def _ref_resnet(m, x, state):
    relu = jax.nn.relu
    h, state = _ref_norm(m.stem_norm, m.stem(x), state)
    h = relu(h)
    for b in m.blocks:
        y, state = _ref_norm(b.norm1, b.conv1(h), state)
        y, state = _ref_norm(b.norm2, b.conv2(relu(y)), state)
        sc = h
        if b.shortcut is not None:
            sc, state = _ref_norm(b.shortcut[1], b.shortcut[0](h), state)
        h = relu(y + sc)
    pooled = jnp.mean(h, axis=(1, 2))
    t, state = _ref_norm(m.norm, m.proj(h), state)
    return _ref_outputs(t, pooled), state


def _ref_digits(m, x, state):
    h = x
    for conv in m.convs:
        h = jax.nn.gelu(conv(h), approximate=False)
    pooled = jnp.mean(h, axis=(1, 2))
    t, state = _ref_norm(m.norm, m.proj(h), state)
    return _ref_outputs(t, pooled), state


def _apply(fn, model, state, x):
    return jax.vmap(fn, in_axes=(None, 0, None), out_axes=(0, None),
                    axis_name="batch")(model, x, state)


def _close(a, b, what):
    for k in a:
        np.testing.assert_allclose(np.asarray(a[k], np.float64), np.asarray(b[k], np.float64),
                                   rtol=1e-9, atol=1e-10, err_msg=f"{what}: {k}")


@pytest.mark.parametrize("name, shape, norm, ref", [
    ("resnet18_tokens", (3, 8, 8), "batch", _ref_resnet),
    ("resnet18_tokens", (3, 8, 8), "group", _ref_resnet),
    ("digits_cnn", (1, 8, 8), "group", _ref_digits),
    ("digits_cnn", (1, 8, 8), "batch", _ref_digits),
])
@pytest.mark.slow
def test_channels_last_encoders_match_channels_first_reference(name, shape, norm, ref):
    model, state = build_encoder(name, input_shape=shape, key=KEY, norm=norm, width=8, d_f=8,
                                 dtype=jnp.float64)
    x = jax.random.normal(jax.random.fold_in(KEY, 1), (4, *shape), jnp.float64)
    out, new_state = eqx.filter_jit(apply_encoder)(model, state, x)
    want, want_state = eqx.filter_jit(lambda m, s, x: _apply(ref, m, s, x))(model, state, x)
    assert set(out) == set(want)
    _close(out, want, "train mode")
    for a, b in zip(jax.tree.leaves(new_state), jax.tree.leaves(want_state)):
        np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                                   rtol=1e-9, atol=1e-10)
    # inference mode reads the running statistics the train step wrote
    inf = eqx.nn.inference_mode(model)
    out_i, _ = eqx.filter_jit(apply_encoder)(inf, new_state, x)
    want_i, _ = eqx.filter_jit(lambda m, s, x: _apply(ref, m, s, x))(inf, want_state, x)
    _close(out_i, want_i, "inference mode")
    if norm == "batch":  # the running statistics matter: they differ from the batch's
        assert not np.allclose(np.asarray(out_i["z"]), np.asarray(out["z"]), atol=1e-3)


@pytest.mark.slow
def test_channels_last_gradients_match_reference():
    model, state = build_encoder("resnet18_tokens", input_shape=(3, 8, 8), key=KEY, width=8,
                                 d_f=8, dtype=jnp.float64)
    x = jax.random.normal(jax.random.fold_in(KEY, 2), (4, 3, 8, 8), jnp.float64)

    def loss(m, run):
        out, _ = run(m, state, x)
        return jnp.sum(out["z"] ** 2) + jnp.sum(out["pooled"])

    g = eqx.filter_jit(eqx.filter_grad(lambda m: loss(m, apply_encoder)))(model)
    g_ref = eqx.filter_jit(eqx.filter_grad(
        lambda m: loss(m, lambda m_, s, x_: _apply(_ref_resnet, m_, s, x_))))(model)
    leaves = jax.tree.leaves(eqx.filter(g, eqx.is_inexact_array))
    ref_leaves = jax.tree.leaves(eqx.filter(g_ref, eqx.is_inexact_array))
    assert len(leaves) == len(ref_leaves) > 0
    # one scale for all leaves: some gradients vanish analytically (a conv followed by
    # BatchNorm has no gradient along the channel means) and hold only rounding noise
    scale = max(float(np.max(np.abs(np.asarray(b)))) for b in ref_leaves)
    for a, b in zip(leaves, ref_leaves):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-10 * scale, rtol=1e-8)


@pytest.mark.slow
def test_bfloat16_activations_stay_bfloat16_in_the_resnet():
    from simulations.encoders.precision import cast_floating

    model, state = build_encoder("resnet18_tokens", input_shape=(3, 16, 16), key=KEY, width=8,
                                 d_f=8, norm="group")
    out, _ = eqx.filter_jit(apply_encoder)(cast_floating(model, jnp.bfloat16), state,
                                           jnp.ones((2, 3, 16, 16), jnp.bfloat16))
    assert {v.dtype for v in out.values()} == {jnp.dtype(jnp.bfloat16)}
