r"""Geometry diagnostics of learned features (spec ``ssl_objectives_and_metrics.md`` §3).

Features X (n, D) as numpy arrays; computed in float64 on the host.  RankMe and the spectra are
REFERENCE definitions (RankMe paper, HamJEPA diagnostics); the centroid-separation, Fisher,
correlation, diversity, purity and anisotropy definitions are RECONSTRUCTION of the geometry
Hypersolid reports (its exact formulas are not public).  The participation ratio and effective
rank of a spectrum are :func:`analysis.spectra.participation_ratio` /
:func:`analysis.spectra.effective_rank`.
"""

from __future__ import annotations

import numpy as np

from minimal_models import validation as check
from minimal_models.distances import pairwise_distances

from .spectra import effective_rank, participation_ratio

__all__ = ["rankme", "covariance_spectrum", "spectrum_summary", "mean_pairwise_cosine",
           "random_pair_cosines", "cosine_histogram", "feature_norms", "centroid_separation",
           "fisher_ratio", "feature_correlation", "intra_class_diversity",
           "augmentation_diversity", "local_purity", "std_l2", "collapse_monitor"]


def _features(name, x, *, min_rows=2):
    x = check.finite_array(name, x, ndim=2)
    if x.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows, got shape {x.shape}")
    return x


def _labels(name, y, n):
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {y.shape}")
    if len(np.unique(y)) < 2:
        raise ValueError(f"{name} must hold at least two classes, got {np.unique(y).tolist()}")
    return y


def _normalise(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def rankme(x, *, eps: float = 1e-7) -> float:
    r"""RankMe = exp(-\sum_k p_k log p_k), p_k = sigma_k / ||sigma||_1 + eps, with sigma the
    singular values of the *uncentred* X (Garrido et al. 2023, arXiv:2210.02885; REFERENCE).
    Slightly above the rank because of eps (RankMe(I_3) = 3.000000089)."""
    x = _features("x", x, min_rows=1)
    s = np.linalg.svd(x, compute_uv=False)
    p = s / np.sum(np.abs(s)) + check.real("eps", eps, low=0.0)
    return float(np.exp(-np.sum(p * np.log(p))))


def covariance_spectrum(x, *, top_k: int | None = None, method: str = "exact",
                        seed: int = 0) -> np.ndarray:
    r"""Eigenvalues (descending) of the centred covariance X_c^T X_c / (n - 1).

    ``method="exact"``: all eigenvalues (then the first ``top_k``); ``"randomized"``: the
    HamJEPA diagnostic, a randomized PCA of rank ``top_k`` (sklearn's randomized SVD),
    eigenvalues S^2/(n - 1) clamped at 1e-12 (spec hamiltonian_geometry §6.1, CONFIRMED)."""
    x = _features("x", x)
    check.choice("method", method, ("exact", "randomized"))
    xc = x - x.mean(axis=0)
    n = x.shape[0]
    if method == "exact":
        s = np.linalg.svd(xc, compute_uv=False)
        lam = s**2 / (n - 1)
        return lam if top_k is None else lam[:check.integer("top_k", top_k, minimum=1)]
    from sklearn.utils.extmath import randomized_svd

    k = min(check.integer("top_k", top_k or 256, minimum=1), min(xc.shape))
    _, s, _ = randomized_svd(xc, k, random_state=seed)
    return np.maximum(s**2 / (n - 1), 1e-12)


def spectrum_summary(x, *, top_k: int = 256, method: str = "exact") -> dict:
    """erank and PR of the top-``top_k`` covariance eigenvalues (HamJEPA diagnostics, K = 256),
    lambda_max / sum lambda, and RankMe (uncentred), as floats."""
    lam = covariance_spectrum(x, top_k=top_k, method=method)
    lam = lam[lam > 0]
    return {"erank": effective_rank(lam), "pr": participation_ratio(lam),
            "lambda_max_frac": float(lam[0] / lam.sum()), "rankme": rankme(x)}


def mean_pairwise_cosine(x) -> float:
    """Anisotropy: mean cosine over all pairs i != j of the uncentred features."""
    xn = _normalise(_features("x", x))
    n = xn.shape[0]
    total = np.sum(xn.sum(axis=0) ** 2) - np.sum(xn * xn)
    return float(total / (n * (n - 1)))


def random_pair_cosines(x, *, n_pairs: int = 20000, seed: int = 0) -> np.ndarray:
    """Cosines of ``n_pairs`` random pairs i != j of L2-normalised *uncentred* features (the
    HamJEPA cosine histogram, 20 000 pairs; CONFIRMED protocol)."""
    xn = _normalise(_features("x", x))
    n = xn.shape[0]
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, check.integer("n_pairs", n_pairs, minimum=1))
    j = (i + rng.integers(1, n, i.size)) % n  # j != i, uniform over the others
    return np.sum(xn[i] * xn[j], axis=1)


