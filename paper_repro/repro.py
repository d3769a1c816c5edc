"""``collapse-lab repro``: run figures into a report folder, and in full mode reuse or commit
their results (:mod:`paper_repro.results`).

Per figure (:func:`run_repro`): in full mode, a figure that declares settings
(``FigureConfig.settings``) is looked up under the committed results by the hash of its
settings; a match is copied into ``--out`` and its section merged into the report, saying
"using committed result ... (config <hash>)"; otherwise (or with ``--recompute``) the figure
runs, its files and section are written, and the result is committed under
``results/full/NAME/``.  Quick mode never reads or writes committed results.  A long figure
prints its elapsed time every :data:`HEARTBEAT_S` seconds; Ctrl-C keeps the figures that
finished.
"""

from __future__ import annotations

import collections
import contextlib
import os
import sys
import time
import traceback

from .user_input import check_out

__all__ = ["run_repro", "HEARTBEAT_S"]


def run_repro(args) -> int:
    """``collapse-lab repro NAME|all``: run each figure (full mode: reuse a committed result
    whose config hash matches), write its files and merge its section into the report."""
    from .registry import FIGURES, format_seconds, runtime_table
    from .report import REPORT, SIDECAR, decisions_text, load_sections

    names = list(FIGURES) if args.name == "all" else [args.name]
    for name in names:
        if name not in FIGURES:
            raise ValueError(f"unknown figure {name!r}; available: all, {', '.join(FIGURES)}")
    check_out(args.out)
    if os.path.isdir(args.out):
        load_sections(args.out)  # an unreadable report.json stops here, before any work
    os.makedirs(args.out, exist_ok=True)
    if os.path.exists(os.path.join(args.out, REPORT)) and not os.path.exists(
            os.path.join(args.out, SIDECAR)):
        print(f"note: {os.path.join(args.out, REPORT)} has no {SIDECAR} (an older report): "
              "it is replaced by the figures of this run", flush=True)
    mode = "quick" if args.quick else "full"
    times = runtime_table()
    expected = sum(times[n][mode] for n in names)
    if len(names) > 1:
        print(f"{len(names)} figures, {mode} mode: ~{format_seconds(expected)} expected on 2 "
              f"cores; the report is updated after each figure", flush=True)
    from tqdm.auto import tqdm

    bar = tqdm(names, unit="figure", disable=len(names) < 2, file=sys.stderr)
    say = bar.write if len(names) > 1 else print
    run = {"passed": 0, "failed": 0, "errors": 0}
    t_all = time.perf_counter()
    try:
        for name in bar:
            bar.set_description(name)
            outcome = _repro_one(FIGURES[name], args, say, times[name][mode])
            for key in run:
                run[key] += outcome[key]
            totals = outcome["totals"]
    except KeyboardInterrupt:
        bar.close()
        print(f"\ninterrupted; the figures that finished are in "
              f"{os.path.join(args.out, REPORT)}", file=sys.stderr)
        return 130
    bar.close()
    print(f"this run: {run['passed']} checks passed, {run['failed']} failed, {run['errors']} "
          f"figures errored in {time.perf_counter() - t_all:.1f} s")
    print(f"report: {os.path.join(args.out, REPORT)} ({totals['figures']} figures: "
          f"{totals['passed']} checks passed, {totals['failed']} failed, {totals['errors']} "
          f"errored; findings: {decisions_text(totals['decisions'])})")
    return 0 if run["failed"] == 0 and run["errors"] == 0 else 1


HEARTBEAT_S = 30.0  # seconds between "still running" lines inside a long figure


