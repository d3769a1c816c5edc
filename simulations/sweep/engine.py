r"""The sweep engine: parameter grid -> groups -> fixed-size chunks -> jit(vmap) -> zarr -> xarray.

This is the only place in collapse-lab that batches.  A *sweepable model* (the
:class:`SweepableModel` protocol below) is a frozen dataclass describing one parameter point.
Its fields are of two kinds:

- **inputs** (the default): every value a point varies reaches ``evaluate`` as an array built
  by ``prepare``.  Parameters are array arguments, never closure constants, so all points of a
  group share one compiled program;
- **static fields**, listed in ``static_fields``: values that change the compiled program
  (solver choice, flags that change the outputs, Python integers such as ``max_steps``).
  The engine splits the grid into groups of equal static values and compiles once per group.

``evaluate``, ``shared_inputs``, ``outputs`` and ``coords`` run on a *static view* of the model
in which every non-static field is a guard that raises ``TypeError`` when used.  A model that
reads a per-point value directly instead of through ``prepare`` therefore fails loudly, rather
than computing every point with the first point's value.

:func:`run_sweep` flattens the grid, groups it, cuts each group into chunks of ``chunk_size``
points (the last one padded by repeating its final point, so every chunk of a group has one
shape), evaluates each chunk with ``jit(vmap(evaluate))`` (shared inputs passed once, with
``in_axes=None``), and writes it to a zarr store followed by its ``done`` flag.  Each chunk owns
whole rows of the store, so concurrent writers never share a storage chunk.  A killed sweep
rerun on the same store computes only the chunks whose flag is unset and ends with the same
dataset as an uninterrupted run.  A lock file refuses a second process writing the same store.
The store itself (format, lock, fill values) is :mod:`simulations.sweep.store`; every ``result``
variable carries the :class:`~simulations.flows.results.SolverResult` table in its attributes.

Compilation: the chunk functions are cached in the process, and JAX's persistent compilation
cache (:mod:`simulations.compile_cache`) keeps them across processes.

Scale-out: with a ``dask.distributed`` client, every missing chunk becomes one task that a
worker process prepares, evaluates and writes to the (shared) zarr store itself, flag last.

In one process, while XLA runs a chunk (it releases the GIL), a helper thread prepares the next
chunk's host inputs (numpy only).  XLA itself runs one computation at a time: two XLA
computations in concurrent Python threads were seen to deadlock (jax 0.10).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, ClassVar, Hashable, Protocol, Sequence, runtime_checkable

import numpy as np

from minimal_models.precision import require_x64

require_x64()

from ..artifacts import package_version
from ..flows.results import result_attrs
from .store import STORE_FORMAT, MemoryStore, StoreLockedError, ZarrStore, fill_value
from .store import chunk_checksum, chunk_file, finished_store, open_checked, store_lock
from .store import verify_chunks

__all__ = ["SweepSpec", "SweepableModel", "run_sweep", "open_sweep", "sweep_fingerprint",
           "static_view", "StoreLockedError"]  # StoreLockedError: re-exported from .store


@runtime_checkable
class SweepableModel(Protocol):
    """What :func:`run_sweep` needs of a model: one parameter point, as a frozen dataclass.

    ``static_fields``: names of the fields that change the compiled program; the grid is split
    into groups by their values and compiled once per group.  Every other field is an *input*:
    ``prepare`` must turn it into arrays, because ``evaluate`` cannot see it.
    """

    static_fields: ClassVar[tuple[str, ...]]

    def layout(self, models: Sequence[Any]) -> Hashable:
        """Shapes shared by every point of the sweep (called on a real model with all of them)."""

    def prepare(self, layout: Hashable) -> dict[str, np.ndarray]:
        """Host-side inputs of this point (called on the real model), at the layout's shapes."""

    def shared_inputs(self, layout: Hashable) -> dict[str, np.ndarray]:
        """Inputs identical for every point (a data set, a fixed matrix): passed once, not
        copied per point.  Static view: may read only static fields."""

    def evaluate(self, inputs: dict) -> dict:
        """Pure JAX for one point; ``inputs`` = this point's ``prepare`` merged with the shared
        inputs.  Static view."""

    def outputs(self, layout: Hashable) -> dict[str, tuple[tuple[str, ...], str, str]]:
        """name -> (dims, units, description) of each output of ``evaluate``.  Static view."""

    def coords(self, layout: Hashable) -> dict[str, np.ndarray]:
        """Coordinates of the output dims.  Static view."""


