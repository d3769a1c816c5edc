"""The ``collapse-lab`` command line: list, sweep, repro, train."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import traceback

__all__ = ["main", "parse_assignment"]


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


def _cmd_list(args) -> int:
    from .registry import FIGURES, SWEEPS

    print("figures (collapse-lab repro NAME):")
    for name, config in FIGURES.items():
        print(f"  {name:<14} [{config.status}] {config.title}: {config.description}")
    print("sweeps (collapse-lab sweep NAME):")
    for name, (_, description) in SWEEPS.items():
        print(f"  {name:<14} {description}")
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
    from simulations import run_sweep

    from .registry import SWEEPS

    if args.name not in SWEEPS:
        raise ValueError(f"unknown sweep {args.name!r}; available: {sorted(SWEEPS)}")
    spec = SWEEPS[args.name][0](args.quick)
    spec = spec.with_overrides(dict(parse_assignment(s) for s in args.set))
    store = args.out or os.path.join("out", "sweeps", f"{spec.name}.zarr")
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
    from figures.style import save_figure

    from .registry import FIGURES
    from .report import write_report

    names = list(FIGURES) if args.name == "all" else [args.name]
    for name in names:
        if name not in FIGURES:
            raise ValueError(f"unknown figure {name!r}; available: all, {', '.join(FIGURES)}")
    os.makedirs(args.out, exist_ok=True)
    entries = []
    for name in names:
        config = FIGURES[name]
        print(f"[{name}] {config.title} ({'quick' if args.quick else 'full'}) ...", flush=True)
        start = time.perf_counter()
        try:
            result = config.run(args.quick)
            files = save_figure(result.figure, os.path.join(args.out, name))
            failed = [c.quantity for c in result.checks if not c.passed]
            print(f"[{name}] {len(result.checks) - len(failed)}/{len(result.checks)} checks "
                  f"passed in {time.perf_counter() - start:.1f} s"
                  + (f"; FAILED: {failed}" if failed else ""), flush=True)
        except Exception as exc:  # one broken figure must not hide the others
            traceback.print_exc()
            result, files = exc, []
        entries.append((config, result, time.perf_counter() - start, files))
    report = os.path.join(args.out, "report.md")
    totals = write_report(entries, report, quick=args.quick)
    print(f"report: {report} ({totals['passed']} checks passed, {totals['failed']} failed, "
          f"{totals['errors']} figures errored)")
    return 0 if totals["failed"] == 0 and totals["errors"] == 0 else 1


def _cmd_train(args) -> int:
    # every setting is validated (TrainConfig) before data is read or anything is written
    from simulations.encoders.config import config_from_assignments

    config = config_from_assignments({"objective": args.objective, "data": args.data},
                                     [parse_assignment(s) for s in args.set])
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
    ds = evaluate(result, probe_epochs=args.probe_epochs)
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
    tr.add_argument("--objective", required=True, choices=sorted(OBJECTIVES),
                    metavar="OBJECTIVE", help="one of: " + ", ".join(sorted(OBJECTIVES)))
    tr.add_argument("--data", required=True, choices=DATASETS, metavar="DATA",
                    help="one of: " + ", ".join(DATASETS) + " (cifar: --set data_dir=PATH)")
    tr.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a TrainConfig field (e.g. steps=200, dtype=bfloat16) or an "
                         "objective keyword as obj.NAME=VALUE")
    tr.add_argument("--out", required=True, help="run directory (checkpoints, metrics.nc, "
                    "eval.nc); an existing run there is resumed")
    tr.add_argument("--no-eval", action="store_true", help="skip the kNN / probe evaluation")
    tr.add_argument("--probe-epochs", type=int, default=50)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"list": _cmd_list, "sweep": _cmd_sweep, "repro": _cmd_repro,
               "train": _cmd_train}[args.command]
    try:
        return handler(args)
    except ValueError as exc:
        print(f"collapse-lab: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
