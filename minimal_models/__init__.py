"""Theory of representation collapse and embedding geometry.

One model per module (imported on first use, so that importing one does not pull in the rest):

- :mod:`minimal_models.frustration` -- Model A, the embedding-only frustration model
  (arXiv:2604.09979, RECONSTRUCTION of the spec);
- :mod:`minimal_models.hamiltonian_geometry` -- minimax / max-entropy covariances, the price of
  isotropy, fixed-marginal misalignment and coupling non-identifiability (arXiv:2605.20107);
- :mod:`minimal_models.symplectic` -- leapfrog (HamJEPA's predictor), Euler contrasts, the exact
  quadratic flow, the shadow Hamiltonian and symplecticity diagnostics;
- :mod:`minimal_models.objectives` -- losses of embeddings shared by the minimal models and the
  real encoders;
- :mod:`minimal_models.validation`, :mod:`minimal_models.precision` -- input checks, float64.

Precision: the theory modules switch JAX to float64 when imported
(:func:`minimal_models.precision.require_x64`); the objectives and the symplectic integrators
are dtype-generic and leave the switch alone, so training code keeps the dtype it asks for.
"""

import importlib

_SUBMODULES = ("frustration", "hamiltonian_geometry", "symplectic", "objectives", "validation",
               "precision")

__all__ = list(_SUBMODULES)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
