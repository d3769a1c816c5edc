"""Private helpers shared by the objective modules: working dtype, guarded norms, hyper-parameter
checks that stay out of the way of tracing, and the collapse monitor logged by every loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from minimal_models import validation as check


def work_dtype(*arrays):
    """float32 at least: bf16/f16 inputs are promoted because the spec asks for float32 losses
    under bf16 compute (SVD, logdet, trig terms); float32 and float64 inputs stay as they are."""
    dt = jnp.result_type(*arrays)
    if not jnp.issubdtype(dt, jnp.floating):
        dt = jnp.float32
    return jnp.promote_types(dt, jnp.float32)


def as_work(*arrays):
    dt = work_dtype(*arrays)
    out = tuple(jnp.asarray(a, dtype=dt) for a in arrays)
    return out if len(out) > 1 else out[0]


def is_traced(value) -> bool:
    # a jax array (concrete or tracer) is accepted unchecked: schedules pass traced scalars
    return isinstance(value, jax.Array)


def real(name, value, **kw):
    return value if is_traced(value) else check.real(name, value, **kw)


def positive(name, value):
    return value if is_traced(value) else check.positive(name, value)


def integer(name, value, *, minimum=None):
    return check.integer(name, value, minimum=minimum)


def choice(name, value, allowed):
    return check.choice(name, value, allowed)


def require_batch(objective: str, n: int, minimum: int):
    """Refuse a batch of ``n`` samples (per view) that ``objective`` cannot score: below
    ``minimum`` its batch statistics (variances, negatives, spreads) are undefined, and the
    arithmetic would return NaN or a number with no meaning instead."""
    if n < minimum:
        raise ValueError(f"{objective} needs a batch of N >= {minimum} samples, got N={n}")


def shape_error(name, arr, expected: str):
    raise ValueError(f"{name} must have shape {expected}, got {tuple(jnp.shape(arr))}")


def require_ndim(name, arr, ndim: int, expected: str):
    if jnp.ndim(arr) != ndim:
        shape_error(name, arr, expected)


def safe_sqrt(x, tiny):
    """sqrt that is exactly 0 with zero (not NaN) gradient where x <= tiny."""
    ok = x > tiny
    return jnp.where(ok, jnp.sqrt(jnp.where(ok, x, 1.0)), 0.0)


def safe_norm(x, axis=-1, keepdims=False):
    """Euclidean norm with a finite gradient at x = 0 (where the gradient is set to 0)."""
    sq = jnp.sum(x * x, axis=axis, keepdims=keepdims)
    return safe_sqrt(sq, 0.0)


def l2_normalize(x, eps=1e-12, axis=-1):
    """x / max(||x||, eps) (torch.nn.functional.normalize convention), finite gradient at 0."""
    return x / jnp.maximum(safe_norm(x, axis=axis, keepdims=True), eps)


def std_l2(z):
    """Collapse monitor: mean_d of the unbiased batch std of the L2-normalised rows
    (lightly's ``std_of_l2_normalized``); about 1/sqrt(D) when healthy, 0 when collapsed."""
    z = jnp.reshape(z, (-1, z.shape[-1]))
    zn = l2_normalize(z)
    n = zn.shape[0]
    if n < 2:
        return jnp.zeros((), zn.dtype)
    return jnp.mean(jnp.std(zn, axis=0, ddof=1))


def finish(loss, logs):
    """Attach the total to the logs and stop gradients through every log entry."""
    logs = dict(logs)
    logs["loss"] = loss
    return loss, {k: jax.lax.stop_gradient(jnp.asarray(v)) for k, v in logs.items()}


def jit_loss(fn):
    """Compile a public loss as one XLA program (eager op-by-op dispatch of these many small
    ops is several times slower).  ``equinox.filter_jit``: arrays are traced, everything else
    (strings, Python numbers, tuples, modules' static parts) is static, so a hyper-parameter
    that changes every step (a warm-up) should be passed as a jax array.  Argument checks run
    at trace time and still raise ``ValueError``."""
    import equinox as eqx

    return eqx.filter_jit(fn)
