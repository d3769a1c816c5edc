r"""The symplectic-integrator experiments of the Hamiltonian-geometry paper (arXiv:2605.20107):
the Cramer-Wold sliced-W1 toy of Figs. 7-9, the shadow-Hamiltonian error scaling, and the
author's pendulum showcase.

They run the integrators of :mod:`minimal_models.symplectic` on batches of pendulums and
reduce the results with :mod:`analysis.diagnostics`.  Used by figures HG_integrators and
HG_pendulum (:mod:`paper_repro.hamiltonian`, which holds the settings and expected values).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from analysis.diagnostics import sliced_w1_profile, whiten_by_reference
from minimal_models import symplectic as sp

__all__ = ["TOY_THETAS", "toy_profiles", "toy_seed_spread", "shadow_scaling",
           "pendulum_showcase"]

TOY_THETAS = 180  # projection directions of the sliced W1 (RECONSTRUCTION)


def toy_profiles(seed: int, n: int) -> dict:
    """Sliced-W1 profiles of Euler and leapfrog against the fine leapfrog reference, for one
    draw of n initial states (spec §3.2 toy, RECONSTRUCTION).

    n pendulums V = 1 - cos q with q0 ~ U(0.15, 0.85), p0 ~ U(-0.35, 0.35); model runs
    h = 0.1 x 250 steps (the paper's settings, CONFIRMED), reference leapfrog h = 0.01 x 2500;
    both whitened by the reference, then the sliced W1 over ``TOY_THETAS`` directions.
    Returns {scheme: {"g", "mean", "max"}, "theta": directions}."""
    rng = np.random.default_rng(seed)
    q0 = jnp.asarray(rng.uniform(0.15, 0.85, n))
    p0 = jnp.asarray(rng.uniform(-0.35, 0.35, n))
    # jnp.sin acts elementwise: n independent pendulums V = 1 - cos q in one batch
    ref = np.stack(sp.leapfrog(jnp.sin, q0, p0, 0.01, 2500), axis=1)
    thetas = np.linspace(0, np.pi, TOY_THETAS, endpoint=False)
    out = {}
    for name, integrator in [("explicit Euler", sp.explicit_euler), ("leapfrog", sp.leapfrog)]:
        model = np.stack(integrator(jnp.sin, q0, p0, 0.1, 250), axis=1)
        out[name] = sliced_w1_profile(whiten_by_reference(model, ref),
                                      whiten_by_reference(ref, ref), thetas)
    out["theta"] = thetas
    return out


def toy_seed_spread(n: int, seeds) -> np.ndarray:
    """Standard deviation over seeds of (Euler mean, Euler max, leapfrog mean, leapfrog max):
    the sampling noise that sets the tolerance of the toy's checks (TOY_SPREAD)."""
    rows = []
    for seed in seeds:
        toy = toy_profiles(seed, n)
        rows.append([toy["explicit Euler"]["mean"], toy["explicit Euler"]["max"],
                     toy["leapfrog"]["mean"], toy["leapfrog"]["max"]])
    return np.std(np.array(rows), axis=0, ddof=1)


def shadow_scaling(hs, T: float = 200.0):
    r"""Peak-to-peak over [0, T] of H = p^2/2 + 1 - cos q and of the KDK shadow Hamiltonian
    H~ (:func:`minimal_models.symplectic.modified_hamiltonian`) along pendulum leapfrog runs
    from (q, p) = (1, 0.3), one per step size h: (ptp_H, ptp_shadow) arrays.  Expected
    scaling h^2 for H (Thm 4.8, CONFIRMED) and h^4 for H~ (DERIVED)."""
    V = lambda q: 1 - jnp.cos(q[0])  # noqa: E731
    ptp_H, ptp_shadow = [], []
    for h in hs:
        def step(state, _, h=h):  # one scan per h: energies are computed inside the loop
            q, p = sp.leapfrog(jax.grad(V), *state, h, 1)
            return (q, p), (0.5 * p @ p + V(q), sp.modified_hamiltonian(V, q, p, h))

        _, (H, Hs) = jax.lax.scan(step, (jnp.array([1.0]), jnp.array([0.3])), None,
                                  length=int(round(T / h)))
        ptp_H.append(float(np.ptp(H)))
        ptp_shadow.append(float(np.ptp(Hs)))
    return np.array(ptp_H), np.array(ptp_shadow)


def _pendulum_energy(q, p):
    return 0.5 * p**2 + 1 - jnp.cos(q)


def _showcase_heatmap(settings, integ, grid):
    """(H_T - H_0)/(H_0 + 1e-3) on the grid, H_0 <= 5e-3 masked, float32, q wrapped each step:
    the author's heatmap definition."""
    qs = np.linspace(*settings["q_range"], grid, dtype=np.float32)
    ps = np.linspace(*settings["p_range"], grid, dtype=np.float32)
    Q, P = np.meshgrid(qs, ps, indexing="ij")
    q, p = jnp.asarray(Q), jnp.asarray(P)
    qT, pT = sp.trajectory(integ, jnp.sin, q, p, settings["dt"], settings["n_steps"],
                           wrap_q=True)
    H0, HT = _pendulum_energy(q, p), _pendulum_energy(qT[-1], pT[-1])
    assert H0.dtype == jnp.float32 and HT.dtype == jnp.float32  # the showcase's precision
    return qs, ps, sp.showcase_energy_drift(H0, HT)


def pendulum_showcase(settings: dict, grid: int, grids) -> tuple:
    r"""The author's pendulum showcase (settings and metrics CONFIRMED in the author's code, spec
    §3.2): explicit Euler vs leapfrog on H = p^2/2 + 1 - cos q with the ``settings``' dt (keys as ``paper_repro.hamiltonian.SHOWCASE``) and step
    count.

    - energy-drift heatmap (H_T - H_0)/(H_0 + 1e-3) on a ``grid`` x ``grid`` float32 grid,
      q wrapped each step, H_0 <= 5e-3 masked;
    - energy bands: quantiles over uniform initial conditions of (H_t - H_0)/max(H_0, 1e-3);
    - momentum-flip error (the author's wrapped-L2 metric, and our unwrapped max-abs);
    - Liouville area ratio of a square blob on each grid of ``grids`` (float64, q unwrapped),
      and the exact Euler ratio: the blob mean of prod_k (1 + dt^2 cos q_k) (DERIVED).

    Returns (dataset, extras) with extras = {"areas": {scheme: {grid: ratio}},
    "exact_euler_area": float}.
    """
    dt, n_steps = settings["dt"], settings["n_steps"]
    schemes = [("explicit Euler", sp.explicit_euler), ("leapfrog", sp.leapfrog)]
    names = [s for s, _ in schemes]
    drift = {}
    for name, integ in schemes:
        qs, ps, drift[name] = _showcase_heatmap(settings, integ, grid)

    # energy over time: 256 uniform initial conditions (seed 0), float32, q wrapped each step,
    # (H_t - H_0)/max(H_0, 1e-3) -- the author's band definition
    rng = np.random.default_rng(settings["seed"])
    q0 = jnp.asarray(rng.uniform(*settings["q_range"], settings["n_ic"]), dtype=jnp.float32)
    p0 = jnp.asarray(rng.uniform(*settings["p_range"], settings["n_ic"]), dtype=jnp.float32)
    quantiles = [0.1, 0.25, 0.5, 0.75, 0.9]
    bands = {}
    for name, integ in schemes:
        q_t, p_t = sp.trajectory(integ, jnp.sin, q0, p0, dt, n_steps, wrap_q=True)
        H_t = _pendulum_energy(q_t, p_t)
        rel = sp.showcase_energy_drift(H_t[:1], H_t, denominator="floor", mask_below=None)
        bands[name] = np.quantile(rel, quantiles, axis=1)

    # Liouville blob: float64, q unwrapped (wrapping is discontinuous in phase space), the
    # author's triangulation of the mapped grid
    half, centre = settings["blob_half_width"], settings["blob_centre"]
    edge = np.linspace(-half, half, 400)  # a finely sampled boundary, drawn as a curve
    zeros = 0 * edge
    boundary = np.concatenate([np.stack([edge, -half + zeros]), np.stack([half + zeros, edge]),
                               np.stack([edge[::-1], half + zeros]),
                               np.stack([-half + zeros, edge[::-1]])], axis=1)
    bq, bp = boundary[0] + centre[0], boundary[1] + centre[1]
    areas, flips, flips_ours, blob = {}, {}, {}, {}
    start = (jnp.array([settings["flip_start"][0]]), jnp.array([settings["flip_start"][1]]))
    for name, integ in schemes:
        areas[name] = {g: sp.liouville_area_ratio(integ, jnp.sin, centre=centre, half_width=half,
                                                  n_grid=g, dt=dt, n_steps=n_steps)
                       for g in grids}
        flips[name] = sp.momentum_flip_error(integ, jnp.sin, *start, dt, n_steps,
                                             metric="wrapped_l2")
        flips_ours[name] = sp.momentum_flip_error(integ, jnp.sin, *start, dt, n_steps,
                                                  metric="max_abs")
        q1, p1 = integ(jnp.sin, jnp.asarray(bq), jnp.asarray(bp), dt, n_steps)
        blob[name] = (np.stack([bq, np.asarray(q1)]), np.stack([bp, np.asarray(p1)]))

    # the exact Euler area ratio: the blob mean of det D Phi = prod_k (1 + dt^2 cos q_k), the
    # determinant of one explicit-Euler step being det(I + dt^2 V'') (spec §3.1, DERIVED)
    mid = centre[0] - half + (np.arange(101) + 0.5) / 101 * 2 * half
    Qm, Pm = np.meshgrid(mid, mid - centre[0] + centre[1], indexing="ij")
    q_path, _ = sp.trajectory(sp.explicit_euler, jnp.sin, jnp.asarray(Qm), jnp.asarray(Pm), dt,
                              n_steps)
    exact_euler_area = float(np.mean(np.prod(1 + dt**2 * np.cos(np.asarray(q_path[:-1])), axis=0)))

    ds = xr.Dataset(
        {"drift": (("scheme", "q0", "p0"), np.array([drift[s] for s in names])),
         "energy_quantiles": (("scheme", "quantile", "time"), np.array([bands[s] for s in names])),
         "blob_q": (("scheme", "time_index", "boundary"), np.array([blob[s][0] for s in names])),
         "blob_p": (("scheme", "time_index", "boundary"), np.array([blob[s][1] for s in names])),
         "area_ratio": ("scheme", [areas[s][settings["blob_grid"]] for s in names]),
         "flip_error": ("scheme", [flips[s] for s in names]),
         "flip_error_max_abs_ours": ("scheme", [flips_ours[s] for s in names])},
        coords={"scheme": names, "q0": qs, "p0": ps, "quantile": quantiles,
                "time": dt * np.arange(n_steps + 1), "time_index": [0, n_steps]},
        attrs={"T": dt * n_steps, "dt": dt, "n_steps": n_steps, "heatmap_grid": grid,
               "heatmap_linthresh": 1e-2,
               "heatmap_label": ("$(H_T - H_0)/(H_0 + 10^{-3})$\n"
                                 "(black: $H_0 \\leq 5\\cdot10^{-3}$, masked)"),
               "energy_label": r"$(H_t - H_0)/\max(H_0, 10^{-3})$",
               "title": (f"Author's pendulum showcase: explicit Euler vs leapfrog "
                         f"(dt = {dt:g}, {n_steps} steps; settings and metrics CONFIRMED)")})
    return ds, {"areas": areas, "exact_euler_area": exact_euler_area}
