"""Model A figures (RECONSTRUCTION of arXiv:2604.09979, spec §5), each whole: F2, F3
(trajectories without / with frustration), F4 (collapse time scale) and the PD_modelA phase
diagram with its named sweeps -- settings, expected values (spec §5, §6) with their sources,
checks, run function and config.  Each run function reads every setting from its figure's
settings function (the ``settings`` of its config: the key of a committed full-mode result).
Computations: :mod:`simulations.flows` (``FrustrationFlow`` sweeps),
:mod:`analysis.collapse_rates`, :mod:`minimal_models.frustration`, imported inside the run
functions (listing the figures imports no JAX).
"""

from __future__ import annotations

import numpy as np

from ..base import Check, FigureConfig, FigureResult, SweepConfig
from ._common import PAPER, STATUS, plain_table, scalar, spaced, sweep_settings

# ------------------------------------------------------------------------- F2 and F3

# full_s of F2, F3, F4, PD_modelA: measured 2026-12-07 with `collapse-lab repro NAME`
# (full mode) on the shared 2-core development machine at load ~6-8 (the figure's own time,
# imports not counted)

# F2/F3 model of spec §5: unit-sum, K = 4, n = 50, d = 16, clustered init, seed_init = 1
F23_MODEL = dict(n_classes=4, n_per_class=50, dim=16, seed_A=0, seed_init=1, t_min=1e-3,
                 t_max=100.0, spectrum=False)


def _f23_fields(quick: bool) -> dict:
    """The FrustrationFlow fields of F2/F3: the spec's model on a 61 (quick) or 161 (full)
    point log time grid."""
    return {**F23_MODEL, "n_times": 61 if quick else 161}


def _f23_model(fields, **changes):
    from simulations.flows import FrustrationFlow

    return FrustrationFlow(**{**fields, **changes})


def _n_samples(fields) -> int:
    return fields["n_classes"] * fields["n_per_class"]


def _classes(fields):
    from minimal_models import coupling

    return coupling.sample_classes(fields["n_classes"], fields["n_per_class"])


def _closed_form_labels(fields, p, times):
    """Coupling, initial state and embeddings Z(t) from the closed form at exact times (for the
    checks)."""
    from minimal_models import frustration as model_a

    point = _f23_model(fields, frustration=p)
    A, Z0 = point.coupling(), point.initial_state()
    Z = model_a.closed_form(A, Z0, np.asarray(times, dtype=float))
    return A, Z0, Z


def _trajectory_sweep(name, fields, ps):
    from simulations.sweep import SweepSpec, run_sweep

    spec = SweepSpec(name, _f23_model(fields), axes=[("frustration", tuple(ps))],
                     chunk_size=len(ps))
    return run_sweep(spec, progress=False)


def _ode_matches_closed_form(ds, fields):
    from analysis import d_min

    worst = 0.0
    for p in ds["frustration"].values:
        _, _, Z = _closed_form_labels(fields, float(p), ds["t"].values)
        cf = np.asarray(d_min(Z[:, _n_samples(fields):]))
        worst = max(worst, float(np.max(np.abs(ds["d_min"].sel(frustration=p).values - cf))))
    return Check("max |d_min(ODE sweep) - d_min(closed form)| over the grid", 1e-7, worst,
                 kind="max", source="toolkit consistency")


def _accuracy(Z, classes, frustrated):
    from analysis import nearest_label_accuracy

    N = len(classes)
    return nearest_label_accuracy(Z[:N], Z[N:], classes, frustrated)


def f2_settings(quick: bool) -> dict:
    """F2: the model, the closed-form times of the checks (t = 0, 1, 5, 100) and the fine grid
    on which the first time of accuracy 1 is read."""
    return {"model": _f23_fields(quick), "frustration": 0.0,
            "check_times": [0.0, 1.0, 5.0, 100.0],
            "accuracy_times": {"geomspace": [1e-4, 1.0, 400]}}


