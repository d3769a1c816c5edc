"""The paper claims of the SSL comparisons as pre-registered findings: each claim's minimal
effect delta_min fixed in the config with its reason, claims grouped into families that are
decided together, the seeds each family needs, and the decision of a family gated by the
learning checks of its arms.

- **delta_min** (:data:`DELTA_MIN`): a fixed number per metric, written here with its reason
  before any run, never computed from measured values (a worse baseline must not buy a larger
  delta).  A claim may state its own.
- **Families** (:class:`Family`): the primary claim of an experiment is a family of one (exact
  sign-flip test, decided with 5 paired seeds: smallest p 1/32 < 0.05); the secondary claims
  form a second family, Holm-corrected over its m claims, which needs more seeds
  (:func:`analysis.sign_flip.seeds_needed`: 7 for 4-6 claims).  Each family states the seeds
  it needs (``seeds_needed``, checked against the formula in the tests); with fewer seeds a
  claim reads "not enough seeds to decide" (quick mode), never a decision.
- **Gating** (:func:`decide_families`): a claim whose arms did not all learn
  (:func:`analysis.evidence.gate_claims`) reads "not informative: <arm> did not learn"; the
  statistical decision stays beside it in the detail.

The config modules import nothing heavy at import time (``collapse-lab list`` must not import
JAX): the statistics are imported inside the functions.  Choices OURS (RECONSTRUCTION).
"""

from __future__ import annotations

import dataclasses

from ..base import Finding

ALPHA = 0.05  # family-wise level of every family

_ACCURACY = (0.02, "2 points of accuracy (7 of the 360 test images): the smallest gain we "
                   "would call better; the papers' gaps are 3-8 points on CIFAR-100")
#: metric -> (delta_min, reason), fixed before any run (in the metric's own units)
DELTA_MIN = {
    "knn20": _ACCURACY,
    "knn20_shift": _ACCURACY,
    "knn_best": _ACCURACY,
    "linear": _ACCURACY,
    "erank_fraction": (0.05, "5 % of the dimension (6 of the 128 dims of q): the paper's gap "
                             "is 0.07 of D (erank 125.6 of 1024 vs 109.7 of 2048), so less "
                             "than 0.05 would not be a gap of its kind"),
    "mean_cosine": (0.05, "the paper's gap is 0.70 (0.716 vs 0.017); 0.05 (about 3 degrees "
                          "of mean angle near orthogonality) is the smallest we would call a "
                          "change of isotropy"),
    "separation": (0.05, "5 % of the separation of orthogonal class means (1 - cos = 1)"),
    "correlation": (0.02, "2 % of the largest possible mean |correlation| (1): smaller "
                          "differences are not a change of redundancy we would report"),
}


@dataclasses.dataclass(frozen=True)
class Claim:
    """The claim "metric(a) > metric(b)" with its pre-registered minimal effect and reason,
    and the paper's number or statement beside it."""

    a: str
    b: str
    metric: str
    paper: str
    delta_min: float
    reason: str

    def __post_init__(self):
        if not (isinstance(self.delta_min, (int, float)) and 0 < self.delta_min < float("inf")):
            raise ValueError(f"claim {self.name!r}: delta_min={self.delta_min!r} must be a "
                             "finite number > 0 fixed before the run")
        if not self.reason:
            raise ValueError(f"claim {self.name!r}: state the reason for delta_min")

    @property
    def name(self) -> str:
        return f"{self.metric}: {self.a} > {self.b}"

    def settings(self) -> list:
        return [self.a, self.b, self.metric, self.delta_min]


def claim(a: str, b: str, metric: str, paper: str, *, delta_min: float | None = None,
          reason: str | None = None) -> Claim:
    """A :class:`Claim` with delta_min and its reason from :data:`DELTA_MIN` unless given."""
    if metric not in DELTA_MIN and delta_min is None:
        raise ValueError(f"metric={metric!r} has no pre-registered delta_min; give delta_min "
                         f"and reason, or use one of {sorted(DELTA_MIN)}")
    value, why = DELTA_MIN.get(metric, (None, None))
    return Claim(a, b, metric, paper, value if delta_min is None else delta_min,
                 why if reason is None else reason)


