"""The training loop: optax AdamW with linear warm-up + cosine, global-norm clipping per method,
several steps per dispatch (``lax.scan``), the batch sharded over every visible device,
seeded and reproducible, resumable checkpoints, a progress bar, and metrics as an
``xarray.Dataset``.

PRNG.  Keys use ``config.prng_impl`` ("rbg" by default: XLA's RngBitGenerator; on this CPU
build each threefry sampling site adds ~10 s of compile time, rbg ~0.5 s).  rbg streams are
reproducible on a given backend and device count, not across them; use "threefry2x32" for
streams that are.

Reproducibility.  Everything random in step ``t`` -- the batch (an epoch-wise permutation of
the train set), the augmentations, SIGReg directions, the log-det projections -- is a function
of ``(seed, t)`` (``jax.random.fold_in``), so a run resumed from a checkpoint computes the same
steps as an uninterrupted one and ends with bit-identical parameters (tested).

Checkpoints (on by default).  With an ``out_dir``, a checkpoint is written after the first
dispatch, then whenever the time since the last one reaches min(training time so far,
``config.checkpoint_seconds`` = 60 s) -- intervals that double up to a minute, so a kill loses
at most half the work done so far and never more than a minute, for O(log) extra writes --
plus every ``config.checkpoint_every`` steps if set, and at the end.  A killed run resumes from
the last one (``train`` with the same ``out_dir``) to bit-identical final parameters (tested
with SIGKILL at a random step).  A checkpoint (:mod:`simulations.encoders.checkpoint`) holds
the training state (:class:`Carry`: trainable arrays, encoder state, optimiser state, step,
EMA target), the metrics logged so far and the configuration it belongs to, under a checksum;
it is written atomically beside the previous one and verified on load: a damaged one falls
back to the previous one, a checkpoint or ``config.json`` of another configuration is
refused.  The checkpoint settings are not part of a run's identity (they may change).

Memory.  Before anything is initialised, compiled or written, the run's memory is estimated
(:mod:`simulations.encoders.memory`: parameters, optimiser state, train set and the traced
activations of one step) and a run that cannot fit on the device is refused with a
``ValueError`` suggesting a batch size that fits.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import time
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr
from jax.sharding import NamedSharding, PartitionSpec

from simulations import compile_cache
from simulations.artifacts import atomic_write

from . import checkpoint as _checkpoint
from .augment import make_augment
from .config import TrainConfig
from .metrics import metrics_dataset
from ..memory import available_bytes
from .memory import BACKWARD_FACTOR, TrainMemory, activation_bytes
from .data import Dataset, load_dataset
from .networks import apply_encoder, build_encoder
from .precision import as_dtype, cast_floating

__all__ = ["TrainResult", "Carry", "train", "prepare", "make_schedule", "make_optimizer",
           "encode", "estimate_memory", "CHECKPOINT", "METRICS"]

CHECKPOINT = _checkpoint.CHECKPOINT
METRICS = "metrics.nc"


class Carry(NamedTuple):
    """The training state threaded through the steps (and saved in a checkpoint)."""

    params: object        # trainable arrays of (encoder, objective module)
    state: object         # the encoder's state (BatchNorm statistics)
    opt_state: object     # the optimiser's state
    step: jax.Array       # int32 steps done
    target: object        # the EMA target encoder's arrays (BYOL), else None


@dataclasses.dataclass
class TrainResult:
    """The trained encoder (parameters in ``param_dtype``), its state, the objective's own
    trainable module (or None), the metrics Dataset, the data and the config; ``n_traces`` is
    how often the dispatch function was traced in this call (1 when it compiled once, 0 when
    a run of the same configuration with another seed had compiled it already)."""

    config: TrainConfig
    encoder: eqx.Module
    state: eqx.nn.State
    objective_module: eqx.Module | None
    metrics: xr.Dataset
    data: Dataset
    n_traces: int


def make_schedule(config: TrainConfig):
    """Linear warm-up from ``warmup_start`` x lr to lr over ``warmup_frac`` of the steps, then
    cosine decay to ``min_lr_ratio`` x lr at the last step (the author's LinearLR + cosine)."""
    warmup = config.warmup_steps
    return optax.warmup_cosine_decay_schedule(
        init_value=config.warmup_start * config.lr, peak_value=config.lr,
        warmup_steps=warmup, decay_steps=max(config.steps, warmup + 1),
        end_value=config.min_lr_ratio * config.lr)


def make_optimizer(config: TrainConfig):
    """AdamW (one parameter group, decoupled weight decay on every parameter, as the authors'
    torch.optim.AdamW) after optional global-norm clipping (:attr:`TrainConfig.clip`)."""
    adamw = optax.adamw(make_schedule(config), b1=config.beta1, b2=config.beta2, eps=1e-8,
                        weight_decay=config.weight_decay)
    clip = config.clip
    return adamw if clip is None else optax.chain(optax.clip_by_global_norm(clip), adamw)


def _mesh():
    devices = jax.devices()
    return jax.sharding.Mesh(np.asarray(devices), ("data",)), len(devices)


def _init(config: TrainConfig, data: Dataset):
    """Fresh trainable arrays, static structure, encoder state and optimiser."""
    pdt = as_dtype(config.param_dtype)
    root = jax.random.key(config.seed, impl=config.prng_impl)
    k_enc, k_obj = jax.random.split(jax.random.fold_in(root, 1))
    encoder, state = build_encoder(config.encoder_name, input_shape=data.sample_shape,
                                   key=k_enc, dtype=pdt, norm=config.norm_name,
                                   out_dim=config.out_dim, width=config.width)
    dummy = jax.ShapeDtypeStruct((2, *data.sample_shape), pdt)
    shapes, _ = eqx.filter_eval_shape(apply_encoder, encoder, state, dummy)
    sample_shapes = {k: v.shape[1:] for k, v in shapes.items()}
    module = config.training_objective.init(k_obj, sample_outputs=sample_shapes, dtype=pdt)
    dyn, static = eqx.partition((encoder, module), eqx.is_inexact_array)
    return dyn, static, state, make_optimizer(config)


def _initial_carry(config, dyn, mstate, optimizer) -> Carry:
    target = jax.tree.map(jnp.copy, dyn[0]) if config.training_objective.uses_target else None
    return Carry(dyn, mstate, optimizer.init(dyn), jnp.zeros((), jnp.int32), target)


# One compiled dispatch per (configuration without its seed, data layout): runs that differ only
# in the seed (the seeds of an experiment) share it, since the PRNG root is an argument.  The
# cache is bounded: each compiled training program keeps XLA code mapped into memory (a few
# hundred memory maps each), so a process that trains many configurations -- a learning-rate
# grid, the test suite -- would otherwise reach the kernel's map limit (vm.max_map_count,
# 65,530 by default) and crash with a segfault inside the next compile.
DISPATCH_CACHE_SIZE = 8
_DISPATCH_CACHE: collections.OrderedDict = collections.OrderedDict()


def _dispatch_key(config: TrainConfig, data: Dataset):
    # the identity: seeds and checkpoint settings share one compiled program
    identity = json.dumps(dataclasses.replace(config, seed=0).identity(), sort_keys=True)
    objective = config.training_objective
    # the registry entry and recipe themselves: a name re-registered with another function
    # must not reuse the compiled step of the old one
    return (identity, objective.entry, objective.recipe, data.name, data.x_train.shape,
            str(data.x_train.dtype), float(data.scale), np.asarray(data.mean).tobytes(),
            np.asarray(data.std).tobytes(), data.augment, len(jax.devices()))


def _build_dispatch(config: TrainConfig, data: Dataset, static, optimizer, mesh):
    """``(jit(dispatch), counter)`` with ``dispatch(carry, x_train, root)``, cached per
    :func:`_dispatch_key`; ``counter["traces"]`` counts its compilations."""
    key = _dispatch_key(config, data)
    if key in _DISPATCH_CACHE:
        _DISPATCH_CACHE.move_to_end(key)
    else:
        _DISPATCH_CACHE[key] = _new_dispatch(config, data, static, optimizer, mesh)
        while len(_DISPATCH_CACHE) > DISPATCH_CACHE_SIZE:   # least recently used first
            _DISPATCH_CACHE.popitem(last=False)
    return _DISPATCH_CACHE[key]


def _new_dispatch(config: TrainConfig, data: Dataset, static, optimizer, mesh):
    cdt = as_dtype(config.dtype)
    n_views, batch = config.n_views, config.batch_size
    n_train = data.x_train.shape[0]
    per_epoch = n_train // batch
    augment_name = data.augment if config.augment == "auto" else config.augment
    augment = make_augment(augment_name, n_views, mean=data.mean, std=data.std)
    schedule = make_schedule(config)
    shard_rows = NamedSharding(mesh, PartitionSpec("data"))
    scale = float(data.scale)
    counter = {"traces": 0}

    ema_tau = config.training_objective.ema_tau(total_steps=config.steps)

    def one_step(carry: Carry, x_train, root):
        loss_obj = _loss_of(config, root)
        k_data, k_step = jax.random.fold_in(root, 2), jax.random.fold_in(root, 3)
        dyn, mstate, opt_state, step, target = carry
        # batch: a fresh permutation of the train set per epoch, consecutive slices of it
        perm = jax.random.permutation(jax.random.fold_in(k_data, step // per_epoch), n_train)
        idx = jax.lax.dynamic_slice(perm, ((step % per_epoch) * batch,), (batch,))
        k_aug, k_loss = jax.random.split(jax.random.fold_in(k_step, step))
        x = x_train[idx].astype(cdt) / jnp.asarray(scale, cdt)
        views = augment(k_aug, x)                                 # (V, B, ...)
        flat = views.reshape((n_views * batch, *views.shape[2:]))
        flat = jax.lax.with_sharding_constraint(flat, shard_rows)

        views_of = _views_of(n_views, batch)
        target_out = None
        if target is not None:  # BYOL: the EMA encoder's outputs, no gradient
            target_enc = eqx.combine(jax.lax.stop_gradient(target), static[0])
            target_out, _ = apply_encoder(cast_floating(target_enc, cdt), mstate, flat)
            target_out = views_of(target_out)

        def loss_fn(dyn_):
            encoder, module = eqx.combine(dyn_, static)
            out, new_state = apply_encoder(cast_floating(encoder, cdt), mstate, flat)
            loss, logs = loss_obj(module, views_of(out), key=k_loss, step=step,
                                  target_outputs=target_out)
            return loss.astype(jnp.float32), (logs, new_state)

        (loss, (logs, new_state)), grads = jax.value_and_grad(loss_fn, has_aux=True)(dyn)
        updates, opt_state = optimizer.update(grads, opt_state, dyn)
        dyn = optax.apply_updates(dyn, updates)
        if target is not None:
            from minimal_models.objectives.predictive import ema_update

            tau = ema_tau(step)
            target = jax.tree.map(lambda t, o: t.astype(o.dtype),
                                  ema_update(target, dyn[0], tau.astype(jnp.float32)), dyn[0])
        logs = {k: jnp.asarray(v, jnp.float32) for k, v in logs.items()}
        logs.update(loss=loss, grad_norm=optax.tree.norm(grads).astype(jnp.float32),
                    lr=jnp.asarray(schedule(step), jnp.float32))
        return Carry(dyn, new_state, opt_state, step + 1, target), logs

    def dispatch(carry, x_train, root):
        counter["traces"] += 1  # runs only while tracing: counts compilations
        if config.steps_per_dispatch == 1:
            # no loop: XLA:CPU runs convolutions inside a while loop ~10x slower (measured on
            # the ResNet token encoder), so one step per dispatch is the fast path on CPU
            carry, logs = one_step(carry, x_train, root)
            return carry, jax.tree.map(lambda v: v[None], logs)
        return jax.lax.scan(lambda c, _: one_step(c, x_train, root), carry, None,
                            length=config.steps_per_dispatch)

    return jax.jit(dispatch, donate_argnums=0), counter


def _loss_of(config, root):
    return config.training_objective.loss(total_steps=config.steps,
                                          ld_key=jax.random.fold_in(root, 4))


def _views_of(n_views, batch):
    def views_of(out):
        return {k: v.reshape((n_views, batch, *v.shape[1:])) for k, v in out.items()}
    return views_of


def estimate_memory(config: TrainConfig, data: Dataset) -> TrainMemory:
    """The run's memory per device, estimated without allocating or compiling anything
    (abstract initialisation and a traced forward pass): see :mod:`simulations.encoders.memory`.
    ``estimate_memory(config, data).check()`` raises ``ValueError`` when it cannot fit."""
    key = _dispatch_key(config, data)
    if key not in _ESTIMATE_CACHE:   # tracing costs ~0.5-2 s; the seeds of a run share it
        _ESTIMATE_CACHE[key] = _static_estimate(config, data)
    params, optimiser, acts = _ESTIMATE_CACHE[key]
    free, where = available_bytes()
    return TrainMemory(params=params, optimiser=optimiser, data=int(data.x_train.nbytes),
                       activations=acts, batch_size=config.batch_size, available=free,
                       where=where)


_ESTIMATE_CACHE: dict = {}


def _static_estimate(config: TrainConfig, data: Dataset):
    """(parameter bytes, optimiser bytes, activation bytes) of a run, from abstract shapes."""
    n_dev = len(jax.devices())
    dyn, static, mstate, _ = eqx.filter_eval_shape(lambda: _init(config, data))
    leaves = jax.tree.leaves(dyn)
    params = sum(int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize for x in leaves)
    enc_params = sum(int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize
                     for x in jax.tree.leaves(dyn[0]))
    ema = enc_params if config.training_objective.uses_target else 0
    cdt = as_dtype(config.dtype)
    n_views, batch = config.n_views, config.batch_size
    views_of = _views_of(n_views, batch)

    def forward(dyn_, mstate_, flat, root):
        encoder, module = eqx.combine(dyn_, static)
        out, _ = apply_encoder(cast_floating(encoder, cdt), mstate_, flat)
        views = views_of(out)
        loss, _ = _loss_of(config, root)(module, views, key=jax.random.fold_in(root, 3),
                                          step=jnp.zeros((), jnp.int32),
                                          target_outputs=views if ema else None)
        return loss

    flat = jax.ShapeDtypeStruct((n_views * batch, *data.sample_shape), cdt)
    root = jax.eval_shape(lambda: jax.random.key(0, impl=config.prng_impl))
    jaxpr = jax.make_jaxpr(forward)(dyn, mstate, flat, root)
    # the batch is sharded over the devices: activations per device; the loss's own
    # batch-squared terms are on the full batch, so this under-counts those slightly
    acts = int(BACKWARD_FACTOR * (activation_bytes(jaxpr) + _nbytes_struct(flat)) / n_dev)
    return params, 3 * params + ema, acts


def _nbytes_struct(x) -> int:
    return int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize


def _write_text(path, text):
    with open(path, "w") as fh:
        fh.write(text)


def _place(config, data, static, optimizer, mesh, carry):
    # the persistent compilation cache, as for sweeps: a warm first dispatch takes seconds
    # instead of the 10-70 s of a cold compile (COLLAPSE_LAB_CACHE_DIR=off disables it)
    compile_cache.enable()
    replicated = NamedSharding(mesh, PartitionSpec())
    carry = jax.device_put(carry, replicated)
    x_train = jax.device_put(jnp.asarray(data.x_train), replicated)
    compiled, counter = _build_dispatch(config, data, static, optimizer, mesh)
    root = jax.random.key(config.seed, impl=config.prng_impl)

    def dispatch(carry, x):
        return compiled(carry, x, root)

    return dispatch, carry, x_train, counter


def prepare(config: TrainConfig, data: Dataset):
    """The pieces of a run without the host loop (for benchmarks): ``(dispatch, carry,
    x_train)``; ``carry, logs = dispatch(carry, x_train)`` runs ``steps_per_dispatch`` steps
    (the carry is donated)."""
    mesh, _ = _mesh()
    dyn, static, mstate, optimizer = _init(config, data)
    carry = _initial_carry(config, dyn, mstate, optimizer)
    dispatch, carry, x_train, _ = _place(config, data, static, optimizer, mesh, carry)
    return dispatch, carry, x_train


def train(config: TrainConfig, *, out_dir: str | None = None, data: Dataset | None = None,
          progress: bool = True, resume: bool = True, callback=None) -> TrainResult:
    """Train ``config``; with ``out_dir``, write ``config.json``, checkpoints (by time by
    default, see the module docstring; every ``checkpoint_every`` steps if set; at the end)
    and ``metrics.nc``; resume from an existing checkpoint there.  A run whose estimated
    memory (:func:`estimate_memory`) exceeds the device's is refused with ``ValueError``
    before anything is compiled or written.  ``callback(step, logs)`` runs after every
    dispatch (host side; an exception from it stops training after the last checkpoint).
    Returns a :class:`TrainResult`."""
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    identity = config.identity()
    if out_dir is not None:   # another run's directory is refused before any work
        _checkpoint.check_config_file(out_dir, identity)
    data = load_dataset(config.data, data_dir=config.data_dir, seed=config.seed) \
        if data is None else data
    n_train = data.x_train.shape[0]
    mesh, n_dev = _mesh()
    if config.batch_size > n_train:
        raise ValueError(f"batch_size={config.batch_size} exceeds the {n_train} training "
                         f"samples of data={config.data!r}")
    if config.batch_size % n_dev:
        raise ValueError(f"batch_size={config.batch_size} must be a multiple of the "
                         f"{n_dev} visible devices")
    memory = estimate_memory(config, data)
    memory.check()            # refuse before initialising, compiling or writing anything
    if progress and memory.total > 2**30:
        print(f"train: {memory.describe()}", flush=True)
    dyn, static, mstate, optimizer = _init(config, data)
    carry = _initial_carry(config, dyn, mstate, optimizer)
    history: dict[str, list] = {}

    if out_dir is not None:
        # verified before anything is written: a checkpoint of another configuration (even
        # with config.json gone) or a damaged one with no good predecessor is refused
        restored = _checkpoint.restore(out_dir, carry, identity) if resume else None
        os.makedirs(out_dir, exist_ok=True)
        cfg_path = os.path.join(out_dir, _checkpoint.CONFIG)
        if not os.path.exists(cfg_path):
            atomic_write(cfg_path, lambda tmp: _write_text(tmp, config.to_json()))
        if restored is not None:
            carry = restored.carry
            history = {k: list(v) for k, v in restored.history.items()}

    dispatch, carry, x_train, counter = _place(config, data, static, optimizer, mesh, carry)
    traces_before = counter["traces"]

    start = int(carry.step)
    status = "complete"
    t0 = time.perf_counter()
    last_save = None    # training seconds (since t0) when the last checkpoint was written

    def save(step):
        _checkpoint.save(out_dir, jax.device_get(carry), history, identity, step)

    try:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.steps, initial=start, disable=not progress, unit="step",
                   desc=f"{config.objective}/{config.data}")
        step = start
        while step < config.steps:
            carry, logs = dispatch(carry, x_train)
            logs = jax.device_get(logs)
            step += config.steps_per_dispatch
            steps = np.arange(step - config.steps_per_dispatch + 1, step + 1)
            history.setdefault("step", []).extend(steps.tolist())
            for k, v in logs.items():
                history.setdefault(k, []).extend(np.asarray(v).tolist())
            bar.update(config.steps_per_dispatch)
            bar.set_postfix(loss=f"{float(logs['loss'][-1]):.4g}")
            if not np.all(np.isfinite(logs["loss"])):
                status = "nonfinite_loss"
                break
            if out_dir is not None and step < config.steps and \
                    _checkpoint.checkpoint_due(config, step, time.perf_counter() - t0, last_save):
                save(step)
                last_save = time.perf_counter() - t0
            if callback is not None:
                callback(step, logs)
        bar.close()
    finally:
        wall = time.perf_counter() - t0
    done = int(carry.step)
    if out_dir is not None and status == "complete":
        save(done)
    metrics = metrics_dataset(config, history, status=status, wall=wall,
                               steps_done=done, steps_this_call=done - start)
    if out_dir is not None:
        atomic_write(os.path.join(out_dir, METRICS), lambda tmp: metrics.to_netcdf(tmp))
    encoder, module = eqx.combine(carry.params, static)
    return TrainResult(config, encoder, carry.state, module, metrics, data,
                       counter["traces"] - traces_before)


def encode(encoder, state, x, *, dtype="float32", batch_size: int = 512):
    """Features of standardised inputs ``x`` (n, ...) in inference mode (BatchNorm running
    statistics), as float32 numpy arrays: ``z``, ``q``, ``p`` (flattened) and ``pooled``."""
    cdt = as_dtype(dtype)
    model = eqx.nn.inference_mode(cast_floating(encoder, cdt))

    @eqx.filter_jit
    def run(m, s, xb):
        out, _ = apply_encoder(m, s, xb.astype(cdt))
        return {k: v.reshape(v.shape[0], -1).astype(jnp.float32) for k, v in out.items()
                if k != "tokens"}

    x = np.asarray(x)
    parts = []
    for i in range(0, len(x), batch_size):
        chunk = x[i:i + batch_size]
        pad = batch_size - len(chunk) if len(x) > batch_size else 0
        if pad:  # one compiled shape for every chunk
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], pad, axis=0)])
        out = jax.device_get(run(model, state, jnp.asarray(chunk)))
        parts.append({k: v[:len(v) - pad] for k, v in out.items()})
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
