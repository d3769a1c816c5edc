r"""Diagnostics of HamJEPA's symplectic predictor beside the HamJEPA vs MLP-HJEPA decision:
did the predictor shape the encoder, and is the trained predictor symplectic?

HamJEPA and its MLP-HJEPA ablation (spec hamiltonian_geometry.md §4-§5, §9) share the encoder,
the regularisers, the seeds and the augmentation stream; only the predictor differs.  When the
predictor is inert (in a short run f_phi stays near its initialisation and the leapfrog of the
harmonic base potential is a near-identity map, as MLP-HJEPA's small residual step is), the two
methods train almost the same encoder, and their comparison says nothing about symplectic
prediction.  These numbers say where a run stands; they sit beside the statistical decision of
the claim and never replace it.

1. **Encoder-gradient cosine** (:func:`encoder_gradient_cosine`).  On one batch of augmented
   views, at one encoder theta (by default HamJEPA's trained encoder), with each method's own
   trained predictor:

       cos = <g_H, g_M> / (||g_H|| ||g_M||),   g_X = d L_X(theta, predictor_X; batch) / d theta,

   flattened over every trainable encoder array.  Same batch, same log-det projections, same
   step (the end of training: residual-scale warm-up done).  cos ~ 1: the two losses push the
   encoder the same way (the shared regularisers dominate, or both predictors act alike);
   markedly below 1: the predictor changes what the encoder learns.
2. **Share of f_phi in q_hat** (:func:`fphi_share`).  With (q_hat, p_hat) = Phi^{(K)}(q, p)
   the trained leapfrog predictor (V = 1/2 b ||q||^2 + s f_phi) and q_free the same K
   leapfrog steps without the learned term (s = 0: the harmonic base potential alone),

       share = ||q_hat - q_free||_F / ||q_hat - q||_F

   over a set of held-out states (Frobenius norms over states and dimensions): the fraction
   of the predicted displacement of q that f_phi accounts for (0: f_phi contributes nothing,
   the prediction is the fixed harmonic map; it can exceed 1 when f_phi opposes the base
   force).
3. **Symplecticity defect** (:func:`symplecticity_defects`).  max over held-out states of
   ||A^T J A - J||_max, A = D Phi at the state (forward-mode Jacobian in the predictor's
   float32; the product in float64), :func:`minimal_models.symplectic.symplecticity_defect`.
   Spec §9: the trained HamJEPA predictor stays < 1e-5 in fp32 on 64 held-out states (a
   leapfrog is symplectic for any V); the MLP-HJEPA predictor, for contrast, need not be.

Held-out states are the (q, p) encodings of the first ``n_states`` test images by the trained
HamJEPA encoder in inference mode.  Inputs are :class:`simulations.encoders.train.TrainResult`
objects of a HamJEPA and an MLP-HJEPA run on the same data.  RECONSTRUCTION (choices OURS).
"""

from __future__ import annotations

import inspect

import numpy as np

__all__ = ["SYMPLECTIC_TOLERANCE", "predictor_options", "held_out_states", "fphi_share",
           "symplecticity_defects", "encoder_gradient_cosine", "predictor_diagnostics"]

#: spec hamiltonian_geometry.md §9: the trained predictor's defect in fp32 on 64 held-out states
SYMPLECTIC_TOLERANCE = 1e-5


def _require(result, objective: str, name: str):
    cfg = getattr(result, "config", None)
    if cfg is None or getattr(result, "objective_module", None) is None:
        raise ValueError(f"{name} must be a TrainResult with a trained predictor, got "
                         f"{type(result).__name__}")
    if cfg.objective != objective:
        raise ValueError(f"{name} must be a {objective!r} run, got objective="
                         f"{cfg.objective!r}")
    return cfg


def predictor_options(result) -> dict:
    """The predictor keywords a run trained with, the residual-scale warm-up finished: ``dt,
    n_steps, base_coeff, residual_scale`` for HamJEPA, ``dt, n_steps, form`` for MLP-HJEPA
    (the run's objective options over the function's defaults)."""
    from minimal_models.objectives import hamjepa as hj

    cfg = result.config
    fn = {"hamjepa": hj.hamjepa_predict, "mlp_hjepa": hj.mlp_hjepa_predict}.get(cfg.objective)
    if fn is None:
        raise ValueError(f"result.config.objective={cfg.objective!r} has no phase-space "
                         "predictor; allowed: 'hamjepa', 'mlp_hjepa'")
    opts = dict(cfg.training_objective.options)
    names = [n for n, p in inspect.signature(fn).parameters.items()
             if p.kind == inspect.Parameter.KEYWORD_ONLY and n != "direction"]
    return {n: opts.get(n, inspect.signature(fn).parameters[n].default) for n in names}


