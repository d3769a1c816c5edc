"""Every coordinate of a sweep dataset and every variable of a training run's metrics.nc says
what it is."""

import pytest

from simulations.flows import FrustrationFlow
from simulations.sweep import SweepSpec, run_sweep
from simulations.encoders.config import TrainConfig
from simulations.encoders.data import load_dataset
from simulations.encoders.train import train


@pytest.mark.slow
def test_sweep_coordinates_carry_descriptions_and_units():
    model = FrustrationFlow(n_per_class=3, dim=2, n_times=4, t_max=5.0, solver="closed_form")
    ds = run_sweep(SweepSpec("attrs", model, axes=[("frustration", (0.0, 0.2)),
                                                   ("seed_A", (0, 1))]), None, progress=False)
    for name in ds.coords:
        assert ds[name].attrs.get("description"), name
    assert "frustration" in ds["frustration"].attrs["description"]
    assert ds["t"].attrs["units"] == "time"
    for name in ds.data_vars:
        assert ds[name].attrs.get("units") and ds[name].attrs.get("description"), name


@pytest.mark.slow
def test_metrics_variables_carry_descriptions(tmp_path):
    config = TrainConfig(objective="sigreg", data="gaussian_mixture", encoder="mlp", steps=2,
                         steps_per_dispatch=1, batch_size=16, out_dim=8)
    result = train(config, data=load_dataset("gaussian_mixture"), progress=False)
    ds = result.metrics
    assert {"loss", "grad_norm", "lr"} <= set(ds.data_vars)
    for name in ds.data_vars:
        assert ds[name].attrs.get("units") and ds[name].attrs.get("description"), name
    assert ds["loss"].attrs["description"].startswith("training loss")
