"""The rollback runbook: stop new traffic, complete in-flight, verify, freeze,
preserve data, notify. One call, no typing, any state, any instance; step 1 waits
for nothing but one router write (see docs/engine.md)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Sequence
from typing import Any

from console.engine.core import (
    ROUTER_DEADLINE_S,
    STEP_NAMES,
    STOP_ATTEMPTS,
    EngineCore,
    clean_text,
    pct_text,
)
from console.engine.evidence import write_bundle
from console.engine.journal import JournalError
from console.engine.model import (
    ActionResult,
    Phase,
    RollbackStep,
)
from console.engine.ports import (
    InFlight,
    InFlightGauge,
    SessionCutter,
)
from console.engine.state import (
    RollbackMarker,
    read_marker,
    write_marker,
)
from console.errors import ConsoleError
from console.routing.base import RouterState

log = logging.getLogger("console.engine")

METRICS_WAIT_S = 2.0
"""Rollback step 2 waits at most this long (or two metrics polls, if longer, and
never past the grace) while the in-flight count is unknown: metrics may be what
failed."""
CANCEL_DEADLINE_S = 5.0
CANNOT_CANCEL = (
    " (the vendor application finishes or times them out; "
    "the console cannot cancel them)"
)


@dataclasses.dataclass
class _InFlightWait:
    """What rollback step 2 saw of the in-flight count, and its one-line text."""

    grace_s: float
    at_stop: int | None = None
    left: int | None = None
    elapsed_s: float = 0.0
    unknown_after_s: float | None = None

    def text(self) -> str:
        waited = (
            self.elapsed_s if self.unknown_after_s is None else self.unknown_after_s
        )
        if self.at_stop is None:
            return f"unknown (metrics unavailable); waited {waited:.1f} s"
        head = f"{self.at_stop} in flight at stop"
        if self.left == 0:
            return f"{head}, 0 after {self.elapsed_s:.1f} s"
        if self.left is None:
            return f"{head}, then unknown (metrics unavailable) after {waited:.1f} s"
        return f"{head}; {self.left} still in flight after {self.grace_s:g} s grace"


class RollbackRunbook(EngineCore):
    """Rollback, manual or automatic, and honouring another instance's rollback."""

    async def rollback(self, *, who: str, reason: str = "") -> ActionResult:
        """Roll back now: one call, no typing, from any instance, in any state."""
        who = clean_text(who)
        reason = clean_text(reason.strip()) or "manual rollback (no reason given)"
        if self._rolling_back:
            return ActionResult(True, "A rollback is already running.")
        last = self.router_state
        marker = read_marker(self.paths.rollback_marker)
        sticky = self.state.rolled_back or marker is not None
        # Maybe nothing to do: the router read 0% (or was not read yet) and the
        # state says traffic was never raised or is already rolled back.
        if last.effective_pct in (0, None) and (
            sticky or self.state.requested_pct == 0
        ):
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
        # Every path in (automatic, interrupted, manual) is masked before the
        # marker, the journal, the evidence and the notification see it.
        who, reason = clean_text(who), clean_text(reason)
        # The evidence's "before": the phase before the rollback began, and the
        # router's share as last read. An instance that has not read the router
        # (the CLI) records "unknown": stopping new traffic is the first thing a
        # rollback does, so no read comes before the write.
        before = self._position()
        if before["effective_pct"] is None:
            before["effective_pct"] = "unknown"
        self._rolling_back = True
        self._steps = [RollbackStep(n, "pending") for n in STEP_NAMES]
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
                rs = await self._write_router(0, who=who, reason=reason, draining=True)
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
            problem = f"router reads {pct_text(rs.effective_pct)} after writing 0%"
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
        # Frozen now; the phase reads "rolling back" until the runbook ends.
        after = {**self._position(), "phase": str(Phase.ROLLED_BACK)}
        await self._record("rollback", reason, who=who, before=before, after=after)

        # 5. Preserve data.
        s = time.perf_counter()
        self._set_step(4, "running", s)
        try:
            bundle = self._collect_evidence(who, reason, before, after)
            path = await asyncio.to_thread(write_bundle, **bundle)
            st.evidence_path = str(path)
            await asyncio.to_thread(self._save)
            self._set_step(4, "done", s, str(path))
        except Exception as exc:  # evidence is best effort; the rollback stands
            log.error("evidence bundle not written: %s", exc)
            self._set_step(4, "failed", s, f"evidence not written: {exc}")

        # 6. Notify in the background, bounded by notify.timeout_s.
        self._set_step(5, "running", time.perf_counter())
        self._spawn(self._notify_step(who, reason, ok))
        log.info("rollback by %s: %s (ok=%s)", who, reason, ok)
        return ok

    async def _complete_inflight(self, reason: str) -> tuple[str, str]:
        """Step 2: let what already started on BOOP finish, bounded by
        ``rollback.inflight_grace_s`` (and by :data:`METRICS_WAIT_S` while the
        count is unknown); then HAProxy cuts open sessions, or the hook cancels."""
        grace = self.config.rollback.inflight_grace_s
        cut = self.router if isinstance(self.router, SessionCutter) else None
        if cut is not None and cut.cut_after_s is None:
            cut = None
        hook = self.inflight
        if hook is None and cut is None:
            return "skipped", "no in-flight tracker; the router drain lets them finish"
        started = time.monotonic()
        # HAProxy cuts what is still open after cut_after_s: no point waiting longer.
        bound = grace if cut is None else min(grace, cut.cut_after_s or 0.0)
        if hook is None:
            assert cut is not None
            await asyncio.sleep(bound)
            return await self._cut_sessions(cut, bound, "")
        wait = await self._wait_inflight(hook, bound)
        if wait.left == 0:
            return "done", wait.text()
        if cut is not None:
            # The drain let them finish until now; cut at the configured time.
            await asyncio.sleep(max(0.0, bound - (time.monotonic() - started)))
            return await self._cut_sessions(cut, bound, wait.text() + "; ")
        try:
            async with asyncio.timeout(CANCEL_DEADLINE_S):
                n = await hook.cancel_inflight(reason)
        except (ConsoleError, TimeoutError) as exc:
            problem = str(exc) or "deadline passed"
            return "failed", f"{wait.text()}; cancel failed: {problem}"
        if n > 0:
            return "done", f"{wait.text()}; {n} cancelled"
        return "failed", wait.text() + CANNOT_CANCEL

    async def _cut_sessions(
        self, cut: SessionCutter, after_s: float, prefix: str
    ) -> tuple[str, str]:
        try:
            async with asyncio.timeout(ROUTER_DEADLINE_S):
                await cut.cut_sessions()
        except (ConsoleError, TimeoutError) as exc:
            return "failed", f"{prefix}could not cut open sessions: {exc}"
        return "done", f"{prefix}open sessions cut after {after_s:g} s"

    async def _wait_inflight(self, hook: InFlight, grace: float) -> _InFlightWait:
        """Poll the in-flight count until a reading taken after the stop says 0,
        ``grace`` passes, or the count stays unknown for the short metrics bound."""
        gauge = hook if isinstance(hook, InFlightGauge) else None
        poll_s = max(0.05, gauge.poll_s) if gauge is not None else 0.05
        # Metrics may be what failed: a reading older than this is no reading, and
        # without one the wait ends after at most this long.
        live_s = max(METRICS_WAIT_S, 2 * poll_s)
        wait = _InFlightWait(grace)
        started = time.monotonic()
        refresh: asyncio.Task[None] | None = None
        try:
            while True:
                elapsed = time.monotonic() - started
                wait.elapsed_s = elapsed
                found = self._inflight_reading(hook, gauge, elapsed, live_s)
                if found is None:
                    # Known before and gone now: the source stopped for live_s.
                    if wait.at_stop is not None or elapsed >= min(grace, live_s):
                        wait.left, wait.unknown_after_s = None, elapsed
                        return wait
                else:
                    count, after_stop = found
                    if wait.at_stop is None:
                        wait.at_stop = count
                    wait.left = count
                    # A zero read before the stop says nothing of what started since.
                    if count == 0 and after_stop:
                        return wait
                if elapsed >= grace:
                    if wait.left == 0:
                        # Only a reading from before the stop said 0: unconfirmed.
                        wait.left, wait.unknown_after_s = None, elapsed
                    return wait
                # Poll in the background: a slow source never delays a decision.
                if gauge is not None and (refresh is None or refresh.done()):
                    refresh = asyncio.create_task(gauge.refresh())
                limits = [poll_s, grace - elapsed]
                if wait.at_stop is None:
                    limits.append(min(grace, live_s) - elapsed)
                await asyncio.sleep(max(0.0, min(limits)))
        finally:
            if refresh is not None and not refresh.done():
                refresh.cancel()
                await asyncio.gather(refresh, return_exceptions=True)

    @staticmethod
    def _inflight_reading(
        hook: InFlight, gauge: InFlightGauge | None, elapsed: float, live_s: float
    ) -> tuple[int, bool] | None:
        """(count, read after the stop) or None when unknown. A gauge reading
        older than ``live_s`` counts as unknown: the source stopped delivering."""
        try:
            if gauge is None:
                count = hook.inflight()
                return None if count is None else (count, True)
            found = gauge.sample()
        except Exception as exc:  # a hook failure is an unknown count, not a stop
            log.warning("in-flight count unreadable: %s", type(exc).__name__)
            return None
        if found is None:
            return None
        count, age = found
        if age > live_s:
            return None
        return count, age <= elapsed

    def _collect_evidence(
        self,
        who: str,
        reason: str,
        before: dict[str, Any],
        after: dict[str, Any] | None = None,
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
            "routing": {"before": before, "after": after or self._position()},
            "config": self.config,
        }

    def rollback_message(self, who: str, reason: str, ok: bool) -> tuple[str, str]:
        """The notification's title and body: a failed rollback says so, which
        step failed, the router's effective share and what to do."""
        env = self.config.target
        if ok:
            return f"boop-console: rolled back {env} to 0%", f"{reason} (by {who})"
        failed = [s for s in self._steps[:5] if s.status == "failed"]
        first = failed[0].name if failed else "unknown step"
        steps = "; ".join(f"{s.name}: {s.detail}" for s in failed)
        share = pct_text(self.router_state.effective_pct)
        title = f"boop-console: rollback of {env} FAILED ({first})"
        body = (
            f"Rollback FAILED at {first}; the router reads {share} BOOP traffic. "
            f"{steps}. Set the router to 0% by hand ({self.router.describe()}) "
            "and run `boop-console rollback` again. "
            f"Reason: {reason} (by {who})"
        )
        return title, body

    async def _notify_step(self, who: str, reason: str, ok: bool = True) -> None:
        s = time.perf_counter()
        if self.notifier is None:
            self._set_step(5, "skipped", s, "no notify.urls configured")
            return
        title, body = self.rollback_message(who, reason, ok)
        problem = await self.notifier.send(
            title, clean_text(body), "warning" if ok else "failure"
        )
        self._set_step(5, "failed" if problem else "done", s, problem or "sent")

    def _adopt_marker(self, marker: RollbackMarker) -> None:
        """Another instance rolled back: honour it (sticky) without touching BOOP."""
        if self.state.rolled_back:
            return
        self._mark_rolled_back(marker)
        self._save()
        self._spawn(
            self._record(
                "rollback observed",
                f"{marker.who} rolled back: {marker.reason}",
                who=self.who,
            )
        )
        log.warning("rollback by %s honoured: %s", marker.who, marker.reason)

    def _mark_rolled_back(self, marker: RollbackMarker) -> None:
        """Set the sticky rolled-back state from a marker, in memory only
        (observers; the driver's :meth:`_adopt_marker` also saves and records)."""
        st = self.state
        st.rolled_back, st.rolled_back_at = True, marker.at
        # A marker from an older version may hold unmasked text.
        st.rolled_back_reason = clean_text(marker.reason)
        st.rolled_back_by = clean_text(marker.who)
        st.stage, st.requested_pct = -1, 0.0
        st.hold_started_at = st.paused_at = st.level_changed_at = None
        st.paused_total_s = st.extra_hold_s = 0.0
        st.evidence_path = marker.evidence_path or st.evidence_path
