"""The parts the sweepable flows are built from (simulations.flows.parts): each shared field is
defined and validated once, every model keeps flat field names and its own defaults, layouts
are named, and Model A's closed form is one array-generic function."""

import dataclasses

import numpy as np
import pytest

from minimal_models import coupling
from minimal_models import frustration as model_a
from simulations.flows import FrustrationFlow, MeanFieldFlow, StopGradFlow, TeacherStudentFlow
from simulations.flows import stopgrad as stopgrad_flow
from simulations.flows.parts import CouplingGraph, GraphLayout, SolverSettings, pad_to
from simulations.flows.time_grid import TimeGrid, TimeLayout
from simulations.sweep import static_view

MODELS = (FrustrationFlow, StopGradFlow, MeanFieldFlow, TeacherStudentFlow)
GRAPH_MODELS = (FrustrationFlow, StopGradFlow, MeanFieldFlow)


def _names(part):
    return [f.name for f in dataclasses.fields(part)]


@pytest.mark.parametrize("cls", MODELS)
def test_parts_give_every_model_flat_fields_once(cls):
    names = _names(cls)
    assert len(names) == len(set(names))
    parts = [TimeGrid, SolverSettings] + ([CouplingGraph] if cls in GRAPH_MODELS else [])
    for part in parts:
        assert issubclass(cls, part)
        assert set(_names(part)) <= set(names)
    # static fields of the solver part are static in every model
    assert set(SolverSettings.STATIC) <= set(cls.static_fields)


# The models' own defaults (spec settings F3, F5 and §4) survive the move to shared parts.
DEFAULTS = {
    FrustrationFlow: dict(dim=16, seed_init=1, t_min=1e-3, t_max=100.0, n_times=61,
                          rtol=1e-10, atol=1e-12, max_steps=100_000),
    StopGradFlow: dict(dim=8, seed_init=3, t_min=1e-2, t_max=3e4, n_times=61, rtol=1e-10,
                       atol=1e-12, max_steps=200_000),
    MeanFieldFlow: dict(dim=8, seed_init=3, t_min=1e-2, t_max=3e4, n_times=61, rtol=1e-10,
                        atol=1e-12, max_steps=200_000),
    TeacherStudentFlow: dict(dim=16, t_min=1e-2, t_max=2000.0, n_times=61, rtol=1e-9,
                             atol=1e-11, max_steps=200_000),
}


@pytest.mark.parametrize("cls", MODELS)
def test_each_model_keeps_its_defaults(cls):
    model = cls()
    for name, value in DEFAULTS[cls].items():
        assert getattr(model, name) == value, (cls.__name__, name)


BAD_SHARED = [
    (dict(t_min=5.0, t_max=1.0), r"t_min=5.0 must be smaller than t_max"),
    (dict(t_min=-1.0), r"t_min=-1.0"),
    (dict(n_times=1), r"n_times=1"),
    (dict(rtol=0.0), r"rtol=0.0"),
    (dict(atol=-1e-9), r"atol=-1e-09"),
    (dict(ode_solver="euler"), r"ode_solver='euler'"),
    (dict(max_steps=0), r"max_steps=0"),
]
BAD_GRAPH = [
    (dict(n_classes=1), r"n_classes=1"),
    (dict(frustration=1.5), r"frustration=1.5"),
    (dict(kind="soft", q=0.7), r"q=0.7"),
    (dict(pairing="star"), r"pairing='star'"),
    (dict(seed_A=-1), r"seed_A=-1"),
    (dict(init="gauss"), r"init='gauss'"),
    (dict(sigma=-0.1), r"sigma=-0.1"),
]


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("bad, match", BAD_SHARED)
def test_shared_checks_apply_to_every_model(cls, bad, match):
    with pytest.raises(ValueError, match=match):
        cls(**bad)
    with pytest.raises(ValueError, match=match):  # replace validates too
        dataclasses.replace(cls(), **bad)


