r"""Augmentations in pure JAX, run inside the jitted training step.

Each augmentation is a per-image function ``(u, noise, image) -> image`` on channel-first images
with values in [0, 1], reading its randomness from ``u`` (a vector of U(0, 1) draws) and
``noise`` (N(0, 1) of the image's shape); :func:`make_augment` draws them for V views of a
batch (independent per view and image) and lifts the function with ``jax.vmap``.  Random numbers
have explicit dtypes (float32 uniforms, noise in the image's dtype), so nothing depends on JAX's
x64 switch.

- ``digits`` (spec ``hamiltonian_geometry.md`` §9, RECONSTRUCTION): integer translation in
  {-1, 0, 1}^2 padded with the background value 0; affine rotation +-10 deg and scale 0.9-1.1,
  bilinear; contrast x U(0.8, 1.2), brightness + U(-0.1, 0.1); Gaussian noise sigma = 0.05;
  a 2x2 erasing with p = 0.25; no flips (digits are chirality-sensitive).
- ``cifar`` (spec §4.2, the author's CIFAR pipeline, CONFIRMED; our JAX versions are
  RECONSTRUCTION where torchvision's sampling is not reproducible in a fixed-shape jit):
  RandomResizedCrop(scale=(0.3, 1), ratio=(3/4, 4/3)) drawn once (torchvision retries up to 10
  times; we clip the box to the image instead), horizontal flip p = 0.5; ColorJitter(0.4, 0.4,
  0.2, 0.1) with p = 0.8 in the fixed order brightness, contrast, saturation, hue (torchvision
  permutes the order); grayscale p = 0.2; Gaussian blur kernel 3, sigma ~ U(0.1, 2), p = 0.5
  (reflect padding); solarize at 128/255 with p = 0.2.
- ``noise``: x + 0.1 N(0, I) (vectors, e.g. the Gaussian-mixture data).
- ``none``: the identity (both views equal the input).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

__all__ = ["AUGMENTATIONS", "AUGMENTATION_INPUTS",
           "digits_view", "cifar_view", "noise_view", "make_augment",
           "rgb_to_hsv", "hsv_to_rgb"]


def _lerp(u, low, high):
    """Map a U(0, 1) draw to U(low, high)."""
    return low + (high - low) * u


def _affine_resample(image, matrix, offset, out_shape=None):
    """Bilinear resampling out[c, i, j] = image[c, matrix @ (i, j) + offset], zero outside;
    the output grid is ``out_shape`` (h, w), by default the image's.  Written with four flat
    gathers (``jax.scipy.ndimage.map_coordinates`` does the same but compiles ~10x slower)."""
    _, hin, win = image.shape
    h, w = image.shape[1:] if out_shape is None else out_shape
    ii, jj = jnp.meshgrid(jnp.arange(h, dtype=image.dtype), jnp.arange(w, dtype=image.dtype),
                          indexing="ij")
    src_i = matrix[0, 0] * ii + matrix[0, 1] * jj + offset[0]
    src_j = matrix[1, 0] * ii + matrix[1, 1] * jj + offset[1]
    i0, j0 = jnp.floor(src_i), jnp.floor(src_j)
    fi, fj = src_i - i0, src_j - j0
    i0, j0 = i0.astype(jnp.int32), j0.astype(jnp.int32)
    flat = image.reshape(image.shape[0], -1)
    out = jnp.zeros((image.shape[0], h, w), image.dtype)
    for di, dj, wt in ((0, 0, (1 - fi) * (1 - fj)), (0, 1, (1 - fi) * fj),
                       (1, 0, fi * (1 - fj)), (1, 1, fi * fj)):
        ri, rj = i0 + di, j0 + dj
        inside = (ri >= 0) & (ri < hin) & (rj >= 0) & (rj < win)
        idx = jnp.clip(ri, 0, hin - 1) * win + jnp.clip(rj, 0, win - 1)
        vals = jnp.take(flat, idx.reshape(-1), axis=1).reshape(image.shape[0], h, w)
        out = out + jnp.where(inside, wt, 0).astype(image.dtype) * vals
    return out


def digits_view(u, noise, image):
    """One augmented view of a digits image (1, 8, 8) in [0, 1] (spec §9, RECONSTRUCTION) from
    ``u``: 9 U(0, 1) draws, and ``noise``: N(0, 1) of the image's shape."""
    dt = image.dtype
    _, h, w = image.shape
    shift = jnp.floor(3 * u[0:2]).astype(dt) - 1            # integer in {-1, 0, 1}^2
    angle = _lerp(u[2], -10.0, 10.0) * (math.pi / 180.0)
    scale = _lerp(u[3], 0.9, 1.1)
    # inverse map about the centre: src = R(-angle)/scale (dst - c - shift) + c
    c = jnp.array([(h - 1) / 2, (w - 1) / 2], dtype=dt)
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    inv = jnp.stack([jnp.stack([cos, sin]), jnp.stack([-sin, cos])]) / scale
    offset = c - inv @ (c + shift)
    out = _affine_resample(image, inv, offset)
    out = out * _lerp(u[4], 0.8, 1.2) + _lerp(u[5], -0.1, 0.1)
    out = out + jnp.asarray(0.05, dt) * noise
    # 2x2 erasing at a uniform position, with probability 0.25
    top = jnp.floor(u[6] * (h - 1)).astype(jnp.int32)
    left = jnp.floor(u[7] * (w - 1)).astype(jnp.int32)
    rows = jnp.arange(h)[:, None]
    cols = jnp.arange(w)[None, :]
    patch = (rows >= top) & (rows < top + 2) & (cols >= left) & (cols < left + 2)
    erase = u[8] < 0.25
    return jnp.where(erase & patch[None], jnp.zeros((), dt), out).astype(dt)


