"""The sweep engine: one compile per chunk shape, exact padding, kill-and-resume identity."""

import dataclasses
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr

from analysis import d_min
from minimal_models import frustration as F
from simulations.flows import FrustrationFlow, SolverResult
from simulations.sweep import SweepSpec, open_sweep, run_sweep

sys.path.insert(0, os.path.dirname(__file__))
from _sweep_worker import resume_spec  # noqa: E402

SMALL = FrustrationFlow(n_per_class=5, dim=2, n_times=5, t_max=10.0, solver="closed_form")


TRACES = {"count": 0}


@dataclasses.dataclass(frozen=True)
class CountingFlow(FrustrationFlow):
    """FrustrationFlow that counts how often JAX traces evaluate (Python runs only at trace)."""

    def evaluate(self, inputs):
        TRACES["count"] += 1
        return super().evaluate(inputs)


@pytest.mark.slow
def test_sweep_compiles_once_across_chunks_and_padding():
    TRACES["count"] = 0
    model = CountingFlow(**{f.name: getattr(SMALL, f.name) for f in dataclasses.fields(SMALL)})
    # 7 points in chunks of 3: the last chunk is padded, K and n vary -> still one trace
    spec = SweepSpec("count", model, axes=[("frustration", (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6))],
                     chunk_size=3)
    spec2 = spec.with_overrides({"n_classes": (2, 6), "frustration": (0.0, 0.2, 0.5, 0.7)})
    run_sweep(spec, progress=False)
    assert TRACES["count"] == 1
    TRACES["count"] = 0
    run_sweep(spec2, progress=False)  # a new padded shape (6 classes): exactly one new trace
    assert TRACES["count"] == 1
    TRACES["count"] = 0
    run_sweep(spec, progress=False)  # same model and shape in this process: reuses the compile
    assert TRACES["count"] == 0


@pytest.mark.slow
def test_padded_points_equal_unpadded_closed_form():
    spec = SweepSpec("pad", dataclasses.replace(SMALL, solver="ode", save_state=True),
                     axes=[("n_classes", (2, 4)), ("n_per_class", (3, 5)), ("dim", (1, 2))],
                     chunk_size=4)
    ds = run_sweep(spec, progress=False)
    assert np.all(ds["result"] == 0)
    for K in (2, 4):
        for n in (3, 5):
            for d in (1, 2):
                point = dataclasses.replace(SMALL, n_classes=K, n_per_class=n, dim=d)
                Z = F.closed_form(point.coupling(), point.initial_state(), point.times())
                got = ds.sel(n_classes=K, n_per_class=n, dim=d)
                np.testing.assert_allclose(got["d_min"], np.asarray(d_min(Z[:, K * n:])),
                                           atol=1e-9)
                N_max = 4 * 5
                Zp = got["Z"].values
                np.testing.assert_allclose(Zp[:, :K * n, :d], Z[:, :K * n], atol=1e-9)
                np.testing.assert_allclose(Zp[:, N_max:N_max + K, :d], Z[:, K * n:], atol=1e-9)
                assert np.all(Zp[:, K * n:N_max] == 0) and np.all(Zp[:, :, d:] == 0)
                slow = F.slow_eigenvalues(point.coupling())
                assert float(got["lambda_slow"]) == pytest.approx(slow.mean(), abs=1e-10)
                assert float(got["lambda_slowest"]) == pytest.approx(slow[0], abs=1e-10)


@pytest.mark.slow
def test_results_do_not_depend_on_chunking():
    spec = SweepSpec("w", dataclasses.replace(SMALL, solver="ode"),
                     axes=[("frustration", (0.0, 0.2, 0.4)), ("seed_A", (0, 1, 2))], chunk_size=2)
    one = run_sweep(spec, progress=False)
    other = run_sweep(dataclasses.replace(spec, chunk_size=4), progress=False)
    np.testing.assert_allclose(other["d_min"], one["d_min"], rtol=1e-12)


def test_dataset_has_coords_units_parameters_version_and_status():
    spec = SweepSpec("meta", SMALL, axes=[("frustration", (0.0, 0.5)), ("seed_A", (0, 1, 2))],
                     chunk_size=4)
    ds = run_sweep(spec, progress=False)
    assert ds["d_min"].dims == ("frustration", "seed_A", "t")
    np.testing.assert_array_equal(ds["t"], SMALL.times())
    assert ds["d_min"].attrs["units"] and ds["result"].dims == ("frustration", "seed_A")
    assert '"dim": 2' in ds.attrs["parameters"] and ds.attrs["reconstruction"] == 1
    assert ds.attrs["collapse_lab_version"]
    assert {"result", "num_steps"} <= set(ds.data_vars)
    _assert_result_table(ds)


def _assert_result_table(ds):
    """The result variable carries the SolverResult table (CF flags plus messages)."""
    import json

    attrs = ds["result"].attrs
    np.testing.assert_array_equal(attrs["flag_values"], [int(c) for c in SolverResult])
    assert attrs["flag_values"].dtype == ds["result"].dtype
    assert attrs["flag_meanings"].split() == [c.name.lower() for c in SolverResult]
    messages = json.loads(attrs["flag_messages"])
    assert messages[str(int(SolverResult.MAX_STEPS_REACHED))].endswith(
        SolverResult.MAX_STEPS_REACHED.message)
    assert attrs["units"] and attrs["description"]  # the model's own attributes stay


