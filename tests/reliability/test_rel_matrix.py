"""The reliability matrix: every simulator fault against every long-running part.

Parts: the /health probe, the vendor stream, the metrics scrape and the engine (its
snapshots keep coming and a rollback lands at 0% within 1 s). Each cell injects one
fault into BOOP prod of one simulator shared by the module, checks the outcome (a
typed error or recovery, never a crash, a hang past a deadline or a lost journal
entry) and clears the fault. What each fault should do to each part is written down
in the tables below, so a cell fails when a part stops noticing a fault too.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from console.boop.client import BoopClient
from console.boop.models import Connected, Oversize, StreamEvent
from console.boop.stream import Backoff, StreamState, VendorStream
from console.config import demo_config, parse_config
from console.demo import demo_credential_store
from console.engine.journal import Journal
from console.engine.model import GateResult, Phase, Verdict
from console.engine.runtime import build_engine
from console.errors import MetricsError
from console.locations import StatePaths
from console.metrics.clock import Clock
from console.metrics.probes import HealthProbe
from console.metrics.scrape import ScrapeSource
from console.metrics.series import SeriesStore
from console.routing.file import FileRouter
from console.sim.faults import FaultKind
from console.sim.simulator import Simulator

Inject = Callable[[FaultKind], None]
pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(30)]

FAULTS = list(FaultKind)

# The value each cell injects: strong enough that a part which is affected at all
# is affected every time (shares of 100%), so outcomes are deterministic.
VALUES: dict[FaultKind, float] = {
    FaultKind.ERROR_RATE: 1.0,
    FaultKind.LATENCY: 1.0,
    FaultKind.OUTAGE: 1.0,
    FaultKind.WS_DROP: 600.0,
    FaultKind.RATE_LIMIT_STORM: 1.0,
    FaultKind.HTML_502: 1.0,
    FaultKind.HANG: 1.0,
    FaultKind.TRICKLE: 0.5,
    FaultKind.AUTH_FAILURE: 1.0,
    FaultKind.PAYMENT_FAILURE: 1.0,
    FaultKind.WS_OVERSIZE: 2 * 2**20,
}

PROBE_DEADLINE_S = 0.5
SCRAPE_TIMEOUT_S = 0.5
SLACK_S = 0.4
CONTEXT_TIMEOUT_S = 2.0
"""Scheduling slack on top of a part's own deadline (2 cores, a busy simulator)."""

# /health under each fault: None = healthy, else a piece of the probe's error.
# /health speaks for the gateway only: the API's errors, rate limits and latency
# behind it are the gates' business (sim: d5a6d5b).
HEALTH_ERROR: dict[FaultKind, str | None] = {
    FaultKind.ERROR_RATE: None,
    FaultKind.LATENCY: None,
    FaultKind.OUTAGE: "503",
    FaultKind.WS_DROP: None,
    FaultKind.RATE_LIMIT_STORM: None,
    FaultKind.HTML_502: "502",
    FaultKind.HANG: f"no answer within {PROBE_DEADLINE_S:g} s",
    FaultKind.TRICKLE: f"no answer within {PROBE_DEADLINE_S:g} s",
    FaultKind.AUTH_FAILURE: None,
    FaultKind.PAYMENT_FAILURE: None,
    FaultKind.WS_OVERSIZE: None,
}

# A scrape of a URL behind the faulty upstream (prod's /health, which is JSON, not
# the exposition format): always a MetricsError, and this one.
SCRAPE_ERROR: dict[FaultKind, str] = {
    FaultKind.ERROR_RATE: "not Prometheus text format",
    FaultKind.LATENCY: "not Prometheus text format",
    FaultKind.OUTAGE: "answered HTTP 503",
    FaultKind.WS_DROP: "not Prometheus text format",
    FaultKind.RATE_LIMIT_STORM: "not Prometheus text format",
    FaultKind.HTML_502: "answered HTTP 502",
    FaultKind.HANG: f"did not answer within {SCRAPE_TIMEOUT_S:g} s",
    FaultKind.TRICKLE: f"did not answer within {SCRAPE_TIMEOUT_S:g} s",
    FaultKind.AUTH_FAILURE: "not Prometheus text format",
    FaultKind.PAYMENT_FAILURE: "not Prometheus text format",
    FaultKind.WS_OVERSIZE: "not Prometheus text format",
}

# The vendor stream: faults that break an open socket, and faults that refuse a
# new one in the handshake (with what the stream says about it).
BREAKS_OPEN_SOCKET = {FaultKind.OUTAGE, FaultKind.WS_DROP, FaultKind.WS_OVERSIZE}
REFUSES_HANDSHAKE = {FaultKind.OUTAGE: "HTTP 503", FaultKind.HTML_502: "HTTP 502"}


