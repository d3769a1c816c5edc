"""Sweepable models, one per minimal model, and the solvers they use (float64).

- :mod:`.frustration` (Model A), :mod:`.stopgrad` (Model B), :mod:`.meanfield` (its closure),
  :mod:`.teacher_student` (Model C): frozen dataclasses, one parameter point each, that
  :func:`simulations.sweep.run_sweep` batches;
- :mod:`.stopgrad_state`: the state a Model B point is solved in (full or exactly reduced);
- :mod:`.parts` and :mod:`.time_grid`: the fields, layouts and outputs those models share;
- :mod:`.solve`: :func:`solve_flow` (lean RK or diffrax) and :func:`solve_flow_scipy` (reference);
- :mod:`.rk`: the lean adaptive Runge-Kutta solver; :mod:`.results`: the solver result codes.
"""

from .frustration import FrustrationFlow as FrustrationFlow
from .meanfield import MeanFieldFlow as MeanFieldFlow
from .parts import CouplingGraph as CouplingGraph
from .parts import SolverSettings as SolverSettings
from .results import SolverResult as SolverResult
from .solve import SOLVERS as SOLVERS
from .solve import SUCCESS as SUCCESS
from .solve import FlowSolution as FlowSolution
from .solve import solve_flow as solve_flow
from .solve import solve_flow_scipy as solve_flow_scipy
from .stopgrad import StopGradFlow as StopGradFlow
from .teacher_student import TeacherStudentFlow as TeacherStudentFlow
from .time_grid import TimeGrid as TimeGrid

__all__ = ["CouplingGraph", "FlowSolution", "FrustrationFlow", "MeanFieldFlow", "SOLVERS",
           "SUCCESS", "SolverResult", "SolverSettings", "StopGradFlow", "TeacherStudentFlow",
           "TimeGrid", "solve_flow", "solve_flow_scipy"]