@pytest.mark.slow
def test_failed_points_are_marked_not_stored_as_numbers():
    spec = SweepSpec("fail", dataclasses.replace(SMALL, solver="ode", max_steps=2),
                     axes=[("frustration", (0.0, 0.3))])
    ds = run_sweep(spec, progress=False)
    assert np.all(ds["result"] == SolverResult.MAX_STEPS_REACHED)
    assert np.all(np.isnan(ds["d_min"])) and np.all(np.isnan(ds["loss"]))


def _done_count(store):
    import zarr

    try:
        return int(np.asarray(zarr.open_group(store, mode="r")["done"][:]).sum())
    except Exception:
        return 0


@pytest.mark.slow
def test_killed_sweep_resumes_to_identical_dataset(tmp_path):
    spec = resume_spec()
    reference = run_sweep(spec, progress=False)
    store = str(tmp_path / "killed.zarr")
    worker = os.path.join(os.path.dirname(__file__), "_sweep_worker.py")
    proc = subprocess.Popen([sys.executable, worker, store, "0.4"])
    deadline = time.time() + 180
    while _done_count(store) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = _done_count(store)
    assert 0 < done_before < spec.n_chunks, "the kill must interrupt the sweep midway"
    with pytest.raises(ValueError, match="missing"):
        open_sweep(spec, store)
    computed = []
    resumed = run_sweep(spec, store, progress=False, on_chunk=computed.append)
    assert len(computed) == spec.n_chunks - done_before  # only the missing chunks
    xr.testing.assert_identical(resumed, reference)
    xr.testing.assert_identical(open_sweep(spec, store), reference)
    _assert_result_table(open_sweep(spec, store))
    path = str(tmp_path / "resumed.nc")  # the table survives netCDF
    resumed.to_netcdf(path)
    with xr.open_dataset(path) as back:
        assert back["result"].attrs["flag_meanings"] == reference["result"].attrs["flag_meanings"]
        np.testing.assert_array_equal(back["result"].attrs["flag_values"],
                                      reference["result"].attrs["flag_values"])
    again = []
    run_sweep(spec, store, progress=False, on_chunk=again.append)
    assert again == []  # a finished store computes nothing


def test_store_of_another_sweep_is_refused_and_untouched(tmp_path):
    store = str(tmp_path / "s.zarr")
    spec = SweepSpec("a", SMALL, axes=[("frustration", (0.0, 0.5))])
    run_sweep(spec, store, progress=False)
    before = sorted(os.listdir(store))
    other = spec.with_overrides({"dim": 3})
    with pytest.raises(ValueError, match="different sweep"):
        run_sweep(other, store, progress=False)
    assert sorted(os.listdir(store)) == before


def test_bad_sweeps_raise_before_writing(tmp_path):
    store = tmp_path / "never.zarr"
    with pytest.raises(ValueError, match="unknown sweep axis 'temperature'"):
        SweepSpec("x", SMALL, axes=[("temperature", (1, 2))])
    with pytest.raises(ValueError, match="unknown sweep axis or parameter 'nope'"):
        SweepSpec("x", SMALL, axes=[("frustration", (0.1,))]).with_overrides({"nope": 1})
    with pytest.raises(ValueError, match="no values"):
        SweepSpec("x", SMALL, axes=[("frustration", ())])
    with pytest.raises(ValueError, match="chunk_size"):
        SweepSpec("x", SMALL, axes=[("frustration", (0.1,))], chunk_size=0)
    bad = SweepSpec("x", SMALL, axes=[("frustration", (0.1, 1.5))])
    with pytest.raises(ValueError, match="frustration=1.5"):
        run_sweep(bad, str(store), progress=False)
    assert not store.exists()


@pytest.mark.parametrize("N,K", [(20, 4), (60, 10)])  # unrolled sums, and the matmul branch
def test_batched_jax_vector_field_equals_the_numpy_one(N, K):
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(N)
    A = rng.uniform(0, 1, (8, N, K)) * (rng.uniform(size=(8, N, K)) < 0.5)
    Z = rng.standard_normal((8, N + K, 3))
    batched = jax.vmap(lambda a, z: F.vector_field(a, z, eta_x=0.7, eta_y=1.3, nu=0.9))(
        jnp.asarray(A), jnp.asarray(Z))
    for a, z, v in zip(A, Z, np.asarray(batched)):
        np.testing.assert_allclose(v, F.vector_field(a, z, eta_x=0.7, eta_y=1.3, nu=0.9),
                                   rtol=1e-13, atol=1e-13)


@pytest.mark.slow
def test_dask_workers_fill_the_store_like_one_process(tmp_path):
    from dask.distributed import Client, LocalCluster

    spec = resume_spec()
    reference = run_sweep(spec, progress=False)
    store = str(tmp_path / "dask.zarr")
    half = []

    def stop_after_two(c):  # leaves a partly done store, as a killed run does
        half.append(c)
        if len(half) == 2:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        run_sweep(spec, store, progress=False, on_chunk=stop_after_two)
    assert _done_count(store) == 2
    with pytest.raises(ValueError, match="store path"):
        run_sweep(spec, None, client=object())
    import logging

    warned = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warned.append(record.getMessage())
    nanny = logging.getLogger("distributed.nanny")
    nanny.addHandler(handler)
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            computed = []
            ds = run_sweep(spec, store, progress=False, client=client, on_chunk=computed.append)
    finally:
        nanny.removeHandler(handler)
    assert sorted(computed) == [c for c in range(spec.n_chunks) if c not in half]
    xr.testing.assert_identical(ds, reference)
    assert not [w for w in warned if "still alive" in w], warned  # workers exit when asked
