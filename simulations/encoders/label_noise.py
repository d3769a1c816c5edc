r"""Supervised label-embedding training of a real encoder under label noise (issue 11, §1).

The minimal collapse model (arXiv:2604.09979) optimises sample and label embeddings directly
under MSE [CONFIRMED]; here the sample embeddings come out of a real network (an MLP or the
digits CNN of :mod:`simulations.encoders.networks`) and the labels are a trainable table, trained
with the *same* losses (the registry's ``model_a`` / ``model_b``,
:func:`minimal_models.objectives.collapse_models.model_a_loss`, ``model_b_loss``) on noisy
one-hot labels (:func:`minimal_models.label_noise.flip_labels`).  The set-up and every choice
below are RECONSTRUCTION (issue 11); the theory it is compared with is
:mod:`minimal_models.label_noise`.

Why a second (small) loop next to :mod:`simulations.encoders.train`: the SSL loop trains an
encoder on augmented minibatch views with AdamW; this one needs *full-batch plain gradient
descent* with separate steps for the encoder and the labels, because the prediction maps the
label step eta_y to a collapse rate one-to-one (Adam would rescale it by its running second
moment).  All runs of a grid (frustration x seed) share one compiled program: they are batched
in one place, :func:`_run_grid`.

Per step it records d_min and the spread of the labels and the nearest-label accuracy against
the true classes (readout x, or W x with a head) -- the order parameters of
:mod:`analysis.collapse` -- the loss, the memorisation index of the flipped samples (0: embedded
with their class, as a rigid encoder would; 1: at their noisy label's class) and the alignment
residual that :func:`calibrate_encoder_rate` fits.
"""

from __future__ import annotations

import dataclasses
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from analysis import collapse
from minimal_models import label_noise as noise
from minimal_models import validation as check
from minimal_models.objectives.registry import get_objective, names_of_kind

__all__ = ["LabelNoiseRun", "OBJECTIVES", "train_label_embeddings", "load_data",
           "calibrate_encoder_rate"]

#: The registry's objectives of trainable label embeddings (``"model_a"``, ``"model_b"``).
OBJECTIVES = names_of_kind("label", "label_head")


