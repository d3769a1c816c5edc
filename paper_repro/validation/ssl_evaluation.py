"""What the two SSL comparisons (VAL_hamjepa, VAL_hypersolid) share: the methods table they
describe (:class:`MethodsTable`: arms, families of claims, the learning margin), the checks the
evaluation must pass, the learning check of every arm, the reference rows, the runs (resumed
from committed results in full mode) and the written note.

**Checks** are what the software must get right, and each can fail: the evaluation anchor
(raw-pixel kNN@20 = 348/360), headroom of the shifted set, convergence of every linear probe,
and, for **every arm** of the table (the method under test and each baseline), that it
learned: on every seed it beats its own untrained encoder and raw pixels on the shifted
(headroom) set by :data:`LEARN_MARGIN` (:func:`analysis.evidence.learning_check`).  An arm
replaced by its untrained features, by raw pixels, or trained with lr ~ 0 gains nothing over
one reference and fails.

**Findings** are the paper's claims (:mod:`.ssl_claims`): decided per family by exact sign-flip
tests against a pre-registered delta_min, and "not informative: <arm> did not learn" when an
arm of the claim failed its learning check.  Every free choice is RECONSTRUCTION.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..base import Check
from .ssl_claims import ALPHA, decide_families, seed_plan

HEADROOM = 0.2        # raw pixels lose >= 0.2 kNN@20 when shifted: the shifted set has headroom
LEARN_METRIC = "knn20_shift"
LEARN_MARGIN = 0.02
LEARN_MARGIN_REASON = ("2 kNN@20 points on the shifted set (7 of 360 test images), the same "
                       "size as the smallest effect a claim counts (delta_min of accuracies)")
#: the evaluation protocol of every run (part of a committed run's key; the code of the
#: evaluation is not)
EVALUATION = {"knn_ks": [1, 5, 10, 20, 50], "shift_ks": [20], "shift_draws": 10,
              "probe": "converged: loss change < 1e-4 per 50 steps, or at train accuracy 1 "
                       "at most 0.5 % of predictions changed over 4 windows",
              "geometry": "ssl spec"}
#: what a fair-tuning score depends on (the probe is not part of it)
TUNING_SCORE = {"metric": f"{LEARN_METRIC} of the primary readout", "k": 20,
                "vote": "majority", "shift_draws": 10}
RAW = "raw pixels"


@dataclasses.dataclass(frozen=True)
class Arm:
    """One row of a methods table: ``label`` (the model coordinate), the ``objective`` that
    trained it and the ``readout`` evaluated."""

    label: str
    objective: str
    readout: str


@dataclasses.dataclass(frozen=True)
class MethodsTable:
    """An SSL comparison: its ``arms``, the ``reference`` objective whose untrained encoder
    gives the untrained rows, the families of claims (primary first) and the seeds of each
    mode.  ``settings(quick)`` is what its committed results are keyed by."""

    name: str
    arms: tuple
    reference: str
    families: tuple
    quick_seeds: tuple
    full_seeds: tuple
    margin: float = LEARN_MARGIN
    full_steps: int | None = None   # None: ssl_experiments.FULL_STEPS

    def seeds(self, quick: bool) -> tuple:
        return self.quick_seeds if quick else self.full_seeds

    @property
    def objectives(self) -> tuple:
        return tuple(dict.fromkeys(a.objective for a in self.arms))

    def config(self, objective: str, seed: int, quick: bool, recipe=None):
        """The TrainConfig of one run of this table: ``recipe`` ({"lr", "options"}, e.g.
        :func:`tuned_recipe`) over ``ssl_config`` at the table's length."""
        from simulations.experiments.ssl_experiments import ssl_config

        recipe = recipe or {}
        return ssl_config(objective, seed, quick, lr=recipe.get("lr"),
                          options=recipe.get("options"),
                          steps=None if quick else self.full_steps)

    def settings(self, quick: bool) -> dict:
        out = {"seeds": list(self.seeds(quick)), "alpha": ALPHA,
               "arms": [[a.label, a.objective, a.readout] for a in self.arms],
               "families": [f.settings() for f in self.families],
               "learning": {"metric": LEARN_METRIC, "margin": self.margin},
               "evaluation": EVALUATION,
               "train": {o: _identity(self.config(o, 0, quick))
                         for o in (*self.objectives, self.reference)}}
        if not quick:
            out["tuning"] = {o: tuning_settings(o) for o in self.objectives}
        return out


