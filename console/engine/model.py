"""What the engine tells its hosts (TUI, guard, CLI): immutable snapshots.

The engine publishes a fresh :class:`Snapshot` after every change; hosts render it and
never reach into the engine's internals. Requests go the other way through the
methods of :class:`EngineAPI`. Nothing here imports textual.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from console.routing.base import RouterState


class Verdict(StrEnum):
    """One gate's verdict."""

    PASS = "PASS"
    WARN = "WARN"
    """Breaching, but fewer consecutive times than the gate's limit (or in warm-up)."""
    BREACH = "BREACH"
    INSUFFICIENT = "INSUFFICIENT DATA"
    """No data, stale data, too few samples or a source error: never a pass."""


class Overall(StrEnum):
    """The one word on the status line."""

    OK = "OK"
    WARN = "WARN"
    BREACH = "BREACH"
    INSUFFICIENT = "INSUFFICIENT DATA"
    ROLLED_BACK = "ROLLED BACK"


class Phase(StrEnum):
    """Where the cutover stands."""

    NOT_STARTED = "not started"
    """Traffic at 0%, never raised (or re-armed after a rollback)."""
    HOLDING = "holding"
    """At a level, its hold running."""
    PAUSED = "paused"
    """At a level, hold clock stopped by a person."""
    READY = "ready"
    """Hold elapsed and every gate passes: promotion allowed."""
    ROLLING_BACK = "rolling back"
    ROLLED_BACK = "rolled back"
    """Sticky: nothing raises traffic until a person re-arms with a reason."""
    COMPLETE = "complete"
    """At 100% with its hold elapsed."""


class Role(StrEnum):
    DRIVER = "driver"
    OBSERVER = "observer"


@dataclass(frozen=True)
class GateResult:
    name: str
    metric: str
    verdict: Verdict
    value: float | None
    op: str
    threshold: float
    window_s: float
    samples: int
    data_age_s: float | None
    consecutive_breaches: int
    breaches_needed: int
    why: str
    """One line, identical in UI, journal and notifications, e.g.
    'auth_success_pct 97.10 % < 99.5 over 60 s (412 samples, data 1.2 s old)'."""


@dataclass(frozen=True)
class HealthState:
    env: str
    ok: bool | None
    """None before the first probe."""
    latency_ms: float | None = None
    version: str | None = None
    version_changed_at: float | None = None
    uptime_pct: float | None = None
    last_probe_at: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class StreamState:
    env: str
    state: str
    """'connecting', 'connected', 'backing off', 'failed', 'stopped'."""
    rtt_ms: float | None = None
    reconnects: int = 0
    connected_since: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class RollbackStep:
    name: str
    """'stop new traffic', 'complete in-flight', 'verify', 'freeze', 'preserve data',
    'notify'."""
    status: str
    """'pending', 'running', 'done', 'failed', 'skipped'."""
    duration_s: float | None = None
    detail: str = ""


@dataclass(frozen=True)
class JournalLine:
    ts: float
    who: str
    action: str
    why: str


@dataclass(frozen=True)
class CredentialSummary:
    env: str
    vendor_id_masked: str | None
    api_key_masked: str | None
    source: str
    """'keyring (SecretService)', 'environment BOOP_PROD_API_KEY', 'command', ..."""
    stored_at: float | None = None
    problem: str | None = None


@dataclass(frozen=True)
class ChecklistSummary:
    done: int
    total: int
    premigration_done: bool
    overdue: int = 0
    next_items: Sequence[str] = ()


@dataclass(frozen=True)
class ShiftPreview:
    """What the confirmation of a raise shows."""

    from_pct: float
    to_pct: float
    gates: Sequence[GateResult]
    blockers: Sequence[str]
    """Why promotion is not allowed without an override ('hold: 4h12m left', ...)."""
    needs_override: bool


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    message: str


@dataclass(frozen=True)
class Snapshot:
    at: float
    env: str
    """The target environment's name (e.g. 'prod')."""
    production: bool
    role: Role
    phase: Phase
    overall: Overall
    levels: Sequence[int]
    stage: int
    """Index into levels of the current level; -1 at 0%."""
    router: RouterState
    router_kind: str
    hold_started_at: float | None
    hold_ends_at: float | None
    worst_case_rollback_s: float | None
    """Worst-case seconds from a fault starting to an automatic rollback."""
    gates: Sequence[GateResult]
    health: Sequence[HealthState]
    streams: Sequence[StreamState]
    credentials: Sequence[CredentialSummary]
    checklist: ChecklistSummary | None
    journal_tail: Sequence[JournalLine]
    rollback_steps: Sequence[RollbackStep]
    rolled_back_reason: str | None = None
    evidence_path: str | None = None
    warnings: Sequence[str] = ()
    """Drift, journal write failures, lease lost, ... shown prominently."""
    series: Mapping[str, Sequence[tuple[float, float]]] = field(default_factory=dict)
    """Chart data per metric id, the last few minutes at ~1 s."""

    @property
    def traffic_pct(self) -> float | None:
        return self.router.effective_pct


class EngineAPI(Protocol):
    """What a host may ask of the engine. Every method is safe to call from any
    instance; the engine refuses (ActionResult.ok False) what an observer may not do.
    Rollback is allowed everywhere, always."""

    def snapshot(self) -> Snapshot: ...

    def subscribe(self) -> SnapshotQueue: ...

    async def rollback(self, *, who: str, reason: str) -> ActionResult: ...

    def preview_shift(self, to_pct: float | None = None) -> ShiftPreview:
        """None: the next planned level."""
        ...

    async def shift(
        self, to_pct: float, *, who: str, reason: str, override: bool = False
    ) -> ActionResult: ...

    async def hold(self, *, who: str, reason: str) -> ActionResult: ...

    async def resume(self, *, who: str, reason: str) -> ActionResult: ...

    async def extend_hold(
        self, seconds: float, *, who: str, reason: str
    ) -> ActionResult: ...

    async def rearm(self, *, who: str, reason: str) -> ActionResult: ...


class SnapshotQueue(Protocol):
    """A single-slot queue: a newer snapshot replaces one not yet taken (coalescing)."""

    async def get(self) -> Snapshot: ...

    def close(self) -> None: ...
