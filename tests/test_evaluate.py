"""The one evaluation (simulations.encoders.evaluate) and what the SSL validation experiments
decide from it: checks that must be able to fail (every arm learned), and paper claims decided
against a pre-registered delta_min, per family, gated by the learning checks."""

import numpy as np
import pytest
import xarray as xr

from analysis import probes
from simulations.encoders import evaluate as E


def _blobs(seed=0, n=400, d=8, sep=4.0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, d)) * sep
    y = rng.integers(0, 3, n)
    return centres[y] + rng.standard_normal((n, d)), y


@pytest.mark.slow
def test_converged_probe_stops_by_its_criterion_and_reports_it():
    x, y = _blobs()
    out = probes.linear_probe_converged(x[:300], y[:300], x[300:], y[300:], tol=1e-3, window=20,
                                        stable=1000)   # the loss criterion alone
    assert out["converged"] and out["loss_change"] < 1e-3 and out["criterion"] == "loss"
    assert out["steps"] % 20 == 0 and out["steps"] < 3000
    assert out["train_acc"] > 0.95 and out["test_acc"] > 0.9
    # a cap below what the criterion needs: reported as not converged, change above tol
    capped = probes.linear_probe_converged(x[:300], y[:300], x[300:], y[300:], tol=1e-9,
                                           window=20, max_steps=40, stable=1000)
    assert not capped["converged"] and capped["steps"] == 40 and capped["criterion"] == "cap"
    assert capped["loss_change"] >= 1e-9 and capped["final_loss"] > out["final_loss"]


@pytest.mark.slow
def test_converged_probe_on_separable_features_stops_when_its_predictions_are_stable():
    x, y = _blobs(sep=12.0)   # separable: the loss falls towards 0 without levelling off
    kw = dict(tol=1e-9, window=20, max_steps=3000)
    out = probes.linear_probe_converged(x[:300], y[:300], x[300:], y[300:], **kw)
    assert out["converged"] and out["criterion"] == "predictions"
    assert out["train_acc"] == 1.0 and out["loss_change"] >= 1e-9 and out["steps"] < 3000
    # stable predictions alone are not enough: on features it cannot separate only the loss
    # criterion (or the cap) ends the probe
    noisy = _blobs(sep=0.5)
    other = probes.linear_probe_converged(noisy[0][:300], noisy[1][:300], noisy[0][300:],
                                          noisy[1][300:], **kw)
    assert other["train_acc"] < 1.0 and other["criterion"] in ("loss", "cap")
    # and a window that is never stable long enough, or no flip allowed while the direction
    # still drifts, is not converged either
    short = probes.linear_probe_converged(x[:300], y[:300], x[300:], y[300:], stable=200, **kw)
    assert not short["converged"] and short["criterion"] == "cap"


@pytest.mark.slow
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


@pytest.mark.slow
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


# ------------------------------------------------------- checks and findings on tables

from paper_repro.validation import ssl_claims as SC  # noqa: E402
from paper_repro.validation import ssl_evaluation as SE  # noqa: E402
from paper_repro.validation.ssl_hamjepa import PREDICTOR as PRED  # noqa: E402
from paper_repro.validation.ssl_hamjepa import TABLE as HAM  # noqa: E402
from paper_repro.validation.ssl_hypersolid import TABLE as HYPER  # noqa: E402

RAW_CLEAN = 348 / 360
RAW_SHIFT = 0.49
_UNTRAINED = {"untrained z": 0.415, "untrained q": 0.39}
_METRICS = ("knn20", "knn20_shift", "linear", "linear_converged", "erank_fraction",
            "mean_cosine", "separation", "correlation")


