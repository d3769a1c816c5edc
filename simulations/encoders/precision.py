"""Training precision: every parameter, activation and loss in the dtype the config asks for.

Theory code runs in float64 (``minimal_models.precision.require_x64``) and JAX's x64 switch is
process-wide, so a training step must not depend on it: with x64 on, ``jnp.asarray(0.5)`` or
``jax.random.normal(key, shape)`` default to float64 and would silently promote a float32
network.  This module never turns x64 on or off; it casts explicitly instead:

- parameters are stored in ``param_dtype`` (float32 master weights by default, also under bf16);
- the forward pass runs in ``compute_dtype`` (float32 or bfloat16): inputs and a cast copy of the
  parameters are in that dtype, so every activation is;
- losses and the regularisers' statistics are evaluated in float32 (spec
  ``ssl_objectives_and_metrics.md`` §5: "training losses in float32 even under bf16 compute").
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = ["DTYPES", "as_dtype", "cast_floating"]

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def as_dtype(name: str):
    """The JAX dtype named ``name`` (float32 or bfloat16); float64 is refused for training."""
    if name not in DTYPES:
        raise ValueError(f"dtype={name!r} is not one of {sorted(DTYPES)}")
    return DTYPES[name]


def cast_floating(tree, dtype):
    """Cast every floating-point array leaf of ``tree`` to ``dtype`` (integers, keys and
    non-array leaves untouched)."""
    def cast(leaf):
        if eqx.is_array(leaf) and jnp.issubdtype(leaf.dtype, jnp.floating):
            return leaf.astype(dtype)
        return leaf

    return jax.tree.map(cast, tree)
