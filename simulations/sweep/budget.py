r"""Refuse before work: what a sweep will cost, estimated from shapes before anything is
allocated or compiled.

Three numbers decide whether a sweep can run here:

- one chunk: its inputs, its outputs and the largest array of its traced program
  (:func:`simulations.memory.largest_array_bytes`: a lower bound on what XLA allocates), against
  the memory of the device the chunk runs on;
- the outputs of every point (the store, and the dataset in memory) plus the validated points
  and the plan (:data:`_PLAN_BYTES_PER_POINT` per point), against the host's available memory.

The chunk's inputs are shapes only: a model that declares ``input_shapes`` is estimated without
building any point's inputs (a state of ten million dimensions is refused in a second instead of
being built first); otherwise one point is prepared.  A grid of more than 128 points
is first bounded from a sample of 32 points (:func:`precheck`), before every point is built.
A refusal is a ``ValueError`` with the estimate and a hint (``chunk_size``, fewer times, points
or sizes), naming the parameter that sets the largest input's size where one does.
"""

from __future__ import annotations

import dataclasses
import sys
import time

import numpy as np

from ..memory import available_bytes, host_available_bytes
from .chunks import abstract_inputs, chunk_function, input_leaves, shared_inputs_of
from .model import static_key

__all__ = ["Estimate", "check_fits", "precheck", "grows_with"]

_PLAN_BYTES_PER_POINT = 600  # measured 522 B (peak RSS, 200k points): grid, models, plan
_LARGE = 1 << 30               # print the estimate from 1 GiB (or 100k points) on


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB" if n >= 2**27 else f"{n / 2**20:.3g} MiB"


@dataclasses.dataclass(frozen=True)
class Estimate:
    """What a sweep will cost, known before anything is allocated or compiled."""

    n_points: int
    chunk_size: int
    chunk_bytes: int      # one chunk: inputs, outputs and the largest array of its program
    output_bytes: int     # every output of every point (the store, and the dataset in memory)
    plan_bytes: int       # the validated points and the plan
    exact: bool           # False: a lower bound from a sample of points
    plan_seconds: float = 0.0  # building and validating every point (from the sample)
    culprit: str = ""     # what sets the size of the largest input, if a parameter does

    @classmethod
    def of(cls, spec, shapes, peak, exact, plan_seconds=0.0, culprit=""):
        row = sum(int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize
                  for shape, dtype in shapes.values())
        return cls(spec.n_points, spec.chunk_size, int(peak), spec.n_points * row,
                   spec.n_points * _PLAN_BYTES_PER_POINT, exact, plan_seconds, culprit)

    def describe(self) -> str:
        bound = "" if self.exact else "at least "
        return (f"{self.n_points:,} points in chunks of {self.chunk_size}: {bound}"
                f"{_gib(self.chunk_bytes)} per chunk, {bound}{_gib(self.output_bytes)} of "
                f"output, ~{_gib(self.plan_bytes)} to plan"
                + (f" (~{self.plan_seconds:.0f} s)" if self.plan_seconds >= 1 else ""))


def check_fits(estimate: Estimate, progress: bool):
    """``ValueError`` when the sweep cannot fit this machine; print large estimates."""
    host, device = host_available_bytes(), available_bytes()[0]
    hint = ("reduce the points, the times (n_times) or the sizes of the sweep, or split it "
            "into several sweeps")
    culprit = f"; {estimate.culprit}" if estimate.culprit else ""
    if estimate.chunk_bytes > device:
        raise ValueError(
            f"sweep too large for this machine: {estimate.describe()}, but only "
            f"{_gib(device)} is available for a chunk; lower chunk_size (on the command line: "
            f"--set chunk_size=N), or "
            f"{hint}{culprit}")
    if estimate.output_bytes + estimate.plan_bytes > host:
        raise ValueError(
            f"sweep too large for this machine: {estimate.describe()}, but only "
            f"{_gib(host)} of memory is available; {hint}{culprit}")
    if progress and (max(estimate.chunk_bytes, estimate.output_bytes) >= _LARGE
                     or estimate.n_points >= 100_000):
        print(f"sweep estimate: {estimate.describe()} ({_gib(host)} available)",
              file=sys.stderr)


def grows_with(spec, inputs: dict) -> str:
    """Which integer parameter sets the longest axis of the largest input, in words ("" when
    none does): e.g. ``dim=10000000`` for a state of ten million dimensions."""
    if not inputs:
        return ""
    name, largest = max(input_leaves(inputs).items(), key=lambda item: _nbytes(item[1]))
    dims = tuple(int(n) for n in largest.shape[1:])  # past the chunk axis
    if not dims or max(dims) < 2:
        return ""
    values = {f.name: getattr(spec.model, f.name) for f in dataclasses.fields(spec.model)}
    for axis, axis_values in spec.axes:  # an axis at its largest value
        ints = [int(x) for x in axis_values if _int_or_none(x) is not None]
        values[axis] = max(ints) if ints else None
    match = [f"{k}={int(v)}" for k, v in values.items()
             if _int_or_none(v) is not None and int(v) == max(dims)]
    if not match:
        return ""
    return (f"the largest input, {name!r} of shape {tuple(largest.shape)} "
            f"({np.dtype(largest.dtype).name}) per chunk, grows with {' or '.join(match)}")


def _int_or_none(value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        return None
    return int(value)


def _nbytes(value) -> int:
    return int(np.prod(value.shape, dtype=np.float64)) * np.dtype(value.dtype).itemsize


def precheck(spec, progress: bool, sample: int = 32):
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
    start = time.perf_counter()
    models = [dataclasses.replace(spec.model, **p) for p in points]  # validates the sample
    per_point = (time.perf_counter() - start) / len(models)
    layout = spec.model.layout(models)
    row, peak, culprit = {}, 0, ""
    for model in models[:1]:  # one group suffices for a lower bound; tracing is the cost
        key = static_key(model)
        inputs = abstract_inputs(model, layout, spec.chunk_size)
        shared = shared_inputs_of(type(model), key, layout)
        fn = chunk_function(type(model), key)
        got = fn.eval_shape(inputs, shared)
        row = {n: (s.shape[1:], np.dtype(s.dtype)) for n, s in got.items()}
        peak = max(peak, fn.peak_bytes(inputs, shared))
        culprit = grows_with(spec, inputs)
    # validation is most of planning; the grid's dicts and the plan about double it
    check_fits(Estimate.of(spec, row, peak, exact=False,
                           plan_seconds=2 * per_point * spec.n_points, culprit=culprit),
               progress)