def cosine_histogram(x, *, n_pairs: int = 20000, bins: int = 50, seed: int = 0) -> dict:
    """Histogram of :func:`random_pair_cosines` on [-1, 1]: counts, edges, mean and sd."""
    c = random_pair_cosines(x, n_pairs=n_pairs, seed=seed)
    counts, edges = np.histogram(c, bins=check.integer("bins", bins, minimum=1), range=(-1, 1))
    return {"counts": counts, "edges": edges, "mean": float(c.mean()), "std": float(c.std())}


def feature_norms(x) -> dict:
    """Euclidean norms of the rows: the array and its mean and sd."""
    norms = np.linalg.norm(_features("x", x, min_rows=1), axis=1)
    return {"norms": norms, "mean": float(norms.mean()), "std": float(norms.std())}


def _class_means(x, y):
    classes = np.unique(y)
    return classes, np.stack([x[y == c].mean(axis=0) for c in classes])


def centroid_separation(x, y) -> float:
    r"""S_inter = mean_{k<l} (1 - cos(mu_k, mu_l)) over class means of raw features
    (RECONSTRUCTION; fixture B: 4/3)."""
    x = _features("x", x)
    y = _labels("y", y, x.shape[0])
    _, mu = _class_means(x, y)
    mn = _normalise(mu)
    c = mn @ mn.T
    iu = np.triu_indices(len(mu), 1)
    return float(np.mean(1.0 - c[iu]))


def fisher_ratio(x, y) -> float:
    r"""tr S_B / tr S_W, S_B = \sum_k n_k ||mu_k - mu||^2, S_W = \sum_k \sum_{i in k}
    ||x_i - mu_k||^2 (RECONSTRUCTION; fixture B: 8)."""
    x = _features("x", x)
    y = _labels("y", y, x.shape[0])
    classes, mu = _class_means(x, y)
    grand = x.mean(axis=0)
    sb = sum(np.sum(y == c) * np.sum((m - grand) ** 2) for c, m in zip(classes, mu))
    sw = sum(np.sum((x[y == c] - m) ** 2) for c, m in zip(classes, mu))
    return float(sb / sw) if sw > 0 else float("inf")


def feature_correlation(x) -> float:
    r"""rho_bar = mean_{a != b} |R_ab|, R the correlation matrix of the feature dimensions
    (constant dimensions are left out; RECONSTRUCTION)."""
    x = _features("x", x)
    keep = x.std(axis=0) > 0
    if keep.sum() < 2:
        raise ValueError("feature_correlation needs at least two non-constant dimensions")
    r = np.corrcoef(x[:, keep], rowvar=False)
    d = r.shape[0]
    return float((np.sum(np.abs(r)) - np.trace(np.abs(r))) / (d * (d - 1)))


