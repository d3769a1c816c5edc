"""The objectives by name: one registry for every caller that picks an objective by name.

:data:`OBJECTIVES` maps a name to an :class:`Objective`: its function (imported here, so a
reader follows the imports from a name to its code), how that function is called, its own
trainable module, the smallest batch it can score, and its status.  The command line
(``collapse-lab train --objective``), the encoder trainer (:mod:`simulations.encoders.objectives`
feeds encoder outputs to each calling convention; its training recipes are in
:mod:`simulations.encoders.recipes`), the label-noise experiments and the tests all read this
one mapping.  Importing it keeps JAX in float32: every module it imports is dtype-generic.

Adding an objective is one registration, :func:`register_objective` (a call or a decorator)::

    @register_objective("spread", kind="views", min_batch=2)
    def spread(views, *, weight=1.0):
        ...
        return loss, logs

after which ``TrainConfig(objective="spread")``, ``collapse-lab train --objective spread`` and
the registry-wide tests see it.  A separate package adds objectives without editing this one
through the entry-point group :data:`ENTRY_POINT_GROUP` (``collapse_lab.objectives``): each
entry point names an :class:`Objective`, a sequence of them, or a module whose import registers
its objectives; they are loaded when the registry is first read.

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

import collections.abc
import dataclasses
import inspect
import types
import warnings
from typing import Callable

from . import hamjepa as _hj
from .coding_rate import mcr2_views, mmcr
from .collapse_models import model_a_loss, model_b_loss
from .contrastive import nt_xent
from .hamjepa import init_hamjepa, init_mlp_hjepa, mlp_hjepa
from .hamsigreg import ham_sigreg_loss
from .hypersolid import hypersolid
from .normality import lejepa
from .predictive import byol, simsiam
from .redundancy import barlow_twins, vicreg
from .uniformity import koleo

__all__ = ["Objective", "OBJECTIVES", "KINDS", "ENTRY_POINT_GROUP", "get_objective",
           "names_of_kind", "register_objective", "unregister_objective"]

KINDS = ("two_view", "views", "views_key", "predictor", "phase_space", "single", "label",
         "label_head")

#: The Python entry-point group through which other packages add objectives.
ENTRY_POINT_GROUP = "collapse_lab.objectives"

_STATUSES = ("CONFIRMED", "RECONSTRUCTION", "REFERENCE")


@dataclasses.dataclass(frozen=True)
class Objective:
    """One objective: ``fn`` called by the convention ``kind`` (module docstring).

    - ``init``: the constructor of the objective's own trainable module (``phase_space``), else
      None; ``init_keys``: the keywords that go to ``init`` (or to the predictor head of a
      ``predictor`` objective) rather than to ``fn``; ``init_on``: what that module acts on,
      ``"q"`` (dim = the size of q, HamJEPA's potential) or ``"qp"`` (dim = size of [q; p],
      the MLP-HJEPA predictor).
    - ``keywords``: keywords ``fn`` takes through ``**kwargs`` (its keyword-only parameters are
      read from its signature).
    - ``target``: ``"online"``, or ``"ema"`` when the targets come from an EMA copy of the
      encoder (BYOL).
    - ``min_batch``: the fewest samples per view ``fn`` can score (``fn`` refuses fewer with a
      ``ValueError`` naming it and this number).
    - ``status``: CONFIRMED (matches the paper's or author's code), RECONSTRUCTION, or
      REFERENCE (a standard baseline).
    """

    name: str
    fn: Callable
    kind: str
    init: Callable | None = None
    status: str = "REFERENCE"
    description: str = ""
    init_keys: tuple = ()
    init_on: str = "q"
    keywords: tuple = ()
    target: str = "online"
    min_batch: int = 2

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"name={self.name!r} must be a Python identifier (it is a "
                             "command-line choice and a keyword prefix)")
        if not callable(self.fn):
            raise ValueError(f"fn={self.fn!r} of objective {self.name!r} is not callable")
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r} is not one of {KINDS}")
        if self.target not in ("online", "ema"):
            raise ValueError(f"target={self.target!r} is not one of ('online', 'ema')")
        if self.init_on not in ("q", "qp"):
            raise ValueError(f"init_on={self.init_on!r} is not one of ('q', 'qp')")
        if self.status not in _STATUSES:
            raise ValueError(f"status={self.status!r} is not one of {_STATUSES}")
        if (self.init is not None) != (self.kind == "phase_space"):
            raise ValueError(f"objective {self.name!r}: init is needed by (and only by) kind "
                             "'phase_space'")
        if type(self.min_batch) is not int or self.min_batch < 1:
            raise ValueError(f"min_batch={self.min_batch!r} must be an integer >= 1")
        object.__setattr__(self, "init_keys", tuple(self.init_keys))
        object.__setattr__(self, "keywords", tuple(self.keywords))

    def loss_keywords(self) -> frozenset:
        """The keywords ``fn`` accepts: its keyword-only parameters and :attr:`keywords`."""
        params = inspect.signature(self.fn).parameters.values()
        return frozenset({p.name for p in params if p.kind == inspect.Parameter.KEYWORD_ONLY}
                         | set(self.keywords))


_BUILTIN = (
    Objective("sigreg", lejepa, "views_key", status="CONFIRMED",
              description="HamJEPA author baseline: 1/2 inv + 0.02 SIGReg (M = 64, hamjepa "
                          "grid), no clipping (CONFIRMED in code)"),
    Objective("lejepa", lejepa, "views_key", status="CONFIRMED",
              description="LeJEPA: (1 - lam) inv + lam SIGReg, official grid, M = 256"),
    Objective("ham_sigreg", ham_sigreg_loss, "views_key", status="CONFIRMED",
              description="HamSIGReg: LeJEPA with SIGReg of z H^{1/2} (chain H)"),
    Objective("hamjepa", _hj.hamjepa, "phase_space", init_hamjepa, "CONFIRMED",
              init_keys=("hidden", "depth"), init_on="q",
              description="HamJEPA, CIFAR config: leapfrog predictor, q + 0.2 p, budget, "
                          "variance and log-det floors, mean penalty; clip 1.0"),
    Objective("mlp_hjepa", mlp_hjepa, "phase_space", init_mlp_hjepa, "RECONSTRUCTION",
              init_keys=("hidden", "depth", "reverse"), init_on="qp",
              keywords=tuple(_hj.PHASE_SPACE_DEFAULTS),
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
    Objective("byol", byol, "predictor", init_keys=("hidden",), target="ema", min_batch=1,
              description="BYOL: predictor h on the online encoder, targets from an EMA copy "
                          "of the encoder, tau cosine-scheduled to 1"),
    Objective("simsiam", simsiam, "predictor", init_keys=("hidden",), min_batch=1,
              description="SimSiam: -cos(h(z1), sg z2)/2 - cos(h(z2), sg z1)/2 with a "
                          "bottleneck MLP predictor h"),
    Objective("koleo", koleo, "single", description="KoLeo regulariser (not trained alone)"),
    Objective("model_a", model_a_loss, "label", status="RECONSTRUCTION", min_batch=1,
              description="Model A: (nu/2) sum A_ik ||x_i - y_k||^2 (trainable labels)"),
    Objective("model_b", model_b_loss, "label_head", status="RECONSTRUCTION", min_batch=1,
              description="Model B: shared head W with stop-gradient strength alpha"),
)


class _Registry(collections.abc.Mapping):
    """The live name -> :class:`Objective` mapping: the built-in objectives, those registered
    since, and (read once, on first access) those of the :data:`ENTRY_POINT_GROUP` entry
    points.  Read-only as a mapping; :func:`register_objective` adds to it."""

    def __init__(self, entries):
        self._entries = {e.name: e for e in entries}
        self._plugins_loaded = False

    def _load_plugins(self):
        if self._plugins_loaded:
            return
        self._plugins_loaded = True   # before loading: a plugin's registration reads us
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                _register_loaded(ep.load())
            except Exception as exc:  # one broken plugin must not take the registry down
                warnings.warn(f"objective entry point {ep.name!r} ({ep.value}) of group "
                              f"{ENTRY_POINT_GROUP!r} was not loaded: {exc}", RuntimeWarning,
                              stacklevel=3)

    def __getitem__(self, name):
        self._load_plugins()
        return self._entries[name]

    def __iter__(self):
        self._load_plugins()
        return iter(list(self._entries))

    def __len__(self):
        self._load_plugins()
        return len(self._entries)

    def __repr__(self):
        return f"OBJECTIVES({sorted(self)})"


#: Every objective by its one name (live: registrations show up at once).
OBJECTIVES: collections.abc.Mapping[str, Objective] = _Registry(_BUILTIN)


def _register_loaded(obj):
    if isinstance(obj, Objective):
        register_objective(obj)
    elif isinstance(obj, types.ModuleType):
        pass  # importing it registered its objectives
    elif isinstance(obj, (list, tuple)) and all(isinstance(o, Objective) for o in obj):
        for o in obj:
            register_objective(o)
    else:
        raise ValueError(f"an entry point of {ENTRY_POINT_GROUP!r} must name an Objective, a "
                         f"sequence of them or a module, got {type(obj).__name__}")


def register_objective(objective, fn: Callable | None = None, /, *, replace: bool = False,
                       **fields):
    """Add an objective to :data:`OBJECTIVES`; returns what was registered.

    - ``register_objective(Objective(...))`` registers that entry;
    - ``register_objective("name", fn, kind=..., ...)`` builds the :class:`Objective` from the
      name, the function and its fields;
    - ``@register_objective("name", kind=..., ...)`` on a function does the same and returns
      the function unchanged.

    A name already taken is refused (``ValueError``) unless ``replace=True``.
    """
    if isinstance(objective, Objective):
        if fn is not None or fields:
            raise ValueError("register_objective(Objective) takes no further fields")
        entry = objective
    elif fn is None:
        def decorator(f):
            register_objective(objective, f, replace=replace, **fields)
            return f
        return decorator
    else:
        entry = Objective(objective, fn, **fields)
    OBJECTIVES._load_plugins()
    if entry.name in OBJECTIVES._entries and not replace:
        raise ValueError(f"objective {entry.name!r} is already registered "
                         f"({OBJECTIVES._entries[entry.name].fn!r}); pass replace=True to "
                         "replace it")
    OBJECTIVES._entries[entry.name] = entry
    return entry


def unregister_objective(name: str) -> Objective:
    """Remove ``name`` from :data:`OBJECTIVES` and return its entry (``ValueError`` if absent)."""
    entry = get_objective(name)
    del OBJECTIVES._entries[name]
    return entry


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
