r"""The paired sign-flip (permutation) test on per-seed differences, and what it can decide.

Seed s shares the initialisation key and the augmentation stream across the two methods
(spec hamiltonian_geometry §9), so under H0 "the methods are exchangeable within a seed" each
difference d_s = a_s - b_s is as likely as -d_s.  The 2^n sign patterns e in {-1, +1}^n are
then equally likely, and T(e) = sum_s e_s d_s has the permutation null distribution; with
T0 = sum_s d_s the observed value,

    p_greater = #{e : T(e) >= T0} / 2^n,     p_less = #{e : T(e) <= T0} / 2^n,
    p_two-sided = min(1, 2 min(p_greater, p_less)).

This is exact for any n without normality, valid for discrete and tied data (accuracies in
steps of 1/n_test, a metric saturated on every seed), and never 0: the identity pattern is
always counted, so p >= 2^{-n}.  It equals
``scipy.stats.permutation_test((a, b), lambda x, y: mean(x - y), permutation_type="samples")``
(and, on one sample d, the sign-flip form of ``permutation_type="samples"``).

- n <= ``EXACT_MAX_SEEDS`` = 12: all 2^n patterns are enumerated (4096 at most): exact.
- n > 12: ``n_draws`` patterns drawn uniformly with ``numpy.random.default_rng(seed)``;
  p = (1 + #{r : T(e_r) >= T0}) / (1 + n_draws), which counts the observed pattern and so
  stays a valid p-value (Phipson & Smyth 2010; scipy's randomized p-value).
  :func:`sign_flip_method` names which one a result used.

Ties: "T(e) >= T0" is evaluated up to n eps sum_s |d_s|, a bound on the round-off of the two
sums, so patterns that tie in exact arithmetic count as ties (more extreme patterns make p
larger, never smaller).

What a number of seeds can decide: the smallest attainable one-sided p is 2^{-n} (exact) or
1/(1 + n_draws) (Monte Carlo); Holm over m claims multiplies the smallest p by m.  A decision
at level alpha needs m · p_min < alpha (:func:`min_attainable_p`, :func:`seeds_needed`):

    n seeds        3      4       5        6        7         8
    2^{-n}       0.125  0.0625  0.03125  0.0156   0.0078   0.0039

so at alpha = 0.05 one claim needs 5 seeds, 2-3 claims (Holm) need 6, 4-6 claims need 7 and
7-12 claims need 8; 3 seeds can never decide a claim.

Methodological choice of this toolkit, not of the papers: RECONSTRUCTION.
"""

from __future__ import annotations

import math

import numpy as np

from minimal_models import validation as check

__all__ = ["EXACT_MAX_SEEDS", "SIGN_FLIP_DRAWS", "SIGN_FLIP_ALTERNATIVES", "sign_flip_pvalue",
           "sign_flip_method", "min_attainable_p", "seeds_needed"]

EXACT_MAX_SEEDS = 12
SIGN_FLIP_DRAWS = 100_000
SIGN_FLIP_ALTERNATIVES = ("greater", "less", "two-sided")
_MIN_DRAWS = 1000
_BLOCK = 8192  # sign patterns per matrix product in the Monte Carlo branch


def _draws(n_draws) -> int:
    return check.integer("n_draws", n_draws, minimum=_MIN_DRAWS)


def _counts(d: np.ndarray, n_draws: int, seed: int) -> tuple[int, int, int]:
    """(#{T >= T0}, #{T <= T0}, number of patterns) over all or n_draws sign patterns."""
    n = d.size
    t0 = float(d.sum())
    tol = n * np.finfo(np.float64).eps * float(np.abs(d).sum())
    if n <= EXACT_MAX_SEEDS:
        bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
        t = (1.0 - 2.0 * bits) @ d
        return int(np.sum(t >= t0 - tol)), int(np.sum(t <= t0 + tol)), 2**n
    rng = np.random.default_rng(seed)
    ge = le = 0
    for start in range(0, n_draws, _BLOCK):
        size = min(_BLOCK, n_draws - start)
        t = (1.0 - 2.0 * rng.integers(0, 2, size=(size, n))) @ d
        ge += int(np.sum(t >= t0 - tol))
        le += int(np.sum(t <= t0 + tol))
    return ge, le, n_draws


