"""Plan actions: preview and shift (with their blockers and overrides), hold,
resume, extend the hold, re-arm after a rollback."""

from __future__ import annotations

import dataclasses

from console.engine.core import EngineCore, clean_text, duration_text, pct_text
from console.engine.model import (
    ActionResult,
    ShiftPreview,
    Verdict,
)
from console.engine.state import (
    CutoverState,
    clear_marker,
    read_marker,
)
from console.errors import ConsoleError


class PlanActions(EngineCore):
    """What a person may ask of the plan; raising traffic is checked, lowering not."""

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
        if self.state_problem is not None and to_pct > cur:
            blockers.append("the saved state was unusable: check the level first")
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
                blockers.append(f"hold: {duration_text(ends - now)} left")
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
        self,
        to_pct: float,
        *,
        who: str,
        reason: str,
        override: bool = False,
        note: str | None = None,
    ) -> ActionResult:
        """Move the split to ``to_pct`` (raising needs the plan's conditions).

        ``note`` is added to the journal entry (the CLI notes "no driver" when
        nothing will watch the gates after it exits)."""
        who, reason = clean_text(who), clean_text(reason)
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
                rs = await self._write_router(to_pct, who=who, reason=reason)
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
            if note:
                why += f" | {note}"
            action = "shift (override)" if preview.needs_override else "shift"
            await self._record(
                action, why, who=who, before=before, after=self._position()
            )
            self._publish(force=True)
            if rs.effective_pct is None or abs(rs.effective_pct - to_pct) > 0.5:
                return ActionResult(
                    False,
                    f"Requested {to_pct:g}%, but the router reads "
                    f"{pct_text(rs.effective_pct)}: {rs.detail}",
                )
            return ActionResult(
                True, f"BOOP traffic {pct_text(preview.from_pct)} → {to_pct:g}%."
            )

    async def hold(self, *, who: str, reason: str) -> ActionResult:
        """Stop the hold clock (promotion waits; gates and rollback go on)."""
        who, reason = clean_text(who), clean_text(reason)
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
        who, reason = clean_text(who), clean_text(reason)
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
        who, reason = clean_text(who), clean_text(reason)
        if (refusal := self._refusal_for_role()) is not None:
            return ActionResult(False, refusal)
        if seconds <= 0:
            return ActionResult(False, "Extend by a positive number of seconds.")
        if self.state.stage < 0 or self.state.rolled_back:
            return ActionResult(False, "No hold is running.")
        self.state.extra_hold_s += seconds
        await self._save_async()
        await self._record(
            "extend hold", f"+{duration_text(seconds)}: {reason}", who=who
        )
        self._publish(force=True)
        return ActionResult(True, f"Hold extended by {duration_text(seconds)}.")

    async def rearm(self, *, who: str, reason: str) -> ActionResult:
        """Lift the sticky rollback (traffic stays at 0%); needs a reason."""
        who, reason = clean_text(who), clean_text(reason)
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
                # 0% again, but no longer draining: BOOP may take traffic later.
                rs = await self._write_router(0, who=who, reason=reason)
            except (ConsoleError, TimeoutError) as exc:
                return ActionResult(False, f"Router write failed: {exc}")
            self._observe_router(rs)
            if rs.effective_pct != 0:
                # The freeze stays: re-arming over traffic the router still
                # sends to BOOP would hide a rollback that did not take.
                msg = (
                    f"Not re-armed: the router reads {pct_text(rs.effective_pct)} "
                    f"after writing 0% ({rs.detail or rs.error or 'no detail'}). "
                    "Set the router to 0% by hand, check it with "
                    "`boop-console status`, then re-arm."
                )
                await self._record("rearm refused", f"{reason}: {msg}", who=who)
                self._publish(force=True)
                return ActionResult(False, msg)
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
            return ActionResult(
                True,
                f"Re-armed: the router reads {pct_text(rs.effective_pct)} "
                f"({rs.detail}); the plan starts again.",
            )
