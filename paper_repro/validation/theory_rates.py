r"""VAL_theory_rates (RECONSTRUCTION, arXiv:2604.09979), whole: does a trained encoder collapse
at the rate the minimal model predicts, by a test that can tell that model from its adiabatic
rival -- settings (quick and full), checks, findings, run function and config.

The experiment is :mod:`simulations.experiments.theory_rates` (imported inside the run
function): an MLP on a 4-class Gaussian mixture with trainable label embeddings under Model A
and label-noise frustration p.  The class-node step matrix E is probed once, before training
(a jvp of one encoder step); its common and zero-sum steps give the *two-mode* rigid-class
prediction of the per-step collapse rate of d_min, -log(1 - mu) with mu the slow eigenvalues
of nu H L_G(C), H = blockdiag(E, eta_y I).  Nothing is fitted to the runs it predicts.  The
rival is the adiabatic limit E -> infinity (rate ~ nu n eta_y (1 - a^2), linear in eta_y).

Decision (a finding, never a failure): the slope of measured on predicted rates over the
(p, eta_y, seed) points in regime, with its 95 % CI; "agrees" when the CI lies in [0.8, 1.25]
and excludes the slope the adiabatic model implies, "adiabatic" for the reverse, else
"unresolved"; "out of regime" when the regime rules leave too few arms.  Regime rules, the
rival substitutions (prediction x 2, x 0.5, eta_x x 4, the adiabatic model, a frozen encoder
and Model A put where Model B was) and the exact control predictions are checks that can
fail.  Controls: inputs replaced by their class means (the rigid-class model made exact),
flips confined to two class blocks (no collapse between blocks), the encoder frozen (the
label-only rate, no collapse).  Model B (shared head + stop-gradient) on the same runs: its
preconditions (it trains), then the protection claim as the ratio of rates B / A with its CI.

Full mode adds the memorising setting (classes 10 apart instead of 60, encoder step 0.01,
head step 0.02): the encoder pulls flipped samples toward their noisy labels, the rigid-class
assumption fails, and the rules must say "out of regime" -- where the theory stops.  (With
p = 0.05 in the grid the memorisation rule fails even in the main setting, hence p >= 0.1.)

Every free choice (data, network, steps, grid, band, bounds) is this toolkit's
(RECONSTRUCTION).  Command: ``collapse-lab repro VAL_theory_rates [--quick]``.
"""

from __future__ import annotations

import dataclasses
import math

from ..base import Check, FigureConfig, FigureResult, Finding
from .common import PAPER_COLLAPSE, STATUS, with_finding

#: The network, data and steps of the main setting (plain values: listing the figures must
#: not import JAX).  Classes 60 apart with a small encoder step keep the encoder rigid on
#: classes (memorisation of flipped samples <= 0.06 in the quick run).
RUN = {"data": "gaussian_mixture", "encoder": "mlp", "lr_encoder": 2.5e-4, "lr_labels": 1.0,
       "lr_head": 0.002, "label_scale": 0.01, "gm_separation": 60.0, "gm_classes": 4,
       "gm_dim": 16, "gm_train": 400, "per_class": 85}
#: Seeds and steps per mode.
MODES = {"quick": {"seeds": (0, 1, 2), "steps": 250},
         "full": {"seeds": tuple(range(8)), "steps": 400}}
#: The p grid at the base label step (>= 5 values; p = 0.05 breaks the memorisation rule).
FRUSTRATIONS = (0.1, 0.15, 0.2, 0.25, 0.3)
#: Full mode only: the setting where the encoder memorises flipped samples (the old
#: configuration of this figure), run through the same rules.
MEMORISING = {"gm_separation": 10.0, "lr_encoder": 0.01, "lr_head": 0.02}

_SOURCE = "RECONSTRUCTION: rigid-class Model A on class nodes (minimal_models.label_noise)"


def experiment_settings(quick: bool, *, memorising: bool = False):
    """The :class:`~simulations.experiments.theory_rates.TheoryRatesSettings` of one mode
    (``memorising``: the full-mode setting outside the theory's regime)."""
    from simulations.encoders.label_noise import LabelNoiseRun
    from simulations.experiments.theory_rates import TheoryRatesSettings

    run = {**RUN, **MODES["quick" if quick else "full"], **(MEMORISING if memorising else {})}
    return TheoryRatesSettings(run=LabelNoiseRun(**run), frustrations=FRUSTRATIONS)