@pytest.mark.parametrize("cls", GRAPH_MODELS)
@pytest.mark.parametrize("bad, match", BAD_GRAPH)
def test_graph_checks_apply_to_every_graph_model(cls, bad, match):
    with pytest.raises(ValueError, match=match):
        cls(**bad)


def test_model_b_settings_are_shared_by_the_full_model_and_the_closure():
    for cls in (StopGradFlow, MeanFieldFlow):
        assert issubclass(cls, stopgrad_flow.ModelBSettings)
        with pytest.raises(ValueError, match=r"eta_W=2.0 applies only with preset='custom'"):
            cls(eta_W=2.0)
        with pytest.raises(ValueError, match=r"alpha=1.5"):
            cls(alpha=1.5)
    mf = MeanFieldFlow(n_per_class=7, frustration=0.3, alpha=0.5, dim=3, init="zero_labels")
    full = mf._full()
    assert isinstance(full, StopGradFlow)
    for f in dataclasses.fields(full):  # every shared field is passed through, the rest default
        expected = getattr(mf, f.name) if hasattr(mf, f.name) else f.default
        assert getattr(full, f.name) == expected, f.name
    assert full.rates() == mf.rates() == {"nu": 1 / 7, "eta_x": 7.0, "eta_y": 1.0,
                                          "eta_W": 1.0}


def test_large_N_closure_refuses_an_init_it_would_ignore():
    MeanFieldFlow(mode="large_N", init="zero_labels")
    with pytest.raises(ValueError, match=r"init='iid'.*large_N"):
        MeanFieldFlow(mode="large_N", init="iid")
    # the exact closure starts from the empirical moments of whatever initial state it is given
    from minimal_models import meanfield

    iid = MeanFieldFlow(n_per_class=5, dim=2, init="iid", s_x=2.0, mode="exact")
    st, state = iid.closure_init()
    X = iid._full().initial_state()["X"]
    np.testing.assert_allclose(state["xbar"], meanfield.type_means(X, st), atol=1e-14)
    clustered = dataclasses.replace(iid, init="clustered").closure_init()[1]["xbar"]
    assert not np.allclose(clustered, state["xbar"])  # init reaches the closure


def test_layouts_are_named_and_hashable():
    a = FrustrationFlow(n_classes=3, n_per_class=4, dim=2, n_times=5)
    b = dataclasses.replace(a, n_classes=5, dim=3, n_times=7)
    layout = a.layout([a, b])
    assert layout == GraphLayout(n_samples=20, n_classes=5, dim=3,
                                 time=TimeLayout(n_times=7, common=None))
    hash(layout)
    same = a.layout([a, dataclasses.replace(a, frustration=0.3)])
    np.testing.assert_array_equal(same.time.common, a.times())
    assert a.coords(same)["t"].tolist() == list(a.times())
    assert a.coords(layout)["t"].tolist() == list(range(7))
    ts = TeacherStudentFlow(D=4, P=12, dim=2, n_times=3).layout([TeacherStudentFlow(
        D=4, P=12, dim=2, n_times=3)])
    assert (ts.D, ts.K, ts.P, ts.dim, ts.time.n_times) == (4, 4, 12, 2, 3)
    mf = MeanFieldFlow(n_per_class=3, dim=2)
    closure = mf.layout([mf])
    st, _ = mf.closure_init()
    assert (closure.n_types, closure.n_groups) == (st.n_types, len(st.group_degree))


def test_time_inputs_pad_the_grid_and_mask_the_padding():
    grid = FrustrationFlow(n_times=4, t_min=0.1, t_max=10.0)
    inp = grid.time_inputs(TimeLayout(n_times=6, common=None))
    np.testing.assert_array_equal(inp["ts"][:4], grid.times())
    assert np.all(inp["ts"][4:] == 10.0)
    assert inp["t_mask"].tolist() == [True] * 4 + [False] * 2
    np.testing.assert_allclose(grid.times(), [0.0, 0.1, 1.0, 10.0])