def _identity(cfg) -> dict:
    ident = cfg.identity()
    ident.pop("seed", None)
    return ident


def run_key(cfg) -> str:
    """The key of one training run's committed evaluation: its full training configuration
    (seed included) and the evaluation protocol."""
    from ..results import config_hash

    return config_hash({"train": cfg.identity(), "evaluation": EVALUATION})


# ------------------------------------------------------------------------------ runs

def tuning_settings(objective: str) -> dict:
    """What fair tuning of ``objective`` is keyed by: every candidate's training identity on
    the validation split, the held-out fraction and the split seed."""
    from simulations.experiments import ssl_experiments as sx

    return {"candidates": [sx.ssl_config(objective, 0, False, lr=lr, options=opts).identity()
                           for lr, opts in sx.candidates(objective)],
            "fraction": sx.VAL_FRACTION, "split_seed": 0, "score": TUNING_SCORE}


def _committed_score(table: MethodsTable, store: bool):
    """A ``score`` for :func:`~simulations.experiments.ssl_experiments.select_recipe` that
    reads each candidate's committed validation score and commits the ones it computes
    (``<results>/NAME/runs/tune-<objective>-s<seed>-<key>.nc``), so an interrupted tuning
    resumes per candidate and a grid that grows trains only its new candidates."""
    from simulations.experiments import ssl_experiments as sx

    from .. import results

    def score(objective, quick, lr, options, *, seed, data, fraction, steps):
        cfg = sx.ssl_config(objective, seed, quick, data=data, lr=lr, options=options,
                            steps=steps)
        key = results.config_hash({"train": cfg.identity(), "fraction": fraction,
                                   "score": TUNING_SCORE})
        name = f"tune-{objective}"
        path = results.find_run(table.name, name, seed, key) if store else None
        if path is not None:
            return float(results.load_run(path)["score"])
        value = sx.validation_score(objective, quick, lr, options, seed=seed, data=data,
                                    fraction=fraction, steps=steps)
        if store:
            results.save_run(results.run_path(table.name, name, seed, key), {"score": value},
                             attrs={"config_hash": key, "objective": objective, "seed": seed,
                                    "lr": lr, "options": repr(dict(options))})
        return value

    return score


def tuned_recipe(table: MethodsTable, objective: str, quick: bool, *, store: bool) -> dict:
    """{"lr", "options", "scores"} of ``objective``: quick mode trains with the quick
    defaults (no selection, scores empty); full mode selects on the validation split
    (:func:`simulations.experiments.ssl_experiments.select_recipe`, at the full-mode length
    :data:`~simulations.experiments.ssl_experiments.FULL_STEPS` whatever the table's length,
    so the tables share it), each candidate's score committed with ``store`` and reused from
    any table's committed scores."""
    from simulations.experiments import ssl_experiments as sx

    if quick:
        return {"lr": None, "options": None, "scores": []}
    sel = sx.select_recipe(objective, False, score=_committed_score(table, store))
    return {"lr": sel["lr"], "options": sel["options"], "scores": sel["scores"]}


def record_tuning(ds, tables, quick: bool) -> None:
    """Write what fair tuning chose into the methods dataset ``ds``: the variable ``lr`` per
    model (NaN for the reference rows) and the attribute ``tuning`` (JSON: objective -> chosen
    lr, options and every candidate's validation score; empty scores in quick mode, which
    trains with the defaults)."""
    import json

    lr = {str(m): np.nan for m in ds["model"].values}
    tuning = {}
    for table in tables:
        for arm in table.arms:
            rec = tuned_recipe(table, arm.objective, quick, store=not quick)
            lr[arm.label] = float(table.config(arm.objective, 0, quick, rec).lr)
            tuning[arm.objective] = {
                "lr": lr[arm.label], "options": rec["options"] or {},
                "scores": [{"lr": c_lr, "options": c_opts, "score": sc}
                           for c_lr, c_opts, sc in rec["scores"]]}
    ds["lr"] = ("model", [lr[str(m)] for m in ds["model"].values],
                {"description": "learning rate of the run (fair tuning: the best candidate "
                                "on a 20 % validation split of the training set)"})
    ds.attrs["tuning"] = json.dumps(tuning, sort_keys=True)


