r"""One evaluation of frozen features, used by ``collapse-lab train``, the validation experiments
(:mod:`simulations.experiments.ssl_experiments`) and the benchmarks, so that every number a
table compares was computed the same way (spec ``hamiltonian_geometry.md`` §6.1 and §9:
readouts q, p, (q,p) = z).

Per readout:

- cosine kNN (majority and weighted votes, :mod:`analysis.probes`) on the clean test set, and,
  for small images (digits), on the **shifted** test set (protocol (b) of spec §9: one random
  +-1 px translation per image), averaged over ``shift_draws`` >= 10 independent shift draws
  (clean digits saturate: an untrained encoder scores 0.90-0.95 kNN@20, raw pixels 0.967);
- the linear probe, by default run to convergence (``probe="converged"``,
  :func:`analysis.probes.linear_probe_converged`: full-batch AdamW until the train loss changes
  by < 1e-4 nats over 50 steps or, on separable features, no prediction changes over 200
  steps; cap 3000), with its train accuracy and final loss change reported; ``probe="paper"`` is the HamJEPA authors' recipe (CONFIRMED: AdamW lr 1e-3, batch
  256, 50 epochs, cosine).  ``probe_epochs`` / ``probe_lr`` override the cap (in epochs = full-
  batch steps for "converged") / the learning rate of either recipe;
- geometry: erank, PR (top 256 eigenvalues), RankMe, mean random-pair cosine, mean norm,
  std_l2, and ``erank_fraction`` = erank / D (for comparisons across readouts of different
  dimension D).

Reference rows use the same evaluation: :func:`raw_pixel_features` (standardised pixels, one
readout) and :func:`untrained_encoder` (the same config's encoder at initialisation).
The choice of the default probe and of the shift protocol is OURS (RECONSTRUCTION).
"""

from __future__ import annotations


import numpy as np
import xarray as xr

from analysis import geometry, probes
from minimal_models import validation as check

from .data import shifted_test_images

__all__ = ["evaluate", "evaluate_features", "encode_splits", "raw_pixel_features",
           "untrained_encoder", "READOUTS", "PROBES", "SHIFT_DRAWS"]

READOUTS = ("z", "q", "p", "pooled")
PROBES = ("converged", "paper")
SHIFT_DRAWS = 10
_GEOMETRY = ("erank", "erank_fraction", "pr", "rankme", "mean_cosine", "norm_mean", "std_l2")


def _train_module():
    # imported on use: the trainer is only needed when something is encoded.  The package
    # re-exports the *function* ``train`` under the module's name, so ``import ... as`` and
    # ``from . import train`` would both return the function: take the module itself.
    import sys

    import simulations.encoders.train  # noqa: F401

    return sys.modules["simulations.encoders.train"]


def _shift_draws(data, shift_draws):
    if shift_draws is None:  # small images only: digits (8x8); 0 elsewhere
        return SHIFT_DRAWS if data.name == "digits" else 0
    n = check.integer("shift_draws", shift_draws, minimum=0)
    if 0 < n < SHIFT_DRAWS:
        raise ValueError(f"shift_draws={n} must be 0 or >= {SHIFT_DRAWS} (the shifted kNN is "
                         "a mean over draws)")
    if n and len(data.sample_shape) != 3:
        raise ValueError(f"shift_draws={n} needs image data, got samples of shape "
                         f"{data.sample_shape}")
    return n


def _standardise(data, x):
    return ((x.astype(np.float32) / data.scale - data.mean) / data.std).astype(np.float32)


def _split_features(feats, sizes):
    # undo the concatenation of encode_splits: train, test, then one block per shift draw
    edges = np.cumsum([0, *sizes])
    parts = [{k: v[a:b] for k, v in feats.items()} for a, b in zip(edges[:-1], edges[1:])]
    return {"train": parts[0], "test": parts[1], "shifted": parts[2:]}


def encode_splits(encoder, state, data, *, dtype="float32", shift_draws=None) -> dict:
    """Features {"train", "test", "shifted": [one dict per shift draw]} of ``data`` (each a dict
    readout -> (n, D) float32) through ``encoder`` in inference mode."""
    tr = _train_module()
    n = _shift_draws(data, shift_draws)
    blocks = [data.standardised("train"), data.standardised("test"),
              *(_standardise(data, shifted_test_images(data, seed=s)) for s in range(n))]
    # one encode call (one compilation) for every split and draw
    feats = tr.encode(encoder, state, np.concatenate(blocks), dtype=dtype)
    return _split_features(feats, [len(b) for b in blocks])


