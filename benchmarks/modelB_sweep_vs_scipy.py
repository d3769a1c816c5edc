"""Model B phase-diagram sweep: sweep engine vs a SciPy loop on the same points, same run.

    python benchmarks/modelB_sweep_vs_scipy.py [--points 200] [--t-max 300] [--scipy-points 20]
                                               [--solver tsit5-lean] [--reduction auto]
                                               [--repeats 2]

Model B (RECONSTRUCTION, spec §3.2: shared head, partial stop-gradient alpha) at the F5
settings (balanced preset, K = 4, n = 50, d = 8, W(0) = I, clustered init seed 3) on a
frustration x alpha grid of ``--points`` points (>= 200), horizon ``--t-max`` (>= 300), the same
rtol/atol and the same output grid.  The engine (``simulations.flows.stopgrad.StopGradFlow``,
one jit(vmap) per chunk) solves the exact reduced state (``--reduction auto``: row means +
propagators, :mod:`minimal_models.stopgrad_reduced`) and reconstructs every output of the full
model; ``--reduction none`` times the full state instead.  The baseline is the fair one:
``scipy.integrate.solve_ivp(DOP853)`` on the *full* model, point by point
(``simulations.flows.stopgrad.simulate``, restarting at every output time so each saved state is
a step end point).  The SciPy loop is
timed on ``--scipy-points`` points spread over the grid and scaled linearly (its cost per point
does not depend on the grid); the max deviation of d_min between the two is reported on those
points.  First run = with the jit compilation; warm = median of ``--repeats`` reruns.  XLA runs
single-threaded (one core, like SciPy): the ratios are per core.

The chunk utilisation U = sum steps / sum over chunks (chunk size x max steps in the chunk)
(:func:`simulations.sweep.plan.utilisation`) says how many of a vmapped chunk's lanes do work
while it waits for its slowest point; it is reported for the plan the engine ran and for the
same points sorted by the steps they took (what a perfect ``cost()`` estimate would reach).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

CPU_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def build_spec(points: int, t_max: float, solver: str, chunk_size: int, reduction: str = "auto"):
    from simulations.flows.stopgrad import StopGradFlow
    from simulations.sweep import SweepSpec

    n_alpha = 10
    n_p = max(1, -(-points // n_alpha))
    model = StopGradFlow(t_min=1e-2, t_max=t_max, n_times=21, rtol=1e-8, atol=1e-10,
                         ode_solver=solver, reduction=reduction)
    alphas = tuple(np.round(1 - np.concatenate([[0.0], np.geomspace(1e-3, 1, n_alpha - 1)]), 6))
    return SweepSpec("modelB_benchmark", model, chunk_size=chunk_size,
                     axes=[("frustration", tuple(np.round(np.linspace(0, 0.4, n_p), 4))),
                           ("alpha", alphas)])


def chunk_utilisation(spec, steps) -> tuple[float, float]:
    """Utilisation of the engine's plan, and of the plan with each group's points sorted by the
    steps they took (``steps``: per grid point)."""
    from simulations.sweep.plan import Chunk, Plan, plan_of, utilisation

    plan = plan_of(spec)
    flat = np.asarray(steps).reshape(-1)
    size, chunks = spec.chunk_size, []
    for key in plan.groups:
        idx = sorted((i for c in plan.chunks if c.group == key for i in c.points),
                     key=lambda i: (flat[i], i))
        chunks += [Chunk(key, tuple(idx[k:k + size]), 0) for k in range(0, len(idx), size)]
    return (utilisation(plan, size, flat),
            utilisation(Plan(plan.groups, tuple(chunks), plan.rows), size, flat))


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--t-max", type=float, default=300.0)
    parser.add_argument("--scipy-points", type=int, default=20)
    parser.add_argument("--solver", default="tsit5-lean")
    parser.add_argument("--reduction", default="auto", choices=("auto", "none"))
    parser.add_argument("--chunk-size", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--xla-multithread", action="store_true")
    args = parser.parse_args(argv)
    if args.points < 1 or args.scipy_points < 1 or args.t_max <= 0:
        raise SystemExit("--points, --scipy-points and --t-max must be positive")
    if not args.xla_multithread:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + CPU_XLA_FLAGS).strip()

    import dataclasses

    from analysis import d_min
    from simulations.flows import stopgrad as stopgrad_flow
    from simulations.sweep import run_sweep

    if args.scipy_points < 20:
        print(f"note: --scipy-points {args.scipy_points} < 20 (the comparison asks for >= 20)")
    spec = build_spec(args.points, args.t_max, args.solver, args.chunk_size, args.reduction)
    layout = spec.model.layout([dataclasses.replace(spec.model, **p) for p in spec.points()])
    state = ("reduced (R = %d rows, G = %d degrees)" % (layout.n_groups, layout.n_degrees)
             if spec.model.uses_reduction(layout) else "full")
    print(f"grid: {spec.n_points} points (frustration x alpha), T = {args.t_max:g}, "
          f"rtol 1e-8, atol 1e-10, solver {args.solver}, engine state: {state}", flush=True)
    start = time.perf_counter()
    ds = run_sweep(spec, progress=False)
    first = time.perf_counter() - start
    warm = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        run_sweep(spec, progress=False)
        warm.append(time.perf_counter() - start)
    warm_med = statistics.median(warm) if warm else first
    failures = int((ds["result"] != 0).sum())
    print(f"engine: first run {first:.1f} s, warm {warm_med:.1f} s (median of {len(warm)}), "
          f"{1e3 * warm_med / spec.n_points:.0f} ms per point warm, {failures} solver failures",
          flush=True)

    used, best = chunk_utilisation(spec, ds["num_steps"].values)
    print(f"chunk utilisation (sum steps / (chunk size x max steps)): {100 * used:.1f} % in the "
          f"engine's plan, {100 * best:.1f} % with the points sorted by the steps they took",
          flush=True)

    points = spec.points()
    pick = np.unique(np.linspace(0, len(points) - 1, min(args.scipy_points, len(points)))
                     .astype(int))
    start = time.perf_counter()
    worst = 0.0
    for i in pick:
        point = dataclasses.replace(spec.model, **points[i])
        s = point.initial_state()
        ref = stopgrad_flow.simulate(point.coupling(), s["X"], s["Y"], s["W"], point.times(),
                               alpha=point.alpha, rtol=point.rtol, atol=point.atol,
                               **point.rates())
        ours = ds["d_min"].sel(frustration=points[i]["frustration"],
                               alpha=points[i]["alpha"]).values
        worst = max(worst, float(np.max(np.abs(np.asarray(d_min(ref["Y"])) - ours))))
    scipy_time = (time.perf_counter() - start) * len(points) / len(pick)
    print(f"scipy DOP853 loop (full model): {scipy_time:.1f} s for {len(points)} points (timed "
          f"on {len(pick)}, scaled; {1e3 * scipy_time / len(points):.0f} ms per point)",
          flush=True)
    print(f"max |d_min(engine) - d_min(SciPy)| on the timed points: {worst:.2e}")
    print(f"first-run ratio {scipy_time / first:.1f}")
    ratio = scipy_time / warm_med
    print(f"ratio {ratio:.1f}")
    return ratio


if __name__ == "__main__":
    main()