def run_f2(quick: bool) -> FigureResult:
    from analysis import d_min, first_crossing_time
    from figures.collapse import plot_trajectories
    from minimal_models import frustration as model_a

    s = f2_settings(quick)
    fields, p = s["model"], s["frustration"]
    ds = _trajectory_sweep("F2", fields, (p,))
    one = ds.sel(frustration=p)
    A, Z0, Z = _closed_form_labels(fields, p, s["check_times"])
    N = _n_samples(fields)
    fine = spaced(s["accuracy_times"])
    _, _, Zf = _closed_form_labels(fields, p, fine)
    classes = _classes(fields)
    frus = np.zeros(N, bool)
    acc = [float(_accuracy(z, classes, frus)["acc_all"]) for z in Zf]
    dm = np.asarray(d_min(Z[:, N:]))
    checks = [  # expected values: spec §5 F2 (RECONSTRUCTION)
        Check("acc(t=0)", 0.375, float(_accuracy(Z0, classes, frus)["acc_all"]), rtol=0,
              atol=1e-12),
        Check("first t with acc = 1", 0.005, first_crossing_time(fine, acc, 1.0), rtol=0.25),
        Check("d_min(0)", 0.5475, float(dm[0])),
        Check("d_min(100) (plateau)", 3.4691, float(dm[3])),
        Check("d_min(100) / max_t d_min (no decay)", 1.0,
              float(one["d_min"].isel(t=-1) / one["d_min"].max()), rtol=0, atol=1e-6),
        Check("L(0)", 1347.85, float(model_a.loss(A, Z0))),
        Check("L(1)", 18.92, float(model_a.loss(A, Z[1]))),
        Check("L(5) <= 0.01", 0.01, float(model_a.loss(A, Z[2])), kind="max"),
        _ode_matches_closed_form(ds, fields),
    ]
    fig = plot_trajectories(one, hue=None,
                            title="F2: Model A without frustration (K=4, n=50, d=16)")
    return FigureResult(fig, checks, ds)


F2 = FigureConfig("F2", PAPER, "Model A without frustration", STATUS,
                  "acc(t), L(t), d_min(t): fast alignment, separated plateau, no collapse",
                  quick_s=4.0, full_s=24.0, quick_measured=True, run=run_f2,
                  settings=f2_settings)


F3_EXPECTED = {  # p: (acc_all(5), peak d_min, t_peak, d_min(20), d_min(100)), spec §5 F3
    0.04: (0.975, 3.175, 0.13, 1.266, 0.1515),
    0.1: (0.945, 3.216, 0.11, 0.268, 5.95e-5),
    0.2: (0.88, 2.718, 0.09, 0.0235, 5.2e-10),
}


def f3_settings(quick: bool) -> dict:
    """F3: the model, p (the rows of the expected table, spec §5 F3), the closed-form times of
    the checks (t = 5, 20, 100) and the fine grid of the d_min peak."""
    return {"model": _f23_fields(quick), "expected": plain_table(F3_EXPECTED),
            "check_times": [5.0, 20.0, 100.0], "peak_times": {"geomspace": [1e-2, 1.0, 600]}}


def run_f3(quick: bool) -> FigureResult:
    from analysis import d_min
    from figures.collapse import plot_trajectories
    from minimal_models import coupling

    s = f3_settings(quick)
    fields = s["model"]
    expected = {row[0]: row[1:] for row in s["expected"]}
    ds = _trajectory_sweep("F3", fields, tuple(expected))
    N = _n_samples(fields)
    classes = _classes(fields)
    fine = spaced(s["peak_times"])
    checks = []
    for p, (acc5, peak, t_peak, d20, d100) in expected.items():
        A, _, Z = _closed_form_labels(fields, p, s["check_times"])
        frus = coupling.partner_labels(A, classes) >= 0
        dm = np.asarray(d_min(Z[:, N:]))
        _, _, Zf = _closed_form_labels(fields, p, fine)
        dmf = np.asarray(d_min(Zf[:, N:]))
        checks += [
            Check(f"p={p}: acc_all(5)", acc5, float(_accuracy(Z[0], classes, frus)["acc_all"]),
                  rtol=0, atol=0.006),
            Check(f"p={p}: peak d_min", peak, float(dmf.max())),
            Check(f"p={p}: t of peak d_min", t_peak, float(fine[dmf.argmax()]), rtol=0.1),
            Check(f"p={p}: d_min(20)", d20, float(dm[1]), rtol=2.5e-3 if p == 0.2 else 1e-3),
            Check(f"p={p}: d_min(100)", d100, float(dm[2]), rtol=1e-2),
        ]
    checks.append(_ode_matches_closed_form(ds, fields))
    fig = plot_trajectories(ds, title="F3: Model A with hard frustration (K=4, n=50)")
    return FigureResult(fig, checks, ds)