def collect_runs(table: MethodsTable, quick: bool, *, store: bool, compute=None) -> dict:
    """objective -> [evaluation record per seed] for every objective of ``table``, each
    trained with its :func:`tuned_recipe`.  With ``store`` (full mode), each finished run is
    written to ``<results>/NAME/runs/`` (keyed by :func:`run_key`) and a committed one is
    loaded instead of trained, so the experiment resumes per (method, seed) from what is
    committed.  ``compute(config)`` defaults to
    :func:`simulations.experiments.ssl_experiments.evaluate_config`."""
    from simulations.experiments import ssl_experiments as sx

    from .. import results

    compute = compute or sx.evaluate_config
    out = {}
    for o in table.objectives:
        recipe = tuned_recipe(table, o, quick, store=store)
        runs = []
        for s in table.seeds(quick):
            cfg = table.config(o, s, quick, recipe)
            if not store:
                runs.append(compute(cfg))
                continue
            key = run_key(cfg)
            path = results.find_run(table.name, o, s, key)
            if path is not None:
                runs.append(results.load_run(path))
                continue
            record = {k: v for k, v in compute(cfg).items()
                      if not k.endswith("test_features")}   # 100s of kB, not evidence
            results.save_run(results.run_path(table.name, o, s, key), record,
                             attrs={"config_hash": key, "objective": o, "seed": s})
            runs.append(record)
        out[o] = runs
    return out


def _init_key(cfg) -> tuple:
    # what fixes an encoder's initialisation (simulations.encoders.train._init)
    return (cfg.data, cfg.encoder_name, cfg.norm_name, cfg.out_dim, cfg.width,
            cfg.param_dtype, cfg.prng_impl)


def reference_rows(table: MethodsTable, quick: bool) -> tuple[dict, dict]:
    """(rows, untrained): the reference rows of the table -- raw pixels and, per arm, its own
    untrained encoder at the arm's readout, on every seed -- and the map arm label -> label
    of its untrained row.  Arms whose encoder initialises as the ``reference`` objective's
    share its rows ("untrained q", "untrained z"); others get "untrained z (objective)"."""
    from simulations.experiments.ssl_experiments import reference_run

    seeds = table.seeds(quick)
    rows = {RAW: ("raw", "z", [reference_run("raw", s, quick) for s in seeds])}
    ref_init = _init_key(table.config(table.reference, 0, quick))
    untrained, cache = {}, {}
    for arm in table.arms:
        own = _init_key(table.config(arm.objective, 0, quick)) == ref_init
        source = table.reference if own else arm.objective
        label = f"untrained {arm.readout}" + ("" if own else f" ({arm.objective})")
        if source not in cache:
            cache[source] = [reference_run("untrained", s, quick, objective=source)
                             for s in seeds]
        rows[label] = ("untrained", arm.readout, cache[source])
        untrained[arm.label] = label
    return rows, untrained


# ------------------------------------------------------------------------------ checks

def evaluation_checks(ds, *, name) -> list:
    """Checks of the evaluation itself (each can fail):

    - the evaluation path reproduces the known raw-pixel kNN@20 on clean digits (348/360,
      spec check value D1) -- fails if standardisation, encoding or kNN change;
    - the shifted test set has headroom (raw pixels lose >= HEADROOM there) -- fails if the
      shift protocol degenerates (e.g. no shift);
    - every trained row's linear probe met its convergence criterion.
    """
    raw = ds.sel(model=RAW)
    out = [Check(f"{name}: raw pixels, clean kNN@20 (spec check value D1, 348/360)",
                 348 / 360, float(raw["knn20"].mean()), rtol=0, atol=1e-9,
                 source="spec ssl §4 check value D1 (CONFIRMED arithmetic)"),
           Check(f"{name}: raw pixels, clean - shifted kNN@20 (headroom of the shifted set)",
                 HEADROOM, float((raw["knn20"] - raw["knn20_shift"]).mean()), kind="min",
                 source="precondition OURS (clean digits saturate)")]
    rows = [m for m in ds["model"].values if m != RAW and not str(m).startswith("untrained")]
    conv = ds["linear_converged"].sel(model=rows)
    out.append(Check(f"{name}: linear probes that met the convergence criterion "
                     f"(|dL| < 1e-4 over 50 steps, or at most 0.5 % of predictions changed over 4 "
                     f"windows at train accuracy 1), share of {conv.size} trained rows",
                     1.0, float(conv.mean()), kind="min", source="evaluation OURS"))
    return out


