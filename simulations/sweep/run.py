r"""Running a sweep: lock the store, refuse what cannot fit, compute the missing chunks (in this
process or on dask workers), and return the dataset.

:func:`run_sweep` takes the store's lock first (a second writer is refused before any setup),
validates every point, estimates the cost (:mod:`simulations.sweep.budget`), then computes each
chunk whose ``done`` flag is unset, writes it, reads it back and flags it.  A killed sweep rerun
on the same store computes only the missing chunks and ends with the same dataset as an
uninterrupted run; on resume every flagged chunk is re-read against its checksum first.

In one process, while XLA runs a chunk (it releases the GIL), a helper thread prepares the next
chunk's host inputs (numpy only).  XLA itself runs one computation at a time: two XLA
computations in concurrent Python threads were seen to deadlock (jax 0.10).  The chunk runs in a
thread of its own while the caller's thread waits in short, interruptible steps, so Ctrl-C is
answered at once instead of after the running chunk: the finished chunks stay in the store, the
running one is abandoned (it finishes in the background and is never written), and the next
sweep of the process waits for it before starting its own computation.

Scale-out: with a ``dask.distributed`` client, every missing chunk becomes one task that a
worker process prepares, evaluates and writes to the (shared) zarr store itself, flag last.
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np

from .budget import Estimate, check_fits, grows_with, precheck
from .chunks import Runner, chunk_outputs, declared_outputs, output_shapes
from .dataset import to_dataset
from .spec import SweepSpec, fingerprint_difference, sweep_fingerprint
from .store import MemoryStore, ZarrStore, fill_value, open_checked, store_lock, verify_chunks

__all__ = ["run_sweep", "SweepInterrupted"]


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_sweep`; the message says truly what was kept.

    ``store``: the store path if it holds finished chunks of this sweep (rerun to resume), else
    ``None``; ``finished`` and ``total``: chunks flagged done, and chunks of the sweep."""

    def __init__(self, message: str, store: str | None, finished: int, total: int):
        super().__init__(message)
        self.store, self.finished, self.total = store, finished, total

    def __str__(self):
        return self.args[0]


def run_sweep(spec: SweepSpec, store: str | os.PathLike | None = None, *,
              progress: bool = True, on_chunk: Callable[[int], None] | None = None,
              client=None, compile_cache: bool = True):
    """Run (or resume) a sweep and return it as an :class:`xarray.Dataset`.

    ``store``: path of a zarr store; if it exists and holds this sweep (same fingerprint) only
    the chunks not yet flagged ``done`` are computed; a store of a different sweep raises
    ``ValueError`` naming what differs (axis, parameter or setting, stored and requested
    values), and a store another live process is writing raises
    :class:`StoreLockedError` (the lock is taken first, before any expensive setup).  ``None``
    keeps everything in memory.  ``on_chunk(index)`` is called after each computed chunk has
    been written, read back and flagged.  Every point is validated (the model's constructor
    raises ``ValueError``) before anything is created on disk.

    Integrity: on resume every flagged chunk is re-read and checked against the checksum kept
    with its flag; a chunk whose files are missing, truncated or corrupt is recomputed (a
    warning names it and its file).  A storage error while writing a chunk (a full disk) is one
    ``OSError`` naming the file; the chunk leaves nothing behind and a rerun resumes.

    Before anything is allocated or compiled the sweep's size is estimated from shapes (points,
    memory of one chunk from the traced program's arrays, output size); a sweep that cannot fit
    in this machine's available memory raises ``ValueError`` with the estimate and a hint
    (``chunk_size``, fewer times or points).  Large sweeps print the estimate.  A refused or
    failed start leaves no store behind.

    Ctrl-C raises :class:`SweepInterrupted` (a ``KeyboardInterrupt``) within a fraction of a
    second, keeping the finished chunks; a store in which none finished is removed if this call
    created it.

    ``client``: a ``dask.distributed.Client``; the missing chunks then run as tasks on its
    workers, which write straight to ``store`` (a path every worker can reach).  The dataset is
    the same as a run in this process.

    ``compile_cache``: turn on JAX's persistent compilation cache
    (:func:`simulations.compile_cache.enable`; ``COLLAPSE_LAB_CACHE_DIR`` moves it, ``off``
    disables it) so a later process reuses the compiled chunk functions.
    """
    if client is not None and store is None:
        raise ValueError("store=None with a dask client: the workers write the results, so "
                         "give a store path they can all reach")
    if store is None:
        try:
            runner, shapes, outputs = _setup(spec, compile_cache, progress)
            return _execute(runner, MemoryStore(), shapes, outputs, progress, on_chunk, None,
                            None)
        except KeyboardInterrupt:
            raise SweepInterrupted("interrupted; nothing was kept (the sweep had no store)",
                                   None, 0, spec.n_chunks) from None
    store = str(store)
    created = not os.path.exists(store)
    with store_lock(store):  # first: a second writer is refused before any setup
        try:
            runner, shapes, outputs = _setup(spec, compile_cache, progress)
            fingerprint = sweep_fingerprint(spec)
            group = open_checked(store, fingerprint, spec.name,
                                 difference=lambda old: fingerprint_difference(old, fingerprint))
            return _execute(runner, group, shapes, outputs, progress, on_chunk, client, store)
        except KeyboardInterrupt:
            if created:
                _remove_if_nothing_done(store)
            raise _interrupted(store, spec.n_chunks) from None
        except OSError as exc:
            if created:
                _remove_if_nothing_done(store)
            if exc.errno is None or exc.filename:
                raise
            # zarr's own writes (metadata, flags) name no file: name the store
            raise OSError(exc.errno, f"{exc.strerror or os.strerror(exc.errno)} while writing "
                          "the sweep store", store) from exc
        except BaseException:
            if created:
                _remove_if_nothing_done(store)
            raise


