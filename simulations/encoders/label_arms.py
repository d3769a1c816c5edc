r"""Arms of a label-noise experiment: one program, many conditions (RECONSTRUCTION).

A test of the minimal model on a trained encoder (:mod:`simulations.experiments.theory_rates`)
needs runs that differ in more than the frustration p: the label step eta_y (the prediction's
dependence on eta_y is what separates a finite encoder step from the adiabatic limit), the
inputs (every input replaced by its class mean: the rigid-class model made exact), the noise
pattern (flips confined to blocks of classes: no collapse between blocks) and whether the
encoder trains at all (frozen: only the labels move).  An :class:`Arm` is one such condition;
:func:`train_arms` runs every (arm, seed) in one compiled program of
:mod:`simulations.encoders.label_noise` (the conditions are array arguments, so adding an arm
costs a batch row, not a compile).
"""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from minimal_models import label_noise as noise
from minimal_models import validation as check

from .label_noise import INPUTS, LabelNoiseRun, _dataset, _one_run, _seed_keys, load_data

__all__ = ["Arm", "ENCODER_MODES", "arm_labels", "train_arms"]

#: Whether an arm's encoder takes its gradient steps (``"trained"``) or keeps its initial
#: parameters (``"frozen"``: only the labels, and a head, learn).
ENCODER_MODES = ("trained", "frozen")


@dataclasses.dataclass(frozen=True)
class Arm:
    """One arm of :func:`train_arms` (validated) [RECONSTRUCTION].

    - ``frustration``: label-noise rate p (noise mode and seed as in the run);
    - ``lr_labels``: the label step eta_y (None: the run's);
    - ``encoder``: one of :data:`ENCODER_MODES`; ``inputs``: one of
      :data:`simulations.encoders.label_noise.INPUTS`;
    - ``noise_blocks``: None (flips to any other class), or disjoint tuples of classes
      (e.g. ``((0, 1), (2, 3))``): a sample is flipped only to a class of its own block, with
      the run's noise mode inside each block (:func:`arm_labels`).
    """

    frustration: float = 0.0
    lr_labels: float | None = None
    encoder: str = "trained"
    inputs: str = "samples"
    noise_blocks: tuple | None = None

    def __post_init__(self):
        check.real("frustration", self.frustration, low=0.0, high=1.0)
        if self.lr_labels is not None:
            check.positive("lr_labels", self.lr_labels)
        check.choice("encoder", self.encoder, ENCODER_MODES)
        check.choice("inputs", self.inputs, INPUTS)
        if self.noise_blocks is not None:
            try:
                blocks = [tuple(b) for b in self.noise_blocks]
            except TypeError:
                blocks = None
            flat = [c for b in blocks or () for c in b]
            if (not blocks or any(len(b) < 2 for b in blocks) or len(set(flat)) != len(flat)
                    or not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool)
                               and c >= 0 for c in flat)):
                raise ValueError(f"noise_blocks={self.noise_blocks!r} must be disjoint tuples "
                                 "of at least two class indices >= 0 each")

    def label_step(self, run: LabelNoiseRun) -> float:
        """The arm's eta_y (its own, or the run's)."""
        return run.lr_labels if self.lr_labels is None else float(self.lr_labels)

    def name(self) -> str:
        """A short readable key, e.g. ``p=0.2 eta_y=1 frozen class_means blocks=01|23``."""
        parts = [f"p={self.frustration:g}"]
        if self.lr_labels is not None:
            parts.append(f"eta_y={self.lr_labels:g}")
        if self.encoder != "trained":
            parts.append(self.encoder)
        if self.inputs != "samples":
            parts.append(self.inputs)
        if self.noise_blocks is not None:
            parts.append("blocks=" + "|".join("".join(map(str, b)) for b in self.noise_blocks))
        return " ".join(parts)


