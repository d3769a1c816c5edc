r"""Decisions on paired-seed comparisons: the exact sign-flip test, TOST, Holm correction,
bootstrap confidence interval, the paired t-test as a reported number, and one decision per
claim.

A *claim* compares a method ``a`` with a baseline ``b`` on the same seeds (seed s shares the
initialisation key and the augmentation stream across methods, spec hamiltonian_geometry
§9), so the unit of evidence is the per-seed difference

    d_s = a_s - b_s,   s = 1..n,   dbar = mean(d).

Every claim carries a minimal effect delta_min fixed before the run (a finite positive number
written in the figure's config with its reason, never computed from the measured values) and
gets exactly one of five decisions (:func:`decide`):

- ``"reproduced"``: a > b significantly **and** dbar >= delta_min;
- ``"opposite"``: a < b significantly **and** dbar <= -delta_min (the same effect size: a
  significant but negligible difference refutes nothing);
- ``"equivalent"``: |mean difference| < delta_min shown by TOST at +-delta_min;
- ``"unresolved"``: none of these (too much seed noise to say);
- ``"not enough seeds to decide"``: no outcome of n seeds could reach alpha
  (:func:`analysis.sign_flip.min_attainable_p` >= alpha), e.g. 3 seeds, or 5 seeds under Holm
  over 2 or more claims.

"Not reproduced" is a result, not a failure.  Significance comes from the exact paired
sign-flip test (:mod:`analysis.sign_flip`): valid for discrete, tied and identical per-seed
differences, and never p = 0 (p >= 2^{-n}); TOST is two one-sided sign-flip tests.  Several
claims of one experiment are decided together by :func:`decide_claims`, which applies the
Holm step-down correction (:func:`holm`) to each family of p-values over the claims.  The
paired t-test (:func:`paired_test`) and the bootstrap interval (:func:`bootstrap_ci`) are
reported beside the decision and never enter it.

Methodological choices of this toolkit, not of the papers: RECONSTRUCTION.
"""

from __future__ import annotations

import math

import numpy as np

from minimal_models import validation as check

from .sign_flip import (SIGN_FLIP_ALTERNATIVES, SIGN_FLIP_DRAWS, min_attainable_p,
                        sign_flip_method, sign_flip_pvalue)

__all__ = [
    "ALTERNATIVES",
    "DECISIONS",
    "NOT_ENOUGH_SEEDS",
    "paired_test",
    "sign_flip_test",
    "holm",
    "tost",
    "bootstrap_ci",
    "decide",
    "claim_record",
    "decide_claims",
    "format_claim",
]

ALTERNATIVES = SIGN_FLIP_ALTERNATIVES  # the t-test takes the same alternatives
NOT_ENOUGH_SEEDS = "not enough seeds to decide"
DECISIONS = ("reproduced", "opposite", "equivalent", "unresolved", NOT_ENOUGH_SEEDS)
BOOTSTRAP_METHODS = ("percentile", "bca")
_ROUNDOFF = 16 * np.finfo(np.float64).eps


def _alpha(alpha) -> float:
    return check.real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)


def _differences(a, b) -> np.ndarray:
    """d = a - b with validation; also returns the round-off scale of the inputs."""
    a = check.finite_array("a", a, ndim=1)
    b = check.finite_array("b", b, ndim=1)
    if a.shape != b.shape:
        raise ValueError(f"a and b must be paired (equal lengths), got lengths {a.size} and "
                         f"{b.size}")
    if a.size < 2:
        raise ValueError(f"a and b must hold at least 2 pairs, got {a.size}")
    return a - b, max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), 1e-300)


def _moments(a, b):
    """(dbar, se, df, degenerate, zero_mean) of the paired differences."""
    d, scale = _differences(a, b)
    n = d.size
    dbar = float(d.mean())
    sd = float(d.std(ddof=1))
    tiny = _ROUNDOFF * scale
    # round-off of a - b cannot be resolved below ~eps * scale: treat as zero variance
    degenerate = sd <= tiny
    return dbar, sd / math.sqrt(n), n - 1, degenerate, abs(dbar) <= tiny