def raw_pixel_features(data, *, shift_draws=None) -> dict:
    """Reference row: standardised, flattened inputs as features (readout ``"z"``), same
    layout as :func:`encode_splits`."""
    flat = lambda x: {"z": x.reshape(len(x), -1)}
    n = _shift_draws(data, shift_draws)
    return {"train": flat(data.standardised("train")), "test": flat(data.standardised("test")),
            "shifted": [flat(_standardise(data, shifted_test_images(data, seed=s)))
                        for s in range(n)]}


def untrained_encoder(config, data):
    """Reference row: ``(encoder, state)`` of ``config`` at initialisation (same seed and key
    derivation as :func:`simulations.encoders.train.train`, zero steps)."""
    import equinox as eqx

    tr = _train_module()
    dyn, static, state, _ = tr._init(config, data)
    encoder, _ = eqx.combine(dyn, static)
    return encoder, state


def _probe(xtr, ytr, xte, yte, *, probe, probe_epochs, probe_lr, n_classes, seed):
    if probe == "paper":
        out = probes.linear_probe(xtr, ytr, xte, yte, epochs=probe_epochs or 50,
                                  lr=probe_lr or 1e-3, n_classes=n_classes, seed=seed)
        out.update(steps=(probe_epochs or 50) * -(-len(ytr) // 256), converged=False)
        return out
    return probes.linear_probe_converged(xtr, ytr, xte, yte, lr=probe_lr or 1e-2,
                                         max_steps=probe_epochs or 3000, window=min(
                                             50, probe_epochs or 50),
                                         n_classes=n_classes, seed=seed)


def evaluate_features(train, y_train, test, y_test, *, shifted=(), n_classes=None,
                      ks=probes.KNN_KS, shift_ks=None, votes=("majority", "weighted"),
                      probe="converged", probe_epochs=None, probe_lr=None,
                      geometry_samples=5000, seed=0) -> dict:
    """The evaluation of one readout's features: ``train`` (n, D), ``test`` (m, D), ``shifted``
    a list of (m, D) arrays (one per shift draw, labels ``y_test``).  Returns a flat dict:
    ``knn`` {vote: {k: acc}}, ``knn_shifted`` {k: mean acc over draws} and
    ``knn_shifted_sd`` (majority vote, k in ``shift_ks``, default ``ks``), ``linear``,
    ``linear_train``, ``linear_loss``,
    ``linear_loss_change``, ``linear_steps``, ``linear_converged``, and the geometry
    (``erank``, ``erank_fraction``, ``pr``, ``rankme``, ``mean_cosine``, ``norm_mean``,
    ``std_l2``)."""
    check.choice("probe", probe, PROBES)
    if probe_epochs is not None:
        probe_epochs = check.integer("probe_epochs", probe_epochs, minimum=1)
    if probe_lr is not None:
        probe_lr = check.positive("probe_lr", probe_lr)
    ks = tuple(k for k in ks if k <= len(y_train))
    shift_ks = ks if shift_ks is None else tuple(k for k in shift_ks if k <= len(y_train))
    out = {"knn": {vote: probes.knn_accuracy(train, y_train, test, y_test, ks=ks, vote=vote)
                   for vote in votes}}
    if len(shifted):
        # all draws in one kNN call, accuracy per draw, then mean and sd over draws
        y_test = np.asarray(y_test)
        pred = probes.knn_predict(train, y_train, np.concatenate(shifted), ks=shift_ks)
        acc = {k: (pred[k].reshape(len(shifted), -1) == y_test).mean(axis=1) for k in shift_ks}
        out["knn_shifted"] = {k: float(a.mean()) for k, a in acc.items()}
        out["knn_shifted_sd"] = {k: float(a.std(ddof=1)) for k, a in acc.items()}
    lin = _probe(train, y_train, test, y_test, probe=probe, probe_epochs=probe_epochs,
                 probe_lr=probe_lr, n_classes=n_classes, seed=seed)
    out.update(linear=lin["test_acc"], linear_train=lin["train_acc"],
               linear_loss=lin["final_loss"], linear_loss_change=lin["loss_change"],
               linear_steps=lin["steps"], linear_converged=bool(lin["converged"]))
    rng = np.random.default_rng(seed)
    sub = np.asarray(train)[rng.permutation(len(train))[:geometry_samples]]
    summary = geometry.collapse_monitor(sub)
    out.update(erank=summary["erank"], pr=summary["pr"], rankme=summary["rankme"],
               std_l2=summary["std_l2"], erank_fraction=summary["erank"] / sub.shape[1],
               mean_cosine=geometry.cosine_histogram(sub, seed=seed)["mean"],
               norm_mean=geometry.feature_norms(sub)["mean"])
    return out


def evaluate(result, *, readouts=("z", "q", "p"), ks=probes.KNN_KS, probe: str = "converged",
             probe_epochs: int | None = None, probe_lr: float | None = None,
             shift_draws: int | None = None, geometry_samples: int = 5000,
             seed: int = 0) -> xr.Dataset:
    """Evaluate a :class:`~simulations.encoders.train.TrainResult` (see the module docstring).

    Returns a Dataset with ``knn_accuracy`` (readout x k x vote), ``knn_accuracy_shifted`` and
    its sd over draws (readout x k; only with shift draws), ``linear_accuracy``,
    ``linear_train_accuracy``, ``linear_loss_change``, ``linear_steps``, ``linear_converged``
    and the geometry per readout; attrs state the probe recipe and its stopping criterion.
    """
    for r in readouts:
        check.choice("readout", r, READOUTS)
    data = result.data
    feats = encode_splits(result.encoder, result.state, data, dtype=result.config.dtype,
                          shift_draws=shift_draws)
    rows = [evaluate_features(feats["train"][r], data.y_train, feats["test"][r], data.y_test,
                              shifted=[s[r] for s in feats["shifted"]],
                              n_classes=data.n_classes, ks=ks, probe=probe,
                              probe_epochs=probe_epochs, probe_lr=probe_lr,
                              geometry_samples=geometry_samples, seed=seed) for r in readouts]
    return _dataset(rows, readouts, feats, result, probe=probe, probe_epochs=probe_epochs,
                    probe_lr=probe_lr, geometry_samples=geometry_samples)


def _dataset(rows, readouts, feats, result, **settings):
    data = result.data
    ks = [k for k in rows[0]["knn"]["majority"] if k != "best"]
    knn = np.array([[[row["knn"][v][k] for v in ("majority", "weighted")] for k in ks]
                    for row in rows])
    variables = {"knn_accuracy": (("readout", "k", "vote"), knn),
                 "linear_accuracy": ("readout", [row["linear"] for row in rows]),
                 "linear_train_accuracy": ("readout", [row["linear_train"] for row in rows]),
                 "linear_loss_change": ("readout", [row["linear_loss_change"] for row in rows]),
                 "linear_steps": ("readout", [row["linear_steps"] for row in rows]),
                 "linear_converged": ("readout", [row["linear_converged"] for row in rows]),
                 **{name: ("readout", [row[name] for row in rows]) for name in _GEOMETRY}}
    if feats["shifted"]:
        variables["knn_accuracy_shifted"] = (("readout", "k"), [[row["knn_shifted"][k] for k in ks]
                                                               for row in rows])
        variables["knn_accuracy_shifted_sd"] = (("readout", "k"),
                                                [[row["knn_shifted_sd"][k] for k in ks]
                                                 for row in rows])
    ds = xr.Dataset(variables, coords={"readout": list(readouts), "k": ks,
                                       "vote": ["majority", "weighted"]})
    probe = settings["probe"]
    criterion = ("full-batch AdamW, stop when |L(t) - L(t-50)| < 1e-4 nats (cap "
                 f"{settings['probe_epochs'] or 3000} steps), lr {settings['probe_lr'] or 1e-2}"
                 if probe == "converged" else
                 f"paper recipe: AdamW lr {settings['probe_lr'] or 1e-3}, batch 256, "
                 f"{settings['probe_epochs'] or 50} epochs, cosine")
    ds.attrs.update(objective=result.config.objective, data=data.name,
                    config=result.config.to_json(), n_train=len(data.y_train),
                    n_test=len(data.y_test), probe_recipe=probe, probe_criterion=criterion,
                    probe_epochs=settings["probe_epochs"] or 0,
                    probe_lr=settings["probe_lr"] or 0.0, shift_draws=len(feats["shifted"]),
                    knn_metric="cosine", weighted_temperature=0.07,
                    geometry_samples=min(settings["geometry_samples"], len(data.y_train)))
    return ds
