"""The reproduction report: every figure's expected values next to ours, with pass/fail, and the
paper claims with our decision about each.

The report accumulates.  Each ``repro`` run records one *section* per figure it ran in a
machine-readable sidecar ``report.json`` (the figure's checks, findings, files, mode, time),
replacing that figure's previous section and keeping every other one, and ``report.md`` is
rendered from all sections.  So ``repro F3`` then ``repro HG_price`` into the same folder ends
with both figures in the report, and the summary totals count every section once.  Beside each
figure, ``NAME.nc`` holds the numbers the figure shows (the figure's dataset, or its checks
where it has none), with the checks and findings as netCDF groups ``checks`` and ``findings``.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import json
import math
import os
import platform

import numpy as np

__all__ = ["REPORT", "SIDECAR", "load_sections", "make_section", "merge_sections",
           "render_report", "write_report", "write_figure_data", "summary_totals"]

REPORT = "report.md"
SIDECAR = "report.json"
_FORMAT = 1  # version of the sidecar layout


# ------------------------------------------------------------------------------ sections

def _num(x):
    """JSON has no NaN/inf: store them as null (read back as NaN)."""
    x = float(x)
    return x if math.isfinite(x) else None


def _unnum(x):
    return math.nan if x is None else float(x)


def _check_record(c) -> dict:
    return {"quantity": c.quantity, "expected": _num(c.expected), "measured": _num(c.measured),
            "rtol": c.rtol, "atol": c.atol, "kind": c.kind, "source": c.source,
            "tolerance": c.tolerance_text(), "passed": bool(c.passed)}


def _finding_record(f) -> dict:
    record = dataclasses.asdict(f)
    record["effect"] = _num(f.effect)
    record["ci"] = [_num(v) for v in f.ci]
    record["p"] = _num(f.p)
    record["delta_min"] = _num(f.delta_min)
    record["n"] = int(f.n)
    return record


def make_section(config, result, seconds: float, files, *, quick: bool,
                 data_file: str | None = None) -> dict:
    """One figure's section of the sidecar: ``result`` is a FigureResult, or the exception
    the figure raised (recorded as an error)."""
    section = {
        "name": config.name, "title": config.title, "paper": config.paper,
        "status": config.status, "description": config.description,
        "mode": "quick" if quick else "full", "seconds": round(float(seconds), 2),
        "generated": f"{datetime.datetime.now():%Y-%m-%d %H:%M}",
        "host": platform.node() or "unknown host",
        "files": [os.path.basename(f) for f in files],
        "data": os.path.basename(data_file) if data_file else None,
        "checks": [], "findings": [], "finding": "", "error": None,
    }
    if isinstance(result, BaseException):
        section["error"] = f"{type(result).__name__}: {result}"
        return section
    section["checks"] = [_check_record(c) for c in result.checks]
    section["findings"] = [_finding_record(f) for f in (result.findings or [])]
    section["finding"] = result.finding or ""
    return section


def load_sections(directory) -> dict:
    """The sections recorded in ``directory/report.json`` (name -> section; empty when there
    is none).  Raises ValueError naming the file when it exists but cannot be read, so a
    ``repro`` run stops before its work instead of overwriting results it cannot merge."""
    path = os.path.join(directory, SIDECAR)
    if not os.path.exists(path):
        return {}
    try:
        with open(path) as fh:
            data = json.load(fh)
        sections = data["figures"]
        if data.get("format") != _FORMAT or not isinstance(sections, dict) or not all(
                isinstance(s, dict) and s.get("name") == k for k, s in sections.items()):
            raise ValueError("unexpected layout")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a collapse-lab report sidecar ({exc}); move it away or "
                         "use another --out") from None
    return sections


def merge_sections(old: dict, new) -> dict:
    """``old`` with each section of ``new`` replacing the one of the same figure."""
    merged = dict(old)
    for section in new:
        merged[section["name"]] = section
    return merged


def _ordered(sections: dict, order) -> list:
    """Registry order first (the order of ``collapse-lab list``), then any other name."""
    rank = {name: i for i, name in enumerate(order or ())}
    return sorted(sections.values(), key=lambda s: (rank.get(s["name"], len(rank)), s["name"]))


def summary_totals(sections) -> dict:
    """Checks passed / failed and errored figures over ``sections``, and the findings counted
    by decision (findings never count as failures)."""
    totals = {"figures": 0, "passed": 0, "failed": 0, "errors": 0,
              "decisions": collections.Counter()}
    for s in sections:
        totals["figures"] += 1
        if s["error"] is not None:
            totals["errors"] += 1
            continue
        ok = sum(c["passed"] for c in s["checks"])
        totals["passed"] += ok
        totals["failed"] += len(s["checks"]) - ok
        totals["decisions"].update(f["decision"] for f in s["findings"])
    return totals


# ------------------------------------------------------------------------------ rendering

def _fmt(x) -> str:
    if x is None:
        return "nan"
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e6):
        return f"{x:g}"
    return f"{x:.6g}"


def _cell(text) -> str:
    """Escape the pipes of |x| and drop newlines so a table cell stays one cell."""
    return " ".join(str(text).split("\n")).replace("|", "\\|")


def _decisions_text(counter) -> str:
    return ", ".join(f"{n} {d}" for d, n in sorted(counter.items())) or "none"


def _findings_table(findings) -> list:
    lines = ["Findings: paper claims and our decision (a finding never fails the run; "
             "\"not reproduced\" is a result).", "",
             "| claim | paper | ours: effect [95% CI] | p | delta_min | n | decision | source |",
             "|---|---|---|---|---|---|---|---|"]
    notes = []
    for f in findings:
        lo, hi = f["ci"]
        lines.append(f"| {_cell(f['claim'])} | {_cell(f['paper'])} | {_fmt(f['effect'])} "
                     f"[{_fmt(lo)}, {_fmt(hi)}] | {_fmt(f['p'])} | {_fmt(f['delta_min'])} | "
                     f"{f['n']} | **{_cell(f['decision'])}** | {_cell(f['source'])} |")
        if f.get("detail"):
            notes.append(f"- {f['claim']}: {f['detail']}")
    return lines + [""] + (notes + [""] if notes else [])


def render_report(sections: dict, *, order=None) -> str:
    """The text of ``report.md`` for all ``sections`` (name -> section of the sidecar)."""
    ordered = _ordered(sections, order)
    totals = summary_totals(ordered)
    lines = [
        "# collapse-lab reproduction report",
        "",
        f"Rendered {datetime.datetime.now():%Y-%m-%d %H:%M} on "
        f"{platform.node() or 'unknown host'} (Python {platform.python_version()}) from "
        f"`{SIDECAR}`: each `collapse-lab repro` run replaces the sections of the figures it "
        "ran and keeps the others; the mode and time of each section are its own run's.",
        "",
        "Figures marked RECONSTRUCTION are not the paper's figures: they implement the "
        "reconstruction in `shared/specs/`, and their expected values come from those specs.",
        "Figures marked CONFIRMED use the settings and metrics of the paper or of the authors' "
        "code. In every table the source column says where each expected value comes from; "
        "a bound marked OURS is our choice, not the paper's.",
        "Checks are what the software must get right (each can fail the run); findings are the "
        "papers' claims with our decision about each (they never fail the run).",
        "",
        f"**Summary**: {totals['figures']} figures; checks {totals['passed']} passed, "
        f"{totals['failed']} failed; {totals['errors']} figures errored; findings: "
        f"{_decisions_text(totals['decisions'])}.",
        "",
        "| figure | paper | status | mode | checks passed | findings | time (s) | run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in ordered:
        if s["error"] is not None:
            checks, findings = "ERROR", "-"
        else:
            ok = sum(c["passed"] for c in s["checks"])
            checks = f"{ok}/{len(s['checks'])}"
            findings = _decisions_text(collections.Counter(f["decision"] for f in s["findings"]))
        lines.append(f"| {s['name']} | {_cell(s['paper'])} | {s['status']} | {s['mode']} | "
                     f"{checks} | {findings} | {s['seconds']:.1f} | {s['generated']} |")
    lines.append("")
    for s in ordered:
        lines += [f"## {s['name']}: {s['title']} ({s['status']})", "", s["description"], ""]
        links = s["files"] + ([s["data"]] if s.get("data") else [])
        if links:
            lines += [" ".join(f"[{f}]({f})" for f in links), ""]
        if s["error"] is not None:
            lines += [f"**ERROR**: `{s['error']}`", ""]
            continue
        lines += ["| quantity | expected | measured | tolerance | source | result |",
                  "|---|---|---|---|---|---|"]
        for c in s["checks"]:
            lines.append(f"| {_cell(c['quantity'])} | {_fmt(c['expected'])} | "
                         f"{_fmt(c['measured'])} | {c['tolerance']} | {_cell(c['source'])} | "
                         f"{'pass' if c['passed'] else '**FAIL**'} |")
        lines.append("")
        if s["findings"]:
            lines += _findings_table(s["findings"])
        if s["finding"]:
            lines += [f"**Finding.** {s['finding']}", ""]
    return "\n".join(lines)


def _atomic_text(path, text: str) -> None:
    from simulations.artifacts import atomic_write

    def write(tmp):
        with open(tmp, "w") as fh:
            fh.write(text)

    atomic_write(path, write)


def write_report(directory, new_sections, *, order=None) -> dict:
    """Merge ``new_sections`` into ``directory/report.json`` and render ``report.md`` from all
    sections (both written atomically).  Returns :func:`summary_totals` over all sections."""
    sections = merge_sections(load_sections(directory), new_sections)
    _atomic_text(os.path.join(directory, SIDECAR),
                 json.dumps({"format": _FORMAT, "figures": sections}, indent=1,
                            allow_nan=False))
    _atomic_text(os.path.join(directory, REPORT), render_report(sections, order=order))
    return summary_totals(_ordered(sections, order))


# ------------------------------------------------------------------------------ data files

def _netcdf_attr(value):
    """netCDF attributes are numbers, strings or flat arrays: encode anything else."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (str, int, float, np.number)):
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind in "iufS":
        return value
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in value):
        return list(value)
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def _clean_attrs(ds):
    ds = ds.copy()
    ds.attrs = {k: _netcdf_attr(v) for k, v in ds.attrs.items()}
    for name in ds.variables:
        ds[name].attrs = {k: _netcdf_attr(v) for k, v in ds[name].attrs.items()}
        ds[name].encoding = {}
    return ds


