"""The training configuration: one validated, frozen dataclass.

Every field is checked at construction; a bad value raises ``ValueError`` naming the field, the
value and what is allowed, before any data is loaded, anything is compiled or written.  No
setting is silently ignored: a field the chosen network / data combination does not read
(``width`` of any encoder but the ResNet, ``out_dim`` of the token encoders, ``norm`` of the
MLP, ``data_dir`` of the bundled data sets, ``warmup_start`` without warm-up steps) must keep
its default, and :func:`config_from_assignments` refuses one that is assigned at all.  The
objective is resolved once, here (:attr:`TrainConfig.training_objective`).
"""

from __future__ import annotations

import dataclasses
import json

from minimal_models import validation as check

from .augment import AUGMENTATION_INPUTS, AUGMENTATIONS
from .data import DATA_INPUTS, DATASETS, FILE_DATASETS
from .networks import ENCODER_INPUTS, ENCODER_SETTINGS, ENCODERS, NORMS
from .objectives import TrainingObjective, resolve_objective
from .precision import DTYPES

__all__ = ["TrainConfig", "config_from_assignments", "INT_MAX", "SEED_MAX"]

#: Largest step count, batch, size or interval: the step counter and shapes are int32.
INT_MAX = 2**31 - 1
#: Largest seed: PRNG keys are made from 32 bits (larger seeds would wrap onto smaller ones).
SEED_MAX = 2**32 - 1

