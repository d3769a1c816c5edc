r"""Supervised label-embedding training of a real encoder under label noise.

The minimal collapse model (arXiv:2604.09979) optimises sample and label embeddings directly
under MSE [CONFIRMED]; here the sample embeddings come out of a real network (an MLP or the
digits CNN of :mod:`simulations.encoders.networks`) and the labels are a trainable table, trained
with the *same* losses (the registry's ``model_a`` / ``model_b``,
:func:`minimal_models.objectives.collapse_models.model_a_loss`, ``model_b_loss``) on noisy
one-hot labels (:func:`minimal_models.label_noise.flip_labels`).  The set-up and every choice
below are RECONSTRUCTION; the theory it is compared with is :mod:`minimal_models.label_noise`.

Why a second (small) loop next to :mod:`simulations.encoders.train`: the SSL loop trains an
encoder on augmented minibatch views with AdamW; this one needs *full-batch plain gradient
descent* with separate steps for the encoder and the labels, because the prediction maps the
label step eta_y to a collapse rate one-to-one (Adam would rescale it by its running second
moment).  All runs of a grid share one compiled program: :func:`train_label_embeddings` batches
(frustration x seed); :func:`simulations.encoders.label_arms.train_arms` runs the same program
over arms that may also change the label step, the inputs, the noise pattern and whether the
encoder trains.

Per step it records d_min and the spread of the labels and the nearest-label accuracy against
the true classes (readout x, or W x with a head) -- the order parameters of
:mod:`analysis.collapse` -- the loss, the memorisation index of the flipped samples (0: embedded
with their class, as a rigid encoder would; 1: at their noisy label's class), the alignment
residual and how far the encoder and the head have moved.

:func:`simulations.encoders.class_kernel.probe_class_kernel` measures, before any training,
the step with which one encoder step moves the K class means; :func:`calibrate_encoder_rate`
is the older fit of the same step on a training run.
"""

from __future__ import annotations

import dataclasses
import functools
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

__all__ = ["LabelNoiseRun", "OBJECTIVES", "INPUTS", "train_label_embeddings", "load_data",
           "calibrate_encoder_rate"]

#: The registry's objectives of trainable label embeddings (``"model_a"``, ``"model_b"``).
OBJECTIVES = names_of_kind("label", "label_head")
#: The inputs :func:`load_data` gives: the data (``"samples"``) or every input replaced by its
#: class mean (``"class_means"``: a flipped sample cannot be told from its class-mates).
INPUTS = ("samples", "class_means")


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


def load_data(run: LabelNoiseRun, *, inputs: str = "samples"):
    """Standardised float32 train inputs, true classes and K for ``run``; ``inputs=
    "class_means"`` replaces every input by the mean input of its class."""
    from .data import gaussian_mixture, load_digits_split

    check.choice("inputs", inputs, INPUTS)
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
    if inputs == "class_means":
        means = np.stack([x[y == k].mean(axis=0) for k in range(ds.n_classes)])
        x = means[y]
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


def _init(run: LabelNoiseRun, seed_bits, sample_shape, K: int):
    key = jax.random.wrap_key_data(seed_bits)
    k_enc, k_lab = jax.random.split(key)
    model = _build(run, k_enc, sample_shape)
    return model, run.label_scale * jax.random.normal(k_lab, (K, _out_dim(run)), jnp.float32)


def _one_run(run: LabelNoiseRun, y, K: int, nu: float, sample_shape):
    """``run_one(seed_bits, x, A, flipped, lr_encoder, lr_labels) -> logs``: one run of
    ``steps`` full-batch GD steps (a ``lax.scan``) for one seed's key data, inputs x, noisy
    coupling A and flip mask; the steps may be Python floats or traced scalars."""
    objective = get_objective(run.objective)
    head = run.has_head
    yj = jnp.asarray(y)
    onehot_true = jax.nn.one_hot(yj, K, dtype=jnp.float32)
    counts = onehot_true.sum(0)

    def run_one(seed_bits, x, A_run, flipped_run, lr_encoder, lr_labels):
        model, Y = _init(run, seed_bits, sample_shape, K)
        X0 = _embed(model, x)
        means0 = (onehot_true.T @ X0) / counts[:, None]
        if run.label_init == "class_means":
            Y = Y + means0
        # the scale the encoder's displacement is measured in: rms distance of the initial
        # class means from their centre
        scale0 = jnp.sqrt(jnp.mean(jnp.sum((means0 - means0.mean(0)) ** 2, -1)))
        params, static = eqx.partition(model, eqx.is_inexact_array)
        W = jnp.eye(Y.shape[1], dtype=jnp.float32)
        W0 = W

        def loss_fn(params_, Y_, W_):
            X = _embed(eqx.combine(params_, static), x)
            if head:
                return objective.fn(X, Y_, W_, A_run, alpha=run.alpha, nu=nu), X
            return objective.fn(X, Y_, A_run, nu=nu), X

        grad = jax.value_and_grad(loss_fn, argnums=(0, 1, 2), has_aux=True)

        def step(carry, _):
            params_, Y_, W_ = carry
            (loss, X), (gp, gy, gw) = grad(params_, Y_, W_)
            acc = collapse.nearest_label_accuracy(X, Y_, yj, flipped_run,
                                                  head=W_ if head else None)
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
            shift = jnp.sqrt(jnp.mean(jnp.sum((X - X0) ** 2, -1))) / jnp.maximum(scale0, 1e-30)
            logs = {"loss": loss, "d_min": collapse.d_min(Y_), "acc_true": acc["acc_all"],
                    "acc_cons": acc["acc_cons"], "memorisation": memo,
                    "align_residual": align, "spread": collapse.label_spread(Y_),
                    "encoder_shift": shift,
                    "head_shift": jnp.sqrt(jnp.sum((W_ - W0) ** 2) / W0.shape[0]), "Y": Y_}
            new = (jax.tree.map(lambda a, g: a - lr_encoder * g, params_, gp),
                   Y_ - lr_labels * gy,
                   W_ - run.lr_head * gw if head else W_)
            return new, logs

        _, logs = jax.lax.scan(step, (params, Y, W), None, length=run.steps)
        return logs

    return run_one


