"""A scripted stand-in for the engine (tests only): fixed snapshots, recorded calls.

Times are fixed (NOW) so that snapshot tests are deterministic.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from console.engine.model import (
    ActionResult,
    ChecklistSummary,
    CredentialSummary,
    GateResult,
    HealthState,
    JournalLine,
    Overall,
    Phase,
    Role,
    RollbackStep,
    ShiftPreview,
    Snapshot,
    StreamState,
    Verdict,
)
from console.routing.base import RouterState

NOW = 1_780_000_000.0
"""A fixed clock: 2026-05-28 20:26:40 UTC."""


def gate(
    name: str,
    metric: str,
    verdict: Verdict,
    value: float | None,
    op: str,
    threshold: float,
) -> GateResult:
    """A gate result whose why reads like the engine's."""
    shown = "no data" if value is None else f"{value:.2f}"
    return GateResult(
        name=name,
        metric=metric,
        verdict=verdict,
        value=value,
        op=op,
        threshold=threshold,
        window_s=60,
        samples=412 if value is not None else 0,
        data_age_s=1.2 if value is not None else None,
        consecutive_breaches=1 if verdict is Verdict.WARN else 0,
        breaches_needed=2,
        why=f"{metric} {shown} {op} {threshold:g} over 60 s "
        "(412 samples, data 1.2 s old)",
    )


def series(start: float, values: Sequence[float]) -> list[tuple[float, float]]:
    """Points one second apart ending at NOW."""
    n = len(values)
    return [(NOW - (n - 1 - i), v) for i, v in enumerate(values)]


def wave(base: float, amp: float, n: int = 90) -> list[float]:
    """A smooth deterministic curve."""
    return [base + amp * math.sin(i / 7) for i in range(n)]


def make_snapshot(**changes: Any) -> Snapshot:
    """A mid-cutover driver snapshot at 5%, holding, gates mostly passing."""
    snap = Snapshot(
        at=NOW,
        env="prod",
        production=True,
        role=Role.DRIVER,
        phase=Phase.HOLDING,
        overall=Overall.OK,
        levels=(5, 10, 25, 50, 100),
        stage=0,
        router=RouterState(
            effective_pct=5.0,
            requested_pct=5.0,
            generation=3,
            detail="file routing.json",
            read_at=NOW,
        ),
        router_kind="file",
        hold_started_at=NOW - 600,
        hold_ends_at=NOW + 723,
        worst_case_rollback_s=44.0,
        gates=(
            gate("auth_success", "auth_success_pct", Verdict.PASS, 99.82, ">", 99.5),
            gate("auth_latency", "auth_p95_s", Verdict.PASS, 0.84, "<", 2.0),
            gate("auth_errors", "auth_error_pct", Verdict.PASS, 0.12, "<", 0.5),
            gate(
                "payment_success", "payment_success_pct", Verdict.PASS, 99.95, ">", 99.9
            ),
            gate("uptime", "uptime_pct", Verdict.PASS, 100.0, ">=", 99.9),
            gate("ws_stability", "ws_reconnects_per_h", Verdict.PASS, 0.0, "<", 12),
        ),
        health=(
            HealthState("dev", True, 38.0, "2.4.1", None, 100.0, NOW - 2),
            HealthState("prod", True, 41.0, "2.4.1", NOW - 3600, 99.98, NOW - 1),
        ),
        streams=(StreamState("prod", "connected", 22.0, 0, NOW - 900),),
        credentials=(
            CredentialSummary(
                "dev", "v_…a1b2", "sk_test_…77c1", "keyring", NOW - 86400
            ),
            CredentialSummary(
                "prod", "v_…c3d4", "sk_live_…9f3a", "keyring", NOW - 3600
            ),
        ),
        checklist=ChecklistSummary(14, 16, True, 0, ("notify support",)),
        journal_tail=(
            JournalLine(NOW - 900, "alice@jump", "start", "cutover begins"),
            JournalLine(NOW - 600, "alice@jump", "shift 0%→5%", "planned step"),
            JournalLine(NOW - 30, "engine", "gate check", "all gates pass"),
        ),
        rollback_steps=(),
        series={
            "auth_success_pct": series(NOW, wave(99.8, 0.1)),
            "payment_success_pct": series(NOW, wave(99.95, 0.03)),
            "auth_p95_s": series(NOW, wave(0.8, 0.2)),
            "auth_error_pct": series(NOW, wave(0.1, 0.05)),
            "txn_per_s": series(NOW, wave(12, 3)),
            "ws_connections": series(NOW, [40.0] * 90),
            "ws_reconnects_per_h": series(NOW, [0.0] * 90),
            "traffic_pct": series(NOW, [5.0] * 90),
        },
    )
    return replace(snap, **changes)


