"""The sweep store: nothing lost, nothing silent.

A damaged store (chunk files deleted, truncated, corrupted; flags garbled) is detected and
recomputed, or refused with the file named; grids are sets; a sweep that cannot fit is refused
in seconds, before anything is allocated or compiled, and leaves no store behind.
"""

import dataclasses
import os
import time

import numpy as np
import pytest
import xarray as xr

from simulations.flows import FrustrationFlow, StopGradFlow

from simulations.sweep import SweepSpec, open_sweep, run_sweep
from simulations.sweep import budget, chunks, run
from simulations.sweep import store as store_mod
from simulations.sweep.plan import plan_of

SMALL = FrustrationFlow(n_per_class=4, dim=2, n_times=4, t_max=10.0, solver="closed_form")
SPEC = SweepSpec("integrity", SMALL, axes=[("frustration", (0.0, 0.1, 0.2, 0.3)),
                                           ("seed_A", (0, 1))], chunk_size=2)


@pytest.fixture(scope="module")
def reference():
    return run_sweep(SPEC, progress=False)


@pytest.fixture
def finished(tmp_path, reference):
    store = str(tmp_path / "A.zarr")
    xr.testing.assert_identical(run_sweep(SPEC, store, progress=False), reference)
    return store


def _chunk(store, name, c):
    """The file of chunk ``c`` of a variable (zarr v3 keys; per-time variables are 2-D)."""
    tail = [] if name in ("done", "checksum") else ["0"]
    path = os.path.join(store, name, "c", str(c), *tail)
    assert os.path.isfile(path), path
    return path


def _resume_identical(store, reference, bad_chunks):
    with pytest.raises(ValueError, match=f"chunk {bad_chunks[0]}"):
        open_sweep(SPEC, store)  # a finished store with damage is never read as complete
    computed = []
    with pytest.warns(RuntimeWarning, match=f"chunk {bad_chunks[0]}"):
        ds = run_sweep(SPEC, store, progress=False, on_chunk=computed.append)
    assert sorted(computed) == sorted(bad_chunks)  # only the damaged chunks
    xr.testing.assert_identical(ds, reference)
    xr.testing.assert_identical(open_sweep(SPEC, store), reference)
    assert not np.isnan(ds["d_min"]).any()


def test_deleted_chunk_file_is_recomputed(finished, reference):
    os.unlink(_chunk(finished, "d_min", 1))  # rm A.zarr/d_min/c/1/0: reads back as NaN
    _resume_identical(finished, reference, [1])


def test_truncated_chunk_file_is_recomputed(finished, reference):
    path = _chunk(finished, "loss", 2)
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) // 2)
    _resume_identical(finished, reference, [2])


def test_corrupted_chunk_file_is_recomputed(finished, reference):
    path = _chunk(finished, "d_min", 0)
    with open(path, "wb") as fh:
        fh.write(b"\x28\xb5\x2f\xfd" + os.urandom(40))  # zstd magic, then garbage
    _resume_identical(finished, reference, [0])


def test_garbled_flag_and_checksum_files_are_recomputed(finished, reference):
    with open(_chunk(finished, "done", 3), "wb") as fh:
        fh.write(os.urandom(13))
    with open(_chunk(finished, "checksum", 1), "wb") as fh:
        fh.write(b"garbage")
    _resume_identical(finished, reference, [1, 3])


def test_altered_values_are_detected(finished, reference):
    import zarr

    group = zarr.open_group(finished, mode="a")
    values = np.asarray(group["d_min"][2:4])
    group["d_min"][2:4] = values + 1e-3  # readable, but not what was computed
    _resume_identical(finished, reference, [1])


def test_read_errors_name_the_file(finished):
    path = _chunk(finished, "d_min", 0)
    with open(path, "wb") as fh:
        fh.write(b"\x28\xb5\x2f\xfd" + os.urandom(40))
    with pytest.raises(ValueError, match=r"d_min/c/0/0"):
        open_sweep(SPEC, finished)
    with open(os.path.join(finished, "d_min", "zarr.json"), "w") as fh:
        fh.write("{not json")
    with pytest.raises(ValueError, match=r"d_min/zarr.json"):
        run_sweep(SPEC, finished, progress=False)


def test_every_chunk_is_read_back_after_writing(tmp_path, monkeypatch):
    import zarr

    real = zarr.Array.__setitem__

    def lossy(self, key, value):  # a store that silently drops what is written to d_min
        if self.path == "d_min":
            return None
        return real(self, key, value)

    monkeypatch.setattr(zarr.Array, "__setitem__", lossy)
    with pytest.raises(OSError, match="read back"):
        run_sweep(SPEC, str(tmp_path / "lossy.zarr"), progress=False)


# ------------------------------------------------------------------------- grids are sets

@pytest.mark.parametrize("values", [(0.1, 0.1), (0.0, 0.1, 0.2, 0.1)])
def test_duplicate_axis_values_are_refused(values):
    with pytest.raises(ValueError, match=r"'frustration' lists the value 0.1 more than once"):
        SweepSpec("dup", SMALL, axes=[("frustration", values)])
    with pytest.raises(ValueError, match="more than once"):
        SPEC.with_overrides({"frustration": list(values)})  # the CLI's --set path


