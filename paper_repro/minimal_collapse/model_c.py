"""Model C figure (RECONSTRUCTION of arXiv:2604.09979, spec §5), whole: F7, the linear
teacher-student -- settings, expected values (spec §6 C1) with their source, checks, run
function and config; the run function reads every setting from :func:`f7_settings` (the key
of a committed full-mode result).  Computation: a ``TeacherStudentFlow`` sweep
(:mod:`simulations.flows.teacher_student`), imported inside the run function.
"""

from __future__ import annotations

from ..base import Check, FigureConfig, FigureResult
from ._common import PAPER, STATUS, min_at, plain_table, value_at

# ------------------------------------------------------------------- Model C: F7

# full_s of F7: measured 2026-12-07 with `collapse-lab repro NAME`
# (full mode) on the shared 2-core development machine at load ~6-8 (the figure's own time,
# imports not counted)

F7_EXPECTED = {  # (student, alpha, p): (d_min(100), d_min(2000), acc_true(2000)), spec §6 C1
    ("plain", 1.0, 0.0): (0.403, 0.328, 1.0), ("plain", 1.0, 0.1): (0.018, 0.010, 0.51),
    ("plain", 1.0, 0.3): (0.011, 0.007, 0.375), ("head", 1.0, 0.0): (0.519, 0.803, 1.0),
    ("head", 1.0, 0.1): (0.312, 0.287, 1.0), ("head", 1.0, 0.3): (0.029, 0.072, 0.88),
    ("head", 0.0, 0.0): (0.397, 0.268, 1.0), ("head", 0.0, 0.1): (0.014, 0.007, 0.465),
    ("head", 0.0, 0.3): (0.010, 0.005, 0.385),
}


def f7_settings(quick: bool) -> dict:
    """F7: the spec §4 reference setting (the TeacherStudentFlow defaults) on a log time grid
    to T = 2000, students x SG strengths x label noise, and the expected table (spec §6 C1)."""
    # t = 10, 100 and 2000 on the grid: 0.1-decade steps from 1e-2 to 1e3, then 2000
    return {"model": {"t_min": 1e-2, "t_max": 2000.0, "n_times": 31 if quick else 61},
            "axes": [["student", ["plain", "head"]], ["alpha", [1.0, 0.0]],
                     ["frustration", [0.0, 0.1, 0.3]]],
            "expected": plain_table(F7_EXPECTED)}


def run_f7(quick: bool) -> FigureResult:
    from figures.collapse import plot_teacher_student
    from simulations.flows.teacher_student import TeacherStudentFlow
    from simulations.sweep import SweepSpec, run_sweep

    s = f7_settings(quick)
    model = TeacherStudentFlow(**s["model"])
    spec = SweepSpec("F7", model, axes=[(name, tuple(values)) for name, values in s["axes"]],
                     chunk_size=6)
    ds = run_sweep(spec, progress=False)
    checks = [Check("solver failures", 0, int((ds["result"] != 0).sum()), rtol=0, atol=0),
              Check("min acc_true(10) over all runs (early gain)", 1.0,
                    min_at(ds, "acc_true", 10.0), kind="min")]
    for student, a, p, d100, d2000, acc in s["expected"]:
        sel = dict(student=student, alpha=a, frustration=p)
        name = {"plain": "plain", "head": "SG head" if a == 1 else "head, no SG"}[student]
        checks.append(Check(f"{name}, p={p}: d_min(100)", d100,
                            value_at(ds, "d_min", 100.0, **sel), rtol=0.1))
        checks.append(Check(f"{name}, p={p}: d_min(2000)", d2000,
                            float(ds["d_min"].sel(**sel).isel(t=-1)), rtol=0.1))
        checks.append(Check(f"{name}, p={p}: acc_true(2000)", acc,
                            float(ds["acc_true"].sel(**sel).isel(t=-1)), rtol=0, atol=0.03))
    checks.append(Check("SG head: max |Q_C(t) - Q_C(0)|", 4e-10,
                        float(ds["QC_drift"].sel(student="head", alpha=1.0).max()), kind="max"))
    fig = plot_teacher_student(ds, title="F7: Model C, linear teacher-student (D=50, K=4, "
                                         "P=200, d=16)")
    return FigureResult(fig, checks, ds)


F7 = FigureConfig("F7", PAPER, "Model C: linear teacher-student", STATUS,
                  "label noise collapses plain and no-SG students; the SG head protects",
                  quick_s=25.0, full_s=31.0, run=run_f7, settings=f7_settings)
