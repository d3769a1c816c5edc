"""A training run directory as a store: checkpoints that carry their configuration, are written
atomically with a checksum, verified on load, and backed by the previous good one.

Layout of ``out_dir``:

- ``config.json``: the run's configuration, for people and tools (the checkpoint carries its
  own copy, so deleting this file cannot make another configuration reuse the state);
- ``checkpoint.eqx``: the latest checkpoint; ``checkpoint.prev.eqx``: the one before it;
- ``metrics.nc`` (written by the trainer).

A checkpoint file is one line ``collapse-lab checkpoint 1``, one line of JSON (the configuration
identity and its SHA-256 fingerprint, the step, the sizes of the two parts, the SHA-256 of the
payload, the names and lengths of the logged metrics), then the payload: the training state
serialised by ``equinox.tree_serialise_leaves`` followed by the metrics history (float64,
little-endian, one column per logged name).  Nothing in it depends on the time or the machine,
so two runs that computed the same steps write the same bytes.

Writing: the whole file goes to a temporary file beside it, is flushed to disk, the current
checkpoint becomes ``checkpoint.prev.eqx`` and the temporary file becomes ``checkpoint.eqx``
(renames, atomic on POSIX).  A failed write (a full disk) removes the temporary file and raises
``OSError`` naming the checkpoint's path; the checkpoints already on disk are untouched, so the
run resumes from them once space is back.

Reading: a checkpoint whose bytes do not match their checksum (zeroed, truncated, emptied,
overwritten) is damaged; the run resumes from ``checkpoint.prev.eqx`` when that one is good
(with a warning naming the damaged file), and is refused with a one-line ``ValueError`` naming
the file otherwise.  A good checkpoint of another configuration is always refused, naming what
differs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import warnings

import numpy as np

from .config import identity_of

__all__ = ["CHECKPOINT", "PREVIOUS", "CONFIG", "Restored", "fingerprint", "check_config_file",
           "restore", "save", "checkpoint_due"]

CHECKPOINT = "checkpoint.eqx"
PREVIOUS = "checkpoint.prev.eqx"
CONFIG = "config.json"

_MAGIC = b"collapse-lab checkpoint 1\n"


def fingerprint(identity: dict) -> str:
    """SHA-256 of the canonical JSON of a configuration identity."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _differences(stored: dict, identity: dict) -> str:
    keys = sorted(set(stored) | set(identity))
    diff = [f"{k}: {stored.get(k, '<absent>')!r} stored, {identity.get(k, '<absent>')!r} now"
            for k in keys if stored.get(k, "<absent>") != identity.get(k, "<absent>")]
    return "; ".join(diff) or "same settings, other fingerprint"


def check_config_file(out_dir, identity: dict) -> bool:
    """Refuse an ``out_dir`` whose ``config.json`` describes another computation (``ValueError``
    naming the file and the differing settings) or cannot be read; True if it exists."""
    path = os.path.join(out_dir, CONFIG)
    if not os.path.exists(path):
        return False
    try:
        with open(path) as fh:
            stored = json.load(fh)
        if not isinstance(stored, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable run configuration ({exc}); delete it to "
                         "let the checkpoint's own configuration decide") from None
    stored = identity_of(stored)
    if stored != identity:
        raise ValueError(f"out_dir={str(out_dir)!r} holds a run with another configuration "
                         f"({path}: {_differences(stored, identity)}); use a new directory")
    return True


class _Damaged(Exception):
    """A checkpoint file whose bytes are not a complete, checksummed checkpoint."""


@dataclasses.dataclass
class Restored:
    """A verified checkpoint: the training state, the metrics history up to ``step``, and the
    file it came from."""

    carry: object
    history: dict
    step: int
    path: str


def _encode(carry, history: dict, identity: dict, step: int) -> bytes:
    import equinox as eqx

    buf = io.BytesIO()
    eqx.tree_serialise_leaves(buf, carry)
    state = buf.getvalue()
    names = sorted(history)
    length = len(history[names[0]]) if names else 0
    columns = b"".join(np.asarray(history[k], dtype="<f8").tobytes() for k in names)
    payload = state + columns
    header = {"config": identity, "fingerprint": fingerprint(identity), "step": int(step),
              "state_bytes": len(state), "history": names, "history_length": length,
              "sha256": hashlib.sha256(payload).hexdigest()}
    return _MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + payload