def test_graph_inputs_pad_with_inert_entries():
    model = StopGradFlow(n_classes=2, n_per_class=3, frustration=0.34, dim=2, n_times=4)
    layout = GraphLayout(n_samples=9, n_classes=3, dim=4, time=TimeLayout(4, None))
    g = model.graph_inputs(layout)
    A = model.coupling()
    np.testing.assert_array_equal(g["A"][:6, :2], A)
    assert np.all(g["A"][6:] == 0) and np.all(g["A"][:, 2:] == 0)
    assert g["classes"].tolist() == [0, 0, 0, 1, 1, 1, -1, -1, -1]
    assert g["frustrated"].tolist() == [True, False, False, True, False, False] + [False] * 3
    assert g["sample_mask"].sum() == 6 and g["label_mask"].tolist() == [True, True, False]
    inp = model.prepare(layout)
    np.testing.assert_array_equal(inp["state"].W0, np.eye(4))  # identity head on the padded block
    np.testing.assert_array_equal(inp["state"].X0[:6, :2], model.initial_state()["X"])
    assert np.all(inp["state"].X0[6:] == 0) and np.all(inp["state"].X0[:, 2:] == 0)
    out = pad_to(np.ones((2, 2)), np.full((3, 3), 7.0))
    np.testing.assert_array_equal(out, [[1, 1, 7], [1, 1, 7], [7, 7, 7]])


def test_static_view_of_a_composed_model_hides_every_part_field():
    view = static_view(StopGradFlow(n_per_class=3, dim=2))
    assert view.head == "cross_shared" and view.ode_solver == "dopri8-lean"
    for name in ("frustration", "t_max", "rtol", "alpha", "seed_init"):
        with pytest.raises(TypeError, match=name):
            float(getattr(view, name))


def test_closed_form_is_one_array_generic_function():
    import jax
    import jax.numpy as jnp

    A = coupling.coupling_matrix(3, 4, 0.5, seed=2)
    Z0 = coupling.initial_state(3, 4, 2, seed=5)
    ts = np.array([0.0, 0.3, 2.0, 50.0])
    Z_np = model_a.closed_form(A, Z0, ts, eta_x=2.0, eta_y=0.5, nu=0.7)
    Z_jx, lam = jax.jit(lambda a, z, t: model_a.closed_form_solution(
        a, z, t, eta_x=2.0, eta_y=0.5, nu=0.7))(jnp.asarray(A), jnp.asarray(Z0), jnp.asarray(ts))
    assert isinstance(Z_jx, jax.Array)
    np.testing.assert_allclose(np.asarray(Z_jx), Z_np, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(Z_jx)[0], Z0, atol=1e-12)
    # the eigenvalues are those of nu H L_G divided by nu
    np.testing.assert_allclose(0.7 * np.sort(np.asarray(lam)),
                               model_a.generator_spectrum(A, eta_x=2.0, eta_y=0.5, nu=0.7),
                               atol=1e-12)
    # and the flow's closed-form solver is that same function: d_min of the sweep equals it
    from simulations.sweep import SweepSpec, run_sweep

    flow = FrustrationFlow(n_classes=3, n_per_class=4, frustration=0.5, seed_A=2, seed_init=5,
                           dim=2, eta_x=2.0, eta_y=0.5, normalisation=0.7, solver="closed_form",
                           n_times=4, t_min=0.3, t_max=50.0)
    ds = run_sweep(SweepSpec("cf", flow, axes=[]), progress=False)
    Y = model_a.closed_form(A, Z0, flow.times(), eta_x=2.0, eta_y=0.5, nu=0.7)[:, 12:]
    d = np.linalg.norm(Y[:, :, None] - Y[:, None, :], axis=-1) + np.where(np.eye(3), np.inf, 0)
    np.testing.assert_allclose(ds["d_min"].values, d.min(axis=(1, 2)), rtol=1e-10, atol=1e-14)


