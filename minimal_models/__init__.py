"""Theory of representation collapse and embedding geometry.

The public names are the submodules, one model or concept each:

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

Only the numpy modules are imported with the package.  The others are imported when first
named (``from minimal_models import stopgrad`` or ``minimal_models.stopgrad``): importing them
here would switch float64 on for every float32 training run that imports
:mod:`minimal_models.objectives` (the package runs first), and would make the numpy helpers
(``coupling``, ``validation``) pay JAX's import time.
"""

import importlib

from . import coupling as coupling
from . import distances as distances
from . import label_noise as label_noise
from . import precision as precision
from . import validation as validation

# float64 theory modules and the JAX modules: imported on first use (module docstring)
_ON_FIRST_USE = ("frustration", "stopgrad", "stopgrad_reduced", "meanfield", "teacher_student",
                 "hamiltonian_geometry", "symplectic", "objectives")

__all__ = ["coupling", "distances", "frustration", "hamiltonian_geometry", "label_noise",
           "meanfield", "objectives", "precision", "stopgrad", "stopgrad_reduced", "symplectic",
           "teacher_student", "validation"]


def __getattr__(name):
    if name in _ON_FIRST_USE:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
