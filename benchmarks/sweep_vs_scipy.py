"""Sweep engine vs a SciPy loop on the same Model A ODE points, in the same run.

    python benchmarks/sweep_vs_scipy.py [--points 1000] [--host-devices 2] [--solver tsit5]

Both paths integrate dZ/dt = -nu H L_G Z (the ODE, not the closed form) for every point of a
frustration x seed grid: the sweep engine with diffrax under one jit(vmap) per chunk, the
baseline with scipy.integrate.solve_ivp(DOP853, t_eval=grid) point by point, at the same
rtol/atol and on the same output grid.  Timings are wall-clock ratios in one process (shared
machines are noisy: compare ratios, not seconds).  ``--host-devices N`` splits the CPU into N
JAX devices and the engine shards each chunk over them.  The closed-form path of the engine is
timed on the same grid as well.  The engine is timed twice: the first run includes the one
jit compilation of the chunk function, the second reuses it (the steady state of a long sweep).
The last line is ``ratio <SciPy time / warm sweep-engine time>``.
"""

from __future__ import annotations

import os
import sys


def _host_devices_from_argv() -> int:
    # XLA reads the device count once, at backend start: set it before JAX is imported
    for i, arg in enumerate(sys.argv):
        if arg == "--host-devices" and i + 1 < len(sys.argv):
            return int(sys.argv[i + 1])
        if arg.startswith("--host-devices="):
            return int(arg.split("=", 1)[1])
    return 1


if _host_devices_from_argv() > 1:
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_"
                               f"device_count={_host_devices_from_argv()}").strip()


import argparse
import dataclasses
import time

import numpy as np

from minimal_models import frustration as model_a
from simulations import FrustrationFlow, SweepSpec, run_sweep, solve_flow_scipy


def build_spec(points: int, chunk_size: int, solver: str = "tsit5") -> SweepSpec:
    seeds = max(1, points // 20)
    model = FrustrationFlow(n_classes=4, n_per_class=5, dim=2, t_min=1e-2, t_max=20.0,
                            n_times=21, solver="ode", ode_solver=solver, rtol=1e-8, atol=1e-10,
                            spectrum=False, save_state=True)
    return SweepSpec("benchmark", model, chunk_size=chunk_size,
                     axes=[("frustration", tuple(np.round(np.linspace(0.02, 0.4, 20), 4))),
                           ("seed_A", tuple(range(seeds)))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--chunk-size", type=int, default=250)
    parser.add_argument("--solver", default="tsit5", help="diffrax solver of the sweep engine")
    parser.add_argument("--host-devices", type=int, default=1,
                        help="split the CPU into this many JAX devices (set before JAX starts)")
    parser.add_argument("--scipy-restart", action="store_true",
                        help="restart SciPy at every output time instead of its t_eval "
                             "interpolant (slower baseline, exact at the output times)")
    args = parser.parse_args()
    spec = build_spec(args.points, args.chunk_size, args.solver)
    import jax

    print(f"JAX devices: {len(jax.local_devices())} x {jax.local_devices()[0].platform}; "
          f"engine solver {args.solver}, chunk size {args.chunk_size}")
    model = spec.model
    print(f"{spec.n_points} Model A points (K={model.n_classes}, n={model.n_per_class}, "
          f"d={model.dim}, t in [0, {model.t_max}], {model.n_times} output times), "
          f"rtol={model.rtol}, atol={model.atol}")

    start = time.perf_counter()
    ds = run_sweep(spec, progress=False)
    t_sweep_cold = time.perf_counter() - start
    start = time.perf_counter()
    run_sweep(spec, progress=False)  # a second run: the jit cache is warm
    t_sweep_warm = time.perf_counter() - start
    assert int((ds["result"] != 0).sum()) == 0, "solver failures in the sweep"

    cf_spec = dataclasses.replace(spec, model=dataclasses.replace(model, solver="closed_form"))
    start = time.perf_counter()
    ds_cf = run_sweep(cf_spec, progress=False)
    t_closed = time.perf_counter() - start

    deviation, closed_dev = 0.0, 0.0
    start = time.perf_counter()
    for point in spec.points():
        m = dataclasses.replace(model, **point)
        A, Z0 = m.coupling(), m.initial_state()
        sol = solve_flow_scipy(lambda t, z, a: model_a.vector_field(A, z), Z0, m.times(),
                               method="DOP853", rtol=model.rtol, atol=model.atol,
                               dense_output=not args.scipy_restart)
        Z = ds["Z"].sel(point).values
        deviation = max(deviation, float(np.max(np.abs(Z - sol.zs))))
        closed_dev = max(closed_dev, float(np.max(np.abs(ds_cf["Z"].sel(point).values - sol.zs))))
    t_scipy = time.perf_counter() - start

    print(f"sweep engine (diffrax, jit+vmap, incl. compile): {t_sweep_cold:8.2f} s")
    print(f"sweep engine (warm jit cache):                   {t_sweep_warm:8.2f} s")
    print(f"sweep engine closed form (incl. compile):        {t_closed:8.2f} s")
    print(f"SciPy solve_ivp DOP853 loop:                     {t_scipy:8.2f} s")
    print(f"max |Z_sweep - Z_scipy| = {deviation:.3e}; max |Z_closed - Z_scipy| = {closed_dev:.3e}")
    print(f"ratio including compile {t_scipy / t_sweep_cold:.1f}; "
          f"closed-form ratio {t_scipy / t_closed:.1f}")
    print(f"ratio {t_scipy / t_sweep_warm:.1f}")


if __name__ == "__main__":
    main()