class _NotStatic:
    """Stands in for a non-static field in the static view: any use raises."""

    __slots__ = ("_name", "_model")

    def __init__(self, name, model):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_model", model)

    def _fail(self, *args, **kwargs):
        name, model = object.__getattribute__(self, "_name"), object.__getattribute__(self, "_model")
        raise TypeError(
            f"{model}.{name} was used by evaluate/shared_inputs/outputs/coords, but {name!r} is "
            f"not in {model}.static_fields: its value differs from point to point, so it must "
            "reach evaluate through prepare()'s inputs (or be declared static)")

    def __getattribute__(self, attr):
        if attr in ("_fail", "__class__", "__repr__"):
            return object.__getattribute__(self, attr)
        object.__getattribute__(self, "_fail")()

    def __repr__(self):
        return f"<non-static field {object.__getattribute__(self, '_name')!r}>"

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __hash__ = __bool__ = _fail
    __float__ = __int__ = __index__ = __complex__ = __len__ = __iter__ = __contains__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = _fail
    __rtruediv__ = __pow__ = __rpow__ = __neg__ = __abs__ = __getitem__ = __format__ = _fail
    __array__ = __jax_array__ = __str__ = __call__ = _fail


def _static_key(model) -> tuple:
    return tuple(getattr(model, name) for name in type(model).static_fields)


@functools.lru_cache(maxsize=256)
def _static_view_of(cls, key):
    view = object.__new__(cls)  # no __init__/__post_init__: the fields below are not all values
    values = dict(zip(cls.static_fields, key))
    for f in dataclasses.fields(cls):
        value = values[f.name] if f.name in values else _NotStatic(f.name, cls.__name__)
        object.__setattr__(view, f.name, value)
    return view


def static_view(model):
    """The model as ``evaluate`` sees it: static fields only (any other field raises)."""
    return _static_view_of(type(model), _static_key(model))


