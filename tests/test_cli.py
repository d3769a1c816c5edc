"""The collapse-lab command line and the reproduction report."""

import os

import pytest
import xarray as xr

from paper_repro.cli import main
from paper_repro.user_input import parse_assignment


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


@pytest.mark.slow
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


@pytest.mark.slow
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


# ------------------------------------------------------------------ one-line user errors

def _tree(root):
    """Every path under ``root`` with the bytes of each file: a snapshot to compare against."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            snap[os.path.join(dirpath, d)] = None
        for f in filenames:
            with open(os.path.join(dirpath, f), "rb") as fh:
                snap[os.path.join(dirpath, f)] = fh.read()
    return snap


def _assert_one_line_error(capsys, code, *needles):
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == 2, captured
    assert err.startswith("collapse-lab: error: ") and "\n" not in err, err
    assert "Traceback" not in captured.err + captured.out
    for needle in needles:
        assert needle in err, err
    return err


def _out_commands(out):
    return {"sweep": ["sweep", "modelA_phase_K", "--quick", "--out", out,
                      "--set", "seed_A=0", "--set", "solver=closed_form"],
            "repro": ["repro", "HG_price", "--quick", "--out", out],
            "train": ["train", "--objective", "sigreg", "--data", "gaussian_mixture",
                      "--set", "steps=2", "--out", out, "--no-eval"]}


@pytest.mark.parametrize("command", ["sweep", "repro", "train"])
def test_out_that_is_a_file_is_a_one_line_error(tmp_path, capsys, command):
    target = tmp_path / "taken"
    target.write_text("not a directory")
    before = _tree(tmp_path)
    code = main(_out_commands(str(target))[command])
    _assert_one_line_error(capsys, code, "--out", str(target), "is an existing file")
    assert _tree(tmp_path) == before  # nothing written


@pytest.mark.parametrize("command", ["sweep", "repro", "train"])
def test_out_under_a_file_is_a_one_line_error(tmp_path, capsys, command):
    (tmp_path / "file").write_text("x")
    out = str(tmp_path / "file" / "sub" / "run")
    before = _tree(tmp_path)
    code = main(_out_commands(out)[command])
    _assert_one_line_error(capsys, code, "lies under the file", str(tmp_path / "file"))
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("command", ["sweep", "repro", "train"])
def test_out_not_writable_is_a_one_line_error(tmp_path, capsys, monkeypatch, command):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() == 0:
        # root ignores mode bits: let the kernel's refusal happen as it would for a user
        real_mkdir = os.mkdir

        def refuse(path, *args, **kwargs):
            if os.path.abspath(os.fspath(path)).startswith(str(locked) + os.sep):
                raise PermissionError(13, "Permission denied", os.fspath(path))
            return real_mkdir(path, *args, **kwargs)

        monkeypatch.setattr(os, "mkdir", refuse)
    out = str(locked / "run")
    before = _tree(tmp_path)
    try:
        code = main(_out_commands(out)[command])
    finally:
        locked.chmod(0o755)
    _assert_one_line_error(capsys, code, "is not writable", str(locked), "Permission denied")
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("content", ["garbage", "no_data_key", "list"])
def test_bad_cifar_files_are_a_one_line_error(tmp_path, capsys, content):
    import pickle

    import numpy as np
    from cifar_files import write_cifar_pickle

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (20, 3, 32, 32), dtype=np.uint8)
    root = write_cifar_pickle(str(tmp_path / "data"), x, np.arange(20) % 10, x[:10],
                              np.arange(10) % 10)
    bad = os.path.join(root, "data_batch_3")
    with open(bad, "wb") as fh:
        if content == "garbage":
            fh.write(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
        elif content == "no_data_key":
            pickle.dump({b"labels": [0, 1]}, fh)
        else:
            pickle.dump([1, 2, 3], fh)
    out = tmp_path / "run"
    code = main(["train", "--objective", "sigreg", "--data", "cifar10", "--set",
                 f"data_dir={tmp_path / 'data'}", "--set", "steps=2", "--out", str(out),
                 "--no-eval"])
    _assert_one_line_error(capsys, code, bad)
    assert not out.exists()


@pytest.mark.slow
def test_damaged_store_is_a_one_line_error_naming_the_file(tmp_path, capsys):
    store = tmp_path / "pd.zarr"
    args = ["sweep", "modelA_phase_K", "--quick", "--out", str(store), "--set",
            "frustration=0,0.3", "--set", "n_classes=2", "--set", "seed_A=0", "--set",
            "solver=closed_form"]
    assert main(args) == 0
    capsys.readouterr()
    meta = store / "zarr.json"  # the store's own metadata: unreadable
    meta.write_bytes(b"\x00garbage{")
    final = tmp_path / "pd.nc"
    before = final.read_bytes()
    code = main(args)
    _assert_one_line_error(capsys, code, str(meta))
    assert final.read_bytes() == before  # the finished dataset is not replaced


def test_one_line_even_for_multi_line_messages(monkeypatch, capsys):
    import paper_repro.cli as cli

    def broken(args):
        raise ValueError("first line\nsecond line")

    monkeypatch.setattr(cli, "_cmd_list", broken)
    _assert_one_line_error(capsys, main(["list"]), "first line second line")
    monkeypatch.setenv("COLLAPSE_LAB_TRACEBACK", "1")  # debugging: the traceback comes back
    with pytest.raises(ValueError, match="second line"):
        main(["list"])


# --------------------------------------------------------------------- truthful guidance

def test_list_says_what_to_run_first_and_how_long(capsys):
    from paper_repro.registry import FIGURES, START_HERE, runtime_table

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("start here:") and f"repro {START_HERE} --quick" in out
    times = runtime_table()
    for name, config in FIGURES.items():
        row = next(line for line in out.splitlines() if line.strip().startswith(name + " "))
        assert ("*" in row.split("[")[0]) == config.quick_measured, row
        assert " / " in row
    total_h = sum(t["full"] for t in times.values()) / 3600
    assert f"~{total_h:.1f} h in total on 2 cores" in out


def test_runtimes_are_numbers_in_every_config():
    from paper_repro.base import FigureConfig, SweepConfig
    from paper_repro.registry import FIGURES, SWEEPS

    for config in FIGURES.values():  # every config states both times, in seconds
        assert 0 < config.quick_s and 0 < config.full_s
    for bad in (0, -1.0, float("nan"), float("inf"), "10 s", None, True):
        with pytest.raises(ValueError, match="quick_s="):
            FigureConfig("X", "p", "t", "RECONSTRUCTION", "d", quick_s=bad, full_s=1.0,
                         run=lambda quick: None)
    with pytest.raises(ValueError, match="status="):
        FigureConfig("X", "p", "t", "DONE", "d", quick_s=1.0, full_s=1.0, run=print)
    for config in SWEEPS.values():  # a measured time or None; grid sizes without the library
        assert config.quick_s is None or config.quick_s > 0
        assert 0 < config.n_points(True) <= config.n_points(False)
    with pytest.raises(ValueError, match="full_s="):
        SweepConfig("X", "d", lambda quick: [], print, chunk_size=1, full_s=0)
    with pytest.raises(ValueError, match="chunk_size="):
        SweepConfig("X", "d", lambda quick: [], print, chunk_size=0)


@pytest.mark.parametrize("argv", [["--help"], ["list"], ["sweep", "--help"], ["repro", "--help"],
                                  ["findings", "--help"], ["findings"]])
def test_help_and_list_do_not_import_jax(argv):
    """Starting the command line for help or the list imports the config modules only: the
    library, JAX and the encoder stack are imported when something runs (they took 5-8 s)."""
    import subprocess
    import sys

    code = ("import sys\nfrom paper_repro.cli import main\ntry:\n    main(%r)\n"
            "except SystemExit:\n    pass\nheavy = sorted(m for m in ('jax', 'equinox', "
            "'optax', 'xarray', 'matplotlib', 'scipy') if m in sys.modules)\n"
            "print('HEAVY', heavy)" % (argv,))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert run.returncode == 0, run.stderr
    assert "HEAVY []" in run.stdout, run.stdout[-500:]


def test_train_help_lists_objectives_and_data_sets(capsys):
    from simulations.encoders.data import DATASETS
    from simulations.encoders.objectives import OBJECTIVES

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in list(OBJECTIVES) + list(DATASETS):
        assert name in text


# ------------------------------------------------------------ every value checked when parsed

def test_set_values_are_checked_when_parsed():
    from paper_repro.user_input import parse_assignments

    assert parse_assignments(["a=1", "b=2,3"]) == [("a", 1), ("b", (2, 3))]
    with pytest.raises(ValueError, match="--set a is given twice"):
        parse_assignments(["a=1", "b=2", "a=3"])
    with pytest.raises(ValueError, match="--set steps=99999999999999999999999: .*out of range"):
        parse_assignment("steps=99999999999999999999999")
    with pytest.raises(ValueError, match="--set seed_A=0,99999999999999999999999"):
        parse_assignment("seed_A=0,99999999999999999999999")
    assert parse_assignment(f"seed={2**63 - 1}") == ("seed", 2**63 - 1)
    assert parse_assignment(f"seed={-2**63}") == ("seed", -2**63)
    with pytest.raises(ValueError, match="out of range"):
        parse_assignment(f"seed={2**63}")


@pytest.mark.parametrize("command,sets,needles", [
    ("sweep", ["seed_A=99999999999999999999999"], ["seed_A", "out of range"]),
    ("sweep", ["n_classes=99999999999999999999"], ["n_classes", "out of range"]),
    ("sweep", ["dim=8", "dim=4"], ["--set dim is given twice"]),
    ("sweep", ["frustration=0,1.5"], ["frustration=1.5 is outside the allowed range"]),
    ("show", ["frustration=0,1.5"], ["frustration=1.5 is outside the allowed range"]),
    ("train", ["steps=99999999999999999999999"], ["steps", "out of range"]),
    ("train", ["seed=99999999999999999999999"], ["seed", "out of range"]),
    ("train", ["steps=2", "steps=3"], ["--set steps is given twice"]),
])
def test_refused_set_values_leave_nothing_on_disk(tmp_path, capsys, command, sets, needles):
    out = str(tmp_path / "run")
    argv = _out_commands(out)["sweep" if command == "show" else command]
    argv += ["--show"] if command == "show" else []
    argv = [w for i, w in enumerate(argv)
            if w != "--set" and (i == 0 or argv[i - 1] != "--set")]
    for text in sets:
        argv += ["--set", text]
    code = main(argv)
    _assert_one_line_error(capsys, code, *needles)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("option,value,needle", [
    ("--probe-epochs", "-5", "--probe-epochs=-5 must be an integer >= 1"),
    ("--probe-epochs", "0", "--probe-epochs=0 must be an integer >= 1"),
    ("--probe-lr", "nan", "--probe-lr=nan must be a finite real number"),
    ("--probe-lr", "-0.1", "--probe-lr=-0.1"),
])
def test_probe_settings_are_refused_before_training(tmp_path, capsys, monkeypatch, option,
                                                    value, needle):
    import importlib

    # the module (the package re-exports the function train under the module's name)
    trainer = importlib.import_module("simulations.encoders.train")

    def never(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(trainer, "train", never)
    out = str(tmp_path / "run")
    code = main(["train", "--objective", "sigreg", "--data", "gaussian_mixture", "--set",
                 "steps=2", "--out", out, option, value])
    _assert_one_line_error(capsys, code, needle)
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------- see before you run

def test_sweep_show_prints_the_plan_and_runs_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "modelB_phase", "--quick", "--show", "--set", "frustration=0,0.2",
                 "--set", "n_per_class=20"]) == 0
    out = capsys.readouterr().out
    assert "grid: 2 axes, 40 points" in out
    assert "  alpha          20 values: 0, 0.318708, 0.535841" in out
    assert "  frustration     2 values: 0, 0.2\n" in out
    assert "  n_per_class = 20\n" in out and "  dim = 8\n" in out
    # the balanced preset's rates at n = 20, and the preset's unused fields marked
    assert "rates used (preset 'balanced' applied): nu = 0.05, eta_x = 20, eta_y = 1" in out
    assert "  nu = 1  (not used: the preset sets it)" in out
    assert "horizon: T = t_max = 100; output times t = 0 and 20 log-spaced in [0.01, 100]" in out
    assert "chunks: 1 of up to 50 points, 1 compiled group" in out
    from paper_repro.registry import SWEEPS, format_seconds

    scaled = SWEEPS["modelB_phase"].quick_s * 40 / 400  # the default grid's time, per point
    assert f"estimated wall time: ~{format_seconds(scaled)} in one process on 2 cores" in out
    assert main(["sweep", "modelB_phase_meanfield", "--show"]) == 0  # full: no time stated
    assert "estimated wall time: not measured" in capsys.readouterr().out
    assert os.listdir(tmp_path) == []  # no store, no dataset


def test_list_shows_every_sweep_with_its_size(capsys):
    from paper_repro.registry import SWEEPS

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name, config in SWEEPS.items():
        row = next(line for line in out.splitlines() if line.strip().startswith(name + " "))
        assert f"{config.n_points(True)} / {config.n_points(False)} points" in row, row
    assert "modelB_phase           400 / 1600 points" in out
    assert "collapse ratio" not in out.split("sweeps (")[1]  # not an output of the sweeps
