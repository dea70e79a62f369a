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
import logging
from collections.abc import Awaitable, Callable

from console.config import GateConfig
from console.engine import gates as gatemath
from console.engine.core import (
    CHART_METRICS,
    JOURNAL_DEADLINE_S,
    ROUTER_DEADLINE_S,
    STEP_NAMES,
    EngineCore,
    QueueClosed,
    SlotQueue,
    default_who,
    pct_text,
)
from console.engine.model import (
    GateResult,
    Role,
)
from console.engine.plan import PlanActions
from console.engine.rollback import RollbackRunbook
from console.engine.state import (
    CutoverState,
    RollbackMarker,
    load_state,
    move_aside,
    read_marker,
)
from console.errors import ConsoleError, StateError
from console.routing.base import RouterState

log = logging.getLogger("console.engine")

__all__ = [
    "CHART_METRICS",
    "JOURNAL_DEADLINE_S",
    "ROUTER_DEADLINE_S",
    "STEP_NAMES",
    "Engine",
    "EngineCore",
    "QueueClosed",
    "SlotQueue",
    "default_who",
]


class Engine(RollbackRunbook, PlanActions):
    """Implements :class:`console.engine.model.EngineAPI`: lifecycle and loops here,
    actions in :class:`PlanActions`, rollback in :class:`RollbackRunbook`."""

    async def open(
        self,
        *,
        acquire_lease: bool = True,
        read_router: bool = True,
        tolerate_state_dir: bool = False,
    ) -> None:
        """Take the lease if free, load state, read the router; no loops started.

        The CLI uses this for one action; :meth:`start` adds the loops. The CLI's
        rollback passes ``read_router=False``: its write must not wait for a read.
        A damaged ``state.json`` never stops the engine: it is reported in
        :attr:`state_problem` and the engine resumes from the router and the
        rollback marker. A state directory that cannot be created raises
        StateError, unless ``tolerate_state_dir`` (the CLI's rollback: the router
        write must happen anyway).
        """
        if self._opened:
            return
        self._opened = True
        dir_ok = self._ensure_state_dir(tolerate=tolerate_state_dir)
        if acquire_lease and dir_ok:
            try:
                if self.lease.try_acquire():
                    self.role = Role.DRIVER
            except OSError as exc:
                self._warnings["lease"] = f"lease unavailable: {exc}"
        # Without a state directory there is no state to read (and its error
        # says more than "state.json: Not a directory").
        had_state = self._load_state_tolerant() if dir_ok else False
        self._state_mtime = self._mtime(self.paths.state)
        self._refresh_journal_tail()
        if read_router:
            await self._poll_router(self.clock(), react=False)
        marker = read_marker(self.paths.rollback_marker)
        if not had_state:
            self._resume_without_state(marker)
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

    def _ensure_state_dir(self, *, tolerate: bool) -> bool:
        try:
            self.paths.ensure()
            return True
        except OSError as exc:
            problem = StateError(
                f"The state directory {self.paths.root} cannot be used: "
                f"{exc.strerror or exc}.",
                hint="Set state_dir in the config (or BOOP_CONSOLE_STATE_DIR) to a "
                "directory this user can create and write.",
            )
            if not tolerate:
                raise problem from exc
            log.error("%s", problem)
            self.state_problem = str(problem)
            self._warnings["state problem"] = str(problem)
            return False

    def _load_state_tolerant(self) -> bool:
        """Load state.json; False when there was none or it was damaged (then
        the state is fresh and :meth:`_resume_without_state` fills it in)."""
        try:
            existed = self.paths.state.exists()
            self.state = load_state(self.paths.state)
            return existed
        except (StateError, OSError, TypeError) as exc:
            self.state = CutoverState()
            message = exc.message if isinstance(exc, StateError) else str(exc)
            if self.role is Role.DRIVER:
                moved = move_aside(self.paths.state, self.clock())
                where = f"; moved to {moved.name}" if moved else ""
            else:
                where = ""
            self.state_problem = (
                f"{message}{where} The console resumed from the router and the "
                "rollback marker; rollback works regardless."
            )
            log.error("%s", self.state_problem)
            self._warnings["state problem"] = self.state_problem
            return False

    def _resume_without_state(self, marker: RollbackMarker | None) -> None:
        """No (usable) state.json: never lose a rollback or traffic the router shows.

        A rollback marker means rolled back (sticky); traffic above 0% without a
        marker is taken as the current level, with its hold started now.
        """
        if marker is not None:
            if self.role is Role.DRIVER:
                self._adopt_marker(marker)
            else:
                self._mark_rolled_back(marker)
            return
        pct = self.router_state.effective_pct
        if pct is None or pct <= 0:
            return
        now = self.clock()
        st = self.state
        st.requested_pct = pct
        st.stage = max(
            (i for i, lv in enumerate(self.config.plan.levels) if lv <= pct),
            default=-1,
        )
        st.level_changed_at = st.hold_started_at = now
        st.router_generation = self.router_state.generation
        self._drift_reads = 0
        self._warnings.pop("drift", None)
        self._warnings["resumed"] = (
            f"no saved state: resumed at {pct:g}% from the router, hold restarted; "
            "roll back if that is not what you meant"
        )
        log.warning("%s", self._warnings["resumed"])
        self._save()

    def _honour_marker(self) -> None:
        """Another instance rolled back: show ROLLED BACK at once, and read the
        router again at the next router tick instead of showing an old reading
        as drift."""
        if self._rolling_back or self.state.rolled_back:
            return
        marker = read_marker(self.paths.rollback_marker)
        if marker is None:
            return
        if self.role is Role.DRIVER:
            self._adopt_marker(marker)
        else:
            self._mark_rolled_back(marker)
        self._reread_router = True
        self._next_router = 0.0
        self._drift_reads = 0
        self._warnings.pop("drift", None)
        self._publish(force=True)

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

        self._honour_marker()
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
        had_state = self._load_state_tolerant()
        marker = read_marker(self.paths.rollback_marker)
        if not had_state:
            self._resume_without_state(marker)
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
        epoch = self._write_epoch
        if self._writes_in_flight:
            return
        try:
            async with asyncio.timeout(ROUTER_DEADLINE_S):
                rs = await self.router.read()
            if self._writes_in_flight or epoch != self._write_epoch:
                return  # a write of ours overlapped: this reading is no evidence
        except (ConsoleError, TimeoutError) as exc:
            self._warnings["router"] = f"router unreadable: {exc or 'deadline passed'}"
            self.router_state = RouterState(effective_pct=None, error=str(exc))
            return
        self._warnings.pop("router", None)
        self._observe_router(rs)
        self._reread_router = False
        # A rollback marker first: another instance's rollback is news, not drift.
        self._honour_marker()
        self._reread_router = False
        requested = self.state.requested_pct
        drift = rs.effective_pct is not None and abs(rs.effective_pct - requested) > 0.5
        if not drift:
            self._warnings.pop("drift", None)
            self._drift_reads = 0
            return
        self._drift_reads += 1
        msg = (
            f"drift: the router applies {pct_text(rs.effective_pct)} but the console "
            f"requested {requested:g}% ({rs.detail})"
        )
        frozen_breach = self.state.rolled_back and (rs.effective_pct or 0) > 0
        if react and self.role is Role.DRIVER and frozen_breach:
            # Frozen: an outside raise after a rollback (or a rollback write that
            # failed) is put back to 0% on every poll until it holds.
            await self._enforce_zero(f"traffic above 0% while rolled back ({msg})")
        # Raised on the second reading in a row: another instance's write seen
        # half-way (HAProxy sets two weights) is not drift.
        if self._drift_reads < 2:
            return
        self._warnings["drift"] = msg
        if react and self.role is Role.DRIVER and self._drift_reads == 2:
            log.warning("%s", msg)
            await self._record("drift", msg, who=self.who)
            if self.notifier is not None:
                self._spawn(self._notify_drift(msg))

    async def _notify_drift(self, msg: str) -> None:
        assert self.notifier is not None
        await self.notifier.send(
            f"boop-console: routing drift on {self.config.target}", msg, "warning"
        )
