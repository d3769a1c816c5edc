"""Every reproducible figure and every named sweep, by name."""

from __future__ import annotations

from . import hamiltonian, minimal_collapse, validation

FIGURES = {config.name: config
           for config in minimal_collapse.FIGURES + hamiltonian.FIGURES + validation.FIGURES}

# name -> (factory(quick: bool) -> SweepSpec, one-line description)
SWEEPS = dict(minimal_collapse.SWEEPS)