def _settings(quick: bool) -> dict:
    """Every setting of one mode as plain values (the committed result's key): the whole
    experiment settings, with every default, and in full mode the memorising setting."""
    out = {"experiment": dataclasses.asdict(experiment_settings(quick)),
           "embedding_only": {"K": 4, "n": 30, "d": 5, "p": 0.3, "steps": 60}}
    if not quick:
        out["memorising"] = dataclasses.asdict(experiment_settings(False, memorising=True))
    return out


def _embedding_only_check() -> Check:
    """The rigid-class embedding-only model through the shared Model A loss (K = 4, n = 30,
    d = 5, p = 0.3, 60 unit GD steps): the fitted d_min rate equals the predicted per-step
    rate (exact up to round-off)."""
    from simulations.experiments.rigid_class import rigid_class_rates

    r = rigid_class_rates(4, 30, 5, 0.3, steps=60)
    return Check("embedding-only rigid-class model: fitted rate / predicted per-step rate",
                 1.0, r["fit"] / r["predicted"], rtol=1e-3,
                 source="RECONSTRUCTION: exact for the embedding-only model (label_noise)")


# --------------------------------------------------------------------- result -> report parts

def experiment_checks(res) -> list[Check]:
    """The experiment's checks (regime rules, substitutions, Model B preconditions, exact
    control predictions) as :class:`~paper_repro.base.Check`."""
    return [Check(**c) for c in res.checks]


def _f(x, fmt=".3f") -> str:
    return "nan" if x is None or not math.isfinite(float(x)) else f"{float(x):{fmt}}"


def _ci(lo, hi, fmt=".3f") -> str:
    return f"[{_f(lo, fmt)}, {_f(hi, fmt)}]"


def _main_noisy(ds):
    """Mask of Model A's main-grid arms with p > 0 (trained encoder, sample inputs, flips to
    any class)."""
    return ((ds["objective"] == "model_a") & (ds["encoder"] == "trained")
            & (ds["inputs"] == "samples") & (ds["noise_blocks"] == "None")
            & (ds["frustration"] > 0)).values


def regime_text(res, settings) -> str:
    """The regime diagnostics in words: each rule's worst value against its bound, and the
    arms that fail one."""
    import numpy as np

    ds = res.dataset
    main = _main_noisy(ds)
    names = ds["arm"].values[main]
    memo = ds["memorisation_mean"].values[main]
    drift = np.nanmax(ds["drift_ratio"].values[main])
    acc = np.nanmin(ds["p0_accuracy"].values[main])
    worst = int(np.nanargmax(memo))
    out = [str(n) for n, ok in zip(names, ds["in_regime"].values[main]) if not ok]
    return (f"p=0 drift / smallest predicted rate {_f(drift)} (bound {settings.drift_fraction:g}); "
            f"p=0 nearest-label accuracy {_f(acc)} (>= {settings.separation_accuracy:g}); "
            f"memorisation of flipped samples {_f(np.nanmin(memo))}..{_f(memo[worst])} "
            f"(largest at {names[worst]}; bound {settings.memorisation_max:g}); "
            f"{int(main.sum()) - len(out)} of {int(main.sum())} arms in regime"
            + (f" (out: {', '.join(out)})" if out else ""))


def _kernel_text(finding) -> str:
    modes = finding.get("kernel_modes", {})
    return "; ".join(f"{k} inputs: common {_f(c)}, zero-sum {_f(z)}"
                     for k, (c, z) in modes.items())


def _substitution_text(res) -> str:
    return "; ".join(f"{k}: {v['decision']}" for k, v in res.substitutions.items())


