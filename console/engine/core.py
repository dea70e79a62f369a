"""The engine's shared core: its fields, snapshots, journal writes and state saves.

:class:`EngineCore` holds what the plan actions (console/engine/plan.py), the
rollback runbook (console/engine/rollback.py) and the loops (console/engine/engine.py)
all use; :class:`console.engine.engine.Engine` puts them together.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import getpass
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from console.config import Config
from console.credentials.masking import redact
from console.engine import gates as gatemath
from console.engine.journal import Journal, JournalError
from console.engine.lease import Lease
from console.engine.model import (
    GateResult,
    JournalLine,
    Overall,
    Phase,
    Role,
    RollbackStep,
    Snapshot,
    Verdict,
)
from console.engine.ports import (
    Checklist,
    Credentials,
    InFlight,
    MetricRecorder,
    Monitors,
    Notifier,
)
from console.engine.state import (
    CutoverState,
    save_state,
)
from console.errors import ConsoleError, StateError
from console.locations import StatePaths
from console.metrics.base import MetricsSource
from console.routing.base import Router, RouterState

log = logging.getLogger("console.engine")

STEP_NAMES = (
    "stop new traffic",
    "complete in-flight",
    "verify",
    "freeze",
    "preserve data",
    "notify",
)
ROUTER_DEADLINE_S = 10.0
"""Outer bound on one router call (each router also has its own, shorter one)."""
STOP_ATTEMPTS = 3
"""Rollback step 1 tries the router this often before reporting failure."""
JOURNAL_DEADLINE_S = 5.0
"""A journal append slower than this becomes a warning; nothing waits longer."""
CHART_METRICS = (
    "traffic_pct",
    "txn_per_s",
    "failed_payments_per_min",
    "concurrent_users",
    "ws_rtt_ms",
    "health_latency_ms",
)
CHART_WINDOW_S = 300.0


def default_who() -> str:
    """user@host of this process, as the journal records it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


class QueueClosed(StateError):
    """The engine stopped: no more snapshots will come."""


class SlotQueue:
    """A single-slot queue: a newer snapshot replaces one not yet taken."""

    def __init__(self) -> None:
        self._item: Snapshot | None = None
        self._event = asyncio.Event()
        self._closed = False

    def put(self, snap: Snapshot) -> None:
        self._item = snap
        self._event.set()

    async def get(self) -> Snapshot:
        """The newest snapshot; raises QueueClosed once the engine has stopped."""
        while self._item is None:
            if self._closed:
                raise QueueClosed("The engine has stopped.")
            self._event.clear()
            await self._event.wait()
        item, self._item = self._item, None
        return item

    def close(self) -> None:
        self._closed = True
        self._event.set()


def clean_text(text: str) -> str:
    """Free text a person typed (a reason, a name), with every secret masked.

    The engine's one boundary for typed text: every action redacts its ``who`` and
    ``reason`` here, before anything is stored, logged, shown or sent."""
    return redact(text)


def pct_text(value: float | None) -> str:
    """A share for messages: "5%", or "?" when unknown."""
    return "?" if value is None else f"{value:g}%"


