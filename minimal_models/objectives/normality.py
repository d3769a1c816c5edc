r"""Gaussianity of embeddings: the Epps--Pulley characteristic-function statistic, SIGReg (its
mean over random 1-D projections) and the LeJEPA loss built on it.

Sources: LeJEPA (arXiv:2511.08544, code rbalestr-lab/lejepa @ eddffdd) and the HamJEPA author's
baseline (R02AJ/HamJEPA-HamSIGReg @ 35bf080); spec ``hamiltonian_geometry.md`` §5.1-5.2 and
``ssl_objectives_and_metrics.md`` §2.8.  All three discretisations of the integral are
CONFIRMED (each is the one some published code or paper uses).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from . import _common as c

__all__ = [
    "EP_GRIDS",
    "ep_grid",
    "epps_pulley",
    "epps_pulley_on_grid",
    "epps_pulley_null_mean",
    "random_directions",
    "sigreg",
    "sigreg_views",
    "lejepa",
    "lejepa_composition",
    "lejepa_invariance",
]

EP_GRIDS = ("official", "hamjepa", "paper")


def ep_grid(name: str = "official", *, t_max: float | None = None,
            n_points: int | None = None):
    r"""Knots t_j and weights omega_j (the window e^{-t^2/2} included) of a discretisation of

        EP = N \int |\hat\phi_N(t) - e^{-t^2/2}|^2 e^{-t^2/2} dt.

    - ``"official"`` (lejepa package): t = linspace(0, t_max, n_points) with t_max = 3,
      n_points = 17; folded trapezoid: omega = 2 Delta w(t) inside, Delta w(t) at both ends.
    - ``"hamjepa"`` (author baseline): the same folded rule on linspace(0, 3, 9).
    - ``"paper"`` (LeJEPA Alg. 1): t = linspace(-t_max, t_max, n_points) with t_max = 5,
      n_points = 17; plain trapezoid, omega = Delta w(t) inside, Delta w(t)/2 at the ends.

    Returns float64 numpy arrays ``(t, omega)`` (cast to the data dtype by the caller).
    CONFIRMED (spec hamiltonian_geometry.md §5.1 table).
    """
    c.choice("grid", name, EP_GRIDS)
    defaults = {"official": (3.0, 17), "hamjepa": (3.0, 9), "paper": (5.0, 17)}[name]
    t_max = defaults[0] if t_max is None else c.check.positive("t_max", t_max)
    n_points = defaults[1] if n_points is None else c.integer("n_points", n_points, minimum=2)
    if name == "paper":
        t = np.linspace(-t_max, t_max, n_points)
        delta = t[1] - t[0]
        scale = np.full(n_points, delta)
        scale[[0, -1]] = delta / 2
    else:
        t = np.linspace(0.0, t_max, n_points)
        delta = t[1] - t[0]
        scale = np.full(n_points, 2 * delta)
        scale[[0, -1]] = delta
    return t, scale * np.exp(-0.5 * t**2)


def epps_pulley_on_grid(y, t, weights):
    r"""EP(y) = N \sum_j omega_j [(\hat c(t_j) - e^{-t_j^2/2})^2 + \hat s(t_j)^2], with
    \hat c, \hat s the sample means of cos(t y), sin(t y) over the first axis of y.

    y: (N,) or (N, K) (one statistic per column).  ``t``, ``weights`` from :func:`ep_grid`.
    """
    y = c.as_work(y)
    if y.ndim not in (1, 2):
        c.shape_error("y", y, "(N,) or (N, K)")
    n = y.shape[0]
    if n < 1:
        raise ValueError("y must hold at least one sample (N >= 1)")
    t = jnp.asarray(t, y.dtype)
    w = jnp.asarray(weights, y.dtype)
    ty = y[..., None] * t  # (N, [K,] T)
    cos_mean = jnp.mean(jnp.cos(ty), axis=0)
    sin_mean = jnp.mean(jnp.sin(ty), axis=0)
    err = (cos_mean - jnp.exp(-0.5 * t**2)) ** 2 + sin_mean**2
    return n * jnp.sum(err * w, axis=-1)


@c.jit_loss
def epps_pulley(y, *, t_max=3.0, n_points=17):
    r"""Epps--Pulley statistic of the sample y against N(0, 1) (CONFIRMED, LeJEPA eq. and
    the official ``lejepa`` code):

        EP(y_{1:N}) = N \int_{-\infty}^{\infty} |\hat\phi_N(t) - e^{-t^2/2}|^2 e^{-t^2/2} dt,

    discretised with the official folded trapezoid rule on linspace(0, t_max, n_points)
    (``n_points=9`` gives the HamJEPA author's grid).  y: (N,) returns a scalar; (N, K)
    returns one value per column, shape (K,).  Pure JAX; computed in the dtype of y (at least
    float32).
    """
    t, w = ep_grid("official", t_max=t_max, n_points=n_points)
    return epps_pulley_on_grid(y, t, w)


def epps_pulley_null_mean(grid: str = "official", *, t_max=None, n_points=None) -> float:
    r"""E[EP] for i.i.d. N(0,1) samples of any size: \sum_j omega_j (1 - e^{-t_j^2}) (spec E1,
    since E|\hat\phi_N - \phi|^2 = (1 - \phi^2)/N)."""
    t, w = ep_grid(grid, t_max=t_max, n_points=n_points)
    return float(np.sum(w * (1.0 - np.exp(-t**2))))


def random_directions(key, dim: int, num_slices: int, dtype=jnp.float32):
    """(dim, num_slices) matrix of i.i.d. uniform unit vectors (normalised Gaussian columns)."""
    c.integer("dim", dim, minimum=1)
    c.integer("num_slices", num_slices, minimum=1)
    g = jax.random.normal(key, (dim, num_slices), dtype=dtype)
    return g / jnp.linalg.norm(g, axis=0, keepdims=True)


def _sigreg_grid(z, directions, t, w):
    z, a = c.as_work(z, directions)
    if z.ndim != 2:
        c.shape_error("z", z, "(N, D)")
    if a.ndim != 2 or a.shape[0] != z.shape[1]:
        c.shape_error("directions", a, f"(D, M) with D = {z.shape[1]}")
    a = a / jnp.linalg.norm(a, axis=0, keepdims=True)
    return jnp.mean(epps_pulley_on_grid(z @ a, t, w))


@c.jit_loss
def sigreg(z, directions, *, t_max=3.0, n_points=17):
    r"""SIGReg(Z) = (1/M) \sum_m EP({a_m^T z_n}_n), a_m = directions[:, m] / ||directions[:, m]||
    (CONFIRMED: LeJEPA, arXiv:2511.08544; official folded grid, see :func:`epps_pulley`).

    z: (N, D); directions: (D, M), drawn by the caller (e.g. :func:`random_directions`, fresh
    every step as in the official code).  Returns a scalar.
    """
    t, w = ep_grid("official", t_max=t_max, n_points=n_points)
    return _sigreg_grid(z, directions, t, w)


@c.jit_loss
def sigreg_views(views, directions, *, grid="official", t_max=None, n_points=None):
    """mean_v SIGReg(views[v]) for views (V, N, D): N = samples per view, as the LeJEPA and
    HamJEPA-baseline code do.  ``grid`` names the discretisation (:func:`ep_grid`)."""
    c.require_ndim("views", views, 3, "(V, N, D)")
    t, w = ep_grid(grid, t_max=t_max, n_points=n_points)
    return jnp.mean(jax.vmap(lambda z: _sigreg_grid(z, directions, t, w))(views))


def lejepa_invariance(views, num_global_views=None):
    r"""inv = mean_{v,n,k} (\bar z_{nk} - z_{v,nk})^2, \bar z = mean over the first
    ``num_global_views`` views (all views by default)."""
    views = c.as_work(views)
    c.require_ndim("views", views, 3, "(V, N, D)")
    n_views = views.shape[0]
    vg = n_views if num_global_views is None else c.integer("num_global_views",
                                                            num_global_views, minimum=1)
    if vg > n_views:
        raise ValueError(f"num_global_views={vg} must lie in [1, V={n_views}]")
    centre = jnp.mean(views[:vg], axis=0)
    return jnp.mean((centre[None] - views) ** 2)


def lejepa_composition(objective: str, views, directions, regulariser, *, key, num_slices,
                       lam, composition, num_global_views, log_name: str):
    r"""The composition shared by LeJEPA and HamSIGReg's training loss: on views (V, N, D),

        composition="convex"  (LeJEPA paper / minimal example):  L = (1 - lam) inv + lam R
        composition="hamjepa" (HamJEPA author baseline):         L = 1/2 inv + lam R

    with inv = :func:`lejepa_invariance` and R = ``regulariser(views, directions)`` (SIGReg for
    :func:`lejepa`, SIGReg of z H^{1/2} for HamSIGReg).  Slices: ``directions`` (D, M), or
    ``num_slices`` of them drawn from ``key``.  ``objective`` names the caller in errors;
    R is logged as ``log_name``.  Returns ``(loss, logs)`` with ``inv``, ``pred`` (= 1/2 inv,
    the author's "prediction loss"), ``log_name``, ``std_l2``, ``loss``.
    """
    c.choice("composition", composition, ("convex", "hamjepa"))
    lam = c.real("lam", lam, low=0.0, high=1.0)
    views = c.as_work(views)
    c.require_ndim("views", views, 3, "(V, N, D)")
    # a normality statistic of one sample per view tests nothing
    c.require_batch(objective, views.shape[1], 2)
    if directions is None:
        if key is None:
            raise ValueError(f"{objective} needs directions=(D, M) or key= to draw num_slices "
                             "of them")
        directions = random_directions(key, views.shape[-1], num_slices, views.dtype)
    inv = lejepa_invariance(views, num_global_views)
    reg = regulariser(views, directions)
    inv_weight = (1.0 - lam) if composition == "convex" else 0.5
    loss = inv_weight * inv + lam * reg
    return c.finish(loss, {"inv": inv, "pred": 0.5 * inv, log_name: reg,
                           "std_l2": c.std_l2(views)})


@c.jit_loss
def lejepa(views, directions=None, *, key=None, num_slices=256, lam=0.02,
           composition="convex", grid="official", t_max=None, n_points=None,
           num_global_views=None):
    r"""LeJEPA loss on views (V, N, D) (CONFIRMED; spec ssl §2.8, hamiltonian §5.2):

        composition="convex"  (LeJEPA paper / minimal example):  L = (1 - lam) inv + lam SIGReg
        composition="hamjepa" (HamJEPA author baseline, used in its tables):
                                                                 L = 1/2 inv + lam SIGReg

    with inv = :func:`lejepa_invariance` and SIGReg = :func:`sigreg_views`
    (:func:`lejepa_composition`).  The author's baseline settings are
    ``composition="hamjepa", grid="hamjepa", num_slices=64, lam=0.02``.
    Slices: pass ``directions`` (D, M), or a PRNG ``key`` to draw ``num_slices`` of them.
    N >= 2 samples per view.

    Returns ``(loss, logs)`` with logs ``inv``, ``pred`` (= 1/2 inv, the author's
    "prediction loss"), ``sigreg``, ``std_l2``, ``loss``.
    """
    def regulariser(v, dirs):
        return sigreg_views(v, dirs, grid=grid, t_max=t_max, n_points=n_points)

    return lejepa_composition("lejepa", views, directions, regulariser, key=key,
                              num_slices=num_slices, lam=lam, composition=composition,
                              num_global_views=num_global_views, log_name="sigreg")