def rgb_to_hsv(rgb):
    """(3, H, W) RGB in [0, 1] -> (3, H, W) HSV with hue in [0, 1)."""
    r, g, b = rgb
    maxc = jnp.max(rgb, axis=0)
    minc = jnp.min(rgb, axis=0)
    delta = maxc - minc
    safe = jnp.where(delta > 0, delta, 1)
    rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
    hue = jnp.where(maxc == r, bc - gc, jnp.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    hue = jnp.where(delta > 0, (hue / 6.0) % 1.0, 0.0)
    sat = jnp.where(maxc > 0, delta / jnp.where(maxc > 0, maxc, 1), 0.0)
    return jnp.stack([hue, sat, maxc]).astype(rgb.dtype)


def hsv_to_rgb(hsv):
    """Inverse of :func:`rgb_to_hsv`."""
    h, s, v = hsv
    i = jnp.floor(h * 6.0)
    f = h * 6.0 - i
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    i = i.astype(jnp.int32) % 6
    r = jnp.select([i == 0, i == 1, i == 2, i == 3, i == 4], [v, q, p, p, t], v)
    g = jnp.select([i == 0, i == 1, i == 2, i == 3, i == 4], [t, v, v, q, p], p)
    b = jnp.select([i == 0, i == 1, i == 2, i == 3, i == 4], [p, p, t, v, v], q)
    return jnp.stack([r, g, b]).astype(hsv.dtype)


def _gray(rgb):
    # ITU-R 601-2 luma, as torchvision's rgb_to_grayscale
    return (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]).astype(rgb.dtype)


def _blur(image, sigma):
    """Separable 3-tap Gaussian blur with reflect padding (torchvision GaussianBlur(3))."""
    x = jnp.arange(-1, 2, dtype=image.dtype)
    kern = jnp.exp(-0.5 * (x / sigma) ** 2)
    kern = kern / kern.sum()
    pad = jnp.pad(image, ((0, 0), (1, 1), (1, 1)), mode="reflect")
    rows = kern[0] * pad[:, :-2, :] + kern[1] * pad[:, 1:-1, :] + kern[2] * pad[:, 2:, :]
    return kern[0] * rows[:, :, :-2] + kern[1] * rows[:, :, 1:-1] + kern[2] * rows[:, :, 2:]


