r"""Model C: the linear teacher-student model with label-noise frustration.

Paper: arXiv:2604.09979.  CONFIRMED (abstract): the same qualitative dynamics (early accuracy
gain, then frustration-driven collapse) and the same prevention by a shared head with
stop-gradient are verified empirically in a *linear teacher-student model*.  Everything below
is the RECONSTRUCTION of ``shared/specs/minimal_collapse_model.md`` §4.

Task: teacher prototypes t_k = T e_k (T in R^{D x K} ~ N(0, 1)); P inputs
a_mu = (t_{c_mu} + sigma xi_mu)/sqrt(D) with uniform true classes c_mu; label noise: with
probability p the label l_mu is replaced by a uniform *other* class (frustrated samples).

Students (E in R^{d x D}, embeddings x_mu = E a_mu, trainable labels Y in R^{K x d}, full-batch
gradient flow), losses in :func:`minimal_models.objectives.collapse_models.model_c_loss`:

- ``plain``:  L = (1/2P) sum_mu ||E a_mu - y_{l_mu}||^2;
- ``head``:   L = (1/P) sum_mu [1/2 ||W E a_mu - sg(y_l)||^2 + 1/2 ||W y_l - sg(E a_mu)||^2]
  with stop-gradient strength alpha (1: SG head; 0: head without SG; partial in between).

These are Model A / Model B with A = one-hot(l) and nu = 1/P, evaluated at X = A_in E^T: the
vector fields below reuse :func:`minimal_models.stopgrad.vector_field` for the embedding
gradients and pull them back to E (dE/dt = eta_E (dX/dt)^T A_in with unit sample rate).
Conserved with SG (alpha = 1): Q_C = E E^T/eta_E + Y^T Y/eta_y - W^T W/eta_W.
"""

from __future__ import annotations

import numpy as np

from . import validation as check
from .precision import require_x64
from .stopgrad import check_alpha, vector_field as _model_b_field

require_x64()

__all__ = ["STUDENTS", "make_task", "initial_student", "one_hot_labels", "embeddings",
           "loss", "vector_field", "invariant_QC", "readout"]

STUDENTS = ("plain", "head")


