"""The driver lease: an exclusive ``flock`` on ``<state_dir>/lease``.

The driver holds the lock for its whole life and writes who it is into the file;
the kernel releases the lock when the process dies, so a standby guard that retries
takes over by itself. Observers read the file to name the driver.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("console.engine")


@dataclass(frozen=True)
class LeaseHolder:
    who: str
    pid: int
    since: float

    def describe(self) -> str:
        return f"{self.who} (pid {self.pid})"


class Lease:
    """Try to become the driver; keep the lock until :meth:`release`."""

    def __init__(self, path: Path, who: str) -> None:
        self.path = path
        self.who = who
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if free (never blocks). True when this instance drives."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except OSError:
            os.close(fd)
            raise
        doc = {"who": self.who, "pid": os.getpid(), "since": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(doc).encode(), 0)
        self._fd = fd
        log.info("lease acquired: %s drives", self.who)
        return True

    def holder(self) -> LeaseHolder | None:
        """Who the lease file names (the driver, if one holds the lock)."""
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            return LeaseHolder(str(doc["who"]), int(doc["pid"]), float(doc["since"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def driver(self) -> LeaseHolder | None:
        """The driver now: this instance, another (from the file), or None if free."""
        if self._fd is not None:
            return self.holder()
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            return None  # no state directory: nobody can drive from it
        try:
            # Probe without keeping it: a free lock means no driver runs.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return self.holder() or LeaseHolder("another instance", 0, 0.0)
        finally:
            os.close(fd)
        return None

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None
        log.info("lease released by %s", self.who)
