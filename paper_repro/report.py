"""The reproduction report: every figure's expected values next to ours, with pass/fail, and the
paper claims with our decision about each.

The report accumulates.  Each ``repro`` run records one *section* per figure it ran in a
machine-readable sidecar ``report.json`` (the figure's checks, findings, files, mode, time),
replacing that figure's previous section and keeping every other one, and ``report.md`` is
rendered from all sections.  So ``repro F3`` then ``repro HG_price`` into the same folder
ends with both figures in the report, and the summary totals count every section once.  The
read-merge-write happens under the folder's lock (``<folder>/.lock``, the sweep store's lock),
so two ``repro`` runs finishing together into one folder both keep their sections.  Beside
each figure, ``NAME.nc`` holds the numbers the figure shows (:mod:`paper_repro.figure_data`).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime
import json
import math
import os
import platform
import time

__all__ = ["REPORT", "SIDECAR", "decisions_text", "load_sections", "make_section",
           "merge_sections", "render_report", "write_report", "summary_totals",
           "findings_markdown"]

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


def decisions_text(counter) -> str:
    """Findings counted by decision, e.g. "1 equivalent, 2 reproduced" (or "none")."""
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
        if f.get("diagnostics"):  # beside the decision, never instead of it
            notes.append(f"- {f['claim']}, diagnostics: {f['diagnostics']}")
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
        f"{decisions_text(totals['decisions'])}.",
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
            findings = decisions_text(collections.Counter(f["decision"] for f in s["findings"]))
        lines.append(f"| {s['name']} | {_cell(s['paper'])} | {s['status']} | {s['mode']} | "
                     f"{checks} | {findings} | {s['seconds']:.1f} | {s['generated']} |")
    lines.append("")
    for s in ordered:
        lines += [f"## {s['name']}: {s['title']} ({s['status']})", "", s["description"], ""]
        links = s["files"] + ([s["data"]] if s.get("data") else [])
        if links:
            lines += [" ".join(f"[{f}]({f})" for f in links), ""]
        if s.get("committed"):
            c = s["committed"]
            lines += [f"Using the committed result `{c['folder']}` (config {c['config_hash']}, "
                      f"computed {c['date']} in {c['seconds']:.1f} s); `collapse-lab repro "
                      f"{s['name']} --recompute` reruns it.", ""]
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


def _effect_text(f) -> str:
    lo, hi = f["ci"]
    if f["effect"] is None:
        return "nan"
    return f"{f['effect']:+.4g} [{_fmt(lo)}, {_fmt(hi)}]"


def findings_markdown(results: dict) -> str:
    """The findings table of committed results (``results``: name -> result.json content, as
    :func:`paper_repro.results.committed_sections` returns): one row per claim with its
    decision, effect [95 % bootstrap CI], p, delta_min, the paper's number and the
    diagnostics beside the decision; a line per figure with its config hash, date and wall
    time.  Markdown, for the README."""
    lines = ["| figure | claim | decision | effect [95% CI] | p | delta_min | paper | "
             "diagnostics |", "|---|---|---|---|---|---|---|---|"]
    sources = []
    for name, meta in results.items():
        section = meta["section"]
        for f in section.get("findings", []):
            lines.append(f"| {name} | {_cell(f['claim'])} | **{_cell(f['decision'])}** | "
                         f"{_effect_text(f)} | {_fmt(f['p'])} | {_fmt(f['delta_min'])} | "
                         f"{_cell(f['paper'])} | {_cell(f.get('diagnostics') or '')} |")
        sources.append(f"- {name}: {section.get('mode', 'full')} mode, config "
                       f"{meta['config_hash']}, computed {meta['date']} in "
                       f"{meta['seconds']:.0f} s (collapse-lab {meta['package_version']})")
    if len(lines) == 2:
        lines.append("| (no committed findings) | | | | | | | |")
    return "\n".join(lines + [""] + sources) + "\n"


def _atomic_text(path, text: str) -> None:
    from simulations.artifacts import atomic_write

    def write(tmp):
        with open(tmp, "w") as fh:
            fh.write(text)

    atomic_write(path, write)


LOCK_WAIT_S = 120.0  # how long a writer waits for another one to finish its report


@contextlib.contextmanager
def _report_lock(directory):
    """Hold ``directory/.lock`` while reading, merging and writing the report.  The sweep
    store's lock refuses a second live holder instead of waiting, so wait here in short
    sleeps (a report write takes well under a second); a lock left by a killed process is
    taken over by the store lock itself."""
    from simulations.sweep.store import StoreLockedError, store_lock

    deadline = time.monotonic() + LOCK_WAIT_S
    with contextlib.ExitStack() as stack:
        while True:
            try:
                stack.enter_context(store_lock(os.fspath(directory)))
                break
            except StoreLockedError as exc:
                if time.monotonic() > deadline:
                    raise ValueError(f"the report in {os.fspath(directory)!r} stayed locked "
                                     f"for {LOCK_WAIT_S:g} s ({exc})") from None
                time.sleep(0.01)
        yield


def write_report(directory, new_sections, *, order=None) -> dict:
    """Merge ``new_sections`` into ``directory/report.json`` and render ``report.md`` from all
    sections (both written atomically, the whole read-merge-write under the folder's lock).
    Returns :func:`summary_totals` over all sections."""
    with _report_lock(directory):
        sections = merge_sections(load_sections(directory), new_sections)
        _atomic_text(os.path.join(directory, SIDECAR),
                     json.dumps({"format": _FORMAT, "figures": sections}, indent=1,
                                allow_nan=False))
        _atomic_text(os.path.join(directory, REPORT), render_report(sections, order=order))
    return summary_totals(_ordered(sections, order))
