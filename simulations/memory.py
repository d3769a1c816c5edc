r"""Memory, known before anything is allocated or compiled: what the machine has free, and what a
traced program holds.

One estimator serves the two places that refuse work that cannot fit: the sweep budget
(:mod:`simulations.sweep.budget`: one chunk's inputs, outputs and largest array) and the
training estimate (:mod:`simulations.encoders.memory`: parameters, optimiser state, train set
and activations).  Both read the free memory with :func:`available_bytes` and walk a traced
program (a jaxpr, nested loops and branches included) with :func:`jaxprs`; what each counts in
the walk is its own rule (the largest array here, the materialised activations of a training
step there).

Nothing here changes JAX's precision: the encoder package imports this module and must stay in
the precision its configuration picks.
"""

from __future__ import annotations

import math
import os
from typing import Iterator

__all__ = ["host_available_bytes", "available_bytes", "aval_bytes", "jaxprs",
           "largest_array_bytes"]


def host_available_bytes() -> int:
    """Bytes the host can still give this process (``MemAvailable``; else free physical pages)."""
    return _host()[0]


def _host() -> tuple[int, str]:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "available host memory"
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "free host memory"


def available_bytes(device=None) -> tuple[int, str]:
    """Free memory of ``device`` (default: JAX's first device) and what it is: an accelerator's
    ``bytes_limit - bytes_in_use``, or the host's available memory for a CPU device (whose
    arrays live in host memory)."""
    import jax

    device = jax.devices()[0] if device is None else device
    try:
        stats = device.memory_stats()
    except Exception:  # CPU backends may not implement it
        stats = None
    if stats and stats.get("bytes_limit"):
        return (int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0)),
                f"{device.platform} device memory")
    return _host()


def aval_bytes(value) -> int:
    """Bytes of an abstract value (a jaxpr variable, its ``aval``, a ``ShapeDtypeStruct`` or an
    array); 0 for what has no plain shape and dtype (tokens, PRNG key arrays)."""
    value = getattr(value, "aval", value)
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is None or dtype is None:
        return 0
    import numpy as np

    try:
        itemsize = np.dtype(dtype).itemsize
    except TypeError:  # extended dtypes (PRNG keys): negligible
        return 0
    try:
        return math.prod(int(n) for n in shape) * itemsize
    except TypeError:  # a symbolic dimension
        return 0


def _sub_jaxprs(params) -> Iterator:
    """The jaxprs an equation holds in its parameters (loop bodies, branches, calls)."""
    for value in params.values():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if hasattr(item, "eqns") or hasattr(getattr(item, "jaxpr", None), "eqns"):
                yield item


def jaxprs(jaxpr, repeat: int = 1) -> Iterator[tuple]:
    """Every jaxpr of a traced program, outermost first, as ``(jaxpr, repeat)``: ``repeat`` is
    how many times its body runs with its arrays all kept (the product of the lengths of the
    ``scan`` loops around it; a ``while`` body reuses its buffers and counts once)."""
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)  # a ClosedJaxpr holds its Jaxpr
    yield jaxpr, repeat
    for eqn in jaxpr.eqns:
        inner = repeat * (int(eqn.params.get("length", 1)) if eqn.primitive.name == "scan"
                          else 1)
        for sub in _sub_jaxprs(eqn.params):
            yield from jaxprs(sub, inner)


def largest_array_bytes(jaxpr) -> int:
    """Bytes of the largest array a traced program creates, nested loops and branches
    included: a lower bound on what XLA must allocate, found without compiling."""
    largest = 0
    for inner, _ in jaxprs(jaxpr):
        for var in list(inner.invars) + list(inner.outvars):
            largest = max(largest, aval_bytes(var))
        for eqn in inner.eqns:
            for var in eqn.outvars:
                largest = max(largest, aval_bytes(var))
    return largest
