"""Spectral summaries of a covariance: participation ratio and effective rank.

Metrics, not theory: the Hamiltonian-geometry bounds (Prop 4.13 - Thm 4.14) state results in
terms of them, and the SSL evaluation reports them for learned features.
"""

from __future__ import annotations

import numpy as np

from minimal_models import validation as check

__all__ = ["participation_ratio", "effective_rank"]


def participation_ratio(eigenvalues) -> float:
    """PR = (sum lambda)^2 / sum lambda^2, in [1, rank]."""
    lam = check.finite_array("eigenvalues", eigenvalues, ndim=1)
    return float(lam.sum() ** 2 / np.sum(lam**2))


def effective_rank(eigenvalues) -> float:
    """erank = exp(Shannon entropy of lambda / sum lambda) (zeros contribute nothing)
    (Roy & Vetterli 2007)."""
    lam = check.finite_array("eigenvalues", eigenvalues, ndim=1)
    p = lam / lam.sum()
    p = p[p > 0]
    return float(np.exp(-np.sum(p * np.log(p))))
