"""Adapter from an objective's name to a training loss of encoder outputs.

The objectives themselves live in :mod:`minimal_models.objectives` (one definition serves the
embedding-only models and the encoders); this module only says, per name, which encoder
outputs feed the function, how many views it takes, which trainable parameters of its own it
has (HamJEPA's f_phi, the MLP-HJEPA predictor), where its randomness comes from, the keyword
defaults the trainer uses, and the method's gradient clipping (the authors clip HamJEPA at 1.0
and leave the SIGReg baseline unclipped, spec ``hamiltonian_geometry.md`` §4.3 item 10).

An entry is listed in :data:`OBJECTIVES` only when its function exists in
:mod:`minimal_models.objectives`, so a newly written objective is picked up without a change
here once it has an entry in ``_CANDIDATES``.

Input kinds:
- ``views``: ``fn(z_views, ...)`` with z_views (V, N, D);
- ``pair``: ``fn(z1, z2, ...)`` on views 0 and 1;
- ``phase``: ``fn(module, q, p, ...)`` with q, p (V, N, T, C) token halves and the objective's
  own trainable ``module``;
- ``predictor``: ``fn(h(z1), h(z2), z1, z2)`` with a trainable predictor head h of this adapter
  (SimSiam; the function applies the stop-gradient to the targets);
- ``ema_predictor``: ``fn(h(z1), h(z2), z1', z2')`` with z' from an EMA copy of the encoder
  (BYOL; the trainer keeps the copy and updates it with :func:`ema_tau` after every step).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = ["ObjectiveEntry", "OBJECTIVES", "check_options", "init_objective", "make_loss",
           "TRAINER_OPTIONS", "PredictorHead", "predictor_head", "ema_tau"]

# options consumed by the trainer (not passed to the objective function)
TRAINER_OPTIONS = {"rs_warmup_frac", "ld_refresh", "tau_base"}


@dataclasses.dataclass(frozen=True)
class ObjectiveEntry:
    name: str
    module: str                 # submodule of minimal_models.objectives
    function: str
    inputs: str                 # "views" | "pair" | "phase" | "predictor" | "ema_predictor"
    defaults: tuple = ()        # trainer defaults of the function's keywords
    data_defaults: tuple = ()   # (data name, ((key, value), ...)) overrides
    init: str | None = None     # init function of the objective's trainable module
    init_keys: tuple = ()       # keywords that go to ``init`` rather than the loss
    randomness: str = "none"    # "none" | "key" (fresh per step) | "hamjepa" (log-det key)
    default_clip: float | None = None
    description: str = ""

    @property
    def fn(self):
        return getattr(importlib.import_module(f"minimal_models.objectives.{self.module}"),
                       self.function)

    def options(self, data: str, overrides: dict) -> dict:
        opts = dict(self.defaults)
        opts.update(dict(dict(self.data_defaults).get(data, ())))
        opts.update(overrides)
        return opts


_HAMJEPA_DIGITS = (("hidden", 64), ("logdet_k", 32))  # spec §9: f_phi 128 -> 64 -> 64 -> 1

_CANDIDATES = (
    ObjectiveEntry("sigreg", "normality", "lejepa", "views",
                   defaults=(("composition", "hamjepa"), ("grid", "hamjepa"),
                             ("num_slices", 64), ("lam", 0.02)),
                   randomness="key", default_clip=None,
                   description="HamJEPA author baseline: 1/2 inv + 0.02 SIGReg (M = 64, "
                               "hamjepa grid), no clipping (CONFIRMED in code)"),
    ObjectiveEntry("lejepa", "normality", "lejepa", "views",
                   defaults=(("composition", "convex"), ("grid", "official"),
                             ("num_slices", 256), ("lam", 0.02)),
                   randomness="key", default_clip=None,
                   description="LeJEPA: (1 - lam) inv + lam SIGReg, official grid, M = 256"),
    ObjectiveEntry("hamjepa", "hamjepa", "hamjepa", "phase", init="init_hamjepa",
                   init_keys=("hidden", "depth"), data_defaults=(("digits", _HAMJEPA_DIGITS),),
                   defaults=(("rs_warmup_frac", 1 / 3), ("ld_refresh", 16)),
                   randomness="hamjepa", default_clip=1.0,
                   description="HamJEPA, CIFAR config: leapfrog predictor, q + 0.2 p, budget, "
                               "variance and log-det floors, mean penalty; clip 1.0"),
    ObjectiveEntry("mlp_hjepa", "hamjepa", "mlp_hjepa", "phase", init="init_mlp_hjepa",
                   init_keys=("hidden", "depth", "reverse"),
                   data_defaults=(("digits", _HAMJEPA_DIGITS),),
                   defaults=(("ld_refresh", 16),), randomness="hamjepa", default_clip=1.0,
                   description="MLP-HJEPA ablation (RECONSTRUCTION): residual MLP predictor"),
    ObjectiveEntry("hypersolid", "hypersolid", "hypersolid", "views", default_clip=None,
                   description="Hypersolid (RECONSTRUCTION): short-range repulsion + max-pool "
                               "alignment + weak normalisation"),
    ObjectiveEntry("vicreg", "redundancy", "vicreg", "pair", description="VICReg 25/25/1"),
    ObjectiveEntry("barlow_twins", "redundancy", "barlow_twins", "pair",
                   description="Barlow Twins, lambda = 0.0051"),
    ObjectiveEntry("nt_xent", "contrastive", "nt_xent", "pair", description="SimCLR NT-Xent"),
    ObjectiveEntry("mmcr", "coding_rate", "mmcr", "views", description="MMCR"),
    ObjectiveEntry("mcr2", "coding_rate", "mcr2_views", "views",
                   description="MCR^2 with each image's views as its class"),
    ObjectiveEntry("byol", "predictive", "byol", "ema_predictor", init="predictor_head",
                   init_keys=("hidden",), defaults=(("tau_base", 0.996),), default_clip=None,
                   description="BYOL: predictor h on the online encoder, targets from an EMA "
                               "copy of the encoder, tau cosine-scheduled to 1"),
    ObjectiveEntry("simsiam", "predictive", "simsiam", "predictor", init="predictor_head",
                   init_keys=("hidden",), default_clip=None,
                   description="SimSiam: -cos(h(z1), sg z2)/2 - cos(h(z2), sg z1)/2 with a "
                               "bottleneck MLP predictor h of the adapter"),
)


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


def _available(entry: ObjectiveEntry) -> bool:
    if entry.init == "predictor_head":
        entry = dataclasses.replace(entry, init=None)
    try:
        mod = importlib.import_module(f"minimal_models.objectives.{entry.module}")
    except ImportError:
        return False
    if not hasattr(mod, entry.function):
        return False
    return entry.init is None or hasattr(mod, entry.init)


OBJECTIVES = {e.name: e for e in _CANDIDATES if _available(e)}


def _allowed_keywords(entry: ObjectiveEntry) -> set:
    sig = inspect.signature(entry.fn)
    allowed = {n for n, p in sig.parameters.items()
               if p.kind == inspect.Parameter.KEYWORD_ONLY}
    if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        # e.g. mlp_hjepa(**kw) forwards to hamjepa's keywords
        from minimal_models.objectives import hamjepa as _h

        allowed |= {n for n, p in inspect.signature(_h.hamjepa).parameters.items()
                    if p.kind == inspect.Parameter.KEYWORD_ONLY}
    allowed -= {"key", "directions", "projections"}
    if entry.init is not None:
        allowed |= set(entry.init_keys)
    if entry.randomness == "hamjepa":
        allowed |= {"ld_refresh"}
    if entry.name == "hamjepa":
        allowed |= {"rs_warmup_frac"}
    if entry.inputs == "ema_predictor":
        allowed |= {"tau_base"}
    return allowed


def check_options(name: str, options: dict) -> None:
    """Refuse objective keywords the function does not take (``ValueError`` naming them)."""
    entry = OBJECTIVES[name]
    unknown = set(options) - _allowed_keywords(entry)
    if unknown:
        raise ValueError(f"objective_options {sorted(unknown)} are not keywords of objective "
                         f"{name!r}; allowed: {sorted(_allowed_keywords(entry))}")


def _phase_dim(outputs_shape: dict) -> int:
    shape = outputs_shape["q"]
    size = 1
    for s in shape:
        size *= s
    return size


def init_objective(name: str, key, *, sample_outputs: dict, data: str, options: dict,
                   dtype=jnp.float32):
    """The objective's trainable module (or None): sized from one sample's encoder outputs
    (``sample_outputs``: name -> per-sample shape)."""
    entry = OBJECTIVES[name]
    if entry.init is None:
        return None
    opts = entry.options(data, options)
    init_kw = {k: opts[k] for k in entry.init_keys if k in opts}
    if entry.init == "predictor_head":
        return predictor_head(key, dim=_phase_dim({"q": sample_outputs["z"]}), dtype=dtype,
                              **init_kw)
    d0 = _phase_dim(sample_outputs)
    init = getattr(importlib.import_module(f"minimal_models.objectives.{entry.module}"),
                   entry.init)
    dim = d0 if name == "hamjepa" else 2 * d0
    return init(key, dim=dim, dtype=dtype, **init_kw)


def make_loss(name: str, *, data: str, options: dict, total_steps: int, ld_key=None):
    """``loss(module, outputs, *, key, step) -> (loss, logs)`` for encoder ``outputs`` with
    leading axes (V, N); ``key`` is the step's PRNG key, ``step`` a traced int; ``ld_key`` the
    fixed key from which HamJEPA's log-det projections are redrawn every ``ld_refresh`` steps."""
    entry = OBJECTIVES[name]
    opts = entry.options(data, options)
    fn = entry.fn
    loss_kw = {k: v for k, v in opts.items()
               if k not in TRAINER_OPTIONS and k not in entry.init_keys}
    rs_frac = float(opts.get("rs_warmup_frac", 0.0))
    refresh = int(opts.get("ld_refresh", 16))
    base_rs = float(loss_kw.pop("residual_scale", 0.02)) if name == "hamjepa" else None
    if ld_key is None:
        ld_key = jax.random.key(0)

    def loss(module, outputs, *, key, step, target_outputs=None):
        if entry.inputs == "views":
            args = (outputs["z"],)
        elif entry.inputs == "pair":
            args = (outputs["z"][0], outputs["z"][1])
        elif entry.inputs == "predictor":
            z1, z2 = outputs["z"][0], outputs["z"][1]
            args = (module(z1), module(z2), z1, z2)
        elif entry.inputs == "ema_predictor":
            z1, z2 = outputs["z"][0], outputs["z"][1]
            t1, t2 = target_outputs["z"][0], target_outputs["z"][1]
            args = (module(z1), module(z2), t1, t2)
        else:
            args = (module, outputs["q"], outputs["p"])
        kw = dict(loss_kw)
        if entry.randomness == "key":
            kw["key"] = key
        elif entry.randomness == "hamjepa":
            from minimal_models.objectives.hamjepa import projection_key

            kw["key"] = projection_key(ld_key, step, refresh=refresh)
        if base_rs is not None:
            if rs_frac > 0:
                # continuous form of the author's epoch-wise ramp s_e = s min(1, e / 10) over
                # the first third of 30 epochs (RECONSTRUCTION of the per-epoch steps)
                ramp = jnp.minimum(1.0, (step + 1).astype(jnp.float32)
                                   / max(rs_frac * total_steps, 1.0))
                kw["residual_scale"] = base_rs * ramp
            else:
                kw["residual_scale"] = base_rs
        return fn(*args, **kw)

    return loss


def ema_tau(name: str, *, data: str, options: dict, total_steps: int):
    """``step -> tau`` of the EMA target for ``ema_predictor`` objectives (BYOL's cosine
    schedule from ``tau_base`` to 1, :func:`minimal_models.objectives.predictive.byol_tau`),
    else None."""
    entry = OBJECTIVES[name]
    if entry.inputs != "ema_predictor":
        return None
    from minimal_models.objectives.predictive import byol_tau

    tau_base = float(entry.options(data, options)["tau_base"])
    return lambda step: byol_tau(step, total_steps, tau_base=tau_base)