def checks_dataset(checks):
    """The checks as a small Dataset over dimension ``check`` (units: those of each quantity,
    stated in its name)."""
    import xarray as xr

    n = len(checks)
    return xr.Dataset(
        {"expected": ("check", np.array([c.expected for c in checks], float),
                      {"description": "expected value (from the source column)"}),
         "measured": ("check", np.array([c.measured for c in checks], float),
                      {"description": "our measured value, same units as expected"}),
         "rtol": ("check", np.array([c.rtol for c in checks], float),
                  {"description": "relative tolerance", "units": "1"}),
         "atol": ("check", np.array([c.atol for c in checks], float),
                  {"description": "absolute tolerance, units of the quantity"}),
         "kind": ("check", np.array([c.kind for c in checks], dtype=str),
                  {"description": "close: |measured - expected| <= atol + rtol |expected|; "
                                  "max / min: measured is an upper / lower bound"}),
         "source": ("check", np.array([c.source for c in checks], dtype=str),
                    {"description": "where the expected value comes from"}),
         "passed": ("check", np.array([int(c.passed) for c in checks], np.int8),
                    {"description": "1 if the check passed, else 0", "units": "1"})},
        coords={"check": ("check", np.arange(n),
                          {"description": "index of the check in the report table"}),
                "quantity": ("check", np.array([c.quantity for c in checks], dtype=str),
                             {"description": "what is checked (units in the name)"})})


