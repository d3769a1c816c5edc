r"""Model C (linear teacher-student) as a sweepable model for :mod:`simulations.sweep`.

One point = one teacher task (:func:`minimal_models.teacher_student.make_task`), one student
and one full-batch gradient flow, with d_min, accuracy against the true class, loss and the
drift of Q_C along it.  RECONSTRUCTION of arXiv:2604.09979's linear teacher-student check
(spec §4).  Task sizes (D, K, P, dim) set the shapes and must be equal across a sweep.

Static fields: ``student``, ``ode_solver``, ``max_steps``.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, NamedTuple

import numpy as np

from analysis import collapse
from minimal_models import teacher_student as model_c
from minimal_models import validation as check

from .parts import (LABEL_OUTPUTS, STATUS_OUTPUTS, SolverSettings, label_trajectory,
                    trajectory_outputs)
from .time_grid import TimeGrid, TimeLayout

__all__ = ["TeacherStudentFlow", "TaskLayout"]


class TaskLayout(NamedTuple):
    """Shapes of a teacher-student sweep (equal for every point) and its time axis."""

    D: int
    K: int
    P: int
    dim: int
    time: TimeLayout


@dataclasses.dataclass(frozen=True)
class TeacherStudentFlow(SolverSettings, TimeGrid):
    """Model C at one point (defaults: the spec §4 reference setting, plain student).

    Fields: the time grid (:class:`~simulations.flows.time_grid.TimeGrid`), the ODE solver
    (:class:`~simulations.flows.parts.SolverSettings`), then the task's (``frustration``, ``D``,
    ``K``, ``P``, ``sigma``, ``seed``) and the student's (``dim``, ``s_E``, ``s_y``, ``s_W``,
    ``student``, ``alpha``, ``eta_E``, ``eta_y``, ``eta_W``).

    ``student``: ``plain`` (readout x) or ``head`` (readout W x) with SG strength ``alpha``
    (1: SG head, 0: head without SG).  Outputs per time: d_min, spread, collapse ratio,
    acc_true (vs the true class), acc_label (vs the noisy label), loss, QC_drift, time; per
    point: solver status.
    """

    # Model C's defaults where they differ from the parts' (spec §4 reference setting)
    t_max: float = 2000.0
    rtol: float = 1e-9
    atol: float = 1e-11

    frustration: float = 0.1
    D: int = 50
    K: int = 4
    P: int = 200
    sigma: float = 0.1
    seed: int = 0
    dim: int = 16
    s_E: float = 1.0
    s_y: float = 0.1
    s_W: float = 1.0
    student: str = "plain"
    alpha: float = 1.0
    eta_E: float = 1.0
    eta_y: float = 1.0
    eta_W: float = 1.0

    reconstruction: ClassVar[bool] = True
    static_fields: ClassVar[tuple[str, ...]] = ("student",) + SolverSettings.STATIC

    def __post_init__(self):
        super().__post_init__()
        check.real("frustration", self.frustration, low=0.0, high=1.0)
        for name, low in (("D", 1), ("K", 2), ("P", 1), ("dim", 1), ("seed", 0)):
            check.integer(name, getattr(self, name), minimum=low)
        for name in ("sigma", "s_E", "s_y", "s_W"):
            check.real(name, getattr(self, name), low=0.0)
        model_c.check_student(self.student, self.alpha, self.eta_E, self.eta_y, self.eta_W)

    def task(self) -> dict:
        return model_c.make_task(self.frustration, D=self.D, K=self.K, P=self.P,
                                 sigma=self.sigma, seed=self.seed)

    def layout(self, models) -> TaskLayout:
        shapes = {(m.D, m.K, m.P, m.dim) for m in models}
        if len(shapes) != 1:
            raise ValueError("D, K, P and dim cannot be sweep axes of TeacherStudentFlow "
                             "(they set the shapes)")
        return TaskLayout(*shapes.pop(), time=TimeLayout.of(models))

    def prepare(self, layout: TaskLayout) -> dict:
        task = self.task()
        s = model_c.initial_student(task, self.dim, s_E=self.s_E, s_y=self.s_y, s_W=self.s_W)
        return {"inputs": task["inputs"], "onehot": model_c.one_hot_labels(task["labels"],
                                                                           self.K),
                "classes": task["classes"], "labels": task["labels"],
                "E0": s["E"], "Y0": s["Y"], "W0": s["W"], "alpha": np.float64(self.alpha),
                "eta_E": np.float64(self.eta_E), "eta_y": np.float64(self.eta_y),
                "eta_W": np.float64(self.eta_W), **self.time_inputs(layout.time),
                **self.solver_inputs()}

    def shared_inputs(self, layout) -> dict:
        return {}

    def outputs(self, layout) -> dict:
        per_t = ("t",)
        return {
            **LABEL_OUTPUTS,
            "acc_true": (per_t, "1", "nearest-label accuracy against the true class"),
            "acc_label": (per_t, "1", "nearest-label accuracy against the (noisy) label"),
            "loss": (per_t, "1", "student loss"),
            "QC_drift": (per_t, "1", "max |Q_C(t) - Q_C(0)|"),
            **STATUS_OUTPUTS,
        }

    def evaluate(self, inp) -> dict:
        import jax
        import jax.numpy as jnp

        student = self.student

        def field(t, z, a):
            return model_c.vector_field(a["inputs"], a["onehot"], z, student=student,
                                        alpha=a["alpha"], eta_E=a["eta_E"], eta_y=a["eta_y"],
                                        eta_W=a["eta_W"])

        z0 = {"E": inp["E0"], "Y": inp["Y0"], "W": inp["W0"]}
        sol = self.solve(field, z0, inp)
        zs = sol.zs
        none = jnp.zeros(inp["classes"].shape, bool)

        def metrics(E, Y, W):
            s = {"E": E, "Y": Y, "W": W}
            R = model_c.readout(inp["inputs"], s, student=student)
            true = collapse.nearest_label_accuracy(R, Y, inp["classes"], none)["acc_all"]
            noisy = collapse.nearest_label_accuracy(R, Y, inp["labels"], none)["acc_all"]
            return true, noisy, model_c.loss(inp["inputs"], inp["onehot"], s, student=student)

        acc_true, acc_label, loss = jax.vmap(metrics)(zs["E"], zs["Y"], zs["W"])
        QC = model_c.invariant_QC(zs["E"], zs["Y"], zs["W"], eta_E=inp["eta_E"],
                                  eta_y=inp["eta_y"], eta_W=inp["eta_W"])
        per_t = {**label_trajectory(zs["Y"]), "acc_true": acc_true, "acc_label": acc_label, "loss": loss,
                 "QC_drift": jnp.max(jnp.abs(QC - QC[0]), axis=(-1, -2))}
        return trajectory_outputs(per_t, inp, sol.result, sol.num_steps)[0]
