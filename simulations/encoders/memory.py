"""A training run's memory, estimated before anything is allocated or compiled.

A run that cannot fit should be refused in a second with a hint, not after a minute of
compilation with ``RESOURCE_EXHAUSTED`` (issue 17 §4).  The estimate, per device, is

    M = (1 + 1 + 2 + e) P + X + A,

with P the bytes of the trainable parameters (the parameters, their gradient, AdamW's two
moments and ``e = 1`` for an EMA target encoder), X the train set placed on the device and A
the activations of one step: :func:`activation_bytes` of the traced forward pass (encoder and
loss on the ``n_views x batch_size`` views), times :data:`BACKWARD_FACTOR` for the buffers the
backward pass holds at its peak.  It is a rough, deliberately generous-to-the-user estimate
(RECONSTRUCTION of what XLA allocates): a run is refused only when the estimate exceeds what
the device has free.
"""

from __future__ import annotations

import dataclasses
import os

import jax
import numpy as np
from jax.extend import core as _jcore

__all__ = ["TrainMemory", "activation_bytes", "available_bytes", "BACKWARD_FACTOR"]

#: residuals kept for the backward pass plus the cotangents alive at its peak, relative to the
#: outputs of the materialising forward operations (checked against XLA's own
#: ``memory_analysis`` on CPU in tests/test_train.py)
BACKWARD_FACTOR = 2.0

# operations whose outputs XLA materialises (elementwise ones are fused into them)
_MATERIALISING = {"conv_general_dilated", "dot_general", "gather", "concatenate", "pad",
                  "sort", "cumsum", "cumprod", "cummax", "cumlogsumexp", "argsort",
                  "reduce_precision", "dynamic_slice", "dynamic_update_slice", "transpose",
                  "select_and_gather_add", "select_and_scatter_add", "scatter-add", "scatter"}


def _nbytes(aval) -> int:
    shape = getattr(aval, "shape", None)
    dtype = getattr(aval, "dtype", None)
    if shape is None or dtype is None:
        return 0
    try:
        itemsize = np.dtype(dtype).itemsize
    except TypeError:  # PRNG key arrays and other extended dtypes: negligible
        return 0
    return int(np.prod(shape, dtype=np.int64)) * itemsize


def _sub_jaxprs(params):
    for value in params.values():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(item, _jcore.ClosedJaxpr):
                yield item.jaxpr
            elif isinstance(item, _jcore.Jaxpr):
                yield item


def activation_bytes(jaxpr) -> int:
    """Bytes of the outputs of the materialising operations (convolutions, matrix products,
    reduce-windows, gathers, ...) of a (closed) jaxpr, recursing into sub-jaxprs; a loop body
    counts once per iteration it keeps (``scan`` length)."""
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    total = 0
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if name in _MATERIALISING or name.startswith("reduce_window"):
            total += sum(_nbytes(v.aval) for v in eqn.outvars)
        inner = sum(activation_bytes(j) for j in _sub_jaxprs(eqn.params))
        total += inner * (int(eqn.params.get("length", 1)) if name == "scan" else 1)
    return total


def available_bytes(device=None) -> tuple[int, str]:
    """Free memory of ``device`` (default: the first) and a description: the accelerator's
    ``bytes_limit - bytes_in_use``, or the host's ``MemAvailable`` for CPU devices."""
    device = jax.devices()[0] if device is None else device
    stats = None
    try:
        stats = device.memory_stats()
    except Exception:  # CPU backends may not implement it
        stats = None
    if stats and "bytes_limit" in stats:
        return (int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0)),
                f"{device.platform} device memory")
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "available host memory"
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "free host memory"


def _gib(n) -> str:
    return f"{n / 2**30:.3g} GiB"


@dataclasses.dataclass(frozen=True)
class TrainMemory:
    """A run's estimated memory per device, in bytes (see the module docstring)."""

    params: int          # P: trainable parameters
    optimiser: int       # gradient, AdamW moments, EMA target
    data: int            # X: the train set on the device
    activations: int     # BACKWARD_FACTOR x forward activations of one step
    batch_size: int
    available: int
    where: str

    @property
    def total(self) -> int:
        return self.params + self.optimiser + self.data + self.activations

    def describe(self) -> str:
        return (f"estimated {_gib(self.total)} per device (parameters {_gib(self.params)}, "
                f"gradient and optimiser state {_gib(self.optimiser)}, train set "
                f"{_gib(self.data)}, activations {_gib(self.activations)} at "
                f"batch_size={self.batch_size}); {self.where}: {_gib(self.available)}")

    def max_batch_size(self) -> int:
        """The largest batch that fits, activations being linear in the batch."""
        room = self.available - (self.params + self.optimiser + self.data)
        per_sample = self.activations / max(self.batch_size, 1)
        return int(room // per_sample) if per_sample > 0 and room > 0 else 0

    def check(self) -> None:
        """``ValueError`` with a hint when the run cannot fit."""
        if self.total <= self.available:
            return
        fits = self.max_batch_size()
        hint = (f"use batch_size <= {fits}" if fits >= 2 else
                "the parameters and train set alone do not fit: use a smaller encoder "
                "(width, out_dim) or a smaller data set")
        raise ValueError(f"batch_size={self.batch_size}: this run cannot fit: "
                         f"{self.describe()}; {hint}")