@dataclasses.dataclass(frozen=True)
class LabelNoiseRun:
    """One grid of label-noise runs (every field validated) [RECONSTRUCTION].

    - ``data``: ``"gaussian_mixture"`` (``gm_*`` fields) or ``"digits"`` (the §9 split);
      ``per_class`` keeps the first n samples of each class (None: all).
    - ``encoder``: ``"mlp"`` (hidden sizes ``hidden``, output ``out_dim``) or ``"digits_cnn"``.
    - ``objective``: ``"model_a"`` (plain labels) or ``"model_b"`` (shared head W, W(0) = I,
      stop-gradient strength ``alpha``; readout W x), names of
      :data:`minimal_models.objectives.registry.OBJECTIVES`.
    - full-batch gradient descent, ``steps`` steps, steps ``lr_encoder``, ``lr_labels``,
      ``lr_head``; loss normalisation nu = 1/N (mean over samples).
    - labels start at the class means of the initial embeddings plus ``label_scale`` N(0, 1)
      (``label_init="class_means"``: the fast alignment phase is skipped, so the run starts
      where the slow phase of Model A starts) or at ``label_scale`` N(0, 1) (``"random"``);
      noise ``noise_mode`` (spec §4 "uniform" or the "symmetric" counts of
      :func:`minimal_models.label_noise.flip_labels`), noise seed = run seed.
    """

    data: str = "gaussian_mixture"
    encoder: str = "mlp"
    objective: str = "model_a"
    alpha: float = 1.0
    frustrations: tuple = (0.05, 0.1, 0.2, 0.3)
    seeds: tuple = (0, 1, 2)
    noise_mode: str = "symmetric"
    steps: int = 300
    lr_encoder: float = 0.5
    lr_labels: float = 1.0
    lr_head: float = 0.5
    label_scale: float = 0.1
    label_init: str = "class_means"
    hidden: tuple = (64,)
    out_dim: int = 16
    per_class: int | None = None
    gm_classes: int = 4
    gm_dim: int = 16
    gm_train: int = 400
    gm_separation: float = 4.0
    gm_seed: int = 0

    def __post_init__(self):
        check.choice("data", self.data, ("gaussian_mixture", "digits"))
        check.choice("encoder", self.encoder, ("mlp", "digits_cnn"))
        if self.encoder == "digits_cnn" and self.data != "digits":
            raise ValueError("encoder='digits_cnn' needs data='digits'")
        check.choice("objective", self.objective, OBJECTIVES)
        check.real("alpha", self.alpha, low=0.0, high=1.0)
        if not self.frustrations:
            raise ValueError("frustrations must hold at least one value")
        for p in self.frustrations:
            check.real("frustration", p, low=0.0, high=1.0)
        if not self.seeds:
            raise ValueError("seeds must hold at least one value")
        for s in self.seeds:
            check.integer("seed", s, minimum=0)
        check.choice("noise_mode", self.noise_mode, noise.NOISE_MODES)
        check.choice("label_init", self.label_init, ("class_means", "random"))
        check.integer("steps", self.steps, minimum=1)
        for name in ("lr_encoder", "lr_labels", "lr_head", "label_scale", "gm_separation"):
            check.positive(name, getattr(self, name))
        check.integer("out_dim", self.out_dim, minimum=2)
        for h in self.hidden:
            check.integer("hidden", h, minimum=1)
        if self.per_class is not None:
            check.integer("per_class", self.per_class, minimum=2)
        check.integer("gm_classes", self.gm_classes, minimum=2)
        check.integer("gm_dim", self.gm_dim, minimum=1)
        check.integer("gm_train", self.gm_train, minimum=2 * self.gm_classes)
        check.integer("gm_seed", self.gm_seed, minimum=0)

    @property
    def has_head(self) -> bool:
        """True when the objective trains a shared head W (readout W x)."""
        return get_objective(self.objective).kind == "label_head"


def load_data(run: LabelNoiseRun):
    """Standardised float32 train inputs, true classes and K for ``run``."""
    from .data import gaussian_mixture, load_digits_split

    if run.data == "digits":
        ds = load_digits_split()
    else:
        ds = gaussian_mixture(n_classes=run.gm_classes, dim=run.gm_dim, n_train=run.gm_train,
                              n_test=10, separation=run.gm_separation, seed=run.gm_seed)
    x, y = ds.standardised("train"), np.asarray(ds.y_train)
    if run.per_class is not None:
        keep = np.concatenate([np.flatnonzero(y == k)[:run.per_class]
                               for k in range(ds.n_classes)])
        x, y = x[keep], y[keep]
    if run.encoder == "mlp":
        x = x.reshape(len(x), -1)
    return x.astype(np.float32), y.astype(np.int32), ds.n_classes


def _build(run: LabelNoiseRun, key, sample_shape):
    from .networks import MLPEncoder, build_encoder

    if run.encoder == "mlp":
        return MLPEncoder(int(np.prod(sample_shape)), run.out_dim, hidden=tuple(run.hidden),
                          key=key)
    model, _ = build_encoder("digits_cnn", input_shape=sample_shape, key=key)
    return model


def _embed(model, x):
    # GroupNorm CNN and MLP are stateless: an empty state is enough
    out, _ = jax.vmap(model, in_axes=(0, None), axis_name="batch")(x, eqx.nn.State(model))
    return out["z"]


def _out_dim(run: LabelNoiseRun) -> int:
    return run.out_dim if run.encoder == "mlp" else 256  # digits CNN: 16 tokens x 16 channels


