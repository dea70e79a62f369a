"""Two consoles at once against the simulator, each built by the real runtime.

One drives, one observes; both see the same cutover. A fault in prod makes the
driver (and only the driver) roll back automatically; the observer shows it, and
when the driver goes away the observer takes over with the rollback still sticky.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from console.config import Config, demo_config, parse_config
from console.demo import demo_credential_store
from console.engine.engine import Engine
from console.engine.journal import Journal
from console.engine.model import Phase, Role
from console.engine.runtime import build_engine
from console.sim.simulator import Simulator

pytestmark = pytest.mark.timeout(60)


async def wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        await asyncio.sleep(0.05)


def quick_config(sim: Simulator, state: Path) -> Config:
    data = demo_config(sim.dev_url, sim.prod_url, sim.metrics_url, state).model_dump()
    quick = {"window_s": 2.0, "interval_s": 0.25, "breaches": 2, "min_samples": 3}
    data["guide_gates"] = False
    data["gates"] = {
        "auth_success": {"metric": "auth_success_pct", "op": ">", "threshold": 99.5,
                         **quick},
    }  # fmt: skip
    data["plan"] = {"levels": [50, 100], "hold_s": 60, "warmup_s": 0}
    data["metrics"].update(interval_s=0.25, stale_after_s=2.0)
    data["probes"] = {"interval_s": 0.5, "deadline_s": 0.4}
    return parse_config(data, "two consoles")


async def test_two_consoles_one_drives_and_rolls_back_the_other_takes_over(
    tmp_path: Path,
) -> None:
    routing = tmp_path / "routing.json"
    async with Simulator(routing_file=routing, rate=40, seed=5) as sim:
        config = quick_config(sim, tmp_path)
        store = demo_credential_store(config, sim.credentials)
        ana = build_engine(config, who="ana@jump1", credential_store=store)
        bo = build_engine(config, who="bo@jump2", credential_store=store)
        engines: list[Engine] = [ana, bo]
        await ana.start()
        await bo.start()
        try:
            assert ana.role is Role.DRIVER and bo.role is Role.OBSERVER
            assert (await ana.shift(50, who="ana@jump1", reason="go", override=True)).ok
            refused = await bo.shift(100, who="bo@jump2", reason="me", override=True)
            assert not refused.ok and "ana@jump1" in refused.message
            # Both show the same cutover and their own live probes.
            await wait_for(
                lambda: bo.snapshot().traffic_pct == 50, 5, "observer sees 50%"
            )
            await wait_for(
                lambda: (
                    all(h.ok for h in bo.snapshot().health)
                    and bool(bo.snapshot().health)
                ),
                5,
                "observer's probes",
            )

            sim.faults.inject("prod", "error_rate", 1.0)
            await wait_for(
                lambda: ana.snapshot().phase is Phase.ROLLED_BACK,
                10,
                "driver rolled back",
            )
            await wait_for(
                lambda: bo.snapshot().phase is Phase.ROLLED_BACK, 5, "observer shows it"
            )
            assert json.loads(routing.read_text())["boop_percent"] == 0

            await ana.stop()
            engines.remove(ana)
            await wait_for(lambda: bo.role is Role.DRIVER, 10, "observer takes over")
            await asyncio.sleep(0.5)  # a few ticks as the driver
            assert bo.snapshot().phase is Phase.ROLLED_BACK  # sticky across drivers
            again = await bo.shift(50, who="bo@jump2", reason="retry", override=True)
            assert not again.ok
        finally:
            for engine in engines:
                await engine.stop()
    entries = Journal(tmp_path / "journal.jsonl").entries()
    automatic = [e for e in entries if e["action"] == "rollback"]
    assert [e["who"] for e in automatic] == ["ana@jump1 (automatic)"]
    assert "took over as driver" in [e["action"] for e in entries]
    assert Journal(tmp_path / "journal.jsonl").verify().ok
