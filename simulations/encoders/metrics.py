"""A training run's metrics as an ``xarray.Dataset``: one variable per logged quantity over the
1-based ``step``, each saying what it is, and the run's configuration, status, speed and
package version in the attributes."""

from __future__ import annotations

import jax
import numpy as np
import xarray as xr

from simulations.artifacts import package_version

__all__ = ["metrics_dataset"]


def metrics_dataset(config, history, *, status, wall, steps_done, steps_this_call):
    """The Dataset of ``history`` (name -> values per step, ``"step"`` the 1-based steps) of a
    run of ``config``; ``wall`` seconds for ``steps_this_call`` steps of this call."""
    n = steps_this_call
    ds = xr.Dataset(
        {k: ("step", np.asarray(v, np.float32)) for k, v in history.items() if k != "step"},
        coords={"step": np.asarray(history.get("step", np.zeros(0)), np.int64)})
    ds.attrs.update(
        config=config.to_json(), objective=config.objective, data=config.data,
        encoder=config.encoder_name, dtype=config.dtype, status=status,
        steps_done=int(steps_done), wall_seconds=float(wall), n_devices=len(jax.devices()),
        # this call's steps over its wall time, compilation included
        views_per_second=float(n * config.batch_size * config.n_views / wall) if wall else 0.0,
        package_version=package_version())
    ds["step"].attrs["long_name"] = "optimiser step (1-based: value after the step)"
    for name in ds.data_vars:  # every logged quantity says what it is
        ds[name].attrs.setdefault("units", "1")
        ds[name].attrs.setdefault(
            "description", _LOG_DESCRIPTIONS.get(
                name, f"{config.objective} log {name!r} of the batch at this step "
                      "(minimal_models.objectives.registry)"))
    return ds


_LOG_DESCRIPTIONS = {
    "loss": "training loss of the batch at this step (the objective's total)",
    "lr": "learning rate of the step",
    "grad_norm": "global norm of the gradient before clipping",
}