def learning_checks(ds, table: MethodsTable, untrained: dict) -> dict:
    """arm label -> :class:`analysis.evidence.LearningCheck` on :data:`LEARN_METRIC`: the arm
    beats its untrained row (``untrained[label]``) and raw pixels by ``table.margin`` on every
    seed, with a converged linear probe."""
    from analysis.evidence import learning_check

    out = {}
    for arm in table.arms:
        m = ds[LEARN_METRIC]
        out[arm.label] = learning_check(
            m.sel(model=arm.label).values, m.sel(model=untrained[arm.label]).values,
            m.sel(model=RAW).values, margin=table.margin, arm=arm.label,
            converged=ds["linear_converged"].sel(model=arm.label).values > 0.5,
            seeds=tuple(int(s) for s in ds["seed"].values))
    return out


def learning_check_rows(ds, table: MethodsTable, untrained: dict, checks: dict) -> list:
    """One :class:`~paper_repro.base.Check` per arm: the worst seed's smaller gain over its
    untrained encoder and raw pixels on the shifted set, at least the margin; it fails exactly
    when the arm's learning check fails on its gains."""
    m = ds[LEARN_METRIC]
    raw = m.sel(model=RAW).values
    out = []
    for arm in table.arms:
        trained = m.sel(model=arm.label).values
        gain = np.minimum(trained - m.sel(model=untrained[arm.label]).values, trained - raw)
        worst = int(np.argmin(gain))
        c = checks[arm.label]
        out.append(Check(
            f"{table.name}: {arm.label} learned: worst seed ({ds['seed'].values[worst]}) of "
            f"min(trained - {untrained[arm.label]}, trained - raw pixels), shifted kNN@20 "
            f"[{sum(c.passed)}/{len(c.passed)} seeds passed]", table.margin,
            float(gain[worst]), kind="min",
            source=f"precondition OURS: margin = {LEARN_MARGIN_REASON}"))
    return out


def assess(ds, table: MethodsTable, untrained: dict, *, source: str, diagnostics=None,
           evaluation: bool = True):
    """(checks, findings) of a methods table: :func:`evaluation_checks` (unless
    ``evaluation`` is False: a second table of the same dataset), the learning check of every
    arm, and the claims of every family decided and gated
    (:func:`.ssl_claims.decide_families`).  Works on any table with the rows of ``table``, the
    untrained rows named in ``untrained`` and raw pixels: no training."""
    learned = learning_checks(ds, table, untrained)
    checks = (evaluation_checks(ds, name=table.name) if evaluation else []) + \
        learning_check_rows(ds, table, untrained, learned)
    findings = decide_families(ds, table.families, checks=learned, source=source,
                               diagnostics=diagnostics)
    return checks, findings


def direction_check(name, ds, a, b, metric, paper_text, *, source):
    """The check "mean metric(a) - metric(b) > 0".  Not used by the runs: without an effect
    size it is a coin flip; claims are findings (:mod:`.ssl_claims`)."""
    delta = ds[metric].sel(model=a) - ds[metric].sel(model=b)
    wins = int((delta > 0).sum())
    # strictly positive: identical features (e.g. an encoder that has not moved) do not count
    return Check(f"{name}: mean {metric}({a}) - {metric}({b}) > 0 [{wins}/{delta.sizes['seed']}"
                 f" seeds > 0; {paper_text}]", 1e-9, float(delta.mean()), kind="min",
                 source=source)


def methods_note(ds, findings, table: MethodsTable, quick: bool, scale: str) -> str:
    """The written finding of a methods table: seed means per row, what the seeds can decide,
    the decisions."""
    rows = "; ".join(
        f"{m}: kNN@20 {100 * float(ds['knn20'].sel(model=m).mean()):.1f}, shifted "
        f"{100 * float(ds['knn20_shift'].sel(model=m).mean()):.1f}, linear "
        f"{100 * float(ds['linear'].sel(model=m).mean()):.1f}, erank/D "
        f"{float(ds['erank_fraction'].sel(model=m).mean()):.2f}" for m in ds["model"].values)
    counts = {}
    for f in findings:
        counts[f.decision] = counts.get(f.decision, 0) + 1
    decided = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    n = len(table.seeds(quick))
    return (f"{scale}. Seed means (%; reference rows: raw pixels, untrained encoder, same "
            f"evaluation): {rows}. Seeds: {seed_plan(table.families, n)}. Paper claims: "
            f"{decided} (exact sign-flip tests against a delta_min fixed in the config, Holm "
            "within each family; a claim counts only when every arm learned); only "
            "directions are targets, the paper's CIFAR-100 magnitudes are not.")
