"""Crash-safe small-file writes shared by the file router and the engine's state.

A write goes to a temporary file in the same directory, is flushed and fsynced, then
renamed over the target; the directory is fsynced so the rename itself survives a
power loss. A reader therefore sees the old document or the new one, never half.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_bytes_atomic(
    path: Path, data: bytes, *, fsync: bool = True, mode: int | None = None
) -> None:
    """Replace ``path`` with ``data`` atomically; raises OSError on failure.

    The file is created 0600 (state, journal, marker are private) unless ``mode``
    says otherwise: the routing file is read by an application that may run as
    another user, so the file router passes 0o644.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if mode is not None:
            os.fchmod(fd, mode)  # explicit, so the umask cannot narrow it
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if fsync:
        fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """fsync a directory so a rename inside it is durable."""
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_json_atomic(
    path: Path, doc: Any, *, fsync: bool = True, mode: int | None = None
) -> None:
    """Write ``doc`` as indented JSON with a trailing newline, atomically."""
    data = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")
    write_bytes_atomic(path, data, fsync=fsync, mode=mode)
