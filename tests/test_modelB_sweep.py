"""Models B and C through the sweep engine (RECONSTRUCTION, spec §3-§4): the engine's solve
equals the SciPy reference, padded grids equal single runs, the exact closure equals the
class-averaged full model, and bad input is refused before anything is written."""

import dataclasses
import os

import numpy as np
import pytest

from analysis import d_min
from minimal_models import stopgrad as B
from paper_repro.cli import main
from simulations.flows import stopgrad as sgf
from simulations.flows.meanfield import MeanFieldFlow
from simulations.flows.stopgrad import StopGradFlow
from simulations.flows.stopgrad_state import FullState, ReducedState
from simulations.flows.teacher_student import TeacherStudentFlow
from simulations.sweep import SweepSpec, run_sweep

SMALL = StopGradFlow(n_classes=3, n_per_class=4, dim=3, frustration=0.25, t_min=1e-2,
                     t_max=5.0, n_times=9, rtol=1e-11, atol=1e-13)


@pytest.mark.slow
def test_engine_equals_scipy_reference():
    spec = SweepSpec("b", SMALL, axes=[("alpha", (1.0, 0.3))], chunk_size=2)
    ds = run_sweep(spec, progress=False)
    assert int((ds["result"] != 0).sum()) == 0
    for alpha in (1.0, 0.3):
        point = dataclasses.replace(SMALL, alpha=alpha)
        s, r = point.initial_state(), point.rates()
        ref = sgf.simulate(point.coupling(), s["X"], s["Y"], s["W"], point.times(), alpha=alpha,
                         **r, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ds["d_min"].sel(alpha=alpha), np.asarray(d_min(ref["Y"])),
                                   rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(ds["W_T"].sel(alpha=alpha), ref["W"][-1], atol=1e-8)
    assert float(ds["Q_drift"].sel(alpha=1.0).max()) < 1e-9  # SG conserves Q
    assert float(ds["Q_drift"].sel(alpha=0.3).max()) > 1e-3  # partial SG does not
    assert ds.attrs["reconstruction"] == 1


@pytest.mark.slow
def test_padded_grid_over_classes_equals_single_runs():
    spec = SweepSpec("pad", SMALL, axes=[("n_classes", (2, 3))], chunk_size=2)
    ds = run_sweep(spec, progress=False)
    for K in (2, 3):
        single = run_sweep(SweepSpec("one", dataclasses.replace(SMALL, n_classes=K),
                                     axes=[("seed_A", (0,))]), progress=False)
        np.testing.assert_allclose(ds["d_min"].sel(n_classes=K),
                                   single["d_min"].isel(seed_A=0), rtol=1e-9)
        np.testing.assert_allclose(ds["acc_cons"].sel(n_classes=K),
                                   single["acc_cons"].isel(seed_A=0), rtol=0, atol=1e-12)


@pytest.mark.slow
def test_exact_closure_sweep_equals_full_model():
    kw = dict(n_classes=3, n_per_class=4, dim=3, frustration=0.25, t_min=1e-2, t_max=5.0,
              n_times=9, rtol=1e-11, atol=1e-13)
    axes = [("alpha", (1.0, 0.0))]
    full = run_sweep(SweepSpec("f", StopGradFlow(**kw), axes=axes), progress=False)
    mf = run_sweep(SweepSpec("m", MeanFieldFlow(mode="exact", **kw), axes=axes), progress=False)
    np.testing.assert_allclose(mf["d_min"], full["d_min"], atol=1e-8)
    np.testing.assert_allclose(mf["W_T"], full["W_T"], atol=1e-8)
    large = run_sweep(SweepSpec("l", MeanFieldFlow(mode="large_N", **kw), axes=axes),
                      progress=False)
    assert float(np.abs(large["d_min"] - full["d_min"]).max()) > 1e-4  # a different closure


@pytest.mark.slow
def test_teacher_student_sweep_conserves_qc_with_sg_only():
    model = TeacherStudentFlow(D=8, K=3, P=24, dim=4, t_max=20.0, n_times=6)
    ds = run_sweep(SweepSpec("c", model, axes=[("student", ("plain", "head")),
                                               ("alpha", (1.0, 0.0))]), progress=False)
    assert int((ds["result"] != 0).sum()) == 0
    assert float(ds["QC_drift"].sel(student="head", alpha=1.0).max()) < 1e-9
    assert float(ds["QC_drift"].sel(student="plain", alpha=1.0).max()) > 1e-3
    # the collapse ratio of the label embeddings, by the one definition of analysis.collapse
    from analysis import collapse

    np.testing.assert_array_equal(ds["collapse_ratio"].values,
                                  np.asarray(collapse.collapse_ratio(ds["d_min"].values)))


@pytest.mark.parametrize("call,match", [
    (lambda: StopGradFlow(alpha=1.5), r"alpha=1.5 is outside the allowed range \[0.0, 1.0\]"),
    (lambda: StopGradFlow(alpha=-0.1), r"alpha=-0.1"),
    (lambda: StopGradFlow(eta_W=0.0), r"eta_W=0.0"),
    (lambda: StopGradFlow(head="mirror"), r"head='mirror'"),
    (lambda: StopGradFlow(W_init="ones"), r"W_init='ones'"),
    (lambda: StopGradFlow(init_scale=-1.0), r"init_scale=-1.0"),
    (lambda: MeanFieldFlow(mode="tiny"), r"mode='tiny'"),
    (lambda: MeanFieldFlow(alpha=2.0), r"alpha=2.0"),
    (lambda: TeacherStudentFlow(student="deep"), r"student='deep'"),
    (lambda: TeacherStudentFlow(eta_E=-1.0), r"eta_E=-1.0"),
    (lambda: TeacherStudentFlow(frustration=1.2), r"frustration=1.2"),
])
def test_bad_model_parameters(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_cli_refuses_bad_alpha_before_writing(tmp_path, capsys):
    store = str(tmp_path / "pd.zarr")
    code = main(["sweep", "modelB_phase", "--quick", "--out", store, "--set", "alpha=0,1.5"])
    assert code != 0
    assert "alpha=1.5" in capsys.readouterr().err
    assert not os.path.exists(store) and not os.listdir(tmp_path)


# ------------------------------------------------------------------------ exact reduced state

REDUCIBLE = dataclasses.replace(SMALL, n_per_class=8)  # N = 24 > R + G d: the reduction pays
HEADS = ("cross_shared", "sample_side_only", "shared_both_sg_label_branch")


@pytest.mark.parametrize("head", [
    "cross_shared",
    pytest.param("sample_side_only", marks=pytest.mark.slow),
    pytest.param("shared_both_sg_label_branch", marks=pytest.mark.slow),
])
@pytest.mark.slow
def test_reduced_state_gives_the_full_models_dataset(head):
    """reduction="auto" (row means + propagators) and "none" (full state) give the same
    dataset to <= 1e-7, on a grid with alpha < 1, frustration 0 and > 0, and padded sizes."""
    model = dataclasses.replace(REDUCIBLE, head=head)
    axes = [("alpha", (1.0, 0.3)), ("n_per_class", (6, 8))]
    layout = model.layout([dataclasses.replace(model, n_per_class=n) for n in (6, 8)])
    assert model.uses_reduction(layout)  # else this would compare the full state with itself
    assert not dataclasses.replace(model, reduction="none").uses_reduction(layout)
    auto = run_sweep(SweepSpec("auto", model, axes=axes, chunk_size=4), progress=False)
    none = run_sweep(SweepSpec("none", dataclasses.replace(model, reduction="none"), axes=axes,
                               chunk_size=4), progress=False)
    assert int((auto["result"] != 0).sum()) == 0
    assert set(auto.data_vars) == set(none.data_vars)
    for name in auto.data_vars:
        if name == "num_steps":  # the error norm runs over a different state: steps may differ
            continue
        a, b = auto[name].values.astype(float), none[name].values.astype(float)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=name)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-7, equal_nan=True, err_msg=name)


def test_reduction_is_chosen_from_the_layout():
    # all rows distinct in effect (R d + G d^2 >= N d): the full state, whatever "auto" says
    tiny = StopGradFlow(n_classes=2, n_per_class=2, dim=4, frustration=0.5)
    assert not tiny.uses_reduction(tiny.layout([tiny]))
    assert isinstance(tiny.prepare(tiny.layout([tiny]))["state"], FullState)
    # F5: 10 distinct rows and 2 degrees for 200 samples
    f5 = StopGradFlow()
    layout = f5.layout([f5])
    assert (layout.n_groups, layout.n_degrees) == (10, 2) and f5.uses_reduction(layout)
    state = f5.prepare(layout)["state"]
    assert isinstance(state, ReducedState)
    assert state.Xbar0.shape == (10, 8) and state.structure.S0.shape == (2, 8, 8)
    # the layout decides, the static field can only opt out
    none = dataclasses.replace(f5, reduction="none")
    assert isinstance(none.prepare(layout)["state"], FullState)
    with pytest.raises(ValueError, match="reduction='half'"):
        StopGradFlow(reduction="half")