def rolled_back(snap: Snapshot, reason: str) -> Snapshot:
    """What the engine shows after a rollback."""
    return replace(
        snap,
        phase=Phase.ROLLED_BACK,
        overall=Overall.ROLLED_BACK,
        stage=-1,
        router=RouterState(
            effective_pct=0.0, requested_pct=0.0, generation=4, read_at=NOW
        ),
        hold_started_at=None,
        hold_ends_at=None,
        rolled_back_reason=reason,
        rollback_steps=(
            RollbackStep("stop new traffic", "done", 0.03, "router at 0%, read back"),
            RollbackStep("complete in-flight", "done", 2.0, "3 contexts finished"),
            RollbackStep("verify", "done", 0.1, "no BOOP traffic"),
            RollbackStep("freeze", "done", 0.0, "sticky until re-armed"),
            RollbackStep("preserve data", "done", 0.4, "evidence written"),
            RollbackStep("notify", "skipped", None, "no notifier configured"),
        ),
        evidence_path="/state/evidence/20260528-202640",
    )


class FakeQueue:
    """Single slot, like the engine's: a newer snapshot replaces an untaken one."""

    def __init__(self) -> None:
        self._slot: Snapshot | None = None
        self._ready = asyncio.Event()
        self.closed = False

    def put(self, snap: Snapshot) -> None:
        self._slot = snap
        self._ready.set()

    async def get(self) -> Snapshot:
        await self._ready.wait()
        self._ready.clear()
        snap, self._slot = self._slot, None
        assert snap is not None
        return snap

    def close(self) -> None:
        self.closed = True


class FakeEngine:
    """Implements EngineAPI; records every call as (name, kwargs)."""

    def __init__(self, snap: Snapshot | None = None, *, blockers: Sequence[str] = ()):
        self.current = snap or make_snapshot()
        self.blockers = tuple(blockers)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.queues: list[FakeQueue] = []

    def publish(self, snap: Snapshot) -> None:
        self.current = snap
        for q in self.queues:
            q.put(snap)

    def snapshot(self) -> Snapshot:
        return self.current

    def subscribe(self) -> FakeQueue:
        q = FakeQueue()
        self.queues.append(q)
        return q

    def preview_shift(self, to_pct: float | None = None) -> ShiftPreview:
        self.calls.append(("preview_shift", {"to_pct": to_pct}))
        return ShiftPreview(
            from_pct=self.current.traffic_pct or 0.0,
            to_pct=10.0 if to_pct is None else to_pct,
            gates=self.current.gates,
            blockers=self.blockers,
            needs_override=bool(self.blockers),
        )

    async def rollback(self, *, who: str, reason: str) -> ActionResult:
        self.calls.append(("rollback", {"who": who, "reason": reason}))
        if self.current.phase is Phase.ROLLED_BACK:
            return ActionResult(True, "already rolled back: nothing to do")
        self.publish(rolled_back(self.current, reason))
        return ActionResult(True, "rolled back to 0%")

    async def shift(
        self, to_pct: float, *, who: str, reason: str, override: bool = False
    ) -> ActionResult:
        self.calls.append(
            (
                "shift",
                {"to_pct": to_pct, "who": who, "reason": reason, "override": override},
            )
        )
        return ActionResult(True, f"traffic at {to_pct:g}%")

    async def hold(self, *, who: str, reason: str) -> ActionResult:
        self.calls.append(("hold", {"who": who, "reason": reason}))
        return ActionResult(True, "holding")

    async def resume(self, *, who: str, reason: str) -> ActionResult:
        self.calls.append(("resume", {"who": who, "reason": reason}))
        return ActionResult(True, "resumed")

    async def extend_hold(
        self, seconds: float, *, who: str, reason: str
    ) -> ActionResult:
        self.calls.append(
            ("extend_hold", {"seconds": seconds, "who": who, "reason": reason})
        )
        return ActionResult(True, "extended")

    async def rearm(self, *, who: str, reason: str) -> ActionResult:
        self.calls.append(("rearm", {"who": who, "reason": reason}))
        return ActionResult(True, "re-armed")

    def names(self) -> list[str]:
        """The recorded call names, in order."""
        return [name for name, _ in self.calls]