F3 = FigureConfig("F3", PAPER, "Model A with frustration", STATUS,
                  "early accuracy gain, then slow collapse of d_min at rate lambda_slow",
                  quick_s=18.5, full_s=30.0, quick_measured=True, run=run_f3,
                  settings=f3_settings)


# -------------------------------------------------------------------------------- F4

F4_CUBIC = {  # (K, n, p): (mean slow eigenvalue over seeds 0-9, cubic root), spec §6 A4
    (4, 50, 0.1): (0.12212, 0.12323),
    (4, 50, 0.2): (0.23274, 0.23395),
    (4, 50, 0.3): (0.33343, 0.33524),
    (4, 200, 0.1): (0.12450, 0.12475),
}


def f4_settings(quick: bool) -> dict:
    """F4: (a) K = 4 slow rates over p x n for seeds 0-9 (p always holds the expected table's
    0.1, 0.2, 0.3); (b) the K = 2 rates over m at n_c = 50.

    Every p is a multiple of 1/50, so the coupling's round(p n) frustrated samples per class
    give exactly p at n = 50 and 200 (no two p sharing one effective value, which would draw
    steps into the curves), roughly log-spaced so the axis reads with round ticks."""
    ps = (0.02, 0.04, 0.1, 0.2, 0.3) if quick else (0.02, 0.04, 0.06, 0.1, 0.14, 0.2, 0.3)
    ps = sorted(set(ps) | {p for _, _, p in F4_CUBIC})
    return {"n_classes": 4, "seeds": list(range(10)), "frustrations": [scalar(p) for p in ps],
            "n_per_class": [50] if quick else [50, 200],
            "two_class": {"n_c": 50, "m": [1, 2, 5, 10, 20] if quick else
                          [1, 2, 3, 5, 8, 12, 20, 30]},
            "expected": plain_table(F4_CUBIC)}


def run_f4(quick: bool) -> FigureResult:
    from analysis.collapse_rates import rate_dataset, two_class_dataset
    from figures.collapse import plot_collapse_timescales

    s = f4_settings(quick)
    ns = tuple(s["n_per_class"])
    rates = rate_dataset(tuple(s["frustrations"]), ns, s["seeds"], K=s["n_classes"])
    two = two_class_dataset(s["two_class"]["n_c"], tuple(s["two_class"]["m"]))
    checks = []
    for K, n, p, mean, root in s["expected"]:
        if n not in ns:
            continue
        sel = rates.sel(n_per_class=n, frustration=p)
        checks.append(Check(f"K={K}, n={n}, p={p}: mean slow eigenvalue", mean,
                            float(sel["lambda_mean"]), rtol=2e-3))
        checks.append(Check(f"K={K}, n={n}, p={p}: symmetric cubic root", root,
                            float(sel["lambda_cubic"]), rtol=1e-4))
        checks.append(Check(f"K={K}, n={n}, p={p}: |mean/cubic - 1| < 2%", 0.02,
                            abs(float(sel["lambda_mean"] / sel["lambda_cubic"]) - 1), kind="max"))
    small = rates.sel(n_per_class=50).where(rates["frustration"] <= 0.1, drop=True)
    slope = np.polyfit(np.log(small["frustration"]), -np.log(small["lambda_cubic"]), 1)[0]
    checks.append(Check("slope of log tau vs log p (p <= 0.1, cubic)", -1.0, float(slope),
                        rtol=0.05))
    checks.append(Check("K=2, n_c=50, m=5: lambda_-", 0.0894285261,
                        float(two["lambda_exact"].sel(m=5)), rtol=1e-9))
    checks.append(Check("K=2: max |Laplacian eigenvalue / lambda_- - 1|", 1e-12,
                        float(np.max(np.abs(two["lambda_eig"] / two["lambda_exact"] - 1))),
                        kind="max"))
    checks.append(Check("K=2: max |lambda_fit / lambda_- - 1| (late window)", 1e-3,
                        float(np.max(np.abs(two["lambda_fit"] / two["lambda_exact"] - 1))),
                        kind="max"))
    fig = plot_collapse_timescales(rates, two, title="F4: collapse time scale of Model A")
    return FigureResult(fig, checks, rates)


