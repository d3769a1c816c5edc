r"""Contrastive objective: NT-Xent / InfoNCE of SimCLR (REFERENCE google-research/simclr; spec
``ssl_objectives_and_metrics.md`` §2.5)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _common as c

__all__ = ["nt_xent"]


@c.jit_loss
def nt_xent(z1, z2, *, temperature=0.1, reduction="sum_views"):
    r"""NT-Xent (Chen et al., arXiv:2002.05709; REFERENCE):

        h = z / ||z||;  s_ab = h1 h2^T / tau;  s_aa = h1 h1^T / tau, diagonal masked (-1e9)
        l_a(n) = -log softmax([s_ab(n, :), s_aa(n, :)])_n;  l_b likewise with views swapped
        ``reduction="sum_views"`` (official): L = mean_n (l_a(n) + l_b(n))
        ``reduction="mean"`` (lightly, solo-learn): L = mean over the 2N anchors = L_official/2

    Negatives are all other embeddings of the batch passed in.  Collapsed input gives
    L_official = 2 log(2N - 1).  Returns ``(loss, logs)`` with ``pos_cos`` (mean positive
    cosine), ``std_l2``, ``loss``.
    """
    c.choice("reduction", reduction, ("sum_views", "mean"))
    tau = c.positive("temperature", temperature)
    z1, z2 = c.as_work(z1, z2)
    if z1.ndim != 2 or z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must both have shape (N, D), got {z1.shape} and "
                         f"{z2.shape}")
    n = z1.shape[0]
    c.require_batch("nt_xent", n, 2)   # every anchor needs a negative
    h1, h2 = c.l2_normalize(z1), c.l2_normalize(z2)
    mask = jnp.eye(n, dtype=bool)

    def anchor_losses(a, b):
        s_ab = a @ b.T / tau
        s_aa = jnp.where(mask, -1e9, a @ a.T / tau)
        logits = jnp.concatenate([s_ab, s_aa], axis=1)
        return jax.nn.logsumexp(logits, axis=1) - jnp.diagonal(s_ab)

    total = jnp.mean(anchor_losses(h1, h2) + anchor_losses(h2, h1))
    loss = total if reduction == "sum_views" else 0.5 * total
    return c.finish(loss, {"pos_cos": jnp.mean(jnp.sum(h1 * h2, axis=-1)),
                           "std_l2": c.std_l2(jnp.concatenate([z1, z2]))})
