"""Scenario-driven automatic rollback against the embedded simulator: a fault in
BOOP prod breaches a gate and the engine (built by the real runtime) rolls back
within the worst-case bound; the simulated vendor application follows the file."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from console.config import demo_config, parse_config
from console.engine.journal import Journal
from console.engine.model import Phase, Verdict
from console.engine.runtime import build_engine
from console.sim.simulator import Simulator

pytestmark = pytest.mark.timeout(60)

QUICK = {"window_s": 3.0, "interval_s": 0.5, "breaches": 2, "min_samples": 5}


async def wait_for(cond, timeout: float) -> float:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > timeout:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def test_fault_in_prod_rolls_back_automatically(tmp_path: Path) -> None:
    routing = tmp_path / "routing.json"
    async with Simulator(routing_file=routing, rate=60, seed=3) as sim:
        base = demo_config(sim.dev_url, sim.prod_url, sim.metrics_url, tmp_path)
        data = base.model_dump()
        data["guide_gates"] = False
        data["gates"] = {
            "auth_success": {"metric": "auth_success_pct", "op": ">",
                             "threshold": 99.5, **QUICK},
            "auth_errors": {"metric": "auth_error_pct", "op": "<",
                            "threshold": 0.5, **QUICK},
        }  # fmt: skip
        data["plan"] = {"levels": [50, 100], "hold_s": 60, "warmup_s": 0}
        data["metrics"]["interval_s"] = 0.5
        config = parse_config(data, "sim test")
        engine = build_engine(config, who="ana@jump1")
        await engine.start()
        try:
            shifted = await engine.shift(
                50, who="ana@jump1", reason="go", override=True
            )
            assert shifted.ok, shifted.message
            await wait_for(
                lambda: all(r.verdict is Verdict.PASS for r in engine.results.values()),
                timeout=15,
            )
            sim.faults.inject("prod", "error_rate", "50%")
            took = await wait_for(
                lambda: engine.snapshot().phase is Phase.ROLLED_BACK, timeout=20
            )
            snap = engine.snapshot()
            await wait_for(lambda: sim.vendor is not None and sim.vendor.percent == 0,
                           timeout=5)  # fmt: skip
        finally:
            await engine.stop()
    worst = snap.worst_case_rollback_s
    assert worst == 3.0 + 0.5 * 2 + 0.5
    print(f"fault to rollback: {took:.2f} s (bound {worst} s)")
    assert took <= worst + 1.0, f"rolled back after {took:.1f} s, bound {worst} s"
    assert snap.rollback_steps[0].status == "done"
    assert snap.router.effective_pct == 0
    assert snap.health and all(h.env in ("dev", "prod") for h in snap.health)
    traffic = [v for _, v in snap.series["traffic_pct"] if v == v]  # drop NaN gaps
    assert 50.0 in traffic and traffic[-1] == 0.0
    entry = next(e for e in Journal(tmp_path / "journal.jsonl").entries()
                 if e["action"] == "rollback")  # fmt: skip
    assert entry["who"] == "ana@jump1 (automatic)"
    assert "BREACH" in entry["why"] and "over 3 s" in entry["why"]
