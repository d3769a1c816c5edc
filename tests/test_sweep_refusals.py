"""Refusals before work, and failures that keep work: every bad start of a sweep is one clear
``ValueError`` (naming the parameter, the value and what is allowed, or what differs from the
stored sweep) with nothing left on disk; a full disk is one ``OSError`` naming the file, with no
temporary file or half chunk left and a rerun that resumes; Ctrl-C keeps the finished chunks
and says so truly.
"""

import dataclasses
import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from typing import ClassVar

import numpy as np
import pytest
import xarray as xr

from simulations.flows import FrustrationFlow
from simulations.sweep import SweepSpec, open_sweep, run_sweep, save_dataset, sweep_fingerprint
from simulations.sweep import budget

sys.path.insert(0, os.path.dirname(__file__))
from _sweep_worker import Spin  # noqa: E402

SMALL = FrustrationFlow(n_per_class=4, dim=2, n_times=4, t_max=10.0, solver="closed_form")
SPEC = SweepSpec("refusals", SMALL, axes=[("frustration", (0.0, 0.1, 0.2, 0.3)),
                                          ("seed_A", (0, 1))], chunk_size=2)
WORKER = os.path.join(os.path.dirname(__file__), "_sweep_worker.py")


@pytest.fixture
def machine_64gib(monkeypatch):
    monkeypatch.setattr(budget, "host_available_bytes", lambda: 64 << 30)
    monkeypatch.setattr(budget, "available_bytes", lambda: (64 << 30, "a chunk's device"))


# ------------------------------------------------------------- integers a sweep cannot hold

@pytest.mark.parametrize("name,value", [("seed_A", 99999999999999999999999),
                                        ("n_classes", 99999999999999999999),
                                        ("seed_init", 2 ** 63)])
def test_integers_beyond_64_bits_are_refused_naming_the_parameter(name, value):
    """The CLI's ``--set seed_A=99999999999999999999999`` (an axis) and a fixed parameter."""
    with pytest.raises(ValueError, match=rf"{name}={value} is outside .* allowed: "
                                         rf"-9223372036854775808 <= {name} <= "
                                         "9223372036854775807"):
        SPEC.with_overrides({name: value})
    with pytest.raises(ValueError, match=rf"{name}={value}"):
        SweepSpec("big", SMALL, axes=[(name, (0, value))] if name != "n_classes"
                  else [(name, (2, value))])


def test_the_cli_refuses_a_huge_seed_before_any_store_exists(tmp_path, capsys):
    from paper_repro.cli import main

    store = tmp_path / "seed.zarr"
    assert main(["sweep", "modelA_phase_K", "--quick", "--out", str(store), "--set",
                 "seed_A=99999999999999999999999"]) == 2
    err = capsys.readouterr().err.strip()
    assert "seed_A=99999999999999999999999" in err and "9223372036854775807" in err
    assert len(err.splitlines()) == 1 and not store.exists()


# -------------------------------------------------------------- a store of another grid

def test_a_store_of_another_grid_names_what_differs(tmp_path):
    store = str(tmp_path / "grid.zarr")
    run_sweep(SPEC, store, progress=False)
    other = SPEC.with_overrides({"frustration": [0.0, 0.5], "dim": 3})
    with pytest.raises(ValueError, match=r"different sweep \('refusals'\): axis 'frustration': "
                                         r"\[0.0, 0.1, 0.2, 0.3\] in the store, \[0.0, 0.5\] "
                                         r"requested; parameter 'dim': 2 in the store, 3 "
                                         "requested"):
        run_sweep(other, store, progress=False)
    with pytest.raises(ValueError, match=r"chunk_size: 2 in the store, 4 requested"):
        open_sweep(dataclasses.replace(SPEC, chunk_size=4), store)
    with pytest.raises(ValueError, match=r"axis 'seed_A': \[0, 1\] in the store, "
                                         r"'\(not an axis\)' requested"):
        run_sweep(dataclasses.replace(SPEC, axes=SPEC.axes[:1]), store, progress=False)


# ------------------------------------------------------------ memory estimated from shapes

@dataclasses.dataclass(frozen=True)
class Wide:
    """A state of ``dim`` numbers that declares its input shapes: estimated, never built."""

    dim: int = 4
    scale: float = 1.0

    static_fields: ClassVar[tuple[str, ...]] = ()
    prepared: ClassVar[list] = []

    def layout(self, models):
        return max(m.dim for m in models)

    def input_shapes(self, layout):
        import jax

        return {"x": jax.ShapeDtypeStruct((layout,), np.float64),
                "scale": jax.ShapeDtypeStruct((), np.float64)}

    def prepare(self, layout):
        Wide.prepared.append(layout)
        return {"x": np.ones(layout), "scale": np.float64(self.scale)}

    def shared_inputs(self, layout):
        return {}

    def evaluate(self, inputs):
        import jax.numpy as jnp

        return {"s": inputs["scale"] * jnp.sum(jnp.sin(inputs["x"]) ** 2)}

    def outputs(self, layout):
        return {"s": ((), "1", "scale * sum sin(x)^2")}

    def coords(self, layout):
        return {}


