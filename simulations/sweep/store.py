r"""Where a sweep's numbers live while it runs: the zarr store, its lock, and an in-memory twin.

A sweep store is a zarr group with one array per output (rows = points, grouped by static
fields and chunk-aligned: each chunk of the sweep owns whole rows, so concurrent writers never
share a storage chunk), a ``checksum`` and a ``done`` flag per chunk (set only after every
variable of the chunk is written and read back, so a killed sweep resumes from the flags and
loses nothing), and two attributes:
the sweep's ``fingerprint`` (a store of another sweep is refused, never overwritten) and its
``sweep_name``.  Unwritten entries hold the fill value of their dtype (NaN, False or -1).

While a process writes a store it holds ``<store>/.lock`` (pid@host): a second live writer is
refused with :class:`StoreLockedError`; a lock whose process is gone is taken over.

Integrity: the checksum (BLAKE2b of the chunk's rows of every variable) is computed from what
was read back after writing and kept next to the flag.  :func:`verify_chunks` re-reads a
store and un-flags every chunk whose files are missing, truncated or corrupt (a deleted zarr
chunk reads back as fill values, so the checksum, not the flag, is what proves the data is
there); a resumed sweep recomputes those chunks, and opening a finished store names them.
:mod:`simulations.sweep` decides what to compute; this module only keeps the rows.
"""

from __future__ import annotations

import contextlib
import os
import socket

import numpy as np

__all__ = ["STORE_FORMAT", "StoreLockedError", "MemoryStore", "ZarrStore", "fill_value",
           "store_lock", "open_checked", "finished_store", "chunk_checksum",
           "verify_chunks", "chunk_file"]

STORE_FORMAT = 2  # rows grouped by static fields, chunk-aligned (format 1: grid order)


class StoreLockedError(ValueError):
    """Another live process is writing the same sweep store."""


class MemoryStore:
    """In-memory stand-in for the zarr group when no store path is given."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self.attrs: dict = {}
        self.path = None

    def create(self, name, shape, dtype, chunk_rows, fill):
        self.arrays[name] = np.full(shape, fill, dtype=dtype)

    def __getitem__(self, name):
        return self.arrays[name]


class ZarrStore:
    """A zarr group opened for appending; ``create`` keeps an array that already exists (a
    resumed sweep), so rows written before are never reset."""

    def __init__(self, path):
        import zarr

        self.group = zarr.open_group(str(path), mode="a")
        self.attrs = self.group.attrs
        self.path = str(path)

    def create(self, name, shape, dtype, chunk_rows, fill):
        try:
            exists = name in self.group
            if exists:
                self.group[name]  # its metadata must be readable too
        except Exception as exc:
            raise ValueError(f"store {self.path!r} is damaged: cannot read "
                             f"{os.path.join(self.path, name, 'zarr.json')} ({exc}); delete "
                             "the store and rerun") from None
        if not exists:
            chunks = (chunk_rows,) + tuple(shape[1:]) if len(shape) else ()
            self.group.create_array(name, shape=shape, chunks=chunks or None, dtype=dtype,
                                    fill_value=fill)

    def __getitem__(self, name):
        return self.group[name]


def fill_value(dtype):
    """What an unwritten entry holds: NaN (float), False (bool), -1 (integers)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.nan
    if dtype.kind == "b":
        return False
    return -1


