"""The paired sign-flip test (analysis.sign_flip, analysis.stats.sign_flip_test) against
scipy.stats.permutation_test on discrete, tied and identical per-seed differences; the Monte
Carlo branch above 12 seeds; the smallest attainable p and the seeds a decision needs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from analysis import sign_flip as sf
from analysis import stats


def _scipy_paired(a, b, alternative, n_resamples=np.inf):
    return sps.permutation_test(
        (a, b), lambda x, y, axis: np.mean(x - y, axis=axis), permutation_type="samples",
        vectorized=True, n_resamples=n_resamples, alternative=alternative,
        random_state=np.random.default_rng(11)).pvalue


def _scipy_one_sample(d, alternative):
    return sps.permutation_test((d,), lambda x, axis: np.mean(x, axis=axis),
                                permutation_type="samples", vectorized=True,
                                n_resamples=np.inf, alternative=alternative).pvalue


# accuracies on a 360-image test set move in steps of 1/360: ties and identical differences
STEP = 1.0 / 360
BASE5 = np.array([0.81, 0.79, 0.84, 0.80, 0.83])
CASES = {
    "identical, 2 seeds": (BASE5[:2] + 6 * STEP, BASE5[:2]),
    "identical, 3 seeds": (BASE5[:3] + 6 * STEP, BASE5[:3]),
    "identical, 5 seeds": (BASE5 + 6 * STEP, BASE5),
    "identical negative": (BASE5 - 2 * STEP, BASE5),
    "all zero": (BASE5, BASE5),
    "ties and zeros": (BASE5 + STEP * np.array([3, 3, 0, -3, 1]), BASE5),
    "mixed": (BASE5 + STEP * np.array([5, -2, 7, 1, -1]), BASE5),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
def test_sign_flip_equals_scipy_permutation_test_on_tied_data(case, alternative):
    a, b = CASES[case]
    ours = stats.sign_flip_test(a, b, alternative=alternative)
    assert ours == pytest.approx(_scipy_paired(a, b, alternative), rel=1e-12)


def test_identical_differences_never_give_p_zero():
    # the exact answer: only the identity pattern reaches the observed sum
    for n in (2, 3, 5, 8):
        b = np.linspace(0.7, 0.9, n)
        assert stats.sign_flip_test(b + 6 * STEP, b) == pytest.approx(2.0**-n, rel=1e-12)
        assert stats.sign_flip_test(b + 6 * STEP, b, alternative="less") == 1.0
    assert stats.sign_flip_test(BASE5, BASE5) == 1.0  # no difference: no evidence


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_sign_flip_equals_scipy_on_integer_counts(data):
    # correct-answer counts: exact in float64, so ties are exact for both implementations
    n = data.draw(st.integers(2, 9))
    a = np.array(data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), float)
    b = np.array(data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), float)
    alt = data.draw(st.sampled_from(["greater", "less", "two-sided"]))
    assert stats.sign_flip_test(a, b, alternative=alt) == pytest.approx(
        _scipy_paired(a, b, alt), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=2, max_size=10))
def test_sign_flip_p_is_a_multiple_of_two_to_minus_n_and_swaps(values):
    d = np.array(values, float) * STEP
    n = d.size
    pg = sf.sign_flip_pvalue(d)
    pl = sf.sign_flip_pvalue(d, alternative="less")
    assert 2.0**-n <= pg <= 1.0 and 2.0**-n <= pl <= 1.0
    assert pg * 2**n == pytest.approx(round(pg * 2**n), abs=1e-9)
    # the null distribution is symmetric: p_greater(d) = p_less(-d), bit for bit
    assert sf.sign_flip_pvalue(-d, alternative="less") == pg
    assert pg + pl >= 1.0  # the observed pattern is counted by both


def test_one_sample_form_equals_scipy():
    d = STEP * np.array([4.0, -1.0, 2.0, 2.0, 0.0, 7.0])
    for alt in ("greater", "less", "two-sided"):
        assert sf.sign_flip_pvalue(d, alternative=alt) == pytest.approx(
            _scipy_one_sample(d, alt), rel=1e-12)


def test_monte_carlo_above_twelve_seeds_matches_the_exact_distribution():
    rng = np.random.default_rng(3)
    n = 14
    b = 0.8 + 0.02 * rng.standard_normal(n)
    a = b + 0.004 + 0.01 * rng.standard_normal(n)
    exact = _scipy_paired(a, b, "greater")  # all 2^14 patterns
    draws = 40_000
    ours = stats.sign_flip_test(a, b, n_draws=draws, seed=5)
    assert abs(ours - exact) < 4 * np.sqrt(exact * (1 - exact) / draws) + 2 / draws
    assert ours == stats.sign_flip_test(a, b, n_draws=draws, seed=5)  # seeded
    assert ours != stats.sign_flip_test(a, b, n_draws=draws, seed=6)
    # the observed pattern is counted: p > 0 even when no draw reaches it
    far = stats.sign_flip_test(b + np.linspace(1, 2, n), b, n_draws=1000)
    assert far >= 1 / 1001
    assert sf.sign_flip_method(12) == "exact sign-flip (all 4096 patterns)"
    assert sf.sign_flip_method(13, n_draws=5000, seed=2) == \
        "Monte Carlo sign-flip (5000 draws, seed 2)"


def test_sign_flip_is_valid_under_an_exchangeable_null():
    # A/A: a and b from the same distribution; P(p <= 1/32) must be 1/32 at n = 5
    rng = np.random.default_rng(0)
    hits = sum(sf.sign_flip_pvalue(rng.standard_normal(5) - rng.standard_normal(5)) <= 1 / 32
               for _ in range(3200))
    assert sps.binomtest(hits, 3200, 1 / 32).pvalue > 1e-3


def test_min_attainable_p_and_seeds_needed():
    assert [sf.min_attainable_p(n) for n in (3, 4, 5, 6)] == [0.125, 0.0625, 0.03125, 0.015625]
    assert sf.min_attainable_p(5, n_claims=3) == pytest.approx(3 / 32)
    assert sf.min_attainable_p(2, n_claims=8) == 1.0
    assert sf.min_attainable_p(20, n_draws=1000) == pytest.approx(1 / 1001)
    assert sf.min_attainable_p(13) == 2.0**-13
    # 3 seeds can never decide at alpha = 0.05; 5 can decide one claim, not two (Holm)
    assert sf.min_attainable_p(3) >= 0.05 and sf.min_attainable_p(5) < 0.05
    assert sf.min_attainable_p(5, n_claims=2) >= 0.05
    assert [sf.seeds_needed(0.05, n_claims=m) for m in (1, 2, 3, 4, 6, 7, 12, 13)] == \
        [5, 6, 6, 7, 7, 8, 8, 9]
    assert sf.seeds_needed(0.01) == 7
    # at an exact power of two the floor itself is not significant (p < alpha is strict)
    assert sf.seeds_needed(1 / 32) == 6
    for n in range(2, 12):
        for m in (1, 3, 5):
            need = sf.seeds_needed(0.05, n_claims=m)
            assert (sf.min_attainable_p(n, n_claims=m) < 0.05) == (n >= need)


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="alternative"):
        sf.sign_flip_pvalue([1.0, 2.0], alternative="bigger")
    with pytest.raises(ValueError, match="at least 2"):
        sf.sign_flip_pvalue([1.0])
    with pytest.raises(ValueError, match="NaN"):
        sf.sign_flip_pvalue([1.0, np.inf])
    with pytest.raises(ValueError, match="n_draws"):
        sf.sign_flip_pvalue(np.ones(13), n_draws=10)
    with pytest.raises(ValueError, match="seed"):
        sf.sign_flip_pvalue(np.ones(3), seed=-1)
    with pytest.raises(ValueError, match="n_seeds"):
        sf.min_attainable_p(1)
    with pytest.raises(ValueError, match="n_claims"):
        sf.min_attainable_p(5, n_claims=0)
    with pytest.raises(ValueError, match="alpha"):
        sf.seeds_needed(0.0)
    with pytest.raises(ValueError, match="n_draws"):
        sf.seeds_needed(1e-4, n_claims=10, n_draws=1000)
    with pytest.raises(ValueError, match="lengths"):
        stats.sign_flip_test(np.ones(5), np.ones(4))
