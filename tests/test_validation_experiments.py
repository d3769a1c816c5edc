"""Encoder validation experiments: the label-noise trainer, the rate extraction, the SSL
comparison bookkeeping and the CIFAR-100 run configs.  Small and fast: the full figures are
exercised by ``collapse-lab repro``; here every piece is checked against something it must
equal."""

import dataclasses

import numpy as np
import pytest
import xarray as xr

from analysis.label_noise_rates import collapse_window, measured_rate, theory_rates_dataset
from minimal_models import label_noise
from paper_repro import validation as val
from paper_repro.validation.ssl_evaluation import direction_check
from simulations.encoders.label_noise import LabelNoiseRun, load_data, train_label_embeddings
from simulations.experiments.ssl_experiments import methods_dataset, shifted_test_images


# ----------------------------------------------------------------------------- rate extraction

def test_measured_rate_recovers_an_exponential_in_the_collapse_window():
    steps = np.arange(300)
    d = 2.0 * np.exp(-0.03 * steps)
    start, end = collapse_window(d)
    assert d[start] <= 0.7 * d[0] < d[start - 1]
    assert d[end] <= 0.05 * d[0] < d[end - 1]
    np.testing.assert_allclose(measured_rate(d), 0.03, rtol=1e-10)


def test_measured_rate_of_a_flat_curve_is_zero_and_of_growth_negative():
    np.testing.assert_allclose(measured_rate(np.full(100, 1.3)), 0.0, atol=1e-12)
    assert measured_rate(np.exp(0.01 * np.arange(100))) < 0
    assert np.isnan(measured_rate(np.r_[1.0, 2.0, np.nan, 1.0] * np.ones(4)))


# ----------------------------------------------------------------------------- label training

_TINY = LabelNoiseRun(data="gaussian_mixture", frustrations=(0.0, 0.2), seeds=(0, 1),
                      steps=40, lr_encoder=0.05, lr_labels=0.5, lr_head=0.05, label_scale=0.01,
                      gm_separation=10.0, gm_classes=3, gm_dim=8, gm_train=120, hidden=(16,),
                      out_dim=8)


@pytest.fixture(scope="module")
def tiny_runs():
    a = train_label_embeddings(_TINY)
    b = train_label_embeddings(dataclasses.replace(_TINY, objective="model_b"))
    return a, b


@pytest.mark.slow  # shares a ~10-25 s fixture (two vmapped training compiles)
def test_label_run_records_consistent_trajectories(tiny_runs):
    a, _ = tiny_runs
    assert a["d_min"].dims == ("frustration", "seed", "step") and a.sizes["step"] == 40
    Y = a["Y"].values
    diff = Y[..., :, None, :] - Y[..., None, :, :]
    D = np.sqrt((diff**2).sum(-1)) + np.eye(3) * 1e9
    np.testing.assert_allclose(a["d_min"].values, D.min(axis=(-1, -2)), rtol=1e-5)
    # confusion counts are those of the spec's flip stream on the true classes
    _, y, K = load_data(_TINY)
    labels = label_noise.flip_labels(y, K, 0.2, seed=1, mode="symmetric")
    np.testing.assert_array_equal(a["C"].sel(frustration=0.2, seed=1).values,
                                  label_noise.confusion_counts(y, labels, K))
    np.testing.assert_array_equal(np.diag(a["C"].sel(frustration=0.0, seed=0).values),
                                  np.bincount(y, minlength=K))
    assert np.all(np.isfinite(a["loss"].values))


@pytest.mark.slow  # shares a ~10-25 s fixture (two vmapped training compiles)
def test_first_label_step_is_the_model_a_gradient_step(tiny_runs):
    # labels are trained by plain GD on model_a_loss: y_k(1) - y_k(0) =
    # -lr nu sum_{i: l_i = k} (y_k(0) - x_i(0)); in particular the sum over labels of
    # (y(1) - y(0)) / lr equals nu sum_i (x_i - y_{l_i}), so with class-mean init and no
    # noise the first label step vanishes up to the label jitter
    a, _ = tiny_runs
    Y0 = a["Y"].sel(frustration=0.0, seed=0).isel(step=0).values
    Y1 = a["Y"].sel(frustration=0.0, seed=0).isel(step=1).values
    _, y, K = load_data(_TINY)
    n = np.bincount(y, minlength=K)[:, None]
    # with labels at class means + jitter J: step = -lr nu n (J)
    jitter_step = np.abs(Y1 - Y0).max()
    assert jitter_step < 0.5 * _TINY.lr_labels * n.max() / len(y) * 0.05 + 1e-6


@pytest.mark.slow  # shares a ~10-25 s fixture (two vmapped training compiles)
def test_rates_dataset_uses_the_label_noise_prediction(tiny_runs):
    a, _ = tiny_runs
    r = theory_rates_dataset(a, _TINY.lr_labels)
    for p in (0.0, 0.2):
        for s in (0, 1):
            C = a["C"].sel(frustration=p, seed=s).values
            pred = label_noise.per_step_rate(
                label_noise.adiabatic_rates(C, eta_y=_TINY.lr_labels, nu=a.attrs["nu"]))
            np.testing.assert_allclose(float(r["predicted"].sel(frustration=p, seed=s)),
                                       pred.mean(), rtol=1e-12)
    np.testing.assert_allclose(r["predicted"].sel(frustration=0.0).values, 0.0, atol=1e-12)
    assert np.all(r["predicted"].sel(frustration=0.2).values > 0)


