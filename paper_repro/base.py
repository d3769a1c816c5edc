"""What one reproduced figure is (a config that runs, draws, and states what it expects) and
what one named sweep is."""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

__all__ = ["Check", "Finding", "FigureResult", "FigureConfig", "SweepConfig", "STATUSES"]


@dataclasses.dataclass(frozen=True)
class Check:
    """One expected value next to the measured one.

    Passes when |measured - expected| <= atol + rtol |expected|, or, for ``kind="max"`` /
    ``"min"``, when measured <= expected / >= expected (bounds such as "collapse below 1e-4").
    ``source`` says where the expectation comes from (the paper, or our reconstruction spec).
    """

    quantity: str
    expected: float
    measured: float
    rtol: float = 1e-3
    atol: float = 0.0
    kind: str = "close"
    source: str = "spec (RECONSTRUCTION)"

    @property
    def passed(self) -> bool:
        if not math.isfinite(self.measured):
            return False
        return bool(self._passed())

    def _passed(self):
        if self.kind == "max":
            return self.measured <= self.expected
        if self.kind == "min":
            return self.measured >= self.expected
        return abs(self.measured - self.expected) <= self.atol + self.rtol * abs(self.expected)

    def tolerance_text(self) -> str:
        if self.kind == "max":
            return "upper bound"
        if self.kind == "min":
            return "lower bound"
        parts = []
        if self.rtol:
            parts.append(f"rtol {self.rtol:g}")
        if self.atol:
            parts.append(f"atol {self.atol:g}")
        return ", ".join(parts) or "exact"


@dataclasses.dataclass(frozen=True)
class Finding:
    """A paper claim and what our runs decided about it (see :func:`analysis.stats.decide`).

    Unlike a :class:`Check`, a finding never fails the run: "not reproduced" is a result.
    ``decision`` is one of "reproduced", "opposite", "equivalent", "unresolved", "not enough
    seeds to decide" (no outcome of these seeds could reach the level), or "not informative:
    <arm> did not learn" when an arm of the comparison failed its learning check
    (:func:`analysis.evidence.gate_decision`; the statistical decision is then kept in
    ``detail``).  ``effect`` is the mean paired difference (a - b) with its confidence
    interval ``ci``, ``p`` the (Holm-adjusted) p-value of the decision, ``delta_min`` the
    pre-registered minimal effect, ``paper`` the paper's number or statement beside ours.
    ``diagnostics`` are numbers that say where the run stands (e.g. how much the predictor
    shaped the encoder); they sit beside the decision and never change it.
    """

    claim: str
    decision: str
    effect: float
    ci: tuple = (math.nan, math.nan)
    p: float = math.nan
    delta_min: float = math.nan
    n: int = 0
    paper: str = ""
    source: str = ""
    detail: str = ""
    diagnostics: str = ""


@dataclasses.dataclass
class FigureResult:
    """The drawn figure, its checks (things the software must get right: each can fail), its
    findings (paper claims with their decisions), the dataset behind it and a short written
    finding (what the experiment shows, in words; the report prints it under the checks)."""

    figure: object
    checks: list
    dataset: object = None
    finding: str = ""
    findings: list = dataclasses.field(default_factory=list)


def _seconds(owner: str, field: str, value, *, optional: bool = False):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
            value) or value <= 0:
        raise ValueError(f"{owner}: {field}={value!r} must be a finite number of seconds > 0"
                         + (" (or None: not known)" if optional else ""))
    return float(value)


STATUSES = ("RECONSTRUCTION", "CONFIRMED")


@dataclasses.dataclass(frozen=True)
class FigureConfig:
    """A paper figure: ``run(quick)`` computes, draws and checks it.

    ``status`` is "RECONSTRUCTION" or "CONFIRMED" (as in the specs).  ``quick_s`` and
    ``full_s`` are the expected wall times in seconds of the quick and the full run on a 2-core
    machine (the time that ``collapse-lab repro NAME`` prints, imports not counted);
    ``quick_measured`` says that ``quick_s`` was measured rather than estimated.

    A config module holds each figure whole -- its settings (quick and full), its expected
    values with their sources, its checks, its run function and this config -- and imports the
    library inside the run function only, so that listing the figures never imports JAX.

    ``settings(quick)`` returns every setting that determines the result of one mode, as plain
    JSON values (seeds, claims with their delta_min, training configurations, ...): the key
    under which a full-mode result is committed (:func:`paper_repro.results.config_hash`), so
    a changed setting invalidates it.  None: the figure declares no settings, and its results
    are neither stored nor reused.
    """

    name: str
    paper: str
    title: str
    status: str
    description: str
    quick_s: float
    full_s: float
    run: Callable[[bool], FigureResult]
    quick_measured: bool = False
    settings: Callable[[bool], dict] | None = None

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"{self.name}: status={self.status!r} is not one of "
                             f"{list(STATUSES)}")
        object.__setattr__(self, "quick_s", _seconds(self.name, "quick_s", self.quick_s))
        object.__setattr__(self, "full_s", _seconds(self.name, "full_s", self.full_s))

    def seconds(self, quick: bool) -> float:
        """The expected wall time of one mode."""
        return self.quick_s if quick else self.full_s


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """A named parameter sweep (``collapse-lab sweep NAME``), described without importing the
    library: ``axes(quick)`` gives the grid as ``(field, values)`` pairs (plain numbers),
    ``model(quick)`` the sweepable model at the fixed parameters (this imports the library),
    and :meth:`spec` joins them into a :class:`simulations.sweep.SweepSpec`.

    ``quick_s`` / ``full_s``: wall time in seconds of the default grid in one process on a
    2-core machine, or None where nothing was measured; ``collapse-lab sweep NAME --show``
    scales it by the number of points to estimate a changed grid.
    """

    name: str
    description: str
    axes: Callable[[bool], list]
    model: Callable[[bool], object]
    chunk_size: int
    quick_s: float | None = None
    full_s: float | None = None

    def __post_init__(self):
        if isinstance(self.chunk_size, bool) or not isinstance(self.chunk_size, int) \
                or self.chunk_size < 1:
            raise ValueError(f"{self.name}: chunk_size={self.chunk_size!r} must be an "
                             "integer >= 1")
        for field in ("quick_s", "full_s"):
            object.__setattr__(self, field, _seconds(self.name, field, getattr(self, field),
                                                     optional=True))

    def spec(self, quick: bool):
        """The :class:`~simulations.sweep.SweepSpec` of one mode."""
        from simulations.sweep import SweepSpec

        return SweepSpec(self.name, self.model(quick), axes=self.axes(quick),
                         chunk_size=self.chunk_size, description=self.description)

    def n_points(self, quick: bool) -> int:
        """Points of the default grid of one mode (the product of the axes' lengths)."""
        return math.prod(len(values) for _, values in self.axes(quick))

    def seconds(self, quick: bool) -> float | None:
        """The measured wall time of the default grid of one mode, or None."""
        return self.quick_s if quick else self.full_s