def _check_model(model):
    if not dataclasses.is_dataclass(model) or isinstance(model, type):
        raise ValueError(f"model must be a dataclass instance, got {type(model).__name__}")
    missing = [m for m in ("static_fields", "layout", "prepare", "shared_inputs", "evaluate",
                           "outputs", "coords") if not hasattr(model, m)]
    if missing:
        raise ValueError(f"{type(model).__name__} is not a SweepableModel: it lacks {missing}")
    fields = {f.name for f in dataclasses.fields(model)}
    unknown = set(model.static_fields) - fields
    if unknown:
        raise ValueError(f"{type(model).__name__}.static_fields names unknown fields "
                         f"{sorted(unknown)}")


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
        _check_model(self.model)
        fields = {f.name for f in dataclasses.fields(self.model)}
        axes = tuple((str(name), tuple(values)) for name, values in self.axes)
        names = [name for name, _ in axes]
        for name, values in axes:
            if name not in fields:
                raise ValueError(f"unknown sweep axis {name!r}; allowed: {sorted(fields)}")
            if not values:
                raise ValueError(f"sweep axis {name!r} has no values")
            _refuse_duplicates(name, values)
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
        """Chunks of the plan, counted without building it: axis values are distinct, so each
        combination of the static axes' values is one group, and the groups are equal."""
        static = set(type(self.model).static_fields)
        groups = int(np.prod([len(v) for name, v in self.axes if name in static]))
        return groups * -(-(self.n_points // groups) // self.chunk_size)

    def points(self) -> list[dict]:
        names = [name for name, _ in self.axes]
        return [dict(zip(names, combo)) for combo in itertools.product(*(v for _, v in self.axes))]

    def with_overrides(self, overrides: dict) -> "SweepSpec":
        """Override by name: an axis gets new values; a fixed parameter gets a scalar, or becomes
        a new (last) axis when given a sequence; ``chunk_size`` sets the points per chunk."""
        axes = dict(self.axes)
        fixed = {}
        fields = {f.name for f in dataclasses.fields(self.model)}
        chunk_size = self.chunk_size
        for key, value in overrides.items():
            if key == "chunk_size" and key not in fields:  # the sweep's own setting
                chunk_size = value
            elif key in axes or (key in fields and isinstance(value, (list, tuple))):
                axes[key] = tuple(value) if isinstance(value, (list, tuple)) else (value,)
            elif key in fields:
                fixed[key] = value
            else:
                raise ValueError(f"unknown sweep axis or parameter {key!r}; allowed: "
                                 f"{sorted(fields)}")
        return dataclasses.replace(self, model=dataclasses.replace(self.model, **fixed),
                                   axes=tuple(axes.items()), chunk_size=chunk_size)


def _refuse_duplicates(name, values):
    """A grid is a set: a repeated value would compute the same point twice and give the
    dataset a non-unique index (``.sel`` returning two rows)."""
    try:
        seen, repeated = set(), None
        for value in values:  # hashing: linear even for a very long axis
            if value in seen:
                repeated = value
                break
            seen.add(value)
    except TypeError:  # unhashable values (arrays): compare pairwise
        repeated = next((v for i, v in enumerate(values) for w in values[:i]
                         if np.shape(v) == np.shape(w) and bool(np.all(np.asarray(v) == w))),
                        None)
    if repeated is not None:
        shown = list(values) if len(values) <= 20 else f"{len(values)} values"
        raise ValueError(f"sweep axis {name!r} lists the value {repeated!r} more than once "
                         f"({shown}); the values of an axis must be distinct")


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
        "store_format": STORE_FORMAT,
    }, sort_keys=True, default=str)


# ---------------------------------------------------------------------------------- the plan

@dataclasses.dataclass(frozen=True)
class _Chunk:
    group: tuple           # static key of every point in the chunk
    points: tuple          # flat grid indices (C order), at most chunk_size of them
    row: int               # first store row; the chunk owns rows [row, row + chunk_size)


@dataclasses.dataclass(frozen=True)
class _Plan:
    groups: tuple          # static keys, in order of first appearance in the grid
    chunks: tuple          # _Chunk, group by group
    rows: np.ndarray       # store row of each grid point


@functools.lru_cache(maxsize=64)
def _plan_cached(spec: SweepSpec) -> _Plan:
    base, size = spec.model, spec.chunk_size
    static = type(base).static_fields
    members: dict[tuple, list[int]] = {}
    for i, point in enumerate(spec.points()):
        key = tuple(point.get(name, getattr(base, name)) for name in static)
        members.setdefault(key, []).append(i)
    chunks, rows = [], np.empty(spec.n_points, dtype=np.int64)
    for key, idx in members.items():
        for start in range(0, len(idx), size):
            chunk = _Chunk(key, tuple(idx[start:start + size]), len(chunks) * size)
            rows[list(chunk.points)] = chunk.row + np.arange(len(chunk.points))
            chunks.append(chunk)
    return _Plan(tuple(members), tuple(chunks), rows)


def _plan(spec: SweepSpec) -> _Plan:
    try:
        return _plan_cached(spec)
    except TypeError:  # unhashable axis values: plan without the cache
        return _plan_cached.__wrapped__(spec)


# ---------------------------------------------------------------------------- compute a chunk

def _stack(dicts: list[dict]) -> dict:
    return {key: np.stack([d[key] for d in dicts]) for key in dicts[0]}


