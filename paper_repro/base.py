"""What one reproduced figure is: a config that runs, draws, and states what it expects."""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

__all__ = ["Check", "Finding", "FigureResult", "FigureConfig"]


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
    ``decision`` is one of "reproduced", "opposite", "equivalent", "unresolved", or a regime
    verdict that makes the comparison uninformative ("out of regime", "predictor inert").
    ``effect`` is the mean paired difference (a - b) with its confidence interval ``ci``,
    ``p`` the (Holm-adjusted) p-value of the decision, ``delta_min`` the pre-registered minimal
    effect, ``paper`` the paper's number or statement beside ours.
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


@dataclasses.dataclass(frozen=True)
class FigureConfig:
    """A paper figure: ``run(quick)`` computes, draws and checks it.

    ``status`` is "RECONSTRUCTION" or "CONFIRMED" (as in the specs); ``runtime`` states the
    expected wall time of the quick and the full run on a 2-core machine, as
    ``"quick ~N s|min|h ..., full ~N s|min|h ..."`` (parsed by
    :func:`paper_repro.registry.runtime_seconds`; measured quick times, where there are any,
    are in :data:`paper_repro.registry.MEASURED_QUICK_S`).
    """

    name: str
    paper: str
    title: str
    status: str
    description: str
    runtime: str
    run: Callable[[bool], FigureResult]