_SCALARS = ("loss", "d_min", "acc_true", "acc_cons", "memorisation", "spread",
            "align_residual", "encoder_shift", "head_shift")


def _dataset(logs, outer: str, outer_values, seeds, C, run: LabelNoiseRun, attrs) -> xr.Dataset:
    dims = (outer, "seed", "step")
    ds = xr.Dataset({name: (dims, np.asarray(logs[name], np.float64)) for name in _SCALARS},
                    coords={outer: list(outer_values), "seed": list(seeds),
                            "step": np.arange(run.steps)})
    ds["Y"] = (dims + ("label", "dim"), np.asarray(logs["Y"], np.float64))
    ds["C"] = ((outer, "seed", "class", "label"), C)
    ds.attrs.update({f"run_{k}": str(v) for k, v in dataclasses.asdict(run).items()})
    ds.attrs.update(attrs)
    return ds


def _seed_keys(seeds):
    return jnp.stack([jax.random.key_data(jax.random.key(s)) for s in seeds])


def train_label_embeddings(run: LabelNoiseRun, *, progress: bool = False) -> xr.Dataset:
    """Train every (frustration, seed) run of ``run`` (batched, one compile) and return a
    Dataset with dims (frustration, seed, step) -- ``d_min``, ``spread``
    (:func:`analysis.collapse.d_min`, :func:`analysis.collapse.label_spread` of the labels),
    ``loss``, ``acc_true`` / ``acc_cons`` (:func:`analysis.collapse.nearest_label_accuracy`
    against the true classes, all samples / consistent samples), ``memorisation``,
    ``align_residual`` (rms over classes of ||mean_c x - y_c||), ``encoder_shift`` (rms
    displacement of the embeddings from their start over the rms spread of the initial class
    means), ``head_shift`` (||W - W(0)||_F / sqrt(d)) -- the label trajectory ``Y``
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
    run_one = functools.partial(_one_run(run, y, K, nu, x.shape[1:]), x=jnp.asarray(x),
                                lr_encoder=run.lr_encoder, lr_labels=run.lr_labels)
    # jit(vmap(vmap)): outer axis the frustration (couplings and flip masks; the seeds' keys
    # are shared), inner the seed.  Not the sweep engine: in float32 XLA's round-off depends
    # on the batch shape (one point of a 3 x 3 grid and the same point alone differ by up to
    # 2.4e-7 in Y after 30 steps), so a different batching would change the stored datasets
    batched = jax.jit(jax.vmap(jax.vmap(lambda k, a, f: run_one(k, A_run=a, flipped_run=f)),
                               in_axes=(None, 0, 0)))
    t0 = time.perf_counter()
    logs = jax.device_get(batched(_seed_keys(seeds), A, flipped))
    wall = time.perf_counter() - t0
    return _dataset(logs, "frustration", ps, seeds, C, run, {
        "n_samples": N, "n_classes": K, "nu": nu, "wall_s": wall, "reconstruction": 1,
        "class_sizes": str(np.bincount(y, minlength=K).tolist())})


def calibrate_encoder_rate(run: LabelNoiseRun, *, steps: int = 12) -> float:
    r"""Effective class-node step eta_x = eta_theta kappa of an encoder, fitted (RECONSTRUCTION).

    A clean (p = 0) run with random labels: the alignment residual u_c = mean_c x - y_c of a
    star (spec §2.6a in class-node form) decays per GD step by 1 - nu n (eta_x + eta_y), so a
    fit of its first ``steps`` steps gives eta_x = mu/(nu n) - eta_y with
    mu = 1 - exp(-rate), n = N/K.  A fit on a training run;
    :func:`simulations.encoders.class_kernel.probe_class_kernel` measures the same step (and
    its common and zero-sum modes separately) without training."""
    from analysis.timescales import fit_decay_rate

    cal = train_label_embeddings(dataclasses.replace(
        run, frustrations=(0.0,), label_init="random", label_scale=1.0, steps=steps))
    u = cal["align_residual"].values[0]                                      # (seed, step)
    rates = [fit_decay_rate(np.arange(steps, dtype=float), row,
                            window=(0, steps - 1))["rate"] for row in u]
    mu = 1.0 - np.exp(-float(np.mean(rates)))
    n_bar = cal.attrs["n_samples"] / cal.attrs["n_classes"]
    return max(mu / (cal.attrs["nu"] * n_bar) - run.lr_labels, 1e-12)
