r"""Label-noise frustration: the coupling it induces and the collapse rate it predicts.

Paper: L. H. Yao, Y. Li, S. Liu, arXiv:2604.09979.  CONFIRMED (abstract, summaries): a small
fraction of frustrated samples -- samples that cannot be classified consistently -- drives a
slow collapse of the label embeddings; in the linear teacher-student check the frustration is
label noise.  The mapping below, from label noise and a real encoder to Model A, is the
RECONSTRUCTION of this toolkit; it is exact for the embedding-only "rigid-class"
model and an approximation for real encoders, whose failure modes are measured, not assumed.

Setting.  N samples with true classes c_i and noisy labels l_i (a flipped sample keeps the
input of its class and gets another label); a network maps sample i to x_i; label embeddings
y_k are free parameters; the loss is Model A with the noisy one-hot coupling,

    L = (nu/2) sum_i ||x_i - y_{l_i}||^2.

1. Free sample embeddings (no encoder): A_ik = 1[l_i = k] has one link per row, the bipartite
   graph is a union of stars, and Model A predicts *no* collapse (every slow rate is 0).
   Label noise alone is not frustration.
2. Rigid-class encoder: the network cannot tell a flipped sample from its class-mates, so all
   samples of true class c share one embedding x_c.  Then L = (nu/2) sum_{c,k} C_ck
   ||x_c - y_k||^2 with the **confusion counts** C_ck = #{i : c_i = c, l_i = k}: Model A on K
   class nodes and K labels with coupling A = C.  A flip c -> k is a frustrated link between
   label c and label k, so the class graph is connected and the labels collapse.
3. Rates.  Full-batch gradient descent with step eta_x on the class embeddings and eta_y on
   the labels is the linear map Z_{s+1} = (I - nu H L_G(C)) Z_s, H = diag(eta_x I, eta_y I):
   a mode with eigenvalue mu of nu H L_G decays by (1 - mu) per step, i.e. at the rate
   -log(1 - mu) per step (= mu to first order).  For a real encoder trained with step
   eta_theta, the class mean moves with eta_x = eta_theta kappa, kappa the within-class
   neural tangent kernel (per output coordinate), and the labels with eta_y = their own step.
4. Adiabatic limit (encoder fast, eta_x -> infinity): x_c is slaved to sum_k C_ck y_k / n_c and
   the labels follow Y_{s+1} = (I - eta_y nu L_eff) Y_s, L_eff = D_y - C^T D_x^{-1} C (spec
   §2.6c): the prediction no longer depends on the encoder's kernel, only on the label step.
   For symmetric noise (each class sends m' = p n/(K - 1) samples to every other class, so
   C = n[(1 - p) I + p/(K - 1) (J - I)]) every zero-sum mode has the same rate

       mu = nu n eta_x eta_y (1 - a^2) * 2 / [ (eta_x + eta_y) + sqrt((eta_x + eta_y)^2
            - 4 eta_x eta_y (1 - a^2)) ],   a = 1 - pK/(K - 1),

   -> nu n eta_y (1 - a^2) for eta_x -> infinity, ~ 2 nu n eta_y pK/(K - 1) at small p.

The prediction for a real encoder is therefore the adiabatic rate of the measured confusion
counts; it fails where the encoder separates flipped samples from their class (memorisation:
the effective coupling drops below C) or is slow compared with the labels.

5. Beyond one scalar eta_x: a real encoder moves its K class nodes with a
   K x K step matrix E (the class-node kernel), not eta_x I; measured on digits its common
   mode (all classes moving together) is ~20x its zero-sum modes.  :func:`kernel_rates`,
   :func:`kernel_trajectory` and :func:`two_mode_kernel` carry E into the prediction; for
   symmetric noise only the zero-sum step enters the collapse rate
   (:func:`kernel_rates` docstring).
"""

from __future__ import annotations

import numpy as np

from . import validation as check
from .coupling import validate_coupling

__all__ = [
    "NOISE_MODES",
    "flip_labels",
    "confusion_counts",
    "sample_coupling",
    "expected_confusion",
    "class_node_generator",
    "class_node_rates",
    "adiabatic_rates",
    "symmetric_noise_rate",
    "per_step_rate",
    "class_node_trajectory",
    "two_mode_kernel",
    "kernel_modes",
    "kernel_generator",
    "kernel_rates",
    "kernel_trajectory",
]

NOISE_MODES = ("uniform", "symmetric")


