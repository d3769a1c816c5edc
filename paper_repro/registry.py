"""Every reproducible figure and every named sweep, by name, with its expected runtime.

Importing the registry imports the config modules only: the library (and JAX) is imported when
a figure or a sweep runs, so ``collapse-lab list`` starts in a fraction of a second.
"""

from __future__ import annotations

from . import hamiltonian, minimal_collapse, validation

__all__ = ["FIGURES", "SWEEPS", "START_HERE", "runtime_table", "format_seconds"]

FIGURES = {config.name: config
           for config in minimal_collapse.FIGURES + hamiltonian.FIGURES + validation.FIGURES}

SWEEPS = {config.name: config for config in minimal_collapse.SWEEPS}

# the cheapest figure with a complete check table: what a new user runs first
START_HERE = "HG_price"


def runtime_table() -> dict:
    """name -> {"quick": s, "full": s, "quick_measured": bool} for every figure: the wall times
    its config states (quick times measured where ``quick_measured``, else estimated)."""
    return {name: {"quick": config.quick_s, "full": config.full_s,
                   "quick_measured": config.quick_measured}
            for name, config in FIGURES.items()}


def format_seconds(seconds: float) -> str:
    """A wall time the way a person reads it: 1.7 s, 35 s, 12 min, 4.3 h."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 600:
        return f"{seconds / 60:.1f} min"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
