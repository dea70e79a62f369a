"""The persisted cutover state and the rollback marker.

``state.json`` belongs to the driver and is written atomically after every change,
so a restarted console resumes exactly: the level, when its hold started, pauses,
extensions. ``rollback.json`` (the marker) may be written by any instance: it says
a rollback is in progress or done, and the driver honours it. It is written before
the first rollback step (status ``in_progress``) so a process killed mid-rollback
is finished by the next one that starts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from console.errors import StateError
from console.routing.atomic import write_json_atomic

log = logging.getLogger("console.engine")

STATE_FORMAT = 1
DAMAGED_HINT = (
    "`boop-console rollback` works regardless and puts traffic to 0% first. "
    "A console or guard that drives moves the damaged file aside "
    "(state.json.damaged-<time>) and resumes from the router and the rollback "
    "marker; compare it with the evidence bundle if you need the old hold."
)


@dataclass
class CutoverState:
    """Everything the driver needs to resume (times are Unix seconds)."""

    stage: int = -1
    """Index into the plan's levels; -1 at 0%."""
    requested_pct: float = 0.0
    level_changed_at: float | None = None
    """Start of the warm-up after the last level change."""
    hold_started_at: float | None = None
    paused_at: float | None = None
    paused_total_s: float = 0.0
    extra_hold_s: float = 0.0
    rolled_back: bool = False
    rolled_back_at: float | None = None
    rolled_back_reason: str | None = None
    rolled_back_by: str | None = None
    evidence_path: str | None = None
    router_generation: int = 0
    gates: list[dict[str, Any]] = field(default_factory=list)
    """The driver's last verdicts (for `status` run from another process)."""
    gates_at: float | None = None
    format_version: int = STATE_FORMAT

    def hold_ends_at(self, hold_s: float, now: float) -> float | None:
        """When the hold ends, counting pauses and extensions (None at 0%)."""
        if self.hold_started_at is None:
            return None
        paused = self.paused_total_s
        if self.paused_at is not None:
            paused += max(0.0, now - self.paused_at)
        return self.hold_started_at + hold_s + self.extra_hold_s + paused


def load_state(path: Path) -> CutoverState:
    """The saved state, or a fresh one if there is none. Raises StateError."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return CutoverState()
    except (OSError, ValueError) as exc:
        raise StateError(
            f"The cutover state {path} is unreadable: {exc}.", hint=DAMAGED_HINT
        ) from exc
    if not isinstance(doc, dict):
        raise StateError(
            f"The cutover state {path} is not a JSON object.", hint=DAMAGED_HINT
        )
    if doc.get("format_version") != STATE_FORMAT:
        raise StateError(
            f"{path} has format_version {doc.get('format_version')!r}; "
            f"this console reads {STATE_FORMAT}.",
            hint=DAMAGED_HINT,
        )
    known = {f.name for f in fields(CutoverState)}
    return CutoverState(**{k: v for k, v in doc.items() if k in known})


def move_aside(path: Path, now: float) -> Path | None:
    """Rename a damaged state file to ``<name>.damaged-<unix time>`` (kept for
    inspection, never overwritten); None when it could not be moved."""
    target = path.with_name(f"{path.name}.damaged-{int(now)}")
    try:
        os.replace(path, target)
    except OSError as exc:
        log.error("could not move the damaged state %s aside: %s", path, exc)
        return None
    return target


def save_state(path: Path, state: CutoverState, *, fsync: bool = True) -> None:
    """Write the state atomically. Raises OSError."""
    write_json_atomic(path, asdict(state), fsync=fsync)


@dataclass(frozen=True)
class RollbackMarker:
    """Written by whoever rolls back; read by every instance."""

    status: str
    """'in_progress' or 'done'."""
    at: float
    who: str
    reason: str
    pid: int
    host: str
    before_pct: float | None = None
    evidence_path: str | None = None

    @property
    def in_progress(self) -> bool:
        return self.status == "in_progress"

    def writer_alive(self) -> bool:
        """Is the process that wrote this marker still running (on this host)?"""
        if self.host != os.uname().nodename:
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def read_marker(path: Path) -> RollbackMarker | None:
    """The rollback marker, or None when there is none (or it is unreadable)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in fields(RollbackMarker)}
        return RollbackMarker(**{k: v for k, v in doc.items() if k in known})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        # A damaged marker still means someone rolled back: fail towards safety.
        log.warning(
            "rollback marker %s unreadable (%s): treating as rolled back", path, exc
        )
        return RollbackMarker("done", 0.0, "?", f"unreadable marker: {exc}", 0, "?")


def write_marker(path: Path, marker: RollbackMarker, *, fsync: bool) -> None:
    """Write the marker atomically. Raises OSError."""
    write_json_atomic(path, asdict(marker), fsync=fsync)


def clear_marker(path: Path) -> None:
    """Remove the marker (re-arm)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
