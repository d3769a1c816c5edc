r"""Computing one chunk: ``jit(vmap(evaluate))`` per group, and the runner that prepares, evaluates
and writes a chunk of the plan.

Per-point inputs (``prepare``) are stacked along a leading chunk axis; the last chunk of a group
is padded by repeating its final point, so every chunk of a group has one shape and the group
compiles once.  Shared inputs are passed once, with ``in_axes=None``.  The chunk functions are
cached in the process, and JAX's persistent compilation cache (:mod:`simulations.compile_cache`)
keeps them across processes.  A chunk is written row block by row block, read back, and its
checksum and ``done`` flag stored last (:mod:`simulations.sweep.store`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os

import numpy as np

from minimal_models.precision import require_x64

require_x64()  # the sweep's programs are traced in float64, whoever imports this first

from ..memory import aval_bytes, largest_array_bytes  # noqa: E402
from .model import view_of  # noqa: E402
from .plan import Chunk, plan_of  # noqa: E402
from .store import chunk_checksum, chunk_file  # noqa: E402

__all__ = ["ChunkFunction", "chunk_function", "Runner", "declared_outputs", "abstract_inputs",
           "input_leaves",
           "output_shapes", "chunk_outputs"]


def _stack(trees: list) -> dict:
    """The points' inputs stacked along a new chunk axis; inputs may be any pytree (dicts of
    arrays, named tuples such as a model's typed state)."""
    import jax

    return jax.tree_util.tree_map(lambda *leaves: np.stack(leaves), *trees)


def input_leaves(inputs) -> dict:
    """A chunk's inputs as ``{path: leaf}`` (``"state.Xbar0"``), for shape checks and messages."""
    import jax

    flat, _ = jax.tree_util.tree_flatten_with_path(inputs)
    return {".".join(str(getattr(k, "key", getattr(k, "name", getattr(k, "idx", k))))
                     for k in path): leaf for path, leaf in flat}


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


class ChunkFunction:
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
        io = sum(aval_bytes(v) for v in traced.jaxpr.jaxpr.invars + traced.jaxpr.jaxpr.outvars)
        return io + largest_array_bytes(traced.jaxpr)

    def __call__(self, inputs, shared):
        sig, traced = self._trace(inputs, shared)
        if sig not in self._compiled:
            self._compiled[sig] = traced.lower().compile()
        return self._compiled[sig](inputs, shared)


@functools.lru_cache(maxsize=16)
def chunk_function(cls, key) -> ChunkFunction:
    """One compiled chunk function per model class and static key, kept so that reruns and
    resumed sweeps in the same process reuse it.  Bounded (least recently used first): each
    compiled program holds XLA code in memory maps, and a process has a limited number."""
    return ChunkFunction(view_of(cls, key))


@functools.lru_cache(maxsize=16)
def shared_inputs_of(cls, key, layout):
    import jax.numpy as jnp

    return {k: jnp.asarray(v) for k, v in view_of(cls, key).shared_inputs(layout).items()}


def abstract_inputs(model, layout, chunk_size):
    """A chunk's inputs as shapes only: from the model's ``input_shapes`` when it declares them
    (nothing is built), else from one prepared point (no chunk stacked).  Enough to trace."""
    import jax

    declared = getattr(model, "input_shapes", None)
    one = declared(layout) if declared is not None else model.prepare(layout)
    return jax.tree_util.tree_map(
        lambda v: jax.ShapeDtypeStruct((chunk_size,) + tuple(np.shape(v)),
                                       np.dtype(getattr(v, "dtype", None) or np.asarray(v).dtype)),
        one)