@contextlib.contextmanager
def _heartbeat(name, start, expected_s, say):
    """Print the elapsed time every HEARTBEAT_S seconds while a figure runs (a thread that
    only prints: it never touches JAX, so it cannot deadlock with the figure's XLA work)."""
    import threading

    from .registry import format_seconds

    stop = threading.Event()

    def beat():
        while not stop.wait(HEARTBEAT_S):
            say(f"[{name}] running, {format_seconds(time.perf_counter() - start)} elapsed "
                f"(~{format_seconds(expected_s)} expected)")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _repro_one(config, args, say, expected_s) -> dict:
    """Run one figure (or, in full mode, reuse its committed result), save its files and
    data, merge its section into the report; commit a full-mode result that has settings."""
    from figures.style import save_figure
    from minimal_models.precision import require_x64

    from .registry import FIGURES, format_seconds
    from .figure_data import write_figure_data
    from .report import decisions_text, make_section, write_report

    # every figure runs with JAX's float64 switch on, whatever its run function imports: the
    # theory checks need float64, and the encoder configs set their own dtypes
    require_x64()
    name = config.name
    start = time.perf_counter()
    data_file = None
    settings = key = None
    try:
        if not args.quick:
            settings, key = _committed_key(config)
            if key is not None and not args.recompute:
                reused = _use_committed(config, key, args, say)
                if reused is not None:
                    return reused
        say(f"[{name}] {config.title} ({'quick' if args.quick else 'full'}, "
            f"~{format_seconds(expected_s)} expected) ...")
        with _heartbeat(name, start, expected_s, say):
            result = config.run(args.quick)
        files = save_figure(result.figure, os.path.join(args.out, name))
        data_file = write_figure_data(os.path.join(args.out, f"{name}.nc"), config, result,
                                      quick=args.quick)
        failed = [c.quantity for c in result.checks if not c.passed]
        decided = decisions_text(collections.Counter(f.decision for f in result.findings))
        say(f"[{name}] {len(result.checks) - len(failed)}/{len(result.checks)} checks passed"
            + (f", findings: {decided}" if result.findings else "")
            + f" in {time.perf_counter() - start:.1f} s"
            + (f"; FAILED: {failed}" if failed else ""))
    except Exception as exc:  # one broken figure must not hide the others
        traceback.print_exc()
        say(f"[{name}] ERROR after {time.perf_counter() - start:.1f} s: "
            f"{type(exc).__name__}: {exc}")
        result, files = exc, []
    seconds = time.perf_counter() - start
    section = make_section(config, result, seconds, files, quick=args.quick,
                           data_file=data_file)
    errored = isinstance(result, Exception)
    if key is not None and not errored:
        from .results import store_figure_result

        folder = store_figure_result(config, section, files + [data_file], settings=settings,
                                     key=key, seconds=seconds, root=args.results)
        say(f"[{name}] result committed to {folder} (config {key})")
    totals = write_report(args.out, [section], order=list(FIGURES))
    return {"passed": 0 if errored else len(result.checks) - len(failed),
            "failed": 0 if errored else len(failed), "errors": int(errored),
            "totals": totals}


def _committed_key(config):
    """(settings, config hash) of the figure's full mode, or (None, None) without settings."""
    from .results import figure_settings_hash

    return figure_settings_hash(config, quick=False)


def _use_committed(config, key, args, say):
    """Copy a committed result whose key is ``key`` into ``--out`` and merge its section into
    the report, saying so; None (after saying why) when there is none to use."""
    import shutil

    from .registry import FIGURES
    from .report import write_report
    from .results import committed_result

    name = config.name
    found = committed_result(name, key, root=args.results)
    if found is None:
        return None
    if not found.matches:
        say(f"[{name}] the committed result in {found.folder} was made with config "
            f"{found.config_hash}, not {key} (settings changed, or a file is missing): "
            "recomputing")
        return None
    say(f"[{name}] using committed result {found.folder} (config {key}, computed "
        f"{found.meta['date']} in {found.meta['seconds']:.0f} s); --recompute to rerun")
    section = dict(found.section)
    for path in found.files:
        shutil.copyfile(path, os.path.join(args.out, os.path.basename(path)))
    kept = [os.path.basename(p) for p in found.files]
    section["files"] = [f for f in kept if not f.endswith(".nc")]
    section["data"] = next((f for f in kept if f.endswith(".nc")), None)
    section["committed"] = {"folder": os.path.relpath(found.folder), "config_hash": key,
                            "date": found.meta["date"], "seconds": found.meta["seconds"]}
    totals = write_report(args.out, [section], order=list(FIGURES))
    ok = sum(c["passed"] for c in section["checks"])
    return {"passed": ok, "failed": len(section["checks"]) - ok, "errors": 0,
            "totals": totals}
