"""VAL_theory_rates as a figure (paper_repro.validation.theory_rates, figures.validation): the
config's settings, the wiring from an experiment result to checks, findings and the written
note, and the drawing -- on a synthetic result, nothing trained (the experiment's own
statistics are tested in test_theory_rates.py)."""

import json
import math

import numpy as np
import pytest
import xarray as xr

from paper_repro import results
from paper_repro.base import Check, Finding
from paper_repro.validation import VAL_THEORY_RATES
from paper_repro.validation import theory_rates as T
from simulations.experiments.theory_rates import TheoryRatesResult

STEPS = 60


# ----------------------------------------------------------------------------- the config

def test_config_declares_both_modes_and_keys_them_by_every_setting():
    quick, full = T.experiment_settings(True), T.experiment_settings(False)
    assert quick.run.seeds == (0, 1, 2) and quick.run.steps == 250
    assert full.run.seeds == tuple(range(8)) and full.run.steps == 400
    for s in (quick, full):
        assert s.frustrations == T.FRUSTRATIONS and min(s.frustrations) >= 0.1
        assert (s.run.lr_encoder, s.run.gm_separation, s.run.per_class) == (2.5e-4, 60.0, 85)
    memo = T.experiment_settings(False, memorising=True)
    assert (memo.run.gm_separation, memo.run.lr_encoder, memo.run.lr_head) == (10.0, 0.01, 0.02)
    assert memo.run.seeds == full.run.seeds
    key_quick, key_full = (VAL_THEORY_RATES.settings(q) for q in (True, False))
    assert "memorising" in key_full and "memorising" not in key_quick
    assert json.loads(results.canonical_json(key_full)) == json.loads(json.dumps(key_full))
    assert results.config_hash(key_quick) != results.config_hash(key_full)
    # a default of the experiment (the decision band) is part of the key
    assert tuple(key_full["experiment"]["band"]) == (0.8, 1.25)
    assert VAL_THEORY_RATES.name == "VAL_theory_rates" and VAL_THEORY_RATES.quick_measured


# ----------------------------------------------------------------------------- a synthetic result

def _arm(name, p, eta, *, encoder="trained", inputs="samples", blocks="None", obj="model_a"):
    return (name, p, eta, encoder, inputs, blocks, obj)


ARMS = [_arm("p=0 eta_y=1", 0.0, 1.0)]
ARMS += [_arm(f"p={p:g} eta_y=1", p, 1.0) for p in (0.1, 0.2, 0.3)]
ARMS += [_arm(f"p={p:g} eta_y={e:g}", p, e) for e in (0.5, 2.0) for p in (0.0, 0.2)]
ARMS += [_arm("p=0.2 eta_y=0.5 class_means", 0.2, 0.5, inputs="class_means"),
         _arm("p=0.2 eta_y=1 blocks=01|23", 0.2, 1.0, blocks="((0, 1), (2, 3))"),
         _arm("p=0.2 eta_y=1 frozen", 0.2, 1.0, encoder="frozen")]
ARMS += [_arm(f"B p={p:g} eta_y=1", p, 1.0, obj="model_b") for p in (0.1, 0.2, 0.3)]


def _dataset(*, memorisation=0.05):
    seeds = (0, 1, 2)
    names, p, eta, enc, inputs, blocks, obj = (list(c) for c in zip(*ARMS))
    p, eta = np.array(p), np.array(eta)
    wobble = 1.0 + 0.02 * np.arange(len(seeds))
    predicted = 0.1 * p[:, None] * np.sqrt(eta)[:, None] * np.ones(len(seeds))
    measured = predicted * wobble
    b = np.array(obj) == "model_b"
    measured[b] = 0.05 * predicted[b]
    t = np.arange(STEPS)
    d_min = 10 * np.exp(-measured[..., None] * t)
    d_min[b] = 10 * (0.5 + 0.5 * np.exp(-0.05 * t))
    main = (np.array(obj) == "model_a") & (np.array(inputs) == "samples") & (
        np.array(blocks) == "None") & (np.array(enc) == "trained")
    ds = xr.Dataset(
        {"measured": (("arm", "seed"), measured), "predicted": (("arm", "seed"), predicted),
         "predicted_adiabatic": (("arm", "seed"), 3 * p[:, None] * eta[:, None] * wobble / 10),
         "memorisation": (("arm", "seed"), np.full(measured.shape, memorisation)),
         "d_min": (("arm", "seed", "step"), d_min),
         "in_regime": ("arm", main & (p > 0) & (memorisation <= 0.2)),
         "drift_ratio": ("arm", np.where(main, 0.01, np.nan)),
         "p0_accuracy": ("arm", np.where(main, 1.0, np.nan)),
         "memorisation_mean": ("arm", np.where(main, memorisation * (p > 0), np.nan)),
         "eta_zero_sum": (("inputs_probed", "seed"), np.full((2, 3), 0.53))},
        coords={"arm": names, "seed": list(seeds), "step": t,
                "inputs_probed": ["samples", "class_means"], "frustration": ("arm", p),
                "lr_labels": ("arm", eta), "encoder": ("arm", enc), "inputs": ("arm", inputs),
                "noise_blocks": ("arm", blocks), "objective": ("arm", obj)})
    ds.attrs.update(decision="agrees", slope=0.93, slope_ci_low=0.9, slope_ci_high=0.96,
                    adiabatic_implied_slope=2.9)
    return ds


