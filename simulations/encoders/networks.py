r"""Equinox encoders: an MLP, the small token-protocol CNN of the digits analogue, and the
CIFAR-stem ResNet-18 with HamJEPA's "headless token protocol".

Every encoder is a per-sample module ``model(x, state) -> (outputs, state)`` built with
``equinox.nn.make_with_state`` (the state holds BatchNorm running statistics; it is empty for
GroupNorm networks) and applied to a batch with :func:`apply_encoder`, which vmaps it over a
named ``"batch"`` axis so that BatchNorm statistics are taken over the whole (global) batch.
``outputs`` is a dict of arrays:

- ``z``: the embedding fed to the objective (the projector is the identity, spec §4.2);
- ``q``, ``p``: the phase-space halves, token tensors of shape (T, C/2) for token encoders and
  (D/2,) vectors for the MLP; ``z = concat(flatten(q), flatten(p))`` (the author's ``split_qp``);
- ``tokens``: the (h, w, d_f) token grid (token encoders only);
- ``pooled``: spatial mean of the backbone feature map (the supervised baseline's readout).

Layout.  Inputs and parameters keep PyTorch's layouts ((C, H, W) images, (O, I, kh, kw)
kernels, so checkpoints and initialisation are unchanged), but the convolutional trunks compute
channels-last: the image is transposed once to (H, W, C) and every convolution runs with
dimension numbers ("NHWC", "OIHW", "NHWC") and every norm reduces over the trailing channel
axis.  XLA:CPU's convolution kernels want NHWC; with channels-first activations it wraps every
convolution (and its two gradients) in layout copies.  The outputs are the same function of the
parameters as the channels-first layers of equinox (tested to float tolerance).

Spec: ``shared/specs/hamiltonian_geometry.md`` §4.2 (token protocol, CONFIRMED in the author
code) and §9 (digits CNN, RECONSTRUCTION).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from minimal_models import validation as check

__all__ = ["NORMS", "MLPEncoder", "DigitsTokenCNN", "ResNet18Tokens", "build_encoder",
           "apply_encoder", "ENCODERS", "ENCODER_SETTINGS", "ENCODER_INPUTS"]

NORMS = ("group", "batch")


def _gelu(x):
    # the author code uses PyTorch's default (exact erf) GELU
    return jax.nn.gelu(x, approximate=False)


def _conv(conv: eqx.nn.Conv2d, x):
    """``conv`` (an ``eqx.nn.Conv2d``, zero padding) applied to one channels-last sample
    x: (H, W, C_in) -> (H', W', C_out); the kernel stays (O, I, kh, kw)."""
    y = jax.lax.conv_general_dilated(
        x[None], conv.weight, window_strides=conv.stride, padding=conv.padding,
        rhs_dilation=conv.dilation, feature_group_count=conv.groups,
        dimension_numbers=("NHWC", "OIHW", "NHWC"))[0]
    if conv.use_bias:
        y = y + conv.bias.reshape(-1)        # equinox stores the bias as (O, 1, 1)
    return y


class _Norm(eqx.Module):
    """GroupNorm (stateless) or BatchNorm over the vmapped ``"batch"`` axis, on one
    channels-last sample (H, W, C).  The parameters and state are those of ``eqx.nn.GroupNorm``
    / ``eqx.nn.BatchNorm`` (``mode="batch"``), and so is the arithmetic, with the channel axis
    last instead of first."""

    layer: eqx.Module
    stateful: bool = eqx.field(static=True)

    def __init__(self, channels: int, kind: str, dtype):
        if kind == "batch":
            self.layer = eqx.nn.BatchNorm(channels, axis_name="batch", momentum=0.9,
                                          mode="batch", dtype=dtype)
            self.stateful = True
        else:
            # 8 groups where they divide the channels (GroupNorm default of the CPU analogue,
            # spec §8 "norm type"), otherwise one group (LayerNorm over C, H, W)
            groups = 8 if channels % 8 == 0 else 1
            self.layer = eqx.nn.GroupNorm(groups, channels, dtype=dtype)
            self.stateful = False

    def __call__(self, x, state):
        if self.stateful:
            return self._batch(x, state)
        return self._group(x), state

    def _group(self, x):
        ln = self.layer
        # as eqx.nn.GroupNorm: statistics in float32 at least, output in the input dtype
        dtype = jnp.result_type(x.dtype, jnp.float32)
        y = x.astype(dtype)
        h, w, c = y.shape
        y = y.reshape(h, w, ln.groups, c // ln.groups)
        mean = jnp.mean(y, axis=(0, 1, 3), keepdims=True)
        var = jnp.maximum(0.0, jnp.var(y, axis=(0, 1, 3), keepdims=True))
        out = ((y - mean) * jax.lax.rsqrt(var + ln.eps)).reshape(h, w, c)
        if ln.channelwise_affine:
            out = ln.weight.astype(dtype) * out + ln.bias.astype(dtype)
        return out.astype(x.dtype)

    def _batch(self, x, state):
        bn = self.layer
        # as eqx.nn.BatchNorm(mode="batch"): biased batch statistics over the named batch axis
        # and the spatial axes; running statistics as an EMA with a debiasing counter
        counter = state.get(bn.batch_counter)
        hidden_mean, hidden_var = state.get(bn.batch_state_index)
        if bn.inference:
            scale = jnp.where(counter == 0, 1, 1 - bn.momentum**counter)
            mean, var = hidden_mean / scale, hidden_var / scale
        else:
            mean = jax.lax.pmean(jnp.mean(x, axis=(0, 1)), bn.axis_name)
            var = jax.lax.pmean(jnp.mean((x - mean) ** 2, axis=(0, 1)), bn.axis_name)
            var = jnp.maximum(0.0, var)
            state = state.set(bn.batch_counter, counter + 1)
            state = state.set(bn.batch_state_index,
                              (hidden_mean * bn.momentum + mean * (1 - bn.momentum),
                               hidden_var * bn.momentum + var * (1 - bn.momentum)))
        out = (x - mean) / jnp.sqrt(var + bn.eps)
        if bn.channelwise_affine:
            out = out * bn.weight + bn.bias
        return out, state


def _token_outputs(t, pooled):
    """t: (h, w, d_f) -> the token-protocol outputs (author ``split_qp``: channel split per
    token, row-major flatten over (h, w, channel))."""
    h, w, d_f = t.shape
    half = d_f // 2
    q = t[..., :half].reshape(h * w, half)
    p = t[..., half:].reshape(h * w, half)
    z = jnp.concatenate([q.reshape(-1), p.reshape(-1)])
    return {"z": z, "q": q, "p": p, "tokens": t, "pooled": pooled}


class MLPEncoder(eqx.Module):
    """Linear -> GELU -> ... -> Linear on flat inputs; q, p are the two halves of z."""

    layers: tuple

    def __init__(self, in_dim: int, out_dim: int, *, hidden=(256, 256), key, dtype=jnp.float32):
        check.integer("in_dim", in_dim, minimum=1)
        check.integer("out_dim", out_dim, minimum=2)
        if out_dim % 2:
            raise ValueError(f"out_dim={out_dim} must be even (q/p split)")
        sizes = (in_dim, *hidden, out_dim)
        keys = jax.random.split(key, len(sizes) - 1)
        self.layers = tuple(eqx.nn.Linear(a, b, key=k, dtype=dtype)
                            for a, b, k in zip(sizes[:-1], sizes[1:], keys))

    def __call__(self, x, state):
        h = x.reshape(-1)
        for layer in self.layers[:-1]:
            h = _gelu(layer(h))
        pooled = h
        z = self.layers[-1](h)
        half = z.shape[0] // 2
        return {"z": z, "q": z[:half], "p": z[half:], "pooled": pooled}, state


class DigitsTokenCNN(eqx.Module):
    """The digits analogue's encoder (spec §9, RECONSTRUCTION): conv3x3 (1->32) -> GELU ->
    conv3x3/2 (32->64) -> GELU -> conv3x3 (64->64) -> GELU gives a 4x4 map of an 8x8 image;
    1x1 conv 64 -> d_f (no bias) + norm; per-token q/p split d_f/2 + d_f/2, so for d_f = 16:
    q, p in R^{16 x 8} (128 numbers each) and z in R^256."""

    convs: tuple
    proj: eqx.nn.Conv2d
    norm: _Norm

    def __init__(self, *, in_channels: int = 1, d_f: int = 16, norm: str = "group", key,
                 dtype=jnp.float32):
        check.choice("norm", norm, NORMS)
        if d_f < 2 or d_f % 2:
            raise ValueError(f"d_f={d_f} must be an even integer >= 2")
        k = jax.random.split(key, 4)
        self.convs = (
            eqx.nn.Conv2d(in_channels, 32, 3, padding=1, key=k[0], dtype=dtype),
            eqx.nn.Conv2d(32, 64, 3, stride=2, padding=1, key=k[1], dtype=dtype),
            eqx.nn.Conv2d(64, 64, 3, padding=1, key=k[2], dtype=dtype),
        )
        self.proj = eqx.nn.Conv2d(64, d_f, 1, use_bias=False, key=k[3], dtype=dtype)
        self.norm = _Norm(d_f, norm, dtype)

    def __call__(self, x, state):
        h = jnp.transpose(x, (1, 2, 0))                     # channels-last (H, W, C)
        for conv in self.convs:
            h = _gelu(_conv(conv, h))
        pooled = jnp.mean(h, axis=(0, 1))
        t, state = self.norm(_conv(self.proj, h), state)
        return _token_outputs(t, pooled), state


class _BasicBlock(eqx.Module):
    conv1: eqx.nn.Conv2d
    norm1: _Norm
    conv2: eqx.nn.Conv2d
    norm2: _Norm
    shortcut: tuple | None

    def __init__(self, cin, cout, stride, norm, key, dtype):
        k = jax.random.split(key, 3)
        self.conv1 = eqx.nn.Conv2d(cin, cout, 3, stride=stride, padding=1, use_bias=False,
                                   key=k[0], dtype=dtype)
        self.norm1 = _Norm(cout, norm, dtype)
        self.conv2 = eqx.nn.Conv2d(cout, cout, 3, padding=1, use_bias=False, key=k[1],
                                   dtype=dtype)
        self.norm2 = _Norm(cout, norm, dtype)
        if stride != 1 or cin != cout:
            self.shortcut = (eqx.nn.Conv2d(cin, cout, 1, stride=stride, use_bias=False,
                                           key=k[2], dtype=dtype), _Norm(cout, norm, dtype))
        else:
            self.shortcut = None

    def __call__(self, x, state):
        # x: channels-last (H, W, C)
        h, state = self.norm1(_conv(self.conv1, x), state)
        h, state = self.norm2(_conv(self.conv2, jax.nn.relu(h)), state)
        if self.shortcut is not None:
            x, state = self.shortcut[1](_conv(self.shortcut[0], x), state)
        return jax.nn.relu(h + x), state


class ResNet18Tokens(eqx.Module):
    """ResNet-18 with the CIFAR stem (conv 3x3/1, 64 channels, no bias, no max-pool) and the
    HamJEPA token protocol (spec §4.2, CONFIRMED in the author code): tokens from the layer3
    output (256 channels; 8x8 for 32 px input), 1x1 conv 256 -> d_f = 32 without bias, norm,
    permute to (h, w, d_f), q/p split per token (16 + 16 channels): q, p in R^{64 x 16},
    z in R^2048.

    layer4 is not built: the author code computes it but never reads it in token mode, so the
    outputs and gradients are the same without it.  Norm: ``"batch"`` (the authors') or
    ``"group"``.  Convolution init is equinox's default (uniform, fan-in), not torchvision's
    Kaiming-normal (RECONSTRUCTION)."""

    stem: eqx.nn.Conv2d
    stem_norm: _Norm
    blocks: tuple
    proj: eqx.nn.Conv2d
    norm: _Norm

    def __init__(self, *, in_channels: int = 3, d_f: int = 32, norm: str = "batch",
                 width: int = 64, key, dtype=jnp.float32):
        check.choice("norm", norm, NORMS)
        check.integer("width", width, minimum=1)
        if d_f < 2 or d_f % 2:
            raise ValueError(f"d_f={d_f} must be an even integer >= 2")
        k = jax.random.split(key, 8)
        self.stem = eqx.nn.Conv2d(in_channels, width, 3, padding=1, use_bias=False, key=k[0],
                                  dtype=dtype)
        self.stem_norm = _Norm(width, norm, dtype)
        plan = [(width, width, 1), (width, width, 1),                 # layer1
                (width, 2 * width, 2), (2 * width, 2 * width, 1),     # layer2
                (2 * width, 4 * width, 2), (4 * width, 4 * width, 1)]  # layer3
        self.blocks = tuple(_BasicBlock(a, b, s, norm, kk, dtype)
                            for (a, b, s), kk in zip(plan, jax.random.split(k[1], len(plan))))
        self.proj = eqx.nn.Conv2d(4 * width, d_f, 1, use_bias=False, key=k[2], dtype=dtype)
        self.norm = _Norm(d_f, norm, dtype)

    def __call__(self, x, state):
        h = jnp.transpose(x, (1, 2, 0))                     # channels-last (H, W, C)
        h, state = self.stem_norm(_conv(self.stem, h), state)
        h = jax.nn.relu(h)
        for block in self.blocks:
            h, state = block(h, state)
        pooled = jnp.mean(h, axis=(0, 1))
        t, state = self.norm(_conv(self.proj, h), state)
        return _token_outputs(t, pooled), state


ENCODERS = ("mlp", "digits_cnn", "resnet18_tokens")

#: The sizes and options each encoder reads (of ``norm``, ``out_dim``, ``width``): the MLP has
#: no norm and its output size is free; the token encoders' outputs are fixed by their token
#: grid (z = 256 for digits_cnn, 2048 for resnet18_tokens) and only the ResNet has a width.
ENCODER_SETTINGS = {"mlp": ("out_dim",), "digits_cnn": ("norm",),
                    "resnet18_tokens": ("norm", "width")}

#: What each encoder takes: ``"any"`` sample (the MLP flattens it) or ``"image"`` (C, H, W).
ENCODER_INPUTS = {"mlp": "any", "digits_cnn": "image", "resnet18_tokens": "image"}


def build_encoder(name: str, *, input_shape, key, dtype=jnp.float32, norm: str | None = None,
                  d_f: int | None = None, out_dim: int = 256, width: int = 64):
    """Build encoder ``name`` for inputs of ``input_shape`` ((C, H, W) images or (F,) vectors);
    returns ``(model, state)`` with parameters in ``dtype``."""
    check.choice("encoder", name, ENCODERS)
    shape = tuple(int(s) for s in input_shape)
    if name == "mlp":
        return eqx.nn.make_with_state(MLPEncoder)(math.prod(shape), out_dim, key=key,
                                                  dtype=dtype)
    if len(shape) != 3:
        raise ValueError(f"encoder={name!r} needs (C, H, W) images, got input_shape={shape}")
    if name == "digits_cnn":
        return eqx.nn.make_with_state(DigitsTokenCNN)(
            in_channels=shape[0], d_f=d_f or 16, norm=norm or "group", key=key, dtype=dtype)
    return eqx.nn.make_with_state(ResNet18Tokens)(
        in_channels=shape[0], d_f=d_f or 32, norm=norm or "batch", width=width, key=key,
        dtype=dtype)


def apply_encoder(model, state, x):
    """Run the per-sample ``model`` on a batch ``x`` (B, ...) over the named axis ``"batch"``;
    returns (dict of batched outputs, new state)."""
    return jax.vmap(model, in_axes=(0, None), out_axes=(0, None), axis_name="batch")(x, state)
