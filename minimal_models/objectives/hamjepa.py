r"""HamJEPA and its MLP-HJEPA ablation, as the HamJEPA author's code implements them
(HamSIGReg, the paper's other objective, is :mod:`minimal_models.objectives.hamsigreg`).

Paper: R. Jenkinson Alvarez, "Beyond Isotropy in JEPAs: Hamiltonian Geometry and Symplectic
Prediction", arXiv:2605.20107; author code R02AJ/HamJEPA-HamSIGReg @ 35bf080 (read for its
conventions, not copied).  Spec ``shared/specs/hamiltonian_geometry.md`` §4-§5, check values
E7, R1-R5, S1 in §7.  Labels: HamJEPA is CONFIRMED (in code); MLP-HJEPA is a
RECONSTRUCTION (the paper only says "non-symplectic residual MLP").

Phase-space inputs.  The encoder's layer3 tokens t (B, h, w, d_f) are split per token into
q = flatten(t[..., :d_f/2]) and p = flatten(t[..., d_f/2:]) (row-major over h, w, channel),
see :func:`split_qp`.  The losses take ``q, p`` of shape (V, N, ...) -- V >= 2 views, N images,
trailing axes flattened row-major to d0 -- predict view 1 from view 0 (and back), and compute
every regulariser on all V*N rows, as the author's training step does.

The leapfrog predictor is :func:`minimal_models.symplectic.leapfrog` (kick-drift-kick) on the
separable Hamiltonian H(q, p) = 1/2 ||p||^2 + V(q), V(q) = 1/2 b ||q||^2 + s f_phi(q); the
gradient grad V comes from autodiff and is differentiated again by the outer gradient, so the
loss trains f_phi and the encoder through grad V.
"""

from __future__ import annotations

import functools
import inspect

import equinox as eqx
import jax
import jax.numpy as jnp
from minimal_models.symplectic import leapfrog

from . import _common as c

__all__ = [
    "split_qp",
    "HamJEPAPotential",
    "init_hamjepa",
    "potential",
    "hamjepa_predict",
    "residual_scale_schedule",
    "energy_budget",
    "variance_floor",
    "orthonormal_projection",
    "projection_key",
    "projected_logdet_floor",
    "mean_penalty",
    "HAMJEPA_PRESETS",
    "hamjepa_preset",
    "LOGDET_REFRESH",
    "PHASE_SPACE_DEFAULTS",
    "hamjepa",
    "MLPPredictor",
    "init_mlp_hjepa",
    "mlp_hjepa_predict",
    "mlp_hjepa",
]

#: The author's log-det floor redraws its projections when call_count % 16 == 0 (CONFIRMED).
LOGDET_REFRESH = 16


# --------------------------------------------------------------------- phase-space encoder

def split_qp(tokens, *, batch_ndim: int = 1):
    """Token protocol split (CONFIRMED, §4.2 ``split_qp``): tokens (*batch, h, w, d_f) ->
    q = flatten(tokens[..., :d_f/2]), p = flatten(tokens[..., d_f/2:]), row-major over
    (h, w, channel), each (*batch, h*w*d_f/2).  ``batch_ndim`` leading axes are kept."""
    c.integer("batch_ndim", batch_ndim, minimum=0)
    tokens = jnp.asarray(tokens)
    if tokens.ndim <= batch_ndim or tokens.shape[-1] % 2:
        raise ValueError(f"tokens of shape {tokens.shape} need an even channel axis after "
                         f"{batch_ndim} batch axes")
    half = tokens.shape[-1] // 2
    lead = tokens.shape[:batch_ndim]
    return (jnp.reshape(tokens[..., :half], lead + (-1,)),
            jnp.reshape(tokens[..., half:], lead + (-1,)))


# --------------------------------------------------------------------------- Hamiltonian

_gelu = functools.partial(jax.nn.gelu, approximate=False)  # PyTorch's default GELU (erf form)


class HamJEPAPotential(eqx.Module):
    """f_phi: R^{d0} -> R, Linear(d0, 256) -> GELU -> Linear(256, 256) -> GELU -> Linear(256, 1)
    with exact GELU and PyTorch-style default init U(+-1/sqrt(fan_in)) (CONFIRMED in code)."""

    mlp: eqx.nn.MLP

    def __call__(self, q):
        return self.mlp(q)