def _healthy(table, n_seeds=5):
    """A methods table in which every arm learned (each beats its untrained encoder and raw
    pixels on the shifted set by >= 0.1 on every seed) and the first arm beats the others by
    ~6 points on every seed; untrained rows as :func:`reference_rows` names them."""
    rng = np.random.default_rng(0)
    best = table.families[0].claims[0].a   # the method under test wins every claim
    seeds = list(range(n_seeds))
    untrained = {a.label: f"untrained {a.readout}" for a in table.arms}
    rows = {}
    for arm in table.arms:
        lose = arm.label != best
        rows[arm.label] = {"knn20_shift": 0.66 - 0.06 * lose + rng.uniform(-0.01, 0.01, n_seeds),
                           "knn20": 0.97 - 0.03 * lose + rng.uniform(-0.005, 0.005, n_seeds)}
    for label, shift in _UNTRAINED.items():
        rows[label] = {"knn20_shift": shift + rng.uniform(-0.01, 0.01, n_seeds),
                       "knn20": np.full(n_seeds, 0.93)}
    rows[SE.RAW] = {"knn20_shift": np.full(n_seeds, RAW_SHIFT),
                    "knn20": np.full(n_seeds, RAW_CLEAN)}
    data = {}
    for m in _METRICS:
        data[m] = np.stack([rows[r].get(m, np.full(n_seeds, np.nan)) for r in rows])
    first = list(rows).index(best)
    data["linear"] = np.stack([0.96 - 0.05 * (i != first) + rng.uniform(-0.005, 0.005, n_seeds)
                               for i in range(len(rows))])
    data["linear_converged"] = np.ones((len(rows), n_seeds))
    for m, hi in (("erank_fraction", 0.4), ("mean_cosine", 0.7), ("separation", 0.9),
                  ("correlation", -0.3)):   # low correlation is the winner's claim
        data[m] = np.stack([abs(hi) - np.sign(hi) * 0.2 * (i != first)
                            + rng.uniform(-0.01, 0.01, n_seeds) for i in range(len(rows))])
    ds = xr.Dataset({m: (("model", "seed"), v) for m, v in data.items()},
                    coords={"model": list(rows), "seed": seeds})
    return ds, untrained


def _assess(ds, table, untrained):
    checks, findings = SE.assess(ds, table, untrained, source="s")
    return {c.quantity.split(":")[1].strip().split(" learned")[0]: c.passed for c in checks
            if " learned:" in c.quantity}, checks, findings


def test_every_arm_learned_on_a_healthy_table_and_the_primary_claim_is_decided():
    ds, untrained = _healthy(HAM)
    learned, checks, findings = _assess(ds, HAM, untrained)
    assert all(c.passed for c in checks), [c.quantity for c in checks if not c.passed]
    assert set(learned) == {a.label for a in HAM.arms}
    primary = findings[0]
    assert primary.claim == "knn20_shift: HamJEPA q > SIGReg"
    assert primary.decision == "reproduced" and primary.p == pytest.approx(1 / 32)
    assert primary.delta_min == 0.02 and "primary family" in primary.detail
    # the secondary family (4 claims, Holm) cannot be decided with 5 seeds: 4/32 > 0.05
    assert {f.decision for f in findings[1:]} == {"not enough seeds to decide"}


@pytest.mark.parametrize("table,arm,by", [
    (HAM, "SIGReg", "untrained z"), (HAM, "HamJEPA q", "untrained q"), (HAM, "SIGReg", SE.RAW),
    (HAM, "HamJEPA q", SE.RAW), (PRED, "MLP-HJEPA q, 3k steps", "untrained q"),
    (PRED, "HamJEPA q, 3k steps", SE.RAW)])
