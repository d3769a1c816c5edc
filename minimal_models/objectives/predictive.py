r"""Asymmetric predictor objectives: SimSiam and BYOL (REFERENCE: the official code of each;
spec ``ssl_objectives_and_metrics.md`` §2.3-2.4).

Signature ``name(p1, p2, z1, z2, *, ...)``: p_v = predictor output of view v (online branch),
z_v = projector output of view v (target branch; the function applies ``stop_gradient`` to
it).  All (N, D).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _common as c

__all__ = ["simsiam", "byol", "byol_tau", "ema_update"]


def _four(objective, p1, p2, z1, z2):
    arrs = c.as_work(p1, p2, z1, z2)
    if arrs[0].ndim != 2 or any(a.shape != arrs[0].shape for a in arrs):
        raise ValueError("p1, p2, z1, z2 must all have the same shape (N, D), got "
                         f"{[a.shape for a in arrs]}")
    c.require_batch(objective, arrs[0].shape[0], 1)   # per-pair cosines: one pair suffices
    return arrs


def _cos(a, b):
    # torch.nn.functional.normalize convention (eps 1e-12), finite gradient at 0
    return jnp.sum(c.l2_normalize(a) * c.l2_normalize(b), axis=-1)


@c.jit_loss
def simsiam(p1, p2, z1, z2):
    r"""SimSiam (Chen & He, arXiv:2011.10566; REFERENCE facebookresearch/simsiam):

        D(p, z) = -cos(p, sg z),   L = 1/2 D(p1, z2) + 1/2 D(p2, z1)   (batch mean)

    Minimum -1.  Returns ``(loss, logs)`` with ``cos`` (mean of the two cosines), ``std_l2``
    (of z1, z2), ``loss``.
    """
    p1, p2, z1, z2 = _four("simsiam", p1, p2, z1, z2)
    sg = jax.lax.stop_gradient
    c12, c21 = jnp.mean(_cos(p1, sg(z2))), jnp.mean(_cos(p2, sg(z1)))
    loss = -0.5 * (c12 + c21)
    return c.finish(loss, {"cos": 0.5 * (c12 + c21),
                           "std_l2": c.std_l2(jnp.concatenate([z1, z2]))})


@c.jit_loss
def byol(p1, p2, z1, z2, *, form="official"):
    r"""BYOL (Grill et al., arXiv:2006.07733; REFERENCE deepmind-research/byol):

        l(q, z') = ||q_hat - z_hat'||^2 = 2 - 2 cos(q, z')
        ``form="official"``: L = mean_n [l(p1, sg z2) + l(p2, sg z1)]   (both directions summed)
        ``form="negcos"`` (lightly examples): L = -1/2 (mean cos(p1, z2) + mean cos(p2, z1))

    z_v are the target (EMA) network's projections.  Returns ``(loss, logs)`` with ``cos``,
    ``std_l2``, ``loss``.
    """
    c.choice("form", form, ("official", "negcos"))
    p1, p2, z1, z2 = _four("byol", p1, p2, z1, z2)
    sg = jax.lax.stop_gradient
    c12, c21 = jnp.mean(_cos(p1, sg(z2))), jnp.mean(_cos(p2, sg(z1)))
    loss = (4.0 - 2.0 * (c12 + c21)) if form == "official" else -0.5 * (c12 + c21)
    return c.finish(loss, {"cos": 0.5 * (c12 + c21),
                           "std_l2": c.std_l2(jnp.concatenate([z1, z2]))})


def byol_tau(step, total_steps, *, tau_base=0.996):
    r"""BYOL target decay tau_k = 1 - (1 - tau_base) (1 + cos(pi k / K)) / 2 (REFERENCE)."""
    tau_base = c.real("tau_base", tau_base, low=0.0, high=1.0)
    frac = jnp.asarray(step) / total_steps
    return 1.0 - (1.0 - tau_base) * 0.5 * (1.0 + jnp.cos(jnp.pi * frac))


def ema_update(target, online, tau):
    """xi <- tau xi + (1 - tau) theta on matching pytrees of arrays (the BYOL target update)."""
    return jax.tree.map(lambda t, o: tau * t + (1.0 - tau) * o, target, online)