def init_hamjepa(key, *, dim: int = 1024, hidden: int = 256, depth: int = 2,
                 dtype=jnp.float32) -> HamJEPAPotential:
    """The trainable part of HamJEPA: the residual potential f_phi on q in R^{dim}."""
    c.integer("dim", dim, minimum=1)
    c.integer("hidden", hidden, minimum=1)
    c.integer("depth", depth, minimum=1)
    mlp = eqx.nn.MLP(dim, "scalar", hidden, depth, activation=_gelu, key=key, dtype=dtype)
    return HamJEPAPotential(mlp)


def potential(module: HamJEPAPotential, q, *, base_coeff=0.1, residual_scale=0.02):
    r"""V(q) = 1/2 b ||q||^2 + s f_phi(q), per sample: q (..., d0) -> (...) (CONFIRMED; b =
    ``base_coeff`` = 0.1 blocks the loophole V = const, s = ``residual_scale`` = 0.02)."""
    flat = jnp.reshape(q, (-1, q.shape[-1]))
    f = jax.vmap(module)(flat)
    v = 0.5 * base_coeff * jnp.sum(flat * flat, axis=-1) + residual_scale * f.astype(flat.dtype)
    return jnp.reshape(v, q.shape[:-1])


def hamjepa_predict(module, q, p, *, dt=0.05, n_steps=2, base_coeff=0.1, residual_scale=0.02):
    r"""Phi^{(K)}(q, p): K kick-drift-kick leapfrog steps of H = 1/2||p||^2 + V(q) with step dt
    (negative dt integrates backwards), via :func:`minimal_models.symplectic.leapfrog`.
    q, p: (N, d0).  grad V is per sample because V is a sum of per-sample terms."""
    def grad_V(x):
        return jax.grad(lambda y: jnp.sum(potential(module, y, base_coeff=base_coeff,
                                                    residual_scale=residual_scale)))(x)

    return leapfrog(grad_V, q, p, dt, n_steps)


def residual_scale_schedule(epoch, *, residual_scale=0.02, warmup_epochs=10):
    """s_e = residual_scale * min(1, e / warmup_epochs) for epoch e = 1, 2, ... (CONFIRMED,
    CIFAR script; spec S1: 0.002 e for e <= 10, then 0.02).  ``warmup_epochs=0``: constant.

    The unit is the caller's: the author counts epochs; the encoder trainer
    (:mod:`simulations.encoders.recipes`) passes the 1-based step as a float and the warm-up
    length in steps, a continuous form of the same ramp (``warmup_epochs`` may then be a
    non-integer).  ``epoch`` keeps its dtype (a float32 step gives a float32 ramp)."""
    warmup = c.real("warmup_epochs", warmup_epochs, low=0.0)
    if warmup == 0:
        return residual_scale * jnp.ones_like(jnp.asarray(epoch, dtype=jnp.result_type(float)))
    return residual_scale * jnp.minimum(1.0, jnp.asarray(epoch) / warmup_epochs)


# --------------------------------------------------------------------------- regularisers

def energy_budget(q, p, *, q_target=1.0, p_target=1.0):
    """L_budget = (mean_{n,i} q_{n,i}^2 - q_target)^2 + (mean_{n,i} p_{n,i}^2 - p_target)^2:
    raw second moments, not variances (CONFIRMED in code; spec R4: q = 1, p = 2 gives 9)."""
    q, p = c.as_work(q, p)
    return (jnp.mean(q * q) - q_target) ** 2 + (jnp.mean(p * p) - p_target) ** 2


def variance_floor(x, *, floor=0.2, eps=1e-4):
    r"""VF(x) = mean_i relu(floor - sigma_i)^2, sigma_i = sqrt(max(var_i, 0) + eps) with the
    biased (/N) batch variance of column i of x (N, d) (CONFIRMED in code; spec R1)."""
    x = c.as_work(x)
    var = jnp.maximum(jnp.var(x, axis=0), 0.0)
    return jnp.mean(jax.nn.relu(floor - jnp.sqrt(var + eps)) ** 2)


def orthonormal_projection(key, d: int, k: int, dtype=jnp.float32):
    """R in R^{d x k} with orthonormal columns: Q of the QR factorisation of a Gaussian."""
    c.integer("d", d, minimum=1)
    c.integer("k", k, minimum=1)
    if k > d:
        raise ValueError(f"k={k} must be <= d={d}")
    q, _ = jnp.linalg.qr(jax.random.normal(key, (d, k), dtype=dtype))
    return q


