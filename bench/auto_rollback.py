"""Fault start to completed automatic rollback, per shipped scenario.

For each scenario the simulator runs in this process with the scenario's faults
moved to start after ``lead_s`` seconds of healthy traffic (so the gates' windows
are full of good data first); gaps longer than ``gap_cap_s`` between the
scenario's steps are shortened to that (slow-degradation's minutes become
window-sized steps; flapping's 20 s period is kept). An engine built by the real
runtime with the demo's quick gates sits at a raised level. The figure is the time
from the fault that fired (the last injection before the rollback; also from the
first one) to the rollback completed: the router read back at 0% and the sticky
state set. The budget (docs: design "Performance budget") is the fired gate's
``window_s + 2 * interval_s``. ``healthy`` must not roll back at all.

Run: ``.venv/bin/python bench/auto_rollback.py`` (prints a table and JSON), or
``python -m bench --only auto_rollback``. Every run stops by itself within
``lead_s + limit_s`` seconds; the runs go side by side.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from console.config import demo_config
from console.demo import demo_credential_store, tick_demo_prerequisites
from console.engine.journal import Journal
from console.engine.model import Phase
from console.engine.runtime import build_engine
from console.locations import StatePaths
from console.sim.faults import Fault
from console.sim.scenario import Scenario, load_scenario
from console.sim.simulator import Simulator

SCENARIOS = ("bad-deploy", "slow-degradation", "flapping-network", "healthy")
SHOULD_ROLL_BACK = {"bad-deploy", "slow-degradation", "flapping-network"}
LEVEL_PCT = 25.0
"""The raised level the engine holds when the fault starts."""


def compressed(scenario: Scenario, lead_s: float, gap_cap_s: float) -> Scenario:
    """The scenario with its first event at ``lead_s`` and no step gap longer than
    ``gap_cap_s`` (events at the same time stay together)."""
    times = sorted({e.at for e in scenario.events})
    moved: dict[float, float] = {}
    at = lead_s
    for i, t in enumerate(times):
        if i:
            at += min(t - times[i - 1], gap_cap_s)
        moved[t] = at
    events = tuple(dataclasses.replace(e, at=moved[e.at]) for e in scenario.events)
    return dataclasses.replace(scenario, events=events)


async def run_one(
    name: str, *, lead_s: float, limit_s: float, gap_cap_s: float, rate: float
) -> dict[str, Any]:
    """One scenario, bounded by ``lead_s + limit_s``; returns its figures."""
    scenario = compressed(load_scenario(name), lead_s, gap_cap_s)
    injected: list[Fault] = []
    with tempfile.TemporaryDirectory(prefix="bench-auto-") as tmp:
        paths = StatePaths(Path(tmp)).ensure()
        async with Simulator(
            routing_file=paths.routing_file, rate=rate, seed=7, scenario=scenario
        ) as sim:
            sim.faults.listeners.append(injected.append)
            config = demo_config(sim.dev_url, sim.prod_url, sim.metrics_url, paths.root)
            tick_demo_prerequisites(paths)
            engine = build_engine(
                config,
                who="bench@auto-rollback",
                credential_store=demo_credential_store(config, sim.credentials),
            )
            await engine.start()
            done_at: float | None = None
            try:
                shifted = await engine.shift(
                    LEVEL_PCT, who="bench@auto-rollback", reason="bench", override=True
                )
                if not shifted.ok:
                    return {"error": shifted.message}
                worst = engine.snapshot().worst_case_rollback_s
                ends = time.monotonic() + lead_s + limit_s
                while time.monotonic() < ends:
                    snap = engine.snapshot()
                    if snap.phase is Phase.ROLLED_BACK and snap.traffic_pct == 0:
                        done_at = time.time()
                        break
                    await asyncio.sleep(0.05)
            finally:
                await engine.stop()
                # Requests sleeping in a latency fault would outlast the server's
                # graceful shutdown (1 s) and be cancelled with a traceback.
                sim.faults.clear()
                await asyncio.sleep(2.5)
            entry = next(
                (
                    e
                    for e in Journal(paths.journal).entries()
                    if e["action"] == "rollback"
                ),
                None,
            )
    return _figures(name, config, injected, done_at, entry, worst)


def _figures(
    name: str,
    config: Any,
    injected: list[Fault],
    done_at: float | None,
    entry: dict[str, Any] | None,
    worst: float | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "should_roll_back": name in SHOULD_ROLL_BACK,
        "rolled_back": done_at is not None,
        "worst_case_s": worst,
    }
    if done_at is None or entry is None:
        out["verdict"] = "PASS" if name not in SHOULD_ROLL_BACK else "FAIL"
        out["faults_injected"] = len(injected)
        return out
    before = [f for f in injected if f.started_at <= done_at]
    why = str(entry["why"])
    gate_name = why.split()[1] if why.startswith("gate ") else None
    gate = config.gates.get(gate_name) if gate_name else None
    budget = None if gate is None else gate.window_s + 2 * gate.interval_s
    # The step that fired: every fault injected with the last one before it.
    step = [f for f in before if before[-1].started_at - f.started_at < 1.0]
    fired = step[0] if step else None
    out.update(
        gate=gate_name,
        fault="+".join(f"{f.kind}={f.value:g}" for f in step) or None,
        from_fault_s=None if fired is None else round(done_at - fired.started_at, 2),
        from_first_fault_s=None
        if not before
        else round(done_at - before[0].started_at, 2),
        budget_s=budget,
        why=why,
    )
    within = budget is not None and out["from_fault_s"] is not None
    ok = within and out["from_fault_s"] <= budget and name in SHOULD_ROLL_BACK
    out["verdict"] = "PASS" if ok else "FAIL"
    return out


async def _run_all(
    names: tuple[str, ...], lead_s: float, limit_s: float, gap_cap_s: float, rate: float
) -> dict[str, Any]:
    async def bounded(name: str) -> dict[str, Any]:
        try:
            async with asyncio.timeout(lead_s + limit_s + 30):
                return await run_one(
                    name, lead_s=lead_s, limit_s=limit_s, gap_cap_s=gap_cap_s, rate=rate
                )
        except TimeoutError:
            return {"error": "did not finish in time"}

    results = await asyncio.gather(*(bounded(n) for n in names))
    return dict(zip(names, results, strict=True))


def run(quick: bool = False) -> dict[str, Any]:
    """Every shipped scenario side by side; figures per scenario."""
    lead_s = 30.0
    limit_s = 90.0 if quick else 120.0
    figures = asyncio.run(
        _run_all(SCENARIOS, lead_s, limit_s, gap_cap_s=25.0, rate=20.0)
    )
    return {"lead_s": lead_s, "limit_s": limit_s, "level_pct": LEVEL_PCT, **figures}


def table(figures: dict[str, Any]) -> str:
    """The figures as a plain-text table."""
    rows = [("scenario", "rolled back", "gate", "fault", "s", "budget s", "verdict")]
    for name in SCENARIOS:
        f = figures.get(name, {})
        rows.append(
            (
                name,
                "yes" if f.get("rolled_back") else "no",
                str(f.get("gate") or "-"),
                str(f.get("fault") or "-"),
                str(f.get("from_fault_s", "-")),
                str(f.get("budget_s", "-")),
                str(f.get("verdict", f.get("error", "?"))),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows
    )


def main() -> None:
    """Measure, print the table, then the JSON."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    figures = run(quick="--quick" in sys.argv)
    print(table(figures))
    print(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
