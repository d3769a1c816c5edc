"""Adapter from a registered objective to a training loss of encoder outputs.

The objectives and their names live in one registry,
:data:`minimal_models.objectives.registry.OBJECTIVES` (one definition serves the embedding-only
models and the encoders); this module only says, per calling convention (``Objective.kind``),
which encoder outputs feed the function, builds the trainable parts that belong to the adapter
(the SimSiam/BYOL predictor head), supplies the randomness (SIGReg slices, HamJEPA's log-det
projections redrawn every ``ld_refresh`` steps), the HamJEPA residual-scale warm-up
(:func:`minimal_models.objectives.hamjepa.residual_scale_schedule`) and presets
(``preset="imagenet"``, :data:`minimal_models.objectives.hamjepa.HAMJEPA_PRESETS`), and
resolves the keyword defaults of a run: registry defaults < small-data sizes < preset < the
run's own options.

:data:`OBJECTIVES` here is the registry restricted to the objectives an encoder can be trained
with (kinds ``two_view``, ``views``, ``views_key``, ``predictor``, ``phase_space``): the names
``collapse-lab train --objective`` accepts.

Encoder outputs ``outputs`` have leading axes (V, N): ``z`` (V, N, D), and ``q``, ``p``
(V, N, T, C) token halves for ``phase_space``.
"""

from __future__ import annotations

import inspect

import equinox as eqx
import jax
import jax.numpy as jnp

from minimal_models.objectives import hamjepa as _hj
from minimal_models.objectives.predictive import byol_tau
from minimal_models.objectives.registry import OBJECTIVES as _REGISTRY
from minimal_models.objectives.registry import Objective

__all__ = ["ObjectiveEntry", "OBJECTIVES", "TRAINABLE_KINDS", "SMALL_DATA", "check_options",
           "resolve_options", "init_objective", "make_loss", "TRAINER_OPTIONS", "PredictorHead",
           "predictor_head", "ema_tau"]

#: Former name of a registry entry's class.
ObjectiveEntry = Objective

#: Calling conventions the encoder trainer can feed from encoder outputs.
TRAINABLE_KINDS = ("two_view", "views", "views_key", "predictor", "phase_space")

#: Objectives an encoder can be trained with, by their registry names.
OBJECTIVES = {n: e for n, e in _REGISTRY.items() if e.kind in TRAINABLE_KINDS}

#: Data sets that get an objective's ``small_defaults`` (spec ``hamiltonian_geometry.md`` §9).
SMALL_DATA = ("digits",)

# options consumed by the trainer (not passed to the objective function)
TRAINER_OPTIONS = {"rs_warmup_frac", "ld_refresh", "tau_base", "preset"}


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


def _entry(name: str) -> Objective:
    if name not in OBJECTIVES:
        raise ValueError(f"objective={name!r} is not one of {sorted(OBJECTIVES)} (the "
                         "objectives an encoder can be trained with)")
    return OBJECTIVES[name]


def _keyword_only(fn) -> set:
    return {n for n, p in inspect.signature(fn).parameters.items()
            if p.kind == inspect.Parameter.KEYWORD_ONLY}


def _allowed_keywords(entry: Objective) -> set:
    allowed = _keyword_only(entry.fn)
    if entry.fn is _hj.mlp_hjepa:  # mlp_hjepa(**kw) forwards to hamjepa's loss keywords
        allowed |= set(_hj._LOSS_DEFAULTS)
    allowed -= {"key", "directions", "projections"}
    allowed |= set(entry.init_keys)
    if entry.kind == "phase_space":
        allowed |= {"ld_refresh", "preset"}
    if entry.fn is _hj.hamjepa:
        allowed |= {"rs_warmup_frac"}
    if entry.target == "ema":
        allowed |= {"tau_base"}
    return allowed


def check_options(name: str, options: dict) -> None:
    """Refuse an objective that cannot be trained, keywords the function does not take and an
    unknown ``preset`` (``ValueError`` naming them and what is allowed)."""
    entry = _entry(name)
    unknown = set(options) - _allowed_keywords(entry)
    if unknown:
        raise ValueError(f"objective_options {sorted(unknown)} are not keywords of objective "
                         f"{name!r}; allowed: {sorted(_allowed_keywords(entry))}")
    if "preset" in options:
        _hj.hamjepa_preset(options["preset"])


