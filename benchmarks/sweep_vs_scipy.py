"""Sweep engine vs a SciPy loop on the same Model A ODE points, in the same run.

    python benchmarks/sweep_vs_scipy.py [--points 1000] [--solver dopri8-lean] [--scipy-dense]
                                        [--cold] [--scale-out 10000]

Both paths integrate dZ/dt = -nu H L_G Z (the ODE, not the closed form) for every point of a
frustration x seed grid: the sweep engine (by default the lean Dormand-Prince 8 of
simulations.flows.rk; ``--solver dopri8`` for diffrax's) under one jit(vmap) per chunk,
the baseline with scipy.integrate.solve_ivp(DOP853) point by point, at the same rtol/atol and
on the same output grid.  SciPy restarts at every output time by default, because DOP853's
t_eval interpolant misses the tolerance by orders of magnitude (``--scipy-dense`` times that
cheaper, less accurate baseline instead).  Deviations are reported between the two solvers and
against the exact closed form.  Timings are wall-clock ratios in one process (shared machines
are noisy: compare ratios, not seconds).  The closed-form path of the engine is timed on the
same grid as well.  The engine is timed first with the one jit compilation of the chunk
function, then ``--repeats`` more times with it cached (the steady state of a long sweep; the
median is reported, since a one-second run on a shared machine is at the mercy of its
neighbours, while the ~40 s SciPy loop averages them out).

XLA runs single-threaded here (``CPU_XLA_FLAGS``; ``--xla-multithread`` turns that off): the
chunk's arrays are too small for intra-op threads to pay, and the second core then prepares the
next chunk's host inputs while XLA runs.  SciPy is single-threaded either way.
``--cold`` also runs the engine end to end in two fresh processes sharing a new, empty
persistent compilation cache: the first pays the trace and compile, the second loads the
compiled program (the README's "compile once, across processes").  Their times include
importing collapse-lab and JAX.  ``--scale-out N`` times an N-point sweep in one process and on
a local dask cluster of two worker processes (one core each); the SciPy loop for it is timed
on the first ``--points`` points and scaled linearly (its cost per point does not depend on N).
The last line is ``ratio <SciPy time / median warm sweep-engine time>`` (one process each, so
per core).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time

import numpy as np

CPU_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def build_spec(points: int, chunk_size: int, solver: str = "dopri8-lean"):
    from simulations.flows import FrustrationFlow
    from simulations.sweep import SweepSpec

    seeds = max(1, -(-points // 20))
    model = FrustrationFlow(n_classes=4, n_per_class=5, dim=2, t_min=1e-2, t_max=20.0,
                            n_times=21, solver="ode", ode_solver=solver, rtol=1e-8, atol=1e-10,
                            spectrum=False, save_state=True)
    return SweepSpec("benchmark", model, chunk_size=chunk_size,
                     axes=[("frustration", tuple(np.round(np.linspace(0.02, 0.4, 20), 4))),
                           ("seed_A", tuple(range(seeds)))])


def _time_dask(spec, workers: int, reference) -> float:
    """Median warm time of the same sweep on a local dask cluster (each run writes a fresh
    store; the first run, which compiles on every worker, is not timed)."""
    import tempfile

    import xarray as xr
    from dask.distributed import Client, LocalCluster

    from simulations.sweep import run_sweep

    env = {"XLA_FLAGS": os.environ.get("XLA_FLAGS", "")}
    times = []
    with tempfile.TemporaryDirectory() as tmp, \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         dashboard_address=None, env=env) as cluster, Client(cluster) as client:
        for i in range(4):
            start = time.perf_counter()
            ds = run_sweep(spec, os.path.join(tmp, f"run{i}.zarr"), progress=False, client=client)
            times.append(time.perf_counter() - start)
    xr.testing.assert_allclose(ds, reference, rtol=1e-12, atol=1e-14)
    return statistics.median(times[1:])


_COLD_RUN = """
import sys, time
start = time.perf_counter()
sys.path.insert(0, {root!r})
from benchmarks.sweep_vs_scipy import build_spec
from simulations.sweep import run_sweep
spec = build_spec({points}, {chunk}, {solver!r})
sweep_start = time.perf_counter()
ds = run_sweep(spec, progress=False)
assert int((ds["result"] != 0).sum()) == 0
end = time.perf_counter()
print(end - start, end - sweep_start)
"""


def _time_fresh_processes(points, chunk, solver, runs=2):
    """End-to-end engine time in fresh processes sharing one new persistent cache."""
    import subprocess
    import sys
    import tempfile

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = _COLD_RUN.format(root=root, points=points, chunk=chunk, solver=solver)
    times = []
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, COLLAPSE_LAB_CACHE_DIR=cache)
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                 text=True, check=True)
            times.append(tuple(float(x) for x in out.stdout.split()[-2:]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--solver", default="dopri8-lean",
                        help="ODE solver of the sweep engine (simulations.flows.solve.SOLVERS)")
    parser.add_argument("--cold", action="store_true",
                        help="also time end-to-end runs in fresh processes (empty, then warm "
                             "persistent compilation cache)")
    parser.add_argument("--scale-out", type=int, default=0, metavar="N",
                        help="also time an N-point sweep on 1 process vs 2 dask workers")
    parser.add_argument("--repeats", type=int, default=3, help="warm engine runs (median)")
    parser.add_argument("--workers", type=int, default=0,
                        help="also time the engine on a local dask cluster of this many workers")
    parser.add_argument("--xla-multithread", action="store_true",
                        help="keep XLA's default intra-op threading")
    parser.add_argument("--scipy-dense", action="store_true",
                        help="time SciPy with its t_eval interpolant instead of restarting at "
                             "every output time (faster, far less accurate baseline)")
    args = parser.parse_args()
    if not args.xla_multithread:  # must precede JAX's backend initialisation
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + CPU_XLA_FLAGS).strip()
    import jax

    from minimal_models import frustration as model_a
    from simulations.flows import solve_flow_scipy
    from simulations.sweep import run_sweep

    spec = build_spec(args.points, args.chunk_size, args.solver)

    print(f"JAX devices: {len(jax.local_devices())} x {jax.local_devices()[0].platform}; "
          f"engine solver {args.solver}, chunk size {args.chunk_size}; "
          f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}")
    model = spec.model
    print(f"{spec.n_points} Model A points (K={model.n_classes}, n={model.n_per_class}, "
          f"d={model.dim}, t in [0, {model.t_max}], {model.n_times} output times), "
          f"rtol={model.rtol}, atol={model.atol}")

    start = time.perf_counter()
    ds = run_sweep(spec, progress=False)
    t_sweep_cold = time.perf_counter() - start
    warm = []
    for _ in range(args.repeats):  # the jit cache is warm now
        start = time.perf_counter()
        run_sweep(spec, progress=False)
        warm.append(time.perf_counter() - start)
    t_sweep_warm = statistics.median(warm)
    t_dask = _time_dask(spec, args.workers, ds) if args.workers else None
    assert int((ds["result"] != 0).sum()) == 0, "solver failures in the sweep"
    fresh = _time_fresh_processes(args.points, args.chunk_size, args.solver) if args.cold else None
    scale = None
    if args.scale_out:
        big = build_spec(args.scale_out, args.chunk_size, args.solver)
        run_sweep(big, progress=False)  # compile outside the timing (both sides compile once)
        start = time.perf_counter()
        big_ds = run_sweep(big, progress=False)
        t_one = time.perf_counter() - start
        t_two = _time_dask(big, 2, big_ds)
        scale = (big.n_points, t_one, t_two)

    cf_spec = dataclasses.replace(spec, model=dataclasses.replace(model, solver="closed_form"))
    start = time.perf_counter()
    ds_cf = run_sweep(cf_spec, progress=False)
    t_closed = time.perf_counter() - start

    deviation, closed_dev, exact_dev = 0.0, 0.0, 0.0
    start = time.perf_counter()
    for point in spec.points():
        m = dataclasses.replace(model, **point)
        A, Z0 = m.coupling(), m.initial_state()
        sol = solve_flow_scipy(lambda t, z, a: model_a.vector_field(A, z), Z0, m.times(),
                               method="DOP853", rtol=model.rtol, atol=model.atol,
                               dense_output=args.scipy_dense)
        Z = ds["Z"].sel(point).values
        deviation = max(deviation, float(np.max(np.abs(Z - sol.zs))))
        closed_dev = max(closed_dev, float(np.max(np.abs(ds_cf["Z"].sel(point).values - sol.zs))))
        exact_dev = max(exact_dev, float(np.max(np.abs(Z - ds_cf["Z"].sel(point).values))))
    t_scipy = time.perf_counter() - start

    print(f"sweep engine (jit+vmap, incl. trace and compile): {t_sweep_cold:8.2f} s")
    print(f"sweep engine (warm jit cache, median of {len(warm)}):      {t_sweep_warm:8.2f} s  "
          f"(runs: {', '.join(f'{w:.2f}' for w in warm)})")
    print(f"sweep engine closed form (incl. compile):        {t_closed:8.2f} s")
    print(f"SciPy solve_ivp DOP853 loop:                     {t_scipy:8.2f} s")
    print(f"max |Z_sweep - Z_scipy| = {deviation:.3e}; max |Z_closed - Z_scipy| = {closed_dev:.3e}; "
          f"max |Z_sweep - Z_closed| = {exact_dev:.3e}")
    print(f"ratio including compile {t_scipy / t_sweep_cold:.1f}; "
          f"closed-form ratio {t_scipy / t_closed:.1f}")
    per_point = t_scipy / spec.n_points
    if fresh is not None:
        for label, (total, sweep) in zip(("empty", "warm"), fresh):
            print(f"fresh process, {label} compile cache: end to end (imports included) "
                  f"{total:.2f} s, ratio {t_scipy / total:.1f}; run_sweep alone {sweep:.2f} s, "
                  f"ratio {t_scipy / sweep:.1f}")
    if scale is not None:
        n, t_one, t_two = scale
        print(f"{n} points: 1 process {t_one:.2f} s, 2 dask workers {t_two:.2f} s (warm, median "
              f"of 3): speed-up {t_one / t_two:.2f}x; SciPy scaled from {spec.n_points} points "
              f"{per_point * n:.1f} s -> ratio {per_point * n / t_two:.1f} on 2 workers")
    if t_dask is not None:
        print(f"sweep engine on {args.workers} dask workers (warm, median of 3): {t_dask:.2f} s; "
              f"ratio {t_scipy / t_dask:.1f} (the last line stays the one-process ratio)")
    print(f"ratio {t_scipy / t_sweep_warm:.1f}")


if __name__ == "__main__":
    main()
