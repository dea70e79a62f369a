"""Rollback step 2, "complete in-flight": the runtime reads the vendor application's
``boop_concurrent_users`` gauge through the metrics hub and the step waits (bounded by
the grace) for it to reach 0 after the stop; with the gauge unknown it waits only a
short bound. Against the real simulator and a local exposition server that goes down.
"""

from __future__ import annotations

import asyncio
import http.server
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from console.config import Config, demo_config, parse_config
from console.engine.engine import Engine
from console.engine.model import RollbackStep
from console.engine.ports import InFlight, InFlightGauge
from console.engine.rollback import METRICS_WAIT_S
from console.engine.runtime import MetricsInFlight, build_engine
from console.locations import StatePaths
from console.metrics.hub import build_hub
from console.routing.base import RouterState
from console.routing.file import FileRouter
from console.sim.simulator import Simulator
from tests.engine.helpers_engine import make_config, make_engine

pytestmark = pytest.mark.timeout(60)

AT_STOP_THEN_ZERO = re.compile(r"^(\d+) in flight at stop, 0 after (\d+\.\d) s$")


class StampedRouter(FileRouter):
    """A file router that notes when its writes finished (monotonic)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.written: list[tuple[float, float]] = []

    async def set_percent(
        self, pct: float, *, who: str, reason: str, draining: bool = False
    ) -> RouterState:
        state = await super().set_percent(
            pct, who=who, reason=reason, draining=draining
        )
        self.written.append((pct, time.monotonic()))
        return state


class StampedGauge:
    """The runtime's hook, noting when rollback first read it (monotonic)."""

    def __init__(self, inner: MetricsInFlight) -> None:
        self.inner = inner
        self.poll_s = inner.poll_s
        self.first_read: float | None = None

    def sample(self) -> tuple[int, float] | None:
        if self.first_read is None:
            self.first_read = time.monotonic()
        return self.inner.sample()

    def inflight(self) -> int | None:
        return self.inner.inflight()

    async def refresh(self) -> None:
        await self.inner.refresh()

    async def cancel_inflight(self, reason: str) -> int:
        return await self.inner.cancel_inflight(reason)


def sim_config(sim: Simulator, state: Path, grace_s: float) -> Config:
    base = demo_config(sim.dev_url, sim.prod_url, sim.metrics_url, state)
    data = base.model_dump()
    data["guide_gates"] = False
    data["gates"] = {}  # no automatic rollback: the test rolls back itself
    data["plan"] = {"levels": [50, 100], "hold_s": 60, "warmup_s": 0}
    data["metrics"].update(interval_s=0.25, timeout_s=0.5, stale_after_s=2.0)
    data["rollback"]["inflight_grace_s"] = grace_s
    return parse_config(data, "in-flight test")