_DEFAULT_ENCODER = {"digits": "digits_cnn", "cifar10": "resnet18_tokens",
                    "cifar100": "resnet18_tokens", "gaussian_mixture": "mlp"}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run (defaults: the digits analogue, spec
    ``hamiltonian_geometry.md`` §9, RECONSTRUCTION; the CIFAR recipe of §4.2 is
    ``batch_size=512, lr=5e-4, weight_decay=5e-4`` with ``data="cifar100"``).

    - ``objective``: a name of :data:`simulations.encoders.objectives.OBJECTIVES` (the
      trainable part of :data:`minimal_models.objectives.registry.OBJECTIVES`);
      ``objective_options``: keyword overrides of its training recipe
      (:mod:`simulations.encoders.recipes`; a dict or (key, value) pairs); HamJEPA / MLP-HJEPA
      take ``preset`` (``"cifar"``, the default, or ``"imagenet"``: the author's released
      configs, :data:`minimal_models.objectives.hamjepa.HAMJEPA_PRESETS`), e.g.
      ``--set obj.preset=imagenet``.  ``batch_size`` must be at least the objective's
      ``min_batch``.
    - ``encoder``: ``"auto"`` picks digits_cnn / resnet18_tokens / mlp from ``data``.
    - ``dtype``: compute dtype of the encoder (float32 or bfloat16); ``param_dtype``: storage of
      the parameters and optimiser moments (float32 master weights by default).  Losses are
      float32 in both cases.
    - schedule: linear warm-up from ``warmup_start`` x lr over ``warmup_frac`` of the steps,
      then cosine to ``min_lr_ratio`` x lr (the author's LinearLR + cosine).
    - ``clip_norm``: global-norm clipping; ``"auto"`` is the method's own choice (the authors
      clip HamJEPA at 1.0 and not the SIGReg baseline), ``None`` switches clipping off.
    - ``prng_impl``: the JAX PRNG of the run (see :mod:`simulations.encoders.train`).
    - Integers lie in [minimum, :data:`INT_MAX`], ``seed`` in [0, :data:`SEED_MAX`].
    - ``steps`` must be a multiple of ``steps_per_dispatch`` (one ``lax.scan`` per dispatch
      keeps a single compiled program); so must ``checkpoint_every``.
    - checkpoints (with an ``out_dir``; a killed run resumes from the last one, bit-identical
      to an uninterrupted run): by wall time by default -- the first after the first dispatch,
      then each time the time since the last one reaches min(elapsed training time,
      ``checkpoint_seconds``), so the intervals double up to ``checkpoint_seconds`` (60 s):
      a kill loses at most half of the run so far and never more than a minute of work, for
      O(log) extra writes; ``checkpoint_every`` > 0 adds one every that many steps; both 0:
      only at the end.  Neither is part of the run's identity (a run may resume with others).
      Default 1 (no loop): XLA:CPU runs convolutions inside a ``lax.scan`` ~10x slower; on a
      GPU use 10-50 to amortise the dispatch.
    """

    objective: str = "sigreg"
    data: str = "digits"
    data_dir: str | None = None
    encoder: str = "auto"
    norm: str = "auto"
    augment: str = "auto"
    n_views: int = 2
    dtype: str = "float32"
    param_dtype: str = "float32"
    batch_size: int = 256
    steps: int = 1000
    steps_per_dispatch: int = 1
    lr: float = 5e-4
    weight_decay: float = 5e-4
    beta1: float = 0.9
    beta2: float = 0.999
    warmup_frac: float = 0.1
    warmup_start: float = 0.01
    min_lr_ratio: float = 1e-3
    clip_norm: float | str | None = "auto"
    seed: int = 0
    prng_impl: str = "rbg"
    checkpoint_every: int = 0
    checkpoint_seconds: float = 60.0
    out_dim: int = 256
    width: int = 64
    objective_options: tuple = ()

    def __post_init__(self):
        opts = self.objective_options
        if isinstance(opts, dict):
            opts = tuple(sorted(opts.items()))
        try:
            opts = tuple((str(k), v) for k, v in opts)
        except (TypeError, ValueError):
            raise ValueError(f"objective_options={self.objective_options!r} must be a dict or "
                             "(key, value) pairs") from None
        object.__setattr__(self, "objective_options", opts)
        # the one lookup of the objective: its entry, recipe and the run's keywords
        object.__setattr__(self, "_objective", resolve_objective(
            self.objective, data=self.data, options=opts))
        check.choice("data", self.data, DATASETS)
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise ValueError(f"data_dir={self.data_dir!r} must be a path string or None")
        if self.data in ("cifar10", "cifar100") and self.data_dir is None:
            raise ValueError(f"data_dir=None: data={self.data!r} needs a local directory "
                             "holding the python pickle files (nothing is downloaded)")
        check.choice("encoder", self.encoder, ("auto", *ENCODERS))
        check.choice("norm", self.norm, ("auto", *NORMS))
        check.choice("augment", self.augment, ("auto", *AUGMENTATIONS))
        _integer("n_views", self.n_views, 2)
        check.choice("dtype", self.dtype, tuple(DTYPES))
        check.choice("param_dtype", self.param_dtype, tuple(DTYPES))
        _integer("batch_size", self.batch_size, 2)
        if self.batch_size < self.training_objective.min_batch:
            raise ValueError(f"batch_size={self.batch_size}: objective {self.objective!r} "
                             f"needs a batch of at least {self.training_objective.min_batch}")
        _integer("steps", self.steps, 1)
        _integer("steps_per_dispatch", self.steps_per_dispatch, 1)
        if self.steps % self.steps_per_dispatch:
            raise ValueError(f"steps={self.steps} must be a multiple of "
                             f"steps_per_dispatch={self.steps_per_dispatch}")
        check.positive("lr", self.lr)
        check.real("weight_decay", self.weight_decay, low=0.0)
        check.real("beta1", self.beta1, low=0.0, high=1.0, high_open=True)
        check.real("beta2", self.beta2, low=0.0, high=1.0, high_open=True)
        check.real("warmup_frac", self.warmup_frac, low=0.0, high=1.0, high_open=True)
        check.real("warmup_start", self.warmup_start, low=0.0, high=1.0, low_open=True)
        check.real("min_lr_ratio", self.min_lr_ratio, low=0.0, high=1.0)
        if self.clip_norm is not None and self.clip_norm != "auto":
            check.positive("clip_norm", self.clip_norm)
        _integer("seed", self.seed, 0, SEED_MAX)
        check.choice("prng_impl", self.prng_impl, ("rbg", "threefry2x32", "unsafe_rbg"))
        _integer("checkpoint_every", self.checkpoint_every, 0)
        if self.checkpoint_every % self.steps_per_dispatch:
            raise ValueError(f"checkpoint_every={self.checkpoint_every} must be a multiple of "
                             f"steps_per_dispatch={self.steps_per_dispatch}")
        check.real("checkpoint_seconds", self.checkpoint_seconds, low=0.0)
        _integer("out_dim", self.out_dim, 2)
        _integer("width", self.width, 1)
        self._check_combination()

    def _check_combination(self):
        """Refuse a network / data / augmentation that cannot work together, and a setting
        that differs from its default where this combination does not read it."""
        enc, data = self.encoder_name, self.data
        have = DATA_INPUTS[data]
        if not _accepts(ENCODER_INPUTS[enc], have):
            raise ValueError(f"encoder={enc!r} needs {_SAMPLES[ENCODER_INPUTS[enc]]}; data="
                             f"{data!r} holds {_SAMPLES[have]} (use encoder='mlp' or 'auto')")
        if self.augment != "auto" and not _accepts(AUGMENTATION_INPUTS[self.augment], have):
            raise ValueError(f"augment={self.augment!r} needs "
                             f"{_SAMPLES[AUGMENTATION_INPUTS[self.augment]]}; data={data!r} "
                             f"holds {_SAMPLES[have]}")
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        for name, why in unused_settings(self).items():
            value = getattr(self, name)
            if value != defaults[name]:
                raise ValueError(f"{name}={value!r} is not used by this run: {why}; leave it "
                                 f"at its default ({defaults[name]!r})")

    # resolved choices -----------------------------------------------------------------------
    @property
    def training_objective(self) -> TrainingObjective:
        """The objective resolved once for this run: registry entry, recipe, keywords."""
        resolved = self.__dict__.get("_objective")
        if resolved is None:   # an unpickled copy: resolve again
            resolved = resolve_objective(self.objective, data=self.data,
                                         options=self.objective_options)
            object.__setattr__(self, "_objective", resolved)
        return resolved

    def __getstate__(self):
        # the resolved objective holds functions: rebuilt on demand, never pickled
        return {k: v for k, v in self.__dict__.items() if k != "_objective"}

    @property
    def encoder_name(self) -> str:
        return _DEFAULT_ENCODER[self.data] if self.encoder == "auto" else self.encoder

    @property
    def norm_name(self) -> str | None:
        return None if self.norm == "auto" else self.norm

    @property
    def clip(self) -> float | None:
        if self.clip_norm == "auto":
            return self.training_objective.clip
        return None if self.clip_norm is None else float(self.clip_norm)

    @property
    def warmup_steps(self) -> int:
        """Steps of the linear learning-rate warm-up (``warmup_frac`` of ``steps``, rounded)."""
        return int(round(self.warmup_frac * self.steps))

    def to_json(self) -> str:
        d = dataclasses.asdict(self)
        d["objective_options"] = [[k, v] for k, v in self.objective_options]
        return json.dumps(d, sort_keys=True)

    def identity(self) -> dict:
        """The fields that define the computation (everything but how often checkpoints are
        written): runs with equal identities compute the same steps, so one may resume the
        other and they share a compiled step."""
        return identity_of(json.loads(self.to_json()))


def _integer(name, value, low, high=INT_MAX) -> int:
    value = check.integer(name, value, minimum=low)
    if value > high:
        raise ValueError(f"{name}={value} is outside the allowed range [{low}, {high}]")
    return value


_SAMPLES = {"image": "(C, H, W) images", "rgb_image": "RGB (3, H, W) images",
            "vector": "vectors"}


def _accepts(needs: str, have: str) -> bool:
    """Whether samples of kind ``have`` (image, rgb_image, vector) suit what a network or an
    augmentation ``needs`` (any, image, rgb_image)."""
    return needs == "any" or needs == have or (needs == "image" and have == "rgb_image")


def unused_settings(config: TrainConfig) -> dict:
    """The fields ``config``'s network / data combination does not read, each with the reason
    (named network, data set or schedule)."""
    enc, data = config.encoder_name, config.data
    unused = {}
    for name in ("norm", "out_dim", "width"):
        if name not in ENCODER_SETTINGS[enc]:
            readers = [e for e, names in ENCODER_SETTINGS.items() if name in names]
            unused[name] = (f"encoder {enc!r} (data {data!r}) has no {name}; it is read by "
                            f"{' and '.join(repr(e) for e in readers)} only")
    if data not in FILE_DATASETS:
        unused["data_dir"] = (f"data {data!r} is not read from a folder; only "
                              f"{' and '.join(repr(d) for d in FILE_DATASETS)} are")
    if config.warmup_steps == 0:
        unused["warmup_start"] = (f"the learning-rate warm-up has 0 steps (warmup_frac="
                                  f"{config.warmup_frac}, steps={config.steps})")
    return unused


# checkpoint frequencies do not change the result: a run may resume with other values
_NOT_IDENTITY = ("checkpoint_every", "checkpoint_seconds")


def identity_of(fields: dict) -> dict:
    """The identity part of a configuration's JSON fields (all but the checkpoint settings)."""
    return {k: v for k, v in fields.items() if k not in _NOT_IDENTITY}


