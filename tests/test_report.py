"""The reproduction report accumulates: sections per figure in report.json, report.md rendered
from all of them, a netCDF data file beside each figure, findings apart from checks."""

import json
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

from paper_repro import registry  # noqa: E402
from paper_repro.base import Check, FigureConfig, FigureResult, Finding  # noqa: E402
from paper_repro.cli import main  # noqa: E402
from paper_repro.figure_data import write_figure_data  # noqa: E402
from paper_repro.report import (load_sections, make_section, render_report,  # noqa: E402
                                write_report)


def _config(name, run=None):
    return FigureConfig(name, "Test paper (arXiv:0000.00000)", f"title of {name}",
                        "RECONSTRUCTION", f"what {name} shows", quick_s=1.0, full_s=2.0,
                        run=run or (lambda quick: None))


FINDINGS = [Finding("a beats b on kNN", "reproduced", 0.031, (0.01, 0.05), 0.004, 0.01, 5,
                    "+1.2 points (Table 1)", "paper Table 1", "paired over seeds"),
            Finding("c beats d", "unresolved", -0.002, (-0.02, 0.015), 0.6, 0.01, 5,
                    "+4.29", "paper §5")]


def _result(n_pass, n_fail, findings=(), dataset=None):
    checks = [Check(f"q{i} (m)", 1.0, 1.0) for i in range(n_pass)]
    checks += [Check(f"bad{i}", 1.0, 2.0) for i in range(n_fail)]
    fig = plt.figure()
    return FigureResult(fig, checks, dataset, "in words", list(findings))


def test_sections_merge_in_place_and_totals_count_each_once(tmp_path):
    out = str(tmp_path)
    order = ["A", "B"]
    write_report(out, [make_section(_config("A"), _result(3, 1), 1.0, [], quick=True)],
                 order=order)
    totals = write_report(out, [make_section(_config("B"), _result(2, 0, FINDINGS), 2.0, [],
                                             quick=False)], order=order)
    assert (totals["figures"], totals["passed"], totals["failed"]) == (2, 5, 1)
    # rerun A, now passing: its section is replaced, B's kept
    totals = write_report(out, [make_section(_config("A"), _result(4, 0), 1.5, [], quick=True)],
                          order=order)
    assert (totals["figures"], totals["passed"], totals["failed"]) == (2, 6, 0)
    assert totals["decisions"] == {"reproduced": 1, "unresolved": 1}
    text = (tmp_path / "report.md").read_text()
    assert text.count("## A:") == 1 and text.count("## B:") == 1
    assert text.index("## A:") < text.index("## B:")  # registry order
    assert "| A | Test paper (arXiv:0000.00000) | RECONSTRUCTION | quick | 4/4 |" in text
    assert "| B | Test paper (arXiv:0000.00000) | RECONSTRUCTION | full | 2/2 |" in text
    assert "checks 6 passed, 0 failed" in text and "1 reproduced, 1 unresolved" in text
    assert "**FAIL**" not in text
    sidecar = json.loads((tmp_path / "report.json").read_text())
    assert sorted(sidecar["figures"]) == ["A", "B"]


def test_findings_have_their_own_table_and_never_fail(tmp_path):
    section = make_section(_config("B"), _result(1, 0, FINDINGS), 1.0, [], quick=True)
    totals = write_report(str(tmp_path), [section])
    assert totals["failed"] == 0 and totals["errors"] == 0
    text = (tmp_path / "report.md").read_text()
    findings_at = text.index("Findings: paper claims and our decision")
    assert text.index("| quantity | expected |") < findings_at  # checks first, then findings
    assert "| a beats b on kNN | +1.2 points (Table 1) | 0.031 [0.01, 0.05] | 0.004 | 0.01 | " \
           "5 | **reproduced** | paper Table 1 |" in text
    assert "- a beats b on kNN: paired over seeds" in text
    assert "| 1/1 | 1 reproduced, 1 unresolved |" in text