def held_out_states(result, *, n_states: int = 64):
    """(q, p), each (n_states, d0) float32: the first ``n_states`` test images encoded by the
    run's trained encoder in inference mode."""
    from minimal_models import validation as check
    from simulations.encoders.train import encode

    n = check.integer("n_states", n_states, minimum=1)
    x = result.data.standardised("test")
    if n > len(x):
        raise ValueError(f"n_states={n} exceeds the {len(x)} test images")
    feats = encode(result.encoder, result.state, x[:n], dtype=result.config.dtype)
    return np.asarray(feats["q"], np.float32), np.asarray(feats["p"], np.float32)


def fphi_share(result, q, p) -> float:
    """||q_hat - q_free||_F / ||q_hat - q||_F of a HamJEPA run on the states (q, p) (module
    docstring, item 2)."""
    import jax.numpy as jnp

    from minimal_models.objectives import hamjepa as hj

    _require(result, "hamjepa", "result")
    q, p = jnp.asarray(q, jnp.float32), jnp.asarray(p, jnp.float32)
    opts = predictor_options(result)
    q_hat, _ = hj.hamjepa_predict(result.objective_module, q, p, **opts)
    q_free, _ = hj.hamjepa_predict(result.objective_module, q, p,
                                   **{**opts, "residual_scale": 0.0})
    moved = float(jnp.linalg.norm(q_hat - q))
    if moved == 0.0:
        raise ValueError("the predictor leaves q unchanged on these states: the share of "
                         "f_phi is undefined")
    return float(jnp.linalg.norm(q_hat - q_free)) / moved


def symplecticity_defects(result, q, p) -> np.ndarray:
    """||A^T J A - J||_max per state, A = D Phi (q_i, p_i) of the run's trained predictor
    (HamJEPA or MLP-HJEPA; module docstring, item 3): shape (n_states,)."""
    import jax.numpy as jnp

    from minimal_models.symplectic import symplecticity_defect

    states = jnp.concatenate([jnp.asarray(q, jnp.float32), jnp.asarray(p, jnp.float32)], -1)
    fn = _jacobians(result.config.objective, tuple(sorted(predictor_options(result).items())))
    jac = np.asarray(fn(result.objective_module, states), np.float64)
    return np.array([symplecticity_defect(a) for a in jac])


_COMPILED: dict = {}  # one compiled program per (kind, settings): seeds share it


def _jacobians(objective, opts):
    """``(module, states (N, 2 d0)) -> D Phi`` at every state (N, 2 d0, 2 d0), compiled once
    per predictor kind and settings."""
    key = ("jacobians", objective, opts)
    if key not in _COMPILED:
        import equinox as eqx
        import jax
        import jax.numpy as jnp

        from minimal_models.objectives import hamjepa as hj

        fn = hj.hamjepa_predict if objective == "hamjepa" else hj.mlp_hjepa_predict
        kw = dict(opts)

        @eqx.filter_jit
        def jacobians(module, states):
            d0 = states.shape[-1] // 2

            def phi(s):  # one state (2 d0,) -> its image; the predictors take (N, d0)
                q1, p1 = fn(module, s[None, :d0], s[None, d0:], **kw)
                return jnp.concatenate([q1[0], p1[0]])

            return jax.vmap(jax.jacfwd(phi))(states)

        _COMPILED[key] = jacobians
    return _COMPILED[key]


def _one_batch(result, *, seed: int):
    """A batch of augmented views (V*B, ...) of the run's train set, as training draws it."""
    import jax
    import jax.numpy as jnp

    from simulations.encoders.augment import make_augment
    from simulations.encoders.precision import as_dtype

    cfg, data = result.config, result.data
    name = data.augment if cfg.augment == "auto" else cfg.augment
    augment = make_augment(name, cfg.n_views, mean=data.mean, std=data.std)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(data.x_train), size=cfg.batch_size, replace=False)
    x = jnp.asarray(data.x_train[idx], jnp.float32) / jnp.float32(data.scale)
    views = augment(jax.random.key(seed, impl=cfg.prng_impl), x.astype(as_dtype(cfg.dtype)))
    return views.reshape((cfg.n_views * cfg.batch_size, *views.shape[2:]))