def _one_run(run: LabelNoiseRun, x, y, K: int, nu: float):
    """``run_one(seed_bits, A, flipped) -> logs``: one (frustration, seed) run of ``steps``
    full-batch GD steps (a ``lax.scan``), for one seed's key data and one noisy coupling A."""
    objective = get_objective(run.objective)
    head = run.has_head
    sample_shape = x.shape[1:]
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    onehot_true = jax.nn.one_hot(yj, K, dtype=jnp.float32)
    counts = onehot_true.sum(0)

    def init(seed_bits):
        key = jax.random.wrap_key_data(seed_bits)
        k_enc, k_lab = jax.random.split(key)
        model = _build(run, k_enc, sample_shape)
        Y0 = run.label_scale * jax.random.normal(k_lab, (K, _out_dim(run)), jnp.float32)
        return model, Y0

    def run_one(seed_bits, A_run, flipped_run):
        model, Y = init(seed_bits)
        if run.label_init == "class_means":
            X0 = _embed(model, xj)
            Y = Y + (onehot_true.T @ X0) / counts[:, None]
        params, static = eqx.partition(model, eqx.is_inexact_array)
        W = jnp.eye(Y.shape[1], dtype=jnp.float32)

        def loss_fn(params_, Y_, W_):
            X = _embed(eqx.combine(params_, static), xj)
            if head:
                return objective.fn(X, Y_, W_, A_run, alpha=run.alpha, nu=nu), X
            return objective.fn(X, Y_, A_run, nu=nu), X

        grad = jax.value_and_grad(loss_fn, argnums=(0, 1, 2), has_aux=True)

        def step(carry, _):
            params_, Y_, W_ = carry
            (loss, X), (gp, gy, gw) = grad(params_, Y_, W_)
            acc = collapse.nearest_label_accuracy(X, Y_, yj, flipped_run,
                                                  head=W_ if head else None)["acc_all"]
            means = (onehot_true.T @ X) / counts[:, None]
            # memorisation of flipped samples: projection of x_i - mean(c_i) onto the
            # direction to the mean of the noisy label's class (0 rigid, 1 memorised)
            lab = jnp.argmax(A_run, 1)
            gap = means[lab] - means[yj]
            proj = jnp.sum((X - means[yj]) * gap, -1) / jnp.maximum(jnp.sum(gap * gap, -1),
                                                                   1e-30)
            memo = jnp.sum(jnp.where(flipped_run, proj, 0.0)) / jnp.maximum(
                jnp.sum(flipped_run), 1)
            align = jnp.sqrt(jnp.mean(jnp.sum((means - Y_) ** 2, -1)))
            logs = {"loss": loss, "d_min": collapse.d_min(Y_), "acc_true": acc,
                    "memorisation": memo, "align_residual": align,
                    "spread": collapse.label_spread(Y_), "Y": Y_}
            new = (jax.tree.map(lambda a, g: a - run.lr_encoder * g, params_, gp),
                   Y_ - run.lr_labels * gy,
                   W_ - run.lr_head * gw if head else W_)
            return new, logs

        _, logs = jax.lax.scan(step, (params, Y, W), None, length=run.steps)
        return logs

    return run_one


def _run_grid(run_one, keys, A, flipped):
    """The one place that batches the grid, ``jit(vmap(vmap(run_one)))`` with one compile:
    the outer axis is the frustration (its couplings ``A`` and flip masks; the seeds' keys are
    shared), the inner one the seed.

    Not the sweep engine (:mod:`simulations.sweep`): the engine batches flat, padded chunks
    of points, and in float32 XLA's round-off depends on the batch shape -- measured: one point
    of a 3 x 3 grid and the same point run alone differ by up to 2.4e-7 in Y after 30 steps --
    so moving the grid there would change the stored datasets (issue 14 asks for none)."""
    batched = jax.jit(jax.vmap(jax.vmap(run_one, in_axes=(0, 0, 0)), in_axes=(None, 0, 0)))
    return jax.device_get(batched(keys, A, flipped))