def test_an_arm_replaced_by_its_untrained_features_or_raw_pixels_is_not_informative(
        table, arm, by):
    ds, untrained = _healthy(table)
    for m in ds.data_vars:   # the arm's whole row is the reference's: it did not learn
        ds[m].loc[{"model": arm}] = ds[m].sel(model=by).values
    learned, checks, findings = _assess(ds, table, untrained)
    assert not learned[arm] and sum(not v for v in learned.values()) == 1
    for f in findings:
        if arm in (f.claim.split(": ")[1].split(" > ")):
            assert f.decision == f"not informative: {arm} did not learn", f
            assert "learning: " in f.detail
        else:
            assert not f.decision.startswith("not informative")
    # a failed arm never hides the statistical decision: it stays in the detail
    ds2, untrained2 = _healthy(HAM)
    ds2["knn20_shift"].loc[{"model": "SIGReg"}] = ds2["knn20_shift"].sel(
        model="untrained z").values
    primary = SE.assess(ds2, HAM, untrained2, source="s")[1][0]
    assert primary.decision == "not informative: SIGReg did not learn"
    assert "statistical decision: reproduced" in primary.detail


def test_hypersolid_arm_replaced_by_untrained_features_fails_its_check_and_the_claims():
    ds, untrained = _healthy(HYPER)
    ds["knn20_shift"].loc[{"model": "Hypersolid"}] = ds["knn20_shift"].sel(
        model="untrained z").values
    learned, checks, findings = _assess(ds, HYPER, untrained)
    assert learned == {"Hypersolid": False, "VICReg": True, "SIGReg": True}
    assert all(f.decision == "not informative: Hypersolid did not learn" for f in findings)
    # healthy: the paper's headline (linear, primary) is decided with 5 seeds
    ds, untrained = _healthy(HYPER)
    _, checks, findings = _assess(ds, HYPER, untrained)
    assert all(c.passed for c in checks) and findings[0].decision == "reproduced"
    assert findings[0].claim == "linear: Hypersolid > VICReg"


def test_an_unconverged_probe_fails_the_arm():
    ds, untrained = _healthy(HAM)
    ds["linear_converged"].loc[{"model": "SIGReg", "seed": 3}] = 0.0
    learned, checks, findings = _assess(ds, HAM, untrained)
    assert learned["SIGReg"]   # its gains pass; its probe fails the convergence check
    conv = [c for c in checks if "convergence criterion" in c.quantity][0]
    assert not conv.passed
    assert findings[0].decision == "not informative: SIGReg did not learn"


def test_learning_check_rows_fail_by_the_margin():
    ds, untrained = _healthy(HAM)
    # 0.01 above raw pixels on one seed: below the 0.02 margin -> fails, names the seed
    ds["knn20_shift"].loc[{"model": "SIGReg", "seed": 2}] = RAW_SHIFT + 0.01
    learned, checks, _ = _assess(ds, HAM, untrained)
    row = [c for c in checks if c.quantity.startswith("VAL_hamjepa: SIGReg learned")][0]
    assert not row.passed and row.measured == pytest.approx(0.01)
    assert "worst seed (2)" in row.quantity and "[4/5 seeds passed]" in row.quantity
    ds["knn20_shift"].loc[{"model": "SIGReg", "seed": 2}] = RAW_SHIFT + 0.021
    assert _assess(ds, HAM, untrained)[0]["SIGReg"]


def test_quick_seeds_are_not_enough_to_decide():
    ds, untrained = _healthy(HAM, n_seeds=3)
    _, checks, findings = _assess(ds, HAM, untrained)
    assert all(c.passed for c in checks)
    assert {f.decision for f in findings} == {"not enough seeds to decide"}
    assert findings[0].effect > 0.05   # the effect is there; 3 seeds cannot show it


def test_evaluation_checks_fail_without_headroom_or_with_a_changed_evaluation():
    ds, untrained = _healthy(HAM)
    ds["knn20_shift"].loc[{"model": SE.RAW}] = RAW_CLEAN - 0.1   # no headroom
    assert [c.passed for c in SE.evaluation_checks(ds, name="t")] == [True, False, True]
    ds, _ = _healthy(HAM)
    ds["knn20"].loc[{"model": SE.RAW}] = 0.95   # the evaluation path changed
    assert SE.evaluation_checks(ds, name="t")[0].passed is False


