r"""Decisions on paired-seed comparisons: paired t-test, Holm correction, TOST equivalence,
bootstrap confidence interval, and a four-way decision per claim (issue 15 §2).

A *claim* compares a method ``a`` with a baseline ``b`` on the same seeds (seed s shares the
initialisation key and the augmentation stream across methods, spec hamiltonian_geometry
§9), so the unit of evidence is the per-seed difference

    d_s = a_s - b_s,   s = 1..n,   dbar = mean(d),   se = sd(d, ddof=1) / sqrt(n).

Every claim carries a pre-registered minimal effect delta_min (:func:`default_delta_min`) and
gets exactly one of four decisions (:func:`decide`):

- ``"reproduced"``: a > b significantly (one-sided paired t-test) **and** dbar >= delta_min;
- ``"opposite"``: a < b significantly (one-sided paired t-test the other way);
- ``"equivalent"``: |mean difference| < delta_min shown by TOST at +-delta_min;
- ``"unresolved"``: none of these (too few seeds or too much seed noise to say).

"Not reproduced" is a result, not a failure; only "unresolved" means the data cannot tell.
Several claims of one experiment are decided together by :func:`decide_claims`, which applies
the Holm step-down correction (:func:`holm`) to each family of p-values over the claims.

Zero variance (all n differences equal up to round-off) is a real case (a deterministic
pipeline, or a metric saturated at 1.0 for every seed).  It is resolved as the limit
sd -> 0 of the tests: a non-zero mean difference is then certain (t = +-inf, p = 0 for the
matching one-sided test, 1 for the other), a zero mean difference gives t = 0 and p = 1 for
every directional test (no evidence of any direction), and TOST gives p = 0 when
|dbar| < delta and 1 otherwise.  "Equal up to round-off" means sd(d) <= 16 eps max(|a|, |b|).

Methodological choices of this toolkit, not of the papers: RECONSTRUCTION (issue 15 §2).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _st

from minimal_models import validation as check

__all__ = [
    "ALTERNATIVES",
    "DECISIONS",
    "paired_test",
    "holm",
    "tost",
    "bootstrap_ci",
    "default_delta_min",
    "decide",
    "claim_record",
    "decide_claims",
    "format_claim",
]

ALTERNATIVES = ("greater", "less", "two-sided")
DECISIONS = ("reproduced", "opposite", "equivalent", "unresolved")
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
    r"""Paired t-test on per-seed values: returns (t, p).

        t = dbar / se,   se = sd(d, ddof=1)/sqrt(n),   d = a - b,   df = n - 1,

    p = P(T_{n-1} >= t) for ``alternative="greater"`` (H1: mean(a - b) > 0),
    P(T_{n-1} <= t) for ``"less"``, 2 P(T_{n-1} >= |t|) for ``"two-sided"``; equal to
    ``scipy.stats.ttest_rel(a, b, alternative=...)`` whenever the differences vary.  Zero
    variance: see the module docstring (t = +-inf or 0, p in {0, 1}).
    """
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
        p = _st.t.sf(t, df)
    elif alternative == "less":
        p = _st.t.cdf(t, df)
    else:
        p = 2.0 * _st.t.sf(abs(t), df)
    return float(t), float(min(p, 1.0))


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


def tost(a, b, *, delta: float) -> float:
    r"""Paired two one-sided tests (TOST) for equivalence within +-delta: returns p.

    H0: |mean(a - b)| >= delta against H1: -delta < mean(a - b) < delta.  With
    t_lo = (dbar + delta)/se and t_hi = (dbar - delta)/se on n - 1 degrees of freedom,

        p = max( P(T >= t_lo), P(T <= t_hi) ),

    i.e. the larger of ``ttest_1samp(d, -delta, alternative="greater")`` and
    ``ttest_1samp(d, +delta, alternative="less")``; equivalence is shown when p < alpha
    (Schuirmann 1987).  Zero variance: p = 0 if |dbar| < delta, else 1.
    """
    delta = check.positive("delta", delta)
    dbar, se, df, degenerate, _ = _moments(a, b)
    if degenerate:
        return 0.0 if abs(dbar) < delta else 1.0
    p_lo = _st.t.sf((dbar + delta) / se, df)
    p_hi = _st.t.cdf((dbar - delta) / se, df)
    return float(max(p_lo, p_hi))


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

    With 5 seeds a bootstrap interval is crude (it undercovers); report it beside the
    t-test, not instead of it.  Zero variance gives the point interval (dbar, dbar).
    """
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
        z0 = _st.norm.ppf(frac)
        jack = (d.sum() - d) / (n - 1)
        u = jack.mean() - jack
        denom = 6.0 * np.sum(u**2) ** 1.5
        acc = float(np.sum(u**3) / denom) if denom > 0 else 0.0
        z = _st.norm.ppf(levels)
        levels = _st.norm.cdf(z0 + (z0 + z) / (1 - acc * (z0 + z)))
    lo, hi = np.quantile(means, levels)
    return float(lo), float(hi)