def test_errors_and_nan_survive_the_sidecar(tmp_path):
    nan_result = FigureResult(plt.figure(), [Check("x", 1.0, math.nan)], None)
    write_report(str(tmp_path), [
        make_section(_config("A"), RuntimeError("boom"), 0.5, [], quick=True),
        make_section(_config("B"), nan_result, 0.5, [], quick=True)])
    sections = load_sections(str(tmp_path))
    assert sections["A"]["error"] == "RuntimeError: boom"
    assert sections["B"]["checks"][0]["measured"] is None  # JSON null, not a bare NaN
    assert not sections["B"]["checks"][0]["passed"]
    text = render_report(sections)
    assert "**ERROR**: `RuntimeError: boom`" in text and "| nan |" in text


@pytest.mark.parametrize("content", ["{not json", '{"format": 1, "figures": []}', "[]"])
def test_unreadable_sidecar_is_named_and_left_alone(tmp_path, content):
    (tmp_path / "report.json").write_text(content)
    with pytest.raises(ValueError, match="report.json"):
        load_sections(str(tmp_path))
    assert (tmp_path / "report.json").read_text() == content


def test_figure_data_file_holds_dataset_checks_and_findings(tmp_path):
    ds = xr.Dataset({"y": (("t",), np.arange(3.0), {"units": "1"})},
                    coords={"t": ("t", [0.0, 1.0, 2.0], {"units": "s"})},
                    attrs={"flag": True, "nested": {"a": 1}, "none": None})
    result = _result(2, 1, FINDINGS, dataset=ds)
    path = write_figure_data(str(tmp_path / "A.nc"), _config("A"), result, quick=True)
    root = xr.load_dataset(path)
    np.testing.assert_array_equal(root["y"].values, [0.0, 1.0, 2.0])
    assert root["t"].attrs["units"] == "s" and root.attrs["figure"] == "A"
    assert root.attrs["mode"] == "quick" and root.attrs["flag"] == 1
    assert json.loads(root.attrs["nested"]) == {"a": 1}
    checks = xr.load_dataset(path, group="checks")
    assert list(checks["passed"].values) == [1, 1, 0]
    assert list(checks["quantity"].values) == ["q0 (m)", "q1 (m)", "bad0"]
    findings = xr.load_dataset(path, group="findings")
    assert list(findings["decision"].values) == ["reproduced", "unresolved"]
    assert float(findings["ci_high"][0]) == 0.05
    for group in (checks, findings):  # every variable and coordinate is described
        for name in group.variables:
            assert group[name].attrs.get("description"), name


def test_figure_without_dataset_writes_its_checks(tmp_path):
    path = write_figure_data(str(tmp_path / "A.nc"), _config("A"), _result(1, 1), quick=False)
    root = xr.load_dataset(path)
    assert list(root["measured"].values) == [1.0, 2.0] and root.attrs["mode"] == "full"


