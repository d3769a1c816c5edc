"""The collapse-lab command line and the reproduction report."""

import os

import pytest
import xarray as xr

from paper_repro.cli import main, parse_assignment


def test_parse_assignment():
    assert parse_assignment("frustration=0,0.1,0.2") == ("frustration", (0, 0.1, 0.2))
    assert parse_assignment("dim=8") == ("dim", 8)
    assert parse_assignment("kind=soft") == ("kind", "soft")
    assert parse_assignment("save_state=true") == ("save_state", True)
    with pytest.raises(ValueError, match="key=value"):
        parse_assignment("dim")


def test_list_names_every_figure_and_sweep(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("F2", "F3", "F4", "PD_modelA", "HG_price", "HG_integrators", "HG_risk",
                 "HG_pendulum", "modelA_phase_K", "modelA_phase_n", "F5", "F6", "F7", "PD_modelB",
                 "PD_threshold", "modelB_phase", "VAL_theory_rates", "VAL_hamjepa",
                 "VAL_hypersolid"):
        assert name in out


def test_sweep_command_writes_a_resumable_store(tmp_path, capsys):
    store = str(tmp_path / "pd.zarr")
    args = ["sweep", "modelA_phase_K", "--quick", "--out", store, "--set", "frustration=0,0.3",
            "--set", "n_classes=2,3", "--set", "seed_A=0", "--set", "solver=closed_form"]
    assert main(args) == 0
    ds = xr.load_dataset(str(tmp_path / "pd.nc"))
    assert dict(ds.sizes) == {"frustration": 2, "n_classes": 2, "seed_A": 1, "t": 41}
    assert int((ds["result"] != 0).sum()) == 0 and ds.attrs["reconstruction"] == 1
    assert main(args) == 0  # rerun: resumes a finished store, nothing to do
    assert "done: 4 points, 0 solver failures" in capsys.readouterr().out


def test_cli_errors_are_clear_and_write_nothing(tmp_path, capsys):
    store = str(tmp_path / "x.zarr")
    assert main(["sweep", "modelA_phase_K", "--quick", "--out", store,
                 "--set", "temperature=1,2"]) == 2
    assert "unknown sweep axis or parameter 'temperature'" in capsys.readouterr().err
    assert not os.path.exists(store)
    assert main(["sweep", "nope"]) == 2
    assert main(["repro", "F99", "--out", str(tmp_path)]) == 2


@pytest.mark.parametrize("figure", ["F4", "HG_price", "HG_integrators", "HG_risk", "HG_pendulum"])
def test_repro_writes_figures_and_report(tmp_path, figure):
    assert main(["repro", figure, "--quick", "--out", str(tmp_path)]) == 0
    for name in (f"{figure}.pdf", f"{figure}.png", "report.md"):
        assert (tmp_path / name).exists()
    report = (tmp_path / "report.md").read_text()
    assert "RECONSTRUCTION" in report and f"| {figure} |" in report and "**FAIL**" not in report


@pytest.mark.slow
def test_sweep_on_local_dask_workers_matches_one_process(tmp_path, capsys):
    args = ["sweep", "modelA_phase_K", "--quick", "--set", "frustration=0,0.3",
            "--set", "n_classes=2,3", "--set", "seed_A=0,1", "--set", "solver=closed_form"]
    assert main(args + ["--out", str(tmp_path / "one.zarr")]) == 0
    assert main(args + ["--out", str(tmp_path / "two.zarr"), "--workers", "2"]) == 0
    xr.testing.assert_identical(xr.load_dataset(str(tmp_path / "one.nc")),
                                xr.load_dataset(str(tmp_path / "two.nc")))
    assert main(args + ["--out", str(tmp_path / "x.zarr"), "--workers", "0"]) == 2
    assert "--workers=0" in capsys.readouterr().err