_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


def config_from_assignments(base: dict, assignments) -> TrainConfig:
    """A :class:`TrainConfig` from ``base`` fields updated by ``(key, value)`` assignments;
    ``obj.NAME=value`` (or ``objective.NAME``) sets an objective keyword.  Unknown keys, a key
    assigned twice, a setting the run's network / data combination does not read
    (:func:`unused_settings`) and bad values raise ``ValueError`` naming the field."""
    fields = dict(base)
    options = dict(fields.pop("objective_options", ()))
    seen = set()
    assigned = []
    for key, value in assignments:
        name = f"obj.{key.split('.', 1)[1]}" if key.startswith(("obj.", "objective.")) else key
        if name in seen:
            raise ValueError(f"training setting {key!r} is given twice; give each key once")
        seen.add(name)
        if key.startswith(("obj.", "objective.")):
            options[key.split(".", 1)[1]] = value
            continue
        assigned.append(key)
        if key not in _FIELDS or key == "objective_options":
            raise ValueError(f"unknown training setting {key!r}; allowed: "
                             f"{sorted(_FIELDS - {'objective_options'})} or obj.NAME=value")
        if isinstance(value, str) and value.lower() == "none":
            value = None
        if key in ("lr", "weight_decay", "beta1", "beta2", "warmup_frac", "warmup_start",
                   "min_lr_ratio", "checkpoint_seconds") and isinstance(value, int) \
                and not isinstance(value, bool):
            value = float(value)
        fields[key] = value
    config = TrainConfig(**fields, objective_options=tuple(sorted(options.items())))
    unused = unused_settings(config)
    for key in assigned:
        if key in unused:
            raise ValueError(f"{key}={fields[key]!r} is not used by this run: {unused[key]}")
    return config
