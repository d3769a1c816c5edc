r"""Coupling graphs, conventions and initial states shared by Models A, B and C.

Paper: L. H. Yao, Y. Li, S. Liu, "A Minimal Model of Representation Collapse: Frustration,
Stop-Gradient, and Dynamics", arXiv:2604.09979.  CONFIRMED (abstract): a small fraction of
frustrated samples -- samples that cannot be classified consistently -- drives the collapse.
The sampler, the normalisation presets and the initial conditions below are the
RECONSTRUCTION of ``shared/specs/minimal_collapse_model.md`` (§2.2, §2.8); every choice is a
parameter (§7).

A in R_{>=0}^{N x K}: A_ik is the weight of the training pair (sample i, label k); rows are
ordered by class (sample i = k n + j has primary class c_i = k).
"""

from __future__ import annotations

import numpy as np

from . import validation as check

__all__ = [
    "KINDS",
    "PAIRINGS",
    "INITS",
    "coupling_matrix",
    "sample_classes",
    "frustrated_count",
    "effective_frustration",
    "frustrated_mask",
    "partner_labels",
    "frustrated_link_share",
    "validate_coupling",
    "normalisation_factor",
    "preset",
    "initial_state",
    "HEAD_INITS",
    "head_init",
]

KINDS = ("clean", "hard", "soft")
PAIRINGS = ("uniform", "ring", "fixed_pair")
INITS = ("clustered", "iid", "zero_labels")


def frustrated_count(n_per_class: int, frustration: float) -> int:
    """Frustrated samples per class, f = floor(p n + 1/2) (spec §2.2 rounding rule)."""
    n = check.integer("n_per_class", n_per_class, minimum=1)
    p = check.real("frustration", frustration, low=0.0, high=1.0)
    return int(np.floor(p * n + 0.5))


def effective_frustration(n_per_class: int, frustration: float, kind: str = "hard") -> float:
    """The share of frustrated samples per class that the reference sampler actually draws,
    p_eff = f/n = floor(p n + 1/2)/n (0 for ``kind="clean"``).

    Frustration is quantised: with n samples per class only multiples of 1/n occur, so two
    nominal values can give the same coupling (n = 50: p = 0.05 and 0.065 both draw f = 3,
    p_eff = 0.06).  Predictions written for a share of frustrated samples -- the slow rates of
    :mod:`minimal_models.frustration` -- take p_eff, not the nominal p."""
    check.choice("kind", kind, KINDS)
    if kind == "clean":
        return 0.0
    return frustrated_count(n_per_class, frustration) / n_per_class


def sample_classes(n_classes: int, n_per_class: int) -> np.ndarray:
    """Primary class c_i of each sample: rows are ordered by class, i = k n + j."""
    return np.repeat(np.arange(n_classes), n_per_class)


def frustrated_mask(n_classes: int, n_per_class: int, frustration: float) -> np.ndarray:
    """True for the first f samples of every class, the frustrated ones of the reference sampler."""
    f = frustrated_count(n_per_class, frustration)
    return np.tile(np.arange(n_per_class) < f, n_classes)


def _partner(k: int, n_classes: int, pairing: str, rng: np.random.Generator) -> int:
    if pairing == "uniform":
        o = int(rng.integers(n_classes - 1))
        return o + (o >= k)  # uniform over the K - 1 other classes
    if pairing == "ring":
        return (k + 1) % n_classes
    # fixed_pair: 0<->1, 2<->3, ...; an odd last class pairs with its predecessor
    partner = k ^ 1
    return partner if partner < n_classes else k - 1


def coupling_matrix(
    n_classes: int,
    n_per_class: int,
    frustration: float,
    *,
    seed: int = 0,
    kind: str = "hard",
    q: float = 0.5,
    pairing: str = "uniform",
) -> np.ndarray:
    r"""Coupling matrix A (N x K) of the reference sampler, spec §2.2 [RECONSTRUCTION].

    Rows are ordered by class (sample i = k n + j has primary class c_i = k).  The first
    f = floor(p n + 1/2) samples of each class are frustrated and get a partner b_i != c_i:

    - ``kind="clean"``: A_{i,c_i} = 1 only (``frustration`` is ignored);
    - ``kind="hard"``:  A_{i,c_i} = A_{i,b_i} = 1 (degree 2);
    - ``kind="soft"``:  A_{i,c_i} = 1 - q, A_{i,b_i} = q (degree 1), q in (0, 1/2].

    Partners: ``pairing="uniform"`` draws, looping over k then j with
    ``rng = numpy.random.default_rng(seed)``, o = rng.integers(K - 1) and b = o + (o >= k);
    ``"ring"`` uses b = k + 1 mod K; ``"fixed_pair"`` pairs classes (0,1), (2,3), ...
    Any other non-negative matrix can be used directly with the functions of this module.
    """
    K = check.integer("n_classes", n_classes, minimum=2)
    n = check.integer("n_per_class", n_per_class, minimum=1)
    f = frustrated_count(n, frustration)
    check.choice("kind", kind, KINDS)
    check.choice("pairing", pairing, PAIRINGS)
    check.integer("seed", seed, minimum=0)
    if kind == "soft":
        q = check.real("q", q, low=0.0, high=0.5, low_open=True)
    rng = np.random.default_rng(seed)
    A = np.zeros((K * n, K))
    for k in range(K):
        for j in range(n):
            i = k * n + j
            if kind == "clean" or j >= f:
                A[i, k] = 1.0
                continue
            b = _partner(k, K, pairing, rng)
            if kind == "hard":
                A[i, k] = A[i, b] = 1.0
            else:
                A[i, k], A[i, b] = 1.0 - q, q
    return A


