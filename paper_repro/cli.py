"""The ``collapse-lab`` command line: list, sweep, repro, train.

A user error (a bad name or value, an unusable ``--out``, unreadable input files, a damaged
store) ends as one line ``collapse-lab: error: ...`` on stderr with exit code 2, before anything
is written; ``COLLAPSE_LAB_TRACEBACK=1`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import sys
import tempfile
import time
import traceback

__all__ = ["main", "parse_assignment", "check_out"]


def _parse_scalar(text: str):
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def parse_assignment(text: str):
    """``key=value`` -> (key, value); a comma-separated value becomes a tuple (axis values)."""
    if "=" not in text:
        raise ValueError(f"--set expects key=value, got {text!r}")
    key, value = text.split("=", 1)
    parts = [_parse_scalar(v) for v in value.split(",")]
    return key.strip(), tuple(parts) if len(parts) > 1 else parts[0]


def check_out(path, *, option: str = "--out", store: bool = False) -> None:
    """Refuse an output path that cannot be used, before any work: an existing file where a
    directory belongs, a path under a file, or a place where nothing can be created.

    The writability test creates and removes an empty directory where the run will write (the
    nearest existing folder), because permission bits do not tell (root, read-only mounts).
    ``store``: ``path`` is a sweep store, and its dataset ``<path minus suffix>.nc`` is
    written beside it.  Raises ValueError naming the option, the path and the problem."""
    text = os.fspath(path)
    if not text.strip():
        raise ValueError(f"{option}={text!r} is empty; give a directory")
    path = os.path.abspath(text)
    kind = "a zarr store (a directory)" if store else "a directory"
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{option}={text!r} is an existing file; it must be {kind}")
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ValueError(f"{option}={text!r} lies under the file {existing!r}; it must be "
                         f"{kind}")
    if store:
        final = os.path.splitext(path.rstrip(os.sep))[0] + ".nc"
        if os.path.isdir(final):
            raise ValueError(f"{option}={text!r}: its dataset {final!r} would replace a "
                             "directory; choose another store name")
    probes = {existing}
    if store and existing == path:  # the store exists: the dataset goes beside it
        probes.add(os.path.dirname(path))
    for where in sorted(probes):
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".collapse-lab-probe-", dir=where))
        except OSError as exc:
            raise ValueError(f"{option}={text!r} is not writable: cannot create anything in "
                             f"{where!r} ({exc.strerror or exc})") from None


def _cmd_list(args) -> int:
    from .registry import FIGURES, START_HERE, SWEEPS, format_seconds, runtime_table

    times = runtime_table()
    quick_all = sum(t["quick"] for t in times.values())
    full_all = sum(t["full"] for t in times.values())
    start_quick = times[START_HERE]["quick"]
    print("start here:")
    print(f"  collapse-lab repro {START_HERE} --quick --out out   # one figure, "
          f"~{format_seconds(start_quick)} + a few s of imports; writes out/report.md")
    print(f"  collapse-lab repro all --quick --out out        # every figure, "
          f"~{format_seconds(quick_all)} in total")
    print(f"  collapse-lab repro all --out out-full           # full settings, "
          f"~{format_seconds(full_all)} in total on 2 cores")
    print("figures (collapse-lab repro NAME; time quick / full on 2 cores; * = measured, "
          "others are the config's estimate):")
    for name, config in FIGURES.items():
        t = times[name]
        quick = format_seconds(t["quick"]) + ("*" if t["quick_measured"] else "")
        print(f"  {name:<16} {quick:>7} / {format_seconds(t['full']):<7} [{config.status}] "
              f"{config.title}: {config.description}")
    print("sweeps (collapse-lab sweep NAME [--quick]):")
    for name, (_, description) in SWEEPS.items():
        print(f"  {name:<16} {description}")
    return 0


@contextlib.contextmanager
def _dask_client(args):
    """None (run in this process), a local cluster of ``--workers`` processes, or the
    ``--scheduler`` at an address (workers on other hosts need the store on a shared path)."""
    if args.workers is None and args.scheduler is None:
        yield None
        return
    if args.workers is not None and args.scheduler is not None:
        raise ValueError("give --workers (a local cluster) or --scheduler (an existing one), "
                         "not both")
    from dask.distributed import Client, LocalCluster

    if args.scheduler is not None:
        with Client(args.scheduler) as client:
            yield client
        return
    if args.workers < 1:
        raise ValueError(f"--workers={args.workers} must be an integer >= 1")
    # one single-threaded process per worker: the chunks' XLA work is too small to share cores
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def _cmd_sweep(args) -> int:
    from simulations.sweep import run_sweep

    from .registry import SWEEPS

    if args.name not in SWEEPS:
        raise ValueError(f"unknown sweep {args.name!r}; available: {sorted(SWEEPS)}")
    spec = SWEEPS[args.name][0](args.quick)
    spec = spec.with_overrides(dict(parse_assignment(s) for s in args.set))
    store = args.out or os.path.join("out", "sweeps", f"{spec.name}.zarr")
    check_out(store, store=True)
    os.makedirs(os.path.dirname(os.path.abspath(store)), exist_ok=True)
    print(f"sweep {spec.name}: {spec.n_points} points in {spec.n_chunks} chunks -> {store}")
    try:
        with _dask_client(args) as client:
            ds = run_sweep(spec, store, progress=True, client=client)
    except KeyboardInterrupt:
        print(f"\ninterrupted; finished chunks are kept in {store}: rerun the same command "
              "to resume", file=sys.stderr)
        return 130
    failed = int((ds["result"] != 0).sum()) if "result" in ds else 0
    final = os.path.splitext(store.rstrip("/"))[0] + ".nc"
    ds.to_netcdf(final + ".tmp")
    os.replace(final + ".tmp", final)  # never leave a half-written dataset behind
    print(ds)
    print(f"done: {spec.n_points} points, {failed} solver failures, store {store}, "
          f"dataset {final}")
    return 0


def _cmd_repro(args) -> int:
    from .registry import FIGURES, format_seconds, runtime_table
    from .report import REPORT, SIDECAR, load_sections

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
          f"errored; findings: {_decisions(totals['decisions'])})")
    return 0 if run["failed"] == 0 and run["errors"] == 0 else 1


def _decisions(counter) -> str:
    return ", ".join(f"{n} {d}" for d, n in sorted(counter.items())) or "none"


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
    """Run one figure, save its files and data, merge its section into the report."""
    from figures.style import save_figure

    from .registry import FIGURES, format_seconds
    from .report import make_section, write_figure_data, write_report

    name = config.name
    say(f"[{name}] {config.title} ({'quick' if args.quick else 'full'}, "
        f"~{format_seconds(expected_s)} expected) ...")
    start = time.perf_counter()
    data_file = None
    try:
        with _heartbeat(name, start, expected_s, say):
            result = config.run(args.quick)
        files = save_figure(result.figure, os.path.join(args.out, name))
        data_file = write_figure_data(os.path.join(args.out, f"{name}.nc"), config, result,
                                      quick=args.quick)
        failed = [c.quantity for c in result.checks if not c.passed]
        decided = _decisions(collections.Counter(f.decision for f in result.findings))
        say(f"[{name}] {len(result.checks) - len(failed)}/{len(result.checks)} checks passed"
            + (f", findings: {decided}" if result.findings else "")
            + f" in {time.perf_counter() - start:.1f} s"
            + (f"; FAILED: {failed}" if failed else ""))
    except Exception as exc:  # one broken figure must not hide the others
        traceback.print_exc()
        say(f"[{name}] ERROR after {time.perf_counter() - start:.1f} s: "
            f"{type(exc).__name__}: {exc}")
        result, files = exc, []
    section = make_section(config, result, time.perf_counter() - start, files,
                           quick=args.quick, data_file=data_file)
    totals = write_report(args.out, [section], order=list(FIGURES))
    errored = isinstance(result, Exception)
    return {"passed": 0 if errored else len(result.checks) - len(failed),
            "failed": 0 if errored else len(failed), "errors": int(errored),
            "totals": totals}


def _cmd_train(args) -> int:
    # every setting is validated (TrainConfig) before data is read or anything is written
    from simulations.encoders.config import config_from_assignments

    config = config_from_assignments({"objective": args.objective, "data": args.data},
                                     [parse_assignment(s) for s in args.set])
    check_out(args.out)
    from simulations.encoders.evaluate import evaluate
    from simulations.encoders.train import METRICS, train

    print(f"train {config.objective} on {config.data} ({config.encoder_name}, {config.dtype}, "
          f"{config.steps} steps) -> {args.out}")
    try:
        result = train(config, out_dir=args.out, progress=True)
    except KeyboardInterrupt:
        print(f"\ninterrupted; the last checkpoint is in {args.out}: rerun the same command to "
              "resume", file=sys.stderr)
        return 130
    status = result.metrics.attrs["status"]
    print(f"metrics: {os.path.join(args.out, METRICS)} (status {status})")
    if status != "complete" or args.no_eval:
        return 0 if status == "complete" else 1
    ds = evaluate(result, probe=args.probe, probe_epochs=args.probe_epochs,
                  probe_lr=args.probe_lr)
    path = os.path.join(args.out, "eval.nc")
    ds.to_netcdf(path + ".tmp")
    os.replace(path + ".tmp", path)
    for r in ds.readout.values:
        knn20 = ds.knn_accuracy.sel(readout=r, vote="majority")
        k20 = float(knn20.sel(k=20)) if 20 in ds.k.values else float("nan")
        print(f"  {r}: kNN@20 {k20:.4f}, best kNN {float(knn20.max()):.4f}, linear "
              f"{float(ds.linear_accuracy.sel(readout=r)):.4f}, erank "
              f"{float(ds.erank.sel(readout=r)):.2f}")
    print(f"evaluation: {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="collapse-lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="show the available figures and sweeps")
    sweep = sub.add_parser("sweep", help="run (or resume) a named parameter sweep")
    sweep.add_argument("name")
    sweep.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override an axis (comma-separated values) or a fixed parameter")
    sweep.add_argument("--out", help="zarr store (default out/sweeps/NAME.zarr)")
    sweep.add_argument("--quick", action="store_true", help="the small grid")
    sweep.add_argument("--workers", type=int, help="run the chunks on a local dask cluster of "
                       "this many worker processes")
    sweep.add_argument("--scheduler", help="address of a running dask scheduler to use")
    repro = sub.add_parser("repro", help="regenerate paper figures and out/report.md")
    repro.add_argument("name", nargs="?", default="all")
    repro.add_argument("--quick", action="store_true", help="small, fast settings")
    repro.add_argument("--out", default="out")
    # the one objective registry (minimal_models.objectives.registry), filtered to what an
    # encoder can train; the data sets of the encoder package
    from simulations.encoders.data import DATASETS
    from simulations.encoders.objectives import OBJECTIVES

    tr = sub.add_parser("train", help="train an encoder with an SSL objective, then evaluate it")
    # names are checked by TrainConfig (a ValueError naming the allowed ones), not argparse
    tr.add_argument("--objective", required=True, metavar="OBJECTIVE", help="one of: " + ", ".join(sorted(OBJECTIVES)))
    tr.add_argument("--data", required=True, metavar="DATA",
                    help="one of: " + ", ".join(DATASETS) + " (cifar: --set data_dir=PATH)")
    tr.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a TrainConfig field (e.g. steps=200, dtype=bfloat16) or an "
                         "objective keyword as obj.NAME=VALUE")
    tr.add_argument("--out", required=True, help="run directory (checkpoints, metrics.nc, "
                    "eval.nc); an existing run there is resumed")
    tr.add_argument("--no-eval", action="store_true", help="skip the kNN / probe evaluation")
    tr.add_argument("--probe", choices=("converged", "paper"), default="converged",
                    help="linear probe: run to convergence (full-batch AdamW until the train "
                         "loss changes by < 1e-4 nats over 50 steps, cap 3000; default) or the "
                         "HamJEPA authors' 50-epoch recipe")
    tr.add_argument("--probe-epochs", type=int, default=None,
                    help="step cap of the converged probe / epochs of the paper recipe")
    tr.add_argument("--probe-lr", type=float, default=None, help="probe learning rate")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"list": _cmd_list, "sweep": _cmd_sweep, "repro": _cmd_repro,
               "train": _cmd_train}[args.command]
    try:
        return handler(args)
    except (ValueError, OSError) as exc:
        # a user error (bad value, unusable path, unreadable input, damaged store): one line
        if os.environ.get("COLLAPSE_LAB_TRACEBACK", "") not in ("", "0"):
            raise
        print(f"collapse-lab: error: {_one_line(exc)}", file=sys.stderr)
        return 2


def _one_line(exc) -> str:
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        text = f"{exc.strerror}: {exc.filename!r}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
