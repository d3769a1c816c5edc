"""Bad input raises ValueError naming the parameter, the value and what is allowed."""

import numpy as np
import pytest

from minimal_models import frustration as F
from simulations import FrustrationFlow, solve_flow_scipy


@pytest.mark.parametrize("call,match", [
    (lambda: F.coupling_matrix(4, 10, 1.5), r"frustration=1.5 is outside the allowed range \[0.0, 1.0\]"),
    (lambda: F.coupling_matrix(4, 10, -0.1), r"frustration=-0.1"),
    (lambda: F.coupling_matrix(1, 10, 0.1), r"n_classes=1 must be an integer >= 2"),
    (lambda: F.coupling_matrix(4, 0, 0.1), r"n_per_class=0"),
    (lambda: F.coupling_matrix(4, 10, 0.1, kind="medium"), r"kind='medium' is not one of"),
    (lambda: F.coupling_matrix(4, 10, 0.1, pairing="random"), r"pairing='random'"),
    (lambda: F.coupling_matrix(4, 10, 0.1, kind="soft", q=0.7), r"q=0.7 is outside"),
    (lambda: F.coupling_matrix(4.5, 10, 0.1), r"n_classes=4.5 must be an integer"),
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
    (lambda: F.initial_state(3, 4, 2, init="gaussian"), r"init='gaussian'"),
    (lambda: F.normalisation_factor("median", 10, 2), r"normalisation='median'"),
    (lambda: F.normalisation_factor(-1.0, 10, 2), r"normalisation=-1.0"),
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