@contextlib.contextmanager
def _no_host_callbacks():
    """Trace with equinox's runtime checks returning NaN instead of raising through a host
    callback: JAX will not persist a program that contains host callbacks, and the checks
    this disables (diffrax's ordering of the output times) are made on the host before
    any chunk runs."""
    try:
        from equinox import _errors
    except ImportError:  # pragma: no cover - equinox internals moved: the cache is only slower
        yield
        return
    saved = getattr(_errors, "EQX_ON_ERROR", None)
    if saved is None:
        yield
        return
    _errors.EQX_ON_ERROR = "nan"
    try:
        yield
    finally:
        _errors.EQX_ON_ERROR = saved


class _ChunkFunction:
    """jit(vmap(evaluate)) for one group: per-point inputs batched, shared inputs passed once.

    Traced once per input signature (the output shapes come from that same trace) and compiled
    ahead of time from it: a sweep's first chunk pays one trace, one compile (or a load from
    the persistent cache), nothing more."""

    def __init__(self, view):
        import jax

        def one_point(inputs, shared):
            return view.evaluate({**inputs, **shared})

        self._fn = jax.jit(jax.vmap(one_point, in_axes=(0, None)))
        self._traced: dict = {}
        self._compiled: dict = {}

    @staticmethod
    def _signature(inputs, shared):
        import jax

        return jax.tree_util.tree_structure((inputs, shared)), tuple(
            (tuple(np.shape(x)), np.dtype(getattr(x, "dtype", None) or np.asarray(x).dtype).str)
            for x in jax.tree_util.tree_leaves((inputs, shared)))

    def _trace(self, inputs, shared):
        sig = self._signature(inputs, shared)
        if sig not in self._traced:
            with _no_host_callbacks():
                self._traced[sig] = self._fn.trace(inputs, shared)
        return sig, self._traced[sig]

    def eval_shape(self, inputs, shared):
        return self._trace(inputs, shared)[1].out_info

    def peak_bytes(self, inputs, shared) -> int:
        """At least what one call needs: its inputs, outputs and largest intermediate array
        (from the trace; nothing is compiled or allocated)."""
        traced = self._trace(inputs, shared)[1]
        io = sum(_aval_bytes(v) for v in traced.jaxpr.jaxpr.invars + traced.jaxpr.jaxpr.outvars)
        return io + _largest_array(traced.jaxpr)

    def __call__(self, inputs, shared):
        sig, traced = self._trace(inputs, shared)
        if sig not in self._compiled:
            self._compiled[sig] = traced.lower().compile()
        return self._compiled[sig](inputs, shared)


@functools.lru_cache(maxsize=64)
def _chunk_function(cls, key) -> _ChunkFunction:
    """One compiled chunk function per model class and static key, kept so that reruns and
    resumed sweeps in the same process reuse it."""
    return _ChunkFunction(_static_view_of(cls, key))


@functools.lru_cache(maxsize=64)
def _shared_inputs(cls, key, layout):
    import jax.numpy as jnp

    return {k: jnp.asarray(v) for k, v in _static_view_of(cls, key).shared_inputs(layout).items()}


class _Runner:
    """Everything a process needs to compute chunks of one sweep."""

    def __init__(self, spec: SweepSpec, models=None):
        self.spec = spec
        self.plan = _plan(spec)
        self.cls = type(spec.model)
        if models is None:
            models = [dataclasses.replace(spec.model, **p) for p in spec.points()]  # validates
        self.models = models
        self.layout = spec.model.layout(models)

    def inputs(self, chunk: _Chunk):
        models = [self.models[i] for i in chunk.points]
        models += [models[-1]] * (self.spec.chunk_size - len(models))  # pad: one shape per group
        return _stack([m.prepare(self.layout) for m in models])

    def function(self, chunk: _Chunk):
        return _chunk_function(self.cls, chunk.group)

    def shared(self, group):
        return _shared_inputs(self.cls, group, self.layout)

    def compute(self, chunk: _Chunk, inputs=None):
        import jax

        inputs = self.inputs(chunk) if inputs is None else inputs
        return jax.device_get(self.function(chunk)(inputs, self.shared(chunk.group)))

    def write(self, group_store, c: int, result: dict):
        chunk = self.plan.chunks[c]
        rows = slice(chunk.row, chunk.row + self.spec.chunk_size)
        for name, values in result.items():
            group_store[name][rows] = values
        # read back what landed in the store: the checksum kept with the flag is of that
        back = {name: np.asarray(group_store[name][rows]) for name in result}
        written = chunk_checksum(back)
        if written != chunk_checksum({n: np.asarray(v, dtype=back[n].dtype)
                                      for n, v in result.items()}):
            raise OSError(f"chunk {c} read back from the store differs from what was written "
                          f"({chunk_file(group_store, next(iter(result)), c)})")
        group_store["checksum"][c] = written
        group_store["done"][c] = True  # only after every variable of the chunk is written


