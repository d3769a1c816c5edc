r"""Losses of the minimal collapse models (A, B, C) as functions of the embeddings.

Paper: L. H. Yao, Y. Li, S. Liu, arXiv:2604.09979.  CONFIRMED (summaries): sample and label
embeddings are optimised directly under mean-squared-error objectives; stop-gradient through a
shared projection head prevents collapse.  The exact losses below are the RECONSTRUCTION of
``shared/specs/minimal_collapse_model.md`` (§2.3, §3.1, §4, §7).

One definition each, shared by the theory (gradient flows of :mod:`minimal_models.frustration`,
:mod:`minimal_models.stopgrad`, :mod:`minimal_models.teacher_student`, whose hand-derived
vector fields are tested equal to minus these gradients) and by real encoders (the embeddings
then come out of a network).  Pure JAX and dtype-generic: nothing here switches on float64.

Stop-gradient strength alpha in [0, 1] (beta = 1 - alpha).  A target t enters a loss as

    sg_alpha(t) = beta t + alpha sg(t)      (value t; gradient scaled by beta),

so alpha = 1 is the exact stop-gradient and alpha = 0 the full gradient.  For 0 < alpha < 1 the
resulting flow is not the gradient flow of any single function (spec §3.2); the "loss" then
defines the flow through ``jax.grad`` of this expression.
"""

from __future__ import annotations

import jax
import numpy as np

from minimal_models.distances import pairwise_sq_distances

from . import _common as c

__all__ = [
    "HEADS",
    "soft_stop_gradient",
    "model_a_loss",
    "model_b_loss",
    "model_c_loss",
]

HEADS = ("cross_shared", "sample_side_only", "shared_both_sg_label_branch")


def soft_stop_gradient(t, alpha):
    """sg_alpha(t) = (1 - alpha) t + alpha stop_gradient(t): the value of t, its gradient
    scaled by 1 - alpha."""
    return (1.0 - alpha) * t + alpha * jax.lax.stop_gradient(t)


def model_a_loss(X, Y, A, *, nu=1.0):
    r"""Model A (spec §2.3) [RECONSTRUCTION]: L_A = (nu/2) sum_{i,k} A_ik ||x_i - y_k||^2.

    X (N, d) sample embeddings, Y (K, d) label embeddings, A (N, K) coupling weights.
    numpy in, numpy out (fast host evaluation); JAX in (traceable), JAX out.
    """
    c.require_batch("model_a", np.shape(X)[0], 1)
    return 0.5 * nu * (A * pairwise_sq_distances(X, Y)).sum()


def model_b_loss(X, Y, W, A, *, alpha=1.0, nu=1.0, head="cross_shared"):
    r"""Model B, shared projection head W (d x d) with stop-gradient strength alpha
    (spec §3.1, §7) [RECONSTRUCTION]:

    - ``cross_shared`` (default): L_B = nu sum A_ik [ 1/2 ||W x_i - sg(y_k)||^2
      + 1/2 ||W y_k - sg(x_i)||^2 ];
    - ``sample_side_only``: L = nu sum A_ik 1/2 ||W x_i - sg(y_k)||^2 (head on the samples);
    - ``shared_both_sg_label_branch``: L = nu sum A_ik 1/2 ||W x_i - sg(W y_k)||^2 (one
      head on both sides, the label branch stopped, W included).

    sg is :func:`soft_stop_gradient` with strength ``alpha``.  The head's gradient is the same
    for every alpha in ``cross_shared`` and ``sample_side_only``.
    """
    c.require_batch("model_b", np.shape(X)[0], 1)
    WX = X @ W.T  # rows W x_i
    if head == "cross_shared":
        WY = Y @ W.T
        pred_x = pairwise_sq_distances(WX, soft_stop_gradient(Y, alpha))
        pred_y = pairwise_sq_distances(soft_stop_gradient(X, alpha), WY)
        return 0.5 * nu * (A * (pred_x + pred_y)).sum()
    if head == "sample_side_only":
        return 0.5 * nu * (A * pairwise_sq_distances(WX, soft_stop_gradient(Y, alpha))).sum()
    if head == "shared_both_sg_label_branch":
        WY = soft_stop_gradient(Y @ W.T, alpha)
        return 0.5 * nu * (A * pairwise_sq_distances(WX, WY)).sum()
    raise ValueError(f"head={head!r} is not one of {sorted(HEADS)}")


def model_c_loss(E, Y, W, inputs, labels, *, student="plain", alpha=1.0):
    r"""Model C, the linear teacher-student students (spec §4) [RECONSTRUCTION].

    Embeddings x_mu = E a_mu (E: d x D, ``inputs``: P x D rows a_mu), labels l_mu in 0..K-1:

    - ``plain``: L = (1/2P) sum_mu ||E a_mu - y_{l_mu}||^2 (``W`` unused, may be None);
    - ``head``:  L = (1/P) sum_mu [1/2 ||W E a_mu - sg(y_l)||^2 + 1/2 ||W y_l - sg(E a_mu)||^2]
      with stop-gradient strength ``alpha`` (1: SG head, 0: head without SG).

    Both are Model A / Model B losses with A = one-hot(labels) and nu = 1/P, evaluated at
    X = inputs E^T, so E receives its gradient through the embeddings only.
    """
    X = inputs @ E.T
    A = jax.nn.one_hot(labels, Y.shape[0], dtype=X.dtype)
    nu = 1.0 / inputs.shape[0]
    if student == "plain":
        return model_a_loss(X, Y, A, nu=nu)
    if student == "head":
        return model_b_loss(X, Y, W, A, alpha=alpha, nu=nu)
    raise ValueError(f"student={student!r} is not one of ['head', 'plain']")
