r"""HamSIGReg: SIGReg of embeddings whitened by a target geometry H, and its training loss, as
the HamJEPA author's code implements them.

Paper: R. Jenkinson Alvarez, "Beyond Isotropy in JEPAs: Hamiltonian Geometry and Symplectic
Prediction", arXiv:2605.20107 (Prop. 3.5); author code R02AJ/HamJEPA-HamSIGReg @ 35bf080.
Spec ``shared/specs/hamiltonian_geometry.md`` §5.3.  CONFIRMED (in code).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from . import _common as c
from .normality import _sigreg_grid, ep_grid, lejepa_composition

__all__ = ["HAM_KINDS", "sqrt_h_spectrum", "apply_sqrt_h", "ham_sigreg", "ham_sigreg_loss"]

HAM_KINDS = ("identity", "diag", "chain", "grid_chain")


def sqrt_h_spectrum(kind: str, d: int, *, kappa=1.0, eps=1e-3, beta=1.0, normalize="trace",
                    h=None, w=None, d_f=None) -> np.ndarray | None:
    r"""The multipliers that apply H^{1/2} matrix-free (CONFIRMED in the author's HamSIGReg):

    - ``identity``: None.
    - ``diag``: sqrt(v), v = linspace(1, 2, d) / geometric_mean (shape (d,)).
    - ``chain`` (1-D periodic chain): lambda_k = kappa (2 - 2 cos(2 pi k / d)) + eps over the
      rfft bins k = 0..d//2, normalised to mean 1 over those bins (``"trace"``, the code's
      convention) or geometric mean 1 (``"geometric"``), blended lambda <- (1-beta) + beta lambda;
      returns sqrt(lambda), shape (d//2 + 1,).
    - ``grid_chain``: per channel on the h x w token grid, lambda = eps + kappa (4 sin^2(pi f_x)
      + 4 sin^2(pi f_y)) over the fft2 frequencies, same normalisation; shape (h, w).
    """
    c.choice("kind", kind, HAM_KINDS)
    c.integer("d", d, minimum=1)
    c.choice("normalize", normalize, ("trace", "geometric"))
    beta = c.real("beta", beta, low=0.0, high=1.0)
    if kind == "identity":
        return None
    if kind == "diag":
        v = np.linspace(1.0, 2.0, d)
        return np.sqrt(v / np.exp(np.mean(np.log(v))))
    if kind == "chain":
        k = np.arange(d // 2 + 1)
        lam = kappa * (2.0 - 2.0 * np.cos(2.0 * np.pi * k / d)) + eps
    else:
        if h is None or w is None or d_f is None:
            raise ValueError("kind='grid_chain' needs h, w and d_f (token grid and channels)")
        h, w, d_f = (c.integer(n, v, minimum=1) for n, v in (("h", h), ("w", w), ("d_f", d_f)))
        if h * w * d_f != d:
            raise ValueError(f"h*w*d_f = {h * w * d_f} must equal d = {d}")
        nu_y = 4.0 * np.sin(np.pi * np.fft.fftfreq(h)) ** 2
        nu_x = 4.0 * np.sin(np.pi * np.fft.fftfreq(w)) ** 2
        lam = eps + kappa * (nu_y[:, None] + nu_x[None, :])
    if np.any(lam <= 0):
        raise ValueError(f"eps={eps} and kappa={kappa} give a non-positive H eigenvalue; "
                         "both must make eps + kappa * nu > 0")
    lam = lam / (lam.mean() if normalize == "trace" else np.exp(np.mean(np.log(lam))))
    return np.sqrt((1.0 - beta) + beta * lam)


@c.jit_loss
def apply_sqrt_h(z, kind: str = "chain", **spectrum_kw):
    """z H^{1/2} for z (..., d) (H^{1/2} symmetric), matrix-free by :func:`sqrt_h_spectrum`."""
    z = c.as_work(z)
    d = z.shape[-1]
    s = sqrt_h_spectrum(kind, d, **spectrum_kw)
    if kind == "identity":
        return z
    if kind == "diag":
        return z * jnp.asarray(s, z.dtype)
    if kind == "chain":
        zf = jnp.fft.rfft(z, axis=-1, norm="ortho")
        return jnp.fft.irfft(zf * jnp.asarray(s, z.dtype), n=d, axis=-1, norm="ortho")
    h, w, d_f = spectrum_kw["h"], spectrum_kw["w"], spectrum_kw["d_f"]
    x = jnp.reshape(z, (-1, h, w, d_f))
    xf = jnp.fft.fft2(x, axes=(1, 2), norm="ortho") * jnp.asarray(s, z.dtype)[None, :, :, None]
    return jnp.reshape(jnp.real(jnp.fft.ifft2(xf, axes=(1, 2), norm="ortho")), z.shape)


@c.jit_loss
def ham_sigreg(z, directions, *, kind="chain", grid="official", t_max=None, n_points=None,
               **spectrum_kw):
    r"""HamSIGReg(z) = SIGReg(z H^{1/2}) (CONFIRMED in code; Prop. 3.5: Cov(z H^{1/2}) is
    isotropic iff Cov z is proportional to H^{-1}).  z: (N, d) or views (V, N, d) (then the mean
    over views); directions (d, M).  ``kind`` and ``spectrum_kw`` as in :func:`sqrt_h_spectrum`
    (``kind="chain"`` with kappa=1, eps=1e-3, beta=1, normalize="trace" is the code default).
    """
    zt = apply_sqrt_h(z, kind, **spectrum_kw)
    t, w = ep_grid(grid, t_max=t_max, n_points=n_points)
    if zt.ndim == 2:
        return _sigreg_grid(zt, directions, t, w)
    c.require_ndim("z", zt, 3, "(N, d) or (V, N, d)")
    return jnp.mean(jax.vmap(lambda x: _sigreg_grid(x, directions, t, w))(zt))


@c.jit_loss
def ham_sigreg_loss(views, directions=None, *, key=None, num_slices=256, lam=0.02,
                    composition="hamjepa", kind="chain", grid="official", t_max=None,
                    n_points=None, num_global_views=None, **spectrum_kw):
    r"""The author's HamSIGReg training objective on views (V, N, d) (CONFIRMED in code, not in
    the reported tables): :func:`minimal_models.objectives.normality.lejepa` with SIGReg replaced
    by :func:`ham_sigreg` (:func:`minimal_models.objectives.normality.lejepa_composition`),

        composition="hamjepa": L = 1/2 inv + lam HamSIGReg
        composition="convex":  L = (1 - lam) inv + lam HamSIGReg

    Slices from ``directions`` (d, M) or ``key`` (``num_slices`` of them).  Returns
    ``(loss, logs)`` with ``inv``, ``pred`` (= 1/2 inv), ``ham_sigreg``, ``std_l2``, ``loss``.
    """
    def regulariser(v, dirs):
        return ham_sigreg(v, dirs, kind=kind, grid=grid, t_max=t_max, n_points=n_points,
                          **spectrum_kw)

    return lejepa_composition("ham_sigreg_loss", views, directions, regulariser, key=key,
                              num_slices=num_slices, lam=lam, composition=composition,
                              num_global_views=num_global_views, log_name="ham_sigreg")
