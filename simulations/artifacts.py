"""What every artifact the toolkit writes shares: the package version it was made with, and an
atomic write (a reader or a killed writer never sees a half-written file)."""

from __future__ import annotations

import os

__all__ = ["package_version", "atomic_write"]


def package_version() -> str:
    """The installed collapse-lab version, or ``"unknown"`` when run from an uninstalled tree."""
    try:
        from importlib.metadata import version

        return version("collapse-lab")
    except Exception:  # running from a source tree that was not installed
        return "unknown"


def atomic_write(path, write) -> None:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it onto ``path``.

    The rename is atomic on POSIX file systems, so ``path`` holds either the old content or the
    complete new one.  The temporary file is removed if ``write`` fails."""
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
