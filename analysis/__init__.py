"""Metrics on trajectories and datasets: collapse order parameters, time scales, spectra, the
evaluation of learned features (kNN and linear probes, geometry diagnostics), and the
statistics that turn paired-seed results into decisions (sign-flip tests, TOST, Holm, the
learning checks that make a comparison informative).

Array/Dataset in, numbers or Dataset out: nothing here runs a solver or trains a network.
Importing this package leaves JAX's precision switch alone (training code imports it), so
:mod:`analysis.collapse_rates`, whose theory runs in float64 and switches JAX to it, is not
re-exported here: import it as ``from analysis import collapse_rates``.
"""

from .collapse import centred_gram as centred_gram
from .collapse import collapse_ratio as collapse_ratio
from .collapse import cosine_matrix as cosine_matrix
from .collapse import d_mean as d_mean
from .collapse import d_min as d_min
from .collapse import label_distances as label_distances
from .collapse import label_gram as label_gram
from .collapse import label_spread as label_spread
from .collapse import nearest_label_accuracy as nearest_label_accuracy
from .diagnostics import convergence_order as convergence_order
from .diagnostics import rollout_covariance_stats as rollout_covariance_stats
from .diagnostics import sliced_w1_profile as sliced_w1_profile
from .diagnostics import whiten_by_reference as whiten_by_reference
from .evidence import LearningCheck as LearningCheck
from .evidence import NOT_INFORMATIVE as NOT_INFORMATIVE
from .evidence import gate_claims as gate_claims
from .evidence import gate_decision as gate_decision
from .evidence import learning_check as learning_check
from .geometry import augmentation_diversity as augmentation_diversity
from .geometry import centroid_separation as centroid_separation
from .geometry import collapse_monitor as collapse_monitor
from .geometry import cosine_histogram as cosine_histogram
from .geometry import covariance_spectrum as covariance_spectrum
from .geometry import feature_correlation as feature_correlation
from .geometry import feature_norms as feature_norms
from .geometry import fisher_ratio as fisher_ratio
from .geometry import intra_class_diversity as intra_class_diversity
from .geometry import local_purity as local_purity
from .geometry import mean_pairwise_cosine as mean_pairwise_cosine
from .geometry import random_pair_cosines as random_pair_cosines
from .geometry import rankme as rankme
from .geometry import spectrum_summary as spectrum_summary
from .geometry import std_l2 as std_l2
from .label_noise_rates import collapse_window as collapse_window
from .label_noise_rates import measured_rate as measured_rate
from .label_noise_rates import theory_rates_dataset as theory_rates_dataset
from .probes import KNN_KS as KNN_KS
from .probes import knn_accuracy as knn_accuracy
from .probes import knn_predict as knn_predict
from .probes import linear_probe as linear_probe
from .probes import linear_probe_converged as linear_probe_converged
from .sign_flip import EXACT_MAX_SEEDS as EXACT_MAX_SEEDS
from .sign_flip import SIGN_FLIP_ALTERNATIVES as SIGN_FLIP_ALTERNATIVES
from .sign_flip import SIGN_FLIP_DRAWS as SIGN_FLIP_DRAWS
from .sign_flip import min_attainable_p as min_attainable_p
from .sign_flip import seeds_needed as seeds_needed
from .sign_flip import sign_flip_method as sign_flip_method
from .sign_flip import sign_flip_pvalue as sign_flip_pvalue
from .spectra import effective_rank as effective_rank
from .spectra import participation_ratio as participation_ratio
from .stats import ALTERNATIVES as ALTERNATIVES
from .stats import DECISIONS as DECISIONS
from .stats import NOT_ENOUGH_SEEDS as NOT_ENOUGH_SEEDS
from .stats import bootstrap_ci as bootstrap_ci
from .stats import claim_record as claim_record
from .stats import decide as decide
from .stats import decide_claims as decide_claims
from .stats import format_claim as format_claim
from .stats import holm as holm
from .stats import paired_test as paired_test
from .stats import sign_flip_test as sign_flip_test
from .stats import tost as tost
from .timescales import first_crossing_time as first_crossing_time
from .timescales import fit_decay_rate as fit_decay_rate

__all__ = ["ALTERNATIVES", "DECISIONS", "EXACT_MAX_SEEDS", "KNN_KS", "LearningCheck",
           "NOT_ENOUGH_SEEDS", "NOT_INFORMATIVE", "SIGN_FLIP_ALTERNATIVES", "SIGN_FLIP_DRAWS",
           "augmentation_diversity", "bootstrap_ci", "centred_gram", "centroid_separation",
           "claim_record", "collapse_monitor", "collapse_ratio", "collapse_window",
           "convergence_order", "cosine_histogram", "cosine_matrix", "covariance_spectrum",
           "d_mean", "d_min", "decide", "decide_claims", "effective_rank", "feature_correlation",
           "feature_norms", "first_crossing_time", "fisher_ratio", "fit_decay_rate",
           "format_claim", "gate_claims", "gate_decision", "holm", "intra_class_diversity",
           "knn_accuracy", "knn_predict", "label_distances", "label_gram", "label_spread",
           "learning_check", "linear_probe", "linear_probe_converged", "local_purity",
           "mean_pairwise_cosine", "measured_rate", "min_attainable_p", "nearest_label_accuracy",
           "paired_test", "participation_ratio", "random_pair_cosines", "rankme",
           "rollout_covariance_stats", "seeds_needed", "sign_flip_method", "sign_flip_pvalue",
           "sign_flip_test", "sliced_w1_profile", "spectrum_summary", "std_l2",
           "theory_rates_dataset", "tost", "whiten_by_reference"]
