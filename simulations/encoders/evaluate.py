"""Evaluation of a trained encoder: frozen features of the clean train and test sets, cosine kNN
(majority and weighted votes), the linear probe and the geometry diagnostics, per readout, as an
``xarray.Dataset`` (spec ``hamiltonian_geometry.md`` §6.1: readouts q, p, (q,p) = z)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from analysis import geometry, probes
from minimal_models import validation as check

from .train import TrainResult, encode

__all__ = ["evaluate", "READOUTS"]

READOUTS = ("z", "q", "p", "pooled")


def evaluate(result: TrainResult, *, readouts=("z", "q", "p"), ks=probes.KNN_KS,
             probe_epochs: int = 50, geometry_samples: int = 5000, seed: int = 0) -> xr.Dataset:
    """kNN accuracy (dims readout x k x vote), linear-probe test accuracy, erank / PR (top 256),
    RankMe, mean random-pair cosine, mean feature norm and std_l2 per readout."""
    for r in readouts:
        check.choice("readout", r, READOUTS)
    data = result.data
    dtype = result.config.dtype
    feats_tr = encode(result.encoder, result.state, data.standardised("train"), dtype=dtype)
    feats_te = encode(result.encoder, result.state, data.standardised("test"), dtype=dtype)
    ks = tuple(k for k in ks if k <= len(data.y_train))
    knn = np.zeros((len(readouts), len(ks), 2))
    linear = np.zeros(len(readouts))
    geo = {name: np.zeros(len(readouts)) for name in
           ("erank", "pr", "rankme", "mean_cosine", "norm_mean", "std_l2")}
    rng = np.random.default_rng(seed)
    for i, r in enumerate(readouts):
        xtr, xte = feats_tr[r], feats_te[r]
        for j, vote in enumerate(("majority", "weighted")):
            acc = probes.knn_accuracy(xtr, data.y_train, xte, data.y_test, ks=ks, vote=vote)
            knn[i, :, j] = [acc[k] for k in ks]
        linear[i] = probes.linear_probe(xtr, data.y_train, xte, data.y_test,
                                        epochs=probe_epochs, n_classes=data.n_classes,
                                        seed=seed)["test_acc"]
        sub = xtr[rng.permutation(len(xtr))[:geometry_samples]]
        summary = geometry.collapse_monitor(sub)
        geo["erank"][i], geo["pr"][i] = summary["erank"], summary["pr"]
        geo["rankme"][i], geo["std_l2"][i] = summary["rankme"], summary["std_l2"]
        geo["mean_cosine"][i] = geometry.cosine_histogram(sub, seed=seed)["mean"]
        geo["norm_mean"][i] = geometry.feature_norms(sub)["mean"]
    ds = xr.Dataset(
        {"knn_accuracy": (("readout", "k", "vote"), knn),
         "linear_accuracy": ("readout", linear),
         **{name: ("readout", v) for name, v in geo.items()}},
        coords={"readout": list(readouts), "k": list(ks), "vote": ["majority", "weighted"]})
    ds.attrs.update(objective=result.config.objective, data=data.name,
                    config=result.config.to_json(), n_train=len(data.y_train),
                    n_test=len(data.y_test), probe_recipe="features",
                    probe_epochs=probe_epochs, knn_metric="cosine",
                    weighted_temperature=0.07, geometry_samples=min(geometry_samples,
                                                                     len(data.y_train)))
    return ds