def _decode(path):
    """(header, state bytes, history) of a checkpoint file; :class:`_Damaged` if it is not a
    complete checkpoint whose payload matches its checksum."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise _Damaged(f"cannot be read: {exc.strerror or exc}") from None
    if not raw:
        raise _Damaged("is empty")
    if not raw.startswith(_MAGIC):
        raise _Damaged("does not start like a collapse-lab checkpoint")
    end = raw.find(b"\n", len(_MAGIC))
    try:
        header = json.loads(raw[len(_MAGIC):end]) if end > 0 else None
        names, length = list(header["history"]), int(header["history_length"])
        state_bytes, step = int(header["state_bytes"]), int(header["step"])
        identity, digest = dict(header["config"]), str(header["sha256"])
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise _Damaged("has an unreadable header") from None
    payload = raw[end + 1:]
    expected = state_bytes + 8 * length * len(names)
    if len(payload) != expected:
        raise _Damaged(f"holds {len(payload)} payload bytes, its header says {expected} "
                       "(truncated or extended)")
    if hashlib.sha256(payload).hexdigest() != digest:
        raise _Damaged("does not match its checksum (its bytes were altered)")
    cols = np.frombuffer(payload[state_bytes:], dtype="<f8").reshape(len(names), length)
    history = {k: cols[i] for i, k in enumerate(names)}
    return {"config": identity, "step": step}, payload[:state_bytes], history


def _read(path, like, identity: dict) -> Restored:
    """A verified checkpoint at ``path``; :class:`_Damaged` or ``ValueError`` (other run)."""
    import equinox as eqx

    header, state, history = _decode(path)
    if header["config"] != identity:
        raise ValueError(f"{path} holds a checkpoint of another configuration "
                         f"({_differences(header['config'], identity)}); use a new directory "
                         "or delete the run's files")
    try:
        carry = eqx.tree_deserialise_leaves(io.BytesIO(state), like)
    except Exception as exc:  # checksummed, yet not this run's state layout
        raise _Damaged(f"does not hold this run's training state ({type(exc).__name__})") \
            from None
    if int(carry.step) != header["step"]:
        raise _Damaged(f"holds step {int(carry.step)}, its header says {header['step']}")
    steps = history.get("step", np.zeros(0))
    if len(steps) and int(steps[-1]) != header["step"]:
        raise _Damaged(f"logs up to step {int(steps[-1])}, its state is at {header['step']}")
    return Restored(carry, history, header["step"], path)


def restore(out_dir, like, identity: dict) -> Restored | None:
    """The run's latest good checkpoint (None if it has none).

    ``like`` is a training state of the right structure, ``identity`` the configuration the
    checkpoint must hold.  A damaged ``checkpoint.eqx`` is replaced by a good
    ``checkpoint.prev.eqx`` (``RuntimeWarning`` naming the damaged file); with no good one to
    fall back to, ``ValueError`` names the file.  A checkpoint of another configuration is
    refused (``ValueError``) and left untouched."""
    path, prev = os.path.join(out_dir, CHECKPOINT), os.path.join(out_dir, PREVIOUS)
    if os.path.exists(path):
        try:
            return _read(path, like, identity)
        except _Damaged as exc:
            damage = f"{path} {exc}"
        if not os.path.exists(prev):
            raise ValueError(f"{damage}, and there is no earlier checkpoint to resume from; "
                             "delete it to start the run again") from None
        try:
            restored = _read(prev, like, identity)
        except _Damaged as exc:
            raise ValueError(f"{damage}, and the earlier {prev} {exc}; delete both to start "
                             "the run again") from None
        warnings.warn(f"{damage}; resuming from the earlier checkpoint at step "
                      f"{restored.step} ({prev})", RuntimeWarning, stacklevel=3)
    elif os.path.exists(prev):   # a write was interrupted between its two renames
        try:
            restored = _read(prev, like, identity)
        except _Damaged as exc:
            raise ValueError(f"{prev} {exc}; delete it to start the run again") from None
    else:
        return None
    os.replace(prev, path)   # the good one becomes the latest; the damaged one is dropped
    return dataclasses.replace(restored, path=path)


def save(out_dir, carry, history: dict, identity: dict, step: int) -> None:
    """Write a checkpoint of ``carry`` (host arrays) and ``history`` at ``step``: to a
    temporary file, flushed, then renamed over ``checkpoint.eqx`` after the current one has
    become ``checkpoint.prev.eqx``.  ``OSError`` (e.g. a full disk) names the checkpoint's path
    and leaves no temporary file; the checkpoints on disk are then unchanged."""
    path = os.path.join(out_dir, CHECKPOINT)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        data = _encode(carry, history, identity, step)
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if os.path.exists(path):
            os.replace(path, os.path.join(out_dir, PREVIOUS))
        os.replace(tmp, path)
    except OSError as exc:
        raise OSError(exc.errno, f"{exc.strerror or exc} (writing the training checkpoint)",
                      path) from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def checkpoint_due(config, step, elapsed, last_save) -> bool:
    """Every ``checkpoint_every`` steps, and by time: after the first dispatch, then when the
    time since the last checkpoint reaches min(training time at it, ``checkpoint_seconds``)
    (doubling intervals capped at ``checkpoint_seconds``; see :mod:`simulations.encoders.train`)."""
    if config.checkpoint_every and step % config.checkpoint_every == 0:
        return True
    every = config.checkpoint_seconds
    if not every:
        return False
    return last_save is None or elapsed - last_save >= min(every, last_save)
