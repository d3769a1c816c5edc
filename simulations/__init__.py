"""Solvers, the sweep engine (the only place that batches) and, in :mod:`simulations.encoders`,
real encoders trained with the same objectives.

Names are imported on first use: the flow solvers and the sweep engine are theory code and
switch JAX to float64 (:func:`minimal_models.precision.require_x64`); the encoder package does
not, so importing it leaves training in the dtype its config asks for.
"""

import importlib

_NAMES = {
    "SOLVERS": "flow", "SUCCESS": "flow", "FlowSolution": "flow", "solve_flow": "flow",
    "solve_flow_scipy": "flow", "SolverResult": "results",
    "FrustrationFlow": "frustration_flow", "StopGradFlow": "stopgrad_flow",
    "MeanFieldFlow": "meanfield_flow", "TeacherStudentFlow": "teacher_student_flow",
    "LabelNoiseRun": "label_training", "train_label_embeddings": "label_training",
    "SweepSpec": "sweep", "SweepableModel": "sweep", "open_sweep": "sweep", "run_sweep": "sweep",
    "sweep_fingerprint": "sweep", "StoreLockedError": "store",
}

__all__ = sorted(_NAMES)


def __getattr__(name):
    if name in _NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