@pytest.mark.parametrize("axes,chunk_size", [
    ([("frustration", (0.0, 0.1, 0.2)), ("seed_A", (0, 1))], 4),
    ([("solver", ("ode", "closed_form")), ("frustration", (0.0, 0.1, 0.2))], 2),
    ([("frustration", (0.0, 0.1)), ("solver", ("ode", "closed_form")), ("max_steps", (50, 60))],
     3)])
def test_chunk_count_without_planning_equals_the_plan(axes, chunk_size):
    spec = SweepSpec("count", SMALL, axes=axes, chunk_size=chunk_size)
    assert spec.n_chunks == len(plan_of(spec).chunks)


def test_coordinates_are_unique(reference):
    for name in reference.coords:
        values = np.asarray(reference[name])
        assert len(np.unique(values)) == values.size, name


# ------------------------------------------------------------------- refuse before work

@pytest.fixture
def machine_64gib(monkeypatch):
    """A fixed machine (64 GiB for the host and for a chunk), so refusals do not depend on
    what the test machine has free."""
    monkeypatch.setattr(budget, "host_available_bytes", lambda: 64 << 30)
    monkeypatch.setattr(budget, "available_bytes", lambda: (64 << 30, "a chunk's device"))


def _refused_fast(spec, tmp_path, match="too large for this machine"):
    store = tmp_path / "big.zarr"
    start = time.perf_counter()
    with pytest.raises(ValueError, match=match) as info:
        run_sweep(spec, str(store), progress=False)
    elapsed = time.perf_counter() - start
    assert not store.exists()  # no empty store left behind
    return info.value, elapsed


def test_model_a_too_many_samples_is_refused_before_compiling(tmp_path, monkeypatch,
                                                              machine_64gib):
    compiled = []
    monkeypatch.setattr(chunks.ChunkFunction, "__call__",
                        lambda *a: compiled.append(1))
    spec = SweepSpec("bigA", dataclasses.replace(SMALL, n_per_class=100_000, solver="ode"),
                     axes=[("n_classes", (2, 4))], chunk_size=16)
    error, elapsed = _refused_fast(spec, tmp_path)
    assert "per chunk" in str(error) and "chunk_size" in str(error)
    assert compiled == [] and elapsed < 30


def test_model_b_too_many_times_is_refused(tmp_path, machine_64gib):
    spec = SweepSpec("bigB", StopGradFlow(t_max=1e9, n_times=100_000),
                     axes=[("frustration", (0.0, 0.2))], chunk_size=16)
    error, elapsed = _refused_fast(spec, tmp_path)
    assert "n_times" in str(error) and elapsed < 30


@pytest.mark.slow
def test_huge_grid_is_refused_without_building_every_point(tmp_path, monkeypatch,
                                                          machine_64gib):
    built = []
    monkeypatch.setattr(run, "Runner", lambda *a, **k: built.append(1))
    # 5,000,500 points of Model A at 2,000 output times: a grid no machine here can hold
    spec = SweepSpec("huge", dataclasses.replace(SMALL, n_times=2000),
                     axes=[("frustration", tuple(np.linspace(0, 1, 5_000_500)))])
    error, elapsed = _refused_fast(spec, tmp_path)
    assert "5,000,500 points" in str(error) and "at least" in str(error)
    assert built == [] and elapsed < 30


def test_chunk_size_can_be_overridden_by_name():
    assert SPEC.with_overrides({"chunk_size": 3}).chunk_size == 3
    with pytest.raises(ValueError, match="chunk_size=0"):
        SPEC.with_overrides({"chunk_size": 0})


def test_the_estimate_follows_the_machine(tmp_path, monkeypatch):
    monkeypatch.setattr(budget, "host_available_bytes", lambda: 1_000)
    monkeypatch.setattr(budget, "available_bytes", lambda: (10 ** 12, "device"))
    _refused_fast(SPEC, tmp_path, match="of memory is available")
    monkeypatch.setattr(budget, "host_available_bytes", lambda: 10 ** 12)
    monkeypatch.setattr(budget, "available_bytes", lambda: (1_000, "device"))
    _refused_fast(SPEC, tmp_path, match="available for a chunk; lower chunk_size")


def test_large_runs_print_their_estimate(capsys, monkeypatch):
    monkeypatch.setattr(budget, "_LARGE", 1)
    run_sweep(SPEC, progress=True)
    assert "sweep estimate: 8 points in chunks of 2" in capsys.readouterr().err


def test_lock_is_taken_before_setup(tmp_path, monkeypatch):
    store = str(tmp_path / "locked.zarr")
    setup = []
    monkeypatch.setattr(run, "_setup", lambda *a: setup.append(1))
    with store_mod.store_lock(store):
        with pytest.raises(store_mod.StoreLockedError, match="being written"):
            run_sweep(SPEC, store, progress=False)
    assert setup == [] and not os.path.exists(store)


def test_failed_start_leaves_no_store(tmp_path, monkeypatch):
    def boom(self, chunk, inputs=None):
        raise RuntimeError("RESOURCE_EXHAUSTED: out of memory")

    monkeypatch.setattr(chunks.Runner, "compute", boom)
    store = tmp_path / "failed.zarr"
    with pytest.raises(RuntimeError, match="RESOURCE_EXHAUSTED"):
        run_sweep(SPEC, str(store), progress=False)
    assert not store.exists()
