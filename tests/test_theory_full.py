"""The theory figures' settings (the key of a committed full-mode result), the committed
full-mode results themselves, and PD_threshold's boundary fit on data whose answer is known."""

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from paper_repro import hamiltonian, registry, results
from paper_repro.minimal_collapse import model_a, model_b, model_c, sg_threshold

THEORY = ["F2", "F3", "F4", "PD_modelA", "F5", "F6", "F7", "PD_modelB", "PD_threshold",
          "HG_price", "HG_integrators", "HG_risk", "HG_pendulum"]


def _key(name, quick=False):
    return results.figure_settings_hash(registry.FIGURES[name], quick=quick)[1]


@pytest.mark.parametrize("name", THEORY)
def test_every_theory_figure_declares_plain_settings_per_mode(name):
    config = registry.FIGURES[name]
    assert config.settings is not None
    quick, full = config.settings(True), config.settings(False)
    results.canonical_json(quick), results.canonical_json(full)  # plain JSON, else raises
    assert _key(name) == _key(name) and _key(name, True) == _key(name, True)
    assert _key(name, True) != _key(name)


@pytest.mark.parametrize("name, owner, attribute, change", [
    ("F2", model_a, "F23_MODEL", lambda v: {**v, "dim": 8}),
    ("F3", model_a, "F3_EXPECTED", lambda v: {**v, 0.04: (0.975, 3.175, 0.13, 1.266, 0.15)}),
    ("F4", model_a, "F4_CUBIC", lambda v: {**v, (4, 50, 0.1): (0.1221, 0.12323)}),
    ("F5", model_b, "F5_SG", lambda v: {**v, 0.3: 1.7}),
    ("F6", model_b, "F6_RATES", lambda v: {**v, 0.0: 9.5e-2}),
    ("PD_modelB", model_b, "PD_SOLVER", lambda v: "dopri8-lean"),
    ("F7", model_c, "F7_EXPECTED", lambda v: {**v, ("plain", 1.0, 0.0): (0.4, 0.328, 1.0)}),
    ("PD_threshold", sg_threshold, "FIT", lambda v: {**v, "separated_ratio": 0.2}),
    ("HG_price", hamiltonian, "T7_EXPECTED", lambda v: {**v, 1: 1.67}),
    ("HG_integrators", hamiltonian, "TOY_SPREAD", lambda v: {**v, 20000: (0.03,) * 4}),
    ("HG_pendulum", hamiltonian, "SHOWCASE", lambda v: {**v, "dt": 0.05}),
])
def test_a_changed_setting_changes_the_key(monkeypatch, name, owner, attribute, change):
    before = _key(name)
    monkeypatch.setattr(owner, attribute, change(getattr(owner, attribute)))
    assert _key(name) != before
    monkeypatch.undo()
    assert _key(name) == before


def test_sweep_figures_key_their_sweeps_axes_and_model(monkeypatch):
    """A figure that runs a named sweep keys the sweep's own axes and model fields: changing
    the sweep's grid changes the key."""
    s = sg_threshold.threshold_settings(False)
    assert s["axes"][0] == ["n_classes", [2, 4]] and s["model"]["t_max"] == 1000.0
    before = _key("PD_modelA")
    sweep = model_a.MODELA_PHASE_K
    monkeypatch.setattr(model_a, "MODELA_PHASE_K", dataclasses.replace(
        sweep, axes=lambda q: sweep.axes(q)[:2]))
    assert _key("PD_modelA") != before


