"""Two instances at once (lease), kill -9 mid-rollback, journal tampering."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers_engine import FakeMetrics, make_engine, routing_pct

from console.engine.journal import Journal
from console.engine.model import Phase, Role

pytestmark = pytest.mark.timeout(30)
REPO = Path(__file__).resolve().parents[2]


async def wait_for(cond, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_observer_is_refused_but_may_roll_back_and_takes_over(
    tmp_path: Path,
) -> None:
    metrics = FakeMetrics()
    metrics.values["auth_success_pct"] = 99.9
    driver = make_engine(tmp_path, metrics=metrics, who="ana@jump1")
    observer = make_engine(tmp_path, metrics=metrics, who="bo@jump2")
    await driver.start()
    await observer.start()
    try:
        assert driver.role is Role.DRIVER and observer.role is Role.OBSERVER
        assert (await driver.shift(5, who="ana@jump1", reason="go", override=True)).ok

        refused = await observer.shift(
            10, who="bo@jump2", reason="me too", override=True
        )
        assert not refused.ok
        assert refused.message.startswith(
            f"Refused: ana@jump1 (pid {os.getpid()}) drives"
        )
        assert not (await observer.hold(who="bo@jump2", reason="x")).ok

        result = await observer.rollback(who="bo@jump2", reason="pager fired")
        assert result.ok and routing_pct(tmp_path) == 0
        await wait_for(lambda: driver.snapshot().phase is Phase.ROLLED_BACK)
        assert driver.state.rolled_back_by == "bo@jump2"
        # The driver honours it: nothing it does raises traffic again.
        again = await driver.shift(5, who="ana@jump1", reason="oops", override=True)
        assert not again.ok and routing_pct(tmp_path) == 0

        await driver.stop()
        await wait_for(lambda: str(observer.role) == "driver")
        await wait_for(lambda: observer.snapshot().phase is Phase.ROLLED_BACK)
    finally:
        await driver.stop()
        await observer.stop()
    actions = [e["action"] for e in Journal(tmp_path / "journal.jsonl").entries()]
    assert "took over as driver" in actions


KILLED = textwrap.dedent(
    """
    import asyncio, sys
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from helpers_engine import make_engine

    class HangingRouter:
        kind = "file"
        async def set_percent(self, pct, **kw):
            print("writing", flush=True)
            await asyncio.sleep(60)
        async def read(self):
            from console.routing.base import RouterState
            return RouterState(effective_pct=25.0)
        def describe(self): return "hangs"
        async def close(self): pass

    async def main():
        engine = make_engine(Path({state!r}))
        engine.router = HangingRouter()
        await engine.open()
        await engine.rollback(who="ana@jump1", reason="killed halfway")

    asyncio.run(main())
    """
)


async def test_killed_mid_rollback_is_finished_by_the_next_start(
    tmp_path: Path,
) -> None:
    engine = make_engine(tmp_path)
    await engine.open()
    assert (await engine.shift(25, who="a@b", reason="go", override=True)).ok
    await engine.stop()

    script = KILLED.format(tests=str(Path(__file__).parent), state=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "writing"
        marker = json.loads((tmp_path / "rollback.json").read_text())
        assert marker["status"] == "in_progress"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
    assert routing_pct(tmp_path) == 25  # the killed process never wrote

    restarted = make_engine(tmp_path, who="guard@jump1")
    await restarted.open()
    try:
        assert routing_pct(tmp_path) == 0
        assert restarted.snapshot().phase is Phase.ROLLED_BACK
        assert "killed halfway" in (restarted.state.rolled_back_reason or "")
    finally:
        await restarted.stop()
    assert json.loads((tmp_path / "rollback.json").read_text())["status"] == "done"


def test_journal_verify_detects_edit_deletion_and_truncation(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    for i in range(4):
        journal.append(ts=float(i), who="a@b", action="shift", why=f"step {i}")
    assert journal.verify().ok and journal.verify().count == 4
    lines = journal.path.read_text().splitlines()

    edited = json.loads(lines[1])
    edited["why"] = "nothing to see"
    journal.path.write_text(
        "\n".join([lines[0], json.dumps(edited), *lines[2:]]) + "\n"
    )
    result = journal.verify()
    assert not result.ok
    assert result.problems == ["line 2: hash mismatch (the entry was edited)"]

    journal.path.write_text("\n".join([lines[0], *lines[2:]]) + "\n")
    problems = journal.verify().problems
    assert any("seq 3 where 2 was expected" in p for p in problems)

    journal.path.write_text("\n".join(lines[:3]) + "\n")
    result = journal.verify()
    assert not result.ok and result.count == 3
    assert "truncated or rewritten" in result.problems[0]