def flip_labels(classes, n_classes: int, frustration: float, *, seed: int = 0,
                mode: str = "uniform") -> np.ndarray:
    r"""Noisy labels l_i from true classes c_i [RECONSTRUCTION, spec §4 label-noise mode].

    - ``uniform``: ``rng = default_rng(seed)``; flip mask ``rng.random(N) < p``, then
      ``o = rng.integers(K - 1, size=N)`` and l = o + (o >= c) where flipped (spec §4 order).
    - ``symmetric``: in every class, round(p n_c/(K - 1)) samples (the first ones of a
      seeded permutation) go to each other class, so the confusion counts are symmetric up
      to the class sizes and every zero-sum slow mode has one rate.
    """
    c = np.asarray(classes)
    if c.ndim != 1 or not np.issubdtype(c.dtype, np.integer):
        raise ValueError(f"classes must be a 1-D integer array, got dtype {c.dtype}, "
                         f"shape {c.shape}")
    K = check.integer("n_classes", n_classes, minimum=2)
    if c.size and (c.min() < 0 or c.max() >= K):
        raise ValueError(f"classes must lie in [0, {K - 1}], got range [{c.min()}, {c.max()}]")
    p = check.real("frustration", frustration, low=0.0, high=1.0)
    check.integer("seed", seed, minimum=0)
    check.choice("mode", mode, NOISE_MODES)
    rng = np.random.default_rng(seed)
    if mode == "uniform":
        flip = rng.random(c.size) < p
        o = rng.integers(K - 1, size=c.size)
        return np.where(flip, o + (o >= c), c).astype(c.dtype)
    labels = c.copy()
    for k in range(K):
        idx = np.flatnonzero(c == k)
        idx = idx[rng.permutation(idx.size)]
        m = int(np.floor(p * idx.size / (K - 1) + 0.5))
        if m * (K - 1) > idx.size:
            raise ValueError(f"frustration={p}: class {k} has {idx.size} samples, too few to "
                             f"send {m} to each of the other {K - 1} classes")
        others = [b for b in range(K) if b != k]
        for j, b in enumerate(others):
            labels[idx[j * m:(j + 1) * m]] = b
    return labels


def confusion_counts(classes, labels, n_classes: int) -> np.ndarray:
    """C_ck = #{i : c_i = c, l_i = k} (K x K, float): the class-node coupling of a rigid-class
    encoder."""
    K = check.integer("n_classes", n_classes, minimum=2)
    c, l = np.asarray(classes), np.asarray(labels)
    if c.shape != l.shape or c.ndim != 1:
        raise ValueError(f"classes and labels must be 1-D of equal shape, got {c.shape} and "
                         f"{l.shape}")
    for name, v in (("classes", c), ("labels", l)):
        if v.size and (v.min() < 0 or v.max() >= K):
            raise ValueError(f"{name} must lie in [0, {K - 1}]")
    C = np.zeros((K, K))
    np.add.at(C, (c, l), 1.0)
    return C


def sample_coupling(labels, n_classes: int) -> np.ndarray:
    """A_ik = 1[l_i = k]: the coupling seen by *free* sample embeddings (one link per row, a
    union of stars: Model A predicts no collapse)."""
    K = check.integer("n_classes", n_classes, minimum=2)
    l = np.asarray(labels)
    if l.size and (l.min() < 0 or l.max() >= K):
        raise ValueError(f"labels must lie in [0, {K - 1}]")
    return (l[:, None] == np.arange(K)[None, :]).astype(np.float64)


def expected_confusion(n_classes: int, n_per_class: float, frustration: float) -> np.ndarray:
    """E[C] = n [(1 - p) I + p/(K - 1) (J - I)] for balanced classes and uniform flips."""
    K = check.integer("n_classes", n_classes, minimum=2)
    n = check.positive("n_per_class", n_per_class)
    p = check.real("frustration", frustration, low=0.0, high=1.0)
    return n * ((1 - p) * np.eye(K) + p / (K - 1) * (np.ones((K, K)) - np.eye(K)))


def _rates(eta_x, eta_y, nu):
    eta_y = check.positive("eta_y", eta_y)
    nu = check.positive("nu", nu)
    eta_x = float(eta_x)
    if not (eta_x > 0):
        raise ValueError(f"eta_x={eta_x!r} must be > 0 (inf: the adiabatic limit)")
    return eta_x, eta_y, nu