def test_settings_import_no_jax():
    code = ("import sys\nfrom paper_repro import registry, results\n"
            f"for n in {THEORY!r}:\n"
            "    for q in (True, False):\n"
            "        results.figure_settings_hash(registry.FIGURES[n], quick=q)\n"
            "assert 'jax' not in sys.modules, 'settings imported jax'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_committed_full_results_match_the_settings_and_pass():
    """Every committed full-mode theory result is keyed by the figure's current settings (so
    `repro NAME` reuses it) and all its checks passed; its files are present."""
    found = results.committed_sections(results.results_root())
    for name, meta in found.items():
        if name not in THEORY:
            continue
        assert meta["config_hash"] == _key(name), f"{name}: committed result is stale"
        checks = meta["section"]["checks"]
        assert checks and all(c["passed"] for c in checks), name
        folder = results.figure_dir(name)
        assert all(os.path.exists(os.path.join(folder, f)) for f in meta["files"]), name
        assert results.canonical_json(meta["settings"]) == results.canonical_json(
            registry.FIGURES[name].settings(False))


# ----------------------------------------------------------- PD_threshold's boundary fit

def _threshold_dataset(shift=0.0):
    """K = 2 end points on the reduction's separated branch,
    d*^2 = 2 (1 + 2 Q0 - rho) / (2 + f/n), collapsed beyond the line moved by ``shift`` in Q0;
    d_min(0) = 1, so the collapse ratio is d_min(T) where d_min(T) < 1."""
    rho = np.array([2 * 3 / 53, 2 * 15 / 65])          # f = 3 and 15 of n = 50
    p_eff = np.array([0.06, 0.3])
    Q0 = np.array([-0.49, -0.45, -0.40, -0.30, -0.09, 0.36, 1.31])
    margin = 1 + 2 * (Q0[None, :] - shift) - rho[:, None]
    d_T = np.sqrt(np.clip(2 * margin / (2 + p_eff[:, None]), 0, None))
    d = np.stack([np.ones_like(d_T), d_T, d_T], axis=-1)[None]   # (K, p, scale, t)
    dims = ("n_classes", "frustration", "init_scale")
    full = lambda a: np.broadcast_to(a, (1, 2, len(Q0)))  # noqa: E731
    return xr.Dataset(
        {"d_min": (dims + ("t",), d), "Q0": (dims, full(Q0[None, None])),
         "Q0_max": (dims, full(Q0[None, None] + 0.1)), "rho": (dims, full(rho[None, :, None])),
         "frustration_eff": (dims, full(p_eff[None, :, None]))},
        coords={"n_classes": [2], "frustration": [0.05, 0.3], "init_scale": np.arange(7),
                "t": [0.0, 500.0, 1000.0]})


def test_boundary_fit_recovers_the_reduction_line_and_slope():
    fit = sg_threshold.boundary_fit(_threshold_dataset(), sg_threshold.FIT)
    np.testing.assert_allclose(fit["fit"], fit["line"], atol=1e-12)
    np.testing.assert_allclose(fit["slope"], fit["slope_predicted"], rtol=1e-12)
    assert (fit["inversions"] == 0).all() and (fit["n_fit"] >= 2).all()
    assert (fit["lo"] < fit["line"]).all() and (fit["line"] < fit["hi"]).all()
    np.testing.assert_allclose(fit["hi_max"] - fit["hi"], 0.1)
    rho = _threshold_dataset()["rho"].values[0, :, 0]
    np.testing.assert_allclose(sg_threshold._fit_line(rho, fit["fit"][0]), (1.0, 2.0))


def test_boundary_fit_sees_a_moved_boundary():
    """The check on |fitted Q0_c - (rho - 1)/2| can fail: data whose boundary sits 0.05 above
    the line is fitted there."""
    fit = sg_threshold.boundary_fit(_threshold_dataset(shift=0.05), sg_threshold.FIT)
    np.testing.assert_allclose(fit["fit"] - fit["line"], 0.05, atol=1e-12)
    assert np.max(np.abs(fit["fit"] - fit["line"])) > 0.03   # the full-mode tolerance


def test_boundary_bracket_counts_inversions():
    q = np.array([-0.4, -0.3, -0.2, -0.1])
    assert sg_threshold._bracket(q, np.array([False, False, True, True])) == (-0.3, -0.2, 0)
    lo, hi, inversions = sg_threshold._bracket(q, np.array([False, True, False, True]))
    assert (lo, hi, inversions) == (-0.2, -0.3, 1)
    lo, hi, _ = sg_threshold._bracket(q, np.zeros(4, bool))
    assert lo == -0.1 and np.isnan(hi)