def cifar_view(u, noise, image, *, crop_scale=(0.3, 1.0)):
    """One augmented view of an RGB image (3, H, W) in [0, 1] (spec §4.2; see module doc)
    from ``u``: 14 U(0, 1) draws (``noise`` is unused)."""
    del noise
    dt = image.dtype
    _, h, w = image.shape
    # RandomResizedCrop
    area = _lerp(u[0], crop_scale[0], crop_scale[1]) * (h * w)
    log_ratio = _lerp(u[1], math.log(3 / 4), math.log(4 / 3))
    ratio = jnp.exp(log_ratio)
    cw = jnp.clip(jnp.sqrt(area * ratio), 1.0, w)
    ch = jnp.clip(jnp.sqrt(area / ratio), 1.0, h)
    top = u[2] * (h - ch)
    left = u[3] * (w - cw)
    flip = u[4] < 0.5
    sx = cw / w
    sy = ch / h
    # output pixel centre (i + 0.5) maps to top + (i + 0.5) * ch / h - 0.5 in source pixels
    col_scale = jnp.where(flip, -sx, sx)
    col_off = jnp.where(flip, left + (w - 0.5) * sx - 0.5, left + 0.5 * sx - 0.5)
    matrix = jnp.stack([jnp.stack([sy, jnp.zeros((), dt)]),
                        jnp.stack([jnp.zeros((), dt), col_scale])])
    offset = jnp.stack([top + 0.5 * sy - 0.5, col_off])
    # sampling inside [0, size-1] only: clamp so that edge pixels replicate instead of fading
    out = _affine_resample(jnp.pad(image, ((0, 0), (1, 1), (1, 1)), mode="edge"), matrix,
                           offset + 1.0, (h, w))
    # ColorJitter(0.4, 0.4, 0.2, 0.1) with p = 0.8
    bright = _lerp(u[5], 0.6, 1.4)
    contrast = _lerp(u[6], 0.6, 1.4)
    satur = _lerp(u[7], 0.8, 1.2)
    hue = _lerp(u[8], -0.1, 0.1)
    j = jnp.clip(out * bright, 0, 1)
    j = jnp.clip(contrast * j + (1 - contrast) * jnp.mean(_gray(j)), 0, 1)
    j = jnp.clip(satur * j + (1 - satur) * _gray(j)[None], 0, 1)
    hsv = rgb_to_hsv(j)
    j = hsv_to_rgb(hsv.at[0].set((hsv[0] + hue) % 1.0))
    out = jnp.where(u[9] < 0.8, j, out)
    out = jnp.where(u[10] < 0.2, jnp.broadcast_to(_gray(out), out.shape),
                    out)
    sigma = _lerp(u[11], 0.1, 2.0)
    out = jnp.where(u[12] < 0.5, _blur(out, sigma), out)
    out = jnp.where((u[13] < 0.2) & (out >= 128 / 255), 1 - out, out)
    return out.astype(dt)


def noise_view(u, noise, x):
    """x + 0.1 N(0, I): the augmentation of vector data (Gaussian mixtures)."""
    del u
    return x + jnp.asarray(0.1, x.dtype) * noise


# name -> (view function, number of uniforms it reads, whether it reads Gaussian noise)
AUGMENTATIONS = {"digits": (digits_view, 9, True), "cifar": (cifar_view, 14, False),
                 "noise": (noise_view, 0, True), "none": (lambda u, noise, x: x, 0, False)}

#: What each augmentation takes: ``"image"`` (C, H, W), ``"rgb_image"`` (3, H, W: colour jitter,
#: grayscale) or ``"any"`` sample.
AUGMENTATION_INPUTS = {"digits": "image", "cifar": "rgb_image", "noise": "any", "none": "any"}


def make_augment(name: str, n_views: int, *, mean=0.0, std=1.0):
    """``(key, batch) -> views`` of shape (n_views, B, ...): every view of every image gets its
    own draws; the result is standardised as ``(x - mean) / std`` (the data set's statistics,
    broadcast against one image).  All random numbers of a step are drawn in two calls
    (uniforms and Gaussian noise) in the batch's dtype: per-image keys under ``vmap`` made the
    step compile ~20x slower on CPU."""
    if name not in AUGMENTATIONS:
        raise ValueError(f"augment={name!r} is not one of {sorted(AUGMENTATIONS)}")
    view, n_uniform, uses_noise = AUGMENTATIONS[name]

    def augment(key, batch):
        dt = batch.dtype
        k_u, k_n = jax.random.split(key)
        lead = (n_views, batch.shape[0])
        # uniforms in float32 at least: bf16 has too few mantissa bits for crop offsets
        u = jax.random.uniform(k_u, (*lead, max(n_uniform, 1)), dtype=jnp.float32)
        noise = (jax.random.normal(k_n, (*lead, *batch.shape[1:]), dtype=dt) if uses_noise
                 else jnp.zeros(lead, dt))
        images = jnp.broadcast_to(batch, (n_views, *batch.shape))
        views = jax.vmap(jax.vmap(view))(u, noise, images)
        m = jnp.asarray(mean, dt)
        s = jnp.asarray(std, dt)
        return ((views.astype(dt) - m) / s).astype(dt)

    return augment