def test_a_huge_state_is_refused_from_shapes_without_building_it(tmp_path, machine_64gib):
    Wide.prepared.clear()
    store = tmp_path / "wide.zarr"
    spec = SweepSpec("wide", Wide(dim=10 ** 10), axes=[("scale", (1.0, 2.0))], chunk_size=16)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"too large for this machine.*per chunk.*grows with "
                                         r"dim=10000000000"):
        run_sweep(spec, str(store), progress=False)
    assert time.perf_counter() - start < 20
    assert Wide.prepared == [] and not store.exists()  # nothing built, nothing on disk


def test_declared_input_shapes_are_held_to_prepare():
    @dataclasses.dataclass(frozen=True)
    class Liar(Wide):
        def input_shapes(self, layout):
            import jax

            return {"x": jax.ShapeDtypeStruct((layout + 1,), np.float64),
                    "scale": jax.ShapeDtypeStruct((), np.float64)}

    spec = SweepSpec("liar", Liar(dim=3), axes=[("scale", (1.0, 2.0))], chunk_size=2)
    with pytest.raises(ValueError, match=r"Liar.input_shapes does not match prepare .*'x'.*"
                                         r"declared \(\(2, 4\).*prepared \(\(2, 3\)"):
        run_sweep(spec, progress=False)
    ok = run_sweep(SweepSpec("wide", Wide(dim=3), axes=[("scale", (1.0, 2.0))]), progress=False)
    np.testing.assert_allclose(ok["s"], np.array([1.0, 2.0]) * 3 * np.sin(1.0) ** 2)


def test_model_a_with_ten_million_dimensions_is_refused_at_once(tmp_path, monkeypatch,
                                                                 machine_64gib):
    built = []
    monkeypatch.setattr(FrustrationFlow, "initial_state", lambda self: built.append(1))
    store = tmp_path / "dim.zarr"
    spec = SweepSpec("dim", dataclasses.replace(SMALL, dim=10_000_000, n_per_class=20,
                                                solver="ode"),
                     axes=[("n_classes", (2,)), ("seed_A", (0,))], chunk_size=16)
    with pytest.raises(ValueError, match=r"too large.*dim=10000000"):
        run_sweep(spec, str(store), progress=False)
    assert built == [] and not store.exists()


# ----------------------------------------------------------------------------- a full disk

def _full_disk_at(monkeypatch, fragment):
    """Every zarr write of a file whose path contains ``fragment`` fails with ENOSPC after
    zarr's own temporary file is created, as on a real full disk (where ``write`` names no
    file)."""
    from zarr.storage import _local

    real = _local._put

    def put(path, value, exclusive=False):
        if fragment in str(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            with _local._atomic_write(path, "wb", exclusive=exclusive) as fh:
                fh.write(b"\0")
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, value, exclusive)

    monkeypatch.setattr(_local, "_put", put)


def test_a_full_disk_while_writing_a_chunk_is_one_line_and_a_rerun_resumes(tmp_path,
                                                                          monkeypatch):
    reference = run_sweep(SPEC, progress=False)
    store = str(tmp_path / "full.zarr")
    with monkeypatch.context() as patch:
        _full_disk_at(patch, os.path.join("loss", "c", "1"))
        with pytest.raises(OSError) as info:
            run_sweep(SPEC, store, progress=False)
    error = info.value
    assert error.errno == errno.ENOSPC and "\n" not in str(error)
    assert error.filename == os.path.join(store, "loss", "c", "1", "0")
    assert "chunk 1" in error.strerror and "rerun" in error.strerror
    leftovers = [os.path.join(d, f) for d, _, files in os.walk(store) for f in files
                 if ".partial" in f or f.endswith(".tmp")]
    assert leftovers == []
    assert not os.path.exists(os.path.join(store, "d_min", "c", "1", "0"))  # no half chunk
    assert os.path.exists(os.path.join(store, "d_min", "c", "0", "0"))  # chunk 0 is kept
    computed = []
    ds = run_sweep(SPEC, store, progress=False, on_chunk=computed.append)  # room again
    assert computed == [1, 2, 3]
    xr.testing.assert_identical(ds, reference)


def test_a_full_disk_while_creating_the_store_names_it_and_leaves_nothing(tmp_path,
                                                                         monkeypatch):
    store = str(tmp_path / "meta.zarr")
    _full_disk_at(monkeypatch, os.path.join("done", "zarr.json"))
    with pytest.raises(OSError) as info:
        run_sweep(SPEC, store, progress=False)
    assert info.value.errno == errno.ENOSPC and info.value.filename == store
    assert "\n" not in str(info.value) and not os.path.exists(store)


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"),
                                     RuntimeError("NetCDF: HDF error")])
