r"""Hypersolid: short-range hard-ball repulsion with max-pool view alignment.

Paper: E. Rodriguez-Betancourt and E. Casasola-Murillo, "Hypersolid: Emergent Vision
Representations via Short-Range Repulsion", arXiv:2601.21255.  CONFIRMED (abstract / summary):
the mechanism -- short-range repulsion with a fixed exclusion radius, gradients only when the
constraint is violated, view alignment by max-pooling, weak L2 normalisation.  Everything
numerical here (the normalisation options, the harmonic overlap, the pooling options, the
1/M normaliser, the diagnostics) is our RECONSTRUCTION, spec ``ssl_objectives_and_metrics.md``
§1.2-§1.5; every free choice is a keyword.

Layout: views (V, N, D), view-major (``views[v, i]`` is view v of image i); M = V N.
:func:`views_from_image_major` / :func:`image_major_from_views` convert from / to (N V, D).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from minimal_models.distances import pairwise_sq_distances

from . import _common as c

__all__ = ["NORMS", "ALIGN_POOLS", "views_from_image_major", "image_major_from_views",
           "hypersolid_normalize", "hypersolid"]

NORMS = ("ring", "batch", "hard", "clip")
ALIGN_POOLS = ("max_pair", "max_centroid", "max_sim")


def views_from_image_major(z, n_views: int):
    """(N V, D) with rows [img0 view0, img0 view1, ...] -> (V, N, D)."""
    c.integer("n_views", n_views, minimum=1)
    z = jnp.asarray(z)
    if z.ndim != 2 or z.shape[0] % n_views:
        c.shape_error("z", z, f"(N * {n_views}, D)")
    return jnp.swapaxes(jnp.reshape(z, (-1, n_views, z.shape[1])), 0, 1)


def image_major_from_views(views):
    """(V, N, D) -> (N V, D), the inverse of :func:`views_from_image_major`."""
    views = jnp.asarray(views)
    c.require_ndim("views", views, 3, "(V, N, D)")
    return jnp.reshape(jnp.swapaxes(views, 0, 1), (-1, views.shape[-1]))


def hypersolid_normalize(z, norm: str = "ring", *, R=1.0, eps=1e-12):
    r"""Weak normalisation z -> z_tilde and its extra term (RECONSTRUCTION, spec §1.2 step 1):

    ``ring``: z_tilde = z, L_norm = mean_a (||z_a|| - R)^2;  ``batch``: z / sqrt(mean_a ||z_a||^2
    + eps);  ``hard``: z / ||z||;  ``clip``: z / max(1, ||z||).  z: (..., D).
    Returns ``(z_tilde, L_norm)`` (L_norm = 0 outside ``ring``).
    """
    c.choice("norm", norm, NORMS)
    z = c.as_work(z)
    nrm = c.safe_norm(z)
    zero = jnp.zeros((), z.dtype)
    if norm == "ring":
        return z, jnp.mean((nrm - R) ** 2)
    if norm == "batch":
        return z / jnp.sqrt(jnp.mean(nrm**2) + eps), zero
    if norm == "hard":
        return z / jnp.maximum(nrm, eps)[..., None], zero
    return z / jnp.maximum(1.0, nrm)[..., None], zero


_METHOD = {"diff": "difference", "gram": "gram"}


def _pair_sq_dists(x, form):
    """Squared distances of the rows of x (M, D) by :func:`minimal_models.distances.
    pairwise_sq_distances`: from differences (``"diff"``: exact, O(M^2 D) memory) or from the
    Gram matrix (``"gram"``: cheap; error ~1e-7 ||z||^2 in float32, clipped at 0)."""
    return pairwise_sq_distances(x, method=_METHOD[form])


def _pick(values, mode):
    """max/min along the last axis with the (sub)gradient on the first arg-max/min only
    (jnp.max would share it among ties)."""
    idx = jax.lax.stop_gradient(jnp.argmax(values, axis=-1) if mode == "max"
                                else jnp.argmin(values, axis=-1))
    return jnp.take_along_axis(values, idx[..., None], axis=-1)[..., 0]


def _alignment(zt, pool, form):
    """L_align of views zt (V, N, D) (spec §1.2 step 3); 0 for V = 1."""
    n_views, n, _ = zt.shape
    if n_views == 1:
        return jnp.zeros((), zt.dtype)
    per_image = jnp.swapaxes(zt, 0, 1)  # (N, V, D)
    if pool == "max_centroid":
        cen = jnp.mean(per_image, axis=1, keepdims=True)
        return jnp.mean(_pick(jnp.sum((per_image - cen) ** 2, axis=-1), "max"))
    d2 = jax.vmap(lambda x: _pair_sq_dists(x, form))(per_image)  # (N, V, V)
    if pool == "max_pair":
        iu, ju = jnp.triu_indices(n_views, k=1)
        return jnp.mean(_pick(d2[:, iu, ju], "max"))
    # max_sim: every view needs one close sibling
    rows_idx, cols_idx = np.nonzero(~np.eye(n_views, dtype=bool))   # static, row-major
    rows = jnp.reshape(d2[:, rows_idx, cols_idx], (n, n_views, n_views - 1))
    return jnp.mean(_pick(rows, "min"))


@c.jit_loss
def hypersolid(views, *, norm="ring", R=1.0, r=1.0, p=2, align_pool="max_pair",
               lam_align=1.0, lam_rep=1.0, lam_norm=None, viol_tol=1e-3, distance="auto",
               eps=1e-12):
    r"""Hypersolid loss (RECONSTRUCTION of arXiv:2601.21255, spec ssl §1.2):

        L = lam_align L_align + lam_rep L_rep + lam_norm L_norm,
        L_rep = (1/M) sum_{unordered {a, b}, id(a) != id(b)} [max(0, r - d_ab)]^p,

    d_ab = ||z_tilde_a - z_tilde_b|| after the weak normalisation ``norm`` (ring / batch / hard /
    clip, :func:`hypersolid_normalize`).  L_align pools the views of each image:
    ``max_pair`` (1/N) sum_i max_{v<w} ||z_iv - z_iw||^2 (default), ``max_centroid``
    (1/N) sum_i max_v ||z_iv - c_i||^2, ``max_sim`` (1/M) sum_{i,v} min_{w!=v} ||z_iv - z_iw||^2;
    the pool passes gradient to the first arg-max/min only.  ``lam_norm`` defaults to 0.01 for
    ``ring`` and 0 otherwise.  The repulsion gate is exact: pairs with d >= r contribute 0 with
    zero gradient; sqrt is taken only where a pair violates and d^2 > eps, so coincident
    embeddings of different images add r^p with a finite (zero) gradient.

    views: (V, N, D).  ``distance``: ``"diff"`` (exact; O(M^2 D) memory), ``"gram"``
    (||a||^2 + ||b||^2 - 2 a.b clamped at 0; O(M^2) memory, for training at scale) or
    ``"auto"`` (default: ``diff`` while M^2 D <= 2^24, else ``gram``; the spec's default is
    ``diff``, which needs 8 GB for M = 1024, D = 2048 in float32).
    Returns ``(loss, logs)``; logs: ``align``, ``rep``, ``norm`` and the
    violation diagnostics of spec §1.3: ``frac_violating`` (ordered cross pairs with d < r(1 -
    viol_tol)), ``overlap_max``, ``contacts_per_point``, ``d_min_cross``, ``view_diameter``,
    plus ``std_l2`` and ``loss``.
    """
    c.choice("norm", norm, NORMS)
    c.choice("align_pool", align_pool, ALIGN_POOLS)
    c.choice("distance", distance, ("auto", "diff", "gram"))
    if p not in (1, 2):
        c.positive("p", p)
    r = c.positive("r", r)
    viol_tol = c.real("viol_tol", viol_tol, low=0.0, high=1.0, high_open=True)
    lam_norm = (0.01 if norm == "ring" else 0.0) if lam_norm is None else lam_norm
    views = c.as_work(views)
    c.require_ndim("views", views, 3, "(V, N, D)")
    n_views, n, _ = views.shape
    c.require_batch("hypersolid", n, 2)   # repulsion acts between different images
    m = n_views * n
    if distance == "auto":
        distance = "diff" if m * m * views.shape[-1] <= 2**24 else "gram"
    zt, l_norm = hypersolid_normalize(views, norm, R=R, eps=eps)

    flat = jnp.reshape(zt, (m, -1))
    ids = jnp.tile(jnp.arange(n), n_views)
    cross = ids[:, None] != ids[None, :]
    d2 = _pair_sq_dists(flat, distance)
    inside = cross & (d2 < r * r)
    pos = inside & (d2 > eps)
    dist = jnp.where(pos, jnp.sqrt(jnp.where(pos, d2, 1.0)), 0.0)
    overlap = jnp.where(inside, jnp.maximum(r - dist, 0.0), 0.0)
    l_rep = 0.5 * jnp.sum(jnp.where(inside, overlap**p, 0.0)) / m
    l_align = _alignment(zt, align_pool, distance)
    loss = lam_align * l_align + lam_rep * l_rep + lam_norm * l_norm

    # diagnostics (no gradient)
    dd = jnp.sqrt(jnp.maximum(jax.lax.stop_gradient(d2), 0.0))
    viol = cross & (dd < r * (1.0 - viol_tol))
    dt = dd.dtype
    n_viol = jnp.sum(viol).astype(dt)
    n_cross = jnp.maximum(jnp.sum(cross), 1).astype(dt)
    big = jnp.asarray(jnp.inf, dd.dtype)
    per_image = jnp.swapaxes(jax.lax.stop_gradient(zt), 0, 1)
    diam = jax.vmap(lambda x: jnp.max(jnp.sqrt(_pair_sq_dists(x, "diff"))))(per_image)
    logs = {
        "align": l_align, "rep": l_rep, "norm": l_norm,
        "frac_violating": n_viol / n_cross,
        "overlap_max": jnp.max(jnp.where(viol, r - dd, 0.0)),
        "contacts_per_point": n_viol / m,
        "d_min_cross": jnp.min(jnp.where(cross, dd, big)),
        "view_diameter": jnp.mean(diam),
        "std_l2": c.std_l2(views),
    }
    return c.finish(loss, logs)
