"""Committed results keyed by a hash of their settings (paper_repro.results): `repro NAME` in
full mode reuses a committed result whose key matches and says so, a changed setting
invalidates it, --recompute reruns; single SSL runs are committed and resumed; the findings
table is regenerated from what is committed."""

import json
import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from paper_repro import registry, results  # noqa: E402
from paper_repro.base import Check, FigureConfig, FigureResult, Finding  # noqa: E402
from paper_repro.cli import main  # noqa: E402


@pytest.fixture
def store(tmp_path, monkeypatch):
    root = tmp_path / "results"
    monkeypatch.setenv(results.RESULTS_ENV, str(root))
    return root


def _figure(name, settings, calls):
    def run(quick):
        calls.append(quick)
        f = Finding("knn20_shift: A > B", "reproduced", 0.05, (0.03, 0.07), 1 / 32, 0.02, 5,
                    "CIFAR-100 31.45 vs 26.56", "paper", "primary family", "cos 0.99")
        return FigureResult(plt.figure(), [Check("q", 1.0, 1.0)], None, "words", [f])

    return FigureConfig(name, "P", f"title {name}", "RECONSTRUCTION", "d", quick_s=1.0,
                        full_s=2.0, run=run, settings=lambda quick: dict(settings, quick=quick))


def test_config_hash_is_canonical_and_refuses_what_is_not_json():
    a = {"seeds": (0, 1), "lr": 5e-4, "name": "x"}
    b = {"name": "x", "lr": 0.0005, "seeds": [0, 1]}
    assert results.config_hash(a) == results.config_hash(b)
    assert len(results.config_hash(a)) == 12
    assert results.config_hash(a) != results.config_hash({**a, "lr": 1e-3})
    assert results.canonical_json(a) == '{"lr":0.0005,"name":"x","seeds":[0,1]}'
    with pytest.raises(ValueError, match=r"settings.lr=nan"):
        results.config_hash({"lr": float("nan")})
    with pytest.raises(ValueError, match="not a plain JSON value"):
        results.config_hash({"f": object()})


def test_repro_full_reuses_a_committed_result_and_a_changed_config_invalidates_it(
        store, tmp_path, monkeypatch, capsys):
    calls = []
    fig = _figure("FAKE_c", {"seeds": [0, 1, 2, 3, 4]}, calls)
    monkeypatch.setitem(registry.FIGURES, "FAKE_c", fig)
    out = tmp_path / "out"
    assert main(["repro", "FAKE_c", "--out", str(out)]) == 0
    key = results.config_hash({"seeds": [0, 1, 2, 3, 4], "quick": False})
    folder = store / "full" / "FAKE_c"
    meta = json.loads((folder / "result.json").read_text())
    assert meta["config_hash"] == key and meta["settings"]["seeds"] == [0, 1, 2, 3, 4]
    assert sorted(meta["files"]) == ["FAKE_c.nc", "FAKE_c.png"]
    assert {"seconds", "date", "package_version"} <= set(meta)
    assert meta["section"]["findings"][0]["diagnostics"] == "cos 0.99"
    assert calls == [False] and f"committed to {folder} (config {key})" in capsys.readouterr().out
    # the same settings again: nothing runs, and it says so
    out2 = tmp_path / "out2"
    assert main(["repro", "FAKE_c", "--out", str(out2)]) == 0
    said = capsys.readouterr().out
    assert calls == [False]
    assert f"using committed result {folder} (config {key}" in said
    assert (out2 / "FAKE_c.png").exists() and (out2 / "FAKE_c.nc").exists()
    text = (out2 / "report.md").read_text()
    assert f"Using the committed result" in text and key in text
    assert "cos 0.99" in text   # the diagnostics beside the decision
    # quick mode never reads or writes committed results
    assert main(["repro", "FAKE_c", "--quick", "--out", str(out2)]) == 0
    assert calls == [False, True]
    # a changed setting: a new key, the old result is not used, and the new one replaces it
    monkeypatch.setitem(registry.FIGURES, "FAKE_c", _figure("FAKE_c", {"seeds": [0, 1]}, calls))
    assert main(["repro", "FAKE_c", "--out", str(out2)]) == 0
    said = capsys.readouterr().out
    assert calls == [False, True, False] and f"made with config {key}" in said
    new = json.loads((folder / "result.json").read_text())["config_hash"]
    assert new != key
    # --recompute reruns although the key matches
    assert main(["repro", "FAKE_c", "--recompute", "--out", str(out2)]) == 0
    assert calls == [False, True, False, False]
    # a committed file gone: the result is not used
    os.remove(folder / "FAKE_c.nc")
    assert main(["repro", "FAKE_c", "--out", str(out2)]) == 0
    assert calls == [False, True, False, False, False]


