"""Metrics on trajectories and datasets: collapse order parameters, time scales, spectra."""

from .collapse import (
    centred_gram,
    collapse_ratio,
    cosine_matrix,
    d_mean,
    d_min,
    label_distances,
    label_gram,
    label_spread,
    nearest_label_accuracy,
)
from .diagnostics import (
    convergence_order,
    rollout_covariance_stats,
    sliced_w1_profile,
    whiten_by_reference,
)
from .spectra import effective_rank, participation_ratio
from .timescales import first_crossing_time, fit_decay_rate

__all__ = [
    "centred_gram",
    "collapse_ratio",
    "convergence_order",
    "cosine_matrix",
    "d_mean",
    "d_min",
    "effective_rank",
    "first_crossing_time",
    "fit_decay_rate",
    "label_distances",
    "label_gram",
    "label_spread",
    "nearest_label_accuracy",
    "participation_ratio",
    "rollout_covariance_stats",
    "sliced_w1_profile",
    "whiten_by_reference",
]
