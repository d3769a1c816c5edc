r"""Whether a comparison between trained arms can be evidence at all: every arm learned.

A claim "method a beats baseline b" says nothing when either arm failed to learn: a working
encoder beating a broken one, or one that training made worse than where it started, only
measures the failure.  Before a claim's statistical decision counts, each arm of the
comparison (the method under test *and* every baseline) must, on every seed s, beat both
references on the headroom (shifted) evaluation set by a stated margin:

    trained_s - untrained_s >= margin      (its own randomly initialised encoder, same seed)
    trained_s - raw_s       >= margin      (raw pixels as features)

and, where the score comes from a trained probe, the probe must have converged.  The checks
are one-sided margins per seed, not statistical tests: a single failed seed fails the arm.
An arm whose features were replaced by its untrained encoder's, or by raw pixels, or that was
trained with lr = 0, gains 0 over one reference and fails.

:func:`learning_check` computes the per-seed verdicts and reasons for one arm;
:func:`gate_decision` turns a decision into ``"not informative: <arms> did not learn"`` when
any arm of the claim failed; :func:`gate_claims` does so for the records of
:func:`analysis.stats.decide_claims`, keeping the statistical decision beside it.

Methodological choice of this toolkit, not of the papers: RECONSTRUCTION.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import numpy as np

from minimal_models import validation as check

__all__ = ["NOT_INFORMATIVE", "LearningCheck", "learning_check", "gate_decision",
           "gate_claims"]

NOT_INFORMATIVE = "not informative"


@dataclasses.dataclass(frozen=True)
class LearningCheck:
    """The verdict of :func:`learning_check` for one arm: ``passed[i]`` and ``reasons[i]``
    (empty when passed) for seed ``seeds[i]``; ``ok`` when every seed passed."""

    arm: str
    margin: float
    seeds: tuple
    passed: tuple[bool, ...]
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return all(self.passed)

    @property
    def summary(self) -> str:
        """``"SIGReg learned on 5/5 seeds"`` or ``"SIGReg did not learn: seed 2: ..."``."""
        n_ok = sum(self.passed)
        if self.ok:
            return f"{self.arm} learned on {n_ok}/{len(self.passed)} seeds"
        failed = "; ".join(r for r in self.reasons if r)
        return f"{self.arm} did not learn ({n_ok}/{len(self.passed)} seeds passed): {failed}"


def _per_seed(name: str, value, n: int) -> np.ndarray:
    arr = check.finite_array(name, value)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a number or hold one value per seed ({n}), got "
                         f"shape {arr.shape}")
    return arr


def learning_check(trained, untrained, raw, *, margin: float, arm: str, converged=None,
                   seeds=None) -> LearningCheck:
    r"""Did ``arm`` learn?  Per seed s (module docstring):

        passed_s = (trained_s - untrained_s >= margin) and (trained_s - raw_s >= margin)
                   and converged_s

    - ``trained``: the arm's per-seed scores on the headroom set (1-D, one per seed);
    - ``untrained``: its untrained encoder's scores, per seed (same seeds) or one number;
    - ``raw``: raw pixels' score, per seed or one number (raw pixels do not depend on the seed);
    - ``margin``: the stated margin in the scores' units, a finite number > 0 (with 0 an arm
      equal to its untrained encoder would pass);
    - ``converged``: optional per-seed booleans (the probe's convergence flag), or None when
      the score needs no training (kNN);
    - ``seeds``: labels for the reasons (default 0..n-1).

    Each failed seed gets a reason naming the score, the reference and the margin.
    """
    if not isinstance(arm, str) or not arm:
        raise ValueError(f"arm={arm!r} must be a non-empty name")
    margin = check.positive("margin", margin)
    trained = check.finite_array("trained", trained, ndim=1)
    n = trained.size
    if n == 0:
        raise ValueError("trained must hold at least one seed's score, got none")
    refs = {"its untrained encoder": _per_seed("untrained", untrained, n),
            "raw pixels": _per_seed("raw", raw, n)}
    if converged is None:
        conv = np.ones(n, dtype=bool)
    else:
        conv = np.asarray(converged)
        if conv.shape != (n,) or conv.dtype != bool:
            raise ValueError(f"converged must hold one boolean per seed ({n}), got "
                             f"{conv.dtype} of shape {conv.shape}")
    labels = tuple(range(n)) if seeds is None else tuple(seeds)
    if len(labels) != n:
        raise ValueError(f"seeds must label the {n} seeds, got {len(labels)} labels")
    passed, reasons = [], []
    for i, s in enumerate(labels):
        why = [f"{trained[i]:.4g} does not beat {ref} ({vals[i]:.4g}) by {margin:g}"
               for ref, vals in refs.items() if not trained[i] - vals[i] >= margin]
        if not conv[i]:
            why.append("its probe did not converge")
        passed.append(not why)
        reasons.append(f"seed {s}: " + ", ".join(why) if why else "")
    return LearningCheck(arm, margin, labels, tuple(passed), tuple(reasons))


def gate_decision(decision: str, checks: Iterable[LearningCheck]) -> str:
    """``decision`` if every arm's check passed, else
    ``"not informative: <failed arms, comma-separated> did not learn"``."""
    checks = list(checks)
    if not checks:
        raise ValueError("checks must hold the learning check of every arm of the claim, "
                         "got none")
    failed = [c.arm for c in checks if not c.ok]
    if failed:
        return f"{NOT_INFORMATIVE}: {', '.join(failed)} did not learn"
    return decision


def gate_claims(records: Iterable[Mapping], arms: Mapping[str, Iterable[str]],
                checks: Mapping[str, LearningCheck]) -> list[dict]:
    """Apply :func:`gate_decision` to the records of :func:`analysis.stats.decide_claims`.

    ``arms`` maps each record's ``name`` to the arms it compares (e.g. ``("HamJEPA q",
    "SIGReg")``); ``checks`` maps every arm to its :class:`LearningCheck`.  A claim or an arm
    without a check raises ValueError, so no arm escapes the check.  Returns new records with
    ``decision`` gated, ``statistical_decision`` the decision before gating and
    ``learning`` the summaries of the claim's arms.
    """
    out = []
    for rec in records:
        name = rec["name"]
        if name not in arms:
            raise ValueError(f"arms lacks the claim {name!r}; it names {sorted(arms)}")
        missing = [a for a in arms[name] if a not in checks]
        if missing:
            raise ValueError(f"checks lacks the learning check of {missing} (claim {name!r}); "
                             f"it holds {sorted(checks)}")
        mine = [checks[a] for a in arms[name]]
        out.append({**rec, "decision": gate_decision(rec["decision"], mine),
                    "statistical_decision": rec["decision"],
                    "learning": "; ".join(c.summary for c in mine)})
    return out
