"""Bad input raises ValueError naming the parameter, the value and what is allowed."""

import numpy as np
import pytest

from minimal_models import coupling
from minimal_models import frustration as F
from minimal_models import meanfield as MF
from minimal_models import stopgrad as B
from simulations.flows import stopgrad as sgf
from minimal_models import teacher_student as TS
from simulations.flows import FrustrationFlow, solve_flow_scipy


@pytest.mark.parametrize("call,match", [
    (lambda: coupling.coupling_matrix(4, 10, 1.5), r"frustration=1.5 is outside the allowed range \[0.0, 1.0\]"),
    (lambda: coupling.coupling_matrix(4, 10, -0.1), r"frustration=-0.1"),
    (lambda: coupling.coupling_matrix(1, 10, 0.1), r"n_classes=1 must be an integer >= 2"),
    (lambda: coupling.coupling_matrix(4, 0, 0.1), r"n_per_class=0"),
    (lambda: coupling.coupling_matrix(4, 10, 0.1, kind="medium"), r"kind='medium' is not one of"),
    (lambda: coupling.coupling_matrix(4, 10, 0.1, pairing="random"), r"pairing='random'"),
    (lambda: coupling.coupling_matrix(4, 10, 0.1, kind="soft", q=0.7), r"q=0.7 is outside"),
    (lambda: coupling.coupling_matrix(4.5, 10, 0.1), r"n_classes=4.5 must be an integer"),
    (lambda: F.two_class_rates(10, 2, eta_x=0.0), r"eta_x=0.0 is outside the allowed range \(0.0"),
    (lambda: F.two_class_rates(10, 2, eta_y=-1.0), r"eta_y=-1.0"),
    (lambda: F.closed_form(np.ones((4, 2)), np.ones((6, 2)), 1.0, eta_x=-2.0), r"eta_x=-2.0"),
    (lambda: F.closed_form(np.ones((4, 2)), np.ones((6, 2)), 1.0, nu=0.0), r"nu=0.0"),
    (lambda: F.closed_form(np.ones((4, 2)), np.full((6, 2), np.nan), 1.0), r"Z0 contains NaN"),
    (lambda: F.closed_form(np.ones((4, 2)), np.full((6, 2), np.inf), 1.0), r"Z0 contains NaN or inf"),
    (lambda: F.closed_form(np.ones((4, 2)), np.ones((5, 2)), 1.0), r"Z0 must have shape \(N \+ K, d\)"),
    (lambda: F.closed_form(np.ones((4, 2)), np.ones(6), 1.0), r"Z0 must have 2 dimensions"),
    (lambda: F.closed_form(np.ones((4, 2)), np.ones((6, 2)), -1.0), r"t must be a non-negative"),
    (lambda: F.fixed_point(-np.ones((4, 2)), np.ones((6, 2))), r"A must be non-negative"),
    (lambda: F.fixed_point(np.ones((4, 1)), np.ones((5, 2))), r"A must have shape \(N >= 1, K >= 2\)"),
    (lambda: coupling.initial_state(3, 4, 2, init="gaussian"), r"init='gaussian'"),
    (lambda: coupling.normalisation_factor("median", 10, 2), r"normalisation='median'"),
    (lambda: coupling.normalisation_factor(-1.0, 10, 2), r"normalisation=-1.0"),
    (lambda: FrustrationFlow(frustration=2.0), r"frustration=2.0"),
    (lambda: FrustrationFlow(n_classes=1), r"n_classes=1"),
    (lambda: FrustrationFlow(eta_y=0.0), r"eta_y=0.0"),
    (lambda: FrustrationFlow(t_min=5.0, t_max=1.0), r"t_min=5.0 must be smaller than t_max"),
    (lambda: FrustrationFlow(solver="euler"), r"solver='euler'"),
    (lambda: solve_flow_scipy(lambda t, z, a: z, np.ones(2), [0.0, -1.0]), r"ts must be finite"),
])
def test_bad_input_names_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


_A = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
_X, _Y, _W = np.ones((3, 2)), np.ones((2, 2)), np.eye(2)


@pytest.mark.parametrize("call,match", [
    (lambda: sgf.simulate(_A, _X, _Y, _W, [0, 1], alpha=1.5), r"alpha=1.5 is outside the allowed range \[0.0, 1.0\]"),
    (lambda: sgf.simulate(_A, _X, _Y, _W, [0, 1], alpha=-0.2), r"alpha=-0.2"),
    (lambda: sgf.simulate(_A, _X, _Y, _W, [0, 1], eta_W=0.0), r"eta_W=0.0"),
    (lambda: sgf.simulate(_A, _X, _Y, _W, [0, 1], eta_x=-1.0), r"eta_x=-1.0"),
    (lambda: sgf.simulate(_A, _X, _Y, _W, [0, 1], nu=0.0), r"nu=0.0"),
    (lambda: sgf.simulate(_A, _X, _Y, np.full((2, 2), np.nan), [0, 1]), r"W contains NaN"),
    (lambda: sgf.simulate(_A, _X, _Y, np.eye(3), [0, 1]), r"W must have shape \(2, 2\)"),
    (lambda: sgf.simulate(_A, np.ones((4, 2)), _Y, _W, [0, 1]), r"X must have shape \(N, d\)"),
    (lambda: sgf.simulate(_A, _X, np.ones((3, 2)), _W, [0, 1]), r"Y must have shape \(2, 2\)"),
    (lambda: sgf.simulate(_A, _X, _Y, _W, [0, 1], head="mirror"), r"head='mirror'"),
    (lambda: B.fixed_point_conditions(_A, _X, _Y, np.zeros((2, 2))), r"W must be invertible"),
    (lambda: B.invariant_Q(_X, _Y, _W, eta_y=0.0), r"eta_y=0.0"),
    (lambda: B.two_class_fixed_point(0, 0.1, 0.5), r"n=0"),
    (lambda: B.two_class_fixed_point(1, -0.1, 0.5), r"m=-0.1"),
    (lambda: B.two_class_jacobian(1, 1.0, -0.45), r"beyond the threshold"),
    (lambda: B.two_class_collapse_rate(1, 0.1, 1.2), r"alpha=1.2"),
    (lambda: MF.empirical_init(np.ones((4, 2)), _A, [0, 0, 1], [-1, 1, -1]), r"X0 must have 3 rows"),
    (lambda: MF.type_structure(_A, [0, 0], [-1, 1, -1]), r"classes and partner must have shape"),
    (lambda: MF.population_init(np.ones((2, 2)), 0.3, np.full((2, 2), 0.3), n_samples=10), r"pi must be non-negative and sum to 1"),
    (lambda: MF.population_init(np.ones((2, 2)), 0.3, np.eye(2) / 2, n_samples=10, kind="odd"), r"kind='odd'"),
    (lambda: MF.simulate_closure(None, {}, [0, 1], alpha=3.0), r"alpha=3.0"),
    (lambda: TS.make_task(1.5), r"p=1.5 is outside"),
    (lambda: TS.make_task(0.1, K=1), r"K=1 must be an integer >= 2"),
    (lambda: TS.make_task(0.1, sigma=-1.0), r"sigma=-1.0"),
    (lambda: TS.check_student("deep", 1.0), r"student='deep'"),
    (lambda: TS.check_student("head", 1.1), r"alpha=1.1"),
    (lambda: TS.check_student("head", 1.0, eta_E=0.0), r"eta_E=0.0"),
])
def test_models_b_c_bad_input_names_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()