class Runner:
    """Everything a process needs to compute chunks of one sweep."""

    def __init__(self, spec, models=None):
        self.spec = spec
        self.plan = plan_of(spec)
        self.cls = type(spec.model)
        if models is None:
            models = [dataclasses.replace(spec.model, **p) for p in spec.points()]  # validates
        self.models = models
        self.layout = spec.model.layout(models)
        self._checked: set = set()  # groups whose prepared inputs matched input_shapes

    def inputs(self, chunk: Chunk):
        models = [self.models[i] for i in chunk.points]
        models += [models[-1]] * (self.spec.chunk_size - len(models))  # pad: one shape per group
        stacked = _stack([m.prepare(self.layout) for m in models])
        if chunk.group not in self._checked and hasattr(models[0], "input_shapes"):
            self._check_declared(models[0], stacked)
            self._checked.add(chunk.group)
        return stacked

    def _check_declared(self, model, stacked):
        """The estimate trusted ``input_shapes``: hold the model to it."""
        declared = abstract_inputs(model, self.layout, self.spec.chunk_size)
        got = {k: (tuple(v.shape), np.dtype(v.dtype)) for k, v in input_leaves(stacked).items()}
        want = {k: (tuple(v.shape), np.dtype(v.dtype))
                for k, v in input_leaves(declared).items()}
        if got != want:
            diff = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
            raise ValueError(
                f"{self.cls.__name__}.input_shapes does not match prepare for input(s) {diff}: "
                + "; ".join(f"{k}: declared {want.get(k)}, prepared {got.get(k)}"
                            for k in diff[:4]))

    def function(self, chunk: Chunk):
        return chunk_function(self.cls, chunk.group)

    def shared(self, group):
        return shared_inputs_of(self.cls, group, self.layout)

    def compute(self, chunk: Chunk, inputs=None):
        import jax

        inputs = self.inputs(chunk) if inputs is None else inputs
        return jax.device_get(self.function(chunk)(inputs, self.shared(chunk.group)))

    def write(self, group_store, c: int, result: dict):
        """Write chunk ``c``'s rows, read them back, then its checksum and ``done`` flag.  A
        storage error (a full disk) leaves no part of the chunk behind and is raised as one
        ``OSError`` naming the file; the finished chunks stay, and a rerun resumes."""
        chunk = self.plan.chunks[c]
        rows = slice(chunk.row, chunk.row + self.spec.chunk_size)
        name = None
        try:
            for name, values in result.items():
                group_store[name][rows] = values
            # read back what landed in the store: the checksum kept with the flag is of that
            back = {name: np.asarray(group_store[name][rows]) for name in result}
            written = chunk_checksum(back)
            if written != chunk_checksum({n: np.asarray(v, dtype=back[n].dtype)
                                          for n, v in result.items()}):
                raise OSError(f"chunk {c} read back from the store differs from what was "
                              f"written ({chunk_file(group_store, next(iter(result)), c)})")
            name = "checksum"
            group_store["checksum"][c] = written
            name = "done"
            group_store["done"][c] = True  # only after every variable of the chunk is written
        except OSError as exc:
            if exc.errno is None:  # not a storage error (the read-back check above)
                raise
            _forget_chunk(group_store, c, list(result) + ["checksum", "done"])
            where = chunk_file(group_store, name, c) if name else exc.filename
            raise OSError(exc.errno, f"{exc.strerror or os.strerror(exc.errno)} while writing "
                          f"chunk {c} of the sweep store (finished chunks are kept: rerun to "
                          "resume once there is room)", where) from exc


def _forget_chunk(group_store, c, names):
    """Remove what a failed write left of chunk ``c`` (best effort: on a full disk, removing
    frees room, and the resumed sweep rewrites the chunk anyway)."""
    if getattr(group_store, "path", None) is None:
        return
    for name in names:
        with contextlib.suppress(OSError):
            os.unlink(chunk_file(group_store, name, c))


def declared_outputs(runner: Runner) -> dict:
    """Union of the groups' outputs (a variable a group does not produce stays missing there)."""
    outputs = {}
    for key in runner.plan.groups:
        for name, decl in view_of(runner.cls, key).outputs(runner.layout).items():
            if name in outputs and tuple(outputs[name][0]) != tuple(decl[0]):
                raise ValueError(f"output {name!r} has dims {decl[0]} in one group of static "
                                 f"fields and {outputs[name][0]} in another")
            outputs.setdefault(name, decl)
    return outputs


def output_shapes(runner: Runner, outputs: dict):
    """Shape and dtype of every output per point, checked against the declarations, the
    bytes one chunk needs at least (largest over the groups), and that group's abstract inputs."""
    shapes, peak, peak_inputs = {}, 0, {}
    for key in runner.plan.groups:
        chunk = next(ch for ch in runner.plan.chunks if ch.group == key)
        inputs = abstract_inputs(runner.models[chunk.points[0]], runner.layout,
                                 runner.spec.chunk_size)
        shared = runner.shared(key)
        got = runner.function(chunk).eval_shape(inputs, shared)
        needs = runner.function(chunk).peak_bytes(inputs, shared)
        if needs >= peak:
            peak, peak_inputs = needs, inputs
        declared = set(view_of(runner.cls, key).outputs(runner.layout))
        if set(got) != declared:
            raise ValueError(f"evaluate returned {sorted(got)} but outputs() declares "
                             f"{sorted(declared)} (static fields {key})")
        for name, shp in got.items():
            this = (shp.shape[1:], np.dtype(shp.dtype))
            if shapes.setdefault(name, this) != this:
                raise ValueError(f"output {name!r} has shape/dtype {this} in group {key} and "
                                 f"{shapes[name]} in another")
    return shapes, peak, peak_inputs


def chunk_outputs(runner: Runner):
    """chunk index -> the variables its group writes (groups may declare different outputs)."""
    names = {key: tuple(view_of(runner.cls, key).outputs(runner.layout))
             for key in runner.plan.groups}
    return lambda c: names[runner.plan.chunks[c].group]
