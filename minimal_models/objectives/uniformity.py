r"""KoLeo: the Kozachenko--Leonenko nearest-neighbour entropy regulariser (REFERENCE
facebookresearch/dinov2, arXiv:1806.03198; spec ``ssl_objectives_and_metrics.md`` §2.9)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _common as c

__all__ = ["koleo"]


@c.jit_loss
def koleo(x, *, eps=1e-8):
    r"""KoLeo (Sablayrolles et al., arXiv:1806.03198; DINOv2 code):

        x_hat = x / max(||x||, eps);  j(i) = argmax_{j != i} x_hat_i . x_hat_j (no gradient)
        L = -(1/N) sum_i log(||x_hat_i - x_hat_{j(i)}|| + eps)

    x: (N, D), N >= 2.  Ties in the arg-max go to the lowest index.  The distance uses a guarded
    sqrt, so coincident points give a finite loss (-log eps) and a finite gradient.  Returns
    ``(loss, logs)`` with ``nn_dist`` (mean nearest-neighbour distance), ``std_l2``, ``loss``.
    """
    eps = c.positive("eps", eps)
    x = c.as_work(x)
    c.require_ndim("x", x, 2, "(N, D)")
    n = x.shape[0]
    c.require_batch("koleo", n, 2)   # a nearest neighbour needs a second point
    xh = x / jnp.maximum(c.safe_norm(x, keepdims=True), eps)
    dots = jnp.where(jnp.eye(n, dtype=bool), -jnp.inf, xh @ xh.T)
    j = jax.lax.stop_gradient(jnp.argmax(dots, axis=1))
    dist = c.safe_norm(xh - xh[j])
    loss = -jnp.mean(jnp.log(dist + eps))
    return c.finish(loss, {"nn_dist": jnp.mean(dist), "std_l2": c.std_l2(x)})