def _result(decision="agrees", *, memorisation=0.05, failing_check=False):
    ds = _dataset(memorisation=memorisation)
    finding = {"decision": decision, "slope": 0.93, "ci_low": 0.9, "ci_high": 0.96, "n": 15,
               "rival_implied_slope": 2.9, "rival_slope": 0.3, "rival_ci_low": 0.2,
               "rival_ci_high": 0.4, "slope_full_kernel": 0.95, "ci_full_kernel": (0.93, 0.97),
               "kernel_modes": {"samples": (1.08, 0.53), "class_means": (1.08, 0.53)},
               "p_values_in_regime": 3, "label_steps_in_regime": 3}
    controls = {
        "rigid_inputs": {"decision": "agrees", "slope": 0.93, "ci_low": 0.87, "ci_high": 0.99,
                         "n": 3, "rival_implied_slope": 3.9},
        "noise_blocks": {"between_rate": 6e-5, "between_ratio": 9e-4,
                         "no_collapse_between": True, "within_agrees": False,
                         "within_ci": (0.63, 1.04), "within_slope": 0.83,
                         "within_measured": [[0.07, 0.05]] * 3, "within_predicted": 0.07},
        "frozen_encoder": {"label_rate_measured": 0.2877, "label_rate_predicted": 0.2877,
                           "label_rate_ratio": 1.00005, "no_collapse": True,
                           "collapse_ratio": 3e-17}}
    model_b = {"decision": "protects", "ratio": 0.05, "ci_low": 0.03, "ci_high": 0.07, "n": 9,
               "preconditions": {"encoder_trains": True, "head_trains": True,
                                 "classifies": True, "rates_measured": True},
               "preconditions_hold": True, "encoder_shift_min": 0.19, "head_shift_min": 0.07,
               "acc_window_min": 1.0, "rate_b_mean": 0.002, "rate_a_mean": 0.04,
               "rate_b_by_p": {0.1: (0.001, 0.0, 0.002), 0.2: (0.002, 0.001, 0.003)}}
    subs = {"prediction x 2": {"decision": "unresolved"},
            "Model A as Model B": {"decision": "precondition failed"}}
    checks = [{"quantity": "regime: largest memorisation", "expected": 0.2,
               "measured": 0.3 if failing_check else 0.05, "kind": "max", "rtol": 1e-3,
               "source": "RECONSTRUCTION"},
              {"quantity": "frozen encoder ratio", "expected": 1.0, "measured": 1.00005,
               "kind": "close", "rtol": 0.02, "source": "RECONSTRUCTION"}]
    return TheoryRatesResult(ds, finding, controls, model_b, subs, checks)


# ----------------------------------------------------------------------------- the wiring

def test_checks_are_the_experiments_own_and_can_fail():
    ok = T.experiment_checks(_result())
    assert all(isinstance(c, Check) for c in ok) and all(c.passed for c in ok)
    assert [c.quantity for c in ok] == [c["quantity"] for c in _result().checks]
    assert ok[1].rtol == 0.02 and ok[0].kind == "max"
    bad = T.experiment_checks(_result(failing_check=True))
    assert not bad[0].passed