def arm_labels(arm: Arm, run: LabelNoiseRun, classes, n_classes: int, seed: int) -> np.ndarray:
    """Noisy labels of one arm and seed: :func:`minimal_models.label_noise.flip_labels` on all
    classes, or inside each of ``arm.noise_blocks`` (a block's classes renumbered 0..B-1 in
    ascending order, the same seed in every block); classes outside every block keep their
    labels."""
    y = np.asarray(classes)
    if arm.noise_blocks is None:
        return noise.flip_labels(y, n_classes, arm.frustration, seed=seed, mode=run.noise_mode)
    top = max(c for block in arm.noise_blocks for c in block)
    if top >= n_classes:
        raise ValueError(f"noise_blocks={arm.noise_blocks!r} name class {top}; the data has "
                         f"classes 0..{n_classes - 1}")
    labels = y.copy()
    for block in arm.noise_blocks:
        members = np.sort(np.asarray(block))
        inside = np.isin(y, members)
        local = np.searchsorted(members, y[inside]).astype(y.dtype)
        flipped = noise.flip_labels(local, len(members), arm.frustration, seed=seed,
                                    mode=run.noise_mode)
        labels[inside] = members[flipped]
    return labels


def train_arms(run: LabelNoiseRun, arms, *, objective: str | None = None) -> xr.Dataset:
    """Train every (arm, seed) of ``arms`` (a sequence of :class:`Arm`) with ``run``'s network,
    data, steps and seeds, batched in one compiled program, and return the Dataset of
    :func:`simulations.encoders.label_noise.train_label_embeddings` with the outer dim ``arm``
    (coordinate: :meth:`Arm.name`) and per-arm coordinates ``frustration``, ``lr_labels``,
    ``encoder``, ``inputs``, ``noise_blocks``.  ``objective`` replaces the run's (the same arms
    under Model B).  Seed s uses the same encoder initialisation, label jitter and noise draw
    in every arm, so arms are paired by seed; ``run.frustrations`` is not used."""
    if objective is not None:
        run = dataclasses.replace(run, objective=objective)
    arms = tuple(arms)
    if not arms or not all(isinstance(a, Arm) for a in arms):
        raise ValueError(f"arms must be a non-empty sequence of Arm, got {arms!r}")
    names = [a.name() for a in arms]
    if len(set(names)) != len(names):
        raise ValueError(f"arms must be distinct, got {names}")
    seeds = tuple(int(s) for s in run.seeds)
    inputs = {kind: load_data(run, inputs=kind) for kind in sorted({a.inputs for a in arms})}
    _, y, K = next(iter(inputs.values()))
    N = len(y)
    labels = np.stack([[arm_labels(a, run, y, K, s) for s in seeds] for a in arms])
    C = np.stack([[noise.confusion_counts(y, lab, K) for lab in row] for row in labels])
    A = jax.nn.one_hot(labels, K, dtype=jnp.float32)                           # (R, S, N, K)
    flipped = jnp.asarray(labels != y[None, None, :])
    xs = jnp.stack([jnp.asarray(inputs[a.inputs][0]) for a in arms])
    lr_enc = jnp.asarray([run.lr_encoder if a.encoder == "trained" else 0.0 for a in arms],
                         jnp.float32)
    lr_lab = jnp.asarray([a.label_step(run) for a in arms], jnp.float32)
    nu = 1.0 / N
    run_one = _one_run(run, y, K, nu, xs.shape[2:])
    # outer axis the arm (its inputs, couplings, flip masks and steps), inner the seed
    batched = jax.jit(jax.vmap(jax.vmap(run_one, in_axes=(0, None, 0, 0, None, None)),
                               in_axes=(None, 0, 0, 0, 0, 0)))
    t0 = time.perf_counter()
    logs = jax.device_get(batched(_seed_keys(seeds), xs, A, flipped, lr_enc, lr_lab))
    wall = time.perf_counter() - t0
    ds = _dataset(logs, "arm", names, seeds, C, run, {
        "n_samples": N, "n_classes": K, "nu": nu, "wall_s": wall, "reconstruction": 1,
        "class_sizes": str(np.bincount(y, minlength=K).tolist())})
    return ds.assign_coords(
        frustration=("arm", [a.frustration for a in arms]),
        lr_labels=("arm", [a.label_step(run) for a in arms]),
        encoder=("arm", [a.encoder for a in arms]),
        inputs=("arm", [a.inputs for a in arms]),
        noise_blocks=("arm", [str(a.noise_blocks) for a in arms]))