def class_node_generator(C, *, eta_x: float, eta_y: float, nu: float = 1.0) -> np.ndarray:
    r"""nu H L_G(C) for K class nodes and K labels (state [X_classes; Y]), spec §2.4 with A = C:
    one full-batch GD step is Z <- (I - nu H L_G) Z [RECONSTRUCTION]."""
    from .frustration import laplacian

    C = validate_coupling(C)
    eta_x, eta_y, nu = _rates(eta_x, eta_y, nu)
    if not np.isfinite(eta_x):
        raise ValueError("eta_x=inf has no generator on the full state; use adiabatic_rates")
    h = np.concatenate([np.full(C.shape[0], eta_x), np.full(C.shape[1], eta_y)])
    return nu * h[:, None] * laplacian(C)


def adiabatic_rates(C, *, eta_y: float, nu: float = 1.0) -> np.ndarray:
    r"""The K - 1 slow rates for a fast encoder (eta_x -> infinity), ascending [RECONSTRUCTION]:
    eigenvalues 2..K of nu eta_y L_eff, L_eff = D_y - C^T D_x^{-1} C (spec §2.6c), per unit
    time (per step: :func:`per_step_rate`)."""
    from .frustration import effective_label_operator

    C = validate_coupling(C)
    _, eta_y, nu = _rates(1.0, eta_y, nu)
    L_eff, _ = effective_label_operator(C)
    # L_eff = D_y (I - T) is similar to a symmetric matrix only with weights; C^T D_x^-1 C is
    # symmetric, so L_eff itself is symmetric here
    lam = np.linalg.eigvalsh(0.5 * (L_eff + L_eff.T))
    return nu * eta_y * np.clip(lam, 0.0, None)[1:]


def class_node_rates(C, *, eta_x: float, eta_y: float, nu: float = 1.0) -> np.ndarray:
    r"""The K - 1 slow eigenvalues of nu H L_G(C) (class nodes with step eta_x, labels with
    step eta_y), ascending [RECONSTRUCTION]; ``eta_x=inf`` gives :func:`adiabatic_rates`."""
    from .frustration import slow_eigenvalues

    eta_x, eta_y, nu = _rates(eta_x, eta_y, nu)
    if not np.isfinite(eta_x):
        return adiabatic_rates(C, eta_y=eta_y, nu=nu)
    return slow_eigenvalues(validate_coupling(C), eta_x=eta_x, eta_y=eta_y, nu=nu)


def symmetric_noise_rate(n_classes: int, n_per_class: float, frustration: float, *,
                         eta_x: float = np.inf, eta_y: float = 1.0, nu: float = 1.0) -> float:
    r"""Closed-form slow rate for C = E[C] (every zero-sum mode degenerate) [RECONSTRUCTION]:

        mu = 2 nu n eta_x eta_y (1 - a^2) / [s + sqrt(s^2 - 4 eta_x eta_y (1 - a^2))],
        s = eta_x + eta_y,  a = 1 - pK/(K - 1),

    the smaller eigenvalue of nu n [[eta_x, -eta_x a], [-eta_y a, eta_y]] (class amplitude and
    label amplitude of one zero-sum pattern); eta_x = inf gives nu n eta_y (1 - a^2).
    """
    K = check.integer("n_classes", n_classes, minimum=2)
    n = check.positive("n_per_class", n_per_class)
    p = check.real("frustration", frustration, low=0.0, high=1.0)
    eta_x, eta_y, nu = _rates(eta_x, eta_y, nu)
    one_minus_a2 = 1.0 - (1.0 - p * K / (K - 1)) ** 2
    if not np.isfinite(eta_x):
        return nu * n * eta_y * one_minus_a2
    s = eta_x + eta_y
    return 2 * nu * n * eta_x * eta_y * one_minus_a2 / (
        s + np.sqrt(s * s - 4 * eta_x * eta_y * one_minus_a2))


def per_step_rate(mu) -> np.ndarray:
    """Decay rate per GD step of a mode with eigenvalue mu of the step map: -log|1 - mu|
    (exact for discrete GD; mu to first order).  Requires 0 <= mu < 2 (stability)."""
    mu = np.asarray(mu, dtype=np.float64)
    if np.any(mu < 0) or np.any(mu >= 2):
        raise ValueError(f"mu must lie in [0, 2) for a stable step, got range "
                         f"[{mu.min():.3g}, {mu.max():.3g}]")
    return -np.log(np.abs(1.0 - mu))


