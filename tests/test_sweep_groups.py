"""The sweep engine's model protocol: every field is sweepable with the result it promises.

Static fields split the grid into groups (one compile each, one dataset); every other field is
an input.  A model that reads a per-point field in ``evaluate`` fails loudly instead of
computing every point with the base value (the bug these tests pin down).
"""

import dataclasses
import os
import subprocess
import sys
import textwrap
from typing import ClassVar

import numpy as np
import pytest
import xarray as xr

from simulations.flows import FrustrationFlow, solve_flow, solve_flow_scipy

from simulations.sweep import SweepSpec, run_sweep
from simulations.sweep import StoreLockedError, SweepableModel, static_view

SMALL = FrustrationFlow(n_per_class=4, dim=2, n_times=5, t_max=10.0, rtol=1e-8, atol=1e-10)


def _sweepable_models():
    """One small instance of every sweepable model the package ships."""
    import simulations.flows as simulations

    tiny = {"n_per_class": 3, "dim": 2, "t_max": 1.0, "n_times": 3, "P": 12, "D": 4}
    models = [SMALL]
    for name in ("StopGradFlow", "MeanFieldFlow", "TeacherStudentFlow"):  # Models B/C, if present
        cls = getattr(simulations, name, None)
        if cls is not None:
            fields = {f.name for f in dataclasses.fields(cls)}
            models.append(cls(**{k: v for k, v in tiny.items() if k in fields}))
    return models


@pytest.mark.slow
def test_rtol_is_an_input_and_changes_the_solve():
    spec = SweepSpec("rtol", SMALL, axes=[("rtol", (1e-3, 1e-12))], chunk_size=2)
    ds = run_sweep(spec, progress=False)
    steps = ds["num_steps"].values
    assert np.all(ds["result"] == 0)
    assert steps[0] < steps[1], f"rtol 1e-3 must take fewer steps than 1e-12, got {steps}"
    # and the tighter solve is the more accurate one against the closed form
    exact = run_sweep(dataclasses.replace(spec, model=dataclasses.replace(
        SMALL, solver="closed_form")), progress=False)["d_min"].values[0]
    err = np.abs(ds["d_min"].values - exact).max(axis=-1)
    assert err[1] < 1e-7 and err[1] < err[0]


@pytest.mark.slow
def test_solver_axis_equals_two_separate_sweeps():
    axes = [("frustration", (0.0, 0.2, 0.4)), ("seed_A", (0, 1))]
    both = run_sweep(SweepSpec("both", SMALL, axes=[("solver", ("ode", "closed_form"))] + axes,
                               chunk_size=4), progress=False)
    for solver in ("ode", "closed_form"):
        alone = run_sweep(SweepSpec("one", dataclasses.replace(SMALL, solver=solver), axes=axes,
                                    chunk_size=4), progress=False)
        got = both.sel(solver=solver)
        for name in alone.data_vars:
            np.testing.assert_array_equal(got[name].values, alone[name].values, err_msg=name)
    # the two solvers agree with each other too, so the rows are not a copy of one of them
    np.testing.assert_allclose(both["d_min"].sel(solver="ode"),
                               both["d_min"].sel(solver="closed_form"), atol=1e-6)
    assert int(both["num_steps"].sel(solver="closed_form").max()) == 0
    assert int(both["num_steps"].sel(solver="ode").min()) > 0


@pytest.mark.slow
def test_time_grid_axes_give_per_point_times():
    spec = SweepSpec("grid", dataclasses.replace(SMALL, solver="closed_form"),
                     axes=[("n_times", (3, 5)), ("t_max", (1.0, 10.0))], chunk_size=3)
    ds = run_sweep(spec, progress=False)
    assert ds.sizes["t"] == 5
    for n in (3, 5):
        for t_max in (1.0, 10.0):
            point = dataclasses.replace(spec.model, n_times=n, t_max=t_max)
            alone = run_sweep(SweepSpec("p", point, axes=[("seed_A", (0,))]), progress=False)
            got = ds.sel(n_times=n, t_max=t_max)
            np.testing.assert_array_equal(got["time"].values[:n], point.times())
            assert np.all(np.isnan(got["time"].values[n:]))
            np.testing.assert_allclose(got["d_min"].values[:n], alone["d_min"].values[0],
                                       rtol=1e-12)
            assert np.all(np.isnan(got["d_min"].values[n:]))


@pytest.mark.slow
def test_every_field_of_every_sweepable_model_is_an_input_or_static():
    """A field is sweepable only if prepare() reads it (then it reaches evaluate as an array)
    or it is declared static (then the engine groups by it).  Reading the fields that
    prepare() touches is recorded on the real model.  A field that this configuration does
    not use (a rate that a preset overrides) must be refused when set, never ignored."""
    for model in _sweepable_models():
        cls = type(model)
        assert isinstance(model, SweepableModel)
        read = set()

        class Recording(cls):
            def __getattribute__(self, name):
                read.add(name)
                return object.__getattribute__(self, name)

        recording = object.__new__(Recording)
        for f in dataclasses.fields(model):
            object.__setattr__(recording, f.name, getattr(model, f.name))
        layout = model.layout([model])
        recording.prepare(layout)
        fields = {f.name for f in dataclasses.fields(model)}
        orphans = fields - read - set(cls.static_fields)
        for name in sorted(orphans):
            value = getattr(model, name)
            assert isinstance(value, (int, float)) and not isinstance(value, bool), (
                f"{cls.__name__}.{name} is neither read by prepare() nor declared static: "
                "sweeping it would do nothing")
            with pytest.raises(ValueError, match=name):
                dataclasses.replace(model, **{name: value * 2 + 1})
        # and evaluate/outputs/coords run on the static view (they would raise otherwise)
        ds = run_sweep(SweepSpec("audit", model, axes=[], chunk_size=1), progress=False)
        assert len(ds.data_vars) > 0