def _interrupted(store, total) -> SweepInterrupted:
    done = _done_flags(store)
    finished = int(done.sum()) if done is not None else 0
    if finished:
        return SweepInterrupted(f"interrupted; {finished} of {total} chunks are finished and "
                                f"kept in {store}: rerun the same command to resume",
                                store, finished, total)
    return SweepInterrupted(f"interrupted before any chunk of {store} was finished; nothing "
                            "was kept", None, 0, total)


def _done_flags(store):
    try:
        import zarr

        return np.asarray(zarr.open_group(store, mode="r")["done"][:])
    except Exception:
        return None  # no readable flags: nothing finished


def _remove_if_nothing_done(store):
    """A start that failed before any chunk was finished leaves no (empty) store behind."""
    import shutil

    done = _done_flags(store)
    if done is not None and done.any():
        return
    for entry in os.listdir(store):
        if entry != ".lock":  # the lock goes with store_lock
            path = os.path.join(store, entry)
            shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)


def _setup(spec, compile_cache, progress):
    """Validate, estimate, refuse what cannot fit; return (runner, output shapes, outputs)."""
    precheck(spec, progress)  # before building every point: a grid too large is refused fast
    runner = Runner(spec)  # validates every point before anything is written
    if compile_cache:
        from ..compile_cache import enable

        enable()
    outputs = declared_outputs(runner)
    shapes, peak, inputs = output_shapes(runner, outputs)
    check_fits(Estimate.of(spec, shapes, peak, exact=True, culprit=grows_with(spec, inputs)),
               progress)
    return runner, shapes, outputs


def _execute(runner, group, shapes, outputs, progress, on_chunk, client, store):
    spec, plan = runner.spec, runner.plan
    n_chunks, size = len(plan.chunks), spec.chunk_size
    for name, (shape, dtype) in shapes.items():
        group.create(name, (n_chunks * size,) + shape, dtype, size, fill_value(dtype))
    group.create("checksum", (n_chunks,), np.int64, 1, fill_value(np.int64))
    group.create("done", (n_chunks,), bool, 1, False)

    if group.path is None:
        done = np.asarray(group["done"][:])
    else:  # a flag is only as good as the data under it: re-read and check every chunk
        done, problems = verify_chunks(group, chunk_outputs(runner), size, n_chunks)
        if problems:
            import warnings

            warnings.warn(f"store {store!r}: {len(problems)} finished chunk(s) are missing or "
                          "damaged and will be recomputed: " + "; ".join(problems[:5])
                          + (" ..." if len(problems) > 5 else ""), RuntimeWarning, stacklevel=3)
    todo = [c for c in range(n_chunks) if not done[c]]
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_chunks, initial=n_chunks - len(todo), desc=f"sweep {spec.name}",
                   unit="chunk")

    def finished(c):
        if bar is not None:
            bar.update(1)
        if on_chunk is not None:
            on_chunk(c)

    prep = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweep-prepare")
    try:
        if client is not None:
            _run_on_cluster(client, spec, store, todo, finished)
        else:
            inputs = runner.inputs(plan.chunks[todo[0]]) if todo else None
            for i, c in enumerate(todo):
                # numpy-only preparation of the next chunk overlaps this chunk's XLA run
                upcoming = (prep.submit(runner.inputs, plan.chunks[todo[i + 1]])
                            if i + 1 < len(todo) else None)
                result = _interruptible(runner.compute, plan.chunks[c], inputs)
                runner.write(group, c, result)
                inputs = upcoming.result() if upcoming is not None else None
                finished(c)
    finally:
        prep.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()
    return to_dataset(runner, group, outputs)


_ABANDONED: list = []  # chunk threads left running by an interrupt (at most one)


def _interruptible(fn, *args):
    """``fn(*args)`` in a daemon thread, waited for in short steps so that Ctrl-C in the
    calling thread is raised at once; the abandoned call finishes in the background (daemon:
    it never holds the process open) and the next call waits for it first, so XLA still runs
    one computation at a time."""
    while _ABANDONED:
        _ABANDONED[0].join()
        _ABANDONED.pop(0)
    box: dict = {}

    def target():
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="sweep-chunk", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.05)
    except KeyboardInterrupt:
        _ABANDONED.append(thread)
        raise
    if "error" in box:
        raise box["error"]
    return box["value"]


def _compute_chunk(spec, store, c):
    """One chunk on a dask worker: prepare, evaluate, write, flag."""
    runner = _worker_runner(spec)
    runner.write(ZarrStore(store), c, runner.compute(runner.plan.chunks[c]))
    return c


@functools.lru_cache(maxsize=8)
def _worker_runner(spec):
    _exit_without_collecting()
    return Runner(spec)


@functools.lru_cache(maxsize=1)
def _exit_without_collecting():
    """Freeze the heap when this (worker) process exits.  A worker holds a large object graph
    (JAX, XLA, xarray, zarr): the collections the interpreter runs while it finalises took
    1-4 s on a loaded two-core machine, past the 4 s a dask nanny waits before it kills the
    worker with "Worker process still alive" warnings.  Frozen objects are not collected, and
    the operating system frees the memory anyway; registered last, this runs first."""
    import atexit
    import gc

    atexit.register(gc.freeze)


def _run_on_cluster(client, spec, store, todo, finished):
    from dask.distributed import as_completed

    futures = [client.submit(_compute_chunk, spec, store, c, pure=False) for c in todo]
    try:
        for future in as_completed(futures):
            finished(future.result())  # re-raises a worker's exception here
    finally:
        client.cancel(futures)  # on error or Ctrl-C: stop queued chunks; written ones are kept
