r"""Redundancy-reduction objectives: VICReg and Barlow Twins (REFERENCE: the official code of
each method; spec ``ssl_objectives_and_metrics.md`` §2.1-2.2).

Two-view signature ``name(z1, z2, *, ...)``: z1, z2 (N, D), row i of z1 and of z2 are the two
views of image i.  Batch statistics use the whole batch passed in (under jit with a sharded
batch that is the global batch, the all-gather the spec asks for).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _common as c

__all__ = ["vicreg", "barlow_twins"]


def _two_views(z1, z2):
    z1, z2 = c.as_work(z1, z2)
    if z1.ndim != 2 or z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must both have shape (N, D), got {z1.shape} and "
                         f"{z2.shape}")
    return z1, z2


@c.jit_loss
def vicreg(z1, z2, *, inv_weight=25.0, var_weight=25.0, cov_weight=1.0, eps=1e-4,
           var_convention="official"):
    r"""VICReg (Bardes et al., arXiv:2105.04906; REFERENCE facebookresearch/vicreg):

        inv = (1/(N D)) sum (z1 - z2)^2
        std_d = sqrt(Var^{unbiased}_n(x_d) + eps) after centring each view
        var = 1/2 mean_d relu(1 - std1_d) + 1/2 mean_d relu(1 - std2_d)   (official, lightly)
              (``var_convention="solo"``: solo-learn's sum without the 1/2 factors)
        cov = (1/D) sum_{i != j} C(z1)_ij^2 + (1/D) sum_{i != j} C(z2)_ij^2,  C = x^T x/(N - 1)
        L = inv_weight inv + var_weight var + cov_weight cov

    Returns ``(loss, logs)`` with ``inv``, ``var``, ``cov``, ``std_l2``, ``loss``.
    """
    c.choice("var_convention", var_convention, ("official", "solo"))
    z1, z2 = _two_views(z1, z2)
    n, d = z1.shape
    c.require_batch("vicreg", n, 2)
    inv = jnp.mean((z1 - z2) ** 2)

    def var_cov(x):
        x = x - jnp.mean(x, axis=0)
        std = jnp.sqrt(jnp.sum(x * x, axis=0) / (n - 1) + eps)
        cov = x.T @ x / (n - 1)
        off = jnp.sum(cov * cov) - jnp.sum(jnp.diagonal(cov) ** 2)
        return jnp.mean(jax.nn.relu(1.0 - std)), off / d

    v1, c1 = var_cov(z1)
    v2, c2 = var_cov(z2)
    var = (0.5 if var_convention == "official" else 1.0) * (v1 + v2)
    cov = c1 + c2
    loss = inv_weight * inv + var_weight * var + cov_weight * cov
    return c.finish(loss, {"inv": inv, "var": var, "cov": cov,
                           "std_l2": c.std_l2(jnp.concatenate([z1, z2]))})


@c.jit_loss
def barlow_twins(z1, z2, *, lam=0.0051, bn_eps=1e-5, scale=1.0):
    r"""Barlow Twins (Zbontar et al., arXiv:2103.03230; REFERENCE facebookresearch/barlowtwins):

        z_hat = (z - mean_n z) / sqrt(Var^{biased}_n z + bn_eps)   (BatchNorm without affine)
        C = z_hat1^T z_hat2 / N,   L = scale [sum_i (1 - C_ii)^2 + lam sum_{i != j} C_ij^2]

    solo-learn: ``lam=5e-3, scale=0.025``.  Returns ``(loss, logs)`` with ``on_diag``
    (sum (1 - C_ii)^2), ``off_diag`` (sum_{i!=j} C_ij^2), ``std_l2``, ``loss``.
    """
    z1, z2 = _two_views(z1, z2)
    n = z1.shape[0]
    c.require_batch("barlow_twins", n, 2)   # the per-dimension batch variance needs two

    def bn(x):
        return (x - jnp.mean(x, axis=0)) / jnp.sqrt(jnp.var(x, axis=0) + bn_eps)

    corr = bn(z1).T @ bn(z2) / n
    diag = jnp.diagonal(corr)
    on = jnp.sum((1.0 - diag) ** 2)
    off = jnp.sum(corr * corr) - jnp.sum(diag**2)
    loss = scale * (on + lam * off)
    return c.finish(loss, {"on_diag": on, "off_diag": off,
                           "std_l2": c.std_l2(jnp.concatenate([z1, z2]))})
