"""Learning checks (analysis.evidence) on synthetic per-seed scores: an arm passes only when it
beats its untrained encoder and raw pixels on the headroom set by the margin on every seed;
replacing an arm by its untrained features, by raw pixels, or training it with lr 0 turns a
claim's decision into "not informative"."""

import numpy as np
import pytest

from analysis import evidence as ev
from analysis import stats

SEEDS = [0, 1, 2, 3, 4, 5, 6]
RAW = 0.49  # raw pixels on the shifted test set (one number: no seed dependence)
UNTRAINED = {"HamJEPA q": np.array([0.41, 0.42, 0.40, 0.43, 0.41, 0.42, 0.40]),
             "SIGReg": np.array([0.41, 0.42, 0.40, 0.43, 0.41, 0.42, 0.40])}
TRAINED = {"HamJEPA q": np.array([0.80, 0.82, 0.79, 0.81, 0.83, 0.80, 0.82]),
           "SIGReg": np.array([0.74, 0.75, 0.73, 0.76, 0.74, 0.75, 0.73])}
MARGIN = 0.02  # two kNN points, stated with the config
CLAIM = "knn20_shift: HamJEPA q > SIGReg"
ARMS = {CLAIM: ("HamJEPA q", "SIGReg")}


def _checks(trained):
    return {arm: ev.learning_check(trained[arm], UNTRAINED[arm], RAW, margin=MARGIN, arm=arm,
                                   seeds=SEEDS) for arm in trained}


def _decided(trained):
    rows = stats.decide_claims({CLAIM: (trained["HamJEPA q"], trained["SIGReg"], 0.02)})
    return ev.gate_claims(rows, ARMS, _checks(trained))[0]


def test_arms_that_learned_keep_the_statistical_decision():
    checks = _checks(TRAINED)
    assert all(c.ok for c in checks.values())
    assert checks["SIGReg"].summary == "SIGReg learned on 7/7 seeds"
    rec = _decided(TRAINED)
    assert rec["decision"] == rec["statistical_decision"] == "reproduced"
    assert "HamJEPA q learned on 7/7 seeds" in rec["learning"]


@pytest.mark.parametrize("substitute", ["untrained features", "raw pixels", "lr 0"])
@pytest.mark.parametrize("arm", ["HamJEPA q", "SIGReg"])
def test_substituted_arm_makes_the_claim_not_informative(substitute, arm):
    fake = dict(TRAINED)
    # lr 0 leaves the encoder at its initialisation: the same scores as untrained features
    fake[arm] = (np.full(len(SEEDS), RAW) if substitute == "raw pixels"
                 else UNTRAINED[arm].copy())
    check = _checks(fake)[arm]
    assert not check.ok and not any(check.passed)
    rec = _decided(fake)
    assert rec["decision"] == f"not informative: {arm} did not learn"
    assert rec["statistical_decision"] in stats.DECISIONS
    assert f"{arm} did not learn (0/7 seeds passed): seed 0:" in rec["learning"]


def test_one_failing_seed_fails_the_arm_and_names_the_reference():
    trained = TRAINED["SIGReg"].copy()
    trained[3] = RAW + 0.01  # beats its untrained encoder, not raw pixels by the margin
    check = ev.learning_check(trained, UNTRAINED["SIGReg"], RAW, margin=MARGIN, arm="SIGReg",
                              seeds=SEEDS)
    assert check.passed == (True, True, True, False, True, True, True)
    assert check.reasons[3] == "seed 3: 0.5 does not beat raw pixels (0.49) by 0.02"
    assert check.reasons[0] == "" and not check.ok
    assert ev.gate_decision("reproduced", [check]) == "not informative: SIGReg did not learn"


def test_below_its_untrained_encoder_fails_even_above_raw_pixels():
    # the shipped failure mode: training made the baseline worse than its initialisation
    untrained = np.full(7, 0.415)
    check = ev.learning_check(np.full(7, 0.306) + 0.3, untrained + 0.3, RAW, margin=MARGIN,
                              arm="SIGReg")
    assert not check.ok and "its untrained encoder (0.715)" in check.reasons[0]


def test_unconverged_probe_fails_the_seed():
    conv = np.array([True, True, False, True, True, True, True])
    check = ev.learning_check(TRAINED["SIGReg"], UNTRAINED["SIGReg"], RAW, margin=MARGIN,
                              arm="SIGReg", converged=conv)
    assert check.passed[2] is False and "its probe did not converge" in check.reasons[2]
    assert sum(check.passed) == 6


def test_both_failing_arms_are_named():
    fake = {arm: UNTRAINED[arm].copy() for arm in TRAINED}
    rec = _decided(fake)
    assert rec["decision"] == "not informative: HamJEPA q, SIGReg did not learn"


def test_every_arm_of_a_claim_needs_a_check():
    rows = stats.decide_claims({CLAIM: (TRAINED["HamJEPA q"], TRAINED["SIGReg"], 0.02)})
    only_one = {"HamJEPA q": _checks(TRAINED)["HamJEPA q"]}
    with pytest.raises(ValueError, match="SIGReg"):
        ev.gate_claims(rows, ARMS, only_one)
    with pytest.raises(ValueError, match="arms lacks the claim"):
        ev.gate_claims(rows, {}, _checks(TRAINED))
    with pytest.raises(ValueError, match="checks"):
        ev.gate_decision("reproduced", [])


def test_bad_input_names_the_parameter():
    t, u = TRAINED["SIGReg"], UNTRAINED["SIGReg"]
    for bad in (0.0, -0.01, np.inf, np.nan):
        with pytest.raises(ValueError, match="margin"):
            ev.learning_check(t, u, RAW, margin=bad, arm="SIGReg")
    with pytest.raises(ValueError, match="untrained"):
        ev.learning_check(t, u[:3], RAW, margin=MARGIN, arm="SIGReg")
    with pytest.raises(ValueError, match="raw"):
        ev.learning_check(t, u, [RAW, RAW], margin=MARGIN, arm="SIGReg")
    with pytest.raises(ValueError, match="trained"):
        ev.learning_check([0.5, np.nan], u[:2], RAW, margin=MARGIN, arm="SIGReg")
    with pytest.raises(ValueError, match="converged"):
        ev.learning_check(t, u, RAW, margin=MARGIN, arm="SIGReg", converged=[1] * 7)
    with pytest.raises(ValueError, match="seeds"):
        ev.learning_check(t, u, RAW, margin=MARGIN, arm="SIGReg", seeds=[0, 1])
    with pytest.raises(ValueError, match="arm"):
        ev.learning_check(t, u, RAW, margin=MARGIN, arm="")
