"""Theory of representation collapse and embedding geometry.

One model per module (imported on first use, so that importing one does not pull in the rest):

- :mod:`minimal_models.coupling` -- coupling graphs, presets and initial states shared by
  Models A, B and C (arXiv:2604.09979, RECONSTRUCTION of the spec);
- :mod:`minimal_models.frustration` -- Model A, the embedding-only frustration model;
- :mod:`minimal_models.stopgrad` -- Model B, the shared projection head with (partial)
  stop-gradient, its conservation law, fixed points and the K = 2 reduction;
- :mod:`minimal_models.stopgrad_reduced` -- Model B's exact reduced state (row means +
  per-degree propagators) and the per-sample reconstruction;
- :mod:`minimal_models.meanfield` -- Model B's class/type-averaged closure;
- :mod:`minimal_models.teacher_student` -- Model C, the linear teacher-student model;
- :mod:`minimal_models.label_noise` -- label noise on a real encoder mapped onto Model A
  (RECONSTRUCTION);
- :mod:`minimal_models.hamiltonian_geometry` -- minimax / max-entropy covariances, the price of
  isotropy, fixed-marginal misalignment and coupling non-identifiability (arXiv:2605.20107);
- :mod:`minimal_models.symplectic` -- leapfrog (HamJEPA's predictor), Euler contrasts, the exact
  quadratic flow, the shadow Hamiltonian and symplecticity diagnostics;
- :mod:`minimal_models.objectives` -- losses of embeddings shared by the minimal models and the
  real encoders;
- :mod:`minimal_models.distances` -- pairwise distances (the one definition, array-generic);
- :mod:`minimal_models.validation`, :mod:`minimal_models.precision` -- input checks, float64.

Precision: the theory modules switch JAX to float64 when imported
(:func:`minimal_models.precision.require_x64`); the objectives and the symplectic integrators
are dtype-generic and leave the switch alone, so training code keeps the dtype it asks for.
"""

import importlib

_SUBMODULES = ("coupling", "frustration", "stopgrad", "meanfield", "teacher_student",
               "label_noise", "hamiltonian_geometry", "symplectic", "objectives", "validation",
               "precision", "distances", "stopgrad_reduced")

__all__ = list(_SUBMODULES)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
