"""JAX's persistent compilation cache, on by default for sweeps and the CLI.

A sweep's first chunk spends seconds compiling its ``jit(vmap(...))`` program; the cache keeps
the compiled program on disk so the next process (a resumed sweep, the next figure, the next
day) loads it instead.  Location, in order of precedence:

- ``COLLAPSE_LAB_CACHE_DIR``: a directory, or ``off`` (also ``0``, ``none``, empty) to disable;
- ``$XDG_CACHE_HOME/collapse-lab/jax``;
- ``~/.cache/collapse-lab/jax``.

A cache directory the user already gave JAX (``jax_compilation_cache_dir``) is left alone.
"""

from __future__ import annotations

import os

__all__ = ["cache_dir", "enable"]

_OFF = ("off", "0", "none", "false", "")


def cache_dir() -> str | None:
    """The directory the cache uses, or None when disabled."""
    value = os.environ.get("COLLAPSE_LAB_CACHE_DIR")
    if value is not None:
        return None if value.strip().lower() in _OFF else os.path.expanduser(value)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "collapse-lab", "jax")


def enable() -> str | None:
    """Point JAX's persistent cache at :func:`cache_dir` (idempotent); returns the directory in
    use, or None when disabled."""
    import jax

    current = jax.config.jax_compilation_cache_dir
    if current:
        return current
    path = cache_dir()
    if path is None:
        return None
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:  # read-only home: run without the cache rather than fail the sweep
        return None
    jax.config.update("jax_compilation_cache_dir", path)
    # every chunk program is worth keeping: they are few and each costs seconds to build
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path
