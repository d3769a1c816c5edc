"""What the three validation experiments share: the papers they test, their status, and how a
written finding is attached to a figure's result."""

from __future__ import annotations

from ..base import FigureResult

PAPER_COLLAPSE = "Minimal model of representation collapse (arXiv:2604.09979)"
PAPER_HAM = "Beyond Isotropy in JEPAs (arXiv:2605.20107)"
PAPER_HYPER = "Hypersolid (arXiv:2601.21255)"
STATUS = "RECONSTRUCTION"


def with_finding(result: FigureResult, text: str) -> FigureResult:
    """Attach the written finding (the report prints it; the dataset keeps it in
    ``attrs["finding"]`` too)."""
    result.finding = text
    if result.dataset is not None:
        result.dataset.attrs["finding"] = text
    return result
