"""The training configuration: one validated, frozen dataclass.

Every field is checked at construction; a bad value raises ``ValueError`` naming the field, the
value and what is allowed, before any data is loaded, anything is compiled or written.
"""

from __future__ import annotations

import dataclasses
import json

from minimal_models import validation as check

from . import objectives as _objectives
from .augment import AUGMENTATIONS
from .data import DATASETS
from .networks import ENCODERS, NORMS
from .precision import DTYPES

__all__ = ["TrainConfig", "config_from_assignments"]

_DEFAULT_ENCODER = {"digits": "digits_cnn", "cifar10": "resnet18_tokens",
                    "cifar100": "resnet18_tokens", "gaussian_mixture": "mlp"}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run (defaults: the digits analogue, spec
    ``hamiltonian_geometry.md`` §9, RECONSTRUCTION; the CIFAR recipe of §4.2 is
    ``batch_size=512, lr=5e-4, weight_decay=5e-4`` with ``data="cifar100"``).

    - ``objective``: a name of :data:`simulations.encoders.objectives.OBJECTIVES` (the
      trainable part of :data:`minimal_models.objectives.registry.OBJECTIVES`);
      ``objective_options``: keyword overrides passed to it (a dict or (key, value) pairs);
      HamJEPA / MLP-HJEPA take ``preset`` (``"cifar"``, the default, or ``"imagenet"``: the
      author's released configs, :data:`minimal_models.objectives.hamjepa.HAMJEPA_PRESETS`),
      e.g. ``--set obj.preset=imagenet``.
    - ``encoder``: ``"auto"`` picks digits_cnn / resnet18_tokens / mlp from ``data``.
    - ``dtype``: compute dtype of the encoder (float32 or bfloat16); ``param_dtype``: storage of
      the parameters and optimiser moments (float32 master weights by default).  Losses are
      float32 in both cases.
    - schedule: linear warm-up from ``warmup_start`` x lr over ``warmup_frac`` of the steps,
      then cosine to ``min_lr_ratio`` x lr (the author's LinearLR + cosine).
    - ``clip_norm``: global-norm clipping; ``"auto"`` is the method's own choice (the authors
      clip HamJEPA at 1.0 and not the SIGReg baseline), ``None`` switches clipping off.
    - ``prng_impl``: the JAX PRNG of the run (see :mod:`simulations.encoders.train`).
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
        check.choice("objective", self.objective, _objectives.OBJECTIVES)
        check.choice("data", self.data, DATASETS)
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise ValueError(f"data_dir={self.data_dir!r} must be a path string or None")
        if self.data in ("cifar10", "cifar100") and self.data_dir is None:
            raise ValueError(f"data_dir=None: data={self.data!r} needs a local directory "
                             "holding the python pickle files (nothing is downloaded)")
        check.choice("encoder", self.encoder, ("auto", *ENCODERS))
        check.choice("norm", self.norm, ("auto", *NORMS))
        check.choice("augment", self.augment, ("auto", *AUGMENTATIONS))
        check.integer("n_views", self.n_views, minimum=2)
        check.choice("dtype", self.dtype, tuple(DTYPES))
        check.choice("param_dtype", self.param_dtype, tuple(DTYPES))
        check.integer("batch_size", self.batch_size, minimum=2)
        check.integer("steps", self.steps, minimum=1)
        check.integer("steps_per_dispatch", self.steps_per_dispatch, minimum=1)
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
        check.integer("seed", self.seed, minimum=0)
        check.choice("prng_impl", self.prng_impl, ("rbg", "threefry2x32", "unsafe_rbg"))
        check.integer("checkpoint_every", self.checkpoint_every, minimum=0)
        if self.checkpoint_every % self.steps_per_dispatch:
            raise ValueError(f"checkpoint_every={self.checkpoint_every} must be a multiple of "
                             f"steps_per_dispatch={self.steps_per_dispatch}")
        check.real("checkpoint_seconds", self.checkpoint_seconds, low=0.0)
        check.integer("out_dim", self.out_dim, minimum=2)
        check.integer("width", self.width, minimum=1)
        _objectives.check_options(self.objective, dict(self.objective_options))

    # resolved choices -----------------------------------------------------------------------
    @property
    def encoder_name(self) -> str:
        return _DEFAULT_ENCODER[self.data] if self.encoder == "auto" else self.encoder

    @property
    def norm_name(self) -> str | None:
        return None if self.norm == "auto" else self.norm

    @property
    def clip(self) -> float | None:
        if self.clip_norm == "auto":
            return _objectives.OBJECTIVES[self.objective].clip
        return None if self.clip_norm is None else float(self.clip_norm)

    def to_json(self) -> str:
        d = dataclasses.asdict(self)
        d["objective_options"] = [[k, v] for k, v in self.objective_options]
        return json.dumps(d, sort_keys=True)

    def identity(self) -> dict:
        """The fields that define the computation (everything but how often checkpoints are
        written): runs with equal identities compute the same steps, so one may resume the
        other and they share a compiled step."""
        return _identity(json.loads(self.to_json()))


# checkpoint frequencies do not change the result: a run may resume with other values
_NOT_IDENTITY = ("checkpoint_every", "checkpoint_seconds")


def _identity(fields: dict) -> dict:
    return {k: v for k, v in fields.items() if k not in _NOT_IDENTITY}


def same_run(config_json: str, config: TrainConfig) -> bool:
    """Whether a stored ``config.json`` describes the same computation as ``config`` (the
    checkpoint settings may differ; unparsable JSON is not the same run)."""
    try:
        stored = json.loads(config_json)
    except ValueError:
        return False
    return isinstance(stored, dict) and _identity(stored) == config.identity()


_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


def config_from_assignments(base: dict, assignments) -> TrainConfig:
    """A :class:`TrainConfig` from ``base`` fields updated by ``(key, value)`` assignments;
    ``obj.NAME=value`` (or ``objective.NAME``) sets an objective keyword.  Unknown keys and
    bad values raise ``ValueError`` naming the field."""
    fields = dict(base)
    options = dict(fields.pop("objective_options", ()))
    for key, value in assignments:
        if key.startswith(("obj.", "objective.")):
            options[key.split(".", 1)[1]] = value
            continue
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
    return TrainConfig(**fields, objective_options=tuple(sorted(options.items())))
