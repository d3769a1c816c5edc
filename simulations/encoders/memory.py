"""A training run's memory, estimated before anything is allocated or compiled.

A run that cannot fit should be refused in a second with a hint, not after a minute of
compilation with ``RESOURCE_EXHAUSTED``.  The estimate, per device, is

    M = (1 + 1 + 2 + e) P + X + A,

with P the bytes of the trainable parameters (the parameters, their gradient, AdamW's two
moments and ``e = 1`` for an EMA target encoder), X the train set placed on the device and A
the activations of one step: :func:`activation_bytes` of the traced forward pass (encoder and
loss on the ``n_views x batch_size`` views), times :data:`BACKWARD_FACTOR` for the buffers the
backward pass holds at its peak.  It is a rough, deliberately generous-to-the-user estimate
(RECONSTRUCTION of what XLA allocates): a run is refused only when the estimate exceeds what
the device has free.  The free memory and the walk over the traced program are those of
:mod:`simulations.memory`, shared with the sweep budget.
"""

from __future__ import annotations

import dataclasses

from ..memory import aval_bytes, jaxprs

__all__ = ["TrainMemory", "activation_bytes", "BACKWARD_FACTOR"]

#: residuals kept for the backward pass plus the cotangents alive at its peak, relative to the
#: outputs of the materialising forward operations (checked against XLA's own
#: ``memory_analysis`` on CPU in tests/test_train.py)
BACKWARD_FACTOR = 2.0

# operations whose outputs XLA materialises (elementwise ones are fused into them)
_MATERIALISING = {"conv_general_dilated", "dot_general", "gather", "concatenate", "pad",
                  "sort", "cumsum", "cumprod", "cummax", "cumlogsumexp", "argsort",
                  "reduce_precision", "dynamic_slice", "dynamic_update_slice", "transpose",
                  "select_and_gather_add", "select_and_scatter_add", "scatter-add", "scatter"}


def activation_bytes(jaxpr) -> int:
    """Bytes of the outputs of the materialising operations (convolutions, matrix products,
    reduce-windows, gathers, ...) of a (closed) jaxpr, recursing into sub-jaxprs; a loop body
    counts once per iteration it keeps (``scan`` length)."""
    total = 0
    for inner, repeat in jaxprs(jaxpr):
        for eqn in inner.eqns:
            name = eqn.primitive.name
            if name in _MATERIALISING or name.startswith("reduce_window"):
                total += repeat * sum(aval_bytes(v) for v in eqn.outvars)
    return total


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
