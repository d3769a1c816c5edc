r"""The plan of a sweep: grid points -> groups of equal static fields -> fixed-size chunks -> rows.

The grid is flattened in C order and split into groups by the values of the model's static
fields (one compiled program per group).  Each group is cut into chunks of ``chunk_size``
points; the last chunk of a group is padded (by the chunk runner) so every chunk of a group
has one shape.  Chunk ``c`` owns the store rows ``[c * chunk_size, (c + 1) * chunk_size)``, so
concurrent writers never share a storage chunk; ``rows`` maps each grid point to its row, which
is how the dataset is read back in grid order whatever order the points were computed in.

Balanced chunks: a vmapped chunk runs until its slowest point is done, so a chunk that mixes
cheap and costly points wastes the cheap points' lanes.  A model that declares ``cost()`` (an
estimate of one point's work, e.g. its expected solver steps; only the order matters) has each
group's points sorted by it before they are cut into chunks, so points of similar cost share
a chunk.  The chunk utilisation (:func:`utilisation`)

    U = sum_points steps / sum_chunks (chunk_size x max steps in the chunk)

measures the lanes a plan keeps busy.  Without ``cost()`` the points stay in grid order.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

__all__ = ["Chunk", "Plan", "plan_of", "order_digest", "utilisation"]


@dataclasses.dataclass(frozen=True)
class Chunk:
    group: tuple           # static key of every point in the chunk
    points: tuple          # flat grid indices (C order), at most chunk_size of them
    row: int               # first store row; the chunk owns rows [row, row + chunk_size)


@dataclasses.dataclass(frozen=True)
class Plan:
    groups: tuple          # static keys, in order of first appearance in the grid
    chunks: tuple          # Chunk, group by group
    rows: np.ndarray       # store row of each grid point


@functools.lru_cache(maxsize=64)
def _plan_cached(spec) -> Plan:
    base, size = spec.model, spec.chunk_size
    static = type(base).static_fields
    members: dict[tuple, list[int]] = {}
    points = spec.points()
    for i, point in enumerate(points):
        key = tuple(point.get(name, getattr(base, name)) for name in static)
        members.setdefault(key, []).append(i)
    chunks, rows = [], np.empty(spec.n_points, dtype=np.int64)
    for key, idx in members.items():
        if callable(getattr(type(base), "cost", None)):  # similar costs share a chunk
            costs = {i: float(dataclasses.replace(base, **points[i]).cost()) for i in idx}
            idx = sorted(idx, key=lambda i: (costs[i], i))
        for start in range(0, len(idx), size):
            chunk = Chunk(key, tuple(idx[start:start + size]), len(chunks) * size)
            rows[list(chunk.points)] = chunk.row + np.arange(len(chunk.points))
            chunks.append(chunk)
    return Plan(tuple(members), tuple(chunks), rows)


def plan_of(spec) -> Plan:
    """The plan of a :class:`~simulations.sweep.spec.SweepSpec` (cached per spec)."""
    try:
        return _plan_cached(spec)
    except TypeError:  # unhashable axis values: plan without the cache
        return _plan_cached.__wrapped__(spec)


def order_digest(spec) -> str | None:
    """A digest of the order the plan computes the points in, when the model orders them by
    ``cost()`` (``None`` in grid order): kept in the fingerprint, so a store written in one
    order is never read back through another's rows."""
    if not callable(getattr(type(spec.model), "cost", None)):
        return None
    import hashlib

    return hashlib.blake2b(np.ascontiguousarray(plan_of(spec).rows).tobytes(),
                           digest_size=8).hexdigest()


def utilisation(plan: Plan, chunk_size: int, steps) -> float:
    """Share of the chunks' lanes kept busy: sum of ``steps`` (per grid point, flat C order)
    over sum over chunks of ``chunk_size`` x the chunk's largest ``steps`` (padding is idle)."""
    steps = np.asarray(steps, dtype=np.float64).reshape(-1)
    busy = sum(float(steps[list(c.points)].sum()) for c in plan.chunks)
    lanes = sum(chunk_size * float(steps[list(c.points)].max()) for c in plan.chunks)
    return busy / lanes if lanes > 0 else 1.0