def train_label_embeddings(run: LabelNoiseRun, *, progress: bool = False) -> xr.Dataset:
    """Train every (frustration, seed) run of ``run`` (batched, one compile) and return a
    Dataset with dims (frustration, seed, step) -- ``d_min``, ``spread``
    (:func:`analysis.collapse.d_min`, :func:`analysis.collapse.label_spread` of the labels),
    ``loss``, ``acc_true`` (:func:`analysis.collapse.nearest_label_accuracy` against the true
    classes), ``memorisation``, ``align_residual`` (rms over classes of ||mean_c x - y_c||, the
    alignment mode that calibrates the encoder's rate) -- the label trajectory ``Y``
    (..., step, label, dim), the confusion counts ``C`` (frustration, seed, class, label) and
    the attrs of the run."""
    x, y, K = load_data(run)
    N = len(y)
    ps, seeds = tuple(float(p) for p in run.frustrations), tuple(int(s) for s in run.seeds)
    labels = np.stack([[noise.flip_labels(y, K, p, seed=s, mode=run.noise_mode)
                        for s in seeds] for p in ps])                          # (P, S, N)
    C = np.stack([[noise.confusion_counts(y, lab, K) for lab in row] for row in labels])
    A = jax.nn.one_hot(labels, K, dtype=jnp.float32)                           # (P, S, N, K)
    flipped = jnp.asarray(labels != y[None, None, :])
    nu = 1.0 / N
    keys = jnp.stack([jax.random.key_data(jax.random.key(s)) for s in seeds])

    t0 = time.perf_counter()
    logs = _run_grid(_one_run(run, x, y, K, nu), keys, A, flipped)
    wall = time.perf_counter() - t0
    dims = ("frustration", "seed", "step")
    ds = xr.Dataset(
        {name: (dims, np.asarray(logs[name], np.float64))
         for name in ("loss", "d_min", "acc_true", "memorisation", "spread", "align_residual")},
        coords={"frustration": list(ps), "seed": list(seeds), "step": np.arange(run.steps)})
    ds["Y"] = (dims + ("label", "dim"), np.asarray(logs["Y"], np.float64))
    ds["C"] = (("frustration", "seed", "class", "label"), C)
    ds.attrs.update({f"run_{k}": str(v) for k, v in dataclasses.asdict(run).items()})
    ds.attrs.update(n_samples=N, n_classes=K, nu=nu, wall_s=wall, reconstruction=1,
                    class_sizes=np.bincount(y, minlength=K).tolist().__str__())
    return ds


def calibrate_encoder_rate(run: LabelNoiseRun, *, steps: int = 12) -> float:
    r"""Effective class-node step eta_x = eta_theta kappa of an encoder (RECONSTRUCTION).

    A clean (p = 0) run with random labels: the alignment residual u_c = mean_c x - y_c of a
    star (spec §2.6a in class-node form) decays per GD step by 1 - nu n (eta_x + eta_y), so a
    fit of its first ``steps`` steps gives eta_x = mu/(nu n) - eta_y with
    mu = 1 - exp(-rate), n = N/K.  This is the effective-learning-rate rescaling of the
    encoder: its within-class neural tangent kernel times its step."""
    from analysis.timescales import fit_decay_rate

    cal = train_label_embeddings(dataclasses.replace(
        run, frustrations=(0.0,), label_init="random", label_scale=1.0, steps=steps))
    u = cal["align_residual"].values[0]                                      # (seed, step)
    rates = [fit_decay_rate(np.arange(steps, dtype=float), row,
                            window=(0, steps - 1))["rate"] for row in u]
    mu = 1.0 - np.exp(-float(np.mean(rates)))
    n_bar = cal.attrs["n_samples"] / cal.attrs["n_classes"]
    return max(mu / (cal.attrs["nu"] * n_bar) - run.lr_labels, 1e-12)
