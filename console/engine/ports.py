"""What the engine needs from the parts around it, as small protocols.

The runtime (console/engine/runtime.py) fills these with the real probes, checklist,
credentials and stream client; tests fill them with fakes. Each is optional: a
missing part shows as "not configured" and never as a pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from console.engine.model import (
    ChecklistSummary,
    CredentialSummary,
    HealthState,
    StreamState,
)


class Monitors(Protocol):
    """The console's own probes (health, vendor WebSocket). Runs its own loops."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> Sequence[HealthState]: ...

    def streams(self) -> Sequence[StreamState]: ...

    def probe_log(self) -> Sequence[str]:
        """Recent probe results, one line each, for the evidence bundle."""
        ...


class Checklist(Protocol):
    def premigration_blockers(self) -> list[str]:
        """Open pre-migration items; traffic may not leave 0% while any remain."""
        ...

    def summary(self) -> ChecklistSummary | None: ...


class Credentials(Protocol):
    def summaries(self) -> Sequence[CredentialSummary]: ...


class InFlight(Protocol):
    """Work started on the BOOP side that rollback lets finish, then cancels."""

    def inflight(self) -> int | None:
        """How many contexts/transactions are open on BOOP now; None when unknown
        (e.g. the metrics behind the count are down or stale)."""
        ...

    async def cancel_inflight(self, reason: str) -> int:
        """Cancel what is still open; returns how many were cancelled (0 when
        this console cannot cancel them, e.g. the vendor application's own)."""
        ...


@runtime_checkable
class InFlightGauge(Protocol):
    """An :class:`InFlight` read from a polled gauge: rollback step 2 polls it at
    ``poll_s`` and trusts a zero only from a reading taken after the stop."""

    poll_s: float

    def sample(self) -> tuple[int, float] | None:
        """(count, age of the reading in seconds), or None when unknown/stale."""
        ...

    async def refresh(self) -> None:
        """Poll the source once, bounded; never raises."""
        ...


class Notifier(Protocol):
    async def send(self, title: str, body: str, kind: str = "info") -> str | None:
        """Send to every configured target; returns a problem or None.

        ``kind`` is the severity: "info", "success", "warning" or "failure"."""
        ...


@runtime_checkable
class SessionCutter(Protocol):
    """A router that can cut connections still open on BOOP after a drain
    (HAProxy: ``shutdown sessions server``); rollback step 2 uses it."""

    cut_after_s: float | None

    async def cut_sessions(self) -> None: ...


@runtime_checkable
class MetricRecorder(Protocol):
    """A metrics source that also stores values the engine knows (traffic_pct)."""

    def record(self, metric: str, value: float, at: float | None = None) -> None: ...