@pytest.mark.slow  # shares a ~10-25 s fixture (two vmapped training compiles)
def test_label_noise_collapses_faster_than_clean_and_sg_protects(tiny_runs):
    a, b = tiny_runs
    ra, rb = (theory_rates_dataset(x, _TINY.lr_labels) for x in (a, b))
    noisy, clean = ra["measured"].sel(frustration=0.2), ra["measured"].sel(frustration=0.0)
    assert float(noisy.mean()) > 3 * abs(float(clean.mean()))
    # 40 steps are too few for SG's rate to settle (the head first dips, then recovers, as in
    # the figure), but the SG run must already keep more separation than Model A
    end_a = a["d_min"].sel(frustration=0.2).isel(step=-1)
    end_b = b["d_min"].sel(frustration=0.2).isel(step=-1)
    assert np.all(end_b.values > end_a.values)


def test_label_run_rejects_bad_settings():
    with pytest.raises(ValueError, match="objective"):
        LabelNoiseRun(objective="model_z")
    with pytest.raises(ValueError, match="digits_cnn"):
        LabelNoiseRun(data="gaussian_mixture", encoder="digits_cnn")
    with pytest.raises(ValueError, match="frustration"):
        LabelNoiseRun(frustrations=(0.1, 1.5))
    with pytest.raises(ValueError, match="lr_labels"):
        LabelNoiseRun(lr_labels=0.0)


# ----------------------------------------------------------------------------- SSL bookkeeping

def _fake_results(value, seeds=3):
    return [{"z/knn20": value + 0.01 * s, "z/linear": value, "z/erank": 10 * value,
             "z/spectrum": np.array([3.0, 1.0])} for s in range(seeds)]


def test_methods_dataset_and_direction_checks():
    rows = {"A": ("x", "z", _fake_results(0.8)), "B": ("y", "z", _fake_results(0.6))}
    ds = methods_dataset(rows, (0, 1, 2))
    np.testing.assert_allclose(ds["knn20"].sel(model="A").values, [0.8, 0.81, 0.82])
    np.testing.assert_allclose(ds["spectrum"].sel(model="B").values, [0.75, 0.25])
    up = direction_check("t", ds, "A", "B", "knn20", "paper", source="s")
    down = direction_check("t", ds, "B", "A", "knn20", "paper", source="s")
    same = direction_check("t", ds, "A", "A", "knn20", "paper", source="s")
    assert up.passed and not down.passed and not same.passed
    np.testing.assert_allclose(up.measured, 0.2)


def test_shifted_test_images_move_each_image_by_at_most_one_pixel():
    from simulations.encoders.data import load_digits_split

    data = load_digits_split()
    shifted = shifted_test_images(data)
    assert shifted.shape == data.x_test.shape and shifted.dtype == data.x_test.dtype
    rng = np.random.default_rng(0)
    shifts = rng.integers(-1, 2, size=(len(shifted), 2))
    for i in (0, 5, 17):
        dy, dx = shifts[i]
        ref = np.roll(data.x_test[i], (dy, dx), axis=(-2, -1))
        inner = (slice(None), slice(1, -1), slice(1, -1))
        np.testing.assert_array_equal(shifted[i][inner], ref[inner])
    assert not np.array_equal(shifted, data.x_test)


def test_cifar100_configs_follow_the_paper_recipe(monkeypatch, tmp_path):
    monkeypatch.delenv(val.CIFAR100_ENV, raising=False)
    with pytest.raises(ValueError, match="data_dir"):
        val.cifar100_config("cifar100_hamjepa_30ep")
    monkeypatch.setenv(val.CIFAR100_ENV, str(tmp_path))
    cfg = val.cifar100_config("cifar100_hamjepa_30ep")
    assert cfg.data == "cifar100" and cfg.data_dir == str(tmp_path)
    assert (cfg.batch_size, cfg.lr, cfg.weight_decay) == (512, 5e-4, 5e-4)
    assert cfg.encoder_name == "resnet18_tokens" and cfg.clip == 1.0
    assert cfg.steps == 30 * (50000 // 512)
    assert val.cifar100_config("cifar100_sigreg_80ep").clip is None
    with pytest.raises(ValueError, match="name"):
        val.cifar100_config("cifar10_anything")
    # the CLI line parses back into the same configuration
    from paper_repro.user_input import parse_assignment
    from simulations.encoders.config import config_from_assignments

    line = val.cifar100_command("cifar100_hamjepa_30ep", data_dir=str(tmp_path))
    head, out = line.split(" --out ")
    assert out == "runs/cifar100_hamjepa_30ep_seed42"
    sets = [parse_assignment(s) for s in head.split(" --set ")[1:]]
    back = config_from_assignments({"objective": "hamjepa", "data": "cifar100"}, sets)
    assert back == val.cifar100_config("cifar100_hamjepa_30ep", data_dir=str(tmp_path))


def test_method_comparison_draws_from_a_methods_dataset():
    # the VAL_theory_rates figure is drawn in test_theory_rates_figure.py
    import matplotlib.pyplot as plt

    from figures.validation import plot_method_comparison

    rows = {"A": ("x", "z", _fake_results(0.8)), "B": ("y", "z", _fake_results(0.6))}
    ds = methods_dataset(rows, (0, 1, 2))
    fig2 = plot_method_comparison(ds, metrics=("knn20", "linear"),
                                  paper={"knn20": {"A": 30.0}})
    assert len(fig2.axes) >= 3
    assert isinstance(ds, xr.Dataset)
    plt.close(fig2)


def test_registered_figures_have_quick_and_full_modes():
    names = [f.name for f in val.FIGURES]
    assert names == ["VAL_theory_rates", "VAL_hamjepa", "VAL_hypersolid"]
    for f in val.FIGURES:
        assert f.status == "RECONSTRUCTION" and f.quick_s > 0 and f.full_s > f.quick_s