def test_a_full_disk_while_writing_the_dataset_is_one_line_naming_the_path(tmp_path,
                                                                          monkeypatch, failure):
    ds = run_sweep(SPEC, progress=False)
    path = tmp_path / "refusals.nc"
    save_dataset(ds, path)
    before = path.read_bytes()

    def half_written(self, target, *args, **kwargs):
        with open(target, "wb") as fh:
            fh.write(b"CDF\x01 half")
        raise failure

    monkeypatch.setattr(xr.Dataset, "to_netcdf", half_written)
    if isinstance(failure, RuntimeError):  # HDF5 gives no errno: the free space tells
        monkeypatch.setattr("shutil.disk_usage", lambda p: shutil._ntuple_diskusage(1, 1, 0))
    with pytest.raises(OSError) as info:
        save_dataset(ds, path)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    assert "\n" not in str(info.value)
    assert path.read_bytes() == before  # the old file is whole
    assert sorted(os.listdir(tmp_path)) == ["refusals.nc"]  # no temporary file


# ------------------------------------------------------------------------- Ctrl-C keeps work

def _interrupt(store, first, wait_done):
    proc = subprocess.Popen([sys.executable, WORKER, "interrupt", store, str(first)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None and not wait_done(store):
        time.sleep(0.1)
    time.sleep(1.5)  # well inside the minutes-long chunk 1
    assert proc.poll() is None, proc.communicate()
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the sweep did not exit within 60 s of Ctrl-C")
    return proc.returncode, time.perf_counter() - sent, out.strip(), err


def _chunk_done(store, c=0):
    return os.path.exists(os.path.join(store, "done", "c", str(c)))


@pytest.mark.slow
def test_ctrl_c_during_a_long_chunk_exits_at_once_and_keeps_the_finished_ones(tmp_path):
    store = str(tmp_path / "spin.zarr")
    code, elapsed, out, err = _interrupt(store, 10, _chunk_done)
    assert code == 130, err
    assert elapsed < 10, f"exit took {elapsed:.1f} s after Ctrl-C"
    message, kept, finished, total = out.splitlines()[-1].split("|")
    assert (kept, finished, total) == (store, "1", "2")
    assert message == f"interrupted; 1 of 2 chunks are finished and kept in {store}: rerun " \
                      "the same command to resume"
    import zarr

    assert list(zarr.open_group(store, mode="r")["done"][:]) == [True, False]


@pytest.mark.slow
def test_ctrl_c_before_any_chunk_finished_keeps_nothing_and_says_so(tmp_path):
    store = str(tmp_path / "spin0.zarr")
    code, elapsed, out, err = _interrupt(store, 10 ** 11 + 1, lambda s: os.path.exists(
        os.path.join(s, "done")))
    assert code == 130 and elapsed < 10, (code, elapsed, err)
    message, kept, finished, _ = out.splitlines()[-1].split("|")
    assert "nothing was kept" in message and kept == "None" and finished == "0"
    assert not os.path.exists(store)


# ------------------------------------------------------------------- a user's own model

def test_a_model_without_a_reconstruction_attribute_gets_none_stamped():
    ds = run_sweep(SweepSpec("user", Spin(), axes=[("n", (1, 2))]), progress=False)
    assert "reconstruction" not in ds.attrs
    np.testing.assert_allclose(ds["x"], (1 - 1e-9) ** np.array([1, 2]), rtol=1e-15)
    assert run_sweep(SPEC, progress=False).attrs["reconstruction"] == 1


# ------------------------------------------------------------------------- balanced chunks

@dataclasses.dataclass(frozen=True)
class CostedSpin(Spin):
    """Spin that says what a point costs: its number of steps."""

    def cost(self):
        return self.n


def test_points_ordered_by_cost_fill_the_chunks_and_the_dataset_keeps_grid_order(tmp_path):
    from simulations.sweep.plan import plan_of, utilisation

    ns = (1000, 1, 999, 2, 998, 3, 4)
    grid = SweepSpec("spin", Spin(), axes=[("n", ns)], chunk_size=2)
    costed = SweepSpec("spin", CostedSpin(), axes=[("n", ns)], chunk_size=2)
    chunks = [[ns[i] for i in c.points] for c in plan_of(costed).chunks]
    assert chunks == [[1, 2], [3, 4], [998, 999], [1000]]
    busy = sum(ns)
    assert utilisation(plan_of(costed), 2, ns) == pytest.approx(busy / (2 * (2 + 4 + 999 + 1000)))
    assert utilisation(plan_of(grid), 2, ns) == pytest.approx(busy / (2 * (1000 + 999 + 998 + 4)))
    reference = run_sweep(grid, progress=False)
    store = str(tmp_path / "costed.zarr")
    ds = run_sweep(costed, store, progress=False)
    np.testing.assert_array_equal(ds["x"].values, reference["x"].values)  # grid order, same bits
    xr.testing.assert_identical(open_sweep(costed, store), ds)
    assert '"point_order"' in sweep_fingerprint(costed)
    assert '"point_order"' not in sweep_fingerprint(grid)  # grid order: stores as before

    @dataclasses.dataclass(frozen=True)
    class Reversed(CostedSpin):
        def cost(self):
            return -self.n

    other = dataclasses.replace(costed, model=Reversed())
    with pytest.raises(ValueError, match="order of the points"):
        run_sweep(dataclasses.replace(other, name="spin"), store, progress=False)