F4 = FigureConfig("F4", PAPER, "Collapse time scale", STATUS,
                  "tau = 1/lambda_slow vs p (exact, cubic, first order) and the K = 2 rate",
                  quick_s=10.0, full_s=32.0, run=run_f4, settings=f4_settings)


# ---------------------------------------------------------------- phase diagram, sweeps

def _phase_axes(axis, quick_values, full_values):
    """The axes of a Model A phase diagram: frustration p x one more axis x seeds."""
    def axes(quick: bool) -> list:
        ps = (0.0, 0.05, 0.1, 0.2, 0.3) if quick else tuple(
            np.round(np.arange(0, 0.31, 0.025), 3))
        seeds = (0, 1) if quick else (0, 1, 2, 3)
        return [("frustration", ps), (axis, quick_values if quick else full_values),
                ("seed_A", seeds)]
    return axes


def _phase_fields(quick: bool, **fixed) -> dict:
    """The Model A phase diagrams' fixed parameters (hard pairs, unit-sum, T = 100)."""
    return dict(dim=8 if quick else 16, t_max=100.0, n_times=41, solver="ode", **fixed)


def _phase_k_fields(quick: bool) -> dict:
    return _phase_fields(quick, n_per_class=20 if quick else 50)


def _phase_n_fields(quick: bool) -> dict:
    return _phase_fields(quick, n_classes=4)


def _frustration_flow(fields):
    from simulations.flows import FrustrationFlow

    return FrustrationFlow(**fields)


def _phase_k_model(quick: bool):
    return _frustration_flow(_phase_k_fields(quick))


def _phase_n_model(quick: bool):
    return _frustration_flow(_phase_n_fields(quick))


# quick_s: run_sweep of the default quick grid in one process, measured 2026-12-06 on the
# 2-core development machine at load average ~10 (shared; expect less on a quiet machine);
# full_s of modelA_phase_K: the sweep inside PD_modelA's full run, 2026-12-07, load ~6-8 (17
# chunks of ~50 s); the full grid of modelA_phase_n was not timed
MODELA_PHASE_K = SweepConfig(
    "modelA_phase_K", "Model A ODE: d_min(t) over frustration x classes K x seeds",
    _phase_axes("n_classes", (2, 3, 4, 6), (2, 3, 4, 6, 8)), _phase_k_model, chunk_size=16,
    quick_s=17.0, full_s=830.0)
MODELA_PHASE_N = SweepConfig(
    "modelA_phase_n", "Model A ODE: d_min(t) over frustration x samples per class x seeds",
    _phase_axes("n_per_class", (10, 20, 40), (10, 20, 50, 100, 200)), _phase_n_model,
    chunk_size=16, quick_s=36.6)


def phase_settings(quick: bool) -> dict:
    """PD_modelA: the sweep modelA_phase_K (its axes and its model's fields)."""
    return sweep_settings(MODELA_PHASE_K, quick, _phase_k_fields(quick))


