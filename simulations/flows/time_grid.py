"""Output time grids shared by the sweepable flows: one log-spaced grid per point, padded to the
sweep's longest grid so every point of a chunk has one shape.

:class:`TimeGrid` is the dataclass part (fields ``t_min``, ``t_max``, ``n_times``) every flow
model inherits (see :mod:`simulations.flows.parts`); :class:`TimeLayout` is its share of a
sweep's layout."""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import numpy as np

from minimal_models import validation as check

__all__ = ["log_grid", "padded", "TimeLayout", "TimeGrid"]


@functools.lru_cache(maxsize=4096)  # many points of a grid share one (t_min, t_max, n_times)
def log_grid(t_min, t_max, n_times) -> tuple:
    """t = 0 followed by n_times - 1 log-spaced times in [t_min, t_max]."""
    return tuple(np.concatenate([[0.0], np.geomspace(t_min, t_max, n_times - 1)]))


def padded(ts, n) -> np.ndarray:
    """The grid with its last time repeated up to length n (padded entries are masked)."""
    return np.concatenate([ts, np.full(n - len(ts), ts[-1])])


class TimeLayout(NamedTuple):
    """The time axis of a sweep: the longest grid, and the grid every point shares (or None
    when t_min, t_max or n_times vary; then ``t`` is an index and ``time`` holds the times)."""

    n_times: int
    common: tuple | None

    @classmethod
    def of(cls, models) -> "TimeLayout":
        grids = {(m.t_min, m.t_max, m.n_times) for m in models}
        common = log_grid(*grids.pop()) if len(grids) == 1 else None
        return cls(max(m.n_times for m in models), common)


class _Part:
    """Root of the flow parts: ends their cooperative ``__post_init__`` chain (here because the
    time grid is the one part every flow has, and this module imports no other part)."""

    def __post_init__(self):
        pass

    def effective_parameters(self) -> dict:
        """Every field by name, with the values the flow actually uses where a field is a
        rule rather than a value (a rate preset: see the models' overrides).  What a dataset's
        ``parameters`` should record."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class TimeGrid(_Part):
    """Output times: t = 0 followed by ``n_times - 1`` log-spaced times in [t_min, t_max]."""

    t_min: float = 1e-2
    t_max: float = 100.0
    n_times: int = 61

    def __post_init__(self):
        super().__post_init__()
        for name in ("t_min", "t_max"):
            check.positive(name, getattr(self, name))
        if self.t_min >= self.t_max:
            raise ValueError(f"t_min={self.t_min} must be smaller than t_max={self.t_max}")
        check.integer("n_times", self.n_times, minimum=2)

    def times(self) -> np.ndarray:
        """Output grid: t = 0 followed by n_times - 1 log-spaced times in [t_min, t_max]."""
        return np.array(log_grid(self.t_min, self.t_max, self.n_times))

    def time_inputs(self, time: TimeLayout) -> dict:
        """``ts`` padded to the sweep's longest grid (last time repeated) and ``t_mask``."""
        return {"ts": padded(self.times(), time.n_times),
                "t_mask": np.arange(time.n_times) < self.n_times}

    @staticmethod
    def time_input_shapes(time: TimeLayout) -> dict:
        """Shapes of :meth:`time_inputs` (memory estimates without building a grid)."""
        import jax

        return {"ts": jax.ShapeDtypeStruct((time.n_times,), np.dtype(np.float64)),
                "t_mask": jax.ShapeDtypeStruct((time.n_times,), np.dtype(np.bool_))}

    def coords(self, layout) -> dict:
        """``t``: the common grid, or an index when the points' grids differ.  Static view."""
        time = layout.time
        return {"t": np.array(time.common) if time.common is not None
                else np.arange(time.n_times)}
