"""Solvers and the sweep engine (the only place that batches)."""

import minimal_models  # noqa: F401  (enables float64 before any JAX array is made)

from .flow import SOLVERS, SUCCESS, FlowSolution, solve_flow, solve_flow_scipy
from .frustration_flow import FrustrationFlow
from .sweep import SweepSpec, open_sweep, run_sweep, sweep_fingerprint

__all__ = [
    "SOLVERS",
    "SUCCESS",
    "FlowSolution",
    "FrustrationFlow",
    "SweepSpec",
    "open_sweep",
    "run_sweep",
    "solve_flow",
    "solve_flow_scipy",
    "sweep_fingerprint",
]