def default_delta_min(baseline_accuracy: float, *, fraction: float = 0.05,
                      floor: float = 0.015) -> float:
    r"""Pre-registered minimal effect on an accuracy scale in [0, 1] (issue 15 §2):

        delta_min = max(fraction * (1 - baseline_accuracy), floor),

    i.e. 5 % of the baseline's error, never below 1.5 accuracy points (0.015).  All three
    numbers are fractions, not percent: a baseline at 0.80 gives max(0.01, 0.015) = 0.015,
    one at 0.40 gives 0.03.
    """
    acc = check.real("baseline_accuracy", baseline_accuracy, low=0.0, high=1.0)
    fraction = check.real("fraction", fraction, low=0.0, high=1.0, low_open=True)
    floor = check.real("floor", floor, low=0.0, high=1.0)
    delta = max(fraction * (1.0 - acc), floor)
    if delta <= 0:
        raise ValueError(f"baseline_accuracy={acc} with floor={floor} gives delta_min = 0; "
                         f"use floor > 0")
    return delta


def _decision(dbar, p_greater, p_less, p_tost, delta_min, alpha) -> str:
    # a significant effect the wrong way refutes the direction, however small it is, so
    # "opposite" is checked before "equivalent"; a significant effect the right way below
    # delta_min is not a reproduction (it may still be shown equivalent)
    if p_greater < alpha and dbar >= delta_min:
        return "reproduced"
    if p_less < alpha:
        return "opposite"
    if p_tost < alpha:
        return "equivalent"
    return "unresolved"


def decide(a, b, *, delta_min: float, alpha: float = 0.05) -> str:
    r"""One of ``"reproduced"``, ``"opposite"``, ``"equivalent"``, ``"unresolved"`` for the
    claim "a > b" on paired per-seed values, checked in this order:

    - reproduced: p_greater < alpha and mean(a - b) >= delta_min;
    - opposite:   p_less < alpha;
    - equivalent: TOST p at +-delta_min < alpha;
    - unresolved: otherwise,

    with p_greater, p_less the one-sided paired t-tests (:func:`paired_test`).  For several
    claims of one experiment use :func:`decide_claims` (Holm-corrected).
    """
    delta_min = check.positive("delta_min", delta_min)
    alpha = _alpha(alpha)
    dbar = float(np.mean(_differences(a, b)[0]))
    return _decision(dbar, paired_test(a, b, alternative="greater")[1],
                     paired_test(a, b, alternative="less")[1],
                     tost(a, b, delta=delta_min), delta_min, alpha)


def claim_record(a, b, *, delta_min: float, alpha: float = 0.05, name: str = "",
                 paper=None, confidence: float = 0.95, n_resamples: int = 10_000,
                 seed: int = 0) -> dict:
    r"""Everything a report prints for one claim "a > b", as a plain dict:

    ``name, decision, effect`` (mean(a - b)), ``ci_low, ci_high`` (percentile bootstrap,
    :func:`bootstrap_ci`), ``t, p`` (one-sided "greater" paired t-test), ``p_less``,
    ``p_tost`` (at +-delta_min), ``delta_min, alpha, n, wins`` (#{a_s > b_s}) and ``paper``
    (the paper's number, passed through).  Unadjusted p-values; :func:`decide_claims` gives
    the Holm-adjusted version for several claims.
    """
    return decide_claims({name: (a, b, delta_min)}, alpha=alpha, confidence=confidence,
                         n_resamples=n_resamples, seed=seed,
                         paper={name: paper})[0]


def decide_claims(claims, *, alpha: float = 0.05, confidence: float = 0.95,
                  n_resamples: int = 10_000, seed: int = 0, paper=None) -> list[dict]:
    r"""Decide the claims of one experiment together, Holm-corrected.

    ``claims`` maps a claim name to ``(a, b, delta_min)``.  The m one-sided "greater"
    p-values, the m "less" p-values and the m TOST p-values are each Holm-adjusted over the
    m claims (:func:`holm`), so each kind of positive decision (reproduced, opposite,
    equivalent) has family-wise error <= alpha; each claim then gets the decision rule of
    :func:`decide` on its adjusted p-values.  ``paper`` optionally maps names to the paper's
    numbers.  Returns one record per claim, in the input order (keys as in
    :func:`claim_record`; ``p``, ``p_less``, ``p_tost`` are the adjusted values and
    ``p_raw`` the unadjusted "greater" p).
    """
    alpha = _alpha(alpha)
    if not claims:
        raise ValueError("claims must hold at least one claim, got none")
    paper = paper or {}
    rows = []
    for name, spec in claims.items():
        try:
            a, b, delta_min = spec
        except (TypeError, ValueError):
            raise ValueError(f"claims[{name!r}] must be (a, b, delta_min)") from None
        delta_min = check.positive(f"delta_min of claim {name!r}", delta_min)
        d, _ = _differences(a, b)
        t, p_g = paired_test(a, b, alternative="greater")
        lo, hi = bootstrap_ci(a, b, confidence=confidence, n_resamples=n_resamples, seed=seed)
        rows.append({"name": name, "effect": float(d.mean()), "ci_low": lo, "ci_high": hi,
                     "t": t, "p_raw": p_g, "p": p_g,
                     "p_less": paired_test(a, b, alternative="less")[1],
                     "p_tost": tost(a, b, delta=delta_min), "delta_min": delta_min,
                     "alpha": alpha, "n": int(d.size), "wins": int(np.sum(d > 0)),
                     "paper": paper.get(name)})
    for key in ("p", "p_less", "p_tost"):
        for row, adj in zip(rows, holm([r[key] for r in rows])):
            row[key] = float(adj)
    for row in rows:
        row["decision"] = _decision(row["effect"], row["p"], row["p_less"], row["p_tost"],
                                    row["delta_min"], alpha)
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