def _slow_band(ds, base):
    """(smallest, largest) of the K - 1 slow eigenvalues of every sweep point (spec §2.6c),
    recomputed on the host from the point's coupling."""
    import dataclasses

    from minimal_models import frustration as model_a

    dims, shape = ds["lambda_slowest"].dims, ds["lambda_slowest"].shape
    lo, hi = np.zeros(shape), np.zeros(shape)
    for index in np.ndindex(shape):
        point = dataclasses.replace(base, **{d: ds[d].values[i].item()
                                             for d, i in zip(dims, index)})
        slow = model_a.slow_eigenvalues(point.coupling(), eta_x=point.eta_x,
                                        eta_y=point.eta_y, nu=point.nu())
        lo[index], hi[index] = slow.min(), slow.max()
    return lo, hi


def run_phase(quick: bool) -> FigureResult:
    from figures.collapse import plot_phase_diagram
    from simulations.sweep import run_sweep

    ds = run_sweep(MODELA_PHASE_K.spec(quick), progress=not quick)
    slowest, largest = _slow_band(ds, MODELA_PHASE_K.model(quick))
    ds["lambda_slow_max"] = (ds["lambda_slowest"].dims, largest, {
        "units": "1/time", "description": "largest of the K - 1 slow eigenvalues"})
    ratio = ds["d_min"].isel(t=-1) / ds["d_min"].max("t")
    T = float(ds["t"][-1])
    clean = ratio.sel(frustration=0.0)
    # the late window [t_-6, T] (t >= 23) lies far past the fast modes (rates >= eta_x = 1), so
    # d_min decays by the K - 1 slow modes (spec §2.6): never slower than the slowest, never
    # faster than the fastest of them (d_min, the closest pair, often follows that one).  The
    # slowest mode alone sets the rate only once the others have died out,
    # (lambda_2 - lambda_1) t >> 1: at T = 100 that holds at K = 2 (one slow mode) only
    late = ds["d_min"].isel(t=[-6, -1])
    t_late = ds["t"].values[[-6, -1]]
    rate = -np.log(late.isel(t=1) / late.isel(t=0)) / (t_late[1] - t_late[0])
    # connected class graph (slowest rate > 0) and a decay not yet at round-off
    resolved = (ds["lambda_slowest"] > 1e-8) & (ratio > 1e-10)
    rel = (rate / ds["lambda_slowest"] - 1).where(resolved)
    rel_top = (rate / ds["lambda_slow_max"] - 1).where(resolved)
    spec = "spec §2.6 (RECONSTRUCTION)"
    checks = [
        Check("solver failures", 0, int((ds["result"] != 0).sum()), rtol=0, atol=0),
        Check("p = 0: min over K of d_min(T)/max d_min (no collapse)", 0.999,
              float(clean.min()), kind="min"),
        Check("p >= 0.1: max collapse ratio at T = 100", 1e-2,
              float(ratio.where(ds["frustration"] >= 0.1).max()), kind="max"),
        Check("max |slowest slow eigenvalue recomputed - the sweep's|", 1e-10,
              float(np.max(np.abs(slowest - ds["lambda_slowest"].values))), kind="max",
              source="toolkit consistency"),
        # one slow mode: the window's rate is that eigenvalue up to the fast modes' e^-23
        # and the solver's tolerance (measured 1e-5)
        Check("K = 2 (one slow mode): max |late decay rate of d_min / slow eigenvalue - 1|",
              1e-3, float(np.abs(rel.sel(n_classes=2)).max()), kind="max", source=spec),
        Check("min (late decay rate / slowest slow eigenvalue) - 1 (transients: 5%)", -0.05,
              float(rel.min()), kind="min", source=spec),
        Check("max (late decay rate / largest slow eigenvalue) - 1 (transients: 5%)", 0.05,
              float(rel_top.max()), kind="max", source=spec),
    ]
    fig = plot_phase_diagram(ds, title=f"Model A phase diagram (T = {T:g}, hard pairs)")
    return FigureResult(fig, checks, ds)


PD_MODELA = FigureConfig("PD_modelA", PAPER, "Model A phase diagram", STATUS,
                         "collapse ratio over frustration x classes with the predicted rate "
                         "overlaid",
                         quick_s=20.0, full_s=850.0, run=run_phase,
                         settings=phase_settings)
