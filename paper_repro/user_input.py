"""What a user types on the command line, checked before any work: ``--set`` values (each key
once, integers that numpy and JAX can hold) and output paths (an unusable ``--out`` is refused
before anything is computed or written).  Every refusal is a ``ValueError`` naming the option,
the value and what is allowed."""

from __future__ import annotations

import os
import tempfile

__all__ = ["INT64", "parse_assignment", "parse_assignments", "check_out"]

INT64 = (-2**63, 2**63 - 1)  # what numpy and JAX can hold: a larger integer is refused here


def _parse_scalar(text: str):
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def parse_assignment(text: str):
    """``key=value`` -> (key, value); a comma-separated value becomes a tuple (axis values).
    An integer outside int64 is refused here, naming the key, before anything is built."""
    if "=" not in text:
        raise ValueError(f"--set expects key=value, got {text!r}")
    key, value = text.split("=", 1)
    key = key.strip()
    parts = [_parse_scalar(v) for v in value.split(",")]
    for part in parts:
        if type(part) is int and not INT64[0] <= part <= INT64[1]:
            raise ValueError(f"--set {key}={value}: the integer {part} is out of range; "
                             f"allowed: {INT64[0]} to {INT64[1]} (int64)")
    return key, tuple(parts) if len(parts) > 1 else parts[0]


def parse_assignments(texts) -> list:
    """Every ``--set`` of a command as (key, value) pairs, each checked by
    :func:`parse_assignment`; a key given twice is refused (which value was meant?)."""
    pairs, seen = [], {}
    for text in texts:
        key, value = parse_assignment(text)
        if key in seen:
            raise ValueError(f"--set {key} is given twice ({seen[key]!r} and {text!r}); give "
                             "each key once (a comma-separated value makes an axis)")
        seen[key] = text
        pairs.append((key, value))
    return pairs


def check_out(path, *, option: str = "--out", store: bool = False) -> None:
    """Refuse an output path that cannot be used, before any work: an existing file where a
    directory belongs, a path under a file, or a place where nothing can be created.

    The writability test creates and removes an empty directory where the run will write (the
    nearest existing folder), because permission bits do not tell (root, read-only mounts).
    ``store``: ``path`` is a sweep store, and its dataset ``<path minus suffix>.nc`` is
    written beside it.  Raises ValueError naming the option, the path and the problem."""
    text = os.fspath(path)
    if not text.strip():
        raise ValueError(f"{option}={text!r} is empty; give a directory")
    path = os.path.abspath(text)
    kind = "a zarr store (a directory)" if store else "a directory"
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{option}={text!r} is an existing file; it must be {kind}")
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ValueError(f"{option}={text!r} lies under the file {existing!r}; it must be "
                         f"{kind}")
    if store:
        final = os.path.splitext(path.rstrip(os.sep))[0] + ".nc"
        if os.path.isdir(final):
            raise ValueError(f"{option}={text!r}: its dataset {final!r} would replace a "
                             "directory; choose another store name")
    probes = {existing}
    if store and existing == path:  # the store exists: the dataset goes beside it
        probes.add(os.path.dirname(path))
    for where in sorted(probes):
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".collapse-lab-probe-", dir=where))
        except OSError as exc:
            raise ValueError(f"{option}={text!r} is not writable: cannot create anything in "
                             f"{where!r} ({exc.strerror or exc})") from None
