"""The numbers behind each reproduced figure: ``NAME.nc`` beside the figure's PDF and PNG holds
the figure's dataset (or its checks where it has none), with the checks and findings as netCDF
groups ``checks`` and ``findings``, every variable described."""

from __future__ import annotations

import json

import numpy as np

__all__ = ["checks_dataset", "findings_dataset", "write_figure_data"]


def _netcdf_attr(value):
    """netCDF attributes are numbers, strings or flat arrays: encode anything else."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (str, int, float, np.number)):
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind in "iufS":
        return value
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in value):
        return list(value)
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def _clean_attrs(ds):
    ds = ds.copy()
    ds.attrs = {k: _netcdf_attr(v) for k, v in ds.attrs.items()}
    for name in ds.variables:
        ds[name].attrs = {k: _netcdf_attr(v) for k, v in ds[name].attrs.items()}
        ds[name].encoding = {}
    return ds


def checks_dataset(checks):
    """The checks as a small Dataset over dimension ``check`` (units: those of each quantity,
    stated in its name)."""
    import xarray as xr

    n = len(checks)
    return xr.Dataset(
        {"expected": ("check", np.array([c.expected for c in checks], float),
                      {"description": "expected value (from the source column)"}),
         "measured": ("check", np.array([c.measured for c in checks], float),
                      {"description": "our measured value, same units as expected"}),
         "rtol": ("check", np.array([c.rtol for c in checks], float),
                  {"description": "relative tolerance", "units": "1"}),
         "atol": ("check", np.array([c.atol for c in checks], float),
                  {"description": "absolute tolerance, units of the quantity"}),
         "kind": ("check", np.array([c.kind for c in checks], dtype=str),
                  {"description": "close: |measured - expected| <= atol + rtol |expected|; "
                                  "max / min: measured is an upper / lower bound"}),
         "source": ("check", np.array([c.source for c in checks], dtype=str),
                    {"description": "where the expected value comes from"}),
         "passed": ("check", np.array([int(c.passed) for c in checks], np.int8),
                    {"description": "1 if the check passed, else 0", "units": "1"})},
        coords={"check": ("check", np.arange(n),
                          {"description": "index of the check in the report table"}),
                "quantity": ("check", np.array([c.quantity for c in checks], dtype=str),
                             {"description": "what is checked (units in the name)"})})


def findings_dataset(findings):
    """The findings as a small Dataset over dimension ``finding``."""
    import xarray as xr

    def col(attr, dtype=float):
        return np.array([getattr(f, attr) for f in findings], dtype=dtype)

    return xr.Dataset(
        {"decision": ("finding", col("decision", str), {"description": "our decision"}),
         "effect": ("finding", col("effect"),
                    {"description": "mean paired difference (a - b), units of the claim"}),
         "ci_low": ("finding", np.array([f.ci[0] for f in findings], float),
                    {"description": "lower end of the effect's confidence interval"}),
         "ci_high": ("finding", np.array([f.ci[1] for f in findings], float),
                     {"description": "upper end of the effect's confidence interval"}),
         "p": ("finding", col("p"), {"description": "(Holm-adjusted) p-value", "units": "1"}),
         "delta_min": ("finding", col("delta_min"),
                       {"description": "pre-registered minimal effect, units of the claim"}),
         "n": ("finding", col("n", np.int64), {"description": "number of paired runs"}),
         "paper": ("finding", col("paper", str), {"description": "the paper's number or "
                                                                 "statement"}),
         "source": ("finding", col("source", str), {"description": "where the claim is"}),
         "diagnostics": ("finding", col("diagnostics", str),
                         {"description": "where the run stands beside the decision (e.g. how "
                                         "much the predictor acts); never a verdict"})},
        coords={"finding": ("finding", np.arange(len(findings)),
                            {"description": "index of the finding in the report table"}),
                "claim": ("finding", col("claim", str), {"description": "the paper's claim"})})


def write_figure_data(path, config, result, *, quick: bool) -> str:
    """Write ``path`` (netCDF, atomically): the figure's dataset (a Dataset or DataArray) or,
    where it has none, its checks; plus groups ``checks`` and ``findings``.  Returns ``path``."""
    import xarray as xr

    from simulations.artifacts import atomic_write, package_version

    data = result.dataset
    if isinstance(data, xr.DataArray):
        data = data.to_dataset(name=data.name or "value")
    if not isinstance(data, xr.Dataset):
        data = checks_dataset(result.checks)
    stamp = {"figure": config.name, "title": config.title, "paper": config.paper,
             "status": config.status, "mode": "quick" if quick else "full",
             "package_version": package_version(),
             "groups": "checks" + (", findings" if result.findings else "")}

    def write_with(root):
        def write(tmp):
            root.to_netcdf(tmp, engine="netcdf4")
            checks_dataset(result.checks).to_netcdf(tmp, mode="a", group="checks",
                                                    engine="netcdf4")
            if result.findings:
                findings_dataset(result.findings).to_netcdf(tmp, mode="a", group="findings",
                                                            engine="netcdf4")
        atomic_write(path, write)

    root = _clean_attrs(data)
    root.attrs.update(stamp)
    try:
        write_with(root)
    except (TypeError, ValueError) as exc:
        # a dataset netCDF cannot hold (object arrays, ...) must not fail the figure: keep
        # its checks and say why the numbers are missing
        root = checks_dataset(result.checks)
        root.attrs.update(stamp, dataset_not_written=f"{type(exc).__name__}: {exc}")
        write_with(root)
    return path
