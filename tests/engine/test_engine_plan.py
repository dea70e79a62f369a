"""Plan, promotion rules, automatic and manual rollback, stickiness, restart."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from helpers_engine import (
    FakeChecklist,
    FakeMetrics,
    make_config,
    make_engine,
    receiver,
    routing_pct,
)

from console.engine.journal import Journal
from console.engine.model import Overall, Phase, Role
from console.engine.notify import AppriseNotifier
from console.errors import RouterError
from console.routing.base import RouterState
from console.routing.file import FileRouter

pytestmark = pytest.mark.timeout(30)
GOOD, BAD = 99.9, 90.0


async def wait_for(cond, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_raise_needs_checklist_hold_and_gates_or_a_recorded_override(
    tmp_path: Path,
) -> None:
    metrics = FakeMetrics()
    metrics.values["auth_success_pct"] = GOOD
    checklist = FakeChecklist(["security review approved"])
    engine = make_engine(tmp_path, metrics=metrics, checklist=checklist)
    await engine.start()
    try:
        await wait_for(lambda: engine.results["auth_success"].verdict == "PASS")
        refused = await engine.shift(5, who="ana@jump1", reason="start")
        assert not refused.ok
        assert (
            "checklist: 1 pre-migration item(s) open, first security review approved"
            in refused.message
        )
        assert not (tmp_path / "routing.json").exists()

        checklist.blockers.clear()
        done = await engine.shift(5, who="ana@jump1", reason="start at 5%")
        assert done.ok, done.message
        assert routing_pct(tmp_path) == 5
        assert engine.snapshot().phase is Phase.HOLDING

        again = await engine.shift(5, who="ana@jump1", reason="again", override=True)
        assert not again.ok and again.message == "Already at 5%; nothing changed."
        preview = engine.preview_shift()
        assert preview.to_pct == 10 and any(
            b.startswith("hold:") for b in preview.blockers
        )
        skip = await engine.shift(50, who="ana@jump1", reason="hurry")
        assert not skip.ok and "skips level(s) 10%, 25%" in skip.message

        await wait_for(lambda: engine.snapshot().phase is Phase.READY)
        assert (await engine.shift(10, who="ana@jump1", reason="next")).ok
        forced = await engine.shift(
            50, who="ana@jump1", reason="CAB said so", override=True
        )
        assert forced.ok and routing_pct(tmp_path) == 50
    finally:
        await engine.stop()
    last = Journal(tmp_path / "journal.jsonl").entries()[-1]
    assert last["action"] == "shift (override)"
    assert last["why"].startswith("CAB said so | override of: ")
    assert "skips level(s) 25%" in last["why"]
    assert last["gates"]["auth_success"]["verdict"] == "PASS"


async def test_breach_during_hold_rolls_back_with_evidence_and_notification(
    tmp_path: Path,
) -> None:
    metrics = FakeMetrics()
    metrics.values["auth_success_pct"] = GOOD
    with receiver() as (url, bodies):
        engine = make_engine(
            tmp_path, metrics=metrics, notifier=AppriseNotifier([url], timeout_s=5)
        )
        await engine.start()
        try:
            await wait_for(lambda: engine.results["auth_success"].verdict == "PASS")
            assert (await engine.shift(5, who="ana@jump1", reason="go")).ok
            metrics.values["auth_success_pct"] = BAD
            await wait_for(lambda: engine.snapshot().phase is Phase.ROLLED_BACK)
            await wait_for(
                lambda: engine.snapshot().rollback_steps[-1].status == "done"
            )
            snap = engine.snapshot()
        finally:
            await engine.stop()
        assert routing_pct(tmp_path) == 0
        assert snap.phase is Phase.ROLLED_BACK and snap.overall is Overall.ROLLED_BACK
        assert [s.status for s in snap.rollback_steps] == [
            "done",
            "skipped",
            "done",
            "done",
            "done",
            "done",
        ]
        why = (
            "auth_success_pct 90.00 % <= 99.5 over 1 s "
            "(100 samples, data 0.5 s old; breach 2/2)"
        )
        assert snap.rolled_back_reason == f"gate auth_success BREACH: {why}"
        assert why in bodies[0]["message"]
    entry = next(
        e
        for e in Journal(tmp_path / "journal.jsonl").entries()
        if e["action"] == "rollback"
    )
    assert entry["who"] == "ana@jump1 (automatic)"
    assert entry["why"] == snap.rolled_back_reason
    assert entry["before"]["pct"] == 5 and entry["after"]["pct"] == 0
    evidence = Path(snap.evidence_path or "")
    assert sorted(p.name for p in evidence.iterdir()) == [
        "config.json",
        "journal.jsonl",
        "probes.log",
        "routing.json",
        "series.json",
        "summary.json",
    ]
    assert json.loads((evidence / "routing.json").read_text())["before"]["pct"] == 5


async def test_rollback_is_sticky_against_gates_timers_and_outside_raises(
    tmp_path: Path,
) -> None:
    metrics = FakeMetrics()
    metrics.values["auth_success_pct"] = GOOD
    engine = make_engine(tmp_path, metrics=metrics)
    await engine.start()
    try:
        await wait_for(lambda: engine.results["auth_success"].verdict == "PASS")
        assert (await engine.shift(5, who="ana@jump1", reason="go")).ok
        result = await engine.rollback(who="ana@jump1", reason="")
        assert result.ok and routing_pct(tmp_path) == 0
        await asyncio.sleep(0.4)  # hold would have elapsed, gates pass
        assert engine.snapshot().phase is Phase.ROLLED_BACK
        refused = await engine.shift(5, who="ana@jump1", reason="again", override=True)
        assert not refused.ok and "re-armed" in refused.message

        # Someone edits the routing file behind the console's back: undone at once.
        (tmp_path / "routing.json").write_text('{"boop_percent": 25}')
        await wait_for(lambda: routing_pct(tmp_path) == 0)
        entries = Journal(tmp_path / "journal.jsonl").entries()
        enforced = [e for e in entries if e["action"] == "rollback re-enforced"]
        assert enforced[0]["why"].startswith(
            "traffic above 0% while rolled back (drift: the router applies 25% but "
            "the console requested 0%"
        )

        rearm = await engine.rearm(who="ana@jump1", reason="root cause fixed")
        assert rearm.ok and engine.snapshot().phase is Phase.NOT_STARTED
        assert not (tmp_path / "rollback.json").exists()
    finally:
        await engine.stop()


async def test_rollback_at_zero_is_a_no_op_that_says_so(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    await engine.open()
    try:
        result = await engine.rollback(who="ana@jump1", reason="just in case")
    finally:
        await engine.stop()
    assert result.ok
    assert result.message.startswith("Nothing to roll back: BOOP traffic is at 0%")
    assert not (tmp_path / "routing.json").exists()  # the router was not touched
    assert not (tmp_path / "rollback.json").exists()


async def test_read_only_journal_does_not_stop_the_rollback(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    await engine.open()
    try:
        assert (await engine.shift(5, who="a@b", reason="go", override=True)).ok
        # A directory in the journal's place: every append fails, even as root.
        (tmp_path / "journal.jsonl").unlink()
        (tmp_path / "journal.jsonl").mkdir()
        result = await engine.rollback(who="a@b", reason="stop")
        snap = engine.snapshot()
    finally:
        await engine.stop()
    assert result.ok and routing_pct(tmp_path) == 0
    assert any(w.startswith("journal write failed") for w in snap.warnings)


async def test_restart_resumes_level_hold_and_pause_exactly(tmp_path: Path) -> None:
    first = make_engine(tmp_path)
    await first.open()
    assert (await first.shift(10, who="a@b", reason="go", override=True)).ok
    assert (await first.hold(who="a@b", reason="lunch")).ok
    saved = first.state
    await first.stop()

    second = make_engine(tmp_path)
    await second.open()
    try:
        assert second.role is Role.DRIVER
        assert second.state.stage == 1 and second.state.requested_pct == 10
        assert second.state.hold_started_at == saved.hold_started_at
        assert second.state.paused_at == saved.paused_at
        assert second.snapshot().phase is Phase.PAUSED
        assert (await second.resume(who="a@b", reason="back")).ok
        assert second.snapshot().phase is Phase.HOLDING
    finally:
        await second.stop()


async def test_leaving_zero_ignores_insufficient_data_but_not_a_breach(
    tmp_path: Path,
) -> None:
    metrics = FakeMetrics()  # no values: INSUFFICIENT DATA, as at 0% in real life
    engine = make_engine(tmp_path, metrics=metrics)
    await engine.start()
    try:
        await wait_for(
            lambda: "not evaluated" not in engine.results["auth_success"].why
        )
        assert engine.preview_shift().blockers == ()
        metrics.values["auth_success_pct"] = BAD
        await wait_for(lambda: engine.results["auth_success"].verdict == "BREACH")
        blockers = engine.preview_shift().blockers
        assert len(blockers) == 1 and blockers[0].startswith("gate auth_success BREACH")
    finally:
        await engine.stop()


async def test_snapshot_queue_coalesces(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    await engine.open()
    q = engine.subscribe()
    await engine.shift(5, who="a@b", reason="go", override=True)
    await engine.hold(who="a@b", reason="wait")
    snap = await q.get()
    assert snap.phase is Phase.PAUSED  # older snapshots were replaced, not queued
    await engine.stop()
    with pytest.raises(Exception, match="stopped"):
        await q.get()


class FlakyRouter(FileRouter):
    """Fails the first ``failures`` writes, as a router restarting would."""

    def __init__(self, path: Path, failures: int) -> None:
        super().__init__(path)
        self.failures = failures

    async def set_percent(
        self, pct: float, *, who: str, reason: str, draining: bool = False
    ) -> RouterState:
        if pct == 0 and self.failures > 0:
            self.failures -= 1
            raise RouterError("router restarting")
        return await super().set_percent(pct, who=who, reason=reason, draining=draining)


async def test_rollback_retries_the_router_and_freezes_even_if_it_fails(
    tmp_path: Path,
) -> None:
    engine = make_engine(tmp_path)
    engine.router = FlakyRouter(tmp_path / "routing.json", failures=2)
    await engine.open()
    try:
        assert (await engine.shift(5, who="a@b", reason="go", override=True)).ok
        result = await engine.rollback(who="a@b", reason="retry")
        assert result.ok and routing_pct(tmp_path) == 0
        await engine.rearm(who="a@b", reason="again")
        assert (await engine.shift(5, who="a@b", reason="go", override=True)).ok
        engine.router = FlakyRouter(tmp_path / "routing.json", failures=99)
        failed = await engine.rollback(who="a@b", reason="router gone")
        snap = engine.snapshot()
    finally:
        await engine.stop()
    assert not failed.ok
    assert failed.message.startswith("Rollback incomplete: stop new traffic: router")
    assert snap.phase is Phase.ROLLED_BACK  # frozen: nothing will raise it again
    assert "rollback write failed: router restarting" in snap.warnings
    assert json.loads((tmp_path / "rollback.json").read_text())["status"] == "done"


async def test_a_hanging_metrics_source_fails_closed_and_blocks_nothing(
    tmp_path: Path,
) -> None:
    metrics = FakeMetrics()
    metrics.values["auth_success_pct"] = GOOD
    config = make_config(tmp_path, metrics={"interval_s": 0.05, "timeout_s": 0.2})
    engine = make_engine(tmp_path, metrics=metrics, config=config)
    await engine.start()
    try:
        await wait_for(lambda: engine.results["auth_success"].verdict == "PASS")
        assert (await engine.shift(5, who="a@b", reason="go", override=True)).ok
        metrics.hang = True
        await wait_for(
            lambda: engine.results["auth_success"].verdict == "INSUFFICIENT DATA"
        )
        assert "metrics source did not answer within 0.2 s" in (
            engine.results["auth_success"].why
        )
        # Another instance rolls back: honoured at once, metrics or not.
        other = make_engine(tmp_path, who="bo@jump2")
        await other.open()
        assert (await other.rollback(who="bo@jump2", reason="pager")).ok
        await other.stop()
        took = time.monotonic()
        await wait_for(lambda: engine.snapshot().phase is Phase.ROLLED_BACK, 1.0)
        assert time.monotonic() - took < 0.5
    finally:
        await engine.stop()


async def test_outside_change_is_drift_in_snapshot_journal_and_notification(
    tmp_path: Path,
) -> None:
    with receiver() as (url, bodies):
        engine = make_engine(tmp_path, notifier=AppriseNotifier([url], timeout_s=5))
        await engine.start()
        try:
            assert (await engine.shift(5, who="a@b", reason="go", override=True)).ok
            (tmp_path / "routing.json").write_text('{"boop_percent": 25}')
            await wait_for(lambda: len(bodies) == 1)
            snap = engine.snapshot()
        finally:
            await engine.stop()
    msg = "drift: the router applies 25% but the console requested 5%"
    assert any(w.startswith(msg) for w in snap.warnings)
    assert snap.router.drift and snap.router.effective_pct == 25
    assert bodies[0]["message"].startswith(msg)
    entry = Journal(tmp_path / "journal.jsonl").entries()[-1]
    assert entry["action"] == "drift" and entry["why"].startswith(msg)
    assert routing_pct(tmp_path) == 25  # not rolled back: raised, not undone


class RecordingRouter(FileRouter):
    """Notes the order of calls, to show what a rollback does first."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.calls: list[str] = []

    async def set_percent(
        self, pct: float, *, who: str, reason: str, draining: bool = False
    ) -> RouterState:
        self.calls.append(f"set {pct:g}")
        return await super().set_percent(pct, who=who, reason=reason, draining=draining)

    async def read(self) -> RouterState:
        self.calls.append("read")
        return await super().read()


async def test_the_first_thing_a_rollback_does_is_the_write(tmp_path: Path) -> None:
    first = make_engine(tmp_path)
    await first.open()
    assert (await first.shift(10, who="a@b", reason="go", override=True)).ok
    await first.stop()

    cli = make_engine(tmp_path, who="cli@jump1")
    cli.router = RecordingRouter(tmp_path / "routing.json")
    await cli.open(read_router=False)  # as `boop-console rollback` does
    try:
        assert (await cli.rollback(who="cli@jump1", reason="now")).ok
    finally:
        await cli.stop()
    # Nothing before the write (not even a read for the evidence), then step
    # 3's read-back.
    assert cli.router.calls[:2] == ["set 0", "read"]
    assert routing_pct(tmp_path) == 0
