"""Committed results, keyed by a hash of their settings: the evidence a reader sees without
recomputing it, and the runs an experiment resumes from on any machine.

Layout under the results folder (:func:`results_root`: ``paper_repro/results/`` in the
repository, or ``$COLLAPSE_LAB_RESULTS``)::

    full/NAME/result.json      a figure's full-mode result: its report section, the config
                               hash and settings, wall time, date, package version
    full/NAME/NAME.nc, .png    the figure's numbers and picture
    VAL_x/runs/<method>-s<seed>-<hash>.nc
                               one finished training run's evaluation (SSL experiments)

The key is :func:`config_hash` of the figure's settings for that mode (``FigureConfig.settings``:
a canonical JSON of seeds, claims, training configurations, ...), not of the code: a changed
setting gives a new key, so a stale result is never reused, while a change of code that keeps
the settings reuses it (rerun with ``collapse-lab repro NAME --recompute``).  Every write is
atomic (:func:`simulations.artifacts.atomic_write`).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
import os
import shutil

__all__ = ["RESULTS_ENV", "RESULT_FILE", "CommittedResult", "results_root", "canonical_json",
           "config_hash", "figure_settings_hash", "figure_dir", "store_figure_result",
           "committed_result", "committed_sections", "run_path", "find_run", "save_run",
           "load_run"]

RESULTS_ENV = "COLLAPSE_LAB_RESULTS"
RESULT_FILE = "result.json"
_FORMAT = 1
_HASH_CHARS = 12


def results_root(root=None) -> str:
    """``root`` if given, else ``$COLLAPSE_LAB_RESULTS``, else ``paper_repro/results`` beside
    this module (the folder committed with the repository)."""
    if root is not None:
        return os.fspath(root)
    return os.environ.get(RESULTS_ENV) or os.path.join(os.path.dirname(__file__), "results")


def _plain(value, where="settings"):
    """Settings as JSON values: tuples become lists; anything else is refused, so a hash
    never depends on a repr."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}={value!r}: settings must be finite numbers")
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError(f"{where}: settings keys must be strings, got {list(value)}")
        return {k: _plain(v, f"{where}.{k}") for k, v in value.items()}
    raise ValueError(f"{where}={value!r} ({type(value).__name__}) is not a plain JSON value")


def canonical_json(settings) -> str:
    """One text per settings value: keys sorted, no spaces, floats as Python's shortest
    round-trip repr."""
    return json.dumps(_plain(settings), sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_hash(settings) -> str:
    """The first 12 hex digits of SHA-256 of :func:`canonical_json` (settings)."""
    return hashlib.sha256(canonical_json(settings).encode()).hexdigest()[:_HASH_CHARS]


def figure_settings_hash(config, *, quick: bool = False):
    """(settings, hash) of ``config`` in one mode, or (None, None) when it declares none."""
    if config.settings is None:
        return None, None
    settings = _plain(config.settings(quick))
    return settings, config_hash(settings)


def figure_dir(name: str, root=None) -> str:
    return os.path.join(results_root(root), "full", name)


def _atomic_json(path, obj) -> None:
    from simulations.artifacts import atomic_write

    def write(tmp):
        with open(tmp, "w") as fh:
            json.dump(obj, fh, indent=1, sort_keys=True, allow_nan=False)
            fh.write("\n")

    atomic_write(path, write)


def _atomic_copy(src, dst) -> None:
    from simulations.artifacts import atomic_write

    atomic_write(dst, lambda tmp: shutil.copyfile(src, tmp))


def store_figure_result(config, section: dict, files, *, settings, key: str, seconds: float,
                        root=None) -> str:
    """Commit a figure's full-mode result under ``full/NAME/``: copies of ``files`` (its
    ``NAME.nc`` and ``NAME.png``; PDFs are left out to keep the repository small) and
    ``result.json`` (the report ``section``, ``config_hash`` = ``key``, the ``settings``, wall
    time, date, package version).  Written last, so a reader never sees a result.json whose
    files are missing.  Returns the folder."""
    from simulations.artifacts import package_version

    if section.get("error") is not None:
        raise ValueError(f"{config.name}: an errored run is not a result ({section['error']})")
    folder = figure_dir(config.name, root)
    os.makedirs(folder, exist_ok=True)
    kept = []
    for f in files:
        if os.path.splitext(f)[1] in (".nc", ".png"):
            _atomic_copy(f, os.path.join(folder, os.path.basename(f)))
            kept.append(os.path.basename(f))
    meta = {"format": _FORMAT, "name": config.name, "config_hash": key, "settings": settings,
            "seconds": round(float(seconds), 2),
            "date": f"{datetime.datetime.now():%Y-%m-%d %H:%M}",
            "package_version": package_version(), "files": sorted(kept),
            "section": section}
    _atomic_json(os.path.join(folder, RESULT_FILE), meta)
    return folder


@dataclasses.dataclass(frozen=True)
class CommittedResult:
    """A committed full-mode result: its folder, ``meta`` (the content of result.json) and
    whether its key matches the settings it was looked up with (``matches``)."""

    folder: str
    meta: dict
    matches: bool

    @property
    def config_hash(self) -> str:
        return self.meta["config_hash"]

    @property
    def section(self) -> dict:
        return self.meta["section"]

    @property
    def files(self) -> list:
        return [os.path.join(self.folder, f) for f in self.meta["files"]]


def _read_meta(path) -> dict:
    try:
        with open(path) as fh:
            meta = json.load(fh)
        if meta.get("format") != _FORMAT or not isinstance(meta.get("section"), dict):
            raise ValueError("unexpected layout")
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a committed collapse-lab result ({exc}); move it away "
                         "or rerun with --recompute") from None
    return meta


