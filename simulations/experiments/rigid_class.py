r"""The rigid-class embedding-only model under label noise (RECONSTRUCTION of arXiv:2604.09979,
see :mod:`minimal_models.label_noise`): one free embedding per class and per label, trained by
plain gradient descent on the shared Model A loss, so the d_min collapse rate can be compared
with the predicted per-step rate where the theory is exact.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rigid_class_rates"]


def rigid_class_rates(n_classes: int = 4, n_per_class: int = 30, dim: int = 5,
                      frustration: float = 0.3, *, steps: int = 60, label_seed: int = 0,
                      init_seed: int = 1) -> dict:
    r"""GD on L = model_a_loss(X_c[classes], Y, A; nu = 1/(K n)) with unit steps, A the sample
    coupling of symmetric label noise p: the fitted per-step decay rate of d_min(Y) over the
    second half of the run (``fit``) beside the prediction -log|1 - mu| of
    :func:`minimal_models.label_noise.symmetric_noise_rate` (``predicted``).  Exact for this
    model up to round-off; ``d_min`` holds the trajectory."""
    import jax
    import jax.numpy as jnp

    from analysis.collapse import d_min
    from analysis.timescales import fit_decay_rate
    from minimal_models import label_noise
    from minimal_models.objectives.collapse_models import model_a_loss

    K, n, d, p = n_classes, n_per_class, dim, frustration
    classes = np.repeat(np.arange(K), n)
    labels = label_noise.flip_labels(classes, K, p, seed=label_seed, mode="symmetric")
    A = jnp.asarray(label_noise.sample_coupling(labels, K))
    rng = np.random.default_rng(init_seed)
    Xc, Y = jnp.asarray(rng.standard_normal((K, d))), jnp.asarray(0.1 * rng.standard_normal((K, d)))
    nu = 1.0 / (K * n)
    grad = jax.jit(jax.grad(lambda X_, Y_: model_a_loss(X_[classes], Y_, A, nu=nu), (0, 1)))
    dm = []
    for _ in range(steps):
        dm.append(float(d_min(Y)))
        gx, gy = grad(Xc, Y)
        Xc, Y = Xc - gx, Y - gy
    half = steps // 2
    fit = fit_decay_rate(np.arange(float(steps)), np.asarray(dm), window=(half, steps - 1))["rate"]
    pred = label_noise.per_step_rate(label_noise.symmetric_noise_rate(K, n, p, eta_x=1.0,
                                                                      eta_y=1.0, nu=nu))
    return {"fit": float(fit), "predicted": float(pred), "d_min": np.asarray(dm)}
