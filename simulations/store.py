r"""Where a sweep's numbers live while it runs: the zarr store, its lock, and an in-memory twin.

A sweep store is a zarr group with one array per output (rows = points, grouped by static
fields and chunk-aligned: each chunk of the sweep owns whole rows, so concurrent writers never
share a storage chunk), a ``done`` flag per chunk (set only after every variable of the chunk
is written, so a killed sweep resumes from the flags and loses nothing), and two attributes:
the sweep's ``fingerprint`` (a store of another sweep is refused, never overwritten) and its
``sweep_name``.  Unwritten entries hold the fill value of their dtype (NaN, False or -1).

While a process writes a store it holds ``<store>/.lock`` (pid@host): a second live writer is
refused with :class:`StoreLockedError`; a lock whose process is gone is taken over.
:mod:`simulations.sweep` decides what to compute; this module only keeps the rows.
"""

from __future__ import annotations

import contextlib
import os
import socket

import numpy as np

__all__ = ["STORE_FORMAT", "StoreLockedError", "MemoryStore", "ZarrStore", "fill_value",
           "store_lock", "writable_store", "finished_store"]

STORE_FORMAT = 2  # rows grouped by static fields, chunk-aligned (format 1: grid order)


class StoreLockedError(ValueError):
    """Another live process is writing the same sweep store."""


class MemoryStore:
    """In-memory stand-in for the zarr group when no store path is given."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self.attrs: dict = {}

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

    def create(self, name, shape, dtype, chunk_rows, fill):
        if name not in self.group:
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


@contextlib.contextmanager
def writable_store(store, fingerprint: str, sweep_name: str):
    """Lock ``store``, check that it is new or holds this sweep, and yield it as a
    :class:`ZarrStore` stamped with the fingerprint.  A store of another sweep, or a directory
    that is not a sweep store, raises ``ValueError`` and is left untouched."""
    with store_lock(str(store)):  # first: a second writer must not even read a half store
        if os.path.exists(os.path.join(store, "zarr.json")):
            import zarr

            try:
                existing = dict(zarr.open_group(str(store), mode="r").attrs)
            except Exception as exc:
                raise ValueError(f"store {str(store)!r} exists but is not a sweep store "
                                 f"({exc})") from None
            if existing.get("fingerprint") != fingerprint:
                raise ValueError(f"store {str(store)!r} holds a different sweep "
                                 f"({existing.get('sweep_name')!r}); choose another path or "
                                 "delete it")
        elif os.path.exists(store) and set(os.listdir(store)) - {".lock"}:
            raise ValueError(f"store {str(store)!r} exists but is not a sweep store")
        group = ZarrStore(store)
        group.attrs.update({"fingerprint": fingerprint, "sweep_name": sweep_name})
        yield group


def finished_store(store, fingerprint: str, sweep_name: str):
    """The zarr group of a completed store of this sweep, read-only (``ValueError`` if it holds
    another sweep or misses chunks)."""
    import zarr

    group = zarr.open_group(str(store), mode="r")
    if dict(group.attrs).get("fingerprint") != fingerprint:
        raise ValueError(f"store {str(store)!r} does not hold sweep {sweep_name!r}")
    missing = int((~np.asarray(group["done"][:])).sum())
    if missing:
        raise ValueError(f"store {str(store)!r} is missing {missing} chunks; rerun the sweep")
    return group