# -------------------------------------------------------------------------------- execution

def _compute_chunk(spec, store, c):
    """One chunk on a dask worker: prepare, evaluate, write, flag."""
    runner = _worker_runner(spec)
    runner.write(ZarrStore(store), c, runner.compute(runner.plan.chunks[c]))
    return c


@functools.lru_cache(maxsize=8)
def _worker_runner(spec):
    return _Runner(spec)


def _run_on_cluster(client, spec, store, todo, finished):
    from dask.distributed import as_completed

    futures = [client.submit(_compute_chunk, spec, store, c, pure=False) for c in todo]
    try:
        for future in as_completed(futures):
            finished(future.result())  # re-raises a worker's exception here
    finally:
        client.cancel(futures)  # on error or Ctrl-C: stop queued chunks; written ones are kept


def _declared_outputs(runner: _Runner) -> dict:
    """Union of the groups' outputs (a variable a group does not produce stays missing there)."""
    outputs = {}
    for key in runner.plan.groups:
        for name, decl in _static_view_of(runner.cls, key).outputs(runner.layout).items():
            if name in outputs and tuple(outputs[name][0]) != tuple(decl[0]):
                raise ValueError(f"output {name!r} has dims {decl[0]} in one group of static "
                                 f"fields and {outputs[name][0]} in another")
            outputs.setdefault(name, decl)
    return outputs


def _abstract_inputs(model, layout, chunk_size):
    """A chunk's inputs as shapes only (one point prepared, no chunk stacked): enough to
    trace, and free of the chunk's host memory."""
    import jax

    return {k: jax.ShapeDtypeStruct((chunk_size,) + np.shape(v), np.asarray(v).dtype)
            for k, v in model.prepare(layout).items()}


def _output_shapes(runner: _Runner, outputs: dict):
    """Shape and dtype of every output per point, checked against the declarations, and the
    bytes one chunk needs at least (largest over the groups)."""
    shapes, peak = {}, 0
    for key in runner.plan.groups:
        chunk = next(ch for ch in runner.plan.chunks if ch.group == key)
        inputs = _abstract_inputs(runner.models[chunk.points[0]], runner.layout,
                                  runner.spec.chunk_size)
        shared = runner.shared(key)
        got = runner.function(chunk).eval_shape(inputs, shared)
        peak = max(peak, runner.function(chunk).peak_bytes(inputs, shared))
        declared = set(_static_view_of(runner.cls, key).outputs(runner.layout))
        if set(got) != declared:
            raise ValueError(f"evaluate returned {sorted(got)} but outputs() declares "
                             f"{sorted(declared)} (static fields {key})")
        for name, shp in got.items():
            this = (shp.shape[1:], np.dtype(shp.dtype))
            if shapes.setdefault(name, this) != this:
                raise ValueError(f"output {name!r} has shape/dtype {this} in group {key} and "
                                 f"{shapes[name]} in another")
    return shapes, peak