@contextlib.contextmanager
def store_lock(store):
    """Hold ``<store>/.lock`` (pid@host) while this process writes the store.

    A second process on the same store is refused with :class:`StoreLockedError` rather than
    racing it; a lock left by a process that no longer runs (killed sweep) is taken over, so a
    killed sweep still resumes.  Created with O_EXCL, so two starters cannot both win.
    """
    created = not os.path.exists(store)
    os.makedirs(store, exist_ok=True)
    path = os.path.join(store, ".lock")
    me = f"{os.getpid()}@{socket.gethostname()}"
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                with open(path) as fh:
                    owner = fh.read().strip()
            except FileNotFoundError:
                continue  # released meanwhile: try again
            pid, _, host = owner.partition("@")
            if host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)  # stale: its writer is gone
                continue
            raise StoreLockedError(
                f"store {str(store)!r} is being written by process {owner}; wait for it to "
                f"finish, or delete {path} if that process is gone") from None
        with os.fdopen(fd, "w") as fh:
            fh.write(me)
        break
    else:
        raise StoreLockedError(f"could not take the lock {path}")
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            with open(path) as fh:
                mine = fh.read().strip() == me
            if mine:
                os.unlink(path)
        if created and not os.listdir(store):
            os.rmdir(store)  # refused or failed before writing: leave no trace


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def open_checked(store, fingerprint: str, sweep_name: str, difference=None) -> ZarrStore:
    """Check that ``store`` is new or holds this sweep and return it as a :class:`ZarrStore`
    stamped with the fingerprint; the caller holds :func:`store_lock`.  A store of another
    sweep, or a directory that is not a sweep store, raises ``ValueError`` and is untouched
    (``difference(stored_fingerprint)``, if given, says what differs)."""
    if os.path.exists(os.path.join(store, "zarr.json")):
        import zarr

        try:
            existing = dict(zarr.open_group(str(store), mode="r").attrs)
        except Exception as exc:
            raise ValueError(f"store {str(store)!r} exists but is not a sweep store: cannot "
                             f"read {os.path.join(store, 'zarr.json')} ({exc})") from None
        if existing.get("fingerprint") != fingerprint:
            raise ValueError(f"store {str(store)!r} holds a different sweep "
                             f"({existing.get('sweep_name')!r})"
                             + _what_differs(difference, existing.get("fingerprint"))
                             + "; choose another path or delete it")
    elif os.path.exists(store) and set(os.listdir(store)) - {".lock"}:
        raise ValueError(f"store {str(store)!r} exists but is not a sweep store")
    group = ZarrStore(store)
    group.attrs.update({"fingerprint": fingerprint, "sweep_name": sweep_name})
    return group


def _what_differs(difference, stored) -> str:
    said = difference(stored) if difference is not None and stored else ""
    return f": {said}" if said else ""


def chunk_checksum(values: dict) -> int:
    """BLAKE2b (8 bytes, as a signed int64) of a chunk's rows: every variable's name, dtype,
    shape and bytes, in name order, NaNs made canonical (zarr does not store a chunk that is
    all fill value, so an all-NaN chunk reads back as the canonical NaN whatever the payload
    of the NaNs written).  Never -1, the fill value of an unwritten checksum."""
    import hashlib

    digest = hashlib.blake2b(digest_size=8)
    for name in sorted(values):
        array = np.ascontiguousarray(values[name])
        if array.dtype.kind in "fc":
            array = np.where(np.isnan(array), np.array(np.nan, array.dtype), array)
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    value = int.from_bytes(digest.digest(), "little", signed=True)
    return 0 if value == -1 else value


def chunk_file(group, name: str, c: int) -> str:
    """Where chunk ``c`` of variable ``name`` lives (zarr v3 default keys: ``name/c/c/0...``)."""
    if getattr(group, "path", None) is None:
        return f"<memory>/{name}[{c}]"
    try:
        ndim = len(group[name].shape)
    except Exception:  # its metadata is unreadable too: name the chunk's directory
        ndim = 1
    return os.path.join(group.path, name, "c", str(c), *(["0"] * (ndim - 1)))


def _read(group, name, where):
    """``group[name][where]``; a storage error (missing codec frame, truncated file, bad
    metadata) becomes ``OSError``; the caller names the file."""
    try:
        return np.asarray(group[name][where])
    except Exception as exc:  # zarr/numcodecs raise RuntimeError, ValueError, KeyError, ...
        raise OSError(f"{type(exc).__name__}: {exc}") from exc


