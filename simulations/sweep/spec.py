r"""A sweep's definition: a named grid over the fields of a sweepable model, and its fingerprint.

A grid is a set (a repeated axis value would compute the same point twice and give the dataset a
non-unique index), and every value must be one the sweep can store: the axes become the
dataset's coordinates and every parameter reaches ``evaluate`` as a 64-bit array, so an integer
outside the 64-bit range is refused here, naming the parameter, before any store exists.

The fingerprint (:func:`sweep_fingerprint`) is the canonical description of everything that
determines the sweep's numbers; a store holds it and refuses to be resumed by another sweep.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Any

import numpy as np

from .model import check_model
from .plan import order_digest
from .store import STORE_FORMAT

__all__ = ["SweepSpec", "sweep_fingerprint", "fingerprint_difference", "jsonable"]

_INT64 = np.iinfo(np.int64)


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A named grid over the fields of a sweepable model.

    ``axes`` is a sequence of ``(field_name, values)``; the dataset has one dimension per axis,
    in this order, followed by the dimensions of each output.
    """

    name: str
    model: Any
    axes: tuple
    chunk_size: int = 32
    description: str = ""

    def __post_init__(self):
        check_model(self.model)
        fields = {f.name for f in dataclasses.fields(self.model)}
        axes = tuple((str(name), tuple(values)) for name, values in self.axes)
        names = [name for name, _ in axes]
        for name, values in axes:
            if name not in fields:
                raise ValueError(f"unknown sweep axis {name!r}; allowed: {sorted(fields)}")
            if not values:
                raise ValueError(f"sweep axis {name!r} has no values")
            _refuse_duplicates(name, values)
            for value in values:
                _refuse_unstorable(name, value)
        if len(set(names)) != len(names):
            raise ValueError(f"sweep axes must be distinct, got {names}")
        for f in dataclasses.fields(self.model):
            if f.name not in names:
                _refuse_unstorable(f.name, getattr(self.model, f.name))
        if isinstance(self.chunk_size, bool) or not isinstance(self.chunk_size, int) \
                or self.chunk_size < 1:
            raise ValueError(f"chunk_size={self.chunk_size!r} must be an integer >= 1")
        object.__setattr__(self, "axes", axes)

    @property
    def shape(self) -> tuple:
        return tuple(len(values) for _, values in self.axes)

    @property
    def n_points(self) -> int:
        return int(np.prod(self.shape))

    @property
    def n_chunks(self) -> int:
        """Chunks of the plan, counted without building it: axis values are distinct, so each
        combination of the static axes' values is one group, and the groups are equal."""
        static = set(type(self.model).static_fields)
        groups = int(np.prod([len(v) for name, v in self.axes if name in static]))
        return groups * -(-(self.n_points // groups) // self.chunk_size)

    def points(self) -> list[dict]:
        names = [name for name, _ in self.axes]
        return [dict(zip(names, combo)) for combo in itertools.product(*(v for _, v in self.axes))]

    def with_overrides(self, overrides: dict) -> "SweepSpec":
        """Override by name: an axis gets new values; a fixed parameter gets a scalar, or becomes
        a new (last) axis when given a sequence; ``chunk_size`` sets the points per chunk."""
        axes = dict(self.axes)
        fixed = {}
        fields = {f.name for f in dataclasses.fields(self.model)}
        chunk_size = self.chunk_size
        for key, value in overrides.items():
            if key == "chunk_size" and key not in fields:  # the sweep's own setting
                chunk_size = value
            elif key in axes or (key in fields and isinstance(value, (list, tuple))):
                axes[key] = tuple(value) if isinstance(value, (list, tuple)) else (value,)
            elif key in fields:
                _refuse_unstorable(key, value)  # before the model's own checks see it
                fixed[key] = value
            else:
                raise ValueError(f"unknown sweep axis or parameter {key!r}; allowed: "
                                 f"{sorted(fields)}")
        return dataclasses.replace(self, model=dataclasses.replace(self.model, **fixed),
                                   axes=tuple(axes.items()), chunk_size=chunk_size)


def _refuse_duplicates(name, values):
    """A grid is a set: a repeated value would compute the same point twice and give the
    dataset a non-unique index (``.sel`` returning two rows)."""
    try:
        seen, repeated = set(), None
        for value in values:  # hashing: linear even for a very long axis
            if value in seen:
                repeated = value
                break
            seen.add(value)
    except TypeError:  # unhashable values (arrays): compare pairwise
        repeated = next((v for i, v in enumerate(values) for w in values[:i]
                         if np.shape(v) == np.shape(w) and bool(np.all(np.asarray(v) == w))),
                        None)
    if repeated is not None:
        shown = list(values) if len(values) <= 20 else f"{len(values)} values"
        raise ValueError(f"sweep axis {name!r} lists the value {repeated!r} more than once "
                         f"({shown}); the values of an axis must be distinct")


def _refuse_unstorable(name, value):
    """An integer parameter must fit the 64-bit arrays it is stored and computed in (numpy would
    fall back to an object array, or overflow, far from where the value was given)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) \
            and not _INT64.min <= int(value) <= _INT64.max:
        raise ValueError(f"{name}={int(value)} is outside the 64-bit integer range a sweep "
                         f"stores and computes with; allowed: {_INT64.min} <= {name} <= "
                         f"{_INT64.max}")


def jsonable(value):
    """A parameter value as JSON sees it (numpy scalars as Python numbers, tuples as lists)."""
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def sweep_fingerprint(spec: SweepSpec) -> str:
    """A canonical JSON description of everything that determines the sweep's numbers (and,
    for a model that orders its points by cost, where each point lies in the store)."""
    description = {
        "name": spec.name,
        "model": type(spec.model).__name__,
        "parameters": {k: jsonable(v) for k, v in dataclasses.asdict(spec.model).items()},
        "axes": [[name, jsonable(list(values))] for name, values in spec.axes],
        "chunk_size": spec.chunk_size,
        "store_format": STORE_FORMAT,
    }
    order = order_digest(spec)
    if order is not None:
        description["point_order"] = order
    return json.dumps(description, sort_keys=True, default=str)


def fingerprint_difference(stored: str, requested: str) -> str:
    """What differs between two fingerprints, in words: which axis, parameter or setting, and
    its value in the store against the requested one ("" if they cannot be compared)."""
    try:
        old, new = json.loads(stored), json.loads(requested)
    except (TypeError, ValueError):
        return ""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return ""
    said = []

    def differs(what, there, here):
        said.append(f"{what}: {_shown(there)} in the store, {_shown(here)} requested")

    for key, what in (("name", "sweep name"), ("model", "model"), ("store_format", "store format"),
                      ("chunk_size", "chunk_size"), ("point_order", "order of the points")):
        if old.get(key) != new.get(key):
            differs(what, old.get(key), new.get(key))
    try:
        old_axes, new_axes = dict(map(tuple, old.get("axes", []))), dict(map(tuple, new["axes"]))
    except (TypeError, ValueError, KeyError):
        old_axes, new_axes = {}, {}
    for name in list(old_axes) + [n for n in new_axes if n not in old_axes]:
        if old_axes.get(name) != new_axes.get(name):
            differs(f"axis {name!r}", old_axes.get(name, "(not an axis)"),
                    new_axes.get(name, "(not an axis)"))
    if not [s for s in said if s.startswith("axis")] and list(old_axes) != list(new_axes):
        differs("axis order", list(old_axes), list(new_axes))
    old_par, new_par = old.get("parameters") or {}, new.get("parameters") or {}
    changed = [name for name in sorted(set(old_par) | set(new_par))
               if old_par.get(name) != new_par.get(name)]
    swept = set(old_axes) & set(new_axes)  # an axis's base value matters only if nothing else does
    for name in [n for n in changed if n not in swept] or ([] if said else changed):
        differs(f"parameter {name!r}", old_par.get(name, "(none)"), new_par.get(name, "(none)"))
    return "; ".join(said)


def _shown(value, most: int = 8) -> str:
    if isinstance(value, list) and len(value) > most:
        head = ", ".join(repr(v) for v in value[:most // 2])
        tail = ", ".join(repr(v) for v in value[-2:])
        return f"[{head}, ... {tail}] ({len(value)} values)"
    return repr(value)