def paired_test(a, b, *, alternative: str = "greater") -> tuple[float, float]:
    r"""Paired t-test on per-seed values: returns (t, p).  Reported beside a decision, never
    used to make one (the sign-flip test does, :func:`sign_flip_test`).

        t = dbar / se,   se = sd(d, ddof=1)/sqrt(n),   d = a - b,   df = n - 1,

    p = P(T_{n-1} >= t) for ``alternative="greater"`` (H1: mean(a - b) > 0),
    P(T_{n-1} <= t) for ``"less"``, 2 P(T_{n-1} >= |t|) for ``"two-sided"``; equal to
    ``scipy.stats.ttest_rel(a, b, alternative=...)`` whenever the differences vary.  Zero
    variance (all d_s equal up to 16 eps max(|a|, |b|)) is the limit sd -> 0: t = +-inf with
    p in {0, 1} for a non-zero mean, t = 0 and p = 1 for a zero mean.  That limit is why the
    t-test cannot decide on tied, discrete data: identical differences on 2 seeds give p = 0.
    """
    from scipy.special import stdtr  # the Student-t CDF; imported here to keep the import light

    check.choice("alternative", alternative, ALTERNATIVES)
    dbar, se, df, degenerate, zero_mean = _moments(a, b)
    if degenerate:
        if zero_mean:
            return 0.0, 1.0
        t = math.copysign(math.inf, dbar)
        p_greater = 0.0 if dbar > 0 else 1.0
        p = {"greater": p_greater, "less": 1.0 - p_greater, "two-sided": 0.0}[alternative]
        return t, p
    t = dbar / se
    if alternative == "greater":
        p = stdtr(df, -t)
    elif alternative == "less":
        p = stdtr(df, t)
    else:
        p = 2.0 * stdtr(df, -abs(t))
    return float(t), float(min(p, 1.0))


def sign_flip_test(a, b, *, alternative: str = "greater", n_draws: int = SIGN_FLIP_DRAWS,
                   seed: int = 0) -> float:
    r"""Paired sign-flip test of d = a - b (:func:`analysis.sign_flip.sign_flip_pvalue`):
    the p-value of ``alternative`` ("greater": H1 mean(a - b) > 0), exact over all 2^n
    sign patterns for n <= 12 paired seeds, Monte Carlo with ``n_draws`` patterns from
    ``default_rng(seed)`` above.  Equals ``scipy.stats.permutation_test((a, b),
    lambda x, y: mean(x - y), permutation_type="samples")``; never below 2^{-n}, also when
    every difference is identical.
    """
    check.choice("alternative", alternative, ALTERNATIVES)
    d, _ = _differences(a, b)
    return sign_flip_pvalue(d, alternative=alternative, n_draws=n_draws, seed=seed)


def holm(pvalues) -> np.ndarray:
    r"""Holm-Bonferroni step-down adjusted p-values, in the input order.

    With the m p-values sorted ascending, p_(1) <= ... <= p_(m),

        p~_(i) = min(1, max_{j <= i} (m - j + 1) p_(j)),

    so the adjusted values are monotone in the sorted order, >= the raw ones and <= 1;
    rejecting every claim with p~ < alpha controls the family-wise error rate at alpha
    (Holm 1979).  Ties keep their input order (stable sort); the result does not depend on it.
    """
    p = check.finite_array("pvalues", pvalues, ndim=1)
    if p.size == 0:
        raise ValueError("pvalues must hold at least one p-value, got none")
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError(f"pvalues must lie in [0, 1], got range [{p.min()}, {p.max()}]")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = (m - np.arange(m)) * p[order]
    adjusted_sorted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    out = np.empty(m)
    out[order] = adjusted_sorted
    return out


