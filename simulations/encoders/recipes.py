"""Training recipes: how the encoder trainer runs an objective by default.

The losses and their theory defaults (the keyword defaults of each function, the author's
released HamJEPA configs :data:`minimal_models.objectives.hamjepa.HAMJEPA_PRESETS`) live in
:mod:`minimal_models.objectives`; what only a training loop needs lives here, as a
:class:`Recipe` per objective name: keyword defaults of a run, the sizes of the small-data
analogues, the method's gradient clipping, a loss keyword ramped up over the first part of the
run, a PRNG key held fixed over blocks of steps, named presets.  An objective without a recipe
trains with :data:`PLAIN` (the function's own defaults, no clipping).

The options of a run of objective ``name`` on data set ``data`` are resolved, later ones
winning: ``recipe.defaults`` < ``recipe.small_defaults`` (on :data:`SMALL_DATA`) < the keywords
of ``preset`` < the run's own options.
"""

from __future__ import annotations

import dataclasses

from minimal_models.objectives import hamjepa as _hj

__all__ = ["Recipe", "PLAIN", "RECIPES", "SMALL_DATA", "HAMJEPA_TRAINING", "HAMJEPA_SMALL",
           "recipe_for", "register_recipe"]

#: Data sets that get a recipe's ``small_defaults`` (spec ``hamiltonian_geometry.md`` §9).
SMALL_DATA = ("digits",)


def _pairs(mapping) -> tuple:
    return tuple(dict(mapping).items())


@dataclasses.dataclass(frozen=True)
class Recipe:
    """The trainer's defaults for one objective (all optional; hashable, so that the compiled
    training step can be cached per recipe).

    - ``defaults``: keyword -> value pairs of a run (loss keywords and the trainer options
      below); ``small_defaults``: sizes for the small-data analogues (:data:`SMALL_DATA`).
    - ``clip``: the method's global-norm clipping (None: none); ``TrainConfig(clip_norm="auto")``
      applies it.
    - ``ramp``: a loss keyword whose value s ramps up linearly, s min(1, t / T) at the 1-based
      step t, over the first T = ``rs_warmup_frac`` x steps of the run (HamJEPA's residual
      scale; the run option ``rs_warmup_frac`` exists only when ``ramp`` is set).
    - ``key_refresh``: the loss key is held fixed over blocks of ``ld_refresh`` steps
      (HamJEPA's log-det projections redrawn every 16 calls) instead of drawn every step; the
      run option ``ld_refresh`` exists only when this is True.
    - ``presets``: name -> loss keywords, selected by the run option ``preset``.
    """

    defaults: tuple = ()
    small_defaults: tuple = ()
    clip: float | None = None
    ramp: str | None = None
    key_refresh: bool = False
    presets: tuple = ()

    def __post_init__(self):
        for name in ("defaults", "small_defaults"):
            object.__setattr__(self, name, _pairs(getattr(self, name)))
        object.__setattr__(self, "presets", tuple(
            (str(k), _pairs(v)) for k, v in dict(self.presets).items()))
        if self.clip is not None and not self.clip > 0:
            raise ValueError(f"clip={self.clip!r} must be > 0 or None")

    @property
    def trainer_options(self) -> frozenset:
        """The run options this recipe reads itself (never passed to the loss function)."""
        return frozenset({"rs_warmup_frac"} if self.ramp else set()) | frozenset(
            {"ld_refresh"} if self.key_refresh else set()) | frozenset(
            {"preset"} if self.presets else set())

    def preset(self, name) -> dict:
        """The loss keywords of preset ``name``; ``ValueError`` naming the allowed ones."""
        presets = dict(self.presets)
        if name not in presets:
            raise ValueError(f"preset={name!r} is not one of {sorted(presets)}")
        return dict(presets[name])


#: The recipe of an objective that has none: its function's defaults, no clipping.
PLAIN = Recipe()

#: The author's training-loop settings of HamJEPA (CONFIRMED in code unless noted): global-norm
#: clipping at 1.0; log-det projections redrawn every 16 calls; the residual scale ramps over
#: the first 10 of 30 CIFAR epochs (:func:`minimal_models.objectives.hamjepa.
#: residual_scale_schedule`; RECONSTRUCTION as a fraction of the run's steps).
HAMJEPA_TRAINING = dict(clip_norm=1.0, ld_refresh=_hj.LOGDET_REFRESH, rs_warmup_frac=10 / 30)

#: Sizes of the small-encoder analogue (spec §9, digits: f_phi 128 -> 64 -> 64 -> 1, log-det
#: projections of rank 32; RECONSTRUCTION).
HAMJEPA_SMALL = dict(hidden=64, logdet_k=32)

_HAMJEPA = dict(small_defaults=HAMJEPA_SMALL, clip=HAMJEPA_TRAINING["clip_norm"],
                key_refresh=True, presets=_hj.HAMJEPA_PRESETS)

#: The recipes by objective name (the registry's names; :func:`register_recipe` adds one).
RECIPES: dict[str, Recipe] = {
    # the HamJEPA author's baseline: 1/2 inv + 0.02 SIGReg, M = 64 on the hamjepa grid
    "sigreg": Recipe(defaults=dict(composition="hamjepa", grid="hamjepa", num_slices=64,
                                   lam=0.02)),
    "lejepa": Recipe(defaults=dict(composition="convex", grid="official", num_slices=256,
                                   lam=0.02)),
    "hamjepa": Recipe(defaults=dict(ld_refresh=HAMJEPA_TRAINING["ld_refresh"],
                                    rs_warmup_frac=HAMJEPA_TRAINING["rs_warmup_frac"]),
                      ramp="residual_scale", **_HAMJEPA),
    # MLP-HJEPA: HamJEPA's loop without the leapfrog's residual scale (it has none)
    "mlp_hjepa": Recipe(defaults=dict(ld_refresh=HAMJEPA_TRAINING["ld_refresh"]), **_HAMJEPA),
    "byol": Recipe(defaults=dict(tau_base=0.996)),
}


def recipe_for(name: str) -> Recipe:
    """The recipe of objective ``name`` (:data:`PLAIN` if it has none)."""
    return RECIPES.get(name, PLAIN)


def register_recipe(name: str, recipe: Recipe, *, replace: bool = False) -> Recipe:
    """Give objective ``name`` a training recipe (``ValueError`` if it has one, unless
    ``replace``)."""
    if not isinstance(recipe, Recipe):
        raise ValueError(f"recipe must be a Recipe, got {type(recipe).__name__}")
    if name in RECIPES and not replace:
        raise ValueError(f"objective {name!r} already has a recipe; pass replace=True")
    RECIPES[name] = recipe
    return recipe
