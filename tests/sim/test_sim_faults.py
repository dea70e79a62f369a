"""Fault registry and scenario files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from console.errors import SimulatorError
from console.sim.faults import FaultKind, Faults, parse_value
from console.sim.scenario import available, load_scenario, parse_scenario, run_scenario


def test_values_accept_percentages() -> None:
    assert parse_value("3%") == pytest.approx(0.03)
    assert parse_value("0.5") == 0.5
    assert parse_value(2) == 2.0
    assert parse_value(None) is None
    with pytest.raises(SimulatorError, match="not a number"):
        parse_value("lots")


def test_faults_default_expire_and_validate() -> None:
    now = [100.0]
    faults = Faults(clock=lambda: now[0])
    fault = faults.inject("prod", "error_rate", duration_s=10)
    assert fault.value == 0.05
    assert faults.value("prod", FaultKind.ERROR_RATE) == 0.05
    assert faults.value("dev", FaultKind.ERROR_RATE) == 0.0
    now[0] = 110.0
    assert faults.get("prod", FaultKind.ERROR_RATE) is None
    assert faults.active() == []
    with pytest.raises(SimulatorError, match="unknown fault target"):
        faults.inject("staging", "outage")
    with pytest.raises(SimulatorError, match="out of range"):
        faults.inject("prod", "auth_failure", "120%")
    faults.inject("prod", "outage")
    faults.inject("legacy", "latency", 0.2)
    assert faults.clear("prod") == 1
    assert [f.target for f in faults.active()] == ["legacy"]


def test_shipped_scenarios_load() -> None:
    assert available() == [
        "bad-deploy",
        "flapping-network",
        "healthy",
        "slow-degradation",
    ]
    assert load_scenario("healthy").events == ()
    bad = load_scenario("bad-deploy")
    first = bad.events[0]
    got: tuple[object, ...] = (
        first.at,
        first.target,
        first.kind,
        first.value,
        first.duration_s,
    )
    assert got == (
        60.0,
        "prod",
        FaultKind.ERROR_RATE,
        pytest.approx(0.05),
        None,
    )
    flapping = load_scenario("flapping-network")
    outages = [e for e in flapping.events if e.kind is FaultKind.OUTAGE]
    assert [e.at for e in outages[:3]] == [30.0, 50.0, 70.0]
    assert len(outages) == 15 and outages[0].duration_s == 3.0
    slow = load_scenario("slow-degradation")
    assert max(e.value or 0 for e in slow.events if e.kind is FaultKind.LATENCY) > 2.0


def test_scenario_errors_name_the_event_and_key(tmp_path: Path) -> None:
    with pytest.raises(SimulatorError, match=r"event\[1\]\.kind"):
        parse_scenario(
            {
                "event": [
                    {"at": 1, "target": "prod", "kind": "outage"},
                    {"at": 2, "target": "prod", "kind": "meteor"},
                ]
            },
            "x",
        )
    with pytest.raises(SimulatorError, match=r"event\[0\]\.at: required"):
        parse_scenario({"event": [{"target": "prod", "kind": "outage"}]}, "x")
    with pytest.raises(SimulatorError, match="unknown key"):
        parse_scenario(
            {"event": [{"at": 1, "target": "prod", "kind": "outage", "forr": 3}]}, "x"
        )
    with pytest.raises(SimulatorError, match="no scenario 'nope'"):
        load_scenario("nope")


async def test_scenario_runs_on_time() -> None:
    scenario = parse_scenario(
        {
            "event": [
                {
                    "at": 0.1,
                    "target": "prod",
                    "kind": "error_rate",
                    "value": "3%",
                    "for": 0.3,
                },
                {"at": 0.2, "target": "dev", "kind": "outage"},
                {"at": 0.5, "action": "clear"},
            ]
        },
        "t",
    )
    faults = Faults()
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(run_scenario(scenario, faults, loop.time()))
    await asyncio.sleep(0.25)
    assert faults.value("prod", FaultKind.ERROR_RATE) == pytest.approx(0.03)
    assert faults.get("dev", FaultKind.OUTAGE) is not None
    await asyncio.sleep(0.2)
    assert faults.value("prod", FaultKind.ERROR_RATE) == 0.0  # its 0.3 s ran out
    await asyncio.wait_for(task, 1)
    assert faults.active() == []
