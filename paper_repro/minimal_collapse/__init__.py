"""Figures F2-F7 and the phase diagrams of the minimal collapse model (Models A, B, C).

Paper: arXiv:2604.09979.  The paper's figures are not available; every figure here is the
RECONSTRUCTION of ``shared/specs/minimal_collapse_model.md`` §5 and every expected value comes
from that spec (§5, §6), not from the paper.

Commands:  ``collapse-lab repro F2 --quick`` (and F3, F4, PD_modelA, F5, F6, F7, PD_modelB,
PD_threshold); ``collapse-lab sweep NAME --show`` for the named sweeps.

One module per model, each holding its figures whole (settings quick and full, expected values
with their sources, checks, run function, :class:`~paper_repro.base.FigureConfig`):
:mod:`.model_a` (F2, F3, F4, PD_modelA and the sweeps modelA_phase_K / _n), :mod:`.model_b`
(F5, F6, PD_modelB and the sweeps modelB_phase, modelB_phase_meanfield), :mod:`.model_c`
(F7), :mod:`.sg_threshold` (PD_threshold, beyond the paper, and the sweep modelB_threshold).
"""

from __future__ import annotations

from . import model_a, model_b, model_c, sg_threshold

# the order of `collapse-lab list` and of the report: by model, the phase diagrams after F7
FIGURES = [model_a.F2, model_a.F3, model_a.F4, model_a.PD_MODELA, model_b.F5, model_b.F6,
           model_c.F7, model_b.PD_MODELB, sg_threshold.PD_THRESHOLD]
SWEEPS = [model_a.MODELA_PHASE_K, model_a.MODELA_PHASE_N, model_b.MODELB_PHASE,
          model_b.MODELB_PHASE_MEANFIELD, sg_threshold.MODELB_THRESHOLD]

__all__ = ["FIGURES", "SWEEPS"]
