"""An objective of the registry, resolved once for one training run.

The objectives and their names live in one registry,
:data:`minimal_models.objectives.registry.OBJECTIVES` (one definition serves the embedding-only
models and the encoders); the trainer's defaults per objective live in
:mod:`simulations.encoders.recipes`.  :func:`resolve_objective` looks a name up in both, once,
checks the run's options and returns a :class:`TrainingObjective`: everything the trainer needs
-- the function and its calling convention, the keywords of the run, the trainable parts that
belong to the adapter (the SimSiam/BYOL predictor head) or to the objective (HamJEPA's
potential), the gradient clipping, the EMA target's schedule, and the loss of encoder outputs
with its randomness and warm-ups.

:data:`OBJECTIVES` is the live registry restricted to the objectives an encoder can be trained
with (kinds :data:`TRAINABLE_KINDS`): the names ``collapse-lab train --objective`` accepts,
including objectives registered after this module was imported.

Encoder outputs ``outputs`` have leading axes (V, N): ``z`` (V, N, D), and ``q``, ``p``
(V, N, T, C) token halves for ``phase_space``.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import inspect
import math

import equinox as eqx
import jax
import jax.numpy as jnp

from minimal_models.objectives import hamjepa as _hj
from minimal_models.objectives import registry as _registry
from minimal_models.objectives.predictive import byol_tau
from minimal_models.objectives.registry import Objective

from .recipes import SMALL_DATA, Recipe, recipe_for

__all__ = ["OBJECTIVES", "TRAINABLE_KINDS", "TrainingObjective", "resolve_objective",
           "PredictorHead", "predictor_head"]

#: Calling conventions the encoder trainer can feed from encoder outputs.
TRAINABLE_KINDS = ("two_view", "views", "views_key", "predictor", "phase_space")

# keywords the trainer supplies itself (the loss's randomness) or that would replace it
_SUPPLIED = frozenset({"key", "directions", "projections"})


class _Trainable(collections.abc.Mapping):
    """The registry's trainable objectives, read live (never a copy made at import)."""

    def __getitem__(self, name):
        entry = _registry.OBJECTIVES[name]
        if entry.kind not in TRAINABLE_KINDS:
            raise KeyError(name)
        return entry

    def __iter__(self):
        return (n for n, e in _registry.OBJECTIVES.items() if e.kind in TRAINABLE_KINDS)

    def __len__(self):
        return sum(1 for _ in self)

    def __repr__(self):
        return f"trainable OBJECTIVES({sorted(self)})"


#: Objectives an encoder can be trained with, by their registry names (live).
OBJECTIVES: collections.abc.Mapping[str, Objective] = _Trainable()


class PredictorHead(eqx.Module):
    """SimSiam's predictor h: Linear(D, hidden) -> GELU -> Linear(hidden, D) (the official
    2048 -> 512 -> 2048 bottleneck without its BatchNorm; RECONSTRUCTION for small encoders)."""

    mlp: eqx.nn.MLP

    def __call__(self, z):
        return jax.vmap(self.mlp)(z)


