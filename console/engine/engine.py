"""The cutover engine: plan, gates, rollback runbook, state, journal and lease.

One :class:`Engine` per console or guard. The driver (the instance holding the lease)
evaluates gates, runs the hold clock and rolls back automatically; observers show the
same things read-only and retry the lease, so a standby takes over when the driver
dies. Rollback is allowed from every instance and waits for nothing but one router
write; everything else (journal, evidence, notification) comes after it.
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
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from console.config import Config, GateConfig
from console.engine import gates as gatemath
from console.engine.evidence import write_bundle
from console.engine.journal import Journal, JournalError
from console.engine.lease import Lease
from console.engine.model import (
    ActionResult,
    GateResult,
    JournalLine,
    Overall,
    Phase,
    Role,
    RollbackStep,
    ShiftPreview,
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
    SessionCutter,
)
from console.engine.state import (
    CutoverState,
    RollbackMarker,
    clear_marker,
    load_state,
    read_marker,
    save_state,
    write_marker,
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
STOP_ATTEMPTS = 3
"""Rollback step 1 tries the router this often before reporting failure."""
JOURNAL_DEADLINE_S = 5.0
"""Outer bound on one router call (each router also has its own, shorter one)."""
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


def _pct(value: float | None) -> str:
    return "?" if value is None else f"{value:g}%"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class Engine:
    """Implements :class:`console.engine.model.EngineAPI`."""

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
        self.who = who or default_who()
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
        self._drift_noted = False
        self._opened = False
        self._stopped = False

    # ----------------------------------------------------------------- lifecycle

    async def open(self, *, acquire_lease: bool = True) -> None:
        """Take the lease if free, load state, read the router; no loops started.

        The CLI uses this for one action; :meth:`start` adds the loops.
        """
        if self._opened:
            return
        self._opened = True
        self.paths.ensure()
        if acquire_lease and self.lease.try_acquire():
            self.role = Role.DRIVER
        self.state = load_state(self.paths.state)
        self._state_mtime = self._mtime(self.paths.state)
        self._refresh_journal_tail()
        await self._poll_router(self.clock(), react=False)
        marker = read_marker(self.paths.rollback_marker)
        if marker is not None and marker.in_progress and not marker.writer_alive():
            # Killed mid-rollback: whoever starts next finishes it.
            log.warning(
                "finishing the rollback %s started (it was interrupted)", marker.who
            )
            await self._run_rollback(
                who=self.who,
                reason=f"finishing rollback by {marker.who}: {marker.reason}",
                before_pct=marker.before_pct,
            )
        elif marker is not None and self.role is Role.DRIVER:
            self._adopt_marker(marker)

    async def start(self) -> None:
        """Open, start the monitors and the engine loop."""
        await self.open()
        if self.monitors is not None:
            await self.monitors.start()
        self._loop_task = asyncio.create_task(self._run(), name="engine-loop")
        self._publish(force=True)

    async def stop(self) -> None:
        """Stop every loop, wait briefly for notifications, close everything."""
        if self._stopped:
            return
        self._stopped = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._background:
            # Notifications carry their own deadline; give them that long.
            _, pending = await asyncio.wait(
                self._background, timeout=self.config.notify.timeout_s + 1
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self.monitors is not None:
            await self.monitors.stop()
        for closer in (self.router.close, self.metrics.close if self.metrics else None):
            if closer is not None:
                with contextlib.suppress(ConsoleError, OSError):
                    await closer()
        self.lease.release()
        for q in self._subscribers:
            q.close()
        self._subscribers.clear()

    async def settle(self, timeout_s: float | None = None) -> None:
        """Wait for background work (notifications) to finish, bounded."""
        if self._background:
            limit = timeout_s or self.config.notify.timeout_s + 1
            await asyncio.wait(self._background, timeout=limit)

    async def aclose(self) -> None:
        """Alias of :meth:`stop` for hosts that close things with ``aclose``."""
        await self.stop()

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

    # ------------------------------------------------------------------ snapshot

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
            router=dataclasses.replace(
                self.router_state, requested_pct=st.requested_pct
            ),
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

    def _chart_metrics(self) -> list[str]:
        seen = dict.fromkeys(g.metric for g in self.gates.values())
        seen.update(dict.fromkeys(CHART_METRICS))
        return list(seen)

    # ------------------------------------------------------------------- journal

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

    # ------------------------------------------------------------------ rollback

    async def rollback(self, *, who: str, reason: str = "") -> ActionResult:
        """Roll back now: one call, no typing, from any instance, in any state."""
        reason = reason.strip() or "manual rollback (no reason given)"
        if self._rolling_back:
            return ActionResult(True, "A rollback is already running.")
        last = self.router_state
        marker = read_marker(self.paths.rollback_marker)
        sticky = self.state.rolled_back or marker is not None
        if last.effective_pct == 0 and (sticky or self.state.requested_pct == 0):
            # Confirm with one read before saying there is nothing to do.
            try:
                async with asyncio.timeout(ROUTER_DEADLINE_S):
                    current = await self.router.read()
            except (ConsoleError, TimeoutError):
                current = RouterState(effective_pct=None)
            if current.effective_pct == 0:
                self._observe_router(current)
                if sticky:
                    msg = "Already rolled back: BOOP traffic is at 0%. Nothing changed."
                else:
                    msg = (
                        "Nothing to roll back: BOOP traffic is at 0% and was not "
                        "raised. Nothing changed."
                    )
                await self._record("rollback (no-op)", f"{reason}: {msg}", who=who)
                self._publish(force=True)
                return ActionResult(True, msg)
        return await self._run_rollback(
            who=who, reason=reason, before_pct=last.effective_pct
        )

    def _set_step(self, i: int, status: str, started: float, detail: str = "") -> None:
        duration = None if status == "running" else time.perf_counter() - started
        self._steps[i] = RollbackStep(STEP_NAMES[i], status, duration, detail)
        self._publish(force=True)

    async def _run_rollback(
        self, *, who: str, reason: str, before_pct: float | None
    ) -> ActionResult:
        t0 = time.perf_counter()
        self._rolling_back = True
        self._steps = [RollbackStep(n, "pending") for n in STEP_NAMES]
        before = self._position()
        marker = RollbackMarker(
            "in_progress",
            self.clock(),
            who,
            reason,
            os.getpid(),
            os.uname().nodename,
            before_pct,
        )
        try:
            # No fsync: a killed process leaves the page cache intact, and step 1
            # must not wait for the disk.
            write_marker(self.paths.rollback_marker, marker, fsync=False)
        except OSError as exc:
            self._warnings["marker"] = f"rollback marker not written: {exc}"
        try:
            ok = await self._rollback_steps(who, reason, marker, before, t0)
        finally:
            self._rolling_back = False
        self._publish(force=True)
        if ok:
            return ActionResult(True, f"Rolled back: BOOP traffic at 0% ({reason}).")
        failed = [s for s in self._steps if s.status == "failed"]
        detail = "; ".join(f"{s.name}: {s.detail}" for s in failed)
        return ActionResult(False, f"Rollback incomplete: {detail}")

    async def _rollback_steps(
        self,
        who: str,
        reason: str,
        marker: RollbackMarker,
        before: dict[str, Any],
        t0: float,
    ) -> bool:
        ok = True
        # 1. Stop new traffic: one router write, nothing else first.
        s = time.perf_counter()
        self._set_step(0, "running", s)
        problem = ""
        for attempt in range(STOP_ATTEMPTS):
            try:
                async with asyncio.timeout(ROUTER_DEADLINE_S):
                    rs = await self.router.set_percent(
                        0, who=who, reason=reason, draining=True
                    )
            except Exception as exc:  # any router failure: retry, then report
                problem = str(exc) or f"{type(exc).__name__} (deadline passed?)"
                log.error("rollback write %d failed: %s", attempt + 1, problem)
                await asyncio.sleep(0.1 * (attempt + 1))
                continue
            self._observe_router(rs)
            self.last_rollback_stop_s = time.perf_counter() - t0
            if rs.effective_pct == 0:
                problem = ""
                self._set_step(0, "done", s, f"router reads 0% ({rs.detail})")
                break
            problem = f"router reads {_pct(rs.effective_pct)} after writing 0%"
        if problem:
            ok = False
            self._warnings["router"] = f"rollback write failed: {problem}"
            self._set_step(0, "failed", s, problem)

        # 2. Complete in-flight, bounded.
        s = time.perf_counter()
        self._set_step(1, "running", s)
        status, detail = await self._complete_inflight(reason)
        self._set_step(1, status, s, detail)

        # 3. Verify by an independent read.
        s = time.perf_counter()
        self._set_step(2, "running", s)
        try:
            async with asyncio.timeout(ROUTER_DEADLINE_S):
                rs = await self.router.read()
            self._observe_router(rs)
            verified = rs.effective_pct == 0
            ok &= verified
            self._set_step(
                2, "done" if verified else "failed", s, f"{rs.detail or 'read'}"
            )
        except (ConsoleError, TimeoutError) as exc:
            ok = False
            self._set_step(2, "failed", s, str(exc) or "router deadline passed")

        # 4. Freeze: sticky rolled-back state, durable.
        s = time.perf_counter()
        self._set_step(3, "running", s)
        now = self.clock()
        st = self.state
        st.rolled_back, st.rolled_back_at = True, now
        st.rolled_back_reason, st.rolled_back_by = reason, who
        st.stage, st.requested_pct = -1, 0.0
        st.hold_started_at = st.paused_at = st.level_changed_at = None
        st.paused_total_s = st.extra_hold_s = 0.0
        done = dataclasses.replace(marker, status="done")
        try:
            await asyncio.to_thread(
                write_marker, self.paths.rollback_marker, done, fsync=True
            )
            self._warnings.pop("marker", None)
            freeze_ok = True
        except OSError as exc:
            freeze_ok = False
            self._warnings["marker"] = f"rollback marker not written: {exc}"
        await asyncio.to_thread(self._save)
        self._set_step(3, "done" if freeze_ok else "failed", s, "sticky until re-armed")
        await self._record(
            "rollback", reason, who=who, before=before, after=self._position()
        )

        # 5. Preserve data.
        s = time.perf_counter()
        self._set_step(4, "running", s)
        try:
            bundle = self._collect_evidence(who, reason, before)
            path = await asyncio.to_thread(write_bundle, **bundle)
            st.evidence_path = str(path)
            await asyncio.to_thread(self._save)
            self._set_step(4, "done", s, str(path))
        except Exception as exc:  # evidence is best effort; the rollback stands
            log.error("evidence bundle not written: %s", exc)
            self._set_step(4, "failed", s, f"evidence not written: {exc}")

        # 6. Notify in the background, bounded by notify.timeout_s.
        self._set_step(5, "running", time.perf_counter())
        self._spawn(self._notify_step(who, reason))
        log.info("rollback by %s: %s (ok=%s)", who, reason, ok)
        return ok

    async def _complete_inflight(self, reason: str) -> tuple[str, str]:
        grace = self.config.rollback.inflight_grace_s
        cut = self.router if isinstance(self.router, SessionCutter) else None
        if self.inflight is None and (cut is None or cut.cut_after_s is None):
            return "skipped", "no in-flight tracker; the router drain lets them finish"
        if self.inflight is None:
            assert cut is not None and cut.cut_after_s is not None
            await asyncio.sleep(min(grace, cut.cut_after_s))
            try:
                async with asyncio.timeout(ROUTER_DEADLINE_S):
                    await cut.cut_sessions()
            except (ConsoleError, TimeoutError) as exc:
                return "failed", f"could not cut open sessions: {exc}"
            return "done", f"open sessions cut after {min(grace, cut.cut_after_s):g} s"
        deadline = time.monotonic() + grace
        while self.inflight.inflight() > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        left = self.inflight.inflight()
        if left == 0:
            return "done", "nothing left in flight"
        try:
            async with asyncio.timeout(5.0):
                n = await self.inflight.cancel_inflight(reason)
        except (ConsoleError, TimeoutError) as exc:
            return (
                "failed",
                f"{left} still open after {grace:g} s, cancel failed: {exc}",
            )
        return "done", f"{n} cancelled after {grace:g} s grace"

    def _collect_evidence(
        self, who: str, reason: str, before: dict[str, Any]
    ) -> dict[str, Any]:
        """Everything for the bundle, gathered on the loop (the stores are not
        thread-safe); only the file writing goes to a thread."""
        now = self.clock()
        since = now - self.config.rollback.evidence_window_s
        try:
            journal = [e for e in self.journal.entries() if e.get("ts", 0) >= since]
        except JournalError:
            journal = []
        series: dict[str, Sequence[tuple[float, float]]] = {}
        if self.metrics is not None:
            for metric in self._chart_metrics():
                with contextlib.suppress(ConsoleError, KeyError, ValueError):
                    series[metric] = list(self.metrics.series(metric, since))
        return {
            "root": self.paths.evidence_dir,
            "at": now,
            "summary": {
                "who": who,
                "reason": reason,
                "at": now,
                "steps": [dataclasses.asdict(s) for s in self._steps],
                "gates": self._gate_values(),
                "warnings": self._warning_list(),
            },
            "journal": journal,
            "series": series,
            "probe_log": list(self.monitors.probe_log()) if self.monitors else [],
            "routing": {"before": before, "after": self._position()},
            "config": self.config,
        }

    async def _notify_step(self, who: str, reason: str) -> None:
        s = time.perf_counter()
        if self.notifier is None:
            self._set_step(5, "skipped", s, "no notify.urls configured")
            return
        env = self.config.target
        problem = await self.notifier.send(
            f"boop-console: rolled back {env} to 0%", f"{reason} (by {who})"
        )
        self._set_step(5, "failed" if problem else "done", s, problem or "sent")

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _adopt_marker(self, marker: RollbackMarker) -> None:
        """Another instance rolled back: honour it (sticky) without touching BOOP."""
        if self.state.rolled_back:
            return
        st = self.state
        st.rolled_back, st.rolled_back_at = True, marker.at
        st.rolled_back_reason, st.rolled_back_by = marker.reason, marker.who
        st.stage, st.requested_pct = -1, 0.0
        st.hold_started_at = st.paused_at = st.level_changed_at = None
        st.paused_total_s = st.extra_hold_s = 0.0
        st.evidence_path = marker.evidence_path or st.evidence_path
        self._save()
        self._spawn(
            self._record(
                "rollback observed",
                f"{marker.who} rolled back: {marker.reason}",
                who=self.who,
            )
        )
        log.warning("rollback by %s honoured: %s", marker.who, marker.reason)

    # ----------------------------------------------------------- plan and shifts

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

    def preview_shift(self, to_pct: float | None = None) -> ShiftPreview:
        """What a raise would do and what stands in its way (None: next level)."""
        now = self.clock()
        st = self.state
        levels = self.config.plan.levels
        cur = st.requested_pct
        if to_pct is None:
            to_pct = float(levels[min(st.stage + 1, len(levels) - 1)])
        blockers: list[str] = []
        if st.rolled_back or read_marker(self.paths.rollback_marker) is not None:
            blockers.append("rolled back: re-arm with a reason first")
        if (refusal := self._refusal_for_role()) is not None:
            blockers.append(refusal)
        if to_pct > cur:
            if cur == 0 and self.checklist is not None:
                open_items = self.checklist.premigration_blockers()
                if open_items:
                    more = (
                        f" (+{len(open_items) - 1} more)" if len(open_items) > 1 else ""
                    )
                    blockers.append(
                        f"checklist: {len(open_items)} pre-migration item(s) open, "
                        f"first {open_items[0]}{more}"
                    )
            if st.paused_at is not None:
                blockers.append("paused: resume first")
            ends = st.hold_ends_at(self.config.plan.hold_s, now)
            if ends is not None and now < ends:
                blockers.append(f"hold: {_duration(ends - now)} left")
            if int(to_pct) != to_pct or int(to_pct) not in levels:
                blockers.append(f"{to_pct:g}% is not a planned level")
            else:
                skipped = [lv for lv in levels if cur < lv < to_pct]
                if skipped:
                    blockers.append(
                        "skips level(s) " + ", ".join(f"{lv}%" for lv in skipped)
                    )
            for r in self.results.values():
                # At 0% no BOOP traffic flows, so traffic gates cannot have data:
                # leaving 0% is gated by the checklist and by real breaches only.
                no_traffic_yet = cur == 0 and r.verdict is Verdict.INSUFFICIENT
                if r.verdict is not Verdict.PASS and not no_traffic_yet:
                    blockers.append(f"gate {r.name} {r.verdict}: {r.why}")
        return ShiftPreview(
            from_pct=cur,
            to_pct=to_pct,
            gates=tuple(self.results.values()),
            blockers=tuple(blockers),
            needs_override=bool(blockers),
        )

    async def shift(
        self, to_pct: float, *, who: str, reason: str, override: bool = False
    ) -> ActionResult:
        """Move the split to ``to_pct`` (raising needs the plan's conditions)."""
        if not reason.strip():
            return ActionResult(False, "A reason is required to change traffic.")
        if not 0 <= to_pct <= 100:
            return ActionResult(False, f"{to_pct:g}% is not between 0 and 100.")
        if (refusal := self._refusal_for_role()) is not None:
            return ActionResult(False, refusal)
        async with self._action_lock:
            st = self.state
            if st.rolled_back or self._rolling_back or self._marker_present():
                return ActionResult(
                    False, "Rolled back: nothing raises traffic until re-armed."
                )
            if to_pct == st.requested_pct and st.stage >= 0:
                # Re-applying the current level would restart its hold: refuse.
                return ActionResult(False, f"Already at {to_pct:g}%; nothing changed.")
            preview = self.preview_shift(to_pct)
            if preview.needs_override and not override:
                return ActionResult(
                    False, "Not allowed: " + "; ".join(preview.blockers)
                )
            before = self._position()
            try:
                async with asyncio.timeout(ROUTER_DEADLINE_S):
                    rs = await self.router.set_percent(to_pct, who=who, reason=reason)
            except (ConsoleError, TimeoutError) as exc:
                msg = str(exc) or "router deadline passed"
                await self._record("shift failed", f"{reason}: {msg}", who=who)
                return ActionResult(False, f"Router write failed: {msg}")
            self._observe_router(rs)
            if self._rolling_back or self._marker_present():
                # A rollback landed while the write was in flight: it wins.
                await self._enforce_zero("rollback during a shift")
                return ActionResult(
                    False, "A rollback happened meanwhile; traffic is 0%."
                )
            now = self.clock()
            levels = self.config.plan.levels
            st.requested_pct = to_pct
            st.stage = max(
                (i for i, lv in enumerate(levels) if lv <= to_pct), default=-1
            )
            st.level_changed_at = st.hold_started_at = now if to_pct > 0 else None
            st.paused_at, st.paused_total_s, st.extra_hold_s = None, 0.0, 0.0
            st.router_generation = rs.generation
            for name in self.results:
                self.results[name] = dataclasses.replace(
                    self.results[name], consecutive_breaches=0
                )
            await self._save_async()
            why = reason
            if preview.needs_override:
                why += " | override of: " + "; ".join(preview.blockers)
            action = "shift (override)" if preview.needs_override else "shift"
            await self._record(
                action, why, who=who, before=before, after=self._position()
            )
            self._publish(force=True)
            if rs.effective_pct is None or abs(rs.effective_pct - to_pct) > 0.5:
                return ActionResult(
                    False,
                    f"Requested {to_pct:g}%, but the router reads "
                    f"{_pct(rs.effective_pct)}: {rs.detail}",
                )
            return ActionResult(
                True, f"BOOP traffic {_pct(preview.from_pct)} → {to_pct:g}%."
            )

    def _observe_router(self, rs: RouterState) -> None:
        """Keep the router's latest state; chart it as traffic_pct."""
        self.router_state = rs
        if isinstance(self.metrics, MetricRecorder) and rs.effective_pct is not None:
            self.metrics.record("traffic_pct", rs.effective_pct, rs.read_at)

    def _marker_present(self) -> bool:
        return self.paths.rollback_marker.exists()

    async def _enforce_zero(self, why: str) -> None:
        try:
            async with asyncio.timeout(ROUTER_DEADLINE_S):
                rs = await self.router.set_percent(
                    0, who=self.who, reason=why, draining=True
                )
            self._observe_router(rs)
        except (ConsoleError, TimeoutError) as exc:
            self._warnings["router"] = f"could not re-apply 0%: {exc}"
            return
        await self._record("rollback re-enforced", why, who=self.who)

    async def hold(self, *, who: str, reason: str) -> ActionResult:
        """Stop the hold clock (promotion waits; gates and rollback go on)."""
        if (refusal := self._refusal_for_role()) is not None:
            return ActionResult(False, refusal)
        st = self.state
        if st.stage < 0 or st.rolled_back:
            return ActionResult(False, "Nothing to hold: traffic is not at a level.")
        if st.paused_at is not None:
            return ActionResult(True, "Already paused.")
        st.paused_at = self.clock()
        await self._save_async()
        await self._record("hold", reason, who=who)
        self._publish(force=True)
        return ActionResult(True, "Paused: the hold clock is stopped.")

    async def resume(self, *, who: str, reason: str) -> ActionResult:
        """Restart the hold clock where it stopped."""
        if (refusal := self._refusal_for_role()) is not None:
            return ActionResult(False, refusal)
        st = self.state
        if st.paused_at is None:
            return ActionResult(False, "Not paused.")
        st.paused_total_s += max(0.0, self.clock() - st.paused_at)
        st.paused_at = None
        await self._save_async()
        await self._record("resume", reason, who=who)
        self._publish(force=True)
        return ActionResult(True, "Resumed: the hold clock runs.")

    async def extend_hold(
        self, seconds: float, *, who: str, reason: str
    ) -> ActionResult:
        """Add ``seconds`` to the current hold."""
        if (refusal := self._refusal_for_role()) is not None:
            return ActionResult(False, refusal)
        if seconds <= 0:
            return ActionResult(False, "Extend by a positive number of seconds.")
        if self.state.stage < 0 or self.state.rolled_back:
            return ActionResult(False, "No hold is running.")
        self.state.extra_hold_s += seconds
        await self._save_async()
        await self._record("extend hold", f"+{_duration(seconds)}: {reason}", who=who)
        self._publish(force=True)
        return ActionResult(True, f"Hold extended by {_duration(seconds)}.")

    async def rearm(self, *, who: str, reason: str) -> ActionResult:
        """Lift the sticky rollback (traffic stays at 0%); needs a reason."""
        if not reason.strip():
            return ActionResult(False, "A reason is required to re-arm.")
        if (refusal := self._refusal_for_role()) is not None:
            return ActionResult(False, refusal)
        if self._rolling_back:
            return ActionResult(False, "A rollback is running; re-arm after it ends.")
        async with self._action_lock:
            if not self.state.rolled_back and not self._marker_present():
                return ActionResult(False, "Not rolled back: nothing to re-arm.")
            try:
                async with asyncio.timeout(ROUTER_DEADLINE_S):
                    # 0% again, but no longer draining: BOOP may take traffic later.
                    rs = await self.router.set_percent(0, who=who, reason=reason)
            except (ConsoleError, TimeoutError) as exc:
                return ActionResult(False, f"Router write failed: {exc}")
            self._observe_router(rs)
            before = self._position()
            clear_marker(self.paths.rollback_marker)
            self.state = CutoverState(
                router_generation=rs.generation, evidence_path=self.state.evidence_path
            )
            self._steps = []
            await self._save_async()
            await self._record(
                "rearm", reason, who=who, before=before, after=self._position()
            )
            self._publish(force=True)
            return ActionResult(True, "Re-armed at 0%: the plan starts again.")

    # ---------------------------------------------------------------- the loop

    async def _run(self) -> None:
        """The engine's loops: a slow metrics source or a hanging router read
        must never delay gate evaluation or marker checks, so each has its own."""
        loops = [self._loop("engine", self._tick, lambda: self.tick_s)]
        loops.append(self._loop("router", self._router_tick, lambda: self.tick_s))
        if self.metrics is not None:
            loops.append(
                self._loop(
                    "metrics",
                    self._metrics_tick,
                    lambda: self.config.metrics.interval_s,
                )
            )
        await asyncio.gather(*loops)

    async def _loop(
        self,
        name: str,
        step: Callable[[float], Awaitable[None]],
        interval: Callable[[], float],
    ) -> None:
        while True:
            try:
                await step(self.clock())
                self._warnings.pop(f"loop {name}", None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a loop must outlive any one failure
                log.exception("engine %s loop failed", name)
                self._warnings[f"loop {name}"] = (
                    f"engine {name} loop error: {type(exc).__name__}"
                )
            await asyncio.sleep(interval())

    async def _metrics_tick(self, now: float) -> None:
        await self._poll_metrics()

    async def _router_tick(self, now: float) -> None:
        if now >= self._next_router and not self._rolling_back:
            self._next_router = now + self.router_poll_s
            await self._poll_router(now, react=True)

    async def _tick(self, now: float) -> None:
        if self.role is Role.OBSERVER and now >= self._next_lease:
            self._next_lease = now + self.lease_retry_s
            await self._try_take_over()
        if self.role is Role.OBSERVER:
            self._reload_state()
        self._refresh_journal_tail()

        marker = read_marker(self.paths.rollback_marker)
        if marker is not None and self.role is Role.DRIVER and not self._rolling_back:
            self._adopt_marker(marker)

        await self._evaluate_gates(now)
        self._publish()

    async def _try_take_over(self) -> None:
        try:
            taken = self.lease.try_acquire()
        except OSError as exc:
            self._warnings["lease"] = f"lease unavailable: {exc}"
            return
        if not taken:
            return
        self.role = Role.DRIVER
        self.state = load_state(self.paths.state)
        marker = read_marker(self.paths.rollback_marker)
        if marker is not None and marker.in_progress and not marker.writer_alive():
            await self._run_rollback(
                who=self.who,
                reason=f"finishing interrupted rollback by {marker.who}",
                before_pct=marker.before_pct,
            )
        await self._record(
            "took over as driver", "the previous driver left", who=self.who
        )
        self._publish(force=True)

    def _reload_state(self) -> None:
        mtime = self._mtime(self.paths.state)
        if mtime == self._state_mtime:
            return
        self._state_mtime = mtime
        try:
            self.state = load_state(self.paths.state)
        except StateError as exc:
            self._warnings["state"] = exc.message

    async def _poll_metrics(self) -> None:
        assert self.metrics is not None
        try:
            async with asyncio.timeout(self.config.metrics.timeout_s):
                await self.metrics.poll()
            self._warnings.pop("metrics", None)
        except TimeoutError:
            self._warnings["metrics"] = (
                "metrics source did not answer within "
                f"{self.config.metrics.timeout_s:g} s"
            )
        except ConsoleError as exc:
            self._warnings["metrics"] = f"metrics source failed: {exc.message}"

    def _in_warmup(self, now: float) -> bool:
        changed = self.state.level_changed_at
        return changed is not None and now - changed < self.config.plan.warmup_s

    async def _evaluate_gates(self, now: float) -> None:
        trigger: tuple[GateResult, GateConfig] | None = None
        evaluated = False
        for name, gate in self.gates.items():
            if now < self._gate_due.get(name, 0.0):
                continue
            self._gate_due[name] = now + gate.interval_s
            evaluated = True
            result = self._measure_and_judge(name, gate, now)
            self.results[name] = result
            if trigger is None and gatemath.wants_rollback(result, gate):
                trigger = (result, gate)
        if not evaluated:
            return
        if self.role is Role.DRIVER and now - self._gates_saved_at >= 2.0:
            self._gates_saved_at = now
            self.state.gates = [dataclasses.asdict(r) for r in self.results.values()]
            self.state.gates_at = now
            self._save(fsync=False)
        raised = self.state.stage >= 0 or (self.router_state.effective_pct or 0) > 0
        if (
            trigger is not None
            and self.role is Role.DRIVER
            and raised
            and not self.state.rolled_back
            and not self._rolling_back
        ):
            result, _ = trigger
            log.warning("automatic rollback: gate %s: %s", result.name, result.why)
            await self._run_rollback(
                who=f"{self.who} (automatic)",
                reason=f"gate {result.name} {result.verdict}: {result.why}",
                before_pct=self.router_state.effective_pct,
            )

    def _measure_and_judge(self, name: str, gate: GateConfig, now: float) -> GateResult:
        from console.metrics.base import Measurement

        if self.metrics is None:
            m = Measurement(
                gate.metric, None, gate.window_s, 0, None, "no metrics source"
            )
        else:
            try:
                m = self.metrics.measure(gate.metric, gate.window_s, now)
            except (ConsoleError, KeyError, ValueError) as exc:
                m = Measurement(gate.metric, None, gate.window_s, 0, None, str(exc))
        if "metrics" in self._warnings and m.error is None:
            # The last poll failed: what the store holds may look fresh but is not.
            m = dataclasses.replace(m, error=self._warnings["metrics"])
        return gatemath.evaluate(
            name,
            gate,
            m,
            stale_after_s=self.config.metrics.stale_after_s,
            in_warmup=self._in_warmup(now),
            consecutive_before=self.results[name].consecutive_breaches,
        )

    async def _poll_router(self, now: float, *, react: bool) -> None:
        try:
            async with asyncio.timeout(ROUTER_DEADLINE_S):
                rs = await self.router.read()
        except (ConsoleError, TimeoutError) as exc:
            self._warnings["router"] = f"router unreadable: {exc or 'deadline passed'}"
            self.router_state = RouterState(effective_pct=None, error=str(exc))
            return
        self._warnings.pop("router", None)
        self._observe_router(rs)
        requested = self.state.requested_pct
        drift = rs.effective_pct is not None and abs(rs.effective_pct - requested) > 0.5
        if not drift:
            self._warnings.pop("drift", None)
            self._drift_noted = False
            return
        msg = (
            f"drift: the router applies {_pct(rs.effective_pct)} but the console "
            f"requested {requested:g}% ({rs.detail})"
        )
        self._warnings["drift"] = msg
        if not react or self.role is not Role.DRIVER:
            return
        if not self._drift_noted:
            self._drift_noted = True
            log.warning("%s", msg)
            await self._record("drift", msg, who=self.who)
            if self.notifier is not None:
                self._spawn(self._notify_drift(msg))
        if self.state.rolled_back and (rs.effective_pct or 0) > 0:
            # Frozen: an outside raise after a rollback (or a rollback write that
            # failed) is put back to 0% on every poll until it holds.
            await self._enforce_zero(f"traffic above 0% while rolled back ({msg})")

    async def _notify_drift(self, msg: str) -> None:
        assert self.notifier is not None
        await self.notifier.send(
            f"boop-console: routing drift on {self.config.target}", msg
        )
