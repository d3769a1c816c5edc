"""Every reproducible figure and every named sweep, by name, with its expected runtime."""

from __future__ import annotations

import re

from . import hamiltonian, minimal_collapse, validation

__all__ = ["FIGURES", "SWEEPS", "MEASURED_QUICK_S", "START_HERE", "runtime_seconds",
           "runtime_table", "format_seconds"]

FIGURES = {config.name: config
           for config in minimal_collapse.FIGURES + hamiltonian.FIGURES + validation.FIGURES}

# name -> (factory(quick: bool) -> SweepSpec, one-line description)
SWEEPS = dict(minimal_collapse.SWEEPS)

# Quick-mode wall times measured on the 2-core development machine (2026-12-02, shared with
# other jobs: load average 1.5-3.5), one figure per command, the time that
# `collapse-lab repro NAME --quick` prints ("... checks passed in X s"; starting the command
# adds 3-8 s of imports).  Every other runtime is the estimate in the figure's config
# (``FigureConfig.runtime``), marked as such by `collapse-lab list`.
MEASURED_QUICK_S = {"F2": 4.0, "F3": 18.5, "F6": 7.9, "HG_price": 1.7, "HG_integrators": 7.0,
                    "HG_risk": 5.8, "HG_pendulum": 19.6, "VAL_theory_rates": 59.8}

# the cheapest figure with a complete check table: what a new user runs first
START_HERE = "HG_price"

_TIME = r"~?\s*([0-9]+(?:\.[0-9]+)?)\s*(s|sec|min|h)\b"
_UNIT = {"s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0}


def runtime_seconds(runtime: str) -> tuple[float, float]:
    """(quick, full) seconds from a config's runtime text, e.g. ``"quick ~10 s, full ~2 min"``
    (the first number after each word; parenthesised remarks are ignored)."""
    out = []
    for mode in ("quick", "full"):
        m = re.search(mode + r"\s*" + _TIME, runtime)
        if m is None:
            raise ValueError(f"runtime={runtime!r} states no '{mode} ~N s|min|h' time")
        out.append(float(m.group(1)) * _UNIT[m.group(2)])
    return out[0], out[1]


def runtime_table() -> dict:
    """name -> {"quick": s, "full": s, "quick_measured": bool} for every figure."""
    table = {}
    for name, config in FIGURES.items():
        quick, full = runtime_seconds(config.runtime)
        measured = name in MEASURED_QUICK_S
        table[name] = {"quick": MEASURED_QUICK_S.get(name, quick), "full": full,
                       "quick_measured": measured}
    return table


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