def verify_chunks(group, names, chunk_rows: int, n_chunks: int):
    """Which chunks of ``group`` are really done (``names``: the variables, or a function of
    the chunk index giving the variables that chunk wrote).

    A chunk counts as done only if its flag is readable and set, its checksum is readable,
    and the checksum of its rows as read now equals it.  Returns ``(done, problems)``:
    a boolean array, and one line per flagged chunk that failed (chunk, file, reason).
    Unreadable array metadata raises ``ValueError`` naming the file.
    """
    names_of = names if callable(names) else (lambda c, _n=tuple(names): _n)
    every = sorted({n for c in range(n_chunks) for n in names_of(c)}) if callable(names) \
        else list(names)
    for name in ("done", "checksum", *every):
        meta = os.path.join(group.path, name, "zarr.json") if group.path else name
        try:
            group[name]
        except Exception as exc:
            raise ValueError(f"store {group.path!r} is damaged: cannot read {meta} ({exc}); "
                             "delete the store and rerun") from None
    flags = _per_chunk(group, "done", n_chunks)
    sums = _per_chunk(group, "checksum", n_chunks)
    done = np.zeros(n_chunks, dtype=bool)
    problems = []
    data = {}
    for name in every if any(f is True for f in flags) else ():
        try:  # one read per variable; per-chunk reads only to find a bad chunk
            data[name] = _read(group, name, slice(None))
        except OSError:
            data[name] = None
    for c in range(n_chunks):
        if flags[c] is not True:
            if flags[c] is None:
                problems.append(f"chunk {c}: done flag unreadable ({chunk_file(group, 'done', c)})")
            continue
        if sums[c] is None:
            problems.append(f"chunk {c}: checksum unreadable ({chunk_file(group, 'checksum', c)})")
            continue
        if sums[c] == -1:  # written before stores kept checksums: cannot be trusted
            problems.append(f"chunk {c}: no checksum ({chunk_file(group, 'checksum', c)})")
            continue
        rows = slice(c * chunk_rows, (c + 1) * chunk_rows)
        values, bad = {}, None
        for name in names_of(c):
            try:
                values[name] = data[name][rows] if data[name] is not None else \
                    _read(group, name, rows)
            except OSError as exc:
                bad = f"chunk {c}: {chunk_file(group, name, c)} unreadable ({exc})"
                break
        if bad is None and chunk_checksum(values) != sums[c]:
            bad = (f"chunk {c}: data does not match its checksum (missing or altered file "
                   f"under {os.path.join(group.path or '', '*', 'c', str(c))})")
        if bad is None:
            done[c] = True
        else:
            problems.append(bad)
    return done, problems


def _per_chunk(group, name, n):
    """Values of a one-row-per-chunk array as Python objects; ``None`` where unreadable."""
    try:
        return [v.item() for v in _read(group, name, slice(None))]
    except OSError:
        out = []
        for c in range(n):
            try:
                out.append(_read(group, name, c).item())
            except OSError:
                out.append(None)
        return out


def finished_store(store, fingerprint: str, sweep_name: str, names=(), chunk_rows: int = 1,
                   difference=None):
    """A completed store of this sweep, read-only, as a :class:`ZarrStore` (``ValueError`` if it
    holds another sweep -- ``difference(stored_fingerprint)`` says what differs --, misses
    chunks, or a chunk's files are missing or damaged: named)."""
    import zarr

    try:
        group = zarr.open_group(str(store), mode="r")
        attrs = dict(group.attrs)
    except Exception as exc:
        raise ValueError(f"store {str(store)!r} cannot be read: "
                         f"{os.path.join(str(store), 'zarr.json')} ({exc})") from None
    if attrs.get("fingerprint") != fingerprint:
        raise ValueError(f"store {str(store)!r} does not hold sweep {sweep_name!r}"
                         + _what_differs(difference, attrs.get("fingerprint")))
    view = ZarrStore.__new__(ZarrStore)
    view.group, view.attrs, view.path = group, group.attrs, str(store)
    try:
        n_chunks = group["done"].shape[0]
    except Exception as exc:
        raise ValueError(f"store {str(store)!r} is damaged: cannot read "
                         f"{os.path.join(str(store), 'done', 'zarr.json')} ({exc})") from None
    flags = _per_chunk(view, "done", n_chunks)
    missing = sum(1 for f in flags if f is False)
    if missing:
        raise ValueError(f"store {str(store)!r} is missing {missing} chunks; rerun the sweep")
    done, problems = verify_chunks(view, names, chunk_rows, n_chunks)
    if problems:
        raise ValueError(f"store {str(store)!r} is damaged: " + "; ".join(problems[:5])
                         + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
                         + "; rerun the sweep to recompute them")
    return view