def class_node_trajectory(C, X0, Y0, steps: int, *, eta_x: float, eta_y: float,
                          nu: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Labels and class embeddings after 0..steps full-batch GD steps of the rigid-class
    model, from the linear map Z <- (I - nu H L_G(C)) Z (``eta_x=inf``: labels follow
    Y <- (I - nu eta_y L_eff) Y with X slaved).  Returns (X (steps+1, K, d), Y (steps+1, K, d)).
    The prediction used for a real encoder started from its measured state."""
    from .frustration import effective_label_operator

    C = validate_coupling(C)
    steps = check.integer("steps", steps, minimum=0)
    eta_x, eta_y, nu = _rates(eta_x, eta_y, nu)
    Y0 = check.finite_array("Y0", Y0, ndim=2)
    g = C.sum(axis=1)
    if not np.isfinite(eta_x):
        L_eff, _ = effective_label_operator(C)
        step = np.eye(C.shape[1]) - nu * eta_y * L_eff
        Ys = [Y0]
        for _ in range(steps):
            Ys.append(step @ Ys[-1])
        Y = np.stack(Ys)
        return np.einsum("ck,skd->scd", C / g[:, None], Y), Y
    X0 = check.finite_array("X0", X0, ndim=2)
    step = np.eye(sum(C.shape)) - class_node_generator(C, eta_x=eta_x, eta_y=eta_y, nu=nu)
    Zs = [np.concatenate([X0, Y0])]
    for _ in range(steps):
        Zs.append(step @ Zs[-1])
    Z = np.stack(Zs)
    return Z[:, :C.shape[0]], Z[:, C.shape[0]:]


# --- class-node kernel with separate common and zero-sum steps -------------------------

def two_mode_kernel(n_classes: int, *, eta_common: float, eta_zero_sum: float) -> np.ndarray:
    r"""Class-node step matrix with one step per mode [RECONSTRUCTION/DERIVED]:

        E = eta_common J/K + eta_zero_sum (I - J/K),

    J the all-ones matrix: the common mode (every class node moving by the same vector)
    advances with eta_common per unit gradient, every zero-sum pattern with eta_zero_sum.
    eta_common = eta_zero_sum = eta_x gives E = eta_x I, the scalar mapping.
    """
    K = check.integer("n_classes", n_classes, minimum=2)
    eta_c = check.positive("eta_common", eta_common)
    eta_z = check.positive("eta_zero_sum", eta_zero_sum)
    P1 = np.full((K, K), 1.0 / K)
    return eta_c * P1 + eta_z * (np.eye(K) - P1)


def kernel_modes(kernel) -> tuple[float, float]:
    r"""(eta_common, eta_zero_sum) of a measured K x K class-node step matrix E:

        eta_common = 1^T E 1 / K,   eta_zero_sum = tr[(I - J/K) E] / (K - 1),

    the Rayleigh quotient on the common mode and the mean over the K - 1 zero-sum modes
    (exact for an E of the form :func:`two_mode_kernel`; a projection otherwise).
    """
    E = _kernel(kernel)
    K = E.shape[0]
    eta_c = float(E.sum() / K)
    return eta_c, float((np.trace(E) - eta_c) / (K - 1))


def _kernel(kernel, n_classes=None) -> np.ndarray:
    # symmetric to float32 round-off (a kernel measured as J J^T in f32); symmetrise a
    # kernel fitted from displacements, (E + E^T)/2, before passing it
    E = check.spd_matrix("kernel", kernel, rtol=1e-6)
    if n_classes is not None and E.shape[0] != n_classes:
        raise ValueError(f"kernel must be {n_classes} x {n_classes} (one row per class of C), "
                         f"got shape {E.shape}")
    return E


def kernel_generator(C, *, kernel, eta_y: float, nu: float = 1.0) -> np.ndarray:
    r"""nu H L_G(C) with H = blockdiag(E, eta_y I) [RECONSTRUCTION/DERIVED]: one full-batch
    GD step of the rigid-class model whose class nodes move with the step matrix E is
    Z <- (I - nu H L_G) Z (state [X_classes; Y]; derivation in :func:`kernel_rates`)."""
    from .frustration import laplacian

    C = validate_coupling(C)
    E = _kernel(kernel, C.shape[0])
    _, eta_y, nu = _rates(1.0, eta_y, nu)
    L = laplacian(C)
    # H L_G row block by row block: the class rows are mixed by E, the label rows scaled
    return nu * np.concatenate([E @ L[:C.shape[0]], eta_y * L[C.shape[0]:]])


def kernel_rates(C, *, kernel, eta_y: float, nu: float = 1.0) -> np.ndarray:
    r"""The K - 1 slow eigenvalues of nu H L_G(C), H = blockdiag(E, eta_y I), ascending
    [RECONSTRUCTION/DERIVED].

    Derivation.  Rigid classes (every sample of class c has the embedding x_c) and a network
    trained by full-batch GD with step eta_theta.  The per-sample gradient of
    L = (nu/2) sum_i ||x_i - y_{l_i}||^2 is g_i = nu (x_i - y_{l_i}), and one step moves the
    output of sample i by -eta_theta sum_j Theta(i, j) g_j, Theta the neural tangent kernel
    (assumed isotropic in the d output coordinates).  If Theta is constant on class blocks,
    Theta(i, j) = kappa_{c c'} for i in c, j in c' (what "rigid" means for the kernel), the
    class node moves by

        x_c <- x_c - sum_{c'} E_{c c'} G_{c'},   E = eta_theta kappa,
        G_{c'} = sum_{j in c'} g_j = nu (n_{c'} x_{c'} - sum_k C_{c'k} y_k) = dL/dx_{c'},

    i.e. X <- X - E dL/dX, while the labels take Y <- Y - eta_y dL/dY.  With
    dL/dZ = nu L_G(C) Z this is Z <- (I - nu H L_G) Z, H = blockdiag(E, eta_y I); the scalar
    mapping (:func:`class_node_generator`) is E = eta_x I.  For E symmetric positive definite
    H^{1/2} L_G H^{1/2} is symmetric and similar to H L_G, so the spectrum is real and >= 0;
    eigenvalue 1 is the joint translation (0), eigenvalues 2..K the slow label-difference
    modes (the convention of :func:`minimal_models.frustration.slow_eigenvalues`).

    Symmetric noise, C = n [a (I - J/K) + J/K], a = 1 - pK/(K - 1), and the two-mode kernel
    E = eta_c J/K + eta_z (I - J/K): C, E and D = n I all commute with the projectors J/K and
    I - J/K, so the generator splits into
    - the common mode: nu n [[eta_c, -eta_c], [-eta_y, eta_y]], eigenvalues 0 and
      nu n (eta_c + eta_y) (fast; it moves the mean of classes and labels, which d_min does
      not see), and
    - K - 1 copies of the zero-sum block nu n [[eta_z, -eta_z a], [-eta_y a, eta_y]], whose
      smaller eigenvalue is :func:`symmetric_noise_rate` with eta_x = eta_z.
    So under symmetric noise the collapse rate depends on the zero-sum step only; the
    common-mode step matters when C mixes the modes (unequal class sizes, sampled flips).
    """
    from .frustration import laplacian

    C = validate_coupling(C)
    E = _kernel(kernel, C.shape[0])
    _, eta_y, nu = _rates(1.0, eta_y, nu)
    lam_E, U_E = np.linalg.eigh(E)
    sqrt_E = (U_E * np.sqrt(lam_E)) @ U_E.T
    N, K = C.shape
    sqrt_H = np.zeros((N + K, N + K))
    sqrt_H[:N, :N] = sqrt_E
    sqrt_H[N:, N:] = np.sqrt(eta_y) * np.eye(K)
    S = sqrt_H @ laplacian(C) @ sqrt_H
    lam = np.linalg.eigvalsh(0.5 * (S + S.T))
    return nu * np.clip(lam, 0.0, None)[1:K]


def kernel_trajectory(C, X0, Y0, steps: int, *, kernel, eta_y: float,
                      nu: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Class embeddings and labels after 0..steps GD steps of the rigid-class model with the
    class-node step matrix E: Z <- (I - :func:`kernel_generator`) Z [RECONSTRUCTION/DERIVED].
    Returns (X (steps+1, K, d), Y (steps+1, K, d)); E = eta_x I gives
    :func:`class_node_trajectory`."""
    C = validate_coupling(C)
    steps = check.integer("steps", steps, minimum=0)
    X0 = check.finite_array("X0", X0, ndim=2)
    Y0 = check.finite_array("Y0", Y0, ndim=2)
    if X0.shape[0] != C.shape[0] or Y0.shape[0] != C.shape[1] or X0.shape[1] != Y0.shape[1]:
        raise ValueError(f"X0 {X0.shape} and Y0 {Y0.shape} must be ({C.shape[0]}, d) and "
                         f"({C.shape[1]}, d) for C of shape {C.shape}")
    step = np.eye(sum(C.shape)) - kernel_generator(C, kernel=kernel, eta_y=eta_y, nu=nu)
    Zs = [np.concatenate([X0, Y0])]
    for _ in range(steps):
        Zs.append(step @ Zs[-1])
    Z = np.stack(Zs)
    return Z[:, :C.shape[0]], Z[:, C.shape[0]:]
