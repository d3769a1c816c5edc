"""Every reproducible figure and every named sweep, by name."""

from __future__ import annotations

from . import hamiltonian, minimal_collapse

FIGURES = {config.name: config for config in minimal_collapse.FIGURES + hamiltonian.FIGURES}

# name -> (factory(quick: bool) -> SweepSpec, one-line description)
SWEEPS = dict(minimal_collapse.SWEEPS)
