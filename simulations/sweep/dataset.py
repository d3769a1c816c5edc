r"""A sweep's store read back as an :class:`xarray.Dataset`, and written out as netCDF.

The dataset has one dimension per axis (in the spec's order, grid order restored from the
store's rows), then each output's own dimensions; every variable carries its units and
description, ``result`` its solver-status table, every coordinate a description, and the
attributes hold the sweep's name, the model, its fixed parameters, the axes, the static fields
and the package version (and ``reconstruction`` where the model says whether it is one).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
from typing import Any

import numpy as np

from ..artifacts import atomic_write, package_version
from ..flows.results import result_attrs
from .chunks import Runner, chunk_outputs, declared_outputs
from .model import view_of
from .spec import SweepSpec, fingerprint_difference, jsonable, sweep_fingerprint
from .store import finished_store

__all__ = ["to_dataset", "open_sweep", "save_dataset"]


def _effective(spec) -> dict:
    """The parameters the points were computed with: a model's ``effective_parameters()``
    (rates a preset sets, e.g. nu = 1/n under ``balanced``) where it has one, else its fields;
    a value that differs between points (it depends on an axis) is left out."""
    model = spec.model
    if not hasattr(model, "effective_parameters"):
        return dataclasses.asdict(model)
    values = model.effective_parameters()
    if spec.n_points > 1:
        for point in spec.points():
            other = dataclasses.replace(model, **point).effective_parameters()
            values = {k: v for k, v in values.items() if k in other and other[k] == v}
    return values


def to_dataset(runner, group, outputs):
    """The dataset of a store (``group``) whose chunks are all written."""
    import xarray as xr

    spec, plan = runner.spec, runner.plan
    names = [name for name, _ in spec.axes]
    coords = {name: np.asarray(values) for name, values in spec.axes}
    for key in plan.groups:  # coords may depend only on static fields and the layout
        for name, value in view_of(runner.cls, key).coords(runner.layout).items():
            value = np.asarray(value)
            if name in coords and not np.array_equal(coords[name], value):
                raise ValueError(f"coordinate {name!r} differs between groups of static fields")
            coords[name] = value
    data_vars = {}
    for name, (dims, units, description) in outputs.items():
        try:
            values = np.asarray(group[name][:])[plan.rows]  # store rows -> grid order
        except Exception as exc:  # a chunk damaged since it was verified: name the variable
            where = os.path.join(group.path, name) if getattr(group, "path", None) else name
            raise ValueError(f"cannot read {where} ({type(exc).__name__}: {exc}); rerun the "
                             "sweep to recompute damaged chunks") from None
        values = values.reshape(spec.shape + values.shape[1:])
        attrs = {"units": units, "description": description}
        if name == "result":  # solver status: the code -> meaning table travels with it
            attrs.update(result_attrs(values.dtype))
        data_vars[name] = xr.Variable(tuple(names) + tuple(dims), values, attrs=attrs)
    fixed = {k: v for k, v in _effective(spec).items() if k not in names}
    attrs = {
        "sweep_name": spec.name,
        "description": spec.description,
        "model": type(spec.model).__name__,
        "parameters": json.dumps({k: jsonable(v) for k, v in fixed.items()}, sort_keys=True,
                                 default=str),
        "axes": json.dumps(names),
        "static_fields": json.dumps(list(type(spec.model).static_fields)),
        "collapse_lab_version": package_version(),
    }
    if hasattr(spec.model, "reconstruction"):  # only a model that says so is labelled
        attrs["reconstruction"] = int(bool(spec.model.reconstruction))
    ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    model = type(spec.model).__name__
    for name in ds.coords:  # every coordinate says what it is
        if name in names:
            ds[name].attrs.update(description=f"sweep axis: field {name!r} of {model}")
        elif name == "t":
            timed = np.issubdtype(ds[name].dtype, np.floating)
            ds[name].attrs.update(
                units="time" if timed else "1",
                description="output time" if timed else
                "output index (the points' time grids differ: see the variable 'time')")
        else:
            ds[name].attrs.setdefault("description", f"{model} coordinate {name!r}")
    return ds


def open_sweep(spec: SweepSpec, store) -> Any:
    """Dataset of a completed sweep store (raises ``ValueError`` if chunks are missing, or
    naming the chunk and its file if a chunk's data is missing or damaged, or naming what
    differs if the store holds another sweep)."""
    runner = Runner(spec)
    fingerprint = sweep_fingerprint(spec)
    group = finished_store(store, fingerprint, spec.name, names=chunk_outputs(runner),
                           chunk_rows=spec.chunk_size,
                           difference=lambda stored: fingerprint_difference(stored, fingerprint))
    return to_dataset(runner, group, declared_outputs(runner))


def save_dataset(ds, path) -> None:
    """Write ``ds`` to the netCDF file ``path`` atomically: ``path`` holds the old file or the
    whole new one, never half of one, and no temporary file is left.  A failure (a full disk)
    is one ``OSError`` naming ``path``."""
    path = os.fspath(path)
    try:
        atomic_write(path, ds.to_netcdf)
    except OSError as exc:
        raise OSError(exc.errno or errno.EIO, f"{exc.strerror or exc} (dataset not written)",
                      path) from exc
    except RuntimeError as exc:  # netCDF/HDF5 report a failed write without an errno
        free = shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free
        full = free < max(ds.nbytes, 1 << 20)
        code = errno.ENOSPC if full else errno.EIO
        raise OSError(code, f"{os.strerror(code)} ({type(exc).__name__}: {exc}; "
                      f"{free / 2**20:.3g} MiB free; dataset not written)", path) from exc