def committed_result(name: str, key: str, root=None) -> CommittedResult | None:
    """The committed result of figure ``name`` (None when there is none); ``matches`` says
    whether it was made with settings of hash ``key`` and all its files are present."""
    folder = figure_dir(name, root)
    path = os.path.join(folder, RESULT_FILE)
    if not os.path.exists(path):
        return None
    meta = _read_meta(path)
    present = all(os.path.exists(os.path.join(folder, f)) for f in meta.get("files", []))
    return CommittedResult(folder, meta, meta.get("config_hash") == key and present)


def committed_sections(root=None) -> dict:
    """name -> result.json content of every committed full-mode result under ``root``."""
    base = os.path.join(results_root(root), "full")
    out = {}
    if os.path.isdir(base):
        for name in sorted(os.listdir(base)):
            path = os.path.join(base, name, RESULT_FILE)
            if os.path.exists(path):
                out[name] = _read_meta(path)
    return out


# --------------------------------------------------------------- single runs (SSL experiments)

def run_path(figure: str, method: str, seed: int, key: str, root=None) -> str:
    """``VAL_x/runs/<method>-s<seed>-<key>.nc`` under the results folder."""
    return os.path.join(results_root(root), figure, "runs", f"{method}-s{int(seed)}-{key}.nc")


def find_run(figure: str, method: str, seed: int, key: str, root=None) -> str | None:
    """The committed file of this run: under ``figure`` first, else under any other figure
    (two experiments that train the same configuration share it; the key says it is the
    same), or None."""
    own = run_path(figure, method, seed, key, root)
    if os.path.exists(own):
        return own
    base = results_root(root)
    name = os.path.basename(own)
    if os.path.isdir(base):
        for other in sorted(os.listdir(base)):
            path = os.path.join(base, other, "runs", name)
            if os.path.exists(path):
                return path
    return None


_SEP = "."  # netCDF names may not hold "/": "q/knn20" is stored as "q.knn20"


def save_run(path, record: dict, *, attrs=None) -> str:
    """Write one run's evaluation ``record`` (name -> number or 1-D array; names may hold
    "/") as a small netCDF, atomically; ``attrs`` (e.g. the settings and hash) go into its
    attributes as JSON."""
    import numpy as np
    import xarray as xr

    from simulations.artifacts import atomic_write, package_version

    data = {}
    for name, value in record.items():
        if _SEP in name:
            raise ValueError(f"record key {name!r} must not contain {_SEP!r}")
        arr = np.asarray(value)
        if arr.ndim > 1:
            raise ValueError(f"record[{name!r}] has shape {arr.shape}: only numbers and 1-D "
                             "arrays are stored")
        var = name.replace("/", _SEP)
        data[var] = ((f"{var}_dim",), arr) if arr.ndim else ((), arr)
    ds = xr.Dataset(data, attrs={"package_version": package_version(),
                                 "date": f"{datetime.datetime.now():%Y-%m-%d %H:%M}",
                                 **{k: json.dumps(v, sort_keys=True)
                                    for k, v in (attrs or {}).items()}})
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic_write(path, lambda tmp: ds.to_netcdf(tmp, engine="netcdf4"))
    return os.fspath(path)


def load_run(path) -> dict:
    """The record :func:`save_run` wrote (numbers as floats, arrays as numpy arrays)."""
    import xarray as xr

    out = {}
    with xr.open_dataset(path, engine="netcdf4") as ds:
        for var in ds.data_vars:
            v = ds[var].values
            out[var.replace(_SEP, "/")] = float(v) if v.ndim == 0 else v.copy()
    return out
