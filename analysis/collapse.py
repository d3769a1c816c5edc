r"""Collapse order parameters of the label geometry (spec §2.7).

CONFIRMED (blog): the minimum distance between classes in representation space exposes the
collapse while accuracy rises and loss falls.  The exact set of order parameters is the
RECONSTRUCTION of spec §2.7.

All functions take one state (labels Y of shape (K, d), optionally with leading batch/time
axes where stated) and are pure ``jax.numpy`` code: they run on numpy input, inside ``jit`` and
under ``vmap``.  Optional boolean masks exclude padded rows, which is how the sweep engine runs
grids over K and n with one compiled shape.
"""

from __future__ import annotations

import jax.numpy as jnp

from minimal_models.distances import pairwise_distances, pairwise_sq_distances

__all__ = [
    "label_gram",
    "centred_gram",
    "label_distances",
    "d_min",
    "d_mean",
    "label_spread",
    "cosine_matrix",
    "collapse_ratio",
    "nearest_label_accuracy",
]


def label_gram(Y):
    """G = Y Y^T."""
    return Y @ jnp.swapaxes(Y, -1, -2)


def centred_gram(Y):
    """G_c = P_K G P_K with P_K = I - 1 1^T / K (the Gram matrix of the centred labels)."""
    Yc = Y - Y.mean(axis=-2, keepdims=True)
    return label_gram(Yc)


def label_distances(Y):
    """D_ab = sqrt(G_aa + G_bb - 2 G_ab), computed from differences for accuracy near collapse."""
    return pairwise_distances(Y)


def _pair_mask(K, label_mask):
    off_diag = ~jnp.eye(K, dtype=bool)
    if label_mask is None:
        return off_diag
    return off_diag & label_mask[..., :, None] & label_mask[..., None, :]


def d_min(Y, label_mask=None):
    """d_min = min_{a<b} ||y_a - y_b|| over the (unmasked) labels."""
    D = label_distances(Y)
    return jnp.min(jnp.where(_pair_mask(Y.shape[-2], label_mask), D, jnp.inf), axis=(-1, -2))


def d_mean(Y, label_mask=None):
    """Mean pairwise label distance over a < b."""
    pairs = _pair_mask(Y.shape[-2], label_mask)
    D = label_distances(Y)
    return jnp.sum(jnp.where(pairs, D, 0.0), axis=(-1, -2)) / jnp.sum(pairs, axis=(-1, -2))


def label_spread(Y, label_mask=None):
    r"""S = tr G_c = (1/K) sum_{a<b} D_ab^2 over the (unmasked) labels."""
    pairs = _pair_mask(Y.shape[-2], label_mask)
    K = Y.shape[-2] if label_mask is None else jnp.sum(label_mask, axis=-1)
    D2 = pairwise_sq_distances(Y)
    return 0.5 * jnp.sum(jnp.where(pairs, D2, 0.0), axis=(-1, -2)) / K


def cosine_matrix(Y, *, centred: bool = False):
    """G_ab / sqrt(G_aa G_bb) of the raw (or centred) labels."""
    G = centred_gram(Y) if centred else label_gram(Y)
    norms = jnp.sqrt(jnp.diagonal(G, axis1=-2, axis2=-1))
    return G / (norms[..., :, None] * norms[..., None, :])


def collapse_ratio(d_min_t):
    """d_min(t) / max_{s <= t} d_min(s) along the last (time) axis: 1 while separating, -> 0
    under collapse."""
    import jax.lax

    running_max = jax.lax.cummax(d_min_t, axis=d_min_t.ndim - 1)
    return d_min_t / running_max


def nearest_label_accuracy(R, Y, classes, frustrated, *, head=None, sample_mask=None,
                           label_mask=None, tie_rtol: float = 1e-6):
    r"""Nearest-label accuracy of readouts r_i against primary classes c_i (spec §2.7).

    c_hat_i = argmin_k ||r_i - y_k||; readout r_i = x_i for Model A and the plain Model C
    student; with a shared head pass ``head=W`` and the readout is r_i = W x_i (head space,
    mandatory for Models B/C with a head: raw-space accuracy is meaningless at SG fixed
    points, spec §3.4).
    Returns a dict with ``acc_all``, ``acc_cons`` (consistent samples), ``acc_frus`` (frustrated
    samples) and ``tie_frus``: the fraction of frustrated samples whose two nearest labels are
    equidistant to ``tie_rtol`` (at equilibrium they sit midway, so a tie is the expected end).
    Empty groups give NaN.
    """
    if head is not None:
        R = R @ head.T
    dist = pairwise_distances(R, Y)
    if label_mask is not None:
        dist = jnp.where(label_mask[None, :], dist, jnp.inf)
    correct = (jnp.argmin(dist, axis=1) == classes).astype(dist.dtype)
    two = jnp.sort(dist, axis=1)[:, :2]  # nearest, second nearest
    tie = (two[:, 1] - two[:, 0] <= tie_rtol * jnp.maximum(two[:, 1], 1e-300)).astype(dist.dtype)
    valid = jnp.ones(R.shape[0], bool) if sample_mask is None else sample_mask
    frus = valid & frustrated
    cons = valid & ~frustrated

    def mean(values, where):
        return jnp.sum(jnp.where(where, values, 0.0)) / jnp.sum(where)

    return {"acc_all": mean(correct, valid), "acc_cons": mean(correct, cons),
            "acc_frus": mean(correct, frus), "tie_frus": mean(tie, frus)}