def _tost(d, delta, n_draws, seed) -> float:
    p_lo = sign_flip_pvalue(d + delta, alternative="greater", n_draws=n_draws, seed=seed)
    p_hi = sign_flip_pvalue(d - delta, alternative="less", n_draws=n_draws, seed=seed)
    return max(p_lo, p_hi)


def tost(a, b, *, delta: float, n_draws: int = SIGN_FLIP_DRAWS, seed: int = 0) -> float:
    r"""Paired two one-sided tests (TOST) for equivalence within +-delta: returns p.

    H0: |mean(a - b)| >= delta against H1: -delta < mean(a - b) < delta (Schuirmann 1987),
    each one-sided test a sign-flip test of the shifted differences:

        p = max( p_greater(d + delta), p_less(d - delta) )

    (:func:`analysis.sign_flip.sign_flip_pvalue`; exact for n <= 12 when the differences are
    symmetric about the boundary value under H0).  Equivalence is shown when p < alpha.
    p >= 2^{-n} always, and p >= 1/2 whenever |dbar| >= delta, so "equivalent" can never
    coincide with an effect of at least delta.
    """
    delta = check.positive("delta", delta)
    d, _ = _differences(a, b)
    return _tost(d, delta, n_draws, seed)


def bootstrap_ci(a, b, *, confidence: float = 0.95, n_resamples: int = 10_000, seed: int = 0,
                 method: str = "percentile") -> tuple[float, float]:
    r"""Bootstrap confidence interval of the mean paired difference mean(a - b).

    Resamples the n pairs with replacement (pairs stay together: ``rng = default_rng(seed)``,
    indices ``rng.integers(n, size=(n_resamples, n))``) and takes the means dbar*_r.

    - ``"percentile"`` (default): the (1 - c)/2 and (1 + c)/2 quantiles of dbar*
      (``numpy.quantile``, linear interpolation), c = ``confidence``.
    - ``"bca"``: bias-corrected and accelerated (Efron 1987): quantile levels
      Phi(z0 + (z0 + z)/(1 - acc (z0 + z))) for z = Phi^{-1}((1 -+ c)/2), with
      z0 = Phi^{-1}(#{dbar*_r < dbar}/R) and the jackknife acceleration
      acc = sum (m - m_(i))^3 / (6 [sum (m - m_(i))^2]^{3/2}), m_(i) the leave-one-out means.

    With 5 seeds a bootstrap interval is crude (it undercovers); it is reported beside the
    decision and never enters it.  Zero variance gives the point interval (dbar, dbar).
    """
    from scipy.special import ndtr, ndtri  # the normal CDF and its inverse

    c = check.real("confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True)
    R = check.integer("n_resamples", n_resamples, minimum=100)
    seed = check.integer("seed", seed, minimum=0)
    check.choice("method", method, BOOTSTRAP_METHODS)
    d, _ = _differences(a, b)
    _, _, _, degenerate, _ = _moments(a, b)
    dbar = float(d.mean())
    if degenerate:
        return dbar, dbar
    n = d.size
    rng = np.random.default_rng(seed)
    means = d[rng.integers(n, size=(R, n))].mean(axis=1)
    levels = np.array([(1 - c) / 2, (1 + c) / 2])
    if method == "bca":
        frac = np.mean(means < dbar)
        if frac <= 0.0 or frac >= 1.0:
            raise ValueError(f"method='bca' is undefined here: {frac:.0%} of the bootstrap "
                             f"means lie below the estimate (use method='percentile')")
        z0 = ndtri(frac)
        jack = (d.sum() - d) / (n - 1)
        u = jack.mean() - jack
        denom = 6.0 * np.sum(u**2) ** 1.5
        acc = float(np.sum(u**3) / denom) if denom > 0 else 0.0
        z = ndtri(levels)
        levels = ndtr(z0 + (z0 + z) / (1 - acc * (z0 + z)))
    lo, hi = np.quantile(means, levels)
    return float(lo), float(hi)


def _decision(dbar, p_greater, p_less, p_tost, delta_min, alpha, p_floor) -> str:
    # with p >= p_floor >= alpha no outcome of these seeds could be significant: say so
    # rather than "unresolved", which would read as "the data were too noisy"
    if p_floor >= alpha:
        return NOT_ENOUGH_SEEDS
    # both directions need the same effect size: a significant but negligible difference
    # (e.g. -0.009 against delta_min = 0.05) refutes nothing; it may still be equivalent
    if p_greater < alpha and dbar >= delta_min:
        return "reproduced"
    if p_less < alpha and dbar <= -delta_min:
        return "opposite"
    if p_tost < alpha:
        return "equivalent"
    return "unresolved"


def _pvalues(d, delta_min, n_draws, seed) -> tuple[float, float, float]:
    """(p_greater, p_less, p_tost) of the differences, all sign-flip."""
    return (sign_flip_pvalue(d, alternative="greater", n_draws=n_draws, seed=seed),
            sign_flip_pvalue(d, alternative="less", n_draws=n_draws, seed=seed),
            _tost(d, delta_min, n_draws, seed))


def decide(a, b, *, delta_min: float, alpha: float = 0.05, n_draws: int = SIGN_FLIP_DRAWS,
           seed: int = 0) -> str:
    r"""One of :data:`DECISIONS` for the claim "a > b" on paired per-seed values, checked in
    this order:

    - not enough seeds to decide: 2^{-n} >= alpha (:func:`analysis.sign_flip.min_attainable_p`);
    - reproduced: p_greater < alpha and mean(a - b) >= delta_min;
    - opposite:   p_less < alpha and mean(a - b) <= -delta_min;
    - equivalent: TOST p at +-delta_min < alpha (:func:`tost`);
    - unresolved: otherwise,

    with p_greater, p_less the one-sided sign-flip tests (:func:`sign_flip_test`; exact for
    n <= 12, Monte Carlo with ``n_draws`` draws from ``default_rng(seed)`` above).
    ``delta_min`` is the minimal effect fixed before the run (a finite number > 0).  For
    several claims of one experiment use :func:`decide_claims` (Holm-corrected).
    """
    delta_min = check.positive("delta_min", delta_min)
    alpha = _alpha(alpha)
    d, _ = _differences(a, b)
    floor = min_attainable_p(d.size, n_draws=n_draws)
    return _decision(float(d.mean()), *_pvalues(d, delta_min, n_draws, seed), delta_min,
                     alpha, floor)


def claim_record(a, b, *, delta_min: float, alpha: float = 0.05, name: str = "",
                 paper=None, confidence: float = 0.95, n_resamples: int = 10_000,
                 seed: int = 0, n_draws: int = SIGN_FLIP_DRAWS) -> dict:
    r"""Everything a report prints for one claim "a > b", as a plain dict:

    - ``name, decision`` (as :func:`decide`), ``effect`` (mean(a - b));
    - ``p`` (one-sided "greater" sign-flip p), ``p_raw`` (the same, unadjusted), ``p_less``,
      ``p_tost`` (at +-delta_min), ``p_floor`` (the smallest p these seeds allow) and
      ``test`` (:func:`analysis.sign_flip.sign_flip_method`): these make the decision;
    - ``t, p_t`` (one-sided "greater" paired t-test, unadjusted) and ``ci_low, ci_high``
      (percentile bootstrap, :func:`bootstrap_ci`): reported only;
    - ``delta_min, alpha, n, wins`` (#{a_s > b_s}) and ``paper`` (passed through).

    :func:`decide_claims` gives the Holm-adjusted version for several claims.
    """
    return decide_claims({name: (a, b, delta_min)}, alpha=alpha, confidence=confidence,
                         n_resamples=n_resamples, seed=seed, n_draws=n_draws,
                         paper={name: paper})[0]


def decide_claims(claims, *, alpha: float = 0.05, confidence: float = 0.95,
                  n_resamples: int = 10_000, seed: int = 0, paper=None,
                  n_draws: int = SIGN_FLIP_DRAWS) -> list[dict]:
    r"""Decide the claims of one experiment together, Holm-corrected.

    ``claims`` maps a claim name to ``(a, b, delta_min)``, delta_min fixed before the run.
    The m one-sided "greater" sign-flip p-values, the m "less" ones and the m TOST p-values
    are each Holm-adjusted over the m claims (:func:`holm`), so each kind of positive
    decision (reproduced, opposite, equivalent) has family-wise error <= alpha; each claim
    then gets the decision rule of :func:`decide` on its adjusted p-values, with the floor
    ``p_floor`` = min_attainable_p(n, n_claims=m): with 5 seeds and m >= 2 claims no claim
    can be decided at alpha = 0.05 (:func:`analysis.sign_flip.seeds_needed`).  ``seed``
    drives both the bootstrap and, above 12 seeds, the Monte Carlo sign-flip draws.
    ``paper`` optionally maps names to the paper's numbers.  Returns one record per claim,
    in the input order (keys as in :func:`claim_record`; ``p``, ``p_less``, ``p_tost`` are
    the adjusted values).
    """
    alpha = _alpha(alpha)
    if not claims:
        raise ValueError("claims must hold at least one claim, got none")
    paper = paper or {}
    m = len(claims)
    rows = []
    for name, spec in claims.items():
        try:
            a, b, delta_min = spec
        except (TypeError, ValueError):
            raise ValueError(f"claims[{name!r}] must be (a, b, delta_min)") from None
        delta_min = check.positive(f"delta_min of claim {name!r}", delta_min)
        d, _ = _differences(a, b)
        p_g, p_l, p_tost = _pvalues(d, delta_min, n_draws, seed)
        t, p_t = paired_test(a, b, alternative="greater")
        lo, hi = bootstrap_ci(a, b, confidence=confidence, n_resamples=n_resamples, seed=seed)
        rows.append({"name": name, "effect": float(d.mean()), "ci_low": lo, "ci_high": hi,
                     "t": t, "p_t": p_t, "p_raw": p_g, "p": p_g, "p_less": p_l,
                     "p_tost": p_tost, "delta_min": delta_min, "alpha": alpha,
                     "n": int(d.size), "wins": int(np.sum(d > 0)),
                     "p_floor": min_attainable_p(d.size, n_claims=m, n_draws=n_draws),
                     "test": sign_flip_method(d.size, n_draws=n_draws, seed=seed),
                     "paper": paper.get(name)})
    for key in ("p", "p_less", "p_tost"):
        for row, adj in zip(rows, holm([r[key] for r in rows])):
            row[key] = float(adj)
    for row in rows:
        row["decision"] = _decision(row["effect"], row["p"], row["p_less"], row["p_tost"],
                                    row["delta_min"], alpha, row["p_floor"])
    return rows


def format_claim(record: dict, *, scale: float = 100.0, unit: str = "pt") -> str:
    r"""One report line for a record of :func:`claim_record` / :func:`decide_claims`, e.g.

        ``knn20: reproduced  effect +3.10 pt [+1.20, +4.90]  p=0.004  4/5 seeds  (paper +5.0)``

    Effects are multiplied by ``scale`` (100: accuracy fractions as points); the paper's
    number is printed as given.
    """
    scale = check.positive("scale", scale)
    missing = {"name", "decision", "effect", "ci_low", "ci_high", "p", "n", "wins"} - set(record)
    if missing:
        raise ValueError(f"record lacks the keys {sorted(missing)}")
    line = (f"{record['name']}: {record['decision']}  effect {scale * record['effect']:+.2f} "
            f"{unit} [{scale * record['ci_low']:+.2f}, {scale * record['ci_high']:+.2f}]  "
            f"p={record['p']:.3g}  {record['wins']}/{record['n']} seeds")
    if record.get("paper") is not None:
        line += f"  (paper {record['paper']})"
    return line
