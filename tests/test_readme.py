"""The README's code runs: every ```python block executes as written, every command line is
exercised.

The blocks and command lines are parsed out of README.md at collection time, so an edit of the
README that breaks an example (a moved name, a renamed flag, an unknown figure) breaks a test.

Command lines are the lines of ```bash blocks that start with ``collapse-lab`` /
``.venv/bin/collapse-lab`` / ``[.venv/bin/]python benchmarks/...`` / ``bash scripts/...``, and the
inline code spans that start with ``.venv/bin/collapse-lab``.  ``collapse-lab`` lines run
in-process through :func:`paper_repro.cli.main` with the working directory in a temporary
folder (so ``--out out`` writes there); where the README's settings are slow, :func:`_shrink`
makes them small in a stated way (``all`` -> one cheap figure, ``--quick``, fewer steps) and
keeps the README's subcommand, names and flags.  Benchmark lines: the script's ``--help`` runs
and lists every flag the README uses.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def python_blocks(text: str = README) -> list[str]:
    return [body for lang, body in _FENCE.findall(text) if lang == "python"]


def command_lines(text: str = README) -> list[str]:
    """Command lines of the README (comments stripped), in order of appearance."""
    lines = []
    for lang, body in _FENCE.findall(text):
        if lang not in ("bash", "sh", "console"):
            continue
        for line in body.splitlines():
            line = line.split(" #", 1)[0].strip()
            if re.match(r"(\.venv/bin/)?collapse-lab |(\.venv/bin/)?python3? benchmarks/|"
                        r"bash scripts/", line):
                lines.append(line)
    prose = _FENCE.sub("", text)
    lines += [span.strip() for span in re.findall(r"`(\.venv/bin/collapse-lab [^`]+)`", prose)]
    return lines


def _cli_argv(line: str) -> list[str]:
    words = shlex.split(line)
    assert words[0].endswith("collapse-lab"), line
    return words[1:]


CLI_LINES = [line for line in command_lines() if "collapse-lab" in line.split()[0]]
BENCH_LINES = [line for line in command_lines() if " benchmarks/" in line]
SCRIPT_LINES = [line for line in command_lines() if line.startswith("bash scripts/")]


def test_readme_has_the_examples_it_promises():
    # guards the parser itself: if it found nothing, every test below would pass vacuously
    assert len(python_blocks()) >= 3
    assert {_cli_argv(line)[0] for line in CLI_LINES} >= {"list", "repro", "sweep", "train"}
    assert len(BENCH_LINES) >= 3 and len(SCRIPT_LINES) >= 2


def _heavy_block(source: str) -> bool:
    """A block that compiles JAX programs (sweeps, training, Jacobians of long rollouts) runs
    with the slow tests; numpy-only blocks run in the default suite."""
    return any(word in source for word in ("jax", "simulations"))


@pytest.mark.parametrize("index", [
    pytest.param(i, id=f"python-block-{i}",
                 marks=[pytest.mark.slow] if _heavy_block(block) else [])
    for i, block in enumerate(python_blocks())])
def test_python_block_runs_as_written(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a block that writes files (demo.zarr) writes here
    source = python_blocks()[index]
    exec(compile(source, f"README.md python block {index}", "exec"), {"__name__": "readme"})


def _shrink(argv: list[str]) -> list[str]:
    """The README's command with small settings where the README's are slow (stated here)."""
    argv = list(argv)
    if argv[0] == "repro":
        if argv[1] == "all":
            argv[1] = "HG_price"  # `all` runs every figure: one cheap figure stands for it
        if "--quick" not in argv:
            argv.append("--quick")
    elif argv[0] == "sweep":
        if "--quick" not in argv:
            argv.append("--quick")
        argv += ["--set", "seed_A=0"]  # one seed: one chunk
    elif argv[0] == "train":
        for i in range(len(argv) - 1, 0, -1):  # drop the README's `--set steps=N`
            if argv[i].startswith("steps=") and argv[i - 1] == "--set":
                del argv[i - 1:i + 1]
        argv += ["--set", "steps=4", "--set", "steps_per_dispatch=2", "--set", "batch_size=32",
                 "--set", "encoder=mlp", "--probe-epochs", "1"]
    return argv


def test_every_command_line_parses():
    from paper_repro.cli import build_parser
    from paper_repro.user_input import parse_assignment
    from paper_repro.registry import FIGURES, SWEEPS

    for line in CLI_LINES:
        args = build_parser().parse_args(_cli_argv(line))
        if args.command == "repro":
            assert args.name == "all" or args.name in FIGURES, line
        elif args.command == "sweep":
            assert args.name in SWEEPS, line
        elif args.command == "train":
            from simulations.encoders.config import config_from_assignments

            config_from_assignments({"objective": args.objective, "data": args.data},
                                    [parse_assignment(s) for s in args.set])


def _run_cli(line, tmp_path, monkeypatch, capsys):
    from paper_repro.cli import main

    monkeypatch.chdir(tmp_path)
    code = main(_shrink(_cli_argv(line)))
    captured = capsys.readouterr()
    assert code == 0, f"{line}\n{captured.out}\n{captured.err}"
    return captured.out


def _runs_a_computation(line: str) -> bool:
    """`repro` and `sweep` lines compute (slow tests); `list` and `sweep --show` only print."""
    args = _cli_argv(line)
    return args[0] in ("repro", "sweep") and "--show" not in args


@pytest.mark.parametrize("line", [
    pytest.param(line, marks=[pytest.mark.slow] if _runs_a_computation(line) else [])
    for line in CLI_LINES if _cli_argv(line)[0] != "train"])
def test_command_line_runs(line, tmp_path, monkeypatch, capsys):
    out = _run_cli(line, tmp_path, monkeypatch, capsys)
    args = _cli_argv(line)
    if args[0] == "list":
        assert "F3" in out and "modelA_phase_K" in out
    elif args[0] == "repro":
        shrunk = _shrink(args)
        outdir = tmp_path / shrunk[shrunk.index("--out") + 1] if "--out" in shrunk else (
            tmp_path / "out")
        report = (outdir / "report.md").read_text()
        assert (outdir / f"{shrunk[1]}.png").exists() and "**FAIL**" not in report
    elif args[0] == "sweep" and "--show" in args:
        assert "grid:" in out and "estimated wall time" in out
        assert not (tmp_path / "out").exists()  # shown, not run
    elif args[0] == "sweep":
        ds = xr.load_dataset(tmp_path / "out" / "sweeps" / f"{args[1]}.nc")
        assert int((ds["result"] != 0).sum()) == 0
        for i, word in enumerate(args):  # the README's --set values reached the dataset
            if word == "--set":
                key, value = args[i + 1].split("=")
                if "," in value:
                    assert list(ds[key].values) == [float(v) for v in value.split(",")]


@pytest.mark.slow
@pytest.mark.parametrize("line", [line for line in CLI_LINES if _cli_argv(line)[0] == "train"])
def test_train_command_line_runs(line, tmp_path, monkeypatch, capsys):
    _run_cli(line, tmp_path, monkeypatch, capsys)
    out = tmp_path / _cli_argv(line)[_cli_argv(line).index("--out") + 1]
    assert (out / "metrics.nc").exists() and (out / "eval.nc").exists()


@pytest.mark.parametrize("line", BENCH_LINES)
def test_benchmark_line_has_its_flags(line):
    words = shlex.split(line)
    script = words[1]
    help_text = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, check=True,
                               capture_output=True, text=True, timeout=300).stdout
    for flag in (w for w in words[2:] if w.startswith("--")):
        assert flag in help_text, f"{line}: {flag} is not an option of {script}"


@pytest.mark.parametrize("line", SCRIPT_LINES)
def test_script_lines_name_existing_scripts(line):
    assert os.path.isfile(ROOT / shlex.split(line)[1]), line


def test_readme_full_reproduction_time_is_the_configs_sum():
    """The README states the full-mode time of `repro all` as the sum of the configs' own
    estimates (it once claimed "a few minutes" for about four hours)."""
    from paper_repro.registry import runtime_table

    times = runtime_table()
    full_h = sum(t["full"] for t in times.values()) / 3600
    quick_min = sum(t["quick"] for t in times.values()) / 60
    stated = re.search(r"add up to about ([0-9.]+) hours", README)
    assert stated is not None and float(stated.group(1)) == round(full_h, 1)
    stated = re.search(r"Quick mode \(`--quick`\) takes\s+about ([0-9]+) minutes", README)
    assert stated is not None and abs(float(stated.group(1)) - quick_min) <= 1.0
    assert "a few minutes on 2 cores" not in README
