"""The ``collapse-lab`` command line: list, sweep (``--show``: its plan, without running),
repro (full mode: reuses a committed result whose config hash matches, ``--recompute`` to
rerun, and commits what it computes), findings (the table of committed findings), train.

A user error (a bad name or value, an unusable ``--out``, unreadable input files, a damaged
store) ends as one line ``collapse-lab: error: ...`` on stderr with exit code 2, before anything
is written; ``COLLAPSE_LAB_TRACEBACK=1`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from .user_input import check_out, parse_assignments

__all__ = ["main", "build_parser"]


def _cmd_list(args) -> int:
    from .registry import FIGURES, START_HERE, SWEEPS, format_seconds, runtime_table
    from .sweep_info import sweep_line

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
    print("sweeps (collapse-lab sweep NAME [--quick] [--show]; points and time quick / full, "
          "one process on 2 cores; ? = not measured):")
    for config in SWEEPS.values():
        print("  " + sweep_line(config))
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
    from .registry import SWEEPS

    if args.name not in SWEEPS:
        raise ValueError(f"unknown sweep {args.name!r}; available: {sorted(SWEEPS)}")
    overrides = parse_assignments(args.set)  # every value checked before the library loads
    config = SWEEPS[args.name]
    spec = config.spec(args.quick).with_overrides(dict(overrides))
    _check_axis_values(spec)
    if args.show:
        from .sweep_info import describe_sweep

        print(describe_sweep(config, spec, quick=args.quick))
        return 0
    from simulations.artifacts import atomic_write
    from simulations.sweep import run_sweep

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
    atomic_write(final, ds.to_netcdf)  # never leave a half-written dataset behind
    print(ds)
    print(f"done: {spec.n_points} points, {failed} solver failures, store {store}, "
          f"dataset {final}")
    return 0


def _check_axis_values(spec) -> None:
    """Build the model at every value of every axis (the other fields at their fixed values),
    so that a bad value is refused, naming the parameter, before the grid is shown or anything
    is written (the engine checks the points themselves only when it runs)."""
    import dataclasses

    for name, values in spec.axes:
        for value in values:
            dataclasses.replace(spec.model, **{name: value})


def _cmd_repro(args) -> int:
    from .repro import run_repro

    return run_repro(args)


def _cmd_findings(args) -> int:
    from .report import findings_markdown
    from .results import committed_sections

    print(findings_markdown(committed_sections(args.source)), end="")
    return 0


def _cmd_train(args) -> int:
    # every setting is validated (TrainConfig, the probe's) before data is read or anything
    # is written
    from minimal_models import validation as check
    from simulations.encoders.config import config_from_assignments

    config = config_from_assignments({"objective": args.objective, "data": args.data},
                                     parse_assignments(args.set))
    if args.probe_epochs is not None:
        check.integer("--probe-epochs", args.probe_epochs, minimum=1)
    if args.probe_lr is not None:
        check.positive("--probe-lr", args.probe_lr)
    check_out(args.out)
    from simulations.artifacts import atomic_write
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
    atomic_write(path, ds.to_netcdf)
    for r in ds.readout.values:
        knn20 = ds.knn_accuracy.sel(readout=r, vote="majority")
        k20 = float(knn20.sel(k=20)) if 20 in ds.k.values else float("nan")
        print(f"  {r}: kNN@20 {k20:.4f}, best kNN {float(knn20.max()):.4f}, linear "
              f"{float(ds.linear_accuracy.sel(readout=r)):.4f}, erank "
              f"{float(ds.erank.sel(readout=r)):.2f}")
    print(f"evaluation: {path}")
    return 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose help can name choices that only the library knows: a
    subcommand's ``describe(parser)`` fills its help texts when the help is shown, so building
    the parser (for every command, ``list`` included) imports nothing heavy."""

    describe = None

    def format_help(self):
        if self.describe is not None:
            describe, self.describe = self.describe, None
            describe(self)
        return super().format_help()


def _describe_train(parser) -> None:
    # the one objective registry, filtered to what an encoder can train; the data sets of the
    # encoder package
    from simulations.encoders.data import DATASETS
    from simulations.encoders.objectives import OBJECTIVES

    helps = {"objective": "one of: " + ", ".join(sorted(OBJECTIVES)),
             "data": "one of: " + ", ".join(DATASETS) + " (cifar: --set data_dir=PATH)"}
    for action in parser._actions:
        action.help = helps.get(action.dest, action.help)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="collapse-lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="show the available figures and sweeps")
    sweep = sub.add_parser("sweep", help="run (or resume) a named parameter sweep")
    sweep.add_argument("name")
    sweep.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override an axis (comma-separated values) or a fixed parameter "
                            "(each key once)")
    sweep.add_argument("--out", help="zarr store (default out/sweeps/NAME.zarr)")
    sweep.add_argument("--quick", action="store_true", help="the small grid")
    sweep.add_argument("--show", action="store_true", help="print the grid, the fixed "
                       "parameters, the horizon, points, chunks and the estimated time; run "
                       "nothing")
    sweep.add_argument("--workers", type=int, help="run the chunks on a local dask cluster of "
                       "this many worker processes")
    sweep.add_argument("--scheduler", help="address of a running dask scheduler to use")
    repro = sub.add_parser("repro", help="regenerate paper figures and out/report.md")
    repro.add_argument("name", nargs="?", default="all")
    repro.add_argument("--quick", action="store_true", help="small, fast settings")
    repro.add_argument("--out", default="out")
    repro.add_argument("--recompute", action="store_true", help="full mode: rerun even when "
                       "a committed result with the same config hash exists")
    repro.add_argument("--results", default=None, help="folder of committed results (default "
                       "paper_repro/results, or $COLLAPSE_LAB_RESULTS)")
    fnd = sub.add_parser("findings", help="print the findings table (markdown) of the "
                         "committed full-mode results")
    fnd.add_argument("--from", dest="source", default=None, help="folder of committed "
                     "results (default paper_repro/results, or $COLLAPSE_LAB_RESULTS)")
    tr = sub.add_parser("train", help="train an encoder with an SSL objective, then evaluate it")
    tr.describe = _describe_train
    # names are checked by TrainConfig (a ValueError naming the allowed ones), not argparse
    tr.add_argument("--objective", required=True, metavar="OBJECTIVE",
                    help="an objective of the registry")
    tr.add_argument("--data", required=True, metavar="DATA", help="a data set")
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
               "findings": _cmd_findings, "train": _cmd_train}[args.command]
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
