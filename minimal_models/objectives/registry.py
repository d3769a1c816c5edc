"""The objectives by name: one registry for every caller that picks an objective by name.

:data:`OBJECTIVES` maps a name to an :class:`Objective`: its function (imported here, so a
reader follows the imports from a name to its code), how that function is called, its own
trainable module, its status, and the training recipe the encoder trainer applies by default.
The command line (``collapse-lab train --objective``), the encoder trainer
(:mod:`simulations.encoders.objectives` adapts encoder outputs to each calling convention),
the label-noise experiments (:mod:`simulations.encoders.label_noise`) and the tests all read
this one dict.  Importing it keeps JAX in float32: every module it imports is dtype-generic.

Calling conventions (``Objective.kind``); every SSL ``fn`` returns ``(loss, logs)``, the
label kinds (the minimal models' losses, which define gradient flows) the loss alone:

- ``"two_view"``: ``fn(z1, z2, **kw)``, z1, z2 (N, D);
- ``"views"``: ``fn(views, **kw)``, views (V, N, D);
- ``"views_key"``: ``fn(views, key=key, **kw)`` (random SIGReg slices drawn from ``key``);
- ``"predictor"``: ``fn(p1, p2, z1, z2, **kw)``, p = h(z) of a predictor head, targets z
  stop-gradiented inside (``target="ema"``: z from an EMA copy of the encoder, BYOL);
- ``"phase_space"``: ``fn(module, q, p, key=key, **kw)`` with ``module = init(key, dim=...)``
  and q, p (V, N, ...) from :func:`minimal_models.objectives.hamjepa.split_qp`;
- ``"single"``: ``fn(x, **kw)``, x (N, D) (a regulariser such as KoLeo; not trained alone);
- ``"label"``: ``fn(X, Y, A, nu=...)`` and ``"label_head"``: ``fn(X, Y, W, A, alpha=...,
  nu=...)``: the minimal collapse models' losses of sample embeddings X, trainable label
  embeddings Y (and a shared head W) under coupling A (label-noise experiments).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from . import hamjepa as _hj
from .coding_rate import mcr2_views, mmcr
from .collapse_models import model_a_loss, model_b_loss
from .contrastive import nt_xent
from .hamjepa import ham_sigreg_loss, init_hamjepa, init_mlp_hjepa, mlp_hjepa
from .hypersolid import hypersolid
from .normality import lejepa
from .predictive import byol, simsiam
from .redundancy import barlow_twins, vicreg
from .uniformity import koleo

__all__ = ["Objective", "OBJECTIVES", "KINDS", "get_objective", "names_of_kind"]

KINDS = ("two_view", "views", "views_key", "predictor", "phase_space", "single", "label",
         "label_head")


@dataclasses.dataclass(frozen=True)
class Objective:
    """One objective: ``fn`` called by the convention ``kind`` (module docstring).

    - ``init``: the constructor of the objective's own trainable module (``phase_space``), else
      None; ``init_keys``: the keywords that go to ``init`` (or to the predictor head of a
      ``predictor`` objective) rather than to ``fn``.
    - ``target``: ``"online"``, or ``"ema"`` when the targets come from an EMA copy of the
      encoder (BYOL).
    - ``status``: CONFIRMED (matches the paper's or author's code), RECONSTRUCTION, or
      REFERENCE (a standard baseline).
    - Training recipe (the encoder trainer's defaults, overridable per run): ``defaults``
      (keyword -> value pairs, loss keywords and trainer options), ``small_defaults`` (sizes
      for the small-data analogues, e.g. digits), ``clip`` (the method's global-norm clipping,
      None: none).
    """

    name: str
    fn: Callable
    kind: str
    init: Callable | None = None
    status: str = "REFERENCE"
    description: str = ""
    init_keys: tuple = ()
    target: str = "online"
    defaults: tuple = ()
    small_defaults: tuple = ()
    clip: float | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r} is not one of {KINDS}")
        if self.target not in ("online", "ema"):
            raise ValueError(f"target={self.target!r} is not one of ('online', 'ema')")


_HAMJEPA_TRAINING = tuple((k, v) for k, v in _hj.HAMJEPA_TRAINING.items() if k != "clip_norm")
_HAMJEPA_SMALL = tuple(_hj.HAMJEPA_SMALL.items())

_ENTRIES = (
    Objective("sigreg", lejepa, "views_key", status="CONFIRMED",
              defaults=(("composition", "hamjepa"), ("grid", "hamjepa"), ("num_slices", 64),
                        ("lam", 0.02)),
              description="HamJEPA author baseline: 1/2 inv + 0.02 SIGReg (M = 64, hamjepa "
                          "grid), no clipping (CONFIRMED in code)"),
    Objective("lejepa", lejepa, "views_key", status="CONFIRMED",
              defaults=(("composition", "convex"), ("grid", "official"), ("num_slices", 256),
                        ("lam", 0.02)),
              description="LeJEPA: (1 - lam) inv + lam SIGReg, official grid, M = 256"),
    Objective("ham_sigreg", ham_sigreg_loss, "views_key", status="CONFIRMED",
              description="HamSIGReg: LeJEPA with SIGReg of z H^{1/2} (chain H)"),
    Objective("hamjepa", _hj.hamjepa, "phase_space", init_hamjepa, "CONFIRMED",
              init_keys=("hidden", "depth"), defaults=_HAMJEPA_TRAINING,
              small_defaults=_HAMJEPA_SMALL, clip=_hj.HAMJEPA_TRAINING["clip_norm"],
              description="HamJEPA, CIFAR config: leapfrog predictor, q + 0.2 p, budget, "
                          "variance and log-det floors, mean penalty; clip 1.0"),
    Objective("mlp_hjepa", mlp_hjepa, "phase_space", init_mlp_hjepa, "RECONSTRUCTION",
              init_keys=("hidden", "depth", "reverse"),
              defaults=tuple((k, v) for k, v in _HAMJEPA_TRAINING if k != "rs_warmup_frac"),
              small_defaults=_HAMJEPA_SMALL, clip=_hj.HAMJEPA_TRAINING["clip_norm"],
              description="MLP-HJEPA ablation (RECONSTRUCTION): residual MLP predictor"),
    Objective("hypersolid", hypersolid, "views", status="RECONSTRUCTION",
              description="Hypersolid (RECONSTRUCTION): short-range repulsion + max-pool "
                          "alignment + weak normalisation"),
    Objective("vicreg", vicreg, "two_view", description="VICReg 25/25/1"),
    Objective("barlow_twins", barlow_twins, "two_view",
              description="Barlow Twins, lambda = 0.0051"),
    Objective("nt_xent", nt_xent, "two_view", description="SimCLR NT-Xent"),
    Objective("mmcr", mmcr, "views", description="MMCR"),
    Objective("mcr2", mcr2_views, "views",
              description="MCR^2 with each image's views as its class"),
    Objective("byol", byol, "predictor", init_keys=("hidden",), target="ema",
              defaults=(("tau_base", 0.996),),
              description="BYOL: predictor h on the online encoder, targets from an EMA copy "
                          "of the encoder, tau cosine-scheduled to 1"),
    Objective("simsiam", simsiam, "predictor", init_keys=("hidden",),
              description="SimSiam: -cos(h(z1), sg z2)/2 - cos(h(z2), sg z1)/2 with a "
                          "bottleneck MLP predictor h"),
    Objective("koleo", koleo, "single", description="KoLeo regulariser (not trained alone)"),
    Objective("model_a", model_a_loss, "label", status="RECONSTRUCTION",
              description="Model A: (nu/2) sum A_ik ||x_i - y_k||^2 (trainable labels)"),
    Objective("model_b", model_b_loss, "label_head", status="RECONSTRUCTION",
              description="Model B: shared head W with stop-gradient strength alpha"),
)

#: Every objective by its one name.
OBJECTIVES: dict[str, Objective] = {e.name: e for e in _ENTRIES}


def get_objective(name: str) -> Objective:
    """The registry entry for ``name``; ``ValueError`` naming the allowed names otherwise."""
    if name not in OBJECTIVES:
        raise ValueError(f"objective={name!r} is not one of {sorted(OBJECTIVES)}")
    return OBJECTIVES[name]


def names_of_kind(*kinds: str) -> tuple:
    """The names of the objectives called by one of ``kinds``, in registry order."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"kinds {sorted(unknown)} are not among {KINDS}")
    return tuple(n for n, e in OBJECTIVES.items() if e.kind in kinds)