@dataclasses.dataclass(frozen=True)
class Family:
    """Claims decided together (Holm over the family at :data:`ALPHA`); ``seeds_needed`` is
    the fewest paired seeds with which any claim of the family can be decided, stated in the
    config (= ``analysis.sign_flip.seeds_needed(ALPHA, n_claims=len(claims))``)."""

    name: str
    claims: tuple
    seeds_needed: int

    def __post_init__(self):
        if not self.claims:
            raise ValueError(f"family {self.name!r} must hold at least one claim")
        object.__setattr__(self, "claims", tuple(self.claims))

    def settings(self) -> dict:
        return {"name": self.name, "claims": [c.settings() for c in self.claims]}


def seed_plan(families, n_seeds: int) -> str:
    """What ``n_seeds`` paired seeds can decide, per family, e.g. "primary (1 claim): needs 5
    seeds, min attainable p 0.125 with 3: not enough seeds to decide"."""
    from analysis.sign_flip import min_attainable_p

    parts = []
    for fam in families:
        m = len(fam.claims)
        floor = min_attainable_p(n_seeds, n_claims=m)
        verdict = "decidable" if floor < ALPHA else "not enough seeds to decide"
        parts.append(f"{fam.name} ({m} claim{'s, Holm' if m > 1 else ''}): needs "
                     f"{fam.seeds_needed} seeds; with {n_seeds} the smallest attainable p is "
                     f"{floor:.3g}: {verdict}")
    return "; ".join(parts)


def _detail(rec, fam, claim_) -> str:
    m = len(fam.claims)
    parts = [f"{fam.name} family ({m} claim{'s, Holm' if m > 1 else ''}; needs "
             f"{fam.seeds_needed} seeds, smallest attainable p {rec['p_floor']:.3g})",
             f"{rec['wins']}/{rec['n']} seeds a > b", rec["test"],
             f"one-sided p {rec['p_raw']:.3g} before Holm",
             f"paired t-test p {rec['p_t']:.3g} (reported only)",
             f"delta_min {claim_.delta_min:g}: {claim_.reason}"]
    if rec["decision"] != rec["statistical_decision"]:
        parts.append(f"statistical decision: {rec['statistical_decision']}")
    parts.append(f"learning: {rec['learning']}")
    return "; ".join(parts)


def decide_families(ds, families, *, checks: dict, source: str, diagnostics=None) -> list:
    """Decide every family of claims on the methods table ``ds`` (dims model, seed), each
    family separately Holm-corrected (:func:`analysis.stats.decide_claims`), then gated by the
    learning checks of the claim's arms (``checks``: arm label ->
    :class:`analysis.evidence.LearningCheck`).  ``diagnostics`` maps a claim name to a text
    placed beside its decision.  Returns :class:`~paper_repro.base.Finding` objects in family
    order."""
    from analysis import evidence, stats

    diagnostics = diagnostics or {}
    out = []
    for fam in families:
        spec = {c.name: (ds[c.metric].sel(model=c.a).values, ds[c.metric].sel(model=c.b).values,
                         c.delta_min) for c in fam.claims}
        records = stats.decide_claims(spec, alpha=ALPHA,
                                      paper={c.name: c.paper for c in fam.claims})
        gated = evidence.gate_claims(records, {c.name: (c.a, c.b) for c in fam.claims}, checks)
        for rec, c in zip(gated, fam.claims):
            # the p-value of the decision made: "less" for opposite, TOST for equivalent
            p = {"opposite": rec["p_less"], "equivalent": rec["p_tost"]}.get(
                rec["statistical_decision"], rec["p"])
            out.append(Finding(rec["name"], rec["decision"], rec["effect"],
                               (rec["ci_low"], rec["ci_high"]), p, rec["delta_min"], rec["n"],
                               rec["paper"] or "", source, _detail(rec, fam, c),
                               diagnostics.get(c.name, "")))
    return out