def test_families_state_the_seeds_they_need():
    from analysis.sign_flip import min_attainable_p, seeds_needed

    for table in (HAM, PRED, HYPER):
        assert len(table.families[0].claims) == 1 and table.families[0].name.endswith("primary")
        for fam in table.families:
            assert fam.seeds_needed == seeds_needed(0.05, n_claims=len(fam.claims))
        assert min_attainable_p(len(table.full_seeds), n_claims=1) < 0.05
        assert min_attainable_p(len(table.quick_seeds), n_claims=1) >= 0.05
    plan = SC.seed_plan(HAM.families, 5)
    assert "primary (1 claim): needs 5 seeds" in plan and "decidable" in plan
    assert "secondary (4 claims, Holm): needs 7 seeds" in plan
    assert "predictor secondary (2 claims, Holm): needs 6 seeds" in SC.seed_plan(PRED.families, 5)
    assert "not enough seeds to decide" in plan


def test_delta_min_is_fixed_in_the_config_with_its_reason():
    from analysis import stats

    assert not hasattr(stats, "default_delta_min")
    for table in (HAM, PRED, HYPER):
        for fam in table.families:
            for c in fam.claims:
                assert c.delta_min == SC.DELTA_MIN[c.metric][0] and len(c.reason) > 20
    # the same claim decided on a worse baseline keeps its delta_min
    ds, untrained = _healthy(HAM)
    before = SE.assess(ds, HAM, untrained, source="s")[1][0].delta_min
    ds["knn20_shift"].loc[{"model": "SIGReg"}] = ds["knn20_shift"].sel(model="SIGReg") - 0.04
    assert SE.assess(ds, HAM, untrained, source="s")[1][0].delta_min == before == 0.02
    with pytest.raises(ValueError, match="delta_min=0"):
        SC.claim("a", "b", "knn20", "p", delta_min=0)
    with pytest.raises(ValueError, match="delta_min=nan"):
        SC.claim("a", "b", "knn20", "p", delta_min=float("nan"))
    with pytest.raises(ValueError, match="no pre-registered delta_min"):
        SC.claim("a", "b", "rankme", "p")
    with pytest.raises(ValueError, match="reason"):
        SC.claim("a", "b", "rankme", "p", delta_min=0.1, reason="")


def test_findings_decide_planted_effects_and_nulls_without_arms_failing():
    seeds = list(range(6))
    noise = np.array([0.004, -0.003, 0.002, -0.001, 0.0, 0.001])
    other = np.array([-0.002, 0.003, 0.001, -0.004, 0.002, 0.0])
    ds = xr.Dataset({"knn20": (("model", "seed"), np.stack([0.85 + other, 0.80 + noise,
                                                            0.75 + noise[::-1]]))},
                    coords={"model": ["A", "B", "C"], "seed": seeds})
    fam = SC.Family("f", (SC.claim("A", "B", "knn20", "p1"), SC.claim("C", "B", "knn20", "p2"),
                          SC.claim("B", "B", "knn20", "p3")), seeds_needed=6)
    from analysis.evidence import learning_check

    ok = {m: learning_check([1.0] * 6, 0.0, 0.0, margin=0.02, arm=m) for m in "ABC"}
    found = SC.decide_families(ds, (fam,), checks=ok, source="s", diagnostics={
        "knn20: A > B": "cos 0.5"})
    assert [f.decision for f in found] == ["reproduced", "opposite", "equivalent"]
    assert found[0].paper == "p1" and found[0].diagnostics == "cos 0.5"
    assert found[0].effect == pytest.approx(0.0495) and found[0].ci[0] < 0.0495 < found[0].ci[1]
    assert found[0].p == pytest.approx(3 / 64) and "f family (3 claims" in found[0].detail
    assert found[1].p == pytest.approx(found[0].p)   # the p of "opposite" is p_less