def test_repro_runs_accumulate_in_one_report(tmp_path, monkeypatch, capsys):
    """The issue's case: `repro F3` then `repro HG_price` into one folder keeps F3's section
    (here with two cheap stand-in figures)."""
    ds = xr.Dataset({"v": ("i", [1.0, 2.0], {"description": "a value"})})
    one = _config("FAKE_one", lambda quick: _result(2, 0, dataset=ds))
    two = _config("FAKE_two", lambda quick: _result(1, 1, FINDINGS))
    monkeypatch.setitem(registry.FIGURES, "FAKE_one", one)
    monkeypatch.setitem(registry.FIGURES, "FAKE_two", two)
    assert main(["repro", "FAKE_one", "--quick", "--out", str(tmp_path)]) == 0
    assert main(["repro", "FAKE_two", "--out", str(tmp_path)]) == 1  # a failed check
    out = capsys.readouterr().out
    assert "this run: 1 checks passed, 1 failed" in out
    assert "2 figures: 3 checks passed, 1 failed, 0 errored" in out
    text = (tmp_path / "report.md").read_text()
    assert "## FAKE_one:" in text and "## FAKE_two:" in text
    for name in ("FAKE_one", "FAKE_two"):
        for suffix in (".png", ".pdf", ".nc"):
            assert (tmp_path / f"{name}{suffix}").exists()
    assert list(xr.load_dataset(tmp_path / "FAKE_one.nc")["v"].values) == [1.0, 2.0]
    # the first figure again: still one section each, the second's failure still counted
    assert main(["repro", "FAKE_one", "--quick", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "report.md").read_text()
    assert text.count("## FAKE_one:") == 1 and "checks 3 passed, 1 failed" in text


def test_repro_refuses_an_unreadable_report_before_work(tmp_path, monkeypatch, capsys):
    ran = []
    monkeypatch.setitem(registry.FIGURES, "FAKE_one",
                        _config("FAKE_one", lambda quick: ran.append(1) or _result(1, 0)))
    (tmp_path / "report.json").write_text("{broken")
    assert main(["repro", "FAKE_one", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "report.json" in err and err.count("\n") == 1 and not ran
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_repro_all_shows_progress_and_writes_after_each_figure(tmp_path, monkeypatch, capsys):
    seen = []

    def second(quick):  # when the second figure runs, the first is already in the report
        seen.append((tmp_path / "report.json").exists()
                    and "FAKE_one" in load_sections(str(tmp_path)))
        return _result(1, 0)

    figures = {"FAKE_one": _config("FAKE_one", lambda quick: _result(1, 0)),
               "FAKE_two": _config("FAKE_two", second)}
    monkeypatch.setattr(registry, "FIGURES", figures)
    assert main(["repro", "all", "--quick", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "2 figures, quick mode: ~2.0 s expected" in text
    for name in figures:
        assert f"[{name}] title of {name} (quick, ~1.0 s expected) ..." in text
        assert f"[{name}] 1/1 checks passed in " in text
    assert seen == [True]


def test_long_figure_prints_elapsed_time(tmp_path, monkeypatch, capsys):
    import time

    import paper_repro.repro as repro

    monkeypatch.setattr(repro, "HEARTBEAT_S", 0.05)
    monkeypatch.setitem(registry.FIGURES, "FAKE_slow", _config(
        "FAKE_slow", lambda quick: time.sleep(0.5) or _result(1, 0)))
    assert main(["repro", "FAKE_slow", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("[FAKE_slow] running, ") >= 3 and "(~1.0 s expected)" in out


def test_dataset_netcdf_cannot_hold_falls_back_to_the_checks(tmp_path):
    odd = xr.Dataset({"cfg": ("i", np.array([{"a": 1}, {"b": 2}], dtype=object))})
    path = write_figure_data(str(tmp_path / "A.nc"), _config("A"), _result(2, 0, dataset=odd),
                             quick=True)
    root = xr.load_dataset(path)
    assert list(root["passed"].values) == [1, 1] and "dataset_not_written" in root.attrs


# ------------------------------------------------------------------ concurrent writers

_WRITER = """
import sys, time, os
from paper_repro.base import Check, FigureConfig, FigureResult
from paper_repro.report import make_section, write_report

out, tag, go = sys.argv[1], sys.argv[2], sys.argv[3]
while not os.path.exists(go):  # both writers start together
    time.sleep(0.005)
for i in range(40):
    name = f"{tag}_{i:02d}"
    config = FigureConfig(name, "p", "t", "RECONSTRUCTION", "d", quick_s=1.0, full_s=1.0,
                          run=lambda quick: None)
    result = FigureResult(None, [Check("q", 1.0, 1.0)])
    write_report(out, [make_section(config, result, 0.1, [], quick=True)])
"""


@pytest.mark.slow
def test_two_processes_writing_one_report_keep_every_section(tmp_path):
    """Two processes each merging 40 sections into one folder at the same time: the lock
    around read-merge-write keeps all 80 (without it, one writer's merge overwrote the
    other's sections)."""
    import os
    import subprocess
    import sys

    go = tmp_path / "go"
    out = tmp_path / "out"
    out.mkdir()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(out), tag, str(go)], env=env)
             for tag in ("A", "B")]
    time.sleep(0.5)
    go.touch()
    assert [p.wait(timeout=600) for p in procs] == [0, 0]
    sections = load_sections(str(out))
    assert len(sections) == 80
    assert sorted(sections) == sorted(f"{t}_{i:02d}" for t in "AB" for i in range(40))
    text = (out / "report.md").read_text()
    assert text.count("\n## ") == 80
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "report.md"]  # no lock left