def test_figures_without_settings_are_never_stored(store, tmp_path, monkeypatch):
    calls = []
    fig = _figure("FAKE_n", {}, calls)
    monkeypatch.setitem(registry.FIGURES, "FAKE_n", FigureConfig(
        "FAKE_n", "P", "t", "RECONSTRUCTION", "d", 1.0, 2.0, run=fig.run))
    assert main(["repro", "FAKE_n", "--out", str(tmp_path / "o")]) == 0
    assert main(["repro", "FAKE_n", "--out", str(tmp_path / "o")]) == 0
    assert calls == [False, False] and not store.exists()


def test_findings_table_comes_from_committed_results(store, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(registry.FIGURES, "FAKE_c", _figure("FAKE_c", {"s": 1}, []))
    assert main(["repro", "FAKE_c", "--out", str(tmp_path / "o")]) == 0
    capsys.readouterr()
    assert main(["findings", "--from", str(store)]) == 0
    table = capsys.readouterr().out
    assert table.startswith("| figure | claim | decision | effect [95% CI] | p | delta_min |")
    row = [line for line in table.splitlines() if line.startswith("| FAKE_c")][0]
    for cell in ("knn20_shift: A > B", "**reproduced**", "+0.05 [0.03, 0.07]", "0.03125",
                 "0.02", "CIFAR-100 31.45 vs 26.56", "cos 0.99"):
        assert cell in row
    assert "- FAKE_c: full mode, config " in table
    assert main(["findings", "--from", str(tmp_path / "none")]) == 0
    assert "(no committed findings)" in capsys.readouterr().out


def test_a_damaged_committed_result_is_a_one_line_error(store, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(registry.FIGURES, "FAKE_c", _figure("FAKE_c", {"s": 1}, []))
    (store / "full" / "FAKE_c").mkdir(parents=True)
    (store / "full" / "FAKE_c" / "result.json").write_text("{broken")
    assert main(["findings"]) == 2
    err = capsys.readouterr().err
    assert "result.json: not a committed collapse-lab result" in err and err.count("\n") == 1


def test_single_runs_are_committed_and_resumed(store, monkeypatch):
    """collect_runs in full mode: a finished run is written under NAME/runs/ keyed by its
    configuration and read back instead of trained; a changed configuration trains again."""
    import dataclasses

    from paper_repro.validation import ssl_evaluation as SE
    from paper_repro.validation.ssl_hypersolid import TABLE

    from simulations.experiments import ssl_experiments as sx

    table = dataclasses.replace(TABLE, full_seeds=(0, 1))
    computed, selected = [], []

    def score(objective, quick, lr, options, **kw):   # no training: the last candidate wins
        selected.append((objective, lr))
        return float(sx.candidates(objective).index((lr, dict(options))))

    monkeypatch.setattr(sx, "validation_score", score)
    monkeypatch.setattr(sx, "_RUN_CACHE", {})
    n_candidates = sum(len(sx.candidates(o)) for o in table.objectives)

    def compute(cfg):
        objective, seed = cfg.objective, cfg.seed
        computed.append((objective, seed))
        assert (cfg.lr, dict(cfg.objective_options)) == sx.candidates(objective)[-1]
        return {"z/knn20": 0.5 + seed, "z/spectrum": np.array([3.0, 1.0]),
                "z/test_features": np.zeros((3, 2)), "frac_violating": np.array([0.9, 0.1])}

    first = SE.collect_runs(table, False, store=True, compute=compute)
    assert len(computed) == 6 and first["vicreg"][1]["z/knn20"] == 1.5
    files = sorted(os.listdir(store / "VAL_hypersolid" / "runs"))
    runs = [f for f in files if not f.startswith("tune-")]
    assert len(runs) == 6 and runs[0].startswith("hypersolid-s0-")
    # every candidate's validation score is committed once, beside the runs
    tuned = [f for f in files if f.startswith("tune-")]
    assert len(tuned) == len(selected) == n_candidates
    assert {f.split("-s0-")[0] for f in tuned} == {"tune-hypersolid", "tune-sigreg",
                                                    "tune-vicreg"}
    monkeypatch.setattr(sx, "_RUN_CACHE", {})
    again = SE.collect_runs(table, False, store=True, compute=compute)
    assert len(computed) == 6 and len(selected) == n_candidates   # resumed from the commits
    assert again["hypersolid"][0]["z/knn20"] == 0.5
    np.testing.assert_array_equal(again["hypersolid"][0]["z/spectrum"], [3.0, 1.0])
    assert "z/test_features" not in again["hypersolid"][0]
    # another figure training the same configuration finds the committed run
    other = dataclasses.replace(table, name="VAL_other")
    SE.collect_runs(other, False, store=True, compute=compute)
    assert len(computed) == 6
    # a changed training configuration: a new key, trained again
    from simulations.experiments import ssl_experiments as sx

    SE.collect_runs(dataclasses.replace(table, full_steps=1200), False, store=True,
                    compute=lambda cfg: compute(cfg) if cfg.steps == 1200 else 1 / 0)
    assert len(computed) == 12 and len(selected) == n_candidates
    # quick mode stores nothing (and selects nothing: the defaults)
    n_files = len(os.listdir(store / "VAL_hypersolid" / "runs"))
    SE.collect_runs(table, True, store=False, compute=lambda cfg: {"z/knn20": 0.5})
    assert len(os.listdir(store / "VAL_hypersolid" / "runs")) == n_files == 12 + n_candidates


def test_ssl_figures_declare_their_settings():
    from paper_repro.validation import VAL_HAMJEPA, VAL_HYPERSOLID

    for fig in (VAL_HAMJEPA, VAL_HYPERSOLID):
        quick, full = fig.settings(True), fig.settings(False)
        assert results.config_hash(quick) != results.config_hash(full)
        assert full["seeds"] == [0, 1, 2, 3, 4] and quick["seeds"] == [0, 1, 2]
        primary = full["families"][0]
        assert primary["name"] == "primary" and len(primary["claims"]) == 1
        assert all(c[3] > 0 for f in full["families"] for c in f["claims"])
        assert "sigreg" in full["train"] and "seed" not in full["train"]["sigreg"]


def test_predictor_diagnostics_are_committed_per_seed_and_reused(store, monkeypatch):
    import dataclasses

    from paper_repro.validation import ssl_hamjepa as H
    from simulations.experiments import predictor_diagnostics as PD

    from simulations.experiments import ssl_experiments as sx

    table = dataclasses.replace(H.TABLE, full_seeds=(0, 1))
    trained, measured = [], []
    monkeypatch.setattr(sx, "trained", lambda cfg: trained.append(cfg) or cfg)
    monkeypatch.setattr(H, "tuned_recipe", lambda t, o, q, store: {"lr": 2e-3, "options": {}})

    def fake(ham, mlp, *, n_states, seed):
        measured.append(seed)
        return {"grad_cosine": 0.9 + seed / 100, "fphi_share": 0.1, "symplecticity_defect":
                1e-7, "symplecticity_defect_mlp": 1e-3, "n_states": n_states,
                "residual_scale": 0.02}

    monkeypatch.setattr(PD, "predictor_diagnostics", fake)
    first = H._diagnostics(table, False)
    np.testing.assert_allclose(first["grad_cosine"], [0.9, 0.91])
    assert measured == [0, 1] and len(trained) == 4
    # the models diagnosed are the table's tuned runs
    assert {(c.objective, c.seed, c.lr) for c in trained} == {
        (o, s, 2e-3) for o in ("hamjepa", "mlp_hjepa") for s in (0, 1)}
    assert len(list((store / "VAL_hamjepa" / "runs").glob("diagnostics-s*-*.nc"))) == 2
    again = H._diagnostics(table, False)
    assert measured == [0, 1] and len(trained) == 4   # read back, nothing trained
    np.testing.assert_allclose(again["grad_cosine"], first["grad_cosine"])
    assert "0.90500 (seeds 0.90000 .. 0.91000)" in H.diagnostics_text(again)
    H._diagnostics(dataclasses.replace(table, quick_seeds=(0, 1, 2)), True)   # quick mode: computed, never stored
    assert measured == [0, 1, 0, 1, 2]
    assert len(list((store / "VAL_hamjepa" / "runs").glob("*.nc"))) == 2