def make_task(p, *, D=50, K=4, P=200, sigma=0.1, seed=0) -> dict:
    r"""Teacher task of spec §4 [RECONSTRUCTION], drawn with ``rng = default_rng(seed)`` in
    exactly this order: T (D x K), c (``integers(K, size=P)``), xi (P x D), flip mask
    (``random(P) < p``), o (``integers(K - 1, size=P)``); l = o + (o >= c) where flipped, else c.

    Returns a dict with ``inputs`` (P, D) rows a_mu = (t_{c_mu} + sigma xi_mu)/sqrt(D),
    ``classes`` (P,) true classes, ``labels`` (P,) noisy labels, ``flipped`` (P,) mask,
    ``teacher`` T, and ``rng_state`` (the generator state after the task, from which
    :func:`initial_student` continues the same stream).
    """
    p = check.real("p", p, low=0.0, high=1.0)
    D = check.integer("D", D, minimum=1)
    K = check.integer("K", K, minimum=2)
    P = check.integer("P", P, minimum=1)
    sigma = check.real("sigma", sigma, low=0.0)
    check.integer("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    T = rng.standard_normal((D, K))
    c = rng.integers(K, size=P)
    xi = rng.standard_normal((P, D))
    flipped = rng.random(P) < p
    o = rng.integers(K - 1, size=P)
    labels = np.where(flipped, o + (o >= c), c)
    inputs = (T[:, c].T + sigma * xi) / np.sqrt(D)
    return {"inputs": inputs, "classes": c, "labels": labels, "flipped": flipped,
            "teacher": T, "rng_state": rng.bit_generator.state}


def initial_student(task: dict, dim: int = 16, *, s_E: float = 1.0, s_y: float = 0.1,
                    s_W: float = 1.0) -> dict:
    r"""Initial student continuing the task's random stream (spec §4): E(0) = s_E N(0,1)^{d x D}
    / sqrt(D), then Y(0) = s_y N(0,1)^{K x d}; W(0) = s_W I_d.  s_E moves Q_C(0)."""
    d = check.integer("dim", dim, minimum=1)
    s_E = check.real("s_E", s_E, low=0.0)
    s_y = check.real("s_y", s_y, low=0.0)
    s_W = check.real("s_W", s_W, low=0.0)
    rng = np.random.default_rng()
    rng.bit_generator.state = task["rng_state"]
    P, D = task["inputs"].shape
    K = task["teacher"].shape[1]
    E = s_E * rng.standard_normal((d, D)) / np.sqrt(D)
    Y = s_y * rng.standard_normal((K, d))
    return {"E": E, "Y": Y, "W": s_W * np.eye(d)}


def one_hot_labels(labels, n_classes: int) -> np.ndarray:
    """A (P, K) with A_mu,k = 1[l_mu = k]: the coupling matrix of the student's loss."""
    labels = np.asarray(labels)
    return (labels[:, None] == np.arange(n_classes)[None, :]).astype(float)


def embeddings(inputs, E):
    """x_mu = E a_mu as rows: inputs E^T (P, d)."""
    return inputs @ E.T


def loss(inputs, labels_onehot, state, *, student="plain"):
    """The student's loss (spec §4) through the single definitions in
    :mod:`minimal_models.objectives.collapse_models` (value independent of alpha)."""
    from .objectives.collapse_models import model_a_loss, model_b_loss

    X = embeddings(inputs, state["E"])
    nu = 1.0 / inputs.shape[0]
    if student == "plain":
        return model_a_loss(X, state["Y"], labels_onehot, nu=nu)
    return model_b_loss(X, state["Y"], state["W"], labels_onehot, nu=nu)


def vector_field(inputs, labels_onehot, state, *, student="plain", alpha=1.0, eta_E=1.0,
                 eta_y=1.0, eta_W=1.0):
    r"""Gradient flow of a student (spec §4) [RECONSTRUCTION], a dict like ``state``
    (E, Y, W; W's velocity is 0 for the plain student).  Pure array code (numpy or JAX).

    With X = inputs E^T and the Model A/B velocities dX of unit sample rate,
    dE/dt = eta_E dX^T inputs (chain rule: E sees the loss only through the embeddings).
    Plain: dE = -(eta_E/P) sum_mu (x_mu - y_l) a_mu^T, dy_k = -(eta_y/P) sum_{l_mu = k}
    (y_k - x_mu).  Head: Model B's cross-shared field with A = one-hot(l), nu = 1/P.
    """
    E, Y, W = state["E"], state["Y"], state["W"]
    X = inputs @ E.T
    nu = 1.0 / inputs.shape[0]
    A = labels_onehot
    if student == "plain":
        R = X - A @ Y  # residuals x_mu - y_l
        dX = -nu * R
        dY = -eta_y * nu * (A.sum(axis=0)[:, None] * Y - A.T @ X)
        dW = 0.0 * W
    elif student == "head":
        v = _model_b_field(A, {"X": X, "Y": Y, "W": W}, alpha=alpha, eta_x=1.0, eta_y=eta_y,
                           eta_W=eta_W, nu=nu)
        dX, dY, dW = v["X"], v["Y"], v["W"]
    else:
        raise ValueError(f"student={student!r} is not one of {sorted(STUDENTS)}")
    return {"E": eta_E * (dX.T @ inputs), "Y": dY, "W": dW}


def invariant_QC(E, Y, W, *, eta_E=1.0, eta_y=1.0, eta_W=1.0):
    r"""Q_C = E E^T/eta_E + Y^T Y/eta_y - W^T W/eta_W (d x d), spec §3.3 [RECONSTRUCTION]:
    conserved by the SG head (alpha = 1).  Leading (time) axes are kept."""
    tr = lambda M: np.swapaxes(M, -1, -2) if isinstance(M, np.ndarray) else M.swapaxes(-1, -2)  # noqa: E731
    return E @ tr(E) / eta_E + tr(Y) @ Y / eta_y - tr(W) @ W / eta_W


def readout(inputs, state, *, student="plain"):
    """Readout r_mu for nearest-label accuracy (spec §2.7): x_mu (plain) or W x_mu (head)."""
    X = embeddings(inputs, state["E"])
    return X if student == "plain" else X @ state["W"].T


def check_student(student, alpha, eta_E=1.0, eta_y=1.0, eta_W=1.0):
    """Validate a student configuration (ValueError naming the parameter)."""
    check.choice("student", student, STUDENTS)
    check_alpha(alpha)
    for name, value in (("eta_E", eta_E), ("eta_y", eta_y), ("eta_W", eta_W)):
        check.positive(name, value)
