"""Scripted faults: TOML scenario files.

A scenario is a description and a list of ``[[event]]`` tables, each at ``at``
seconds after the simulator started::

    description = "A bad deploy: prod starts failing 5% of requests at 60 s."

    [[event]]
    at = 60            # seconds after start
    target = "prod"    # dev | prod | legacy
    kind = "error_rate"
    value = "5%"       # optional; a number or a percentage; default per kind
    for = 120          # optional; seconds; without it the fault stays

    [[event]]
    at = 30
    every = 20         # optional: repeat every 20 s ...
    times = 5          # ... this many times in all
    target = "prod"
    kind = "outage"
    for = 3

    [[event]]
    at = 300
    action = "clear"   # end every fault (optional target = "prod")

``--scenario NAME`` finds ``console/sim/scenarios/NAME.toml``; a path works too.
"""

from __future__ import annotations

import asyncio
import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.errors import SimulatorError
from console.sim.faults import TARGETS, FaultKind, Faults, parse_value

log = logging.getLogger("console.sim")

SCENARIO_DIR = Path(__file__).parent / "scenarios"


@dataclass(frozen=True)
class ScenarioEvent:
    at: float
    action: str
    """'inject' or 'clear'."""
    target: str | None = None
    kind: FaultKind | None = None
    value: float | None = None
    duration_s: float | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    events: tuple[ScenarioEvent, ...]


def available() -> list[str]:
    """Names of the scenarios shipped with the simulator."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a shipped scenario by name, or a TOML file by path."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = SCENARIO_DIR / f"{name_or_path}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SimulatorError(
            f"no scenario {str(name_or_path)!r}",
            hint=f"Shipped scenarios: {', '.join(available())}; or give a path.",
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SimulatorError(f"cannot read scenario {path}: {exc}") from exc
    return parse_scenario(data, path.stem)


def parse_scenario(data: dict[str, Any], name: str) -> Scenario:
    """Validate a scenario document; errors name the event and key."""
    unknown = set(data) - {"description", "event"}
    if unknown:
        raise SimulatorError(f"scenario {name}: unknown key(s) {sorted(unknown)}")
    raw_events = data.get("event", [])
    if not isinstance(raw_events, list):
        raise SimulatorError(f"scenario {name}: 'event' must be [[event]] tables")
    events: list[ScenarioEvent] = []
    for i, raw in enumerate(raw_events):
        where = f"scenario {name}: event[{i}]"
        events.extend(_parse_event(raw, where))
    events.sort(key=lambda e: e.at)
    return Scenario(name, str(data.get("description", "")), tuple(events))


_EVENT_KEYS = {"at", "action", "target", "kind", "value", "for", "every", "times"}


def _parse_event(raw: Any, where: str) -> list[ScenarioEvent]:
    if not isinstance(raw, dict):
        raise SimulatorError(f"{where}: must be a table")
    unknown = set(raw) - _EVENT_KEYS
    if unknown:
        raise SimulatorError(f"{where}: unknown key(s) {sorted(unknown)}")
    at = _number(raw, "at", where, required=True)
    assert at is not None
    action = raw.get("action", "inject")
    target = raw.get("target")
    if target is not None and target not in TARGETS:
        raise SimulatorError(f"{where}.target: must be one of {', '.join(TARGETS)}")
    every = _number(raw, "every", where) or 0.0
    times = int(raw.get("times", 1))
    if times < 1 or (times > 1 and every <= 0):
        raise SimulatorError(f"{where}: 'times' > 1 needs a positive 'every'")
    if action == "clear":
        return [ScenarioEvent(at + n * every, "clear", target) for n in range(times)]
    if action != "inject":
        raise SimulatorError(f"{where}.action: must be 'inject' or 'clear'")
    if target is None:
        raise SimulatorError(f"{where}.target: required")
    try:
        kind = FaultKind(str(raw.get("kind")))
    except ValueError:
        names = ", ".join(k.value for k in FaultKind)
        raise SimulatorError(f"{where}.kind: must be one of {names}") from None
    try:
        value = parse_value(raw.get("value"))
    except SimulatorError as exc:
        raise SimulatorError(f"{where}.value: {exc.message}") from None
    duration = _number(raw, "for", where)
    return [
        ScenarioEvent(at + n * every, "inject", target, kind, value, duration)
        for n in range(times)
    ]


def _number(
    raw: dict[str, Any], key: str, where: str, required: bool = False
) -> float | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise SimulatorError(f"{where}.{key}: required (seconds)")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise SimulatorError(f"{where}.{key}: must be a number of seconds >= 0")
    return float(value)


async def run_scenario(scenario: Scenario, faults: Faults, started_at: float) -> None:
    """Apply each event at its time (loop clock, relative to ``started_at``)."""
    loop = asyncio.get_running_loop()
    for event in scenario.events:
        delay = started_at + event.at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if event.action == "clear":
            count = faults.clear(event.target)
            log.info(
                "scenario %s at %gs: cleared %d fault(s)",
                scenario.name,
                event.at,
                count,
            )
            continue
        assert event.target is not None and event.kind is not None
        fault = faults.inject(event.target, event.kind, event.value, event.duration_s)
        log.info(
            "scenario %s at %gs: %s %s=%g for %s",
            scenario.name,
            event.at,
            fault.target,
            fault.kind,
            fault.value,
            "ever" if event.duration_s is None else f"{event.duration_s:g}s",
        )
