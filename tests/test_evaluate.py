"""The one evaluation (simulations.encoders.evaluate, issue 15 §1) and the checks of the SSL
validation experiments that must be able to fail (issue 15 §2)."""

import numpy as np
import pytest
import xarray as xr

from analysis import probes
from paper_repro import validation as val
from simulations.encoders import evaluate as E


def _blobs(seed=0, n=400, d=8, sep=4.0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, d)) * sep
    y = rng.integers(0, 3, n)
    return centres[y] + rng.standard_normal((n, d)), y


def test_converged_probe_stops_by_its_criterion_and_reports_it():
    x, y = _blobs()
    out = probes.linear_probe_converged(x[:300], y[:300], x[300:], y[300:], tol=1e-3, window=20)
    assert out["converged"] and out["loss_change"] < 1e-3
    assert out["steps"] % 20 == 0 and out["steps"] < 3000
    assert out["train_acc"] > 0.95 and out["test_acc"] > 0.9
    # a cap below what the criterion needs: reported as not converged, change above tol
    capped = probes.linear_probe_converged(x[:300], y[:300], x[300:], y[300:], tol=1e-9,
                                           window=20, max_steps=40)
    assert not capped["converged"] and capped["steps"] == 40
    assert capped["loss_change"] >= 1e-9 and capped["final_loss"] > out["final_loss"]


def test_probe_recipes_and_overrides():
    x, y = _blobs(1)
    kw = dict(n_classes=3, ks=(1, 5))
    paper = E.evaluate_features(x[:300], y[:300], x[300:], y[300:], probe="paper",
                                probe_epochs=3, **kw)
    assert paper["linear_steps"] == 3 * 2 and not paper["linear_converged"]
    conv = E.evaluate_features(x[:300], y[:300], x[300:], y[300:], probe_epochs=100,
                               probe_lr=0.05, **kw)
    assert conv["linear_steps"] <= 100
    with pytest.raises(ValueError, match="probe='sgd'"):
        E.evaluate_features(x[:300], y[:300], x[300:], y[300:], probe="sgd", **kw)
    with pytest.raises(ValueError, match="probe_lr"):
        E.evaluate_features(x[:300], y[:300], x[300:], y[300:], probe_lr=-1.0, **kw)


def test_shifted_knn_is_the_mean_over_draws():
    x, y = _blobs(2)
    rng = np.random.default_rng(0)
    test = x[300:]
    draws = [test + rng.standard_normal(test.shape) * s for s in (0.0, 3.0, 6.0)] * 4
    out = E.evaluate_features(x[:300], y[:300], test, y[300:], shifted=draws, n_classes=3,
                              ks=(1, 5), shift_ks=(5,), probe_epochs=50)
    each = [probes.knn_accuracy(x[:300], y[:300], d, y[300:], ks=(5,))[5] for d in draws]
    assert out["knn_shifted"][5] == pytest.approx(np.mean(each), abs=1e-12)
    assert out["knn_shifted_sd"][5] == pytest.approx(np.std(each, ddof=1), abs=1e-12)
    assert out["knn_shifted"][5] < out["knn"]["majority"][5]   # noise costs accuracy


def test_shift_draws_must_be_at_least_ten():
    from simulations.encoders.data import load_digits_split

    with pytest.raises(ValueError, match="shift_draws=3"):
        E.raw_pixel_features(load_digits_split(), shift_draws=3)
    feats = E.raw_pixel_features(load_digits_split())
    assert len(feats["shifted"]) == E.SHIFT_DRAWS == 10
    assert not np.array_equal(feats["shifted"][0]["z"], feats["shifted"][1]["z"])


# ------------------------------------------------------------------- checks that can fail

def _table(gain=0.08, shift_loss=0.47, converged=1.0):
    """A methods table as VAL_hamjepa builds it, with controllable preconditions."""
    models = ["HamJEPA q", "SIGReg", "raw pixels", "untrained q"]
    seeds = [0, 1, 2]
    base = np.array([0.40, 0.41, 0.39])
    knn20 = np.array([[0.95] * 3, [0.82] * 3, [348 / 360] * 3, [0.91] * 3])
    shift = np.stack([base + gain, base - 0.1, knn20[2] - shift_loss, base])
    conv = np.full((4, 3), converged)
    return xr.Dataset({"knn20": (("model", "seed"), knn20),
                       "knn20_shift": (("model", "seed"), shift),
                       "linear_converged": (("model", "seed"), conv)},
                      coords={"model": models, "seed": seeds})


def _passed(ds):
    return [c.passed for c in val._evaluation_checks(ds, learner=("HamJEPA q", "untrained q"),
                                                     name="t")]


def test_evaluation_checks_pass_on_a_healthy_table():
    assert all(_passed(_table()))


def test_evaluation_checks_fail_when_the_encoder_did_not_learn():
    # an untrained encoder evaluated as if trained: gain 0 -> the learning check fails
    assert _passed(_table(gain=0.0)) == [True, True, False, True]


def test_evaluation_checks_fail_without_headroom_or_convergence():
    assert _passed(_table(shift_loss=0.0)) == [True, False, True, True]
    assert _passed(_table(converged=0.0)) == [True, True, True, False]
    broken = _table()
    broken["knn20"].loc[{"model": "raw pixels"}] = 0.95   # evaluation path changed
    assert _passed(broken)[0] is False


def test_findings_decide_planted_effects_and_nulls():
    seeds = [0, 1, 2, 3, 4]
    noise = np.array([0.004, -0.003, 0.002, -0.001, 0.0])
    other = np.array([-0.002, 0.003, 0.001, -0.004, 0.002])
    ds = xr.Dataset({"knn20": (("model", "seed"), np.stack([0.85 + other, 0.80 + noise,
                                                            0.75 + noise[::-1]]))},
                    coords={"model": ["A", "B", "C"], "seed": seeds})
    found = val._findings(ds, [("A", "B", "knn20", "p1"), ("C", "B", "knn20", "p2"),
                               ("B", "B", "knn20", "p3")], source="s")
    assert [f.decision for f in found] == ["reproduced", "opposite", "equivalent"]
    assert found[0].delta_min == pytest.approx(0.015) and found[0].paper == "p1"
    assert found[0].effect == pytest.approx(0.0496) and found[0].ci[0] < 0.0496 < found[0].ci[1]
    assert found[0].p < 0.05 and "Holm over 3 claims" in found[0].detail


def test_inert_predictor_overrides_the_decision_only_when_features_coincide():
    from paper_repro.base import Finding

    rng = np.random.default_rng(0)
    q = rng.standard_normal((20, 4))
    found = [Finding("knn20: HamJEPA q > MLP-HJEPA q", "equivalent", 0.0),
             Finding("knn20: HamJEPA q > SIGReg", "reproduced", 0.1)]
    same = val._inert_predictor(found, [{"q/test_features": q}],
                                [{"q/test_features": q + 1e-6}], xr.Dataset())
    assert [f.decision for f in same] == ["predictor inert", "reproduced"]
    moved = val._inert_predictor(found, [{"q/test_features": q}],
                                 [{"q/test_features": q + 0.1}], xr.Dataset())
    assert [f.decision for f in moved] == ["equivalent", "reproduced"]
