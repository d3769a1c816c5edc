r"""Coding-rate objectives: MMCR (nuclear norm of view centroids) and MCR^2 (REFERENCE:
ThomasYerxa/mmcr and ryanchankh/mcr2; spec ``ssl_objectives_and_metrics.md`` §2.6-2.7)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _common as c

__all__ = ["mmcr", "mcr2_coding_rate", "mcr2", "mcr2_views"]


@c.jit_loss
def mmcr(views, *, lam=0.0, normalize=True):
    r"""MMCR (Yerxa et al., arXiv:2303.03307; REFERENCE):

        z <- z / ||z|| per view (``normalize``);  Z_i = [z_i1 ... z_iV] in R^{D x V};
        c_i = mean_v z_iv,  C = [c_1; ...; c_N];  L = lam (1/N) sum_i ||Z_i||_* - ||C||_*

    (||.||_* = sum of singular values; official lam = 0, lightly lam = 5e-3).  views: (V, N, D).
    Returns ``(loss, logs)`` with ``centroid_nuc`` (||C||_*), ``local_nuc`` (mean ||Z_i||_*),
    ``std_l2``, ``loss``.
    """
    views = c.as_work(views)
    c.require_ndim("views", views, 3, "(V, N, D)")
    c.require_batch("mmcr", views.shape[1], 2)   # one centroid has no spread to maximise
    if normalize:
        views = c.l2_normalize(views)
    centroids = jnp.mean(views, axis=0)
    nuc = jnp.sum(jnp.linalg.svd(centroids, compute_uv=False))
    local = jnp.mean(jnp.sum(jnp.linalg.svd(jnp.swapaxes(views, 0, 1), compute_uv=False),
                             axis=-1))
    loss = lam * local - nuc
    return c.finish(loss, {"centroid_nuc": nuc, "local_nuc": local,
                           "std_l2": c.std_l2(views)})


def mcr2_coding_rate(z, *, eps_sq=0.5, gamma=1.0):
    r"""R(Z; eps) = 1/2 logdet(I_d + gamma d/(m eps^2) Z Z^T) for the rows of z (m, d) as the
    columns of Z (MCR^2, arXiv:2006.08558; the code's ``eps`` argument is eps^2)."""
    z = c.as_work(z)
    m, d = z.shape
    gram = z.T @ z
    return 0.5 * jnp.linalg.slogdet(jnp.eye(d, dtype=z.dtype) + gamma * d / (m * eps_sq) * gram)[1]


@c.jit_loss
def mcr2(z, labels, *, num_classes: int, eps_sq=0.5, gamma1=1.0, gamma2=1.0, normalize=True):
    r"""MCR^2 maximal coding-rate reduction (Yu et al., arXiv:2006.08558; REFERENCE
    ryanchankh/mcr2):

        R   = 1/2 logdet(I + gamma1 d/(m eps^2) Z Z^T)
        R_c = sum_j tr(Pi_j)/(2m) logdet(I + d/(tr(Pi_j) eps^2) Z Pi_j Z^T)
        L   = -gamma2 R + R_c,   Delta R = R - R_c

    z: (m, d) features (L2-normalised inside when ``normalize``), labels: (m,) ints in
    [0, num_classes).  Empty classes contribute 0.  Returns ``(loss, logs)`` with ``R``,
    ``R_c``, ``delta_R``, ``std_l2``, ``loss``.
    """
    c.integer("num_classes", num_classes, minimum=1)
    z = c.as_work(z)
    c.require_ndim("z", z, 2, "(m, d)")
    if normalize:
        z = c.l2_normalize(z)
    m, d = z.shape
    c.require_batch("mcr2", m, 2)   # the coding rate of one sample compresses nothing
    labels = jnp.asarray(labels)
    if labels.shape != (m,):
        c.shape_error("labels", labels, f"({m},)")
    r = mcr2_coding_rate(z, eps_sq=eps_sq, gamma=gamma1)
    onehot = jax.nn.one_hot(labels, num_classes, dtype=z.dtype)  # (m, C)
    counts = jnp.sum(onehot, axis=0)
    eye = jnp.eye(d, dtype=z.dtype)

    def class_rate(pi, tr):
        safe_tr = jnp.maximum(tr, 1.0)
        cov = (z * pi[:, None]).T @ z
        val = jnp.linalg.slogdet(eye + d / (safe_tr * eps_sq) * cov)[1]
        return jnp.where(tr > 0, tr / (2 * m) * val, 0.0)

    r_c = jnp.sum(jax.vmap(class_rate, in_axes=(1, 0))(onehot, counts))
    loss = -gamma2 * r + r_c
    return c.finish(loss, {"R": r, "R_c": r_c, "delta_R": r - r_c, "std_l2": c.std_l2(z)})


@c.jit_loss
def mcr2_views(views, *, eps_sq=0.5, gamma1=1.0, gamma2=1.0, normalize=True):
    """Self-supervised MCR^2: the V augmentations of image i form class i.  views (V, N, D)."""
    views = c.as_work(views)
    c.require_ndim("views", views, 3, "(V, N, D)")
    n_views, n, d = views.shape
    c.require_batch("mcr2", n, 2)   # with one image, one class: R = R_c and the loss says nothing
    return mcr2(jnp.reshape(views, (-1, d)), jnp.tile(jnp.arange(n), n_views), num_classes=n,
                eps_sq=eps_sq, gamma1=gamma1, gamma2=gamma2, normalize=normalize)
