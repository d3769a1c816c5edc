"""Figures F2-F7 and the phase diagrams of the minimal collapse model (Models A, B, C).

Paper: arXiv:2604.09979.  The paper's figures are not available; every figure here is the
RECONSTRUCTION of ``shared/specs/minimal_collapse_model.md`` §5 and every expected value comes
from that spec (§5, §6), not from the paper.

Commands:  ``collapse-lab repro F2 --quick`` (and F3, F4, PD_modelA, F5, F6, F7, PD_modelB,
PD_threshold).

One module per model: :mod:`.model_a` (F2, F3, F4, PD_modelA), :mod:`.model_b` (F5, F6,
PD_modelB, PD_threshold), :mod:`.model_c` (F7); each holds its figures' settings (quick and
full), expected values with their sources, and run functions that call the library.
"""

from __future__ import annotations

from ..base import FigureConfig
from ._common import PAPER, STATUS, _at, _min_at  # noqa: F401
from .model_a import (  # noqa: F401
    F3_EXPECTED,
    F4_CUBIC,
    F23,
    _acc,
    _closed_form_labels,
    _ode_matches_closed_form,
    _phase_spec,
    _trajectory_sweep,
    _two_class_coupling,
    phase_diagram_n_spec,
    phase_diagram_spec,
    rate_dataset,
    run_f2,
    run_f3,
    run_f4,
    run_phase,
    two_class_coupling,
    two_class_dataset,
)
from .model_b import (  # noqa: F401
    F5_NOSG_10,
    F5_SG,
    F6_RATES,
    PD_ALPHAS_FULL,
    PD_ALPHAS_QUICK,
    _fixed_point_checks,
    f5_model,
    modelB_meanfield_phase_spec,
    modelB_phase_spec,
    run_f5,
    run_f6,
    run_pd_modelB,
    run_pd_threshold,
    threshold_spec,
)
from .model_c import F7_EXPECTED, run_f7  # noqa: F401

FIGURES = [
    FigureConfig("F2", PAPER, "Model A without frustration", STATUS,
                 "acc(t), L(t), d_min(t): fast alignment, separated plateau, no collapse",
                 "quick ~10 s, full ~15 s", run_f2),
    FigureConfig("F3", PAPER, "Model A with frustration", STATUS,
                 "early accuracy gain, then slow collapse of d_min at rate lambda_slow",
                 "quick ~10 s, full ~15 s", run_f3),
    FigureConfig("F4", PAPER, "Collapse time scale", STATUS,
                 "tau = 1/lambda_slow vs p (exact, cubic, first order) and the K = 2 rate",
                 "quick ~10 s, full ~2 min", run_f4),
    FigureConfig("PD_modelA", PAPER, "Model A phase diagram", STATUS,
                 "collapse ratio over frustration x classes with the predicted rate overlaid",
                 "quick ~20 s, full ~3 min", run_phase),
    FigureConfig("F5", PAPER, "Model B: stop-gradient vs no stop-gradient", STATUS,
                 "d_min(t), head-space accuracy and Q drift: SG separated, no SG collapses",
                 "quick ~35 s, full ~45 min (stiff head mode: ~2e5 explicit steps to 3e4)",
                 run_f5),
    FigureConfig("F6", PAPER, "K = 2 reduction of Model B", STATUS,
                 "SG fixed line, partial-SG collapse rates, threshold rho < 1 + 2 Q0",
                 "quick ~12 s, full ~40 s", run_f6),
    FigureConfig("F7", PAPER, "Model C: linear teacher-student", STATUS,
                 "label noise collapses plain and no-SG students; the SG head protects",
                 "quick ~25 s, full ~40 s", run_f7),
    FigureConfig("PD_modelB", PAPER, "Model B phase diagram (full and mean field)", STATUS,
                 "collapse ratio over frustration x alpha, full model beside the closure",
                 "quick ~1 min (20 x 20), full ~1 h (40 x 40, estimated)", run_pd_modelB),
    FigureConfig("PD_threshold", PAPER, "SG threshold in the full Model B (beyond the paper)",
                 STATUS, "K = 2 and K = 4 over frustration x initial scale, with rho < 1 + 2 Q0",
                 "quick ~20 s, full ~25 min", run_pd_threshold),
]

SWEEPS = {
    "modelA_phase_K": (phase_diagram_spec, "Model A ODE: frustration x classes K x seeds"),
    "modelA_phase_n": (phase_diagram_n_spec, "Model A ODE: frustration x samples per class x seeds"),
    "modelB_phase": (modelB_phase_spec, "Model B ODE: frustration x SG strength alpha"),
    "modelB_phase_meanfield": (modelB_meanfield_phase_spec,
                               "Model B large-N closure: frustration x SG strength alpha"),
    "modelB_threshold": (threshold_spec, "Model B SG: classes x frustration x initial scale"),
}