def findings_dataset(findings):
    """The findings as a small Dataset over dimension ``finding``."""
    import xarray as xr

    def col(attr, dtype=float):
        return np.array([getattr(f, attr) for f in findings], dtype=dtype)

    return xr.Dataset(
        {"decision": ("finding", col("decision", str), {"description": "our decision"}),
         "effect": ("finding", col("effect"),
                    {"description": "mean paired difference (a - b), units of the claim"}),
         "ci_low": ("finding", np.array([f.ci[0] for f in findings], float),
                    {"description": "lower end of the effect's confidence interval"}),
         "ci_high": ("finding", np.array([f.ci[1] for f in findings], float),
                     {"description": "upper end of the effect's confidence interval"}),
         "p": ("finding", col("p"), {"description": "(Holm-adjusted) p-value", "units": "1"}),
         "delta_min": ("finding", col("delta_min"),
                       {"description": "pre-registered minimal effect, units of the claim"}),
         "n": ("finding", col("n", np.int64), {"description": "number of paired runs"}),
         "paper": ("finding", col("paper", str), {"description": "the paper's number or "
                                                                 "statement"}),
         "source": ("finding", col("source", str), {"description": "where the claim is"})},
        coords={"finding": ("finding", np.arange(len(findings)),
                            {"description": "index of the finding in the report table"}),
                "claim": ("finding", col("claim", str), {"description": "the paper's claim"})})


def write_figure_data(path, config, result, *, quick: bool) -> str:
    """Write ``path`` (netCDF, atomically): the figure's dataset (a Dataset or DataArray) or,
    where it has none, its checks; plus groups ``checks`` and ``findings``.  Returns ``path``."""
    import xarray as xr

    from simulations.artifacts import atomic_write, package_version

    data = result.dataset
    if isinstance(data, xr.DataArray):
        data = data.to_dataset(name=data.name or "value")
    if not isinstance(data, xr.Dataset):
        data = checks_dataset(result.checks)
    stamp = {"figure": config.name, "title": config.title, "paper": config.paper,
             "status": config.status, "mode": "quick" if quick else "full",
             "package_version": package_version(),
             "groups": "checks" + (", findings" if result.findings else "")}

    def write_with(root):
        def write(tmp):
            root.to_netcdf(tmp, engine="netcdf4")
            checks_dataset(result.checks).to_netcdf(tmp, mode="a", group="checks",
                                                    engine="netcdf4")
            if result.findings:
                findings_dataset(result.findings).to_netcdf(tmp, mode="a", group="findings",
                                                            engine="netcdf4")
        atomic_write(path, write)

    root = _clean_attrs(data)
    root.attrs.update(stamp)
    try:
        write_with(root)
    except (TypeError, ValueError) as exc:
        # a dataset netCDF cannot hold (object arrays, ...) must not fail the figure: keep
        # its checks and say why the numbers are missing
        root = checks_dataset(result.checks)
        root.attrs.update(stamp, dataset_not_written=f"{type(exc).__name__}: {exc}")
        write_with(root)
    return path
