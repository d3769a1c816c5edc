r"""Does a trained encoder collapse at the rate the minimal model predicts -- and can the test
tell that model from its adiabatic rival?  [RECONSTRUCTION of arXiv:2604.09979 on real
encoders; every choice here is this toolkit's]

Theory (:mod:`minimal_models.label_noise`).  Under label noise a rigid-class encoder is Model A
on K class nodes with the confusion counts C as coupling; the class nodes move with the
encoder's class-node step matrix E, the labels with eta_y.  One GD step is
Z <- (I - nu H L_G(C)) Z, H = blockdiag(E, eta_y I), and d_min decays per step at
-log(1 - mu), mu the slow eigenvalues (:func:`minimal_models.label_noise.kernel_rates`).  E is
probed once, before training (:func:`simulations.encoders.class_kernel.probe_class_kernel`),
and reduced to its common and zero-sum steps (the *two-mode* kernel,
:func:`minimal_models.label_noise.two_mode_kernel`); nothing is fitted to the runs it predicts.
The rival is the adiabatic limit E -> infinity (:func:`minimal_models.label_noise.adiabatic_rates`):
rate ~ nu n eta_y (1 - a^2), linear in eta_y, where the two-mode rate saturates once eta_y
exceeds the zero-sum step.  Hence the design: a grid of p at the run's eta_y, and an eta_y
sweep at one p that straddles the zero-sum step.

Decision (:func:`analysis.label_noise_rates.agreement_decision`): regress measured on
predicted rates over the (p, eta_y, seed) points of arms in regime; "agrees" when the slope's
CI lies in ``band`` and excludes the adiabatic model's implied slope, "adiabatic" for the
reverse, else "unresolved"; "out of regime" when the arms in regime no longer span 3 values
of p and 3 of eta_y.  Regime rules, per arm (an arm = one (p, eta_y) cell over its seeds):
the p = 0 drift at that eta_y is below ``drift_fraction`` of the smallest predicted rate;
the classes separate at p = 0 (nearest-label accuracy >= ``separation_accuracy``); the
memorisation index of flipped samples at the end of the fit window is <= ``memorisation_max``
(a flipped sample moved a fraction m toward its noisy label weakens its frustrated link by
about m, so 0.2 keeps that bias inside the band).

Controls, each with its prediction: every input replaced by its class mean (the rigid-class
model made exact; same decision rule), flips confined to blocks of classes (no collapse
between blocks; the within-block rate as predicted), the encoder frozen (labels relax at the
label-only rate -log|1 - nu eta_y n_k| and d_min does not collapse).  Model B (shared head +
stop-gradient) on the same (p, seed) runs: preconditions that it trains (its encoder and its
head move; its consistent accuracy is >= ``separation_accuracy`` when the rate window opens;
its rates are finite for >= 2 seeds), then the protection claim as the slope of Model B's on
Model A's measured rates with its CI: "protects" when the CI lies below
``protection_ratio``, "does not protect" when above it, else "unresolved".

Entry points: :func:`run_theory_rates` (settings -> :class:`TheoryRatesResult`: a Dataset,
the decision record, the controls, Model B, the substitutions and the check values), or its
two halves :func:`train_theory_rates` (the training, storable) and
:func:`analyse_theory_rates` (seconds).  The controls, Model B and the checks are in
:mod:`.theory_rates_controls`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from analysis.label_noise_rates import (agreement_decision, collapse_window, measured_rate,
                                        slope_through_origin)
from minimal_models import label_noise as theory
from minimal_models import validation as check
from simulations.encoders.label_arms import Arm, train_arms
from simulations.encoders.label_noise import LabelNoiseRun

from .theory_rates_controls import (block_control, experiment_checks, frozen_control,
                                    model_b_record, predicted_rates)

__all__ = ["DECISIONS", "TheoryRatesSettings", "TheoryRatesResult", "run_theory_rates",
           "train_theory_rates", "analyse_theory_rates", "rates_table", "regime_flags",
           "main_decision"]

DECISIONS = ("agrees", "adiabatic", "unresolved", "out of regime", "rival")


@dataclasses.dataclass(frozen=True)
class TheoryRatesSettings:
    """Everything the experiment is decided by, fixed before the run (validated).

    ``run``: network, data, encoder step, seeds, steps and the base label step eta_y
    (``run.lr_labels``), at which the p grid ``frustrations`` runs; ``label_steps``: the
    eta_y sweep at ``sweep_frustration``; ``control_frustration``: the p of the block and
    frozen controls (at the base eta_y) and of the rigid-input control (at
    ``rigid_label_steps``); the rest are the decision's and the regime's bounds."""

    run: LabelNoiseRun
    frustrations: tuple = (0.1, 0.15, 0.2, 0.25, 0.3)
    label_steps: tuple = (0.25, 0.5, 1.0, 2.0)
    sweep_frustration: float = 0.2
    control_frustration: float = 0.2
    rigid_label_steps: tuple = (0.5, 2.0)
    noise_blocks: tuple = ((0, 1), (2, 3))
    band: tuple = (0.8, 1.25)
    confidence: float = 0.95
    drift_fraction: float = 0.1
    separation_accuracy: float = 0.95
    memorisation_max: float = 0.2
    protection_ratio: float = 0.5
    min_shift: float = 0.01
    model_b_alpha: float = 1.0

    def __post_init__(self):
        if not isinstance(self.run, LabelNoiseRun):
            raise ValueError(f"run must be a LabelNoiseRun, got {type(self.run).__name__}")
        if self.run.objective != "model_a":
            raise ValueError(f"run.objective={self.run.objective!r} must be 'model_a' (Model B "
                             "runs on the same arms with objective='model_b')")
        if len(self.run.seeds) < 2:
            raise ValueError(f"run.seeds={self.run.seeds!r}: a CI needs at least 2 seeds")
        if len(set(self.frustrations)) < 5:
            raise ValueError(f"frustrations={self.frustrations!r} must hold >= 5 distinct values")
        for p in self.frustrations:
            check.real("frustration", p, low=0.0, high=1.0, low_open=True)
        if len(set(self.label_steps)) < 3:
            raise ValueError(f"label_steps={self.label_steps!r} must hold >= 3 distinct values")
        for eta in self.label_steps + self.rigid_label_steps:
            check.positive("label step", eta)
        for name in ("sweep_frustration", "control_frustration"):
            check.real(name, getattr(self, name), low=0.0, high=1.0, low_open=True)
        lo, hi = self.band
        if not 0 < lo < 1 < hi:
            raise ValueError(f"band={self.band!r} must be (low, high) with 0 < low < 1 < high")
        check.real("confidence", self.confidence, low=0.0, high=1.0, low_open=True,
                   high_open=True)
        check.real("drift_fraction", self.drift_fraction, low=0.0, high=1.0, low_open=True)
        check.real("separation_accuracy", self.separation_accuracy, low=0.0, high=1.0)
        check.positive("memorisation_max", self.memorisation_max)
        check.positive("protection_ratio", self.protection_ratio)
        check.positive("min_shift", self.min_shift)
        check.real("model_b_alpha", self.model_b_alpha, low=0.0, high=1.0)
        Arm(noise_blocks=self.noise_blocks)  # validates the blocks

    @property
    def base_label_step(self) -> float:
        return float(self.run.lr_labels)

    def main_arms(self) -> list[Arm]:
        """The p grid at the base eta_y and the eta_y sweep at ``sweep_frustration``, each
        eta_y with its p = 0 arm (the drift and separation of the regime rules)."""
        base = self.base_label_step
        cells = [(0.0, base)] + [(float(p), base) for p in self.frustrations]
        for eta in self.label_steps:
            cells += [(0.0, float(eta)), (float(self.sweep_frustration), float(eta))]
        return [Arm(p, lr_labels=eta) for p, eta in dict.fromkeys(cells)]

    def control_arms(self) -> list[Arm]:
        p, base = float(self.control_frustration), self.base_label_step
        return ([Arm(p, lr_labels=float(eta), inputs="class_means")
                 for eta in self.rigid_label_steps]
                + [Arm(p, lr_labels=base, noise_blocks=self.noise_blocks),
                   Arm(p, lr_labels=base, encoder="frozen")])

    def model_b_arms(self) -> list[Arm]:
        """The p grid at the base eta_y, trained and with the encoder frozen (the frozen arms
        are the substitution that the Model B preconditions must reject)."""
        base = self.base_label_step
        return ([Arm(float(p), lr_labels=base) for p in self.frustrations]
                + [Arm(float(p), lr_labels=base, encoder="frozen") for p in self.frustrations])


@dataclasses.dataclass
class TheoryRatesResult:
    """``dataset`` (arm, seed[, step]) with measured and predicted rates, regime flags, the
    probed kernels and the d_min trajectories; ``finding`` the decision record; ``controls``,
    ``model_b`` and ``substitutions`` their records; ``checks`` dicts with the fields of
    :class:`paper_repro.base.Check`."""

    dataset: xr.Dataset
    finding: dict
    controls: dict
    model_b: dict
    substitutions: dict
    checks: list


def rates_table(ds: xr.Dataset, kernels: dict, *, kernel_scale: float = 1.0) -> xr.Dataset:
    """Per (arm, seed) of a :func:`simulations.encoders.label_arms.train_arms` dataset:
    ``measured`` (:func:`analysis.label_noise_rates.measured_rate` of d_min), the fit window,
    ``memorisation`` at its end, ``acc_window`` (consistent accuracy at its start),
    ``acc_end``, ``encoder_shift`` / ``head_shift`` at the end, and the per-step predictions
    ``predicted`` (two-mode kernel), ``predicted_full`` (the probed E itself) and
    ``predicted_adiabatic``; ``kernels`` maps the arm's inputs to the (S, K, K) probed E
    (``kernel_scale`` multiplies it: the eta_x x 4 substitution)."""
    nu, K = float(ds.attrs["nu"]), int(ds.attrs["n_classes"])
    shape = (ds.sizes["arm"], ds.sizes["seed"])
    names = ("measured", "window_start", "window_end", "memorisation", "acc_window", "acc_end",
             "encoder_shift", "head_shift", "predicted", "predicted_full",
             "predicted_adiabatic")
    out = {k: np.full(shape, np.nan) for k in names}
    for i in range(shape[0]):
        arm = ds.isel(arm=i)
        frozen = str(arm["encoder"].values) == "frozen"
        eta_y = float(arm["lr_labels"].values)
        for j in range(shape[1]):
            d = arm["d_min"].values[j]
            start, end = collapse_window(d)
            out["measured"][i, j] = measured_rate(d)
            out["window_start"][i, j], out["window_end"][i, j] = start, end
            out["memorisation"][i, j] = arm["memorisation"].values[j, end]
            out["acc_window"][i, j] = arm["acc_cons"].values[j, start]
            out["acc_end"][i, j] = arm["acc_true"].values[j, -1]
            out["encoder_shift"][i, j] = arm["encoder_shift"].values[j, -1]
            out["head_shift"][i, j] = arm["head_shift"].values[j, -1]
            C = arm["C"].values[j]
            out["predicted_adiabatic"][i, j] = theory.per_step_rate(
                theory.adiabatic_rates(C, eta_y=eta_y, nu=nu)).mean()
            if frozen:
                continue  # no class-node step: the frozen control has its own prediction
            E = kernel_scale * kernels[str(arm["inputs"].values)][j]
            pred = predicted_rates(C, E, eta_y=eta_y, nu=nu)
            out["predicted"][i, j] = pred["two_mode"]
            out["predicted_full"][i, j] = pred["full"]
    return xr.Dataset({k: (("arm", "seed"), v) for k, v in out.items()},
                      coords={c: ds[c] for c in ("arm", "seed", "frustration", "lr_labels",
                                                 "encoder", "inputs", "noise_blocks")},
                      attrs={"nu": nu, "n_classes": K})


def regime_flags(table: xr.Dataset, settings: TheoryRatesSettings) -> xr.Dataset:
    """The regime rules per arm of the main grid (module docstring): ``drift_ratio`` (|p = 0
    rate| over the smallest seed-mean predicted rate at that eta_y), ``p0_accuracy`` (the
    p = 0 arm's smallest final accuracy over seeds), ``memorisation_mean`` and ``in_regime``
    (all three rules hold); p = 0 arms themselves are never points."""
    main = table.where((table["encoder"] == "trained") & (table["inputs"] == "samples")
                       & (table["noise_blocks"] == "None"), drop=True)
    etas = np.unique(main["lr_labels"].values)
    drift, acc = {}, {}
    for eta in etas:
        at = main.where(main["lr_labels"] == eta, drop=True)
        clean = at.where(at["frustration"] == 0.0, drop=True)
        noisy = at.where(at["frustration"] > 0.0, drop=True)
        smallest = float(noisy["predicted"].mean("seed").min()) if noisy.sizes["arm"] else np.nan
        drift[eta] = (abs(float(clean["measured"].mean())) / smallest
                      if clean.sizes["arm"] else np.nan)
        acc[eta] = float(clean["acc_end"].min()) if clean.sizes["arm"] else np.nan
    eta_of = main["lr_labels"].values
    memo = main["memorisation"].mean("seed").values
    d = np.array([drift[e] for e in eta_of])
    a = np.array([acc[e] for e in eta_of])
    ok = ((d <= settings.drift_fraction) & (a >= settings.separation_accuracy)
          & (memo <= settings.memorisation_max) & (main["frustration"].values > 0))
    return xr.Dataset({"drift_ratio": ("arm", d), "p0_accuracy": ("arm", a),
                       "memorisation_mean": ("arm", memo), "in_regime": ("arm", ok)},
                      coords={"arm": main["arm"], "frustration": main["frustration"],
                              "lr_labels": main["lr_labels"]})


def main_decision(table: xr.Dataset, flags: xr.Dataset, settings: TheoryRatesSettings, *,
                  predicted: str = "predicted", rival: str = "predicted_adiabatic",
                  scale: float = 1.0) -> dict:
    """The decision over the arms in regime (module docstring), with ``predicted`` (times
    ``scale``) as the prediction and ``rival`` as its rival: one of :data:`DECISIONS` with
    the slope, its CI, the rival's implied slope and the points used."""
    arms = flags["arm"].values[flags["in_regime"].values]
    sel = table.sel(arm=list(arms))
    base, p_s = settings.base_label_step, float(settings.sweep_frustration)
    n_p = len({float(p) for p, e in zip(sel["frustration"].values, sel["lr_labels"].values)
               if e == base})
    n_eta = len({float(e) for p, e in zip(sel["frustration"].values, sel["lr_labels"].values)
                 if p == p_s})
    record = agreement_decision(sel["measured"].values, scale * sel[predicted].values,
                                sel[rival].values, band=settings.band,
                                confidence=settings.confidence) if len(arms) else {
        "decision": "unresolved", "slope": np.nan, "ci_low": np.nan, "ci_high": np.nan,
        "n": 0, "rival_implied_slope": np.nan}
    # the rival's name when it wins: "adiabatic" for the adiabatic model (the decision the
    # experiment reports), "rival" when a substitution has swapped the two models
    rival_name = "adiabatic" if rival == "predicted_adiabatic" else "rival"
    decision = {"agrees": "agrees", "rival": rival_name}.get(record["decision"], "unresolved")
    if n_p < 3 or n_eta < 3:
        decision = "out of regime"
    return {**record, "decision": decision, "arms_in_regime": [str(a) for a in arms],
            "p_values_in_regime": n_p, "label_steps_in_regime": n_eta,
            "prediction": predicted if scale == 1.0 else f"{scale:g} x {predicted}",
            "rival": rival}


def train_theory_rates(settings: TheoryRatesSettings):
    """The expensive half: probe the class-node kernels of the untrained encoders
    ({"samples", "class_means"}: (S, K, K) each), then train the Model A arms (grid, eta_y
    sweep, controls) and the Model B arms, one compiled program each.  Returns
    ``(kernels, ds_a, ds_b)``, what :func:`analyse_theory_rates` takes (a caller may store
    them, keyed by the settings, and resume from them)."""
    from simulations.encoders.class_kernel import probe_class_kernel

    run = settings.run
    kernels = {kind: probe_class_kernel(run, inputs=kind) for kind in ("samples", "class_means")}
    ds_a = train_arms(run, settings.main_arms() + settings.control_arms())
    ds_b = train_arms(dataclasses.replace(run, alpha=settings.model_b_alpha),
                      settings.model_b_arms(), objective="model_b")
    return kernels, ds_a, ds_b


def analyse_theory_rates(settings: TheoryRatesSettings, kernels: dict, ds_a: xr.Dataset,
                         ds_b: xr.Dataset) -> TheoryRatesResult:
    """Everything after training: rates, regime, decision, controls, Model B, the
    substitutions and the checks, from the probed ``kernels`` ({inputs: (S, K, K)}) and the
    Model A / Model B datasets of :func:`simulations.encoders.label_arms.train_arms`."""
    table = rates_table(ds_a, kernels)
    flags = regime_flags(table, settings)
    finding = main_decision(table, flags, settings)
    used = table.sel(arm=finding["arms_in_regime"])
    full = slope_through_origin(used["measured"].values, used["predicted_full"].values,
                                confidence=settings.confidence)
    finding.update(slope_full_kernel=full["slope"],
                   ci_full_kernel=(full["ci_low"], full["ci_high"]),
                   kernel_modes={k: tuple(float(m) for m in np.mean(
                       [theory.kernel_modes(E) for E in v], axis=0)) for k, v in kernels.items()})
    controls = {
        "rigid_inputs": _rigid_control(table, settings),
        "noise_blocks": block_control(ds_a, table, settings),
        "frozen_encoder": frozen_control(ds_a, table, settings),
    }
    table_b = rates_table(ds_b, kernels)
    model_b = model_b_record(table_b.where(table_b["encoder"] == "trained", drop=True), table,
                             settings)
    substitutions = _substitutions(settings, kernels, ds_a, table, flags, table_b)
    checks = experiment_checks(settings, flags, substitutions, controls, model_b)
    ds = _result_dataset(ds_a, ds_b, table, table_b, flags, kernels, finding, model_b)
    return TheoryRatesResult(ds, finding, controls, model_b, substitutions, checks)


def run_theory_rates(settings: TheoryRatesSettings) -> TheoryRatesResult:
    """The whole experiment: :func:`train_theory_rates`, then :func:`analyse_theory_rates`."""
    return analyse_theory_rates(settings, *train_theory_rates(settings))


def _substitutions(settings, kernels, ds_a, table, flags, table_b) -> dict:
    """The rivals put where the right model or run was: four predictions that must not
    "agree", and two runs that must fail the Model B preconditions."""
    frozen = table_b.where(table_b["encoder"] == "frozen", drop=True)
    frozen = frozen.assign_coords(arm=[n.replace(" frozen", "") for n in frozen["arm"].values])
    grid = table.sel(arm=[n for n in table_b["arm"].values if " frozen" not in n])
    return {
        "prediction x 2": main_decision(table, flags, settings, scale=2.0),
        "prediction x 0.5": main_decision(table, flags, settings, scale=0.5),
        "eta_x x 4": main_decision(rates_table(ds_a, kernels, kernel_scale=4.0), flags,
                                   settings),
        "adiabatic model": main_decision(table, flags, settings,
                                         predicted="predicted_adiabatic", rival="predicted"),
        "frozen encoder as Model B": model_b_record(frozen, table, settings),
        "Model A as Model B": model_b_record(grid, table, settings),
    }


def _rigid_control(table: xr.Dataset, settings: TheoryRatesSettings) -> dict:
    rigid = table.where(table["inputs"] == "class_means", drop=True)
    rec = agreement_decision(rigid["measured"].values, rigid["predicted"].values,
                             rigid["predicted_adiabatic"].values, band=settings.band,
                             confidence=settings.confidence)
    rec["decision"] = {"rival": "adiabatic"}.get(rec["decision"], rec["decision"])
    return {**rec, "prediction": "measured = predicted (slope 1): the rigid-class kernel "
            "model is exact for class-mean inputs up to the kernel's drift in training"}


def _result_dataset(ds_a, ds_b, table, table_b, flags, kernels, finding, model_b):
    a = table.assign(d_min=ds_a["d_min"]).assign_coords(objective=("arm", ["model_a"] *
                                                                   table.sizes["arm"]))
    b = table_b.assign(d_min=ds_b["d_min"]).assign_coords(objective=("arm", ["model_b"] *
                                                                     table_b.sizes["arm"]))
    b = b.assign_coords(arm=[f"B {n}" for n in b["arm"].values])
    out = xr.concat([a, b], dim="arm")
    out["in_regime"] = ("arm", np.isin(out["arm"].values,
                                       flags["arm"].values[flags["in_regime"].values]))
    for name in ("drift_ratio", "p0_accuracy", "memorisation_mean"):
        out[name] = flags[name].reindex(arm=out["arm"].values)
    modes = {k: np.array([theory.kernel_modes(E) for E in v]) for k, v in kernels.items()}
    inputs = list(modes)
    out["eta_common"] = (("inputs_probed", "seed"), np.stack([modes[k][:, 0] for k in inputs]))
    out["eta_zero_sum"] = (("inputs_probed", "seed"), np.stack([modes[k][:, 1] for k in inputs]))
    out = out.assign_coords(inputs_probed=inputs)
    out.attrs.update({k: v for k, v in ds_a.attrs.items() if k.startswith("run_") or k in (
        "n_samples", "n_classes", "nu", "class_sizes")})
    out.attrs.update(reconstruction=1, decision=finding["decision"], slope=finding["slope"],
                     slope_ci_low=finding["ci_low"], slope_ci_high=finding["ci_high"],
                     adiabatic_implied_slope=finding["rival_implied_slope"],
                     protection=model_b["decision"], protection_ratio=model_b["ratio"],
                     protection_ci_low=model_b["ci_low"], protection_ci_high=model_b["ci_high"])
    return out