def intra_class_diversity(x, y) -> dict:
    """``ratio``: mean within-class pairwise distance / mean between-class distance (pairs i != j;
    fixture B: 0.4158050); ``within_pr``: mean within-class participation ratio of the centred
    class covariance (classes of >= 2 samples).  RECONSTRUCTION."""
    x = _features("x", x)
    y = _labels("y", y, x.shape[0])
    d = pairwise_distances(x)
    same = y[:, None] == y[None]
    off = ~np.eye(len(y), dtype=bool)
    within = d[same & off]
    between = d[~same]
    prs = []
    for c in np.unique(y):
        xc = x[y == c]
        if len(xc) >= 2:
            lam = covariance_spectrum(xc)
            if lam.sum() > 0:
                prs.append(participation_ratio(lam[lam > 0]))
    return {"ratio": float(within.mean() / between.mean()),
            "within_pr": float(np.mean(prs)) if prs else float("nan")}


def augmentation_diversity(views) -> dict:
    r"""mean_{i,v} ||x_{i,v} - c_i|| / mean_{i,v} min_{j != i, w} ||x_{i,v} - x_{j,w}|| for
    views (V, N, D) (c_i the mean of image i's views): the augmentation spread Hypersolid claims
    to preserve, relative to the nearest other image (RECONSTRUCTION; fixture C: 0.05880959)."""
    v = check.finite_array("views", views, ndim=3)
    n_views, n, _ = v.shape
    if n < 2:
        raise ValueError(f"views must hold at least two images, got shape {v.shape}")
    radius = np.linalg.norm(v - v.mean(axis=0, keepdims=True), axis=-1).mean()
    flat = v.transpose(1, 0, 2).reshape(n * n_views, -1)
    ids = np.repeat(np.arange(n), n_views)
    d = pairwise_distances(flat, method="gram")  # V N rows: the memory-light form
    d[ids[:, None] == ids[None]] = np.inf
    nn = d.min(axis=1).mean()
    return {"ratio": float(radius / nn), "radius": float(radius), "nn_distance": float(nn)}


def local_purity(x, y, *, k: int = 10) -> float:
    """Fraction of the k cosine nearest neighbours (self excluded, ties to the lower index)
    sharing the label (RECONSTRUCTION; fixture B: purity@1 = 2/3, purity@2 = 1/2)."""
    x = _features("x", x)
    y = _labels("y", y, x.shape[0])
    k = check.integer("k", k, minimum=1)
    if k >= len(y):
        raise ValueError(f"k={k} must be smaller than the {len(y)} samples")
    xn = _normalise(x)
    s = xn @ xn.T
    np.fill_diagonal(s, -np.inf)
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return float(np.mean(y[order] == y[:, None]))


def std_l2(x) -> float:
    r"""Collapse monitor std_l2 = mean_d std_n^{unbiased}(x_hat_{n,d}) of L2-normalised rows
    (lightly's ``std_of_l2_normalized``): about 1/sqrt(D) when healthy, 0 when collapsed."""
    xn = _normalise(_features("x", x))
    return float(np.mean(np.std(xn, axis=0, ddof=1)))


def collapse_monitor(x, *, top_k: int = 256) -> dict:
    """The collapse diagnostics in one dict: std_l2 and its healthy reference 1/sqrt(D), RankMe,
    erank, PR, lambda_max / sum lambda, mean pairwise cosine; ``collapsed`` flags
    std_l2 < 0.1 / sqrt(D) (complete collapse) or erank < 1.5 (dimensional collapse to about
    one direction); the thresholds are RECONSTRUCTION."""
    x = _features("x", x)
    d = x.shape[1]
    out = {"std_l2": std_l2(x), "std_l2_healthy": 1.0 / np.sqrt(d),
           "mean_cosine": mean_pairwise_cosine(x)}
    if np.allclose(x, x.mean(axis=0)):
        out.update(erank=1.0, pr=1.0, lambda_max_frac=1.0, rankme=rankme(x), collapsed=True)
        return out
    out.update(spectrum_summary(x, top_k=top_k))
    out["collapsed"] = bool(out["std_l2"] < 0.1 / np.sqrt(d) or out["erank"] < 1.5)
    return out
