"""Numerical precision: theory runs in float64, training picks its own dtype.

JAX's ``jax_enable_x64`` is a process-wide switch.  The theory modules (frustration, Hamiltonian
geometry, the flows and the sweep engine) turn it on when they are imported, through
:func:`require_x64`, because their checks need tolerances float32 cannot reach.  Modules that
serve training as well as theory -- :mod:`minimal_models.objectives`,
:mod:`minimal_models.symplectic` -- do not: they are dtype-generic, and the encoder package makes
every parameter and activation in the dtype of its config, whatever the switch says.
"""

from __future__ import annotations

__all__ = ["require_x64"]


def require_x64() -> None:
    """Turn on float64 for JAX in this process (idempotent)."""
    import jax

    if not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)