def _encoder_gradient(result, encoder, state, flat, *, key):
    import jax
    import jax.numpy as jnp

    cfg = result.config
    step = jnp.asarray(cfg.steps - 1, jnp.int32)   # warm-ups finished, as at the end
    grads = _gradient_fn(cfg)(encoder, state, result.objective_module, flat, key, step)
    return np.concatenate([np.ravel(np.asarray(g, np.float64))
                           for g in jax.tree.leaves(grads)])


def _gradient_fn(cfg):
    """``(encoder, state, predictor, flat views, key, step) -> d loss / d encoder`` of the
    run's objective, compiled once per configuration without its seed."""
    import dataclasses
    import json

    ident = json.dumps(dataclasses.replace(cfg, seed=0).identity(), sort_keys=True)
    key = ("gradient", ident)
    if key not in _COMPILED:
        import equinox as eqx
        import jax.numpy as jnp

        from simulations.encoders.networks import apply_encoder
        from simulations.encoders.precision import as_dtype, cast_floating

        v, b, cdt = cfg.n_views, cfg.batch_size, as_dtype(cfg.dtype)

        @eqx.filter_jit
        def gradient(encoder, state, module, flat, ld_key, step):
            loss_of = cfg.training_objective.loss(total_steps=cfg.steps, ld_key=ld_key)

            def loss(enc):   # in the run's compute dtype, as the training step
                out, _ = apply_encoder(cast_floating(enc, cdt), state, flat)
                views = {k: o.reshape((v, b, *o.shape[1:])) for k, o in out.items()}
                value, _ = loss_of(module, views, key=ld_key, step=step)
                return value.astype(jnp.float32)

            return eqx.filter_grad(loss)(encoder)

        _COMPILED[key] = gradient
    return _COMPILED[key]


def encoder_gradient_cosine(ham, mlp, *, at: str = "hamjepa", seed: int = 0) -> float:
    """cos(g_H, g_M) of the module docstring, item 1: both losses' gradients with respect to
    the encoder ``at`` ("hamjepa": HamJEPA's trained encoder, "mlp_hjepa": MLP-HJEPA's) on
    one batch of augmented views drawn with ``seed``, each loss with its own trained
    predictor, the same loss key (log-det projections) for both."""
    import jax

    from minimal_models import validation as check

    _require(ham, "hamjepa", "ham")
    _require(mlp, "mlp_hjepa", "mlp")
    check.choice("at", at, ("hamjepa", "mlp_hjepa"))
    seed = check.integer("seed", seed, minimum=0)
    if (ham.config.batch_size, ham.config.n_views, ham.config.data) != (
            mlp.config.batch_size, mlp.config.n_views, mlp.config.data):
        raise ValueError("ham and mlp must be trained on the same data with the same batch "
                         "size and number of views")
    where = ham if at == "hamjepa" else mlp
    flat = _one_batch(where, seed=seed)
    key = jax.random.key(seed, impl=ham.config.prng_impl)
    g_h = _encoder_gradient(ham, where.encoder, where.state, flat, key=key)
    g_m = _encoder_gradient(mlp, where.encoder, where.state, flat, key=key)
    norm = np.linalg.norm(g_h) * np.linalg.norm(g_m)
    if norm == 0.0:
        raise ValueError("an encoder gradient is zero on this batch: the cosine is undefined")
    return float(g_h @ g_m / norm)


def predictor_diagnostics(ham, mlp, *, n_states: int = 64, seed: int = 0) -> dict:
    """Every diagnostic of the module docstring for one paired seed:

    - ``grad_cosine``: :func:`encoder_gradient_cosine` at HamJEPA's trained encoder;
    - ``fphi_share``: :func:`fphi_share` on the held-out states;
    - ``symplecticity_defect``: max over the held-out states of HamJEPA's defect (spec §9:
      < :data:`SYMPLECTIC_TOLERANCE`), ``symplecticity_defect_mlp`` the same for MLP-HJEPA's
      predictor (at its own encoder's states);
    - ``n_states``, ``residual_scale`` (s after warm-up).
    """
    _require(ham, "hamjepa", "ham")
    _require(mlp, "mlp_hjepa", "mlp")
    q, p = held_out_states(ham, n_states=n_states)
    qm, pm = held_out_states(mlp, n_states=n_states)
    return {"grad_cosine": encoder_gradient_cosine(ham, mlp, seed=seed),
            "fphi_share": fphi_share(ham, q, p),
            "symplecticity_defect": float(symplecticity_defects(ham, q, p).max()),
            "symplecticity_defect_mlp": float(symplecticity_defects(mlp, qm, pm).max()),
            "n_states": int(n_states),
            "residual_scale": float(predictor_options(ham)["residual_scale"])}