def projection_key(key, step, *, refresh: int = LOGDET_REFRESH):
    """The key for the log-det projections at ``step``: constant over blocks of ``refresh``
    calls, as the author's floor redraws R when call_count % 16 == 0."""
    c.integer("refresh", refresh, minimum=1)
    return jax.random.fold_in(key, jnp.asarray(step) // refresh)


@c.jit_loss
def projected_logdet_floor(x, projection, *, tau=-1.5, prn_floor=None, fmax_ceil=None,
                           eps=1e-4):
    r"""Projected log-det floor (CONFIRMED in code, spec §4.2; paper eqs. 44-46):

        y = (x - mean x) R,  C = sym(y^T y / (N - 1)) + eps I,  l = log det C / k,
        prn = PR(C)/k,  f_max = lambda_max(C) / tr C,
        LD = relu(tau - l)^2 + relu(prn_floor - prn)^2 + relu(f_max - fmax_ceil)^2

    (a hinge whose floor is None is left out).  x: (N, d); projection R (d, k).
    Returns ``(LD, {"ell", "prn", "fmax"})``.
    """
    x, r = c.as_work(x, projection)
    c.require_ndim("x", x, 2, "(N, d)")
    if r.ndim != 2 or r.shape[0] != x.shape[1]:
        c.shape_error("projection", r, f"(d, k) with d = {x.shape[1]}")
    n, k = x.shape[0], r.shape[1]
    if n < 2:
        raise ValueError(f"projected_logdet_floor needs N >= 2 rows, got N={n}")
    y = (x - jnp.mean(x, axis=0)) @ r
    cov = y.T @ y / (n - 1)
    cov = 0.5 * (cov + cov.T) + eps * jnp.eye(k, dtype=cov.dtype)
    ell = jnp.linalg.slogdet(cov)[1] / k
    tr = jnp.trace(cov)
    prn = tr**2 / jnp.sum(cov * cov) / k
    loss = jax.nn.relu(tau - ell) ** 2
    fmax = jnp.linalg.eigvalsh(cov)[-1] / tr
    if prn_floor is not None:
        loss = loss + jax.nn.relu(prn_floor - prn) ** 2
    if fmax_ceil is not None:
        loss = loss + jax.nn.relu(fmax - fmax_ceil) ** 2
    return loss, {"ell": ell, "prn": prn, "fmax": fmax}


def mean_penalty(z):
    """L_mean = mean_i (mean_n z_{n,i})^2 over all columns of z (N, D) (CONFIRMED in code)."""
    z = c.as_work(z)
    return jnp.mean(jnp.mean(z, axis=0) ** 2)


# --------------------------------------------------------------------------- HamJEPA loss

#: Keyword presets of :func:`hamjepa` / :func:`mlp_hjepa` from the author's released configs
#: (spec §4.2 table).  ``cifar`` is the default of the functions (tested equal to their
#: signature defaults); select one by name with :func:`hamjepa_preset`.
HAMJEPA_PRESETS = {
    "cifar": dict(match="qp", p_weight=0.2, reverse_dt_sign=-1, lam_budget=0.2, lam_var=0.5,
                  lam_logdet=0.5, lam_mean=0.05, var_on="qp", logdet_tau=-1.5,
                  prn_floor=(0.12, 0.16), fmax_ceil=(0.35, 0.30)),
    "imagenet": dict(match="z", p_weight=0.0, reverse_dt_sign=1, lam_budget=0.2, lam_var=1.0,
                     lam_logdet=1.0, lam_mean=0.05, var_on="q", logdet_tau=-1.2,
                     prn_floor=(0.25, 0.25), fmax_ceil=(0.10, 0.10)),
}

def hamjepa_preset(name: str) -> dict:
    """The loss keywords of the released config ``name`` (a key of :data:`HAMJEPA_PRESETS`);
    ``ValueError`` naming the allowed presets otherwise."""
    c.choice("preset", name, tuple(HAMJEPA_PRESETS))
    return dict(HAMJEPA_PRESETS[name])


def _as_phase(objective, name, x):
    x = c.as_work(x)
    if x.ndim < 3 or x.shape[0] < 2:
        c.shape_error(name, x, "(V, N, ...) with V >= 2 views")
    # the regularisers are batch statistics (variances, covariances, means over images)
    c.require_batch(objective, x.shape[1], 2)
    return jnp.reshape(x, x.shape[:2] + (-1,))


def _mse(a, b):
    return jnp.mean((a - b) ** 2)


def _phase_space_loss(objective, fwd, bwd, q, p, *, key, projections, energy, match, p_weight,
                      bidirectional, detach_target, energy_weight, lam_budget, lam_var,
                      lam_logdet, lam_mean, q_target, p_target, var_floor, var_eps, var_on,
                      logdet_k, logdet_tau, logdet_eps, prn_floor, fmax_ceil):
    """Prediction + regularisers shared by HamJEPA and MLP-HJEPA (same loss, other predictor)."""
    c.choice("match", match, ("q", "qp", "z"))
    c.choice("var_on", var_on, ("qp", "q"))
    q, p = _as_phase(objective, "q", q), _as_phase(objective, "p", p)
    if q.shape != p.shape:
        raise ValueError(f"q and p must have the same shape, got {q.shape} and {p.shape}")
    n_views, n, d0 = q.shape
    sg = jax.lax.stop_gradient if detach_target else (lambda x: x)

    def direction_loss(pred, target):
        (qh, ph), (qt, pt) = pred, (sg(target[0]), sg(target[1]))
        if match == "q":
            return _mse(qh, qt)
        if match == "qp":
            return _mse(qh, qt) + p_weight * _mse(ph, pt)
        return 0.5 * (_mse(qh, qt) + _mse(ph, pt))  # MSE over the full z = [q; p]

    s_a, s_b = (q[0], p[0]), (q[1], p[1])
    pred_ab = fwd(*s_a)
    l_ab = direction_loss(pred_ab, s_b)
    logs = {"pred_ab": l_ab}
    if bidirectional:
        pred_ba = bwd(*s_b)
        l_ba = direction_loss(pred_ba, s_a)
        pred = 0.5 * (l_ab + l_ba)
        logs["pred_ba"] = l_ba
    else:
        pred = l_ab
    logs["pred"] = pred
    loss = pred
    if energy is not None and not (isinstance(energy_weight, (int, float)) and energy_weight == 0):
        # energy drift of each prediction against its (stopped) start; with bidirectional
        # matching both directions are averaged, 1/2 (e_ab + e_ba), as the author does
        e_ab = jnp.mean((energy(*pred_ab) - sg(energy(*s_a))) ** 2)
        logs["energy_ab"] = e_ab
        if bidirectional:
            e_ba = jnp.mean((energy(*pred_ba) - sg(energy(*s_b))) ** 2)
            logs["energy_ba"] = e_ba
            e = 0.5 * (e_ab + e_ba)
        else:
            e = e_ab
        loss = loss + energy_weight * e
        logs["energy"] = e

    q_all, p_all = jnp.reshape(q, (-1, d0)), jnp.reshape(p, (-1, d0))
    budget = energy_budget(q_all, p_all, q_target=q_target, p_target=p_target)
    var_q = variance_floor(q_all, floor=var_floor, eps=var_eps)
    var_p = variance_floor(p_all, floor=var_floor, eps=var_eps)
    var = var_q + var_p if var_on == "qp" else var_q
    mean = mean_penalty(jnp.concatenate([q_all, p_all], axis=-1))
    loss = loss + lam_budget * budget + lam_var * var + lam_mean * mean
    logs.update(budget=budget, var=var, var_q=var_q, var_p=var_p, mean=mean,
                q_sq=jnp.mean(q_all**2), p_sq=jnp.mean(p_all**2))

    use_logdet = not (isinstance(lam_logdet, (int, float)) and lam_logdet == 0)
    if use_logdet:
        k = min(c.integer("logdet_k", logdet_k, minimum=1), d0, n_views * n - 1)
        if projections is None:
            if key is None:
                raise ValueError("the log-det floor needs key= (or projections=(R_q, R_p)); "
                                 "pass lam_logdet=0 to switch it off")
            kq, kp = jax.random.split(key)
            projections = (orthonormal_projection(kq, d0, k, q.dtype),
                           orthonormal_projection(kp, d0, k, q.dtype))
        prn_q, prn_p = prn_floor if isinstance(prn_floor, tuple) else (prn_floor, prn_floor)
        fm_q, fm_p = fmax_ceil if isinstance(fmax_ceil, tuple) else (fmax_ceil, fmax_ceil)
        ld_q, st_q = projected_logdet_floor(q_all, projections[0], tau=logdet_tau,
                                            prn_floor=prn_q, fmax_ceil=fm_q, eps=logdet_eps)
        ld_p, st_p = projected_logdet_floor(p_all, projections[1], tau=logdet_tau,
                                            prn_floor=prn_p, fmax_ceil=fm_p, eps=logdet_eps)
        loss = loss + lam_logdet * (ld_q + ld_p)
        logs.update(logdet=ld_q + ld_p, ld_q=ld_q, ld_p=ld_p,
                    **{f"{k_}_q": v for k_, v in st_q.items()},
                    **{f"{k_}_p": v for k_, v in st_p.items()})
    logs["std_l2"] = c.std_l2(jnp.concatenate([q_all, p_all], axis=-1))
    return c.finish(loss, logs)


@c.jit_loss
def hamjepa(module: HamJEPAPotential, q, p, *, key=None, projections=None, dt=0.05,
            n_steps=2, base_coeff=0.1, residual_scale=0.02, match="qp", p_weight=0.2,
            bidirectional=True, reverse_dt_sign=-1, detach_target=True, energy_weight=0.0,
            lam_budget=0.2, lam_var=0.5, lam_logdet=0.5, lam_mean=0.05, q_target=1.0,
            p_target=1.0, var_floor=0.2, var_eps=1e-4, var_on="qp", logdet_k=128,
            logdet_tau=-1.5, logdet_eps=1e-4, prn_floor=(0.12, 0.16), fmax_ceil=(0.35, 0.30)):
    r"""HamJEPA loss as the author's code computes it (CONFIRMED; spec §4.2, defaults = the
    CIFAR-100 config, ``HAMJEPA_PRESETS["imagenet"]`` for the other):

        L = L_pred + lam_budget L_budget + lam_var L_var + lam_logdet L_logdet + lam_mean L_mean

    - L_pred = 1/2 (l(a->b) + l(b->a)); (q_hat_b, p_hat_b) = Phi^{(K)}(q_a, p_a; +dt) (leapfrog,
      :func:`hamjepa_predict`); l(a->b) = MSE(q_hat_b, sg q_b) + p_weight MSE(p_hat_b, sg p_b)
      (``match="qp"``; ``"q"``: q only; ``"z"``: MSE over the full [q; p]); l(b->a) integrates
      with ``reverse_dt_sign * dt``.  MSE = mean over batch and dims.
    - L_budget = :func:`energy_budget`, L_var = VF(q) + VF(p) (``var_on="q"``: VF(q)),
      L_logdet = LD(q) + LD(p) with independent projections (d0, k), k = min(logdet_k, d0,
      V N - 1), L_mean = :func:`mean_penalty` of [q; p]; all on the V*N rows.
    - Optional energy term (weight 0 in the configs): e(a->b) = E[(H(s_hat_b) - sg H(s_a))^2],
      averaged 1/2 (e(a->b) + e(b->a)) over both directions with bidirectional matching (as the
      author's code; ``energy_ab``/``energy_ba`` in the logs), ``energy_weight`` times that.

    q, p: (V, N, ...) phase-space views (V >= 2; views 0 and 1 are the prediction pair).
    Randomness: the log-det projections come from ``key`` (use :func:`projection_key` to redraw
    them every 16 steps as the author does) or explicitly as ``projections=(R_q, R_p)``.
    ``residual_scale`` may be a traced scalar (warm-up, :func:`residual_scale_schedule`).
    Returns ``(loss, logs)``.
    """
    kw = dict(dt=dt, n_steps=c.integer("n_steps", n_steps, minimum=1), base_coeff=base_coeff,
              residual_scale=residual_scale)
    fwd = functools.partial(hamjepa_predict, module, **kw)

    def bwd(q_, p_):
        return hamjepa_predict(module, q_, p_, **{**kw, "dt": reverse_dt_sign * dt})

    def energy(q_, p_):
        return 0.5 * jnp.sum(p_ * p_, axis=-1) + potential(
            module, q_, base_coeff=base_coeff, residual_scale=residual_scale)

    c.choice("reverse_dt_sign", reverse_dt_sign, (-1, 1))
    return _phase_space_loss(
        "hamjepa", fwd, bwd, q, p, key=key, projections=projections, energy=energy, match=match,
        p_weight=p_weight, bidirectional=bidirectional, detach_target=detach_target,
        energy_weight=energy_weight, lam_budget=lam_budget, lam_var=lam_var,
        lam_logdet=lam_logdet, lam_mean=lam_mean, q_target=q_target, p_target=p_target,
        var_floor=var_floor, var_eps=var_eps, var_on=var_on, logdet_k=logdet_k,
        logdet_tau=logdet_tau, logdet_eps=logdet_eps, prn_floor=prn_floor,
        fmax_ceil=fmax_ceil)


_PREDICTOR_KEYWORDS = ("dt", "n_steps", "base_coeff", "residual_scale")

#: The keywords (and defaults) of the phase-space loss that HamJEPA and MLP-HJEPA share: read
#: off :func:`hamjepa`'s signature, less the leapfrog predictor's own keywords, so that
#: :func:`mlp_hjepa` (which takes them through ``**kw``) cannot drift from it.
PHASE_SPACE_DEFAULTS = {n: prm.default for n, prm in inspect.signature(hamjepa).parameters.items()
                  if prm.kind == inspect.Parameter.KEYWORD_ONLY
                  and n not in _PREDICTOR_KEYWORDS}


# --------------------------------------------------------------------------- MLP-HJEPA (§5.4)

class MLPPredictor(eqx.Module):
    """Residual MLP predictor g_psi: R^{2 d0} -> R^{2 d0} (Linear(2d0, 256) -> GELU ->
    Linear(256, 256) -> GELU -> Linear(256, 2d0)); ``backward`` is a second head when
    ``reverse="separate_head"`` (RECONSTRUCTION, spec §5.4)."""

    forward: eqx.nn.MLP
    backward: eqx.nn.MLP | None


def init_mlp_hjepa(key, *, dim: int = 2048, hidden: int = 256, depth: int = 2,
                   reverse: str = "neg_dt", dtype=jnp.float32) -> MLPPredictor:
    """MLP-HJEPA predictor on z = [q; p] in R^{dim}."""
    c.integer("dim", dim, minimum=2)
    c.choice("reverse", reverse, ("neg_dt", "separate_head"))
    k1, k2 = jax.random.split(key)

    def mlp(k):
        return eqx.nn.MLP(dim, dim, hidden, depth, activation=_gelu, key=k, dtype=dtype)

    return MLPPredictor(mlp(k1), mlp(k2) if reverse == "separate_head" else None)


def mlp_hjepa_predict(module: MLPPredictor, q, p, *, dt=0.05, n_steps=2, form="rollout",
                      direction=1):
    r"""z_hat for z = [q; p] (N, 2 d0): ``form="rollout"``: K steps z <- z + sign dt g(z);
    ``"plain_residual"``: z + sign g(z).  ``direction=-1`` uses the backward head if the module
    has one (sign +1), else the same net with sign -1 (``neg_dt``).  RECONSTRUCTION."""
    c.choice("form", form, ("rollout", "plain_residual"))
    net, sign = module.forward, 1.0
    if direction == -1:
        net, sign = (module.backward, 1.0) if module.backward is not None else (net, -1.0)
    d0 = q.shape[-1]
    z = jnp.concatenate([q, p], axis=-1)
    g = jax.vmap(net)
    if form == "plain_residual":
        z = z + sign * g(z).astype(z.dtype)
    else:
        z, _ = jax.lax.scan(lambda z_, _: (z_ + sign * dt * g(z_).astype(z_.dtype), None), z,
                            None, length=c.integer("n_steps", n_steps, minimum=1))
    return z[..., :d0], z[..., d0:]


@c.jit_loss
def mlp_hjepa(module: MLPPredictor, q, p, *, dt=0.05, n_steps=2, form="rollout", **kw):
    """MLP-HJEPA ablation (RECONSTRUCTION, spec §5.4): :func:`hamjepa` with the leapfrog
    predictor replaced by the residual MLP of :func:`mlp_hjepa_predict`; every other keyword
    (and its default) as in :func:`hamjepa`; the reverse direction is the backward prediction
    (``reverse_dt_sign`` is ignored)."""
    unknown = set(kw) - set(PHASE_SPACE_DEFAULTS)
    if unknown:
        raise ValueError(f"mlp_hjepa got unknown keywords {sorted(unknown)}; allowed: "
                         f"{sorted(PHASE_SPACE_DEFAULTS)}")
    opts = {**PHASE_SPACE_DEFAULTS, **kw}
    opts.pop("reverse_dt_sign")
    fwd = functools.partial(mlp_hjepa_predict, module, dt=dt, n_steps=n_steps, form=form)
    bwd = functools.partial(mlp_hjepa_predict, module, dt=dt, n_steps=n_steps, form=form,
                            direction=-1)
    return _phase_space_loss("mlp_hjepa", fwd, bwd, q, p, energy=None, **opts)
