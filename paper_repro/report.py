"""The reproduction report: every figure's expected values next to ours, with pass/fail."""

from __future__ import annotations

import datetime
import platform

__all__ = ["write_report"]


def _fmt(x) -> str:
    if isinstance(x, (int,)) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e6):
        return f"{x:g}"
    return f"{x:.6g}"


def _cell(text: str) -> str:
    """Escape the pipes of |x| so a table cell stays one cell."""
    return str(text).replace("|", "\\|")


def write_report(entries, path, *, quick: bool) -> dict:
    """Write ``report.md``.  ``entries``: (FigureConfig, FigureResult | Exception, seconds,
    [saved files]).  Returns counts of passed and failed checks and failed figures."""
    lines = [
        "# collapse-lab reproduction report",
        "",
        f"Mode: {'quick' if quick else 'full'}; generated {datetime.datetime.now():%Y-%m-%d %H:%M}"
        f" on {platform.node() or 'unknown host'} (Python {platform.python_version()}).",
        "",
        "Figures marked RECONSTRUCTION are not the paper's figures: they implement the "
        "reconstruction in `shared/specs/`, and their expected values come from those specs.",
        "Figures marked CONFIRMED use the settings and metrics of the paper or of the authors' "
        "code. In every table the source column says where each expected value comes from; "
        "a bound marked OURS is our choice, not the paper's.",
        "",
        "| figure | paper | status | checks passed | time (s) |",
        "|---|---|---|---|---|",
    ]
    totals = {"passed": 0, "failed": 0, "errors": 0}
    for config, result, seconds, _ in entries:
        if isinstance(result, Exception):
            totals["errors"] += 1
            lines.append(f"| {config.name} | {config.paper} | {config.status} | ERROR | "
                         f"{seconds:.1f} |")
            continue
        ok = sum(c.passed for c in result.checks)
        totals["passed"] += ok
        totals["failed"] += len(result.checks) - ok
        lines.append(f"| {config.name} | {config.paper} | {config.status} | "
                     f"{ok}/{len(result.checks)} | {seconds:.1f} |")
    lines.append("")
    for config, result, seconds, files in entries:
        lines += [f"## {config.name}: {config.title} ({config.status})", "",
                  config.description, ""]
        if files:
            lines += [" ".join(f"[{f.rsplit('/', 1)[-1]}]({f.rsplit('/', 1)[-1]})" for f in files), ""]
        if isinstance(result, Exception):
            lines += [f"**ERROR**: `{type(result).__name__}: {result}`", ""]
            continue
        lines += ["| quantity | expected | measured | tolerance | source | result |",
                  "|---|---|---|---|---|---|"]
        for c in result.checks:
            lines.append(f"| {_cell(c.quantity)} | {_fmt(c.expected)} | {_fmt(c.measured)} | "
                         f"{c.tolerance_text()} | {_cell(c.source)} | "
                         f"{'pass' if c.passed else '**FAIL**'} |")
        lines.append("")
        if result.finding:
            lines += [f"**Finding.** {result.finding}", ""]
    with open(path, "w") as fh:
        fh.write("\n".join(lines))
    return totals
