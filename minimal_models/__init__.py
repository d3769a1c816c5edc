"""Theory of representation collapse and embedding geometry, in float64.

One model per module:

- :mod:`minimal_models.frustration` -- Model A, the embedding-only frustration model
  (arXiv:2604.09979, RECONSTRUCTION of the spec);
- :mod:`minimal_models.hamiltonian_geometry` -- minimax / max-entropy covariances, the price of
  isotropy, fixed-marginal misalignment and coupling non-identifiability (arXiv:2605.20107);
- :mod:`minimal_models.symplectic` -- leapfrog (HamJEPA's predictor), Euler contrasts, the exact
  quadratic flow, the shadow Hamiltonian and symplecticity diagnostics.

Importing this package switches JAX to float64 (``jax_enable_x64``): the theory is checked
to tolerances that float32 cannot reach.  Training code chooses its own dtype explicitly.
"""

import jax

jax.config.update("jax_enable_x64", True)

from . import frustration, hamiltonian_geometry, symplectic  # noqa: E402

__all__ = ["frustration", "hamiltonian_geometry", "symplectic"]