def partner_labels(A: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Partner label b_i of each sample (the heaviest other link), -1 for consistent samples."""
    other = np.where(np.arange(A.shape[1])[None, :] == np.asarray(classes)[:, None], 0.0, A)
    return np.where(other.max(axis=1) > 0, other.argmax(axis=1), -1)


def frustrated_link_share(A, classes) -> float:
    r"""rho = mean over labels k of (sum_{i frustrated} A_ik) / h_k: the share of a label's link
    weight that comes from frustrated samples [RECONSTRUCTION, spec §3.7].  Hard, K = 2, f
    frustrated samples per class: rho = 2f/(n + f), the rho = m/(n + m) of the reduction."""
    frustrated = partner_labels(A, classes) >= 0
    h = A.sum(axis=0)
    return float(np.mean(A[frustrated].sum(axis=0) / h))


def validate_coupling(A) -> np.ndarray:
    """Check that A is a finite, non-negative (N x K) matrix with K >= 2."""
    A = check.finite_array("A", A, ndim=2)
    if A.shape[1] < 2 or A.shape[0] < 1:
        raise ValueError(f"A must have shape (N >= 1, K >= 2), got {A.shape}")
    if np.any(A < 0):
        raise ValueError(f"A must be non-negative (min entry {A.min():.3g})")
    return A


# --------------------------------------------------------------------------- conventions


def normalisation_factor(normalisation, n_samples: int, n_classes: int) -> float:
    """Global factor nu (spec §2.8): "sum" -> 1, "mean" -> 1/N, "per_class" -> 1/n_bar = K/N,
    or a positive float."""
    if isinstance(normalisation, str):
        check.choice("normalisation", normalisation, ("sum", "mean", "per_class"))
        return {"sum": 1.0, "mean": 1.0 / n_samples, "per_class": n_classes / n_samples}[normalisation]
    return check.positive("normalisation", normalisation)


def preset(name: str, n_per_class: int) -> dict:
    """Named conventions (spec §2.8) [RECONSTRUCTION]: ``unit-sum`` (nu = eta = 1) and
    ``balanced`` (nu = 1/n, eta_x = n, eta_y = eta_W = 1, so samples and labels both relax at
    O(1)); eta_W is the head's rate in Models B and C."""
    check.choice("preset", name, ("unit-sum", "balanced"))
    n = check.integer("n_per_class", n_per_class, minimum=1)
    if name == "unit-sum":
        return {"nu": 1.0, "eta_x": 1.0, "eta_y": 1.0, "eta_W": 1.0}
    return {"nu": 1.0 / n, "eta_x": float(n), "eta_y": 1.0, "eta_W": 1.0}


def initial_state(
    n_classes: int,
    n_per_class: int,
    dim: int,
    *,
    init: str = "clustered",
    sigma: float = 0.3,
    s_y: float = 0.1,
    s_x: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    r"""Initial state Z0 = [X0; Y0] of shape (N + K, d), spec §2.8 [RECONSTRUCTION].

    ``rng = default_rng(seed)`` draws mu (K x d), then xi (N x d), then zeta (K x d), all
    standard normal (the same stream for every ``init``):

    - ``clustered``:   x_i = mu_{c_i} + sigma xi_i,  y_k = s_y zeta_k;
    - ``iid``:         x_i = s_x xi_i,               y_k = s_y zeta_k;
    - ``zero_labels``: x_i = mu_{c_i} + sigma xi_i,  y_k = 0.
    """
    K = check.integer("n_classes", n_classes, minimum=2)
    n = check.integer("n_per_class", n_per_class, minimum=1)
    d = check.integer("dim", dim, minimum=1)
    check.choice("init", init, INITS)
    sigma = check.real("sigma", sigma, low=0.0)
    s_y = check.real("s_y", s_y, low=0.0)
    s_x = check.real("s_x", s_x, low=0.0)
    check.integer("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal((K, d))
    xi = rng.standard_normal((K * n, d))
    zeta = rng.standard_normal((K, d))
    classes = sample_classes(K, n)
    X = s_x * xi if init == "iid" else mu[classes] + sigma * xi
    Y = np.zeros((K, d)) if init == "zero_labels" else s_y * zeta
    return np.concatenate([X, Y], axis=0)


HEAD_INITS = ("identity", "orthogonal", "gaussian")


def head_init(dim: int, *, init: str = "identity", s_W: float = 1.0, seed: int = 0) -> np.ndarray:
    r"""Initial shared head W(0) (d x d), spec §2.8 [RECONSTRUCTION]: ``identity`` gives s_W I
    (default, s_W = 1); ``orthogonal`` s_W times a Haar-random orthogonal matrix (QR of a
    Gaussian, sign-fixed); ``gaussian`` s_W N(0, 1/d) entries.  Draws from
    ``default_rng(seed)``."""
    d = check.integer("dim", dim, minimum=1)
    check.choice("init", init, HEAD_INITS)
    s_W = check.real("s_W", s_W, low=0.0)
    check.integer("seed", seed, minimum=0)
    if init == "identity":
        return s_W * np.eye(d)
    G = np.random.default_rng(seed).standard_normal((d, d))
    if init == "gaussian":
        return s_W * G / np.sqrt(d)
    Qm, R = np.linalg.qr(G)
    return s_W * Qm * np.sign(np.diag(R))[None, :]  # sign fix: Haar measure