def duration_text(seconds: float) -> str:
    """A countdown for messages: "4h12m" or "3m05s"."""
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class EngineCore:
    """State and helpers shared by every part of the engine."""

    def __init__(
        self,
        config: Config,
        *,
        paths: StatePaths,
        router: Router,
        who: str | None = None,
        metrics: MetricsSource | None = None,
        monitors: Monitors | None = None,
        checklist: Checklist | None = None,
        credentials: Credentials | None = None,
        inflight: InFlight | None = None,
        notifier: Notifier | None = None,
        clock: Callable[[], float] = time.time,
        tick_s: float = 0.25,
        lease_retry_s: float = 2.0,
        router_poll_s: float = 2.0,
    ) -> None:
        self.config = config
        self.paths = paths
        self.router = router
        self.who = clean_text(who or default_who())
        self.metrics = metrics
        self.monitors = monitors
        self.checklist = checklist
        self.credentials = credentials
        self.inflight = inflight
        self.notifier = notifier
        self.clock = clock
        self.tick_s = tick_s
        self.lease_retry_s = lease_retry_s
        self.router_poll_s = router_poll_s

        self.journal = Journal(paths.journal)
        self.lease = Lease(paths.lease, self.who)
        self.role = Role.OBSERVER
        self.state = CutoverState()
        self.router_state = RouterState(effective_pct=None, detail="not read yet")
        self.gates = gatemath.enabled_gates(config)
        self.results: dict[str, GateResult] = {
            name: gatemath.pending(name, g) for name, g in self.gates.items()
        }
        self.last_rollback_stop_s: float | None = None
        """Seconds from the last rollback call to the router read back at 0%."""

        self._gate_due: dict[str, float] = {}
        self._warnings: dict[str, str] = {}
        self._steps: list[RollbackStep] = []
        self._rolling_back = False
        self._journal_tail: deque[JournalLine] = deque(maxlen=20)
        self._journal_size = -1
        self._state_mtime = 0.0
        self._subscribers: list[SlotQueue] = []
        self._background: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._action_lock = asyncio.Lock()
        self._next_router = 0.0
        self._next_lease = 0.0
        self._next_publish = 0.0
        self._gates_saved_at = 0.0
        self._drift_reads = 0
        """Consecutive router reads that differ from the requested share."""
        self._writes_in_flight = 0
        self._write_epoch = 0
        self._opened = False
        self._stopped = False
        self.state_problem: str | None = None
        """Why the saved state or the state directory could not be used (shown as a
        warning; rollback works regardless)."""
        self._reread_router = False
        """A rollback by another instance was adopted and the router not read since:
        the last reading predates it and must not be shown as drift."""

    def adopt_driver_verdicts(self, max_age_s: float) -> bool:
        """Show the verdicts the driver saved, if fresh (for one-shot observers)."""
        st = self.state
        if not st.gates or st.gates_at is None:
            return False
        if self.clock() - st.gates_at > max_age_s:
            return False
        for doc in st.gates:
            with contextlib.suppress(TypeError, ValueError):
                result = GateResult(**{**doc, "verdict": Verdict(doc["verdict"])})
                if result.name in self.results:
                    self.results[result.name] = result
        return True

    def subscribe(self) -> SlotQueue:
        """A coalescing queue of snapshots; the current one is already in it."""
        q = SlotQueue()
        q.put(self.snapshot())
        self._subscribers.append(q)
        return q

    def _publish(self, *, force: bool = False) -> None:
        now = self.clock()
        if not force and now < self._next_publish:
            return
        self._next_publish = now + 1.0
        if not self._subscribers:
            return
        snap = self.snapshot()
        for q in self._subscribers:
            q.put(snap)

    def phase(self, now: float | None = None) -> Phase:
        now = self.clock() if now is None else now
        st = self.state
        if self._rolling_back:
            return Phase.ROLLING_BACK
        if st.rolled_back:
            return Phase.ROLLED_BACK
        if st.stage < 0:
            return Phase.NOT_STARTED
        if st.paused_at is not None:
            return Phase.PAUSED
        ends = st.hold_ends_at(self.config.plan.hold_s, now)
        if ends is not None and now < ends:
            return Phase.HOLDING
        if st.stage >= len(self.config.plan.levels) - 1:
            return Phase.COMPLETE
        if all(r.verdict is Verdict.PASS for r in self.results.values()):
            return Phase.READY
        return Phase.HOLDING

    def _overall(self, phase: Phase) -> Overall:
        if phase in (Phase.ROLLED_BACK, Phase.ROLLING_BACK):
            return Overall.ROLLED_BACK
        verdicts = {r.verdict for r in self.results.values()}
        for verdict, overall in (
            (Verdict.BREACH, Overall.BREACH),
            (Verdict.INSUFFICIENT, Overall.INSUFFICIENT),
            (Verdict.WARN, Overall.WARN),
        ):
            if verdict in verdicts:
                return overall
        return Overall.OK

    def _warning_list(self) -> list[str]:
        out = list(self._warnings.values())
        if self.role is Role.OBSERVER:
            holder = self.lease.driver()
            if holder is None:
                out.insert(
                    0, "observer: no driver runs; gates and holds are not watched"
                )
            else:
                out.insert(
                    0,
                    f"observer: {holder.describe()} drives this cutover; "
                    "rollback still works",
                )
        return out

    def snapshot(self) -> Snapshot:
        """The engine's state now, immutable."""
        now = self.clock()
        st = self.state
        phase = self.phase(now)
        target = self.config.target_env()
        series: dict[str, Sequence[tuple[float, float]]] = {}
        if self.metrics is not None:
            for metric in self._chart_metrics():
                with contextlib.suppress(ConsoleError, KeyError, ValueError):
                    series[metric] = self.metrics.series(metric, now - CHART_WINDOW_S)
        return Snapshot(
            at=now,
            env=self.config.target,
            production=target.production,
            role=self.role,
            phase=phase,
            overall=self._overall(phase),
            levels=tuple(self.config.plan.levels),
            stage=st.stage,
            router=self._router_for_snapshot(),
            router_kind=self.router.kind,
            hold_started_at=st.hold_started_at,
            hold_ends_at=st.hold_ends_at(self.config.plan.hold_s, now),
            worst_case_rollback_s=gatemath.worst_case_rollback_s(self.config),
            gates=tuple(self.results.values()),
            health=tuple(self.monitors.health()) if self.monitors else (),
            streams=tuple(self.monitors.streams()) if self.monitors else (),
            credentials=tuple(self.credentials.summaries()) if self.credentials else (),
            checklist=self.checklist.summary() if self.checklist else None,
            journal_tail=tuple(self._journal_tail),
            rollback_steps=tuple(self._steps),
            rolled_back_reason=st.rolled_back_reason,
            evidence_path=st.evidence_path,
            warnings=tuple(self._warning_list()),
            series=series,
        )

    def _router_for_snapshot(self) -> RouterState:
        rs = dataclasses.replace(
            self.router_state, requested_pct=self.state.requested_pct
        )
        if self._reread_router:
            # The reading is from before another instance's rollback: it says
            # nothing about now, so show "?" for the fraction of a second until
            # the router is read again, never a false drift.
            rs = dataclasses.replace(
                rs, effective_pct=None, detail="re-reading after the rollback"
            )
        return rs

    def _chart_metrics(self) -> list[str]:
        seen = dict.fromkeys(g.metric for g in self.gates.values())
        seen.update(dict.fromkeys(CHART_METRICS))
        return list(seen)

    def _gate_values(self) -> dict[str, Any]:
        return {
            name: {"verdict": str(r.verdict), "value": r.value, "why": r.why}
            for name, r in self.results.items()
        }

    def _position(self) -> dict[str, Any]:
        return {
            "pct": self.state.requested_pct,
            "effective_pct": self.router_state.effective_pct,
            "stage": self.state.stage,
            "phase": str(self.phase()),
        }

    async def _record(
        self,
        action: str,
        why: str,
        *,
        who: str,
        before: Any = None,
        after: Any = None,
    ) -> None:
        """Append to the journal in a thread; a failure is a warning, never a raise."""
        ts = self.clock()
        gates = self._gate_values()
        try:
            async with asyncio.timeout(JOURNAL_DEADLINE_S):
                await asyncio.to_thread(
                    self.journal.append,
                    ts=ts,
                    who=who,
                    action=action,
                    why=why,
                    before=before,
                    after=after,
                    gates=gates,
                )
            self._warnings.pop("journal", None)
        except JournalError as exc:
            log.error("%s", exc)
            self._warnings["journal"] = f"journal write failed: {exc.message}"
        except TimeoutError:
            # The thread finishes on its own; nothing waits for a stuck disk.
            self._warnings["journal"] = (
                f"journal write took longer than {JOURNAL_DEADLINE_S:g} s ({action})"
            )
        self._journal_tail.append(JournalLine(ts, who, action, why))

    def _refresh_journal_tail(self) -> None:
        size = self._mtime(self.paths.journal, size=True)
        if size == self._journal_size:
            return
        self._journal_size = int(size)
        try:
            entries = self.journal.tail(self._journal_tail.maxlen or 20)
        except JournalError as exc:
            self._warnings["journal"] = exc.message
            return
        self._journal_tail.clear()
        for e in entries:
            self._journal_tail.append(
                JournalLine(
                    float(e.get("ts", 0)),
                    str(e.get("who", "")),
                    str(e.get("action", "")),
                    str(e.get("why", "")),
                )
            )

    @staticmethod
    def _mtime(path: os.PathLike[str], *, size: bool = False) -> float:
        try:
            st = os.stat(path)
        except OSError:
            return -1.0
        return float(st.st_size) if size else st.st_mtime

    async def _save_async(self) -> None:
        """Persist state with fsync in a thread, so the loop never waits on disk."""
        await asyncio.to_thread(self._save)

    def _save(self, *, fsync: bool = True) -> None:
        """Persist state (driver only); a failure is a warning."""
        if self.role is not Role.DRIVER:
            return
        try:
            save_state(self.paths.state, self.state, fsync=fsync)
            self._state_mtime = self._mtime(self.paths.state)
            self._warnings.pop("state", None)
        except OSError as exc:
            log.error("cannot save state: %s", exc)
            self._warnings["state"] = f"state not saved: {exc.strerror or exc}"

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _refusal_for_role(self) -> str | None:
        if self.role is Role.DRIVER:
            return None
        holder = self.lease.driver()
        if holder is None:
            return "Refused: this instance observes (it did not take the lease)."
        return (
            f"Refused: {holder.describe()} drives this cutover; "
            "this instance only observes."
        )

    async def _write_router(
        self, pct: float, *, who: str, reason: str, draining: bool = False
    ) -> RouterState:
        """One router write with its deadline. While it runs, router polls are
        discarded: a read between the two weight writes of HAProxy is not drift."""
        self._writes_in_flight += 1
        self._write_epoch += 1
        try:
            async with asyncio.timeout(ROUTER_DEADLINE_S):
                return await self.router.set_percent(
                    pct, who=who, reason=reason, draining=draining
                )
        finally:
            self._writes_in_flight -= 1
            self._write_epoch += 1

    def _observe_router(self, rs: RouterState) -> None:
        """Keep the router's latest state; chart it as traffic_pct."""
        self.router_state = rs
        if isinstance(self.metrics, MetricRecorder) and rs.effective_pct is not None:
            self.metrics.record("traffic_pct", rs.effective_pct, rs.read_at)

    def _marker_present(self) -> bool:
        return self.paths.rollback_marker.exists()

    async def _enforce_zero(self, why: str) -> None:
        try:
            rs = await self._write_router(0, who=self.who, reason=why, draining=True)
            self._observe_router(rs)
        except (ConsoleError, TimeoutError) as exc:
            self._warnings["router"] = f"could not re-apply 0%: {exc}"
            return
        await self._record("rollback re-enforced", why, who=self.who)