def test_a_model_reading_a_per_point_field_in_evaluate_is_refused():
    @dataclasses.dataclass(frozen=True)
    class Leaky(FrustrationFlow):
        def evaluate(self, inputs):
            out = super().evaluate(inputs)
            out["loss"] = out["loss"] * self.frustration  # the bug: a per-point field
            return out

    spec = SweepSpec("leak", Leaky(**{f.name: getattr(SMALL, f.name)
                                      for f in dataclasses.fields(SMALL)}),
                     axes=[("frustration", (0.1, 0.2))])
    with pytest.raises(TypeError, match="frustration.*static_fields"):
        run_sweep(spec, progress=False)
    view = static_view(SMALL)
    assert view.solver == "ode"
    with pytest.raises(TypeError):
        float(view.rtol)


# ------------------------------------------------------- a nonlinear pytree model with shared input

@dataclasses.dataclass(frozen=True)
class SpiralRiccati:
    """dq/dt = omega J q - s q, ds/dt = -s^2 on the state {"q": (2,), "s": ()}.

    Exact: s(t) = s0 / (1 + s0 t), q(t) = R(omega t) q0 / (1 + s0 t).  J is a shared input."""

    omega: float = 1.0
    s0: float = 0.5
    angle: float = 0.0
    solver: str = "ode"

    static_fields: ClassVar[tuple[str, ...]] = ("solver",)

    def layout(self, models):
        return None

    def prepare(self, layout):
        return {"omega": np.float64(self.omega), "s0": np.float64(self.s0),
                "q0": np.array([np.cos(self.angle), np.sin(self.angle)])}

    def shared_inputs(self, layout):
        return {"J": np.array([[0.0, -1.0], [1.0, 0.0]]), "ts": np.linspace(0.0, 3.0, 7)}

    @staticmethod
    def rhs(t, z, a):
        return {"q": a["omega"] * (a["J"] @ z["q"]) - z["s"] * z["q"], "s": -z["s"] ** 2}

    def evaluate(self, inputs):
        import jax.numpy as jnp

        assert inputs["J"].shape == (2, 2) and inputs["q0"].shape == (2,)
        sol = solve_flow(self.rhs, {"q": inputs["q0"], "s": inputs["s0"]}, inputs["ts"],
                         args=inputs, rtol=1e-11, atol=1e-13)
        return {"q": sol.zs["q"], "s": sol.zs["s"], "result": jnp.asarray(sol.result, jnp.int32)}

    def outputs(self, layout):
        return {"q": (("t", "component"), "1", "q(t)"), "s": (("t",), "1", "s(t)"),
                "result": ((), "1", "solver status")}

    def coords(self, layout):
        return {"t": np.linspace(0.0, 3.0, 7)}


def _exact(omega, s0, angle, t):
    c, s = np.cos(omega * t + angle), np.sin(omega * t + angle)
    return np.stack([c, s], -1) / (1 + s0 * t)[:, None], s0 / (1 + s0 * t)


@pytest.mark.slow
def test_nonlinear_pytree_ode_through_the_engine_matches_closed_form_and_scipy():
    spec = SweepSpec("spiral", SpiralRiccati(), axes=[("omega", (0.5, 2.0)), ("s0", (0.3, 1.5)),
                                                      ("angle", (0.0, 1.0))], chunk_size=3)
    ds = run_sweep(spec, progress=False)
    assert np.all(ds["result"] == 0)
    t = ds["t"].values
    J = np.array([[0.0, -1.0], [1.0, 0.0]])
    for omega in (0.5, 2.0):
        for s0 in (0.3, 1.5):
            for angle in (0.0, 1.0):
                got = ds.sel(omega=omega, s0=s0, angle=angle)
                q, s = _exact(omega, s0, angle, t)
                np.testing.assert_allclose(got["q"].values, q, atol=1e-9)
                np.testing.assert_allclose(got["s"].values, s, atol=1e-9)
                ref = solve_flow_scipy(
                    lambda _, z, a: {"q": omega * (J @ z["q"]) - z["s"] * z["q"],
                                     "s": -z["s"] ** 2},
                    {"q": np.array([np.cos(angle), np.sin(angle)]), "s": np.float64(s0)}, t,
                    rtol=1e-11, atol=1e-13)
                assert ref.result == 0 and ref.zs["q"].shape == (7, 2)
                np.testing.assert_allclose(got["q"].values, ref.zs["q"], atol=1e-9)
                np.testing.assert_allclose(got["s"].values, ref.zs["s"], atol=1e-9)