def predictor_head(key, *, dim: int, hidden: int | None = None, dtype=jnp.float32):
    """SimSiam predictor for embeddings of size ``dim`` (hidden = dim / 4 by default)."""
    hidden = max(1, dim // 4) if hidden is None else int(hidden)
    return PredictorHead(eqx.nn.MLP(dim, dim, hidden, 1, activation=jax.nn.gelu, key=key,
                                    dtype=dtype))


@dataclasses.dataclass(frozen=True)
class TrainingObjective:
    """One objective resolved for one run: the registry ``entry``, its ``recipe``, and
    ``options``, every keyword of the run as (key, value) pairs (``recipe.defaults`` <
    ``small_defaults`` on small data < ``preset`` < the run's own options).  Hashable: the
    compiled training step is cached per resolved objective."""

    entry: Objective
    recipe: Recipe
    options: tuple

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def clip(self) -> float | None:
        """The method's own global-norm clipping (``TrainConfig(clip_norm="auto")``)."""
        return self.recipe.clip

    @property
    def uses_target(self) -> bool:
        """Whether the targets come from an EMA copy of the encoder (BYOL)."""
        return self.entry.target == "ema"

    @property
    def min_batch(self) -> int:
        return self.entry.min_batch

    def _split(self):
        opts = dict(self.options)
        trainer = self.recipe.trainer_options | ({"tau_base"} if self.uses_target else set())
        loss_kw = {k: v for k, v in opts.items()
                   if k not in trainer and k not in self.entry.init_keys}
        init_kw = {k: opts[k] for k in self.entry.init_keys if k in opts}
        return opts, loss_kw, init_kw

    def init(self, key, *, sample_outputs: dict, dtype=jnp.float32):
        """The trainable module of the adapter or the objective (or None), sized from one
        sample's encoder outputs (``sample_outputs``: name -> per-sample shape)."""
        entry = self.entry
        _, _, init_kw = self._split()
        if entry.kind == "predictor":
            return predictor_head(key, dim=math.prod(sample_outputs["z"]), dtype=dtype,
                                  **init_kw)
        if entry.init is None:
            return None
        d0 = math.prod(sample_outputs["q"])
        return entry.init(key, dim=d0 if entry.init_on == "q" else 2 * d0, dtype=dtype,
                          **init_kw)

    def loss(self, *, total_steps: int, ld_key=None):
        """``loss(module, outputs, *, key, step, target_outputs=None) -> (loss, logs)`` for
        encoder ``outputs`` with leading axes (V, N); ``key`` is the step's PRNG key, ``step``
        a traced int; ``target_outputs`` the EMA encoder's outputs (``target="ema"``).  With
        ``recipe.key_refresh`` the loss key is instead drawn from the fixed ``ld_key`` once per
        block of ``ld_refresh`` steps; with ``recipe.ramp`` that loss keyword ramps up over
        the first ``rs_warmup_frac`` of ``total_steps``."""
        entry, recipe = self.entry, self.recipe
        opts, loss_kw, _ = self._split()
        fn, kind = entry.fn, entry.kind
        refresh = int(opts.get("ld_refresh", _hj.LOGDET_REFRESH))
        ramp = None
        if recipe.ramp is not None:
            default = inspect.signature(fn).parameters[recipe.ramp].default
            ramp = _linear_ramp(float(loss_kw.pop(recipe.ramp, default)),
                                float(opts.get("rs_warmup_frac", 0.0)), total_steps)
        if ld_key is None:
            ld_key = jax.random.key(0)

        def loss(module, outputs, *, key, step, target_outputs=None):
            kw = dict(loss_kw)
            z = outputs.get("z")
            if kind in ("views", "views_key"):
                args = (z,)
            elif kind == "two_view":
                args = (z[0], z[1])
            elif kind == "predictor":
                t = z if entry.target == "online" else target_outputs["z"]
                args = (module(z[0]), module(z[1]), t[0], t[1])
            else:  # phase_space
                args = (module, outputs["q"], outputs["p"])
            if kind in ("views_key", "phase_space"):
                kw["key"] = (_hj.projection_key(ld_key, step, refresh=refresh)
                             if recipe.key_refresh else key)
            if ramp is not None:
                kw[recipe.ramp] = ramp(step)
            return fn(*args, **kw)

        return loss

    def ema_tau(self, *, total_steps: int):
        """``step -> tau`` of the EMA target (BYOL's cosine schedule from ``tau_base`` to 1,
        :func:`minimal_models.objectives.predictive.byol_tau`), or None without a target."""
        if not self.uses_target:
            return None
        tau_base = float(dict(self.options).get("tau_base",
                                                byol_tau.__kwdefaults__["tau_base"]))
        return lambda step: byol_tau(step, total_steps, tau_base=tau_base)


def _linear_ramp(base: float, warmup_frac: float, total_steps: int):
    """``step -> s``: a keyword ramped over ``warmup_frac`` of the run, the continuous form of
    HamJEPA's epoch ramp (:func:`minimal_models.objectives.hamjepa.residual_scale_schedule`
    with the 1-based step as its clock; RECONSTRUCTION of the per-epoch steps)."""
    if warmup_frac <= 0:
        return lambda step: base
    warmup = max(warmup_frac * total_steps, 1.0)
    return lambda step: _hj.residual_scale_schedule(
        (step + 1).astype(jnp.float32), residual_scale=base, warmup_epochs=warmup)


def _allowed(entry: Objective, recipe: Recipe) -> frozenset:
    allowed = (entry.loss_keywords() - _SUPPLIED) | set(entry.init_keys) | \
        recipe.trainer_options
    return allowed | ({"tau_base"} if entry.target == "ema" else set())


def resolve_objective(name: str, *, data: str, options=()) -> TrainingObjective:
    """Look ``name`` up once (the live registry and its recipe) and resolve the run's keywords
    on data set ``data`` (``options``: a dict or (key, value) pairs).  Refuses an objective an
    encoder cannot be trained with, keywords the objective does not take and an unknown
    ``preset`` (``ValueError`` naming them and what is allowed)."""
    trainable = sorted(OBJECTIVES)
    if name not in trainable:
        raise ValueError(f"objective={name!r} is not one of {trainable} (the objectives an "
                         "encoder can be trained with)")
    entry = _registry.OBJECTIVES[name]
    recipe = recipe_for(name)
    options = dict(options)
    allowed = _allowed(entry, recipe)
    unknown = set(options) - allowed
    if unknown:
        raise ValueError(f"objective_options {sorted(unknown)} are not keywords of objective "
                         f"{name!r}; allowed: {sorted(allowed)}")
    opts = dict(recipe.defaults)
    if data in SMALL_DATA:
        opts.update(recipe.small_defaults)
    if "preset" in options:
        opts.update(recipe.preset(options["preset"]))
    opts.update(options)
    return TrainingObjective(entry, recipe, tuple(opts.items()))
