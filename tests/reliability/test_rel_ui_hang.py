"""The console (a Textual pilot) on the real engine while BOOP prod hangs.

The screen keeps getting snapshots while every REST call and context of prod hangs,
and ^R rolls back to 0% within a second: nothing in the UI waits on BOOP.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from console.config import demo_config, parse_config
from console.demo import demo_credential_store
from console.engine.model import Phase
from console.engine.runtime import build_engine
from console.sim.simulator import Simulator
from console.ui.app import ConsoleApp

pytestmark = pytest.mark.timeout(60)


async def test_rollback_key_lands_while_prod_hangs(tmp_path: Path) -> None:
    routing = tmp_path / "routing.json"
    async with Simulator(routing_file=routing, rate=20, seed=9) as sim:
        data = demo_config(
            sim.dev_url, sim.prod_url, sim.metrics_url, tmp_path
        ).model_dump()
        data["plan"] = {"levels": [50, 100], "hold_s": 60, "warmup_s": 0}
        data["probes"] = {"interval_s": 1.0, "deadline_s": 0.5}
        # Failing /health would breach uptime within seconds and roll back before
        # the key is pressed: this test is about the key.
        del data["gates"]["uptime"]
        data["guide_gates"] = False
        config = parse_config(data, "ui under a hang")
        engine = build_engine(
            config,
            who="ana@jump1",
            credential_store=demo_credential_store(config, sim.credentials),
        )
        await engine.start()
        try:
            assert (
                await engine.shift(50, who="ana@jump1", reason="go", override=True)
            ).ok
            app = ConsoleApp(engine, who="ana@jump1")
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.pause()
                sim.faults.inject("prod", "hang", 1.0)
                before = app.history.count("snapshot")
                await asyncio.sleep(2.5)
                during = app.history.count("snapshot") - before
                pressed = time.monotonic()
                await pilot.press("ctrl+r")
                # Step 1 (the router at 0%) lands within a second; step 2 then
                # lets what is in flight finish, bounded by the grace (2 s here).
                while json.loads(routing.read_text())["boop_percent"] != 0:
                    assert time.monotonic() - pressed < 1.0, app.history[-5:]
                    await asyncio.sleep(0.01)
                took = time.monotonic() - pressed
                grace = config.rollback.inflight_grace_s
                while "rollback: ok" not in app.history:
                    assert time.monotonic() - pressed < grace + 1.0, app.history[-5:]
                    await asyncio.sleep(0.01)
                await pilot.pause()
                inflight = engine.snapshot().rollback_steps[1]
                phase = engine.snapshot().phase
                rollback = engine.snapshot().rolled_back_reason
                history = [h for h in app.history if h.startswith("rollback")]
            sim.faults.clear()
        finally:
            await engine.stop()
    assert during >= 2, "the screen stopped getting snapshots while BOOP hung"
    assert took < 1.0
    assert phase is Phase.ROLLED_BACK
    assert history[:2] == ["rollback: requested", "rollback: ok"]
    assert rollback == "^R pressed in the console"  # ours, not an automatic one
    # Every prod context hangs: still open after the grace, said, not waited on.
    assert inflight.status == "failed", inflight
    assert "still in flight after 2 s grace" in inflight.detail, inflight
    assert json.loads(routing.read_text())["boop_percent"] == 0
