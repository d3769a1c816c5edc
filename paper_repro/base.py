"""What one reproduced figure is: a config that runs, draws, and states what it expects."""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

__all__ = ["Check", "FigureResult", "FigureConfig"]


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


@dataclasses.dataclass
class FigureResult:
    """The drawn figure, its checks, the dataset behind it and a short written finding (what
    the experiment shows, in words; the report prints it under the checks)."""

    figure: object
    checks: list
    dataset: object = None
    finding: str = ""


@dataclasses.dataclass(frozen=True)
class FigureConfig:
    """A paper figure: ``run(quick)`` computes, draws and checks it.

    ``status`` is "RECONSTRUCTION" or "CONFIRMED" (as in the specs); ``runtime`` states the
    expected wall time of the quick and the full run on a 2-core machine.
    """

    name: str
    paper: str
    title: str
    status: str
    description: str
    runtime: str
    run: Callable[[bool], FigureResult]