def main_finding(res, settings, *, claim_suffix: str = "") -> Finding:
    """(a) The decision: is the label-noise collapse rate of the trained encoder the two-mode
    rigid-class prediction, and not the adiabatic one?"""
    f = res.finding
    return Finding(
        claim="label-noise collapse rate of a trained encoder = two-mode rigid-class "
              "prediction (not adiabatic): slope of measured on predicted rates" + claim_suffix,
        decision=f["decision"], effect=f["slope"], ci=(f["ci_low"], f["ci_high"]),
        n=int(f["n"]),
        paper="slow collapse driven by frustrated (mislabelled) samples, arXiv:2604.09979; "
              f"slope 1 expected, adiabatic rival implies {_f(f['rival_implied_slope'], '.2f')}",
        source=_SOURCE + "; two-mode kernel probed before training; band "
               f"{_ci(*settings.band, 'g')} and rules OURS",
        detail=(f"{f['p_values_in_regime']} values of p at eta_y={settings.base_label_step:g} "
                f"and {f['label_steps_in_regime']} of eta_y at p={settings.sweep_frustration:g} "
                f"in regime; adiabatic model's own slope {_f(f.get('rival_slope'))} "
                f"{_ci(f.get('rival_ci_low'), f.get('rival_ci_high'))}; prediction with the "
                f"probed kernel itself: slope {_f(f.get('slope_full_kernel'))} "
                f"{_ci(*f.get('ci_full_kernel', (math.nan, math.nan)))}; probed kernel steps "
                f"({_kernel_text(f)}) vs label steps {list(settings.label_steps)}; "
                f"substitutions: {_substitution_text(res)}"),
        diagnostics="regime: " + regime_text(res, settings))


def model_b_finding(res, settings) -> Finding:
    """(b) Model B's protection as the ratio of its rates to Model A's on the same runs."""
    b = res.model_b
    pre = ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in b["preconditions"].items())
    by_p = "; ".join(f"p={p:g}: {_f(m, '.4f')} {_ci(lo, hi, '.4f')}"
                     for p, (m, lo, hi) in b["rate_b_by_p"].items())
    return Finding(
        claim="Model B (shared head + stop-gradient) protects against label-noise collapse: "
              f"rate ratio B / A on the same runs below {settings.protection_ratio:g}",
        decision=b["decision"], effect=b["ratio"], ci=(b["ci_low"], b["ci_high"]),
        n=int(b["n"]), paper="stop-gradient keeps a finite separation (spec §3.4)",
        source="RECONSTRUCTION: spec §3.4; ratio bound and preconditions OURS",
        detail=(f"preconditions: {pre} (smallest encoder shift {_f(b['encoder_shift_min'])}, "
                f"head shift {_f(b['head_shift_min'])}, consistent accuracy at the rate "
                f"window {_f(b['acc_window_min'])}); mean rate B {_f(b['rate_b_mean'], '.4f')} "
                f"vs A {_f(b['rate_a_mean'], '.4f')} per step; Model B rate by p (mean, CI): "
                f"{by_p}"))


def _block_decision(bl, band) -> str:
    """"as predicted" when nothing collapses between blocks and the within-block slope's CI
    lies in ``band``; "partly as predicted" when that CI overlaps the band's edge."""
    lo, hi = bl["within_ci"]
    if not bl["no_collapse_between"]:
        return "not as predicted"
    if bl["within_agrees"]:
        return "as predicted"
    if hi < band[0] or lo > band[1]:
        return "within-block rate not as predicted"
    return "partly as predicted"  # no collapse between blocks; the within-block CI is open


def control_findings(res, settings) -> list[Finding]:
    """(c) Each control with its prediction: rigid inputs, noise in two blocks, frozen
    encoder."""
    c = res.controls
    rigid, bl, fr = c["rigid_inputs"], c["noise_blocks"], c["frozen_encoder"]
    blocks = "|".join("".join(map(str, b)) for b in settings.noise_blocks)
    frozen_ok = fr["no_collapse"] and abs(fr["label_rate_ratio"] - 1.0) <= 0.02
    return [
        Finding(
            claim="control, inputs replaced by their class means (rigid class made exact): "
                  "measured = two-mode prediction (slope)",
            decision=rigid["decision"], effect=rigid["slope"],
            ci=(rigid["ci_low"], rigid["ci_high"]), n=int(rigid["n"]),
            paper="exact for rigid classes up to the kernel's drift in training",
            source=_SOURCE,
            detail=(f"eta_y {list(settings.rigid_label_steps)} at p="
                    f"{settings.control_frustration:g}; adiabatic implies "
                    f"{_f(rigid['rival_implied_slope'], '.2f')}")),
        Finding(
            claim=f"control, flips confined to class blocks {blocks}: no collapse between "
                  "blocks (|rate| / within-block prediction), within-block rate as predicted",
            decision=_block_decision(bl, settings.band), effect=bl["between_ratio"],
            n=len(bl["within_measured"]),
            paper="a disconnected class graph keeps its between-component modes at rate 0",
            source=_SOURCE + f"; bound {settings.drift_fraction:g} OURS",
            detail=(f"between-block rate {_f(bl['between_rate'], '.2e')} per step; "
                    f"within-block slope {_f(bl['within_slope'])} "
                    f"{_ci(*bl['within_ci'])} on the prediction "
                    f"{_f(bl['within_predicted'], '.4f')} per step")),
        Finding(
            claim="control, encoder frozen: labels relax at the label-only rate and d_min "
                  "does not collapse (measured / predicted relaxation rate)",
            decision="as predicted" if frozen_ok else "not as predicted",
            effect=fr["label_rate_ratio"], n=len(settings.run.seeds),
            paper="y_k <- (1 - nu eta_y n_k) y_k + nu eta_y sum x_i: linear, exact",
            source=_SOURCE + f"; rtol 0.02 and bound {settings.drift_fraction:g} OURS",
            detail=(f"label rate {_f(fr['label_rate_measured'], '.4f')} vs "
                    f"{_f(fr['label_rate_predicted'], '.4f')} per step; |late d_min rate| / "
                    f"Model A's prediction {_f(fr['collapse_ratio'], '.2e')}")),
    ]