def resolve_options(name: str, *, data: str, options: dict) -> dict:
    """Every keyword of a run of objective ``name`` on ``data``: the registry's ``defaults``,
    then its ``small_defaults`` on :data:`SMALL_DATA`, then the keywords of ``preset`` (a
    HamJEPA released config), then ``options``; later ones win."""
    entry = _entry(name)
    opts = dict(entry.defaults)
    if data in SMALL_DATA:
        opts.update(entry.small_defaults)
    if "preset" in options:
        opts.update(_hj.hamjepa_preset(options["preset"]))
    opts.update(options)
    return opts


def _size(shape) -> int:
    size = 1
    for s in shape:
        size *= s
    return size


def init_objective(name: str, key, *, sample_outputs: dict, data: str, options: dict,
                   dtype=jnp.float32):
    """The objective's trainable module (or None): sized from one sample's encoder outputs
    (``sample_outputs``: name -> per-sample shape)."""
    entry = _entry(name)
    opts = resolve_options(name, data=data, options=options)
    init_kw = {k: opts[k] for k in entry.init_keys if k in opts}
    if entry.kind == "predictor":
        return predictor_head(key, dim=_size(sample_outputs["z"]), dtype=dtype, **init_kw)
    if entry.init is None:
        return None
    d0 = _size(sample_outputs["q"])
    # f_phi acts on q (d0); the MLP-HJEPA predictor on z = [q; p] (2 d0)
    dim = d0 if entry.fn is _hj.hamjepa else 2 * d0
    return entry.init(key, dim=dim, dtype=dtype, **init_kw)


def _residual_scale(base: float, warmup_frac: float, total_steps: int):
    """``step -> s``: HamJEPA's residual-scale warm-up over ``warmup_frac`` of the run, the
    continuous form of the author's epoch ramp (:func:`residual_scale_schedule` with the
    1-based step as its clock; RECONSTRUCTION of the per-epoch steps)."""
    if warmup_frac <= 0:
        return lambda step: base
    warmup = max(warmup_frac * total_steps, 1.0)
    return lambda step: _hj.residual_scale_schedule(
        (step + 1).astype(jnp.float32), residual_scale=base, warmup_epochs=warmup)


def make_loss(name: str, *, data: str, options: dict, total_steps: int, ld_key=None):
    """``loss(module, outputs, *, key, step) -> (loss, logs)`` for encoder ``outputs`` with
    leading axes (V, N); ``key`` is the step's PRNG key, ``step`` a traced int; ``ld_key`` the
    fixed key from which HamJEPA's log-det projections are redrawn every ``ld_refresh`` steps."""
    entry = _entry(name)
    opts = resolve_options(name, data=data, options=options)
    fn = entry.fn
    loss_kw = {k: v for k, v in opts.items()
               if k not in TRAINER_OPTIONS and k not in entry.init_keys}
    refresh = int(opts.get("ld_refresh", _hj.LOGDET_REFRESH))
    rs = None
    if fn is _hj.hamjepa:
        default_rs = inspect.signature(fn).parameters["residual_scale"].default
        rs = _residual_scale(float(loss_kw.pop("residual_scale", default_rs)),
                             float(opts.get("rs_warmup_frac", 0.0)), total_steps)
    if ld_key is None:
        ld_key = jax.random.key(0)

    def loss(module, outputs, *, key, step, target_outputs=None):
        kw = dict(loss_kw)
        if entry.kind == "views":
            args = (outputs["z"],)
        elif entry.kind == "views_key":
            args = (outputs["z"],)
            kw["key"] = key
        elif entry.kind == "two_view":
            args = (outputs["z"][0], outputs["z"][1])
        elif entry.kind == "predictor":
            z1, z2 = outputs["z"][0], outputs["z"][1]
            t1, t2 = (z1, z2) if entry.target == "online" else \
                (target_outputs["z"][0], target_outputs["z"][1])
            args = (module(z1), module(z2), t1, t2)
        else:  # phase_space
            args = (module, outputs["q"], outputs["p"])
            kw["key"] = _hj.projection_key(ld_key, step, refresh=refresh)
        if rs is not None:
            kw["residual_scale"] = rs(step)
        return fn(*args, **kw)

    return loss


def ema_tau(name: str, *, data: str, options: dict, total_steps: int):
    """``step -> tau`` of the EMA target for ``target="ema"`` objectives (BYOL's cosine
    schedule from ``tau_base`` to 1, :func:`minimal_models.objectives.predictive.byol_tau`),
    else None."""
    if _entry(name).target != "ema":
        return None
    tau_base = float(resolve_options(name, data=data, options=options)["tau_base"])
    return lambda step: byol_tau(step, total_steps, tau_base=tau_base)