def run_sweep(spec: SweepSpec, store: str | os.PathLike | None = None, *,
              progress: bool = True, on_chunk: Callable[[int], None] | None = None,
              client=None, compile_cache: bool = True):
    """Run (or resume) a sweep and return it as an :class:`xarray.Dataset`.

    ``store``: path of a zarr store; if it exists and holds this sweep (same fingerprint) only
    the chunks not yet flagged ``done`` are computed; a store of a different sweep raises
    ``ValueError``, and a store another live process is writing raises
    :class:`StoreLockedError` (the lock is taken first, before any expensive setup).  ``None``
    keeps everything in memory.  ``on_chunk(index)`` is called after each computed chunk has
    been written, read back and flagged.  Every point is validated (the model's constructor
    raises ``ValueError``) before anything is created on disk.

    Integrity: on resume every flagged chunk is re-read and checked against the checksum kept
    with its flag; a chunk whose files are missing, truncated or corrupt is recomputed (a
    warning names it and its file).

    Before anything is allocated or compiled the sweep's size is estimated (points, memory of
    one chunk from the traced program's arrays, output size); a sweep that cannot fit in this
    machine's available memory raises ``ValueError`` with the estimate and a hint
    (``chunk_size``, fewer times or points).  Large sweeps print the estimate.  A refused or
    failed start leaves no store behind.

    ``client``: a ``dask.distributed.Client``; the missing chunks then run as tasks on its
    workers, which write straight to ``store`` (a path every worker can reach).  The dataset is
    the same as a run in this process.

    ``compile_cache``: turn on JAX's persistent compilation cache
    (:func:`simulations.compile_cache.enable`; ``COLLAPSE_LAB_CACHE_DIR`` moves it, ``off``
    disables it) so a later process reuses the compiled chunk functions.
    """
    if client is not None and store is None:
        raise ValueError("store=None with a dask client: the workers write the results, so "
                         "give a store path they can all reach")
    if store is None:
        runner, shapes, outputs = _setup(spec, compile_cache, progress)
        return _execute(runner, MemoryStore(), shapes, outputs, progress, on_chunk, None, None)
    store = str(store)
    created = not os.path.exists(store)
    with store_lock(store):  # first: a second writer is refused before any setup
        try:
            runner, shapes, outputs = _setup(spec, compile_cache, progress)
            group = open_checked(store, sweep_fingerprint(spec), spec.name)
            return _execute(runner, group, shapes, outputs, progress, on_chunk, client, store)
        except BaseException:
            if created:
                _remove_if_nothing_done(store)
            raise


def _remove_if_nothing_done(store):
    """A start that failed before any chunk was finished leaves no (empty) store behind."""
    import shutil

    try:
        import zarr

        done = np.asarray(zarr.open_group(store, mode="r")["done"][:])
        if done.any():
            return
    except Exception:
        pass  # no readable flags: nothing finished
    for entry in os.listdir(store):
        if entry != ".lock":  # the lock goes with store_lock
            path = os.path.join(store, entry)
            shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)


def _setup(spec, compile_cache, progress):
    """Validate, estimate, refuse what cannot fit; return (runner, output shapes, outputs)."""
    _precheck(spec, progress)  # before building every point: a grid too large is refused fast
    runner = _Runner(spec)  # validates every point before anything is written
    if compile_cache:
        from ..compile_cache import enable

        enable()
    outputs = _declared_outputs(runner)
    shapes, peak = _output_shapes(runner, outputs)
    _check_fits(_Estimate.of(spec, shapes, peak, exact=True), progress)
    return runner, shapes, outputs


def _execute(runner, group, shapes, outputs, progress, on_chunk, client, store):
    spec, plan = runner.spec, runner.plan
    n_chunks, size = len(plan.chunks), spec.chunk_size
    for name, (shape, dtype) in shapes.items():
        group.create(name, (n_chunks * size,) + shape, dtype, size, fill_value(dtype))
    group.create("checksum", (n_chunks,), np.int64, 1, fill_value(np.int64))
    group.create("done", (n_chunks,), bool, 1, False)

    if group.path is None:
        done = np.asarray(group["done"][:])
    else:  # a flag is only as good as the data under it: re-read and check every chunk
        done, problems = verify_chunks(group, _chunk_outputs(runner), size, n_chunks)
        if problems:
            import warnings

            warnings.warn(f"store {store!r}: {len(problems)} finished chunk(s) are missing or "
                          "damaged and will be recomputed: " + "; ".join(problems[:5])
                          + (" ..." if len(problems) > 5 else ""), RuntimeWarning, stacklevel=3)
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
            _run_on_cluster(client, spec, store, todo, finished)
        else:
            inputs = runner.inputs(plan.chunks[todo[0]]) if todo else None
            for i, c in enumerate(todo):
                # numpy-only preparation of the next chunk overlaps this chunk's XLA run
                upcoming = (prep.submit(runner.inputs, plan.chunks[todo[i + 1]])
                            if i + 1 < len(todo) else None)
                runner.write(group, c, runner.compute(plan.chunks[c], inputs))
                inputs = upcoming.result() if upcoming is not None else None
                finished(c)
    finally:
        prep.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()
    return _to_dataset(runner, group, outputs)