def test_findings_carry_the_decision_model_b_and_each_control():
    settings = T.experiment_settings(True)
    res = _result()
    found = T.findings_of(res, settings)
    assert all(isinstance(f, Finding) for f in found) and len(found) == 5
    main, b, rigid, blocks, frozen = found
    assert "two-mode" in main.claim and main.decision == "agrees"
    assert (main.effect, main.ci, main.n) == (0.93, (0.9, 0.96), 15)
    assert "memorisation" in main.diagnostics and "5 of 5 arms in regime" in main.diagnostics
    assert "adiabatic" in main.paper and "prediction x 2: unresolved" in main.detail
    assert b.decision == "protects" and (b.effect, b.ci) == (0.05, (0.03, 0.07))
    assert "encoder_trains yes" in b.detail
    assert rigid.decision == "agrees" and rigid.effect == 0.93
    # the within-block CI straddles the band's edge: between blocks as predicted, within open
    assert blocks.decision == "partly as predicted" and "0.830 [0.630, 1.040]" in blocks.detail
    assert frozen.decision == "as predicted"
    res.controls["frozen_encoder"]["label_rate_ratio"] = 1.05
    res.controls["noise_blocks"]["no_collapse_between"] = False
    *_, blocks, frozen = T.findings_of(res, settings)
    assert frozen.decision == "not as predicted" and blocks.decision == "not as predicted"
    note = T.note_of(_result(), settings, True)
    assert "quick mode" in note and "'agrees'" in note and "0.930 [0.900, 0.960]" in note
    assert "band [0.8, 1.25]" in note and "Where it stops" not in note


def test_the_memorising_setting_is_reported_where_the_theory_stops():
    settings = T.experiment_settings(False)
    stops = _result("out of regime", memorisation=0.65)
    found = T.findings_of(_result(), settings, stops)
    last = found[-1]
    assert len(found) == 6 and "where the theory stops" in last.claim
    assert last.decision == "out of regime" and "0 of 5 arms in regime" in last.diagnostics
    # the slope over every noisy arm, rules ignored (measured = predicted x 1.00..1.04 here)
    assert 1.0 < last.effect < 1.04 and last.n == 15 and last.ci[0] < last.effect
    note = T.note_of(_result(), settings, False, stops)
    assert "full mode (8 seeds, 400 steps)" in note and "Where it stops" in note
    assert "0.65..0.65 > 0.2" in note
    ds = T._describe(_result().dataset, settings, stops)
    assert ds["memorising_measured"].dims == ("memorising_arm", "seed")
    assert ds.sizes["memorising_arm"] == 5 and ds.attrs["memorising_decision"] == "out of regime"
    assert ds.attrs["base_label_step"] == 1.0 and ds.attrs["sweep_frustration"] == 0.2


# ----------------------------------------------------------------------------- the figure

@pytest.mark.parametrize("memorising", [False, True])
def test_figure_draws_from_a_small_dataset(memorising):
    import matplotlib.pyplot as plt

    from figures.validation import plot_rate_agreement

    settings = T.experiment_settings(False)
    stops = _result("out of regime", memorisation=0.65) if memorising else None
    ds = T._describe(_result().dataset, settings, stops)
    fig = plot_rate_agreement(ds, title="t")
    try:
        axes = fig.axes
        assert len(axes) == 4 and "RECONSTRUCTION" in fig._suptitle.get_text()
        labels = [t.get_text() for t in axes[0].get_legend().get_texts()]
        assert ("memorising encoder" in labels) == memorising
        assert "agrees: slope 0.930" in axes[0].texts[0].get_text()
        # (b): measured, the two predictions and the zero-sum step at the swept p
        assert [t.get_text() for t in axes[1].get_xticklabels()] == ["0.5", "1", "2"]
        # (c) Model A and (d) Model B share the y scale and one colour per p
        assert axes[2].get_ylim() == axes[3].get_ylim()
        colour = {ln.get_label(): ln.get_color() for ln in axes[2].lines}
        assert all(colour[ln.get_label()] == ln.get_color() for ln in axes[3].lines)
        assert not math.isnan(axes[0].get_xlim()[0])
    finally:
        plt.close(fig)


@pytest.mark.slow  # trains every arm (~1-2 min on 2 cores)
def test_quick_figure_runs_and_agrees():
    result = VAL_THEORY_RATES.run(True)
    assert all(c.passed for c in result.checks), [c.quantity for c in result.checks
                                                   if not c.passed]
    assert result.findings[0].decision == "agrees"
    assert result.findings[1].decision == "protects"
