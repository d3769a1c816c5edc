r"""The sweep engine: parameter grid -> fixed-size chunks -> jit(vmap) -> zarr -> xarray.

This is the only place in collapse-lab that batches.  A *sweepable model* is a frozen dataclass
describing one parameter point, with four members:

- ``layout(models) -> hashable``: shapes shared by every point of the grid (e.g. the largest N
  and K, so points with different class counts are zero-padded to one shape);
- ``prepare(layout) -> dict[str, np.ndarray]``: host-side inputs of this point (random
  couplings, initial states, scalars) at the shared shapes;
- ``evaluate(inputs) -> dict[str, jax.Array]``: pure JAX for one point.  It is called on the
  *base* model, so it may read only fields that are not sweep axes; everything a point varies
  must arrive through ``inputs``.  That makes parameters array arguments, never closure
  constants, and a sweep compiles once per chunk shape;
- ``outputs(layout) -> dict[name, (dims, units, description)]`` and ``coords(layout)``.

A :class:`SweepSpec` names the axes.  :func:`run_sweep` flattens the grid, cuts it into chunks of
``chunk_size`` points (the last one padded by repeating its final point, so every chunk has the
same shape), evaluates each chunk with one ``jit(vmap(evaluate))``, and writes it to a zarr
store followed by its ``done`` flag.  A killed sweep rerun on the same store computes only the
chunks whose flag is unset and ends with the same dataset as an uninterrupted run.

Scale-out: with a ``dask.distributed`` client, every missing chunk becomes one task that a
worker process prepares, evaluates and writes to the (shared) zarr store itself, flag last, so
the store stays resumable whichever worker dies.  Each worker compiles the chunk function once.

In one process, while XLA runs a chunk (it releases the GIL), a helper thread prepares the next
chunk's host inputs (numpy only).  XLA itself runs one computation at a time: on CPU its while
loops execute in the calling thread, so the next chunk is never dispatched before the last one
finished, and two XLA computations in concurrent Python threads were seen to deadlock
(jax 0.10).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np

from minimal_models.precision import require_x64

require_x64()

__all__ = ["SweepSpec", "run_sweep", "open_sweep", "sweep_fingerprint"]


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A named grid over the fields of a sweepable model.

    ``axes`` is a sequence of ``(field_name, values)``; the dataset has one dimension per axis,
    in this order, followed by the dimensions of each output.
    """

    name: str
    model: Any
    axes: tuple
    chunk_size: int = 32
    description: str = ""

    def __post_init__(self):
        if not dataclasses.is_dataclass(self.model):
            raise ValueError(f"model must be a dataclass instance, got {type(self.model).__name__}")
        fields = {f.name for f in dataclasses.fields(self.model)}
        axes = tuple((str(name), tuple(values)) for name, values in self.axes)
        names = [name for name, _ in axes]
        for name, values in axes:
            if name not in fields:
                raise ValueError(f"unknown sweep axis {name!r}; allowed: {sorted(fields)}")
            if not values:
                raise ValueError(f"sweep axis {name!r} has no values")
        if len(set(names)) != len(names):
            raise ValueError(f"sweep axes must be distinct, got {names}")
        if isinstance(self.chunk_size, bool) or not isinstance(self.chunk_size, int) \
                or self.chunk_size < 1:
            raise ValueError(f"chunk_size={self.chunk_size!r} must be an integer >= 1")
        object.__setattr__(self, "axes", axes)

    @property
    def shape(self) -> tuple:
        return tuple(len(values) for _, values in self.axes)

    @property
    def n_points(self) -> int:
        return int(np.prod(self.shape))

    @property
    def n_chunks(self) -> int:
        return -(-self.n_points // self.chunk_size)

    def points(self) -> list[dict]:
        names = [name for name, _ in self.axes]
        return [dict(zip(names, combo)) for combo in itertools.product(*(v for _, v in self.axes))]

    def with_overrides(self, overrides: dict) -> "SweepSpec":
        """Override by name: an axis gets new values; a fixed parameter gets a scalar, or becomes
        a new (last) axis when given a sequence."""
        axes = dict(self.axes)
        fixed = {}
        fields = {f.name for f in dataclasses.fields(self.model)}
        for key, value in overrides.items():
            if key in axes or (key in fields and isinstance(value, (list, tuple))):
                axes[key] = tuple(value) if isinstance(value, (list, tuple)) else (value,)
            elif key in fields:
                fixed[key] = value
            else:
                raise ValueError(f"unknown sweep axis or parameter {key!r}; allowed: "
                                 f"{sorted(fields)}")
        return dataclasses.replace(self, model=dataclasses.replace(self.model, **fixed),
                                   axes=tuple(axes.items()))


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("collapse-lab")
    except Exception:  # running from a source tree that was not installed
        return "unknown"


def _jsonable(value):
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def sweep_fingerprint(spec: SweepSpec) -> str:
    """A canonical JSON description of everything that determines the sweep's numbers."""
    return json.dumps({
        "name": spec.name,
        "model": type(spec.model).__name__,
        "parameters": {k: _jsonable(v) for k, v in dataclasses.asdict(spec.model).items()},
        "axes": [[name, _jsonable(list(values))] for name, values in spec.axes],
        "chunk_size": spec.chunk_size,
    }, sort_keys=True, default=str)


class _MemoryStore:
    """In-memory stand-in for the zarr group when no store path is given."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self.attrs: dict = {}

    def create(self, name, shape, dtype, chunk_rows, fill):
        self.arrays[name] = np.full(shape, fill, dtype=dtype)

    def __getitem__(self, name):
        return self.arrays[name]


class _ZarrStore:
    def __init__(self, path):
        import zarr

        self.group = zarr.open_group(str(path), mode="a")
        self.attrs = self.group.attrs

    def create(self, name, shape, dtype, chunk_rows, fill):
        if name not in self.group:
            chunks = (chunk_rows,) + tuple(shape[1:]) if len(shape) else ()
            self.group.create_array(name, shape=shape, chunks=chunks or None, dtype=dtype,
                                    fill_value=fill)

    def __getitem__(self, name):
        return self.group[name]


def _stack(dicts: list[dict]) -> dict:
    return {key: np.stack([d[key] for d in dicts]) for key in dicts[0]}


def _fill_value(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.nan
    if dtype.kind == "b":
        return False
    return -1


@functools.lru_cache(maxsize=32)
def _batched(model):
    """One jit(vmap(evaluate)) per model configuration, kept so that reruns and resumed sweeps
    in the same process reuse the compiled chunk function."""
    import jax

    return jax.jit(jax.vmap(model.evaluate))


def _chunk_inputs(models, layout, size):
    models = models + [models[-1]] * (size - len(models))  # pad: every chunk has one shape
    return _stack([m.prepare(layout) for m in models])


def _write_chunk(group, spec, c, result):
    start, stop = c * spec.chunk_size, min((c + 1) * spec.chunk_size, spec.n_points)
    for name, values in result.items():
        group[name][start:stop] = values[: stop - start]
    group["done"][c] = True  # only after every variable of the chunk is written


def _compute_chunk(spec, layout, store, c):
    """One chunk on a dask worker: prepare, evaluate, write, flag."""
    import jax

    size = spec.chunk_size
    models = [dataclasses.replace(spec.model, **point)
              for point in spec.points()[c * size:(c + 1) * size]]
    result = jax.device_get(_batched(spec.model)(_chunk_inputs(models, layout, size)))
    _write_chunk(_ZarrStore(store), spec, c, result)
    return c


def _run_on_cluster(client, spec, layout, store, todo, finished):
    from dask.distributed import as_completed

    futures = [client.submit(_compute_chunk, spec, layout, store, c, pure=False) for c in todo]
    try:
        for future in as_completed(futures):
            finished(future.result())  # re-raises a worker's exception here
    finally:
        client.cancel(futures)  # on error or Ctrl-C: stop queued chunks; written ones are kept


def run_sweep(spec: SweepSpec, store: str | os.PathLike | None = None, *,
              progress: bool = True, on_chunk: Callable[[int], None] | None = None,
              client=None):
    """Run (or resume) a sweep and return it as an :class:`xarray.Dataset`.

    ``store``: path of a zarr store; if it exists and holds this sweep (same fingerprint) only
    the chunks not yet flagged ``done`` are computed; a store of a different sweep raises
    ``ValueError``.  ``None`` keeps everything in memory.  ``on_chunk(index)`` is called after
    each computed chunk has been written and flagged.  Every point is validated (the model's
    constructor raises ``ValueError``) before anything is created on disk.

    ``client``: a ``dask.distributed.Client``; the missing chunks then run as tasks on its
    workers, which write straight to ``store`` (a path every worker can reach).  The dataset is
    the same as a run in this process.
    """
    import jax

    if client is not None and store is None:
        raise ValueError("store=None with a dask client: the workers write the results, so "
                         "give a store path they can all reach")
    points = spec.points()
    models = [dataclasses.replace(spec.model, **point) for point in points]  # validates
    layout = spec.model.layout(models)
    size, n_chunks = spec.chunk_size, spec.n_chunks

    def chunk_inputs(c):
        return _chunk_inputs(models[c * size:(c + 1) * size], layout, size)

    batched = _batched(spec.model)
    first = chunk_inputs(0)
    shapes = jax.eval_shape(batched, first)
    outputs = spec.model.outputs(layout)
    if set(shapes) != set(outputs):
        raise ValueError(f"evaluate returned {sorted(shapes)} but outputs() declares "
                         f"{sorted(outputs)}")

    fingerprint = sweep_fingerprint(spec)
    if store is None:
        group = _MemoryStore()
    else:
        if os.path.exists(store):
            import zarr

            try:
                existing = dict(zarr.open_group(str(store), mode="r").attrs)
            except Exception as exc:
                raise ValueError(f"store {str(store)!r} exists but is not a sweep store ({exc})") \
                    from None
            if existing.get("fingerprint") != fingerprint:
                raise ValueError(f"store {str(store)!r} holds a different sweep "
                                 f"({existing.get('sweep_name')!r}); choose another path or "
                                 "delete it")
        group = _ZarrStore(store)
        group.attrs.update({"fingerprint": fingerprint, "sweep_name": spec.name})
    for name, shp in shapes.items():
        group.create(name, (spec.n_points,) + shp.shape[1:], shp.dtype, size,
                     _fill_value(shp.dtype))
    group.create("done", (n_chunks,), bool, 1, False)

    done = np.asarray(group["done"][:])
    todo = [c for c in range(n_chunks) if not done[c]]
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_chunks, initial=n_chunks - len(todo), desc=f"sweep {spec.name}",
                   unit="chunk")
    def finished(c):
        if bar is not None:
            bar.update(1)
        if on_chunk is not None:
            on_chunk(c)

    prep = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweep-prepare")
    try:
        if client is not None:
            _run_on_cluster(client, spec, layout, str(store), todo, finished)
        else:
            inputs = (first if todo[0] == 0 else chunk_inputs(todo[0])) if todo else None
            for i, c in enumerate(todo):
                # numpy-only preparation of the next chunk overlaps this chunk's XLA run
                upcoming = prep.submit(chunk_inputs, todo[i + 1]) if i + 1 < len(todo) else None
                _write_chunk(group, spec, c, jax.device_get(batched(inputs)))
                inputs = upcoming.result() if upcoming is not None else None
                finished(c)
    finally:
        prep.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()
    return _to_dataset(spec, group, outputs, layout)


def _to_dataset(spec, group, outputs, layout):
    import xarray as xr

    names = [name for name, _ in spec.axes]
    coords = {name: np.asarray(values) for name, values in spec.axes}
    coords.update(spec.model.coords(layout))
    data_vars = {}
    for name, (dims, units, description) in outputs.items():
        values = np.asarray(group[name][:])
        values = values.reshape(spec.shape + values.shape[1:])
        data_vars[name] = xr.Variable(tuple(names) + tuple(dims), values,
                                      attrs={"units": units, "description": description})
    fixed = {k: v for k, v in dataclasses.asdict(spec.model).items() if k not in names}
    attrs = {
        "sweep_name": spec.name,
        "description": spec.description,
        "model": type(spec.model).__name__,
        "parameters": json.dumps({k: _jsonable(v) for k, v in fixed.items()}, default=str),
        "axes": json.dumps(names),
        "collapse_lab_version": _version(),
        "reconstruction": int(bool(getattr(spec.model, "reconstruction", True))),
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def open_sweep(spec: SweepSpec, store) -> Any:
    """Dataset of a completed sweep store (raises ``ValueError`` if chunks are missing)."""
    import zarr

    group = zarr.open_group(str(store), mode="r")
    if dict(group.attrs).get("fingerprint") != sweep_fingerprint(spec):
        raise ValueError(f"store {str(store)!r} does not hold sweep {spec.name!r}")
    missing = int((~np.asarray(group["done"][:])).sum())
    if missing:
        raise ValueError(f"store {str(store)!r} is missing {missing} chunks; rerun the sweep")
    models = [dataclasses.replace(spec.model, **p) for p in spec.points()]
    layout = spec.model.layout(models)
    return _to_dataset(spec, group, spec.model.outputs(layout), layout)
