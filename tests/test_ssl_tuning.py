"""Fair tuning of the SSL runs (simulations.experiments.ssl_experiments): the validation split
is drawn from the training set only, and the learning rate is selected on it."""

import dataclasses

import numpy as np
import pytest

from simulations.encoders.data import load_dataset
from simulations.experiments import ssl_experiments as sx


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_validation_split_holds_out_a_stratified_fifth_of_the_training_set(digits):
    v = sx.validation_split(digits)
    assert len(v.y_train) + len(v.y_test) == len(digits.y_train)
    assert len(v.y_test) == pytest.approx(0.2 * len(digits.y_train), abs=1)
    # every held-out and every remaining image is a training image, each used once
    rows = {x.tobytes() + bytes([y]) for x, y in zip(digits.x_train, digits.y_train)}
    pairs = [x.tobytes() + bytes([y]) for x, y in zip(np.concatenate([v.x_train, v.x_test]),
                                                      np.concatenate([v.y_train, v.y_test]))]
    assert set(pairs) <= rows and len(pairs) == len(digits.y_train)
    # stratified: every class keeps its share in the held-out part (within one image)
    share = np.bincount(digits.y_train) * 0.2
    assert np.all(np.abs(np.bincount(v.y_test) - share) <= 1)
    # the digits statistics are those of the remaining images
    unit = v.x_train.astype(np.float64) / v.scale
    assert float(v.mean) == pytest.approx(unit.mean(), rel=1e-6)
    assert float(v.std) == pytest.approx(unit.std(), rel=1e-6)
    # deterministic
    again = sx.validation_split(digits)
    np.testing.assert_array_equal(again.y_test, v.y_test)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.2, 1.5])
def test_validation_split_refuses_a_fraction_outside_the_open_unit_interval(digits, fraction):
    with pytest.raises(ValueError, match=r"fraction=.* outside the allowed range"):
        sx.validation_split(digits, fraction=fraction)


def test_validation_split_refuses_a_split_with_too_few_samples_per_class(digits):
    tiny = dataclasses.replace(digits, x_train=digits.x_train[:12], y_train=digits.y_train[:12])
    with pytest.raises(ValueError, match=r"fraction=0.2 cannot split the 12 training samples"):
        sx.validation_split(tiny, fraction=0.2)


def _tiny_runs(monkeypatch, score):
    """ssl_config shortened to 2 steps, the selection score replaced by ``score(result)``."""
    real = sx.ssl_config
    monkeypatch.setattr(sx, "ssl_config", lambda o, s, q, **kw: dataclasses.replace(
        real(o, s, q, **kw), steps=2, steps_per_dispatch=2))
    monkeypatch.setattr(sx, "_selection_score", lambda res, objective: score(res))
    monkeypatch.setattr(sx, "_RUN_CACHE", {})


@pytest.mark.slow
def test_select_recipe_trains_each_candidate_on_the_split_and_keeps_the_best(monkeypatch):
    seen = []

    def score(res):
        opts = dict(res.config.objective_options)
        seen.append((res.config.lr, opts.get("num_slices", 0), len(res.data.y_train),
                     len(res.data.y_test)))
        return {5e-4: 0.5, 2e-3: 0.7, 1e-3: 0.6}[res.config.lr] + 0.05 * ("lam" in opts)

    _tiny_runs(monkeypatch, score)
    out = sx.select_recipe("sigreg", True, lrs=(2e-3, 5e-4, 1e-3))
    variant = sx.VARIANTS["sigreg"][0]
    assert (out["lr"], out["options"], out["readout"]) == (2e-3, variant, "z")
    assert [(lr, o) for lr, o, _ in out["scores"]] == sx.candidates("sigreg", (5e-4, 1e-3, 2e-3))
    assert out["scores"][-1][2] == pytest.approx(0.75)
    # trained on the 80 % part, scored on the 20 % part of the training set (1437 images)
    assert sorted(seen) == sorted([(lr, m, 1149, 288) for lr in (5e-4, 1e-3, 2e-3)
                                   for m in (0, variant["num_slices"])])


@pytest.mark.slow
def test_select_recipe_breaks_ties_towards_the_smaller_rate_and_the_defaults(monkeypatch):
    _tiny_runs(monkeypatch, lambda res: 0.5)
    out = sx.select_recipe("hypersolid", True, lrs=(2e-3, 5e-4))
    assert (out["lr"], out["options"], out["readout"]) == (5e-4, {}, "z")
    assert sx.select_recipe("hamjepa", True, lrs=(2e-3, 5e-4))["readout"] == "q"


def test_candidates_cross_the_shared_grid_with_the_method_defaults_and_variants():
    assert sx.candidates("vicreg", (2e-3, 5e-4)) == [(5e-4, {}), (2e-3, {})]
    assert sx.candidates("hypersolid", (5e-4,)) == [(5e-4, {}), (5e-4, {"norm": "batch"})]
    assert sx.candidates("sigreg", (5e-4,), variants=()) == [(5e-4, {})]
    # every variant is a valid set of options of its objective
    for objective, sets in sx.VARIANTS.items():
        for opts in sets:
            assert sx.ssl_config(objective, 0, False, options=opts).objective_options


@pytest.mark.parametrize("lrs, message", [((), r"lrs=\(\) must name"),
                                          ((5e-4, -1e-3), r"lr=-0.001 is outside"),
                                          ((0.0,), r"lr=0.0 is outside")])
def test_select_recipe_refuses_an_empty_or_non_positive_grid(lrs, message):
    with pytest.raises(ValueError, match=message):
        sx.select_recipe("sigreg", True, lrs=lrs)


def test_ssl_config_takes_the_learning_rate_options_and_length():
    assert sx.ssl_config("sigreg", 0, False).lr == 5e-4
    assert sx.ssl_config("sigreg", 0, False, lr=2e-3).lr == 2e-3
    assert sx.ssl_config("vicreg", 1, True, lr=1e-3).lr == 1e-3
    assert sx.ssl_config("hamjepa", 0, False, steps=3000).steps == 3000
    assert sx.ssl_config("sigreg", 0, False).steps == sx.FULL_STEPS
    assert dict(sx.ssl_config("hypersolid", 0, False, options={"norm": "batch"})
                .objective_options) == {"norm": "batch"}
    assert sx.LR_GRID == tuple(sorted(sx.LR_GRID)) and len(sx.LR_GRID) >= 2