def assert_collapse_ratio_is_the_analysis_definition(ds):
    """One definition: collapse_ratio(t) = d_min(t) / max_{s <= t} d_min(s) of
    analysis.collapse, NaN exactly where d_min is (padded times, failed solves)."""
    from analysis import collapse

    d = ds["d_min"].values
    want = np.asarray(collapse.collapse_ratio(np.nan_to_num(d, nan=1.0)))
    np.testing.assert_array_equal(np.isnan(ds["collapse_ratio"].values), np.isnan(d))
    np.testing.assert_array_equal(ds["collapse_ratio"].values, np.where(np.isnan(d), np.nan,
                                                                        want))
    assert "analysis.collapse.collapse_ratio" in ds["collapse_ratio"].attrs["description"]


@pytest.mark.slow
@pytest.mark.parametrize("cls", GRAPH_MODELS)
def test_graph_models_output_the_collapse_ratio_and_the_effective_frustration(cls):
    from simulations.sweep import SweepSpec, run_sweep

    model = cls(n_classes=3, n_per_class=10, dim=2, t_max=20.0, n_times=5)
    ps = (0.0, 0.04, 0.05, 0.27)  # 0.04 and 0.05 draw 0 and 1 sample per class; 0.27 draws 3
    axes = [("frustration", ps), ("n_times", (4, 5))]  # padded time grids
    ds = run_sweep(SweepSpec("outputs", model, axes=axes, chunk_size=8), progress=False)
    assert int((ds["result"] != 0).sum()) == 0
    assert_collapse_ratio_is_the_analysis_definition(ds)
    assert float(ds["collapse_ratio"].sel(frustration=0.27).isel(t=-1).min()) < 1.0
    assert ds["frustration_eff"].isel(n_times=0).values.tolist() == [0.0, 0.0, 0.1, 0.3]
    assert ds["frustration_eff"].dims == ("frustration", "n_times")
    assert "round(p n)/n" in ds["frustration_eff"].attrs["description"]


def test_model_a_prediction_takes_the_effective_frustration():
    point = FrustrationFlow(n_classes=4, n_per_class=50, frustration=0.05)  # draws 3: p = 0.06
    assert point.effective_frustration() == 0.06
    assert point.predicted_slow_rate() == model_a.symmetric_cubic_slow_rate(4, 50, 0.06)
    assert point.predicted_slow_rate() != model_a.symmetric_cubic_slow_rate(4, 50, 0.05)
    soft = dataclasses.replace(point, kind="soft", q=0.2)
    j = 0.2 * (1 - 0.2)
    assert soft.predicted_slow_rate() == model_a.first_order_slow_rate(4, 50, 0.06, j=j)
    # the prediction is within 2 % of the exact mean slow rate (15 % off at the nominal p)
    exact = float(np.mean(model_a.slow_eigenvalues(point.coupling())))
    assert abs(point.predicted_slow_rate() / exact - 1) < 0.02


def test_effective_parameters_record_the_rates_the_flow_uses():
    balanced = StopGradFlow(n_per_class=20)
    eff = balanced.effective_parameters()
    assert (eff["nu"], eff["eta_x"], eff["eta_y"], eff["eta_W"]) == (1 / 20, 20.0, 1.0, 1.0)
    assert balanced.nu == 1.0 and balanced.eta_x == 1.0  # the fields themselves are unused
    assert {k: v for k, v in eff.items() if k not in ("nu", "eta_x")} == {
        k: v for k, v in dataclasses.asdict(balanced).items() if k not in ("nu", "eta_x")}
    custom = MeanFieldFlow(preset="custom", nu=0.5, eta_x=3.0)
    assert custom.effective_parameters()["nu"] == 0.5
    assert custom.effective_parameters()["eta_x"] == 3.0
    unit = StopGradFlow(preset="unit-sum").effective_parameters()
    assert (unit["nu"], unit["eta_x"]) == (1.0, 1.0)
    a = FrustrationFlow(n_classes=4, n_per_class=5, normalisation="mean").effective_parameters()
    assert a["normalisation"] == "mean" and a["nu"] == 1 / 20
    assert TeacherStudentFlow().effective_parameters() == dataclasses.asdict(TeacherStudentFlow())


def test_dead_precision_helper_is_gone():
    from minimal_models import precision

    assert not hasattr(precision, "x64_enabled")
    assert precision.__all__ == ["require_x64"]
