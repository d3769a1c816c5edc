"""Paired-seed decisions (analysis.stats): each test against scipy.stats or a hand-computed
textbook case, hypothesis properties of Holm and of the decision rule, a planted effect in a
synthetic 5-seed table that flips the decision, and A/A nulls that must never be decided
"reproduced" or "opposite".  The sign-flip test itself: tests/test_sign_flip.py."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from analysis import stats

RNG_CASES = [0, 1, 2, 3]


def _pair(seed, n=6, shift=0.3, noise=1.0):
    rng = np.random.default_rng(seed)
    b = rng.standard_normal(n)
    return b + shift + noise * rng.standard_normal(n), b


# --- paired t-test ---------------------------------------------------------------------

@pytest.mark.parametrize("seed", RNG_CASES)
@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
def test_paired_test_equals_scipy_ttest_rel(seed, alternative):
    a, b = _pair(seed)
    t, p = stats.paired_test(a, b, alternative=alternative)
    ref = sps.ttest_rel(a, b, alternative=alternative)
    np.testing.assert_allclose(t, ref.statistic, rtol=1e-12)
    np.testing.assert_allclose(p, ref.pvalue, rtol=1e-10)


def test_paired_test_is_paired_not_two_sample():
    # big seed-to-seed spread, small consistent gain: only the paired test sees it
    b = np.array([0.5, 0.9, 0.6, 0.8, 0.7])
    a = b + np.array([0.02, 0.021, 0.019, 0.02, 0.022])
    assert stats.paired_test(a, b)[1] < 1e-5
    assert sps.ttest_ind(a, b, alternative="greater").pvalue > 0.3


def test_paired_test_zero_variance_is_the_limit_of_vanishing_noise():
    b = np.array([0.1, 0.5, 0.3, 0.9])
    assert stats.paired_test(b + 0.01, b) == (np.inf, 0.0)
    assert stats.paired_test(b + 0.01, b, alternative="less") == (np.inf, 1.0)
    assert stats.paired_test(b + 0.01, b, alternative="two-sided") == (np.inf, 0.0)
    assert stats.paired_test(b - 0.01, b) == (-np.inf, 1.0)
    assert stats.paired_test(b - 0.01, b, alternative="less") == (-np.inf, 0.0)
    for alt in stats.ALTERNATIVES:
        assert stats.paired_test(b, b, alternative=alt) == (0.0, 1.0)
    # the limit: a tiny amount of noise on a positive difference gives p -> 0
    eps = 1e-9 * np.array([1, -1, 2, -2])
    assert stats.paired_test(b + 0.01 + eps, b)[1] < 1e-12


# --- Holm ------------------------------------------------------------------------------

def test_holm_textbook_example():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max -> 0.06
    adj = stats.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adj, [0.03, 0.06, 0.06, 0.02], rtol=1e-14)


def test_holm_clips_at_one_and_single_value_is_unchanged():
    np.testing.assert_allclose(stats.holm([0.4, 0.6, 0.5]), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(stats.holm([0.2]), [0.2])


def test_holm_is_at_least_as_strict_as_bh():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205])
    assert np.all(stats.holm(p) >= sps.false_discovery_control(p) - 1e-15)


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20))
def test_holm_properties(p):
    p = np.asarray(p)
    adj = stats.holm(p)
    order = np.argsort(p, kind="stable")
    assert adj.shape == p.shape
    assert np.all(adj >= p) and np.all(adj <= 1.0)
    assert np.all(np.diff(adj[order]) >= 0)
    # Bonferroni is an upper bound; the smallest p gets exactly the Bonferroni factor
    assert np.all(adj <= np.minimum(p.size * p, 1.0) + 1e-15)
    assert adj[order[0]] == pytest.approx(min(1.0, p.size * p[order[0]]))


# --- TOST ------------------------------------------------------------------------------

def _one_sample_sign_flip(d, alternative):
    return sps.permutation_test((d,), lambda x, axis: np.mean(x, axis=axis),
                                permutation_type="samples", vectorized=True,
                                n_resamples=np.inf, alternative=alternative).pvalue


@pytest.mark.parametrize("seed", RNG_CASES)
@pytest.mark.parametrize("delta", [0.2, 0.5, 1.5])
def test_tost_is_the_larger_of_two_one_sample_tests(seed, delta):
    a, b = _pair(seed, n=8, shift=0.1, noise=0.5)
    d = a - b
    lo = _one_sample_sign_flip(d + delta, "greater")
    hi = _one_sample_sign_flip(d - delta, "less")
    np.testing.assert_allclose(stats.tost(a, b, delta=delta), max(lo, hi), rtol=1e-10)


def test_tost_zero_variance():
    # identical differences: each one-sided test reaches at most 2^-n (= 1/8), never 0
    b = np.array([0.2, 0.4, 0.6])
    assert stats.tost(b + 0.01, b, delta=0.02) == 0.125
    assert stats.tost(b - 0.03, b, delta=0.02) == 1.0
    assert stats.tost(b, b, delta=0.02) == 0.125


def test_tost_is_at_least_one_half_when_the_effect_reaches_delta():
    a, b = _pair(2, n=8, shift=0.6, noise=0.1)
    assert np.mean(a - b) >= 0.5
    assert stats.tost(a, b, delta=0.5) >= 0.5 and stats.tost(b, a, delta=0.5) >= 0.5


# --- bootstrap -------------------------------------------------------------------------

def _exact_bootstrap_means(d):
    # every one of the n^n resamples, equally likely
    n = d.size
    idx = np.stack(np.meshgrid(*[np.arange(n)] * n, indexing="ij"), -1).reshape(-1, n)
    return d[idx].mean(axis=1)


def test_percentile_bootstrap_converges_to_the_exact_bootstrap_distribution():
    a = np.array([0.91, 0.88, 0.95, 0.90, 0.93])
    b = np.array([0.89, 0.87, 0.90, 0.91, 0.90])
    lo, hi = stats.bootstrap_ci(a, b, n_resamples=200_000, seed=3)
    exact = _exact_bootstrap_means(a - b)
    # the exact distribution has atoms: its CDF must jump across the level at each end
    for end, level in ((lo, 0.025), (hi, 0.975)):
        assert np.mean(exact < end) <= level + 0.004 and np.mean(exact <= end) >= level - 0.004


def test_bootstrap_matches_scipy_bootstrap():
    rng = np.random.default_rng(7)
    b = rng.standard_normal(30)
    a = b + 0.3 + 0.5 * rng.standard_exponential(30)
    for method, ref_method in (("percentile", "percentile"), ("bca", "BCa")):
        ours = stats.bootstrap_ci(a, b, n_resamples=40_000, seed=1, method=method)
        ref = sps.bootstrap((a - b,), np.mean, n_resamples=40_000, method=ref_method,
                            random_state=np.random.default_rng(2)).confidence_interval
        np.testing.assert_allclose(ours, (ref.low, ref.high), atol=0.01)
    # BCa corrects for the skew of the exponential noise: it moves both ends to the right
    pct = stats.bootstrap_ci(a, b, n_resamples=40_000, seed=1)
    bca = stats.bootstrap_ci(a, b, n_resamples=40_000, seed=1, method="bca")
    assert bca[0] > pct[0] and bca[1] > pct[1]


def test_bootstrap_is_seeded_and_degenerate_case_is_a_point():
    a, b = _pair(0)
    assert stats.bootstrap_ci(a, b, seed=4) == stats.bootstrap_ci(a, b, seed=4)
    assert stats.bootstrap_ci(a, b, seed=4) != stats.bootstrap_ci(a, b, seed=5)
    base = np.array([0.1, 0.2, 0.3])
    assert stats.bootstrap_ci(base + 0.05, base) == pytest.approx((0.05, 0.05))


# --- decisions ---------------------------------------------------------------------------

def _table(effect, noise, n=5, seed=0):
    """A synthetic paired-seed table: per-seed baseline accuracies with a large seed spread
    (which pairing removes), the method = baseline + effect + noise, the noise exactly
    standardised so the t statistic is effect / (noise / sqrt(n))."""
    rng = np.random.default_rng(seed)
    base = 0.80 + 0.03 * rng.standard_normal(n)
    z = rng.standard_normal(n)
    z = (z - z.mean()) / z.std(ddof=1)
    return base + effect + noise * z, base


def test_planted_effect_flips_the_decision():
    delta = 0.015  # fixed before the run: 1.5 accuracy points
    assert stats.decide(*_table(0.05, 0.01), delta_min=delta) == "reproduced"
    assert stats.decide(*_table(-0.05, 0.01), delta_min=delta) == "opposite"
    assert stats.decide(*_table(0.0, 0.002), delta_min=delta) == "equivalent"
    assert stats.decide(*_table(0.0, 0.05), delta_min=delta) == "unresolved"
    # significant but below delta_min: not a reproduction, and within the margin
    assert stats.decide(*_table(0.005, 0.001), delta_min=delta) == "equivalent"
    # large but noisy: not significant and not equivalent
    assert stats.decide(*_table(0.05, 0.2), delta_min=delta) == "unresolved"


def test_decisions_follow_the_planted_effect_monotonically():
    rank = {"opposite": 0, "equivalent": 1, "unresolved": 1, "reproduced": 2}
    seen = [stats.decide(*_table(e, 0.01), delta_min=0.015)
            for e in np.linspace(-0.06, 0.06, 25)]
    assert [rank[s] for s in seen] == sorted(rank[s] for s in seen)
    assert seen[0] == "opposite" and seen[-1] == "reproduced" and "equivalent" in seen


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), effect=st.floats(0.05, 0.3),
       noise=st.floats(1e-3, 1e-2))
def test_swapping_a_and_b_turns_reproduced_into_opposite(seed, effect, noise):
    a, b = _table(effect, noise, seed=seed)
    assert stats.decide(a, b, delta_min=0.015) == "reproduced"
    assert stats.decide(b, a, delta_min=0.015) == "opposite"


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 8), shift=st.floats(-1, 1),
       noise=st.floats(0.01, 1.0), delta=st.floats(0.01, 1.0))
def test_decision_is_one_of_five_and_swap_is_consistent(seed, n, shift, noise, delta):
    a, b = _pair(seed, n=n, shift=shift, noise=noise)
    fwd, back = stats.decide(a, b, delta_min=delta), stats.decide(b, a, delta_min=delta)
    assert fwd in stats.DECISIONS and back in stats.DECISIONS
    # the sign-flip null is symmetric and both directions need |effect| >= delta_min, so
    # swapping a and b mirrors the decision exactly
    mirror = {"reproduced": "opposite", "opposite": "reproduced"}
    assert back == mirror.get(fwd, fwd)
    assert (fwd == stats.NOT_ENOUGH_SEEDS) == (n < 5)


def test_zero_variance_decisions():
    # identical per-seed differences are decided by the exact test (p = 1/32), never p = 0
    b = np.array([0.7, 0.8, 0.75, 0.72, 0.78])
    assert stats.decide(b + 0.02, b, delta_min=0.015) == "reproduced"
    assert stats.decide(b - 0.02, b, delta_min=0.015) == "opposite"
    # a significant but negligible loss is not "opposite": it lies within the margin
    assert stats.decide(b - 0.001, b, delta_min=0.015) == "equivalent"
    assert stats.decide(b + 0.01, b, delta_min=0.015) == "equivalent"
    assert stats.decide(b, b, delta_min=0.015) == "equivalent"
    # three seeds: p >= 1/8 whatever the data, so nothing can be decided
    b3 = b[:3]
    for a3 in (b3 + 0.02, b3 - 0.02, b3 + 6 / 360, b3):
        assert stats.decide(a3, b3, delta_min=0.015) == stats.NOT_ENOUGH_SEEDS


def test_identical_gain_on_three_seeds_is_not_a_reproduction():
    # accuracies in steps of 1/360: the same +6/360 on every seed used to give p = 0
    b = np.array([300, 310, 305]) / 360
    rec = stats.claim_record(b + 6 / 360, b, delta_min=0.01)
    assert rec["p"] == 0.125 and rec["p_floor"] == 0.125
    assert rec["decision"] == stats.NOT_ENOUGH_SEEDS
    assert stats.decide(b[:2] + 6 / 360, b[:2], delta_min=0.01) == stats.NOT_ENOUGH_SEEDS


def _aa_decisions(n_nulls=400, n=5, sd=0.01, delta_min=0.05):
    rng = np.random.default_rng(2024)
    out = []
    for _ in range(n_nulls):
        a = 0.8 + sd * rng.standard_normal(n)
        b = 0.8 + sd * rng.standard_normal(n)
        out.append(stats.decide(a, b, delta_min=delta_min))
    return out


def test_aa_nulls_are_never_reproduced_or_opposite():
    # the same method under two seed sets: a significant -0.009 (sd 0.01, 5 seeds) must not
    # be "opposite" when the pre-registered effect is 0.05
    seen = _aa_decisions()
    assert seen.count("reproduced") == 0 and seen.count("opposite") == 0
    assert seen.count("equivalent") > 350


def test_planted_effect_is_detected_and_its_mirror_is_opposite():
    rng = np.random.default_rng(5)
    for _ in range(50):
        b = 0.8 + 0.01 * rng.standard_normal(5)
        a = b + 0.08 + 0.005 * rng.standard_normal(5)  # every seed gains >= delta_min
        assert stats.decide(a, b, delta_min=0.05) == "reproduced"
        assert stats.decide(b, a, delta_min=0.05) == "opposite"


def test_claim_records_apply_holm_over_the_claims():
    # 7 seeds: Holm over 3 claims can reach 3/128 < 0.05 (5 seeds could not: 3/32)
    strong = _table(0.05, 0.01, n=7, seed=1)  # every seed gains: p = 1/128
    weak = _table(0.02, 0.02, n=7, seed=1)  # 4 of 128 patterns reach it: p = 1/32
    alone = stats.claim_record(*weak, delta_min=0.015, name="weak", paper=0.05)
    assert alone["decision"] == "reproduced" and alone["paper"] == 0.05
    assert alone["p"] == pytest.approx(1 / 32) == stats.sign_flip_test(*weak)
    assert alone["test"] == "exact sign-flip (all 128 patterns)"
    # the t-test is reported beside the decision
    assert alone["p_t"] == pytest.approx(sps.ttest_rel(*weak, alternative="greater").pvalue)
    assert alone["t"] == pytest.approx(sps.ttest_rel(*weak).statistic)
    assert alone["ci_low"] < alone["effect"] < alone["ci_high"]
    assert alone["effect"] == pytest.approx(0.02) and alone["n"] == 7
    null = _table(0.0, 0.05, n=7, seed=3)
    claims = {"strong": (*strong, 0.015), "weak": (*weak, 0.015), "null": (*null, 0.015)}
    rows = stats.decide_claims(claims)
    assert [r["name"] for r in rows] == ["strong", "weak", "null"]
    assert [r["decision"] for r in rows] == ["reproduced", "unresolved", "unresolved"]
    # Holm: the smallest p x 3, the middle one x 2 (the weak claim is no longer significant)
    assert rows[0]["p"] == pytest.approx(3 * rows[0]["p_raw"]) == pytest.approx(3 / 128)
    assert rows[1]["p"] == pytest.approx(2 * rows[1]["p_raw"])
    assert rows[1]["p"] > 0.05 > rows[1]["p_raw"]
    assert all(r["p_floor"] == pytest.approx(3 / 128) for r in rows)
    # the same three claims on 5 seeds: no outcome could survive Holm, and the record says so
    five = {k: (a[:5], b[:5], dm) for k, (a, b, dm) in claims.items()}
    assert {r["decision"] for r in stats.decide_claims(five)} == {stats.NOT_ENOUGH_SEEDS}


def test_format_claim_prints_decision_effect_ci_and_paper():
    a, b = _table(0.05, 0.01, seed=1)
    rec = stats.claim_record(a, b, delta_min=0.015, name="knn20_shifted", paper="+5.0")
    line = stats.format_claim(rec)
    assert line.startswith("knn20_shifted: reproduced  effect +5.00 pt [")
    assert f"{100 * rec['ci_low']:+.2f}" in line and "5/5 seeds" in line
    assert line.endswith("(paper +5.0)")
    with pytest.raises(ValueError, match="record"):
        stats.format_claim({"name": "x"})


def test_bad_input_names_the_parameter():
    a, b = np.ones(5), np.zeros(5)
    with pytest.raises(ValueError, match="lengths"):
        stats.paired_test(a, b[:4])
    with pytest.raises(ValueError, match="at least 2"):
        stats.paired_test([1.0], [0.0])
    with pytest.raises(ValueError, match="NaN"):
        stats.decide([1.0, np.nan], [0.0, 0.0], delta_min=0.1)
    with pytest.raises(ValueError, match="delta"):
        stats.tost(a, b, delta=0.0)
    with pytest.raises(ValueError, match="delta_min"):
        stats.decide(a, b, delta_min=-0.1)
    with pytest.raises(ValueError, match="alpha"):
        stats.decide(a, b, delta_min=0.1, alpha=1.0)
    with pytest.raises(ValueError, match="alternative"):
        stats.paired_test(a, b, alternative="bigger")
    with pytest.raises(ValueError, match="pvalues"):
        stats.holm([0.1, 1.2])
    with pytest.raises(ValueError, match="method"):
        stats.bootstrap_ci(a, b, method="basic")
    # delta_min is a number fixed before the run: nothing infinite, NaN or non-numeric
    for bad in (np.inf, np.nan, 0.0, None, "0.02"):
        with pytest.raises(ValueError, match="delta_min"):
            stats.decide(a, b, delta_min=bad)
        with pytest.raises(ValueError, match="delta_min"):
            stats.decide_claims({"c": (a, b, bad)})
    with pytest.raises(ValueError, match="n_draws"):
        stats.decide(np.ones(13), np.zeros(13), delta_min=0.1, n_draws=5)
    with pytest.raises(ValueError, match="claims"):
        stats.decide_claims({})