def all_noisy_slope(res) -> dict:
    """Slope of measured on two-mode predicted rates over every noisy main arm, regime rules
    ignored (what the comparison would have claimed without them)."""
    from analysis.label_noise_rates import slope_through_origin

    ds = res.dataset
    main = _main_noisy(ds)
    return slope_through_origin(ds["measured"].values[main], ds["predicted"].values[main])


def stops_finding(stops, settings) -> Finding:
    """Full mode: the memorising setting through the same rules -- where the theory stops."""
    fit = all_noisy_slope(stops)
    return Finding(
        claim="where the theory stops: an encoder that memorises flipped samples (classes "
              f"{MEMORISING['gm_separation']:g} apart, encoder step "
              f"{MEMORISING['lr_encoder']:g}, head step {MEMORISING['lr_head']:g}) is out of "
              "the rigid-class regime (slope over every noisy arm, rules ignored)",
        decision=stops.finding["decision"], effect=fit["slope"],
        ci=(fit["ci_low"], fit["ci_high"]), n=int(fit["n"]),
        paper="the rigid-class mapping fails where the encoder separates flipped samples "
              "from their class (minimal_models.label_noise)",
        source=_SOURCE + "; rules OURS",
        detail=f"probed kernel steps ({_kernel_text(stops.finding)})",
        diagnostics="regime: " + regime_text(stops, settings))


def findings_of(res, settings, stops=None) -> list[Finding]:
    """Every finding of one run: the decision, Model B, the three controls and (with
    ``stops``, the memorising setting's result) where the theory stops."""
    out = [main_finding(res, settings), model_b_finding(res, settings),
           *control_findings(res, settings)]
    if stops is not None:
        out.append(stops_finding(stops, settings))
    return out


def note_of(res, settings, quick: bool, stops=None) -> str:
    """The written finding: the decision in plain words, the regime, controls and Model B."""
    f, b, c = res.finding, res.model_b, res.controls
    plain = {"agrees": "the trained encoder collapses at the two-mode rigid-class rate, and "
                       "the test tells that rate from the adiabatic one",
             "adiabatic": "the trained encoder follows the adiabatic rate, not the two-mode "
                          "kernel",
             "unresolved": "the points cannot decide between the two-mode and the adiabatic "
                           "rate",
             "out of regime": "too few arms satisfy the rigid-class rules: the comparison is "
                              "no evidence either way"}[f["decision"]]
    mode = ("quick mode (3 seeds, 250 steps)" if quick else
            f"full mode ({len(settings.run.seeds)} seeds, {settings.run.steps} steps)")
    text = (f"{mode}: decision '{f['decision']}' -- {plain}. Slope of measured on predicted "
            f"rates {_f(f['slope'])} {_ci(f['ci_low'], f['ci_high'])} (95 % CI, n={f['n']}; "
            f"band {_ci(*settings.band, 'g')}); the adiabatic model would imply "
            f"{_f(f['rival_implied_slope'], '.2f')}. Regime: {regime_text(res, settings)}. "
            f"Controls: class-mean inputs {c['rigid_inputs']['decision']} (slope "
            f"{_f(c['rigid_inputs']['slope'])}); flips in two blocks: between-block rate / "
            f"prediction {_f(c['noise_blocks']['between_ratio'], '.2e')}; frozen encoder: "
            f"label-only rate ratio {_f(c['frozen_encoder']['label_rate_ratio'], '.4f')}. "
            f"Model B: {b['decision']}, rate ratio B / A {_f(b['ratio'])} "
            f"{_ci(b['ci_low'], b['ci_high'])}.")
    if stops is not None:
        fit = all_noisy_slope(stops)
        memo = stops.dataset["memorisation_mean"].values[_main_noisy(stops.dataset)]
        text += (f" Where it stops: with classes {MEMORISING['gm_separation']:g} apart and "
                 f"encoder step {MEMORISING['lr_encoder']:g} the encoder memorises flipped "
                 f"samples ({_f(min(memo), '.2f')}..{_f(max(memo), '.2f')} > "
                 f"{settings.memorisation_max:g}): decision '{stops.finding['decision']}'; "
                 f"ignoring the rules, the slope would be {_f(fit['slope'])} "
                 f"{_ci(fit['ci_low'], fit['ci_high'])}.")
    return text