def _chunk_outputs(runner):
    """chunk index -> the variables its group writes (groups may declare different outputs)."""
    names = {key: tuple(_static_view_of(runner.cls, key).outputs(runner.layout))
             for key in runner.plan.groups}
    return lambda c: names[runner.plan.chunks[c].group]


# ------------------------------------------------------------------- refuse before work

_PLAN_BYTES_PER_POINT = 600  # measured 522 B (peak RSS, 200k points): grid, models, plan
_LARGE = 1 << 30               # print the estimate from 1 GiB (or 100k points) on


def _available_memory() -> int:
    """Bytes the host can still give this process (MemAvailable; else free physical pages)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _device_memory() -> int:
    """Bytes one chunk may use where it runs: the accelerator's limit, else host memory."""
    import jax

    device = jax.devices()[0]
    if device.platform != "cpu":
        with contextlib.suppress(Exception):
            limit = (device.memory_stats() or {}).get("bytes_limit")
            if limit:
                return int(limit)
    return _available_memory()


def _largest_array(jaxpr) -> int:
    """Bytes of the largest array a traced program creates (nested loops and branches
    included): a lower bound on what XLA must allocate, found without compiling."""
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    largest = 0
    for var in list(jaxpr.invars) + list(jaxpr.outvars):
        largest = max(largest, _aval_bytes(var))
    for eqn in jaxpr.eqns:
        for var in eqn.outvars:
            largest = max(largest, _aval_bytes(var))
        for param in eqn.params.values():
            for sub in (param if isinstance(param, (tuple, list)) else (param,)):
                if hasattr(sub, "eqns") or hasattr(getattr(sub, "jaxpr", None), "eqns"):
                    largest = max(largest, _largest_array(sub))
    return largest


def _aval_bytes(var) -> int:
    aval = getattr(var, "aval", None)
    shape, dtype = getattr(aval, "shape", None), getattr(aval, "dtype", None)
    if shape is None or dtype is None:
        return 0
    with contextlib.suppress(TypeError):
        return int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize
    return 0


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB" if n >= 2**27 else f"{n / 2**20:.3g} MiB"


@dataclasses.dataclass(frozen=True)
class _Estimate:
    """What a sweep will cost, known before anything is allocated or compiled."""

    n_points: int
    chunk_size: int
    chunk_bytes: int      # one chunk: inputs, outputs and the largest array of its program
    output_bytes: int     # every output of every point (the store, and the dataset in memory)
    plan_bytes: int       # the validated points and the plan
    exact: bool           # False: a lower bound from a sample of points
    plan_seconds: float = 0.0  # building and validating every point (from the sample)

    @classmethod
    def of(cls, spec, shapes, peak, exact, plan_seconds=0.0):
        row = sum(int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize
                  for shape, dtype in shapes.values())
        return cls(spec.n_points, spec.chunk_size, int(peak), spec.n_points * row,
                   spec.n_points * _PLAN_BYTES_PER_POINT, exact, plan_seconds)

    def describe(self) -> str:
        bound = "" if self.exact else "at least "
        return (f"{self.n_points:,} points in chunks of {self.chunk_size}: {bound}"
                f"{_gib(self.chunk_bytes)} per chunk, {bound}{_gib(self.output_bytes)} of "
                f"output, ~{_gib(self.plan_bytes)} to plan"
                + (f" (~{self.plan_seconds:.0f} s)" if self.plan_seconds >= 1 else ""))


