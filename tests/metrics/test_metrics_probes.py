"""Probes and the hub: uptime, latency, version changes, the stream, deadlines."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from metrics_helpers import ExpositionServer, FakeTime, auth_text, exposition_server

from console.boop.client import BoopClient
from console.boop.models import Health
from console.config import MetricsConfig
from console.errors import BoopError, ConfigError
from console.metrics.hub import MetricsHub, build_hub, build_source
from console.metrics.probes import (
    HealthProbe,
    HealthResult,
    StreamProbe,
    SyntheticAuthProbe,
)
from console.metrics.prometheus import PrometheusSource
from console.metrics.scrape import ScrapeSource

pytestmark = pytest.mark.timeout(30)


def scripted(
    ft: FakeTime, answers: list[HealthResult | Exception]
) -> Callable[[], Awaitable[HealthResult]]:
    queue = list(answers)

    async def fetch() -> HealthResult:
        ft.advance(10)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return fetch


async def test_uptime_latency_and_version_change() -> None:
    ft = FakeTime()
    hub = MetricsHub(None, "prod", clock=ft.clock(), probe_stale_after_s=30)
    fetch = scripted(
        ft,
        [
            HealthResult(True, "1.0", 40.0),
            HealthResult(True, "1.0", 60.0),
            BoopError("prod /health: HTTP 503"),
            HealthResult(True, "1.1", 50.0),
        ],
    )
    probe = HealthProbe("prod", fetch, hub.store, hub.clock, interval_s=10,
                        deadline_s=3, window_s=600)  # fmt: skip
    for _ in range(3):
        await probe.probe_once()
    down = probe.status()
    assert down.ok is False and down.error == "BoopError: prod /health: HTTP 503"
    assert down.latency_ms is None and down.version == "1.0"
    status = await probe.probe_once()

    assert status.ok is True and status.latency_ms == 50.0
    assert status.version == "1.1"
    assert status.version_changed_at == pytest.approx(ft.wall_t - 10)
    assert status.uptime_pct == 75.0 and status.uptime_since_start_pct == 75.0
    assert status.probes == 4

    uptime = hub.measure("uptime_pct", 600, ft.wall_t)
    # results are stamped when the probe was sent: the fake fetch took 10 s
    assert (uptime.value, uptime.samples, uptime.age_s) == (75.0, 4, 10.0)
    assert uptime.error is None
    # a 15 s window holds only the last probe
    assert hub.measure("uptime_pct", 15, ft.wall_t).value == 100.0
    latency = hub.measure("health_latency_ms", 600, ft.wall_t)
    assert (latency.value, latency.samples) == (50.0, 3)
    assert hub.measure("uptime_pct@dev", 600, ft.wall_t).error == (
        "no probe result yet"
    )
    chart = hub.series("uptime_pct", ft.wall_t - 60)
    assert [round(v, 1) for _, v in chart] == [100.0, 100.0, 66.7, 75.0]

    ft.advance(45)
    stale = hub.measure("uptime_pct", 600, ft.wall_t)
    assert stale.error == "stale: last probe result 55.0 s old (limit 30 s)"


async def test_probe_deadline_and_interval() -> None:
    hub = MetricsHub(None, "prod")

    async def hangs() -> HealthResult:
        await asyncio.sleep(5)
        raise AssertionError("not reached")

    with pytest.raises(ConfigError, match="deadline_s"):
        HealthProbe("prod", hangs, hub.store, hub.clock, interval_s=1, deadline_s=1)
    probe = HealthProbe(
        "prod", hangs, hub.store, hub.clock, interval_s=1, deadline_s=0.1
    )
    started = time.monotonic()
    status = await probe.probe_once()
    assert time.monotonic() - started < 0.5
    assert status.ok is False and status.error == "/health: no answer within 0.1 s"


async def test_run_never_overlaps_itself() -> None:
    hub = MetricsHub(None, "prod")
    running = peak = calls = 0

    async def slow() -> HealthResult:
        nonlocal running, peak, calls
        running += 1
        calls += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1
        return HealthResult(True, "x", None)

    probe = HealthProbe(
        "prod", slow, hub.store, hub.clock, interval_s=0.1, deadline_s=0.08
    )
    task = asyncio.create_task(probe.run())
    # a manual probe while the loop's probe runs returns the last status at once
    await asyncio.sleep(0.02)
    await probe.probe_once()
    await asyncio.sleep(0.33)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert peak == 1
    assert calls == 4  # at 0, 0.1, 0.2, 0.3 s
    latency = probe.status().latency_ms
    assert latency is not None and latency >= 50.0  # measured when not reported


async def test_health_probe_with_the_real_boop_client() -> None:
    server = ExpositionServer(body=b'{"status": "ok", "version": "abc123"}')
    with exposition_server(server):
        client = BoopClient(server.url.removesuffix("/metrics"), "v_1", "sk_test_x")
        hub = MetricsHub(None, "dev")

        async def fetch() -> Health:
            return await client.health(deadline_s=1.0)

        probe = HealthProbe("dev", fetch, hub.store, hub.clock, interval_s=2,
                            deadline_s=1)  # fmt: skip
        try:
            status = await probe.probe_once()
            server.status = 503
            down = await probe.probe_once()
        finally:
            await client.aclose()
    assert status.ok is True and status.version == "abc123"
    assert status.latency_ms is not None and 0 < status.latency_ms < 1000
    assert down.ok is False and down.error is not None
    # both probes fell in one second: the store keeps the worse (fail closed)
    uptime = hub.measure("uptime_pct@dev", 60, time.time())
    assert (uptime.value, uptime.samples) == (0.0, 1)


@dataclass(frozen=True)
class FakeStream:
    state: str
    rtt_ms: float | None
    reconnects: int
    connected_since: float | None = None
    last_error: str | None = None


async def test_stream_probe_rtt_and_reconnects() -> None:
    ft = FakeTime()
    hub = MetricsHub(None, "prod", clock=ft.clock(), probe_stale_after_s=900)
    readings = iter(
        [
            FakeStream("connected", 20.0, 0),
            FakeStream("backing off", None, 1, last_error="lost"),
            FakeStream("connected", 30.0, 2),
        ]
    )
    current = FakeStream("connecting", None, 0)

    def read() -> FakeStream:
        return current

    probe = StreamProbe("prod", read, hub.store, hub.clock, window_s=3600)
    for reading in readings:
        current = reading
        await probe.probe_once()
        ft.advance(600)
    ft.advance(-600)  # measure at the last sample
    status = probe.status()
    assert status.state == "connected" and status.rtt_ms == 30.0
    # 2 reconnects over 1200 s -> 6 per hour
    assert status.reconnects_per_h == pytest.approx(6.0)
    m = hub.measure("ws_reconnects_per_h", 3600, ft.wall_t)
    assert m.value == pytest.approx(6.0) and (m.samples, m.error) == (2, None)
    rtt = hub.measure("ws_rtt_ms", 3600, ft.wall_t)
    assert (rtt.value, rtt.samples) == (30.0, 2)
    assert math.isnan(hub.series("ws_rtt_ms", ft.wall_t - 3600)[1][1])


async def test_reconnects_add_the_applications_and_the_consoles() -> None:
    ft = FakeTime()
    scrape = ScrapeSource("http://127.0.0.1:9/metrics", clock=ft.clock())
    hub = MetricsHub(scrape, "prod", store=scrape.store, clock=scrape.clock)
    stream = StreamProbe("prod", lambda: FakeStream("connected", 5.0, reconnects),
                         hub.store, hub.clock)  # fmt: skip
    reconnects = 0
    for reconnects, app in ((0, 0), (1, 3)):  # noqa: B007 (read by the lambda)
        scrape.ingest(
            scrape._parser.parse(f"boop_ws_reconnects_total {app}\n", ft.clock().now())
        )
        stream.sample()
        ft.advance(60)
    ft.advance(-60)
    m = hub.measure("ws_reconnects_per_h", 600, ft.wall_t)
    # the application: 3 in 60 s = 180/h; the console's stream: 1 in 60 s = 60/h
    assert m.value == pytest.approx(240.0) and m.samples == 4


async def test_synthetic_auth_probe() -> None:
    ft = FakeTime()
    hub = MetricsHub(None, "dev", clock=ft.clock())
    results = iter([True, False, True, True])

    async def attempt() -> bool:
        return next(results)

    probe = SyntheticAuthProbe("dev", attempt, hub.store, hub.clock)
    for _ in range(4):
        await probe.probe_once()
        ft.advance(1)
    ft.advance(-1)
    m = hub.measure("synthetic_auth_pct", 60, ft.wall_t)
    assert (m.value, m.samples) == (75.0, 4)


async def test_hub_records_and_routes() -> None:
    ft = FakeTime()
    hub = MetricsHub(None, "prod", clock=ft.clock())
    hub.record("traffic_pct", 5.0)
    m = hub.measure("traffic_pct", 60, ft.wall_t)
    assert (m.value, m.age_s) == (5.0, 0.0)
    no_vendor = hub.measure("auth_success_pct", 60, ft.wall_t)
    assert no_vendor.error == "no metrics source configured"
    scrape = ScrapeSource("http://127.0.0.1:9/metrics", clock=ft.clock())
    hub2 = MetricsHub(scrape, "prod", clock=ft.clock())
    for n in (0, 10):
        scrape.ingest(scrape._parser.parse(auth_text(n), ft.clock().now()))
        ft.advance(1)
    assert hub2.measure("auth_success_pct", 60, ft.wall_t).value == 100.0


def test_build_source_from_config() -> None:
    scrape = build_source(MetricsConfig(url="http://127.0.0.1:9/metrics"))
    assert isinstance(scrape, ScrapeSource)
    prom = build_source(
        MetricsConfig(
            source="prometheus",
            url="http://127.0.0.1:9",
            queries={"auth_p95_s": "max(x)"},
        ),
        windows=[60, 600],
    )
    assert isinstance(prom, PrometheusSource)
    with pytest.raises(ConfigError, match=r"metrics\.url: required"):
        build_source(MetricsConfig())
    with pytest.raises(ConfigError, match="unknown metric ids"):
        build_source(
            MetricsConfig(source="prometheus", url="http://x:1", queries={"nope": "1"})
        )
    with pytest.raises(ConfigError, match="unknown documented names"):
        build_source(MetricsConfig(url="http://x:1", names={"nope": "x"}))
    hub = build_hub(MetricsConfig(url="http://127.0.0.1:9/metrics"), "prod")
    assert isinstance(hub.vendor, ScrapeSource) and hub.vendor.store is hub.store