async def wait_for(
    cond: Callable[[], bool], timeout: float, what: str | Callable[[], str]
) -> float:
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > timeout:
            said = what if isinstance(what, str) else what()
            raise AssertionError(f"{said}: not within {timeout:g} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sim(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Simulator]:
    """One simulator for the module; its vendor app follows ``routing.json``."""
    routing = tmp_path_factory.mktemp("rel-sim") / "routing.json"
    async with Simulator(
        routing_file=routing, rate=40, seed=11, context_timeout_s=CONTEXT_TIMEOUT_S
    ) as simulator:
        yield simulator


@pytest_asyncio.fixture(loop_scope="module")
async def fault(sim: Simulator) -> AsyncIterator[Callable[[FaultKind], None]]:
    """Injects the cell's fault into prod (after the cell's own set-up, when
    called) and clears every fault after the cell, whatever happened."""
    injected: list[FaultKind] = []

    def inject(kind: FaultKind) -> None:
        injected.append(kind)
        sim.faults.inject("prod", kind, VALUES[kind])

    yield inject
    sim.faults.clear()
    # The vendor application's own sockets back off after a fault: contexts it
    # sends before they are back fail, and would breach the next cell's gates.
    assert sim.vendor is not None
    vendor = sim.vendor
    await wait_for(
        lambda: vendor.boop.connected and vendor.legacy.connected,
        10.0,
        "vendor sockets back",
    )
    if FaultKind.HANG in injected:
        # Contexts stuck in the hang end as errors only at the vendor's timeout;
        # let them, so that they do not count against the next cell.
        await asyncio.sleep(CONTEXT_TIMEOUT_S + 0.3)


# -- health probe ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", FAULTS, ids=str)
async def test_health_probe(sim: Simulator, fault: Inject, kind: FaultKind) -> None:
    client = BoopClient(sim.prod_url, "", "", production=True, name="prod")

    async def fetch() -> Any:
        return await client.health(deadline_s=PROBE_DEADLINE_S)

    probe = HealthProbe(
        "prod",
        fetch,
        SeriesStore(),
        Clock(),
        interval_s=1.0,
        deadline_s=PROBE_DEADLINE_S,
        window_s=60.0,
    )
    try:
        assert (await probe.probe_once()).ok is True
        fault(kind)
        started = time.monotonic()
        during = await asyncio.wait_for(probe.probe_once(), 5.0)
        took = time.monotonic() - started
        sim.faults.clear()
        after = await asyncio.wait_for(probe.probe_once(), 5.0)
    finally:
        await client.aclose()

    assert took <= PROBE_DEADLINE_S + SLACK_S, f"probe took {took:.2f} s"
    expected = HEALTH_ERROR[kind]
    if expected is None:
        assert during.ok is True and during.error is None
    else:
        assert during.ok is False and during.error is not None
        assert expected in during.error, during.error
        assert during.latency_ms is None
    assert after.ok is True, after.error  # recovered at the next probe
    # Every check counts since start: three, of which the faulty one failed.
    since_start = 100.0 if expected is None else 100 * 2 / 3
    assert after.uptime_since_start_pct == pytest.approx(since_start)
    assert after.probes == 3


# -- metrics scrape --------------------------------------------------------------------


@pytest.mark.parametrize("kind", FAULTS, ids=str)
async def test_metrics_scrape(sim: Simulator, fault: Inject, kind: FaultKind) -> None:
    vendor = ScrapeSource(sim.metrics_url, interval_s=0.25, timeout_s=SCRAPE_TIMEOUT_S)
    behind = ScrapeSource(
        sim.prod_url + "/health", interval_s=0.25, timeout_s=SCRAPE_TIMEOUT_S
    )
    try:
        await vendor.poll()
        fault(kind)
        errors: list[MetricsError] = []
        for _ in range(2):
            started = time.monotonic()
            # The vendor application's own endpoint keeps answering under any fault
            # of BOOP prod; the scrape must keep reading it.
            await vendor.poll()
            try:
                await behind.poll()
            except MetricsError as exc:
                errors.append(exc)
            took = time.monotonic() - started
            assert took <= 2 * SCRAPE_TIMEOUT_S + SLACK_S, f"polls took {took:.2f} s"
            await asyncio.sleep(0.1)
        measured = behind.measure("auth_success_pct", 5.0, time.time())
        fresh = vendor.measure("auth_success_pct", 60.0, time.time())
    finally:
        await vendor.close()
        await behind.close()

    assert vendor.error is None
    assert fresh.error is None and fresh.age_s is not None
    assert fresh.age_s < 1.0
    assert len(errors) == 2, "a faulty endpoint must raise MetricsError every poll"
    assert all(SCRAPE_ERROR[kind] in e.message for e in errors), errors[0].message
    # Fail closed: the failed source reports an error, never a value to pass on.
    assert measured.value is None and measured.error is not None
    assert SCRAPE_ERROR[kind] in measured.error


# -- vendor stream ---------------------------------------------------------------------


def make_stream(sim: Simulator, events: list[StreamEvent]) -> VendorStream:
    vendor_id, api_key = sim.credentials["prod"]
    return VendorStream(
        sim.info()["prod_ws_url"],
        vendor_id,
        api_key,
        dialect="A",
        on_event=events.append,
        backoff=Backoff(initial_s=0.05, cap_s=0.3, stable_after_s=30.0),
        open_timeout_s=1.0,
        hello_timeout_s=1.0,
        name="prod",
    )


@pytest.mark.parametrize("kind", FAULTS, ids=str)
async def test_vendor_stream(sim: Simulator, fault: Inject, kind: FaultKind) -> None:
    old_events: list[StreamEvent] = []
    new_events: list[StreamEvent] = []
    old = make_stream(sim, old_events)
    new = make_stream(sim, new_events)
    states: set[StreamState] = set()
    try:
        old.start()
        await wait_for(lambda: old.connected, 5.0, "first connection")
        fault(kind)
        new.start()  # a connection attempted while the fault lasts
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            states.add(new.state)
            states.add(old.state)
            await asyncio.sleep(0.02)
        new_error = new.last_error
        new_connected_during = any(isinstance(e, Connected) for e in new_events)
        sim.faults.clear()
        await wait_for(lambda: old.connected and new.connected, 5.0, "reconnection")
        rtt = await old.ping(timeout_s=2.0)
    finally:
        await old.stop()
        await new.stop()

    assert StreamState.FAILED not in states, "a fault must never make it give up"
    assert rtt > 0
    if kind in BREAKS_OPEN_SOCKET:
        assert old.reconnects >= 1
    else:
        assert old.reconnects == 0
    if kind is FaultKind.WS_OVERSIZE:
        assert any(isinstance(e, Oversize) for e in old_events)
    if kind in REFUSES_HANDSHAKE:
        assert not new_connected_during
        assert new_error is not None and REFUSES_HANDSHAKE[kind] in new_error
    else:
        assert new_connected_during


# -- engine ----------------------------------------------------------------------------


# The gates that may roll back by themselves under each fault (any of them may fire
# first): /health failing breaches uptime, failed or stuck contexts the auth gates,
# dropped sockets the stability gate. None: no breach (1 s more latency keeps p95
# under 2 s); a person's rollback is then the one that lands.
AUTH = {"auth_success", "auth_errors"}
AUTO_ROLLBACK: dict[FaultKind, set[str] | None] = {
    FaultKind.ERROR_RATE: AUTH,
    FaultKind.LATENCY: None,
    FaultKind.OUTAGE: {*AUTH, "uptime", "ws_stability"},
    FaultKind.WS_DROP: {*AUTH, "ws_stability"},
    FaultKind.RATE_LIMIT_STORM: AUTH,
    FaultKind.HTML_502: {"uptime"},
    FaultKind.HANG: {*AUTH, "uptime"},
    FaultKind.TRICKLE: {"uptime"},
    FaultKind.AUTH_FAILURE: {"auth_success"},
    FaultKind.PAYMENT_FAILURE: {"payment_success"},
    FaultKind.WS_OVERSIZE: {*AUTH, "ws_stability"},
}


def engine_config(sim: Simulator, state: Path) -> Any:
    base = demo_config(sim.dev_url, sim.prod_url, sim.metrics_url, state)
    data = base.model_dump()
    quick = {"window_s": 2.0, "interval_s": 0.25, "breaches": 2, "min_samples": 3}
    for gate in data["gates"].values():
        gate.update(quick)
    data["gates"]["ws_stability"]["min_samples"] = 0
    # Probes keep one point per second: a 4 s window holds enough of them.
    data["gates"]["uptime"].update(window_s=4.0, min_samples=2)
    data["plan"] = {"levels": [50, 100], "hold_s": 60, "warmup_s": 0}
    data["metrics"].update(interval_s=0.25, timeout_s=0.5, stale_after_s=2.0)
    data["probes"] = {"interval_s": 0.5, "deadline_s": 0.4}
    data["rollback"]["inflight_grace_s"] = 0.2
    return parse_config(data, "reliability matrix")


@pytest.mark.parametrize("kind", FAULTS, ids=str)
async def test_engine(
    sim: Simulator, fault: Inject, kind: FaultKind, tmp_path: Path
) -> None:
    assert sim.routing_file is not None
    config = engine_config(sim, tmp_path)
    engine = build_engine(
        config,
        who="rel@matrix",
        router=FileRouter(sim.routing_file),
        credential_store=demo_credential_store(config, sim.credentials),
    )
    await engine.start()
    snaps = engine.subscribe()
    seen: list[float] = []
    try:
        shifted = await engine.shift(50, who="rel@matrix", reason="go", override=True)
        assert shifted.ok, shifted.message
        # Traffic to BOOP judged healthy first, so what breaches is this fault.
        await wait_for(
            lambda: healthy(engine.results),
            8.0,
            lambda: f"gates healthy ({[r.why for r in engine.results.values()]})",
        )
        fault(kind)
        injected = time.monotonic()
        worst = engine.snapshot().worst_case_rollback_s
        assert worst is not None
        # Snapshots keep coming while the fault lasts, up to the automatic rollback.
        expected = AUTO_ROLLBACK[kind]
        to_rollback: float | None = None
        while time.monotonic() - injected < 2.5 or (expected and to_rollback is None):
            assert time.monotonic() - injected < worst + 2.0, "no automatic rollback"
            snap = await asyncio.wait_for(snaps.get(), 2.0)
            seen.append(snap.at)
            if to_rollback is None and snap.phase is Phase.ROLLED_BACK:
                to_rollback = time.monotonic() - injected
        started = time.monotonic()
        result = await asyncio.wait_for(
            engine.rollback(who="rel@matrix", reason="matrix"), 1.0
        )
        took = time.monotonic() - started
        final = engine.snapshot()
    finally:
        stop_started = time.monotonic()
        await asyncio.wait_for(engine.stop(), 10.0)
        stopped_in = time.monotonic() - stop_started
    journal = Journal(StatePaths(tmp_path).journal)

    assert len(seen) >= 2 and seen == sorted(seen), "snapshots stopped coming"
    # The rollback reached 0%, read back, within 1 s of its decision.
    assert engine.last_rollback_stop_s is not None
    assert engine.last_rollback_stop_s <= 1.0
    assert final.phase is Phase.ROLLED_BACK and final.router.effective_pct == 0
    assert json.loads(sim.routing_file.read_text())["boop_percent"] == 0
    steps = [step.status for step in final.rollback_steps[:4]]
    assert steps[0] == "done" and steps[2:] == ["done", "done"], steps
    # Step 2 waits on the vendor's in-flight gauge for the 0.2 s grace: 0 after the
    # stop (done), or still open or unknown under the fault (failed), never longer.
    inflight = final.rollback_steps[1]
    assert inflight.status in ("done", "failed"), inflight
    assert re.match(r"(\d+ in flight at stop|unknown \(metrics)", inflight.detail)
    assert inflight.duration_s is not None and inflight.duration_s < 0.5, inflight
    assert result.ok and took <= 1.0, f"rollback call took {took:.2f} s"
    assert stopped_in < 5.0
    assert not [w for w in final.warnings if w.startswith("journal")]
    verified = journal.verify()
    assert verified.ok, verified.problems
    entries = journal.entries()
    actions = [e["action"] for e in entries]
    if expected is None:
        assert to_rollback is None, "rolled back by itself"
        assert actions == ["shift (override)", "rollback"], actions
        assert entries[1]["who"] == "rel@matrix" and entries[1]["why"] == "matrix"
        return
    assert to_rollback is not None
    assert to_rollback <= worst + 1.0, f"{to_rollback:.1f} s, bound {worst} s"
    # A person's rollback afterwards answers at once and changes nothing.
    assert result.message.startswith("Already rolled back: BOOP traffic is at 0%")
    assert actions == ["shift (override)", "rollback", "rollback (no-op)"], actions
    auto = entries[1]
    assert auto["who"] == "rel@matrix (automatic)"
    gate = auto["why"].split()[1]
    assert gate in expected, auto["why"]
    assert auto["before"] is not None and auto["gates"]


def healthy(results: Mapping[str, GateResult]) -> bool:
    """No gate on the bad side, and the traffic gates passing."""
    bad = (Verdict.WARN, Verdict.BREACH)
    if any(r.verdict in bad for r in results.values()):
        return False
    return all(
        results[name].verdict is Verdict.PASS
        for name in ("auth_success", "auth_errors", "payment_success")
    )
