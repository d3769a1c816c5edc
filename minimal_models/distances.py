"""Pairwise distances between the rows of two arrays: the one definition used by the losses,
the collapse order parameters and the feature-geometry metrics.

Array methods only, so numpy in gives numpy out and JAX in gives JAX out (and the function can
be traced, vmapped and differentiated).  Two ways to the same numbers:

- ``method="difference"`` (default) forms every difference u_i - v_k: exact near collapse
  (no cancellation), memory O(len(U) len(V) d);
- ``method="gram"`` uses |u|^2 + |v|^2 - 2 u.v: memory O(len(U) len(V)), for large feature sets,
  with absolute error ~ eps |u|^2 (clipped at 0).
"""

from __future__ import annotations

__all__ = ["pairwise_sq_distances", "pairwise_distances"]

METHODS = ("difference", "gram")


def pairwise_sq_distances(U, V=None, *, method: str = "difference"):
    """||u_i - v_k||^2 for every row pair, shape (..., len(U), len(V)); V defaults to U.

    Leading batch dimensions are broadcast (rows are axis -2, components axis -1)."""
    V = U if V is None else V
    if method == "difference":
        return ((U[..., :, None, :] - V[..., None, :, :]) ** 2).sum(axis=-1)
    if method == "gram":
        uu = (U * U).sum(axis=-1)[..., :, None]
        vv = (V * V).sum(axis=-1)[..., None, :]
        d2 = uu + vv - 2.0 * (U @ V.swapaxes(-1, -2))
        return d2 * (d2 > 0)  # clip the cancellation error at 0, array-generically
    raise ValueError(f"method={method!r} is not one of {METHODS}")


def pairwise_distances(U, V=None, *, method: str = "difference"):
    """||u_i - v_k|| for every row pair (see :func:`pairwise_sq_distances`)."""
    return pairwise_sq_distances(U, V, method=method) ** 0.5