def sign_flip_pvalue(d, *, alternative: str = "greater", n_draws: int = SIGN_FLIP_DRAWS,
                     seed: int = 0) -> float:
    r"""Sign-flip p-value of the differences ``d`` (1-D, at least 2 values) against a zero
    mean (module docstring): ``"greater"`` tests H1 mean(d) > 0, ``"less"`` H1 mean(d) < 0,
    ``"two-sided"`` min(1, 2 min(p_greater, p_less)).  Exact for d.size <= 12; otherwise
    Monte Carlo with ``n_draws`` patterns from ``default_rng(seed)``.  Never below 2^{-n}.
    """
    check.choice("alternative", alternative, SIGN_FLIP_ALTERNATIVES)
    d = check.finite_array("d", d, ndim=1)
    if d.size < 2:
        raise ValueError(f"d must hold at least 2 differences, got {d.size}")
    n_draws = _draws(n_draws)
    seed = check.integer("seed", seed, minimum=0)
    ge, le, total = _counts(d, n_draws, seed)
    extra = 0 if d.size <= EXACT_MAX_SEEDS else 1
    p_greater, p_less = (ge + extra) / (total + extra), (le + extra) / (total + extra)
    if alternative == "greater":
        return p_greater
    if alternative == "less":
        return p_less
    return min(1.0, 2.0 * min(p_greater, p_less))


def sign_flip_method(n_seeds: int, *, n_draws: int = SIGN_FLIP_DRAWS, seed: int = 0) -> str:
    """How :func:`sign_flip_pvalue` computes p for ``n_seeds`` paired seeds, for reports:
    ``"exact sign-flip (all 32 patterns)"`` or
    ``"Monte Carlo sign-flip (100000 draws, seed 0)"``."""
    n = check.integer("n_seeds", n_seeds, minimum=2)
    if n <= EXACT_MAX_SEEDS:
        return f"exact sign-flip (all {2**n} patterns)"
    return f"Monte Carlo sign-flip ({_draws(n_draws)} draws, seed {seed})"


def min_attainable_p(n_seeds: int, *, n_claims: int = 1,
                     n_draws: int = SIGN_FLIP_DRAWS) -> float:
    r"""The smallest p-value a decision on ``n_seeds`` paired seeds can see, Holm-adjusted
    over ``n_claims`` claims:

        p_min = min(1, n_claims · 2^{-n})                             (n <= 12, exact)
        p_min = min(1, n_claims · max(2^{-n}, 1/(1 + n_draws)))       (n > 12, Monte Carlo)

    Exact p reaches 2^{-n} when every difference has the same sign and none is zero; the
    Monte Carlo p then scatters around 2^{-n} and cannot go below 1/(1 + n_draws).  A claim
    can only be decided at level alpha if p_min < alpha: 3 seeds give 0.125, so never.
    """
    n = check.integer("n_seeds", n_seeds, minimum=2)
    m = check.integer("n_claims", n_claims, minimum=1)
    floor = 2.0**-n if n <= EXACT_MAX_SEEDS else max(2.0**-n, 1.0 / (1 + _draws(n_draws)))
    return min(1.0, m * floor)


def seeds_needed(alpha: float = 0.05, *, n_claims: int = 1,
                 n_draws: int = SIGN_FLIP_DRAWS) -> int:
    r"""The fewest paired seeds n with :func:`min_attainable_p` (n, n_claims) < alpha:
    5 for one claim at alpha = 0.05, 6 for 2-3 claims (Holm), 7 for 4-6, 8 for 7-12.
    Raises ValueError when no n can (n_claims / (1 + n_draws) >= alpha: raise n_draws)."""
    alpha = check.real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    m = check.integer("n_claims", n_claims, minimum=1)
    n_draws = _draws(n_draws)
    if m / (1 + n_draws) >= alpha:
        raise ValueError(f"alpha={alpha} with n_claims={m} cannot be reached with "
                         f"n_draws={n_draws} Monte Carlo draws: need n_draws >= "
                         f"{math.floor(m / alpha)}")
    n = 2
    while min_attainable_p(n, n_claims=m, n_draws=n_draws) >= alpha:
        n += 1
    return n
