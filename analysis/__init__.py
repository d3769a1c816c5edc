"""Metrics on trajectories and datasets: collapse order parameters, time scales, spectra, and
the evaluation of learned features (kNN and linear probes, geometry diagnostics).

Array/Dataset in, numbers or Dataset out: nothing here runs a solver or trains a network.
The modules that need the float64 theory (:mod:`analysis.collapse_rates`,
:mod:`analysis.label_noise_rates`) and the statistics (:mod:`analysis.stats`) are imported on
first use of one of their names, so ``import analysis`` leaves JAX's precision switch alone
(training code imports it).
"""

import importlib

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
from .geometry import (
    augmentation_diversity,
    centroid_separation,
    collapse_monitor,
    cosine_histogram,
    covariance_spectrum,
    feature_correlation,
    feature_norms,
    fisher_ratio,
    intra_class_diversity,
    local_purity,
    mean_pairwise_cosine,
    random_pair_cosines,
    rankme,
    spectrum_summary,
    std_l2,
)
from .probes import KNN_KS, knn_accuracy, knn_predict, linear_probe
from .spectra import effective_rank, participation_ratio
from .timescales import first_crossing_time, fit_decay_rate

# name -> module, imported on first access (see the module docstring)
_LAZY = {
    **{name: "collapse_rates" for name in ("rate_dataset", "two_class_coupling",
                                           "two_class_dataset")},
    **{name: "label_noise_rates" for name in ("collapse_window", "measured_rate",
                                              "theory_rates_dataset")},
    **{name: "stats" for name in ("paired_test", "holm", "tost", "bootstrap_ci",
                                  "default_delta_min", "decide", "claim_record",
                                  "decide_claims", "format_claim")},
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    *_LAZY,
    "KNN_KS",
    "augmentation_diversity",
    "centred_gram",
    "centroid_separation",
    "collapse_monitor",
    "collapse_ratio",
    "convergence_order",
    "cosine_histogram",
    "cosine_matrix",
    "covariance_spectrum",
    "d_mean",
    "d_min",
    "effective_rank",
    "feature_correlation",
    "feature_norms",
    "first_crossing_time",
    "fisher_ratio",
    "fit_decay_rate",
    "intra_class_diversity",
    "knn_accuracy",
    "knn_predict",
    "label_distances",
    "label_gram",
    "label_spread",
    "linear_probe",
    "local_purity",
    "mean_pairwise_cosine",
    "nearest_label_accuracy",
    "participation_ratio",
    "random_pair_cosines",
    "rankme",
    "rollout_covariance_stats",
    "sliced_w1_profile",
    "spectrum_summary",
    "std_l2",
    "whiten_by_reference",
]