def test_shared_inputs_are_passed_once_not_per_point():
    import jax

    from simulations.sweep.chunks import Runner, chunk_function

    spec = SweepSpec("spiral", SpiralRiccati(), axes=[("omega", (0.5, 2.0, 3.0))], chunk_size=3)
    runner = Runner(spec)
    chunk = runner.plan.chunks[0]
    fn = chunk_function(SpiralRiccati, chunk.group)
    jaxpr = jax.make_jaxpr(fn._fn)(runner.inputs(chunk), runner.shared(chunk.group))
    shapes = [tuple(v.aval.shape) for v in jaxpr.jaxpr.invars]
    assert (2, 2) in shapes and (3, 2, 2) not in shapes  # J unbatched
    assert (3, 2) in shapes  # q0 batched over the chunk


# ------------------------------------------------------------------------ two writers, one store

def test_a_second_live_writer_is_refused_and_a_dead_ones_lock_is_taken_over(tmp_path):
    store = str(tmp_path / "locked.zarr")
    spec = SweepSpec("lock", dataclasses.replace(SMALL, solver="closed_form"),
                     axes=[("frustration", (0.0, 0.3))])
    os.makedirs(store)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with open(os.path.join(store, ".lock"), "w") as fh:
            fh.write(f"{holder.pid}@{os.uname().nodename}")
        with pytest.raises(StoreLockedError, match=str(holder.pid)):
            run_sweep(spec, store, progress=False)
        assert sorted(os.listdir(store)) == [".lock"]  # nothing written
    finally:
        holder.kill()
        holder.wait()
    ds = run_sweep(spec, store, progress=False)  # the holder is gone: its lock is stale
    assert not os.path.exists(os.path.join(store, ".lock"))
    assert np.all(ds["result"] == 0)


@pytest.mark.slow
def test_two_processes_on_one_store_end_with_the_reference_dataset(tmp_path):
    store = str(tmp_path / "race.zarr")
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from _sweep_worker import resume_spec
        from simulations.sweep import run_sweep
        from simulations.sweep import StoreLockedError
        try:
            run_sweep(resume_spec(), {store!r}, progress=False)
            print("finished")
        except StoreLockedError:
            print("refused")
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outcomes = sorted(p.communicate(timeout=300)[0].strip() for p in procs)
    assert all(p.returncode == 0 for p in procs)
    assert outcomes in (["finished", "finished"], ["finished", "refused"]), outcomes
    sys.path.insert(0, os.path.dirname(__file__))
    from _sweep_worker import resume_spec

    from simulations.sweep import open_sweep

    reference = run_sweep(resume_spec(), progress=False)
    xr.testing.assert_identical(open_sweep(resume_spec(), store), reference)


@pytest.mark.slow
def test_compiled_chunks_persist_across_processes(tmp_path):
    script = textwrap.dedent("""
        import jax, jax.monitoring
        hits = []
        jax.monitoring.register_event_listener(
            lambda event, **kw: hits.append(event) if "cache_hits" in event else None)
        from simulations.flows import FrustrationFlow
        from simulations.sweep import SweepSpec, run_sweep
        spec = SweepSpec("cache", FrustrationFlow(n_per_class=3, dim=2, n_times=4),
                         axes=[("frustration", (0.0, 0.2))])
        run_sweep(spec, progress=False)
        print(len(hits))
    """)
    env = dict(os.environ, COLLAPSE_LAB_CACHE_DIR=str(tmp_path / "cache"))
    first = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert os.listdir(tmp_path / "cache"), "the first process must write the cache"
    second = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert int(first.stdout.split()[-1]) == 0 and int(second.stdout.split()[-1]) >= 1
    env["COLLAPSE_LAB_CACHE_DIR"] = "off"
    off = subprocess.run([sys.executable, "-c", script.replace("run_sweep(spec", "import "
                          "simulations.compile_cache as cc; assert cc.cache_dir() is None; "
                          "run_sweep(spec")], env=env, capture_output=True, text=True,
                         timeout=300)
    assert off.returncode == 0, off.stderr


@pytest.mark.slow
def test_cli_sweep_over_a_tolerance_and_the_solver(tmp_path):
    from paper_repro.cli import main

    store = str(tmp_path / "conv.zarr")
    assert main(["sweep", "modelA_phase_K", "--quick", "--out", store, "--set", "frustration=0.3",
                 "--set", "n_classes=3", "--set", "seed_A=0", "--set", "rtol=1e-3,1e-12",
                 "--set", "solver=ode,closed_form"]) == 0
    ds = xr.load_dataset(str(tmp_path / "conv.nc"))
    steps = ds["num_steps"].squeeze()
    assert int(steps.sel(solver="ode", rtol=1e-3)) < int(steps.sel(solver="ode", rtol=1e-12))
    assert int(steps.sel(solver="closed_form").max()) == 0
    assert json_list(ds.attrs["static_fields"])[0] == "solver"


def json_list(text):
    import json

    return json.loads(text)