def _check_fits(estimate: _Estimate, progress: bool):
    host, device = _available_memory(), _device_memory()
    hint = ("reduce the points, the times (n_times) or the sizes of the sweep, or split it "
            "into several sweeps")
    if estimate.chunk_bytes > device:
        raise ValueError(
            f"sweep too large for this machine: {estimate.describe()}, but only "
            f"{_gib(device)} is available for a chunk; lower chunk_size (on the command line: "
            f"--set chunk_size=N), or "
            f"{hint}")
    if estimate.output_bytes + estimate.plan_bytes > host:
        raise ValueError(
            f"sweep too large for this machine: {estimate.describe()}, but only "
            f"{_gib(host)} of memory is available; {hint}")
    if progress and (max(estimate.chunk_bytes, estimate.output_bytes) >= _LARGE
                     or estimate.n_points >= 100_000):
        import sys

        print(f"sweep estimate: {estimate.describe()} ({_gib(host)} available)",
              file=sys.stderr)


def _precheck(spec: SweepSpec, progress: bool, sample: int = 32):
    """For a large grid, a lower bound of its cost from a few points, before every point is
    built: the layout of a sample is no larger than the grid's, so what the sample needs the
    sweep needs at least."""
    if spec.n_points <= 4 * sample:
        return
    picks = np.unique(np.linspace(0, spec.n_points - 1, sample).astype(np.int64))
    names = [name for name, _ in spec.axes]
    points = [dict(zip(names, (values[i] for (_, values), i in
                               zip(spec.axes, np.unravel_index(flat, spec.shape)))))
              for flat in picks]
    import time

    start = time.perf_counter()
    models = [dataclasses.replace(spec.model, **p) for p in points]  # validates the sample
    per_point = (time.perf_counter() - start) / len(models)
    layout = spec.model.layout(models)
    static = type(spec.model).static_fields
    row, peak = {}, 0
    for model in models[:1]:  # one group suffices for a lower bound; tracing is the cost
        key = tuple(getattr(model, name) for name in static)
        inputs = _abstract_inputs(model, layout, spec.chunk_size)
        shared = _shared_inputs(type(model), key, layout)
        fn = _chunk_function(type(model), key)
        got = fn.eval_shape(inputs, shared)
        row = {n: (s.shape[1:], np.dtype(s.dtype)) for n, s in got.items()}
        peak = max(peak, fn.peak_bytes(inputs, shared))
    # validation is most of planning; the grid's dicts and the plan about double it
    _check_fits(_Estimate.of(spec, row, peak, exact=False,
                             plan_seconds=2 * per_point * spec.n_points), progress)


# ------------------------------------------------------------------------------ the dataset

def _to_dataset(runner, group, outputs):
    import xarray as xr

    spec, plan = runner.spec, runner.plan
    names = [name for name, _ in spec.axes]
    coords = {name: np.asarray(values) for name, values in spec.axes}
    for key in plan.groups:  # coords may depend only on static fields and the layout
        for name, value in _static_view_of(runner.cls, key).coords(runner.layout).items():
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
    fixed = {k: v for k, v in dataclasses.asdict(spec.model).items() if k not in names}
    attrs = {
        "sweep_name": spec.name,
        "description": spec.description,
        "model": type(spec.model).__name__,
        "parameters": json.dumps({k: _jsonable(v) for k, v in fixed.items()}, sort_keys=True,
                                 default=str),
        "axes": json.dumps(names),
        "static_fields": json.dumps(list(type(spec.model).static_fields)),
        "collapse_lab_version": package_version(),
        "reconstruction": int(bool(getattr(spec.model, "reconstruction", True))),
    }
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
    naming the chunk and its file if a chunk's data is missing or damaged)."""
    runner = _Runner(spec)
    group = finished_store(store, sweep_fingerprint(spec), spec.name,
                           names=_chunk_outputs(runner), chunk_rows=spec.chunk_size)
    return _to_dataset(runner, group, _declared_outputs(runner))
