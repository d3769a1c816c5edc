r"""What the sweep engine needs of a model, and the *static view* that keeps it honest.

A *sweepable model* (:class:`SweepableModel`) is a frozen dataclass describing one parameter
point.  Its fields are of two kinds:

- **inputs** (the default): every value a point varies reaches ``evaluate`` as an array built
  by ``prepare``.  Parameters are array arguments, never closure constants, so all points of a
  group share one compiled program;
- **static fields**, listed in ``static_fields``: values that change the compiled program
  (solver choice, flags that change the outputs, Python integers such as ``max_steps``).
  The engine splits the grid into groups of equal static values and compiles once per group.

``evaluate``, ``shared_inputs``, ``outputs`` and ``coords`` run on a *static view* of the model
in which every non-static field is a guard that raises ``TypeError`` when used.  A model that
reads a per-point value directly instead of through ``prepare`` therefore fails loudly, rather
than computing every point with the first point's value.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, ClassVar, Hashable, Protocol, Sequence, runtime_checkable

import numpy as np

__all__ = ["SweepableModel", "static_view", "static_key", "view_of", "check_model"]


@runtime_checkable
class SweepableModel(Protocol):
    """What :func:`~simulations.sweep.run_sweep` needs of a model: one parameter point, as a
    frozen dataclass.

    ``static_fields``: names of the fields that change the compiled program; the grid is split
    into groups by their values and compiled once per group.  Every other field is an *input*:
    ``prepare`` must turn it into arrays, because ``evaluate`` cannot see it.

    Optionally a model declares ``input_shapes(layout)``: name -> ``jax.ShapeDtypeStruct`` (or
    anything with ``shape`` and ``dtype``) of what ``prepare`` returns for one point, without
    building it.  The engine then estimates a sweep's memory from shapes alone and refuses one
    that cannot fit before any point's inputs exist; without it, one point is prepared for the
    estimate.  The first chunk's real inputs are checked against the declaration.
    """

    static_fields: ClassVar[tuple[str, ...]]

    def layout(self, models: Sequence[Any]) -> Hashable:
        """Shapes shared by every point of the sweep (called on a real model with all of them)."""

    def prepare(self, layout: Hashable) -> dict[str, np.ndarray]:
        """Host-side inputs of this point (called on the real model), at the layout's shapes."""

    def shared_inputs(self, layout: Hashable) -> dict[str, np.ndarray]:
        """Inputs identical for every point (a data set, a fixed matrix): passed once, not
        copied per point.  Static view: may read only static fields."""

    def evaluate(self, inputs: dict) -> dict:
        """Pure JAX for one point; ``inputs`` = this point's ``prepare`` merged with the shared
        inputs.  Static view."""

    def outputs(self, layout: Hashable) -> dict[str, tuple[tuple[str, ...], str, str]]:
        """name -> (dims, units, description) of each output of ``evaluate``.  Static view."""

    def coords(self, layout: Hashable) -> dict[str, np.ndarray]:
        """Coordinates of the output dims.  Static view."""


class _NotStatic:
    """Stands in for a non-static field in the static view: any use raises."""

    __slots__ = ("_name", "_model")

    def __init__(self, name, model):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_model", model)

    def _fail(self, *args, **kwargs):
        name = object.__getattribute__(self, "_name")
        model = object.__getattribute__(self, "_model")
        raise TypeError(
            f"{model}.{name} was used by evaluate/shared_inputs/outputs/coords, but {name!r} is "
            f"not in {model}.static_fields: its value differs from point to point, so it must "
            "reach evaluate through prepare()'s inputs (or be declared static)")

    def __getattribute__(self, attr):
        if attr in ("_fail", "__class__", "__repr__"):
            return object.__getattribute__(self, attr)
        object.__getattribute__(self, "_fail")()

    def __repr__(self):
        return f"<non-static field {object.__getattribute__(self, '_name')!r}>"

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __hash__ = __bool__ = _fail
    __float__ = __int__ = __index__ = __complex__ = __len__ = __iter__ = __contains__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = _fail
    __rtruediv__ = __pow__ = __rpow__ = __neg__ = __abs__ = __getitem__ = __format__ = _fail
    __array__ = __jax_array__ = __str__ = __call__ = _fail


def static_key(model) -> tuple:
    """The values of the model's static fields: the group a point belongs to."""
    return tuple(getattr(model, name) for name in type(model).static_fields)


@functools.lru_cache(maxsize=256)
def view_of(cls, key):
    """The static view of class ``cls`` at static key ``key`` (cached: one per group)."""
    view = object.__new__(cls)  # no __init__/__post_init__: the fields below are not all values
    values = dict(zip(cls.static_fields, key))
    for f in dataclasses.fields(cls):
        value = values[f.name] if f.name in values else _NotStatic(f.name, cls.__name__)
        object.__setattr__(view, f.name, value)
    return view


def static_view(model):
    """The model as ``evaluate`` sees it: static fields only (any other field raises)."""
    return view_of(type(model), static_key(model))


def check_model(model):
    """``ValueError`` unless ``model`` is a dataclass instance with every method of the
    protocol and static fields that name its fields."""
    if not dataclasses.is_dataclass(model) or isinstance(model, type):
        raise ValueError(f"model must be a dataclass instance, got {type(model).__name__}")
    missing = [m for m in ("static_fields", "layout", "prepare", "shared_inputs", "evaluate",
                           "outputs", "coords") if not hasattr(model, m)]
    if missing:
        raise ValueError(f"{type(model).__name__} is not a SweepableModel: it lacks {missing}")
    fields = {f.name for f in dataclasses.fields(model)}
    unknown = set(model.static_fields) - fields
    if unknown:
        raise ValueError(f"{type(model).__name__}.static_fields names unknown fields "
                         f"{sorted(unknown)}")
