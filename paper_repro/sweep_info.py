"""What a named sweep will do, told before it runs: ``collapse-lab sweep NAME --show`` and the
sweep lines of ``collapse-lab list``.

The estimate of the wall time is the config's measured time of its default grid
(:class:`~paper_repro.base.SweepConfig` ``quick_s`` / ``full_s``), scaled by the number of
points: a rough guide (a changed fixed parameter such as ``dim`` or ``t_max`` changes the cost
of every point, and the first chunk of each group pays a compilation), never a promise.
"""

from __future__ import annotations

import dataclasses
import math

from .registry import format_seconds

__all__ = ["sweep_line", "describe_sweep", "estimate_seconds"]


def _time(seconds) -> str:
    return "?" if seconds is None else "~" + format_seconds(seconds)


def sweep_line(config) -> str:
    """One line of ``collapse-lab list``: name, points quick / full, time quick / full,
    description (no library import)."""
    points = f"{config.n_points(True)} / {config.n_points(False)} points"
    times = f"{_time(config.quick_s)} / {_time(config.full_s)}"
    return f"{config.name:<22} {points:<18} {times:<17} {config.description}"


def estimate_seconds(config, n_points: int, *, quick: bool):
    """The config's time of the default grid scaled to ``n_points``, or None where the config
    states none."""
    measured = config.seconds(quick)
    if measured is None:
        return None
    return measured * n_points / config.n_points(quick)


def _value(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return repr(v) if isinstance(v, str) else str(v)


def _values(values) -> str:
    shown = [_value(v) for v in values]
    if len(shown) > 12:
        shown = shown[:5] + ["..."] + shown[-3:]
    return ", ".join(shown)


def describe_sweep(config, spec, *, quick: bool) -> str:
    """The text of ``collapse-lab sweep NAME --show``: the grid (axes and values), the fixed
    parameters with the rates the preset sets, the horizon, points and chunks, and the
    estimated wall time.  ``spec`` is the sweep after ``--set`` overrides."""
    model = spec.model
    axes = dict(spec.axes)
    static = set(type(model).static_fields)
    lines = [f"sweep {spec.name} ({'quick' if quick else 'full'} mode): {config.description}",
             f"model: {type(model).__name__}",
             f"grid: {len(axes)} axes, {spec.n_points} points"]
    width = max(len(name) for name in axes)
    for name, values in axes.items():
        lines.append(f"  {name:<{width}}  {len(values):>4} values: {_values(values)}")
    lines.append(f"fixed parameters (every other field of {type(model).__name__}):")
    rates = getattr(model, "rates", None)
    # a preset other than "custom" sets the rates: its fields keep their unused defaults
    preset_rates = set(rates()) if callable(rates) and getattr(model, "preset", "custom") \
        != "custom" and "preset" not in axes and "n_per_class" not in axes else set()
    for field in dataclasses.fields(model):
        if field.name not in axes:
            note = "  (not used: the preset sets it)" if field.name in preset_rates else ""
            lines.append(f"  {field.name} = {_value(getattr(model, field.name))}{note}")
    if callable(rates):
        if {"preset", "n_per_class"} & set(axes):
            lines.append("  rates used: set by the preset per point (preset or n_per_class "
                         "is an axis)")
        else:
            used = ", ".join(f"{k} = {_value(float(v))}" for k, v in rates().items())
            lines.append(f"  rates used (preset {getattr(model, 'preset', '?')!r} applied): "
                         f"{used}")
    lines.append("horizon: " + _horizon(model, axes))
    groups = math.prod(len(v) for name, v in axes.items() if name in static)
    lines.append(f"chunks: {spec.n_chunks} of up to {spec.chunk_size} points, {groups} "
                 f"compiled group{'s' if groups != 1 else ''} (static fields: "
                 f"{', '.join(sorted(static)) or 'none'})")
    estimate = estimate_seconds(config, spec.n_points, quick=quick)
    if estimate is None:
        lines.append("estimated wall time: not measured for this sweep in this mode")
    else:
        lines.append(f"estimated wall time: {_time(estimate)} in one process on 2 cores "
                     f"(the config's time for the default {config.n_points(quick)}-point "
                     f"grid, {format_seconds(config.seconds(quick))}, scaled by the number of "
                     "points)")
    return "\n".join(lines)


def _horizon(model, axes) -> str:
    if "t_max" in axes:
        return f"t_max is an axis ({_values(axes['t_max'])})"
    t_max = getattr(model, "t_max", None)
    if t_max is None:
        return "not a time-dependent model"
    text = f"T = t_max = {_value(t_max)}"
    if hasattr(model, "t_min") and hasattr(model, "n_times") and not (
            {"t_min", "n_times"} & set(axes)):
        text += (f"; output times t = 0 and {model.n_times - 1} log-spaced in "
                 f"[{_value(model.t_min)}, {_value(t_max)}]")
    return text