def _describe(ds, settings, stops=None):
    """The figure's dataset with the plot's parameters in attrs, the memorising setting's
    noisy arms (full mode) and a description on the main variables."""
    described = {
        "measured": "fitted per-step decay rate of d_min in the collapse window",
        "predicted": "two-mode rigid-class prediction, per step (probed kernel)",
        "predicted_full": "rigid-class prediction with the probed kernel itself, per step",
        "predicted_adiabatic": "adiabatic prediction (encoder step -> infinity), per step",
        "memorisation": "memorisation index of flipped samples at the end of the fit window",
        "d_min": "smallest distance between label embeddings",
        "in_regime": "1 if the arm satisfies every regime rule",
    }
    # the encoders train in float32: d_min stored in float32 is exact (and half the file)
    ds["d_min"] = ds["d_min"].astype("float32")
    for name, text in described.items():
        if name in ds:
            ds[name].attrs["description"] = text
    ds.attrs.update(base_label_step=settings.base_label_step,
                    sweep_frustration=float(settings.sweep_frustration))
    if stops is not None:
        s = stops.dataset.isel(arm=_main_noisy(stops.dataset))
        s = s.rename(arm="memorising_arm")
        for name in ("measured", "predicted", "memorisation"):
            ds[f"memorising_{name}"] = s[name].assign_coords(
                memorising_arm=[str(a) for a in s["memorising_arm"].values]).drop_vars(
                [c for c in s[name].coords if c not in ("memorising_arm", "seed")])
            ds[f"memorising_{name}"].attrs["description"] = (
                f"{described[name]}; memorising setting (outside the regime)")
        ds.attrs["memorising_decision"] = stops.finding["decision"]
    return ds


def run_theory_rates(quick: bool) -> FigureResult:
    from figures.validation import plot_rate_agreement
    from simulations.experiments.theory_rates import run_theory_rates as experiment

    settings = experiment_settings(quick)
    res = experiment(settings)
    stops = None if quick else experiment(experiment_settings(False, memorising=True))
    checks = [_embedding_only_check(), *experiment_checks(res)]
    ds = _describe(res.dataset, settings, stops)
    fig = plot_rate_agreement(ds, title="VAL_theory_rates: label-noise collapse rate of a "
                              "trained encoder vs the two-mode rigid-class prediction")
    result = FigureResult(fig, checks, ds, findings=findings_of(res, settings, stops))
    return with_finding(result, note_of(res, settings, quick, stops))


VAL_THEORY_RATES = FigureConfig(
    "VAL_theory_rates", PAPER_COLLAPSE,
    "Label-noise collapse rate on trained encoders vs the minimal model", STATUS,
    "MLP on a 4-class Gaussian mixture with trainable label embeddings under Model A and "
    "label-noise frustration p (grid 0.1..0.3, eta_y sweep 0.25..2 at p=0.2): the fitted "
    "d_min collapse rate against the two-mode rigid-class prediction (class-node kernel "
    "probed before training), decided by the slope's CI against [0.8, 1.25] and the "
    "adiabatic rival; regime rules, rival substitutions and control predictions (class-mean "
    "inputs, flips in two blocks, frozen encoder) as checks; Model B (shared head + "
    "stop-gradient) on the same runs as a rate ratio with its CI; full mode adds a memorising "
    "encoder (where the theory stops). Command: collapse-lab repro VAL_theory_rates [--quick]",
    quick_s=72.0, full_s=300.0, quick_measured=True, run=run_theory_rates,
    settings=_settings)