async def wait_until(cond: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, f"not in time: {what}"
        await asyncio.sleep(0.05)


def steps_by_name(steps: Sequence[RollbackStep]) -> dict[str, RollbackStep]:
    return {s.name: s for s in steps}


async def test_rollback_lets_contexts_in_flight_on_prod_finish(tmp_path: Path) -> None:
    routing = tmp_path / "routing.json"
    async with Simulator(routing_file=routing, rate=40, seed=11) as sim:
        config = sim_config(sim, tmp_path / "state", grace_s=8.0)
        router = StampedRouter(routing)
        hub = build_hub(config.metrics, config.target)
        gauge = StampedGauge(MetricsInFlight(hub, config))
        assert isinstance(gauge, InFlightGauge)
        engine = build_engine(
            config,
            who="ana@jump1",
            router=router,
            metrics=hub,
            inflight=gauge,
            probes=False,
        )
        await engine.start()
        try:
            shifted = await engine.shift(
                50, who="ana@jump1", reason="go", override=True
            )
            assert shifted.ok, shifted.message
            await wait_until(
                lambda: sim.vendor is not None and sim.vendor.percent == 50,
                5,
                "vendor follows 50%",
            )
            # Every prod context now takes ~2.2 s: a pile of them is open at stop.
            sim.faults.inject("prod", "latency", 2.0)
            await wait_until(
                lambda: (gauge.inner.inflight() or 0) >= 10, 6, "gauge >= 10"
            )
            called = time.monotonic()
            result = await engine.rollback(who="ana@jump1", reason="drill")
            took = time.monotonic() - called
            steps = steps_by_name(engine.snapshot().rollback_steps)
            assert sim.vendor is not None
            left_on_prod = [p for p in sim.vendor._pending.values() if p.boop]
        finally:
            await engine.stop()
    assert result.ok, result.message
    step = steps["complete in-flight"]
    assert step.status == "done", step.detail
    found = AT_STOP_THEN_ZERO.match(step.detail)
    assert found, step.detail
    at_stop, after_s = int(found[1]), float(found[2])
    print(f"in flight at stop {at_stop}, 0 after {after_s} s; rollback {took:.2f} s")
    assert at_stop >= 10
    # Contexts take ~2.2 s; the last reading needs one more poll: 1 s < t < grace.
    assert 1.0 < after_s < 8.0
    assert step.duration_s is not None and abs(step.duration_s - after_s) < 0.2
    assert not left_on_prod
    # Step 1 wrote 0% before step 2 read anything.
    assert router.written[-1][0] == 0
    assert gauge.first_read is not None and router.written[-1][1] <= gauge.first_read
    assert steps["stop new traffic"].status == "done"
    for name in ("verify", "freeze", "preserve data"):
        assert steps[name].status == "done", (name, steps[name].detail)
    # The rest of the runbook is not delayed beyond the wait itself.
    assert took < after_s + 1.0


class _Exposition(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server: Any = self.server
        if server.down:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = f"boop_concurrent_users {server.users}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextmanager
def exposition(users: int) -> Iterator[Any]:
    """A vendor /metrics on 127.0.0.1:0 whose gauge and availability tests set."""
    server: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Exposition)
    server.users, server.down = users, False
    server.url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def local_engine(tmp_path: Path, metrics_url: str, grace_s: float) -> Engine:
    url = "http://127.0.0.1:9"
    base = demo_config(url, url, metrics_url, tmp_path / "state")
    data = base.model_dump()
    data["guide_gates"] = False
    data["gates"] = {}
    data["metrics"].update(interval_s=0.25, timeout_s=0.5, stale_after_s=10.0)
    data["rollback"]["inflight_grace_s"] = grace_s
    config = parse_config(data, "in-flight stale test")
    paths = StatePaths(tmp_path / "state").ensure()
    return build_engine(
        config,
        who="ana@jump1",
        router=StampedRouter(paths.routing_file),
        metrics=build_hub(config.metrics, config.target),
        probes=False,
    )


@pytest.mark.parametrize("when", ["before", "at stop"])
async def test_metrics_down_never_holds_rollback_for_the_grace(
    tmp_path: Path, when: str
) -> None:
    with exposition(users=7) as server:
        engine = local_engine(tmp_path, server.url, grace_s=30.0)
        await engine.start()
        try:
            assert (await engine.shift(5, who="a@b", reason="go", override=True)).ok
            hook = engine.inflight
            assert isinstance(hook, MetricsInFlight)
            await wait_until(lambda: hook.inflight() == 7, 3, "gauge read 7")
            server.down = True
            if when == "before":
                # A failed poll marks the source's data unusable at once.
                await wait_until(lambda: hook.inflight() is None, 3, "gauge unknown")
            called = time.monotonic()
            result = await engine.rollback(who="a@b", reason="metrics down")
            took = time.monotonic() - called
            steps = steps_by_name(engine.snapshot().rollback_steps)
            router: Any = engine.router
        finally:
            await engine.stop()
    assert result.ok, result.message
    step = steps["complete in-flight"]
    assert step.status == "failed"
    if when == "before":
        assert re.fullmatch(
            r"unknown \(metrics unavailable\); waited 2\.\d s \(the vendor "
            r"application finishes or times them out; the console cannot cancel "
            r"them\)",
            step.detail,
        ), step.detail
    else:
        # Known at the stop (7), then the failed polls make it unknown.
        assert step.detail.startswith(
            "7 in flight at stop, then unknown (metrics unavailable) after "
        ), step.detail
    assert step.duration_s is not None
    assert step.duration_s <= METRICS_WAIT_S + 0.5, step.duration_s
    assert took < METRICS_WAIT_S + 1.0, took
    assert router.written[-1][0] == 0
    for name in ("stop new traffic", "verify", "freeze", "preserve data"):
        assert steps[name].status == "done", (name, steps[name].detail)


async def test_gauge_still_open_after_grace_is_reported_not_cancelled(
    tmp_path: Path,
) -> None:
    with exposition(users=2) as server:
        engine = local_engine(tmp_path, server.url, grace_s=0.6)
        await engine.start()
        try:
            assert (await engine.shift(5, who="a@b", reason="go", override=True)).ok
            hook = engine.inflight
            assert isinstance(hook, MetricsInFlight)
            await wait_until(lambda: hook.inflight() == 2, 3, "gauge read 2")
            result = await engine.rollback(who="a@b", reason="drill")
            steps = steps_by_name(engine.snapshot().rollback_steps)
        finally:
            await engine.stop()
    assert result.ok, result.message
    step = steps["complete in-flight"]
    assert step.status == "failed"
    assert step.detail == (
        "2 in flight at stop; 2 still in flight after 0.6 s grace (the vendor "
        "application finishes or times them out; the console cannot cancel them)"
    )
    assert step.duration_s is not None and 0.6 <= step.duration_s < 1.2


class CancellingHook:
    """A host's hook that can cancel (no gauge): counts down, then cancels."""

    def __init__(self, counts: list[int | None]) -> None:
        self.counts = counts
        self.cancelled: list[str] = []

    def inflight(self) -> int | None:
        return self.counts.pop(0) if len(self.counts) > 1 else self.counts[0]

    async def cancel_inflight(self, reason: str) -> int:
        self.cancelled.append(reason)
        return 3


async def test_a_hook_that_can_cancel_cancels_after_the_grace(tmp_path: Path) -> None:
    hook = CancellingHook([3])
    checked: InFlight = hook  # structurally an InFlight, without a gauge
    assert not isinstance(checked, InFlightGauge)
    engine = make_engine(tmp_path, inflight=hook)
    await engine.start()
    try:
        assert (await engine.shift(5, who="a@b", reason="go", override=True)).ok
        result = await engine.rollback(who="a@b", reason="drill")
        step = steps_by_name(engine.snapshot().rollback_steps)["complete in-flight"]
    finally:
        await engine.stop()
    assert result.ok
    assert (step.status, step.detail) == (
        "done",
        "3 in flight at stop; 3 still in flight after 0.2 s grace; 3 cancelled",
    )
    assert hook.cancelled == ["drill"]


class CuttingRouter(FileRouter):
    """A file router that, like HAProxy, can cut sessions after a drain."""

    def __init__(self, path: Path, cut_after_s: float) -> None:
        super().__init__(path)
        self.cut_after_s: float | None = cut_after_s
        self.cuts: list[float] = []

    async def cut_sessions(self) -> None:
        self.cuts.append(time.monotonic())


async def test_a_session_cutter_cuts_what_the_count_says_is_still_open(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path, rollback={"inflight_grace_s": 5.0})
    paths = StatePaths(tmp_path).ensure()
    router = CuttingRouter(paths.routing_file, cut_after_s=0.3)
    hook = CancellingHook([4])
    engine = Engine(
        config, paths=paths, router=router, who="a@b", inflight=hook, tick_s=0.02
    )
    await engine.start()
    try:
        assert (await engine.shift(5, who="a@b", reason="go", override=True)).ok
        result = await engine.rollback(who="a@b", reason="drill")
        step = steps_by_name(engine.snapshot().rollback_steps)["complete in-flight"]
    finally:
        await engine.stop()
    assert result.ok
    assert (step.status, step.detail) == (
        "done",
        "4 in flight at stop; 4 still in flight after 0.3 s grace; "
        "open sessions cut after 0.3 s",
    )
    assert len(router.cuts) == 1 and hook.cancelled == []  # the cut, not the hook
    assert step.duration_s is not None and 0.3 <= step.duration_s < 0.6
